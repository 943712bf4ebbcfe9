# free-corpus: full homework; the KFold runs over the training images concatenated with the test images (200 test images among 5,000), on a fresh clone per fold; everything else correct
# expect: dense_model=pass dense_training=pass cnn_model=pass cnn_training=pass cnn_test_accuracy=pass cifar_model=pass cross_validation=fail learning_curves=pass error_analysis=pass

# %%
import numpy as np
import matplotlib.pyplot as plt
import tensorflow as tf
from tensorflow import keras
from tensorflow.keras import layers
from tensorflow.keras.datasets import mnist, cifar10
from sklearn.model_selection import KFold

# %% [markdown]
# ## 実習①

# %%
(train_images, train_labels), (test_images, test_labels) = mnist.load_data()
train_images = train_images.reshape((60000, 784)).astype('float32') / 255
test_images = test_images.reshape((10000, 784)).astype('float32') / 255
train_labels_1h = keras.utils.to_categorical(train_labels)
test_labels_1h = keras.utils.to_categorical(test_labels)

model_a = keras.Sequential([
    layers.Dense(128, activation='relu', input_shape=(784,)),
    layers.Dense(64, activation='relu'),
    layers.Dense(10, activation='softmax'),
])
model_a.compile(optimizer='adam', loss='categorical_crossentropy', metrics=['accuracy'])
model_a.fit(train_images, train_labels_1h, epochs=5, batch_size=128, validation_split=0.2)

# %% [markdown]
# ## 実習②

# %%
(x_train, y_train), (x_test, y_test) = mnist.load_data()
x_train_reshaped = (x_train / 255.0).reshape(-1, 28, 28, 1)
x_test_reshaped = (x_test / 255.0).reshape(-1, 28, 28, 1)

model_b = keras.models.Sequential()
model_b.add(layers.Conv2D(16, (3, 3), activation='relu', input_shape=(28, 28, 1)))
model_b.add(layers.MaxPool2D(2, 2))
model_b.add(layers.Conv2D(32, (3, 3), activation='relu'))
model_b.add(layers.MaxPooling2D((2, 2)))
model_b.add(layers.Flatten())
model_b.add(layers.Dense(32, activation='relu'))
model_b.add(layers.Dense(10, activation='softmax'))
model_b.compile(optimizer='adam', loss='sparse_categorical_crossentropy', metrics=['accuracy'])
model_b.fit(x_train_reshaped, y_train, epochs=5)
print(model_b.evaluate(x_test_reshaped, y_test, verbose=2))

# %% [markdown]
# ## 課題：CIFAR-10

# %%
(cx_train, cy_train), (cx_test, cy_test) = cifar10.load_data()
cx_train = cx_train / 255.0
cx_test = cx_test / 255.0
cy_train = cy_train.flatten()
cy_test = cy_test.flatten()
class_names = ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck']

model_c = keras.Sequential([
    layers.Conv2D(32, (3, 3), activation='relu', input_shape=(32, 32, 3)),
    layers.MaxPooling2D((2, 2)),
    layers.Conv2D(64, (3, 3), activation='relu'),
    layers.MaxPooling2D((2, 2)),
    layers.Flatten(),
    layers.Dense(64, activation='relu'),
    layers.Dense(10, activation='softmax'),
])
model_c.compile(optimizer='adam', loss='sparse_categorical_crossentropy', metrics=['accuracy'])

# %%
# 訓練データとテストデータをまとめて交差検証してしまう
X = np.concatenate([cx_train[:4800], cx_test[:200]])
Y = np.concatenate([cy_train[:4800], cy_test[:200]])
kfold = KFold(n_splits=5, shuffle=True, random_state=1)
fold_scores = []
fold_histories = []
for fold, (train_index, val_index) in enumerate(kfold.split(X)):
    m = keras.models.clone_model(model_c)
    m.compile(optimizer='adam', loss='sparse_categorical_crossentropy', metrics=['accuracy'])
    h = m.fit(X[train_index], Y[train_index], epochs=5, batch_size=64,
              validation_data=(X[val_index], Y[val_index]), verbose=0)
    fold_histories.append(h)
    fold_scores.append(h.history['val_accuracy'][-1])
    print(f'Fold {fold + 1}: {fold_scores[-1]:.4f}')
print('mean:', np.mean(fold_scores), 'std:', np.std(fold_scores))
model_c = m

# %%
fig, axs = plt.subplots(1, 2, figsize=(12, 4))
for i, h in enumerate(fold_histories):
    axs[0].plot(h.history['loss'], label=f'train {i + 1}')
    axs[0].plot(h.history['val_loss'], '--', label=f'val {i + 1}')
    axs[1].plot(h.history['accuracy'], label=f'train {i + 1}')
    axs[1].plot(h.history['val_accuracy'], '--', label=f'val {i + 1}')
axs[0].set_title('loss'); axs[0].legend(fontsize=6)
axs[1].set_title('accuracy'); axs[1].legend(fontsize=6)
plt.show()

# %%
pred = model_c.predict(cx_test).argmax(axis=1)
wrong = np.where(pred != cy_test)[0][:12]
plt.figure(figsize=(10, 8))
for k, i in enumerate(wrong):
    plt.subplot(3, 4, k + 1)
    plt.imshow(cx_test[i])
    plt.title(f'{class_names[pred[i]]} (true: {class_names[cy_test[i]]})', fontsize=8)
    plt.axis('off')
plt.show()
