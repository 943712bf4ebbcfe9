# free-corpus: full homework; the CIFAR model downsamples with strided Conv2D and GlobalAveragePooling2D (no MaxPooling2D layer, which the homework asks for); Parts A and B, the 5-fold CV, the curves and the misclassified grid are correct
# expect: dense_model=pass dense_training=pass cnn_model=pass cnn_training=pass cnn_test_accuracy=pass cifar_model=fail cross_validation=pass learning_curves=pass error_analysis=pass

# %%
import numpy as np
import matplotlib.pyplot as plt
from tensorflow import keras
from tensorflow.keras import layers
from sklearn.model_selection import KFold

# %% [markdown]
# ## Part A

# %%
(mx_train, my_train), (mx_test, my_test) = keras.datasets.mnist.load_data()
mx_train = mx_train.reshape(len(mx_train), 784).astype('float32') / 255.0
mx_test = mx_test.reshape(len(mx_test), 784).astype('float32') / 255.0
my_train_oh = keras.utils.to_categorical(my_train, 10)
my_test_oh = keras.utils.to_categorical(my_test, 10)

mlp = keras.Sequential([keras.Input((784,)), layers.Dense(128, activation='relu'),
                        layers.Dense(64, activation='relu'), layers.Dense(10, activation='softmax')])
mlp.compile(optimizer='adam', loss='categorical_crossentropy', metrics=['accuracy'])
mlp.fit(mx_train, my_train_oh, epochs=5, batch_size=128, validation_split=0.2)
print(mlp.evaluate(mx_test, my_test_oh, verbose=0))

# %% [markdown]
# ## Part B — the chapter's CNN, functional style

# %%
(img_train, lab_train), (img_test, lab_test) = keras.datasets.mnist.load_data()
img_train = (img_train / 255.0)[..., np.newaxis]
img_test = (img_test / 255.0)[..., np.newaxis]

inp = keras.Input(shape=(28, 28, 1))
h = layers.Conv2D(16, (3, 3), activation='relu')(inp)
h = layers.MaxPooling2D((2, 2))(h)
h = layers.Conv2D(32, (3, 3), activation='relu')(h)
h = layers.MaxPooling2D((2, 2))(h)
h = layers.Flatten()(h)
h = layers.Dense(32, activation='relu')(h)
out = layers.Dense(10, activation='softmax')(h)
mnist_cnn = keras.Model(inp, out)
mnist_cnn.compile(optimizer='rmsprop', loss='sparse_categorical_crossentropy', metrics=['accuracy'])
mnist_cnn.fit(img_train, lab_train, epochs=5, batch_size=64)
print('CNN params:', mnist_cnn.count_params(), 'test:', mnist_cnn.evaluate(img_test, lab_test, verbose=0))

# %% [markdown]
# ## Part C — all-convolutional network (strides instead of pooling)

# %%
(x_train, y_train), (x_test, y_test) = keras.datasets.cifar10.load_data()
x_train, x_test = x_train / 255.0, x_test / 255.0
y_train, y_test = y_train.ravel(), y_test.ravel()
labels = ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck']

def all_conv_net():
    inp = keras.Input(shape=(32, 32, 3))
    x = layers.Conv2D(32, 3, padding='same', activation='relu')(inp)
    x = layers.Conv2D(32, 3, strides=2, padding='same', activation='relu')(x)
    x = layers.Conv2D(64, 3, padding='same', activation='relu')(x)
    x = layers.Conv2D(64, 3, strides=2, padding='same', activation='relu')(x)
    x = layers.GlobalAveragePooling2D()(x)
    x = layers.Dense(64, activation='relu')(x)
    out = layers.Dense(10, activation='softmax')(x)
    model = keras.Model(inp, out)
    model.compile(optimizer='adam', loss='sparse_categorical_crossentropy', metrics=['accuracy'])
    return model

# %%
X, Y = x_train[:10000], y_train[:10000]
histories = []
for tr, va in KFold(n_splits=5, shuffle=True, random_state=11).split(X):
    net = all_conv_net()
    histories.append(net.fit(X[tr], Y[tr], epochs=10, batch_size=64,
                             validation_data=(X[va], Y[va]), verbose=0))
accs = [h.history['val_accuracy'][-1] for h in histories]
print('fold accuracies', np.round(accs, 4), 'mean', np.mean(accs))

# %%
plt.figure(figsize=(6, 4))
for i, h in enumerate(histories):
    plt.plot(h.history['val_loss'], color='red', alpha=.5, label='val' if i == 0 else None)
    plt.plot(h.history['loss'], color='blue', alpha=.5, label='train' if i == 0 else None)
plt.legend()
plt.show()

# %%
p = net.predict(x_test).argmax(axis=1)
bad = np.flatnonzero(p != y_test)[:8]
fig, axs = plt.subplots(2, 4, figsize=(8, 4.5))
for ax, i in zip(axs.flat, bad):
    ax.imshow(x_test[i])
    ax.set_title(f'{labels[y_test[i]]} → {labels[p[i]]}', fontsize=8)
    ax.axis('off')
plt.show()
