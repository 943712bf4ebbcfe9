# free-corpus: Parts A and B; the CNN is trained on raw 0..255 pixels (reshape to 4-D but the /255 was forgotten), the Dense part is correct
# expect: dense_model=pass dense_training=pass cnn_model=pass cnn_training=fail cnn_accuracy=pass cifar_model=fail cross_validation=fail learning_curves=fail misclassification_analysis=pass

# %%
from tensorflow import keras
from tensorflow.keras.datasets import mnist
from tensorflow.keras.utils import to_categorical
import numpy as np
import matplotlib.pyplot as plt

(train_images, train_labels), (test_images, test_labels) = mnist.load_data()

# %%
# 実習①
X_train = train_images.reshape(60000, 784).astype('float32') / 255.0
X_test = test_images.reshape(10000, 784).astype('float32') / 255.0
Y_train = to_categorical(train_labels, 10)
Y_test = to_categorical(test_labels, 10)

mlp = keras.models.Sequential()
mlp.add(keras.layers.Dense(128, activation='relu', input_shape=(784,)))
mlp.add(keras.layers.Dense(64, activation='relu'))
mlp.add(keras.layers.Dense(10, activation='softmax'))
mlp.compile(optimizer='adam', loss='categorical_crossentropy', metrics=['accuracy'])
mlp.fit(X_train, Y_train, epochs=5, batch_size=128, validation_split=0.2)

# %%
# 実習② CNN：Conv2D には 4 次元が必要なので reshape する
x_train_4d = train_images.reshape(-1, 28, 28, 1).astype('float32')
x_test_4d = test_images.reshape(-1, 28, 28, 1).astype('float32')
print(x_train_4d.shape, x_train_4d.max())

# %%
model = keras.models.Sequential()
model.add(keras.layers.Conv2D(16, (3, 3), activation='relu', input_shape=(28, 28, 1)))
model.add(keras.layers.MaxPool2D(2, 2))
model.add(keras.layers.Conv2D(32, (3, 3), activation='relu'))
model.add(keras.layers.MaxPooling2D((2, 2)))
model.add(keras.layers.Flatten())
model.add(keras.layers.Dense(32, activation='relu'))
model.add(keras.layers.Dense(10, activation='softmax'))
model.compile(optimizer='adam', loss='sparse_categorical_crossentropy', metrics=['accuracy'])
model.fit(x_train_4d, train_labels, epochs=5)
print(model.evaluate(x_test_4d, test_labels, verbose=2))

# %%
pred = model.predict(x_test_4d).argmax(axis=1)
wrong = np.nonzero(pred != test_labels)[0]
fig, axes = plt.subplots(1, 5, figsize=(10, 2.5))
for ax, i in zip(axes, wrong[:5]):
    ax.imshow(test_images[i], cmap='gray')
    ax.set_title(f'pred {pred[i]} / true {test_labels[i]}')
    ax.axis('off')
plt.show()
