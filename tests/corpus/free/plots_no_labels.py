# free-corpus: full homework, all correct except the learning curves: train and validation loss/accuracy are drawn with only a title, without axis labels and without a legend; the confusion matrix is printed from sklearn
# expect: dense_model=pass dense_training=pass cnn_model=pass cnn_training=pass cnn_test_accuracy=pass cifar_model=pass cross_validation=pass learning_curves=fail error_analysis=pass

# %%
import numpy as np
import matplotlib.pyplot as plt
from tensorflow import keras
from tensorflow.keras import layers
from tensorflow.keras.utils import to_categorical
from sklearn.model_selection import KFold
from sklearn.metrics import confusion_matrix

# %% [markdown]
# ### 実習①

# %%
(train_images, train_labels), (test_images, test_labels) = keras.datasets.mnist.load_data()
train_images = train_images.reshape((60000, 784)).astype('float32') / 255
test_images = test_images.reshape((10000, 784)).astype('float32') / 255
train_labels = to_categorical(train_labels)
test_labels = to_categorical(test_labels)

model = keras.Sequential([
    layers.Dense(128, activation='relu', input_shape=(784,)),
    layers.Dense(64, activation='relu'),
    layers.Dense(10, activation='softmax'),
])
model.compile(optimizer='adam', loss='categorical_crossentropy', metrics=['accuracy'])
model.fit(train_images, train_labels, epochs=5, batch_size=128, validation_split=0.2)
print(model.evaluate(test_images, test_labels, verbose=2))

# %% [markdown]
# ### 実習②

# %%
(x_train, y_train), (x_test, y_test) = keras.datasets.mnist.load_data()
x_train_reshaped = (x_train / 255.0).reshape(-1, 28, 28, 1)
x_test_reshaped = (x_test / 255.0).reshape(-1, 28, 28, 1)

model = keras.models.Sequential()
model.add(layers.Conv2D(16, (3, 3), activation='relu', input_shape=(28, 28, 1)))
model.add(layers.MaxPool2D(2, 2))
model.add(layers.Conv2D(32, (3, 3), activation='relu'))
model.add(layers.MaxPooling2D((2, 2)))
model.add(layers.Flatten())
model.add(layers.Dense(32, activation='relu'))
model.add(layers.Dense(10, activation='softmax'))
model.compile(optimizer='adam', loss='sparse_categorical_crossentropy', metrics=['accuracy'])
model.fit(x_train_reshaped, y_train, epochs=5)
print(model.evaluate(x_test_reshaped, y_test, verbose=2))

# %% [markdown]
# ### 課題 CIFAR-10

# %%
(cx_train, cy_train), (cx_test, cy_test) = keras.datasets.cifar10.load_data()
cx_train = cx_train / 255.0
cx_test = cx_test / 255.0
cy_train = cy_train.ravel()
cy_test = cy_test.ravel()

def cifar_model():
    m = keras.Sequential([
        layers.Conv2D(32, (3, 3), activation='relu', padding='same', input_shape=(32, 32, 3)),
        layers.MaxPooling2D((2, 2)),
        layers.Conv2D(64, (3, 3), activation='relu', padding='same'),
        layers.MaxPooling2D((2, 2)),
        layers.Flatten(),
        layers.Dense(64, activation='relu'),
        layers.Dense(10, activation='softmax'),
    ])
    m.compile(optimizer='adam', loss='sparse_categorical_crossentropy', metrics=['accuracy'])
    return m

# %%
kf = KFold(n_splits=5, shuffle=True, random_state=0)
X, Y = cx_train[:10000], cy_train[:10000]
hs = []
for tr, va in kf.split(X):
    m = cifar_model()
    hs.append(m.fit(X[tr], Y[tr], epochs=10, batch_size=64, validation_data=(X[va], Y[va]), verbose=0))
    print('val acc:', hs[-1].history['val_accuracy'][-1])
print('mean:', np.mean([h.history['val_accuracy'][-1] for h in hs]))

# %%
plt.figure(figsize=(10, 4))
plt.subplot(1, 2, 1)
plt.plot(hs[0].history['loss'])
plt.plot(hs[0].history['val_loss'])
plt.title('loss')
plt.subplot(1, 2, 2)
plt.plot(hs[0].history['accuracy'])
plt.plot(hs[0].history['val_accuracy'])
plt.title('accuracy')
plt.show()

# %%
y_pred = m.predict(cx_test).argmax(axis=1)
print(confusion_matrix(cy_test, y_pred))
