# free-corpus: full homework; the MNIST CNN is trained on raw 0..255 pixels (reshaped to 4-D but the /255 was forgotten), everything else is correct, including a CIFAR-10 CV with KFold(n_splits=3) (k = 3 is enough)
# expect: dense_model=pass dense_training=pass cnn_model=pass cnn_training=fail cnn_test_accuracy=pass cifar_model=pass cross_validation=pass learning_curves=pass error_analysis=pass

# %%
from tensorflow import keras
from tensorflow.keras.datasets import mnist
from tensorflow.keras.utils import to_categorical
import numpy as np
import matplotlib.pyplot as plt

(train_images, train_labels), (test_images, test_labels) = mnist.load_data()

# %%
# 実習①
X_train = train_images.reshape(60000, 784).astype('float32') / 255.0
X_test = test_images.reshape(10000, 784).astype('float32') / 255.0
Y_train = to_categorical(train_labels, 10)
Y_test = to_categorical(test_labels, 10)

mlp = keras.models.Sequential()
mlp.add(keras.layers.Dense(128, activation='relu', input_shape=(784,)))
mlp.add(keras.layers.Dense(64, activation='relu'))
mlp.add(keras.layers.Dense(10, activation='softmax'))
mlp.compile(optimizer='adam', loss='categorical_crossentropy', metrics=['accuracy'])
mlp.fit(X_train, Y_train, epochs=5, batch_size=128, validation_split=0.2)

# %%
# 実習② CNN：Conv2D には 4 次元が必要なので reshape する
x_train_4d = train_images.reshape(-1, 28, 28, 1).astype('float32')
x_test_4d = test_images.reshape(-1, 28, 28, 1).astype('float32')
print(x_train_4d.shape, x_train_4d.max())

# %%
model = keras.models.Sequential()
model.add(keras.layers.Conv2D(16, (3, 3), activation='relu', input_shape=(28, 28, 1)))
model.add(keras.layers.MaxPool2D(2, 2))
model.add(keras.layers.Conv2D(32, (3, 3), activation='relu'))
model.add(keras.layers.MaxPooling2D((2, 2)))
model.add(keras.layers.Flatten())
model.add(keras.layers.Dense(32, activation='relu'))
model.add(keras.layers.Dense(10, activation='softmax'))
model.compile(optimizer='adam', loss='sparse_categorical_crossentropy', metrics=['accuracy'])
model.fit(x_train_4d, train_labels, epochs=5)
print(model.evaluate(x_test_4d, test_labels, verbose=2))

# %%
pred = model.predict(x_test_4d).argmax(axis=1)
wrong = np.nonzero(pred != test_labels)[0]
fig, axes = plt.subplots(1, 5, figsize=(10, 2.5))
for ax, i in zip(axes, wrong[:5]):
    ax.imshow(test_images[i], cmap='gray')
    ax.set_title(f'pred {pred[i]} / true {test_labels[i]}')
    ax.axis('off')
plt.show()

# %%
# 課題：CIFAR-10（時間の都合で 3-fold）
from sklearn.model_selection import KFold
from sklearn.metrics import confusion_matrix

(c_train_x, c_train_y), (c_test_x, c_test_y) = keras.datasets.cifar10.load_data()
c_train_x = c_train_x.astype('float32') / 255.0
c_test_x = c_test_x.astype('float32') / 255.0
c_train_y = c_train_y.reshape(-1)
c_test_y = c_test_y.reshape(-1)

def build_cifar():
    inputs = keras.Input(shape=(32, 32, 3))
    x = keras.layers.Conv2D(32, 3, activation='relu')(inputs)
    x = keras.layers.MaxPooling2D(2)(x)
    x = keras.layers.Conv2D(64, 3, activation='relu')(x)
    x = keras.layers.MaxPooling2D(2)(x)
    x = keras.layers.Flatten()(x)
    x = keras.layers.Dense(64, activation='relu')(x)
    outputs = keras.layers.Dense(10, activation='softmax')(x)
    m = keras.Model(inputs, outputs)
    m.compile(optimizer='adam', loss='sparse_categorical_crossentropy', metrics=['accuracy'])
    return m

cv_x, cv_y = c_train_x[:9000], c_train_y[:9000]
results = []
for tr, va in KFold(n_splits=3, shuffle=True, random_state=0).split(cv_x):
    m = build_cifar()
    results.append(m.fit(cv_x[tr], cv_y[tr], epochs=10, batch_size=64,
                         validation_data=(cv_x[va], cv_y[va]), verbose=0))
print('fold val acc:', [round(r.history['val_accuracy'][-1], 4) for r in results])

# %%
fig, axes = plt.subplots(1, 2, figsize=(10, 4))
for r in results:
    axes[0].plot(r.history['loss'], 'b-')
    axes[0].plot(r.history['val_loss'], 'r--')
    axes[1].plot(r.history['accuracy'], 'b-')
    axes[1].plot(r.history['val_accuracy'], 'r--')
axes[0].set_xlabel('epoch'); axes[0].set_ylabel('loss (blue train / red val)')
axes[1].set_xlabel('epoch'); axes[1].set_ylabel('accuracy (blue train / red val)')
plt.show()

# %%
print(confusion_matrix(c_test_y, m.predict(c_test_x).argmax(axis=1)))
