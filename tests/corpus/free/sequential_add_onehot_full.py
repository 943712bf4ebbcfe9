# free-corpus: full homework, `from tensorflow.keras.models import Sequential` with model.add; the MNIST CNN is trained on one-hot labels with categorical_crossentropy (a valid pairing), ConfusionMatrixDisplay.from_predictions for CIFAR; all correct
# expect: dense_model=pass dense_training=pass cnn_model=pass cnn_training=pass cnn_test_accuracy=pass cifar_model=pass cross_validation=pass learning_curves=pass error_analysis=pass

# %%
import numpy as np
import matplotlib.pyplot as plt
from tensorflow.keras.datasets import mnist, cifar10
from tensorflow.keras.models import Sequential
from tensorflow.keras.layers import Dense, Conv2D, MaxPooling2D, Flatten, Dropout
from tensorflow.keras.utils import to_categorical
from sklearn.model_selection import KFold
from sklearn.metrics import ConfusionMatrixDisplay

# %% [markdown]
# ## 実習① Dense

# %%
(train_images, train_labels), (test_images, test_labels) = mnist.load_data()
X_train = train_images.reshape(-1, 784).astype('float32') / 255.
X_test = test_images.reshape(-1, 784).astype('float32') / 255.
Y_train = to_categorical(train_labels, 10)
Y_test = to_categorical(test_labels, 10)

dense = Sequential()
dense.add(Dense(128, activation='relu', input_shape=(784,)))
dense.add(Dense(64, activation='relu'))
dense.add(Dense(10, activation='softmax'))
dense.compile(optimizer='adam', loss='categorical_crossentropy', metrics=['accuracy'])
dense.fit(X_train, Y_train, epochs=5, batch_size=128, validation_split=0.2)
print('Dense test acc:', dense.evaluate(X_test, Y_test, verbose=0)[1])

# %% [markdown]
# ## 実習② CNN（ラベルは One-hot のまま使うので categorical_crossentropy）

# %%
X_train4 = X_train.reshape(-1, 28, 28, 1)
X_test4 = X_test.reshape(-1, 28, 28, 1)

cnn = Sequential()
cnn.add(Conv2D(16, (3, 3), activation='relu', input_shape=(28, 28, 1)))
cnn.add(MaxPooling2D((2, 2)))
cnn.add(Conv2D(32, (3, 3), activation='relu'))
cnn.add(MaxPooling2D((2, 2)))
cnn.add(Flatten())
cnn.add(Dense(32, activation='relu'))
cnn.add(Dense(10, activation='softmax'))
cnn.compile(optimizer='adam', loss='categorical_crossentropy', metrics=['accuracy'])
cnn.fit(X_train4, Y_train, epochs=5, batch_size=64)
print('CNN test acc:', cnn.evaluate(X_test4, Y_test, verbose=0)[1])

# %% [markdown]
# ## 課題 CIFAR-10

# %%
(cx_train, cy_train), (cx_test, cy_test) = cifar10.load_data()
cx_train = cx_train.astype('float32') / 255.
cx_test = cx_test.astype('float32') / 255.
cy_train = cy_train.ravel()
cy_test = cy_test.ravel()
class_names = ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck']

def cifar_cnn():
    model = Sequential()
    model.add(Conv2D(32, (3, 3), activation='relu', padding='same', input_shape=(32, 32, 3)))
    model.add(Conv2D(32, (3, 3), activation='relu'))
    model.add(MaxPooling2D((2, 2)))
    model.add(Dropout(0.25))
    model.add(Conv2D(64, (3, 3), activation='relu', padding='same'))
    model.add(MaxPooling2D((2, 2)))
    model.add(Flatten())
    model.add(Dense(128, activation='relu'))
    model.add(Dropout(0.5))
    model.add(Dense(10, activation='softmax'))
    model.compile(optimizer='rmsprop', loss='sparse_categorical_crossentropy', metrics=['accuracy'])
    return model

# %%
subset = 10000
Xc, Yc = cx_train[:subset], cy_train[:subset]
kf = KFold(n_splits=5, shuffle=True, random_state=123)
val_acc, hist = [], []
for f, (i_tr, i_va) in enumerate(kf.split(Xc), 1):
    model = cifar_cnn()
    h = model.fit(Xc[i_tr], Yc[i_tr], epochs=10, batch_size=64,
                  validation_data=(Xc[i_va], Yc[i_va]), verbose=0)
    hist.append(h)
    val_acc.append(h.history['val_accuracy'][-1])
    print(f'Fold {f}: {val_acc[-1]:.4f}')
print('mean ± std: %.4f ± %.4f' % (np.mean(val_acc), np.std(val_acc)))

# %%
plt.figure(figsize=(12, 4))
for j, key in enumerate(['loss', 'accuracy']):
    plt.subplot(1, 2, j + 1)
    for f, h in enumerate(hist, 1):
        plt.plot(h.history[key], label=f'fold {f} train')
        plt.plot(h.history['val_' + key], linestyle='--', label=f'fold {f} val')
    plt.xlabel('epoch'); plt.ylabel(key); plt.legend(fontsize=7, ncol=2)
plt.show()

# %%
y_pred = model.predict(cx_test).argmax(axis=1)
ConfusionMatrixDisplay.from_predictions(cy_test, y_pred, display_labels=class_names,
                                        xticks_rotation=45, cmap='Blues')
plt.title('CIFAR-10 confusion matrix (last fold model)')
plt.show()
