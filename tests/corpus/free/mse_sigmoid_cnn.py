# free-corpus: Part B only; the chapter's CNN layout but with a sigmoid output layer, mean squared error on one-hot labels and plain SGD, so the model is not the chapter's (no softmax), the loss does not fit the labels and it cannot learn in 2 epochs
# expect: dense_model=fail dense_training=fail cnn_model=fail cnn_training=fail cnn_test_accuracy=fail cifar_model=fail cross_validation=fail learning_curves=fail error_analysis=fail

# %%
import numpy as np
import tensorflow as tf
from tensorflow import keras

(x_train, y_train), (x_test, y_test) = keras.datasets.mnist.load_data()
x_train = x_train.reshape(-1, 28, 28, 1) / 255.0
x_test = x_test.reshape(-1, 28, 28, 1) / 255.0
y_train_oh = keras.utils.to_categorical(y_train)
y_test_oh = keras.utils.to_categorical(y_test)

# %%
# 出力は 0〜1 なので sigmoid、誤差は二乗誤差（回帰の授業と同じ考え方）
model = keras.Sequential([
    keras.layers.Conv2D(16, (3, 3), activation='relu', input_shape=(28, 28, 1)),
    keras.layers.MaxPooling2D((2, 2)),
    keras.layers.Conv2D(32, (3, 3), activation='relu'),
    keras.layers.MaxPooling2D((2, 2)),
    keras.layers.Flatten(),
    keras.layers.Dense(32, activation='relu'),
    keras.layers.Dense(10, activation='sigmoid'),
])
model.compile(optimizer='sgd', loss='mse', metrics=['accuracy'])
model.summary()

# %%
model.fit(x_train, y_train_oh, epochs=5, batch_size=32)
print(model.evaluate(x_test, y_test_oh, verbose=0))
