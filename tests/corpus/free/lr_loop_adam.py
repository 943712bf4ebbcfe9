# free-corpus: Part B only; a loop over Adam learning rates [1e-2, 1e-3, 1e-4] builds a fresh chapter CNN each time and plots each run's loss and val_loss with a legend; all correct for what it does
# expect: dense_model=fail dense_training=fail cnn_model=pass cnn_training=pass cnn_test_accuracy=pass cifar_model=fail cross_validation=fail learning_curves=pass error_analysis=fail

# %%
import numpy as np
import matplotlib.pyplot as plt
from tensorflow import keras
from tensorflow.keras import layers

(x_train, y_train), (x_test, y_test) = keras.datasets.mnist.load_data()
x_train = (x_train.astype('float32') / 255.0).reshape(-1, 28, 28, 1)
x_test = (x_test.astype('float32') / 255.0).reshape(-1, 28, 28, 1)

# %%
def chapter_cnn():
    model = keras.models.Sequential()
    model.add(layers.Conv2D(16, (3, 3), activation='relu', input_shape=(28, 28, 1)))
    model.add(layers.MaxPool2D(2, 2))
    model.add(layers.Conv2D(32, (3, 3), activation='relu'))
    model.add(layers.MaxPooling2D((2, 2)))
    model.add(layers.Flatten())
    model.add(layers.Dense(32, activation='relu'))
    model.add(layers.Dense(10, activation='softmax'))
    return model

# %%
runs = {}
for lr in [1e-2, 1e-3, 1e-4]:
    model = chapter_cnn()
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=lr),
                  loss='sparse_categorical_crossentropy', metrics=['accuracy'])
    runs[lr] = model.fit(x_train, y_train, epochs=5, batch_size=128, validation_split=0.1, verbose=0)
    print(f'lr={lr:g}  test acc = {model.evaluate(x_test, y_test, verbose=0)[1]:.4f}')

# %%
fig, axes = plt.subplots(1, len(runs), figsize=(14, 4), sharey=True)
for ax, (lr, h) in zip(axes, runs.items()):
    ax.plot(h.history['loss'], label='train loss')
    ax.plot(h.history['val_loss'], label='val loss')
    ax.set_title(f'Adam lr={lr:g}')
    ax.set_xlabel('epoch')
    ax.legend()
plt.show()

# %% [markdown]
# lr=1e-2 は最初は速いが val loss が不安定。1e-3（既定値）が一番バランスが良い。
