# free-corpus: Parts A and B; the CNN uses AveragePooling2D instead of MaxPooling2D (still 30,762 parameters, but not the chapter's layers); training and compile settings are correct, misclassified digits shown chapter-style
# expect: dense_model=pass dense_training=pass cnn_model=fail cnn_training=pass cnn_test_accuracy=pass cifar_model=fail cross_validation=fail learning_curves=fail error_analysis=pass

# %%
import numpy as np
import matplotlib.pyplot as plt
from tensorflow import keras
from tensorflow.keras import layers
from tensorflow.keras.utils import to_categorical

(train_images, train_labels), (test_images, test_labels) = keras.datasets.mnist.load_data()

# %% [markdown]
# 実習①

# %%
tr_x = train_images.reshape((60000, 784)).astype('float32') / 255
te_x = test_images.reshape((10000, 784)).astype('float32') / 255
tr_y = to_categorical(train_labels)
te_y = to_categorical(test_labels)
net = keras.Sequential([
    layers.Dense(128, activation='relu', input_shape=(784,)),
    layers.Dense(64, activation='relu'),
    layers.Dense(10, activation='softmax'),
])
net.compile(optimizer='adam', loss='categorical_crossentropy', metrics=['accuracy'])
net.fit(tr_x, tr_y, epochs=5, batch_size=128, validation_split=0.2)

# %% [markdown]
# 実習②：Pooling の節に Average Pooling もあったので、こちらを使ってみた。

# %%
x_train = (train_images / 255.0).reshape(-1, 28, 28, 1)
x_test = (test_images / 255.0).reshape(-1, 28, 28, 1)

model = keras.models.Sequential()
model.add(layers.Conv2D(16, (3, 3), activation='relu', input_shape=(28, 28, 1)))
model.add(layers.AveragePooling2D((2, 2)))
model.add(layers.Conv2D(32, (3, 3), activation='relu'))
model.add(layers.AveragePooling2D((2, 2)))
model.add(layers.Flatten())
model.add(layers.Dense(32, activation='relu'))
model.add(layers.Dense(10, activation='softmax'))
model.summary()

model.compile(optimizer='adam', loss='sparse_categorical_crossentropy', metrics=['accuracy'])
model.fit(x_train, train_labels, epochs=5)
print(model.evaluate(x_test, test_labels, verbose=2))

# %%
predicted_labels = np.argmax(model.predict(x_test), axis=1)
wrong = [i for i in range(len(test_labels)) if predicted_labels[i] != test_labels[i]]
for n in wrong[:3]:
    plt.imshow(test_images[n], cmap=plt.cm.binary)
    plt.title(f'予測: {predicted_labels[n]}, 実際: {test_labels[n]}')
    plt.show()
