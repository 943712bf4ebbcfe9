# free-corpus: Parts A and B; the Dense model's inputs are standardised to mean 0 / std 1 (not scaled to [0,1]); the CNN is correct; misclassified digits titled "pred x / true y"
# expect: dense_model=pass dense_training=fail cnn_model=pass cnn_training=pass cnn_test_accuracy=pass cifar_model=fail cross_validation=fail learning_curves=fail error_analysis=pass

# %%
import numpy as np
import matplotlib.pyplot as plt
from tensorflow import keras

(x_train, y_train), (x_test, y_test) = keras.datasets.mnist.load_data()

# %% [markdown]
# ## Part A
# 正規化は平均 0・標準偏差 1 の標準化にした（機械学習の授業でやった方法）。

# %%
xtr = x_train.reshape(len(x_train), -1).astype('float32')
xte = x_test.reshape(len(x_test), -1).astype('float32')
mean, std = xtr.mean(), xtr.std()
xtr = (xtr - mean) / std
xte = (xte - mean) / std

ytr = keras.utils.to_categorical(y_train, 10)
yte = keras.utils.to_categorical(y_test, 10)

mlp = keras.Sequential([
    keras.Input(shape=(784,)),
    keras.layers.Dense(128, activation='relu'),
    keras.layers.Dense(64, activation='relu'),
    keras.layers.Dense(10, activation='softmax'),
])
mlp.compile(optimizer='adam', loss='categorical_crossentropy', metrics=['accuracy'])
mlp.fit(xtr, ytr, epochs=5, batch_size=128, validation_split=0.2)
print(mlp.evaluate(xte, yte, verbose=0))

# %% [markdown]
# ## Part B

# %%
x_train_c = (x_train / 255.0).reshape(-1, 28, 28, 1)
x_test_c = (x_test / 255.0).reshape(-1, 28, 28, 1)

cnn = keras.Sequential([
    keras.Input(shape=(28, 28, 1)),
    keras.layers.Conv2D(16, (3, 3), activation='relu'),
    keras.layers.MaxPooling2D((2, 2)),
    keras.layers.Conv2D(32, (3, 3), activation='relu'),
    keras.layers.MaxPooling2D((2, 2)),
    keras.layers.Flatten(),
    keras.layers.Dense(32, activation='relu'),
    keras.layers.Dense(10, activation='softmax'),
])
cnn.compile(optimizer='adam', loss='sparse_categorical_crossentropy', metrics=['accuracy'])
cnn.fit(x_train_c, y_train, epochs=5, batch_size=32)

# %%
pred = cnn.predict(x_test_c).argmax(1)
bad = np.flatnonzero(pred != y_test)
plt.figure(figsize=(9, 2))
for k, i in enumerate(bad[:6]):
    plt.subplot(1, 6, k + 1)
    plt.imshow(x_test[i], cmap='gray_r')
    plt.title(f'pred {pred[i]} / true {y_test[i]}', fontsize=8)
    plt.axis('off')
plt.show()
