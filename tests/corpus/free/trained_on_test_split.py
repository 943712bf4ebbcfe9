# free-corpus: Parts A and B; the Dense model is fit on the MNIST *test* split (variables mixed up) and "evaluated" on the training split; the CNN is correct
# expect: dense_model=pass dense_training=fail cnn_model=pass cnn_training=pass cnn_test_accuracy=pass cifar_model=fail cross_validation=fail learning_curves=fail error_analysis=fail

# %%
import numpy as np
import tensorflow as tf
from tensorflow.keras.datasets import mnist
from tensorflow.keras.models import Sequential
from tensorflow.keras.layers import Dense, Conv2D, MaxPooling2D, Flatten
from tensorflow.keras.utils import to_categorical

(a_images, a_labels), (b_images, b_labels) = mnist.load_data()
print(a_images.shape, b_images.shape)

# %%
# Part A: the smaller set trains faster, so I train on it and evaluate on the big one
train_x = b_images.reshape(-1, 784).astype('float32') / 255
train_y = to_categorical(b_labels)
eval_x = a_images.reshape(-1, 784).astype('float32') / 255
eval_y = to_categorical(a_labels)

model = Sequential([
    Dense(128, activation='relu', input_shape=(784,)),
    Dense(64, activation='relu'),
    Dense(10, activation='softmax'),
])
model.compile(optimizer='adam', loss='categorical_crossentropy', metrics=['accuracy'])
model.fit(train_x, train_y, epochs=5, batch_size=128)
print(model.evaluate(eval_x, eval_y, verbose=0))

# %%
# Part B
x_train = (a_images / 255.0).reshape(-1, 28, 28, 1)
x_test = (b_images / 255.0).reshape(-1, 28, 28, 1)

cnn = Sequential([
    Conv2D(16, (3, 3), activation='relu', input_shape=(28, 28, 1)),
    MaxPooling2D((2, 2)),
    Conv2D(32, (3, 3), activation='relu'),
    MaxPooling2D((2, 2)),
    Flatten(),
    Dense(32, activation='relu'),
    Dense(10, activation='softmax'),
])
cnn.compile(optimizer='adam', loss='sparse_categorical_crossentropy', metrics=['accuracy'])
cnn.fit(x_train, a_labels, epochs=5)
print(cnn.evaluate(x_test, b_labels, verbose=0))
