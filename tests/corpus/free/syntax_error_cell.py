# free-corpus: Parts A and B; the CNN's compile cell has a SyntaxError (missing closing parenthesis), so the CNN is built but never compiled and its fit raises: no training and no compile settings for the grader's own training
# expect: dense_model=pass dense_training=pass cnn_model=pass cnn_training=fail cnn_test_accuracy=fail cifar_model=fail cross_validation=fail learning_curves=fail error_analysis=fail

# %%
import numpy as np
from tensorflow import keras
from tensorflow.keras import layers

(x_train, y_train), (x_test, y_test) = keras.datasets.mnist.load_data()

# %%
# 実習①
x_train_flat = x_train.reshape(-1, 784) / 255
x_test_flat = x_test.reshape(-1, 784) / 255
y_train_cat = keras.utils.to_categorical(y_train)
y_test_cat = keras.utils.to_categorical(y_test)

mlp = keras.Sequential([
    layers.Dense(128, activation='relu', input_shape=(784,)),
    layers.Dense(64, activation='relu'),
    layers.Dense(10, activation='softmax'),
])
mlp.compile(optimizer='adam', loss='categorical_crossentropy', metrics=['accuracy'])
mlp.fit(x_train_flat, y_train_cat, epochs=5, batch_size=128)

# %%
# 実習②
x_train_4d = (x_train / 255).reshape(-1, 28, 28, 1)
x_test_4d = (x_test / 255).reshape(-1, 28, 28, 1)
cnn = keras.Sequential([
    layers.Conv2D(16, (3, 3), activation='relu', input_shape=(28, 28, 1)),
    layers.MaxPooling2D((2, 2)),
    layers.Conv2D(32, (3, 3), activation='relu'),
    layers.MaxPooling2D((2, 2)),
    layers.Flatten(),
    layers.Dense(32, activation='relu'),
    layers.Dense(10, activation='softmax'),
])
cnn.summary()

# %%
cnn.compile(optimizer='adam',
            loss='sparse_categorical_crossentropy',
            metrics=['accuracy']

# %%
cnn.fit(x_train_4d, y_train, epochs=5)
print(cnn.evaluate(x_test_4d, y_test))
