# free-corpus: Parts A and B with the loss/label pairing swapped: the Dense model gets one-hot labels with sparse_categorical_crossentropy, the CNN gets integer labels with categorical_crossentropy (both fits raise)
# expect: dense_model=pass dense_training=fail cnn_model=pass cnn_training=fail cnn_test_accuracy=pass cifar_model=fail cross_validation=fail learning_curves=fail error_analysis=fail

# %%
import numpy as np
from tensorflow import keras
from tensorflow.keras.datasets import mnist
from tensorflow.keras.utils import to_categorical

(train_images, train_labels), (test_images, test_labels) = mnist.load_data()

# %%
# 実習①
train_x = train_images.reshape((60000, 784)).astype('float32') / 255
test_x = test_images.reshape((10000, 784)).astype('float32') / 255
train_y = to_categorical(train_labels)
test_y = to_categorical(test_labels)

model = keras.Sequential([
    keras.layers.Dense(128, activation='relu', input_shape=(784,)),
    keras.layers.Dense(64, activation='relu'),
    keras.layers.Dense(10, activation='softmax'),
])
# ラベルは 10 クラスなので sparse にした
model.compile(optimizer='adam', loss='sparse_categorical_crossentropy', metrics=['accuracy'])
model.fit(train_x, train_y, epochs=5, batch_size=128)

# %%
# 実習②
x_train = (train_images / 255.0).reshape(-1, 28, 28, 1)
x_test = (test_images / 255.0).reshape(-1, 28, 28, 1)

cnn = keras.models.Sequential()
cnn.add(keras.layers.Conv2D(16, (3, 3), activation='relu', input_shape=(28, 28, 1)))
cnn.add(keras.layers.MaxPooling2D((2, 2)))
cnn.add(keras.layers.Conv2D(32, (3, 3), activation='relu'))
cnn.add(keras.layers.MaxPooling2D((2, 2)))
cnn.add(keras.layers.Flatten())
cnn.add(keras.layers.Dense(32, activation='relu'))
cnn.add(keras.layers.Dense(10, activation='softmax'))
cnn.compile(optimizer='adam', loss='categorical_crossentropy', metrics=['accuracy'])
cnn.fit(x_train, train_labels, epochs=5)

# %%
print(cnn.evaluate(x_test, test_labels))
