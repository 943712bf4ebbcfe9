# free-corpus: Parts A and B with standalone `import keras` and Sequential([...]) lists, integer labels + sparse loss for both models, learning curves of the MNIST CNN (loss/val_loss with a legend); no CIFAR, no misclassification analysis
# expect: dense_model=pass dense_training=pass cnn_model=pass cnn_training=pass cnn_test_accuracy=pass cifar_model=fail cross_validation=fail learning_curves=pass error_analysis=fail

# %%
import keras
from keras import layers
import numpy as np
import matplotlib.pyplot as plt

(x_train, y_train), (x_test, y_test) = keras.datasets.mnist.load_data()
print(x_train.shape, y_train[:10])

# %% [markdown]
# ## 実習① Dense only
# ラベルは整数のまま使うので、損失関数は sparse_categorical_crossentropy にする。

# %%
x_train_flat = x_train.reshape(-1, 784).astype("float32") / 255.0
x_test_flat = x_test.reshape(-1, 784).astype("float32") / 255.0

dense = keras.Sequential([
    keras.Input(shape=(784,)),
    layers.Dense(256, activation="relu"),
    layers.Dropout(0.2),
    layers.Dense(10, activation="softmax"),
])
dense.compile(optimizer="rmsprop", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
dense.fit(x_train_flat, y_train, epochs=5, batch_size=128)
dense.evaluate(x_test_flat, y_test)

# %% [markdown]
# ## 実習② CNN

# %%
x_train_img = np.expand_dims(x_train / 255.0, -1)
x_test_img = np.expand_dims(x_test / 255.0, -1)

cnn = keras.Sequential([
    keras.Input(shape=(28, 28, 1)),
    layers.Conv2D(16, (3, 3), activation="relu"),
    layers.MaxPooling2D((2, 2)),
    layers.Conv2D(32, (3, 3), activation="relu"),
    layers.MaxPooling2D((2, 2)),
    layers.Flatten(),
    layers.Dense(32, activation="relu"),
    layers.Dense(10, activation="softmax"),
])
cnn.summary()
cnn.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
history = cnn.fit(x_train_img, y_train, epochs=5, batch_size=64, validation_split=0.2)

# %%
plt.plot(history.history["loss"], label="train")
plt.plot(history.history["val_loss"], label="validation")
plt.title("MNIST CNN loss")
plt.legend()
plt.show()

# %%
loss, acc = cnn.evaluate(x_test_img, y_test, verbose=0)
print(f"test accuracy {acc:.4f}")
