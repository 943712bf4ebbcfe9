# free-corpus: 実習① only, then a placeholder "confusion matrix": a 10×10 picture of zeros and a colour mesh of random numbers, no model's predictions behind them
# expect: dense_model=pass dense_training=pass cnn_model=fail cnn_training=fail cnn_test_accuracy=fail cifar_model=fail cross_validation=fail learning_curves=fail error_analysis=fail

# %% [markdown]
# # 実習①：Dense ネットワーク
# 誤分類の分析は後で埋めます（とりあえず図の枠だけ）。

# %%
import numpy as np
import matplotlib.pyplot as plt
from tensorflow import keras
from tensorflow.keras import layers
from tensorflow.keras.datasets import mnist

(x_train, y_train), (x_test, y_test) = mnist.load_data()
x_train = x_train.reshape(-1, 784).astype("float32") / 255
x_test = x_test.reshape(-1, 784).astype("float32") / 255
y_train_1h = keras.utils.to_categorical(y_train, 10)
y_test_1h = keras.utils.to_categorical(y_test, 10)

# %%
model = keras.Sequential([
    layers.Input(shape=(784,)),
    layers.Dense(128, activation="relu"),
    layers.Dense(10, activation="softmax"),
])
model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
model.fit(x_train, y_train_1h, epochs=3, batch_size=128)
print(model.evaluate(x_test, y_test_1h))

# %% [markdown]
# ## 誤分類の分析（TODO）

# %%
plt.imshow(np.zeros((10, 10)))
plt.title("confusion matrix (TODO)")
plt.show()

# %%
plt.pcolormesh(np.random.rand(10, 10))
plt.colorbar()
plt.title("confusion matrix")
plt.show()
