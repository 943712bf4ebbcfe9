# free-corpus: Parts A and B with MNIST from sklearn's fetch_openml('mnist_784') instead of keras.datasets; offline the download fails, so both models are built and compiled but never trained
# expect: dense_model=pass dense_training=fail cnn_model=pass cnn_training=fail cnn_test_accuracy=pass cifar_model=fail cross_validation=fail learning_curves=fail error_analysis=fail

# %%
import numpy as np
from sklearn.datasets import fetch_openml
from sklearn.model_selection import train_test_split
from tensorflow import keras
from tensorflow.keras import layers

# %%
mnist = fetch_openml('mnist_784', version=1, as_frame=False)
X = mnist.data.astype('float32') / 255.0
y = mnist.target.astype('int64')
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=10000, random_state=0)
print(X_train.shape, X_test.shape)

# %%
dense = keras.Sequential([
    layers.Input(shape=(784,)),
    layers.Dense(128, activation='relu'),
    layers.Dense(64, activation='relu'),
    layers.Dense(10, activation='softmax'),
])
dense.compile(optimizer='adam', loss='sparse_categorical_crossentropy', metrics=['accuracy'])

# %%
dense.fit(X_train, y_train, epochs=5, batch_size=128, validation_split=0.2)
print(dense.evaluate(X_test, y_test, verbose=0))

# %%
cnn = keras.Sequential([
    layers.Input(shape=(28, 28, 1)),
    layers.Conv2D(16, (3, 3), activation='relu'),
    layers.MaxPooling2D((2, 2)),
    layers.Conv2D(32, (3, 3), activation='relu'),
    layers.MaxPooling2D((2, 2)),
    layers.Flatten(),
    layers.Dense(32, activation='relu'),
    layers.Dense(10, activation='softmax'),
])
cnn.compile(optimizer='adam', loss='sparse_categorical_crossentropy', metrics=['accuracy'])

# %%
cnn.fit(X_train.reshape(-1, 28, 28, 1), y_train, epochs=5, batch_size=64)
print(cnn.evaluate(X_test.reshape(-1, 28, 28, 1), y_test, verbose=0))
