# free-corpus: only 実習① (Dense network on MNIST, one-hot labels, categorical_crossentropy), done correctly; Parts B and C missing
# expect: dense_model=pass dense_training=pass cnn_model=fail cnn_training=fail cnn_test_accuracy=fail cifar_model=fail cross_validation=fail learning_curves=fail error_analysis=fail

# %% [markdown]
# # 実習①：Simple Neural Network
# 時間がなかったので実習①だけ提出します。

# %%
import numpy as np
from tensorflow import keras
from tensorflow.keras import layers
from tensorflow.keras.datasets import mnist
from tensorflow.keras.utils import to_categorical

(train_images, train_labels), (test_images, test_labels) = mnist.load_data()

# %%
# 28x28 → 784 に変換し、0〜1 に正規化
n_train = train_images.shape[0]
n_test = test_images.shape[0]
train_images = train_images.reshape((n_train, 28 * 28)).astype('float32') / 255
test_images = test_images.reshape((n_test, 28 * 28)).astype('float32') / 255

train_labels = to_categorical(train_labels)
test_labels = to_categorical(test_labels)
print(train_labels[0])

# %%
model = keras.Sequential([
    layers.Dense(512, activation='relu', input_shape=(784,)),
    layers.Dense(10, activation='softmax'),
])
model.compile(optimizer='rmsprop', loss='categorical_crossentropy', metrics=['accuracy'])
model.summary()

# %%
model.fit(train_images, train_labels, epochs=5, batch_size=128)

# %%
test_loss, test_acc = model.evaluate(test_images, test_labels)
print('test_acc:', test_acc)
