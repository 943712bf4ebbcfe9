# free-corpus: the chapter's 実習① and 実習② copied almost verbatim (tf.keras imports, reshape((60000, 784)), one figure per misclassified digit); no CIFAR part, no learning curves
# expect: dense_model=pass dense_training=pass cnn_model=pass cnn_training=pass cnn_test_accuracy=pass cifar_model=fail cross_validation=fail learning_curves=fail error_analysis=pass

# %% [markdown]
# # 第3章 深層学習：CNN Ⅰ　実習ノート
# 教材のコードをそのまま実行してみる。

# %% [markdown]
# ## 実習① Simple Neural Network（Dense層のみ）

# %%
import tensorflow as tf
from tensorflow import keras
from tensorflow.keras.datasets import mnist
from tensorflow.keras.models import Sequential
from tensorflow.keras.layers import Dense, Flatten
from tensorflow.keras.utils import to_categorical

# データセットの読み込み
(train_images, train_labels), (test_images, test_labels) = mnist.load_data()

# データの正規化
train_images = train_images.reshape((60000, 784)).astype('float32') / 255
test_images = test_images.reshape((10000, 784)).astype('float32') / 255

# ラベルのOne-hot encoding
train_labels = to_categorical(train_labels)
test_labels = to_categorical(test_labels)

# %%
# Sequential Modelの作成
model = Sequential([
    Dense(128, activation='relu', input_shape=(784,)),
    Dense(64, activation='relu'),
    Dense(10, activation='softmax')
])

# モデルのコンパイル
model.compile(
    optimizer='adam',
    loss='categorical_crossentropy',
    metrics=['accuracy']
)

# モデルの学習
model.fit(
    train_images,
    train_labels,
    epochs=5,
    batch_size=128,
    validation_split=0.2
)

# モデルの評価
test_loss, test_acc = model.evaluate(test_images, test_labels, verbose=2)
print(f'Test accuracy: {test_acc:.4f}')

# %% [markdown]
# ## 実習② CNNモデルの実装

# %%
import numpy as np
import matplotlib.pyplot as plt

# データの読み込み
(x_train, y_train), (x_test, y_test) = mnist.load_data()

print(f'訓練データ数: {len(x_train)}')
print(f'テストデータ数: {len(x_test)}')
print(f'画像のshape: {x_train[0].shape}')

# データの確認
plt.imshow(x_train[0], cmap=plt.cm.binary)
plt.title(f'Label: {y_train[0]}')
plt.show()

# %%
model = keras.models.Sequential()

# 第1ブロック：Convolution + Pooling
model.add(keras.layers.Conv2D(
    16, (3, 3),
    activation='relu',
    input_shape=(28, 28, 1)
))
model.add(keras.layers.MaxPool2D(2, 2))

# 第2ブロック：Convolution + Pooling
model.add(keras.layers.Conv2D(32, (3, 3), activation='relu'))
model.add(keras.layers.MaxPooling2D((2, 2)))

# Flatten層
model.add(keras.layers.Flatten())

# 全結合層
model.add(keras.layers.Dense(32, activation='relu'))

# 出力層
model.add(keras.layers.Dense(10, activation='softmax'))

print(f'モデルに追加されたLayer数: {len(model.layers)}')
model.summary()

# %%
# 正規化（0-1の範囲に）
x_train_norm = x_train / 255.0
x_test_norm = x_test / 255.0

print("Before Reshape - x_train_norm shape:", x_train_norm.shape)
print("Before Reshape - x_test_norm shape:", x_test_norm.shape)

# Reshapeで4次元に変換
x_train_reshaped = x_train_norm.reshape(-1, 28, 28, 1)
x_test_reshaped = x_test_norm.reshape(-1, 28, 28, 1)

print("After Reshape - x_train_reshaped shape:", x_train_reshaped.shape)
print("After Reshape - x_test_reshaped shape:", x_test_reshaped.shape)

# %%
# コンパイル
model.compile(
    optimizer='adam',
    loss='sparse_categorical_crossentropy',
    metrics=['accuracy']
)

# 学習
model.fit(x_train_reshaped, y_train, epochs=5)

# 評価
test_loss, test_accuracy = model.evaluate(x_test_reshaped, y_test, verbose=2)
print(f"test_loss: {test_loss:.4f}")
print(f"test_accuracy: {test_accuracy:.4f}")

# %%
# 予測
predicted_result = model.predict(x_test_reshaped)
predicted_labels = np.argmax(predicted_result, axis=1)

# 最初のテストデータを確認
idx = 0
print("model.predict() 結果:", predicted_result[idx])
print("予測ラベル:", predicted_labels[idx])
print("実際のラベル:", y_test[idx])

plt.imshow(x_test[idx], cmap=plt.cm.binary)
plt.title(f'予測: {predicted_labels[idx]}, 実際: {y_test[idx]}')
plt.show()

# %%
import random

# 誤分類されたデータのインデックスを収集
wrong_predict_list = []
for i, _ in enumerate(predicted_labels):
    if predicted_labels[i] != y_test[i]:
        wrong_predict_list.append(i)

print(f'誤分類数: {len(wrong_predict_list)} / {len(y_test)}')
print(f'精度: {(1 - len(wrong_predict_list)/len(y_test))*100:.2f}%')

# ランダムに5個選択して表示
samples = random.choices(population=wrong_predict_list, k=min(5, len(wrong_predict_list)))

for n in samples:
    print(f"\n予測確率分布: {predicted_result[n]}")
    print(f"予測ラベル: {predicted_labels[n]}, 実際のラベル: {y_test[n]}")
    plt.imshow(x_test[n], cmap=plt.cm.binary)
    plt.title(f'予測: {predicted_labels[n]}, 実際: {y_test[n]}', color='red')
    plt.show()
