# free-corpus: hyper-parameter sweeps building many models in loops (Dense widths, CNN filter pairs incl. the chapter's 16/32); only a validation-accuracy comparison plot (no training curve), no misclassification analysis
# expect: dense_model=pass dense_training=pass cnn_model=pass cnn_training=pass cnn_test_accuracy=pass cifar_model=fail cross_validation=fail learning_curves=fail error_analysis=fail

# %% [markdown]
# # いろいろなモデルを比較してみる
# Dense の幅、CNN のフィルタ数を変えて検証精度を比べる。

# %%
import numpy as np
import matplotlib.pyplot as plt
from tensorflow import keras
from tensorflow.keras import layers

(x_train, y_train), (x_test, y_test) = keras.datasets.mnist.load_data()
x_train = x_train / 255.0
x_test = x_test / 255.0
y_train_oh = keras.utils.to_categorical(y_train)
y_test_oh = keras.utils.to_categorical(y_test)

# %% [markdown]
# ## Dense の幅を変える

# %%
dense_results = {}
for width in [32, 128, 512]:
    m = keras.Sequential([
        layers.Flatten(input_shape=(28, 28)),
        layers.Dense(width, activation='relu'),
        layers.Dense(10, activation='softmax'),
    ])
    m.compile(optimizer='adam', loss='categorical_crossentropy', metrics=['accuracy'])
    h = m.fit(x_train, y_train_oh, epochs=3, batch_size=128, validation_split=0.2, verbose=0)
    dense_results[width] = h.history['val_accuracy']
    print(width, m.count_params(), h.history['val_accuracy'][-1])

# %% [markdown]
# ## CNN のフィルタ数を変える（(16, 32) が教材の構成）

# %%
x_train4 = x_train.reshape(-1, 28, 28, 1)
x_test4 = x_test.reshape(-1, 28, 28, 1)

cnn_results = {}
for f1, f2 in [(8, 16), (16, 32), (32, 64)]:
    m = keras.Sequential()
    m.add(layers.Conv2D(f1, (3, 3), activation='relu', input_shape=(28, 28, 1)))
    m.add(layers.MaxPooling2D((2, 2)))
    m.add(layers.Conv2D(f2, (3, 3), activation='relu'))
    m.add(layers.MaxPooling2D((2, 2)))
    m.add(layers.Flatten())
    m.add(layers.Dense(32, activation='relu'))
    m.add(layers.Dense(10, activation='softmax'))
    m.compile(optimizer='adam', loss='sparse_categorical_crossentropy', metrics=['accuracy'])
    h = m.fit(x_train4, y_train, epochs=3, batch_size=64, validation_split=0.2, verbose=0)
    cnn_results[(f1, f2)] = h.history['val_accuracy']
    print((f1, f2), 'params =', m.count_params(), 'val_acc =', round(h.history['val_accuracy'][-1], 4))

# %%
for key, vals in cnn_results.items():
    plt.plot(vals, marker='o', label=f'filters {key}')
for key, vals in dense_results.items():
    plt.plot(vals, linestyle=':', label=f'dense {key}')
plt.xlabel('epoch')
plt.ylabel('validation accuracy')
plt.legend()
plt.show()

# %% [markdown]
# (16, 32) でも (32, 64) とほとんど差がないので、教材の構成で十分だと思う。
