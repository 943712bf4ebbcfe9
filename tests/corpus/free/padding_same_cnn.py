# free-corpus: Parts A and B, but the CNN uses padding='same' in both Conv2D layers (55,338 parameters instead of 30,762); otherwise correct, chapter-style misclassified digits
# expect: dense_model=pass dense_training=pass cnn_model=fail cnn_training=pass cnn_accuracy=pass cifar_model=fail cross_validation=fail learning_curves=fail misclassification_analysis=pass

# %%
import numpy as np
import matplotlib.pyplot as plt
import tensorflow as tf
from tensorflow import keras
from tensorflow.keras.datasets import mnist
from tensorflow.keras.models import Sequential
from tensorflow.keras.layers import Dense, Conv2D, MaxPooling2D, Flatten
from tensorflow.keras.utils import to_categorical

# %% [markdown]
# ## 実習①

# %%
(train_images, train_labels), (test_images, test_labels) = mnist.load_data()
train_images = train_images.reshape((-1, 784)).astype('float32') / 255
test_images = test_images.reshape((-1, 784)).astype('float32') / 255
train_labels = to_categorical(train_labels)
test_labels = to_categorical(test_labels)

model = Sequential([
    Dense(128, activation='relu', input_shape=(784,)),
    Dense(64, activation='relu'),
    Dense(10, activation='softmax')
])
model.compile(optimizer='adam', loss='categorical_crossentropy', metrics=['accuracy'])
model.fit(train_images, train_labels, epochs=5, batch_size=128, validation_split=0.2)
print(model.evaluate(test_images, test_labels, verbose=2))

# %% [markdown]
# ## 実習②
# 教材の「Padding」の節にあった padding='same' を使って、画像の端の情報も残すようにした。

# %%
(x_train, y_train), (x_test, y_test) = mnist.load_data()
x_train_reshaped = (x_train / 255.0).reshape(-1, 28, 28, 1)
x_test_reshaped = (x_test / 255.0).reshape(-1, 28, 28, 1)

cnn = Sequential()
cnn.add(Conv2D(16, (3, 3), activation='relu', padding='same', input_shape=(28, 28, 1)))
cnn.add(MaxPooling2D((2, 2)))
cnn.add(Conv2D(32, (3, 3), activation='relu', padding='same'))
cnn.add(MaxPooling2D((2, 2)))
cnn.add(Flatten())
cnn.add(Dense(32, activation='relu'))
cnn.add(Dense(10, activation='softmax'))
cnn.summary()   # Total params: 55,338

# %%
cnn.compile(optimizer='adam', loss='sparse_categorical_crossentropy', metrics=['accuracy'])
cnn.fit(x_train_reshaped, y_train, epochs=5)
test_loss, test_accuracy = cnn.evaluate(x_test_reshaped, y_test, verbose=2)
print(f"test_accuracy: {test_accuracy:.4f}")

# %%
predicted_result = cnn.predict(x_test_reshaped)
predicted_labels = np.argmax(predicted_result, axis=1)
wrong_predict_list = [i for i in range(len(y_test)) if predicted_labels[i] != y_test[i]]
print('誤分類数:', len(wrong_predict_list))

for n in wrong_predict_list[:4]:
    plt.imshow(x_test[n], cmap=plt.cm.binary)
    plt.title(f'予測: {predicted_labels[n]}, 実際: {y_test[n]}', color='red')
    plt.show()
