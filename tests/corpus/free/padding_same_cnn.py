# free-corpus: full homework in the chapter's style, but the MNIST CNN uses padding='same' in both Conv2D layers (55,338 parameters instead of 30,762); everything else correct (CIFAR-10 5-fold CV, curves, misclassified images)
# expect: dense_model=pass dense_training=pass cnn_model=fail cnn_training=pass cnn_test_accuracy=pass cifar_model=pass cross_validation=pass learning_curves=pass error_analysis=pass

# %%
import numpy as np
import matplotlib.pyplot as plt
import tensorflow as tf
from tensorflow import keras
from tensorflow.keras.datasets import mnist
from tensorflow.keras.models import Sequential
from tensorflow.keras.layers import Dense, Conv2D, MaxPooling2D, Flatten
from tensorflow.keras.utils import to_categorical

# %% [markdown]
# ## 実習①

# %%
(train_images, train_labels), (test_images, test_labels) = mnist.load_data()
train_images = train_images.reshape((-1, 784)).astype('float32') / 255
test_images = test_images.reshape((-1, 784)).astype('float32') / 255
train_labels = to_categorical(train_labels)
test_labels = to_categorical(test_labels)

model = Sequential([
    Dense(128, activation='relu', input_shape=(784,)),
    Dense(64, activation='relu'),
    Dense(10, activation='softmax')
])
model.compile(optimizer='adam', loss='categorical_crossentropy', metrics=['accuracy'])
model.fit(train_images, train_labels, epochs=5, batch_size=128, validation_split=0.2)
print(model.evaluate(test_images, test_labels, verbose=2))

# %% [markdown]
# ## 実習②
# 教材の「Padding」の節にあった padding='same' を使って、画像の端の情報も残すようにした。

# %%
(x_train, y_train), (x_test, y_test) = mnist.load_data()
x_train_reshaped = (x_train / 255.0).reshape(-1, 28, 28, 1)
x_test_reshaped = (x_test / 255.0).reshape(-1, 28, 28, 1)

cnn = Sequential()
cnn.add(Conv2D(16, (3, 3), activation='relu', padding='same', input_shape=(28, 28, 1)))
cnn.add(MaxPooling2D((2, 2)))
cnn.add(Conv2D(32, (3, 3), activation='relu', padding='same'))
cnn.add(MaxPooling2D((2, 2)))
cnn.add(Flatten())
cnn.add(Dense(32, activation='relu'))
cnn.add(Dense(10, activation='softmax'))
cnn.summary()   # Total params: 55,338

# %%
cnn.compile(optimizer='adam', loss='sparse_categorical_crossentropy', metrics=['accuracy'])
cnn.fit(x_train_reshaped, y_train, epochs=5)
test_loss, test_accuracy = cnn.evaluate(x_test_reshaped, y_test, verbose=2)
print(f"test_accuracy: {test_accuracy:.4f}")

# %%
predicted_result = cnn.predict(x_test_reshaped)
predicted_labels = np.argmax(predicted_result, axis=1)
wrong_predict_list = [i for i in range(len(y_test)) if predicted_labels[i] != y_test[i]]
print('誤分類数:', len(wrong_predict_list))

for n in wrong_predict_list[:4]:
    plt.imshow(x_test[n], cmap=plt.cm.binary)
    plt.title(f'予測: {predicted_labels[n]}, 実際: {y_test[n]}', color='red')
    plt.show()

# %% [markdown]
# ## 課題：CIFAR-10

# %%
from tensorflow.keras.datasets import cifar10
from sklearn.model_selection import KFold

(cx_train, cy_train), (cx_test, cy_test) = cifar10.load_data()
cx_train = cx_train / 255.0
cx_test = cx_test / 255.0
cy_train = cy_train.flatten()
cy_test = cy_test.flatten()
class_names = ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck']

def create_model():
    m = Sequential()
    m.add(Conv2D(32, (3, 3), activation='relu', padding='same', input_shape=(32, 32, 3)))
    m.add(MaxPooling2D((2, 2)))
    m.add(Conv2D(64, (3, 3), activation='relu', padding='same'))
    m.add(MaxPooling2D((2, 2)))
    m.add(Flatten())
    m.add(Dense(64, activation='relu'))
    m.add(Dense(10, activation='softmax'))
    m.compile(optimizer='adam', loss='sparse_categorical_crossentropy', metrics=['accuracy'])
    return m

# %%
kfold = KFold(n_splits=5, shuffle=True, random_state=42)
X, Y = cx_train[:10000], cy_train[:10000]
histories, accs = [], []
for fold, (tr, va) in enumerate(kfold.split(X), 1):
    m = create_model()
    h = m.fit(X[tr], Y[tr], epochs=10, batch_size=64, validation_data=(X[va], Y[va]), verbose=0)
    histories.append(h)
    accs.append(h.history['val_accuracy'][-1])
    print(f'fold {fold}: {accs[-1]:.4f}')
print(f'平均 {np.mean(accs):.4f} ± {np.std(accs):.4f}')

# %%
for i, h in enumerate(histories, 1):
    plt.plot(h.history['loss'], label=f'train {i}')
    plt.plot(h.history['val_loss'], linestyle='--', label=f'val {i}')
plt.xlabel('epoch')
plt.ylabel('loss')
plt.legend(fontsize=7)
plt.show()

# %%
cifar_pred = np.argmax(m.predict(cx_test), axis=1)
wrong_cifar = [i for i in range(len(cy_test)) if cifar_pred[i] != cy_test[i]]
for n in wrong_cifar[:4]:
    plt.imshow(cx_test[n])
    plt.title(f'予測: {class_names[cifar_pred[n]]}, 実際: {class_names[cy_test[n]]}', color='red')
    plt.show()
