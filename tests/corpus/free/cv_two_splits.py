# free-corpus: Parts B and C; the CV uses KFold(n_splits=2) ("to save time") instead of k >= 3; the MNIST CNN, CIFAR model, curves and misclassified images are correct
# expect: dense_model=fail dense_training=fail cnn_model=pass cnn_training=pass cnn_test_accuracy=pass cifar_model=pass cross_validation=fail learning_curves=pass error_analysis=pass

# %%
import numpy as np
import matplotlib.pyplot as plt
from tensorflow import keras
from tensorflow.keras import layers
from sklearn.model_selection import KFold

# %% [markdown]
# ## MNIST CNN

# %%
(mx_train, my_train), (mx_test, my_test) = keras.datasets.mnist.load_data()
mx_train = mx_train.reshape(-1, 28, 28, 1).astype('float32') / 255.0
mx_test = mx_test.reshape(-1, 28, 28, 1).astype('float32') / 255.0

mnist_cnn = keras.Sequential([
    layers.Conv2D(16, (3, 3), activation='relu', input_shape=(28, 28, 1)),
    layers.MaxPooling2D((2, 2)),
    layers.Conv2D(32, (3, 3), activation='relu'),
    layers.MaxPooling2D((2, 2)),
    layers.Flatten(),
    layers.Dense(32, activation='relu'),
    layers.Dense(10, activation='softmax'),
])
mnist_cnn.compile(optimizer='nadam', loss='sparse_categorical_crossentropy', metrics=['accuracy'])
mnist_cnn.fit(mx_train, my_train, epochs=3, batch_size=64)
print(mnist_cnn.evaluate(mx_test, my_test, verbose=0))

# %% [markdown]
# ## CIFAR-10
# 5-fold だと時間がかかりすぎるので 2-fold にした。

# %%
(x_train, y_train), (x_test, y_test) = keras.datasets.cifar10.load_data()
x_train = x_train.astype('float32') / 255.0
x_test = x_test.astype('float32') / 255.0
y_train = y_train.ravel()
y_test = y_test.ravel()
classes = ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck']

def build_model():
    model = keras.Sequential([
        layers.Conv2D(32, (3, 3), activation='relu', input_shape=(32, 32, 3)),
        layers.MaxPooling2D((2, 2)),
        layers.Conv2D(64, (3, 3), activation='relu'),
        layers.MaxPooling2D((2, 2)),
        layers.Flatten(),
        layers.Dense(64, activation='relu'),
        layers.Dense(10, activation='softmax'),
    ])
    model.compile(optimizer='adam', loss='sparse_categorical_crossentropy', metrics=['accuracy'])
    return model

# %%
kf = KFold(n_splits=2, shuffle=True, random_state=0)
histories = []
for fold, (tr, va) in enumerate(kf.split(x_train)):
    model = build_model()
    h = model.fit(x_train[tr], y_train[tr], epochs=5, batch_size=128,
                  validation_data=(x_train[va], y_train[va]), verbose=0)
    histories.append(h)
    print('fold', fold, 'val_accuracy', h.history['val_accuracy'][-1])

# %%
for fold, h in enumerate(histories):
    plt.plot(h.history['accuracy'], label=f'fold {fold} train')
    plt.plot(h.history['val_accuracy'], label=f'fold {fold} val')
plt.xlabel('epoch')
plt.ylabel('accuracy')
plt.legend()
plt.show()

# %%
pred = np.argmax(model.predict(x_test), axis=1)
wrong = np.where(pred != y_test)[0]
for i in wrong[:3]:
    plt.imshow(x_test[i])
    plt.title(f'predicted: {classes[pred[i]]}, true: {classes[y_test[i]]}')
    plt.show()
