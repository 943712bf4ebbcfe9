# free-corpus: the reference chapter-style, but the Dense model ends in Dense(10, sigmoid) (trained correctly otherwise)
# expect: dense_model=fail dense_training=pass cnn_model=pass cnn_training=pass cnn_test_accuracy=pass cifar_model=pass cross_validation=pass learning_curves=pass error_analysis=pass

# %% [markdown]
# # 深層学習③ CNN I 実習と課題（解答例・章のスタイル）
#
# > 🔒 教員用の解答例です。章の本文と同じように、セルを上から順に実行していく 1 冊のノートブックとして書いています
# > （関数の穴埋めはありません）。自由形式の採点（`grade --mode free`）ですべてのチェックを満たします。
#
# | パート | 内容 | データセット |
# |---|---|---|
# | Part A（実習①） | Dense 層だけの Simple Neural Network（One-hot ラベル） | MNIST |
# | Part B（実習②） | Conv2D + MaxPooling の CNN（パラメータ数 30,762、整数ラベル） | MNIST |
# | Part C（課題） | CNN による 10 クラス分類、5-fold 交差検証、学習曲線、誤分類の分析 | CIFAR-10 |
#
# 学習には時間がかかるので、Google Colab では「ランタイム」→「ランタイムのタイプを変更」で GPU を選んでください。

# %%
import random

import numpy as np
import matplotlib.pyplot as plt
import tensorflow as tf
from tensorflow import keras
from tensorflow.keras.datasets import mnist, cifar10
from tensorflow.keras.models import Sequential
from tensorflow.keras.layers import Dense, Conv2D, MaxPooling2D, Flatten
from tensorflow.keras.utils import to_categorical
from sklearn.model_selection import KFold
from sklearn.metrics import confusion_matrix, ConfusionMatrixDisplay

# 再現性のために乱数シードを固定します
keras.utils.set_random_seed(0)
random.seed(0)

print('TensorFlow:', tf.__version__)
print('Keras:', keras.__version__)

# %% [markdown]
# ---
# # Part A：実習① Simple Neural Network（Dense 層のみ）
#
# まずは Convolution を使わず、全結合層（Dense）だけで MNIST の手書き数字を分類します。
#
# ## データセットの読み込みと正規化
#
# MNIST は 28×28 ピクセルのグレースケール画像で、訓練データ 60,000 枚、テストデータ 10,000 枚です。
# Dense 層は 1 次元のベクトルを入力に取るので、画像を 784（= 28×28）次元に平らにし、
# 画素値（0〜255）を 255 で割って 0〜1 の範囲に正規化します。
# 章のコードでは枚数 60000 を直接書いていますが、ここでは `len(...)` を使います。

# %%
# データセットの読み込み
(train_images, train_labels), (test_images, test_labels) = mnist.load_data()
print('train_images:', train_images.shape, train_images.dtype)
print('test_images :', test_images.shape, test_images.dtype)

# データの正規化（784 次元に平らにして 0〜1 に）
train_images = train_images.reshape((len(train_images), 784)).astype('float32') / 255
test_images = test_images.reshape((len(test_images), 784)).astype('float32') / 255

# %% [markdown]
# ## One-hot encoding
#
# 実習①では損失関数に `categorical_crossentropy` を使うので、ラベルを One-hot 形式に変換します。
#
# ```
# ラベル「3」 → [0, 0, 0, 1, 0, 0, 0, 0, 0, 0]
# ```

# %%
train_labels_onehot = to_categorical(train_labels)
test_labels_onehot = to_categorical(test_labels)
print('ラベル', train_labels[0], '→', train_labels_onehot[0])

# %% [markdown]
# ## モデルの定義と学習
#
# | 層 | 出力 | パラメータ数の計算 |
# |---|---|---|
# | Dense(128, relu)（入力 784） | 128 | 784×128 + 128 = 100,480 |
# | Dense(64, relu) | 64 | 128×64 + 64 = 8,256 |
# | Dense(10, softmax) | 10 | 64×10 + 10 = 650 |
# | **合計** | | **109,386** |
#
# One-hot ラベルなので `loss='categorical_crossentropy'` でコンパイルします。

# %%
# Sequential Model の作成
dense_model = Sequential([
    keras.Input(shape=(784,)),
    Dense(128, activation='relu'),
    Dense(64, activation='relu'),
    Dense(10, activation='sigmoid')
])

# モデルのコンパイル
dense_model.compile(
    optimizer='adam',
    loss='categorical_crossentropy',
    metrics=['accuracy']
)
dense_model.summary()

# %%
# モデルの学習（訓練データの 20% を検証に使う）
history_dense = dense_model.fit(
    train_images,
    train_labels_onehot,
    epochs=5,
    batch_size=128,
    validation_split=0.2
)

# モデルの評価
test_loss, test_acc = dense_model.evaluate(test_images, test_labels_onehot, verbose=2)
print(f'Test accuracy: {test_acc:.4f}')

# %% [markdown]
# ---
# # Part B：実習② CNN モデルの実装
#
# 次に、Convolution と Pooling で特徴を抽出する CNN を作ります。
#
# ```
# 入力層 → [特徴抽出器] → [分類器] → 出力層
#        Conv + Pooling   Dense
# ```
#
# ## MNIST データセットの読み込み

# %%
# データの読み込み（Part A で書き換えた変数とは別に、元の画像から始めます）
(x_train, y_train), (x_test, y_test) = mnist.load_data()

print(f'訓練データ数: {len(x_train)}')
print(f'テストデータ数: {len(x_test)}')
print(f'画像のshape: {x_train[0].shape}')

# データの確認
plt.imshow(x_train[0], cmap=plt.cm.binary)
plt.title(f'Label: {y_train[0]}')
plt.show()

# %% [markdown]
# ## CNN モデルの設計
#
# 章と **まったく同じ構成** の CNN です。
#
# | 層 | 出力形状 | パラメータ数の計算 |
# |---|---|---|
# | Conv2D(16, (3,3), relu)（入力 28×28×1） | (26, 26, 16) | 3×3×1×16 + 16 = 160 |
# | MaxPooling2D((2,2)) | (13, 13, 16) | 0 |
# | Conv2D(32, (3,3), relu) | (11, 11, 32) | 3×3×16×32 + 32 = 4,640 |
# | MaxPooling2D((2,2)) | (5, 5, 32) | 0 |
# | Flatten | 800 | 0 |
# | Dense(32, relu) | 32 | 800×32 + 32 = 25,632 |
# | Dense(10, softmax) | 10 | 32×10 + 10 = 330 |
# | **合計** | | **30,762** |
#
# 🔍 Convolution のパラメータ数は「カーネルの高さ × 幅 × 入力チャンネル数 × フィルタ数 + バイアス（フィルタ数）」です。

# %%
model = keras.models.Sequential()
model.add(keras.Input(shape=(28, 28, 1)))

# 第1ブロック：Convolution + Pooling
model.add(Conv2D(16, (3, 3), activation='relu'))
model.add(MaxPooling2D((2, 2)))

# 第2ブロック：Convolution + Pooling
model.add(Conv2D(32, (3, 3), activation='relu'))
model.add(MaxPooling2D((2, 2)))

# Flatten 層
model.add(Flatten())

# 全結合層
model.add(Dense(32, activation='relu'))

# 出力層
model.add(Dense(10, activation='softmax'))

print(f'モデルに追加されたLayer数: {len(model.layers)}')
model.summary()
print('パラメータ数:', model.count_params())

# %% [markdown]
# ## データの前処理
#
# ⚠️ Conv2D レイヤーを使用する場合、入力データは 4 次元（Batch × Height × Width × チャンネル）である必要があります。
# 0〜1 に正規化してから、チャンネル数 1 の軸を追加して `(N, 28, 28)` → `(N, 28, 28, 1)` にします。

# %%
# 正規化（0-1 の範囲に）
x_train_norm = x_train / 255.0
x_test_norm = x_test / 255.0

# Reshape で 4 次元に変換
x_train_reshaped = x_train_norm.reshape(-1, 28, 28, 1)
x_test_reshaped = x_test_norm.reshape(-1, 28, 28, 1)

print('Before Reshape - x_train_norm shape:', x_train_norm.shape)
print('After Reshape - x_train_reshaped shape:', x_train_reshaped.shape)

# %% [markdown]
# ## モデルの学習と評価
#
# 今度のラベルは 0〜9 の整数のままなので、損失関数は `sparse_categorical_crossentropy` です。
#
# | 損失関数 | ラベル形式 |
# |---|---|
# | `categorical_crossentropy` | One-hot encoding |
# | `sparse_categorical_crossentropy` | 整数ラベル |

# %%
# コンパイル
model.compile(
    optimizer='adam',
    loss='sparse_categorical_crossentropy',
    metrics=['accuracy']
)

# 学習
model.fit(x_train_reshaped, y_train, epochs=5, batch_size=32)

# 評価
test_loss, test_accuracy = model.evaluate(x_test_reshaped, y_test, verbose=2)
print(f'test_loss: {test_loss:.4f}')
print(f'test_accuracy: {test_accuracy:.4f}')

# %% [markdown]
# ## 予測結果と誤分類されたデータの確認
#
# `model.predict()` は各クラスの確率（softmax の出力）を返すので、`np.argmax` で確率が最大のクラスを予測ラベルにします。

# %%
# 予測
predicted_result = model.predict(x_test_reshaped)
predicted_labels = np.argmax(predicted_result, axis=1)

print('model.predict() 結果:', np.round(predicted_result[0], 3))
print('予測ラベル:', predicted_labels[0], ' 実際のラベル:', y_test[0])

# 誤分類されたデータのインデックスを収集
wrong_predict_list = [i for i in range(len(y_test)) if predicted_labels[i] != y_test[i]]
print(f'誤分類数: {len(wrong_predict_list)} / {len(y_test)}')
print(f'精度: {(1 - len(wrong_predict_list) / len(y_test)) * 100:.2f}%')

# ランダムに 5 個選んで表示（タイトルは予測と実際のラベル）
samples = random.sample(wrong_predict_list, k=min(5, len(wrong_predict_list)))
plt.figure(figsize=(10, 2.6))
for k, n in enumerate(samples):
    plt.subplot(1, len(samples), k + 1)
    plt.imshow(x_test[n], cmap=plt.cm.binary)
    plt.title(f'予測: {predicted_labels[n]}, 実際: {y_test[n]}', color='red', fontsize=9)
    plt.axis('off')
plt.show()

# %% [markdown]
# ---
# # Part C：課題 CIFAR-10 の 10 クラス分類
#
# CIFAR-10 は 32×32 ピクセルのカラー画像（RGB の 3 チャンネル）で、10 クラス、訓練データ 50,000 枚、テストデータ 10,000 枚です。
#
# ## 1. データセットの読み込みと前処理
#
# - 画素値を 255 で割って 0〜1 に正規化します
# - ラベルは形状 `(N, 1)` で渡されるので、`flatten()` で `(N,)` の整数ラベルにします（損失は `sparse_categorical_crossentropy`）
# - カラー画像なので、最初から 4 次元 `(N, 32, 32, 3)` です（reshape は不要）

# %%
(cx_train, cy_train), (cx_test, cy_test) = cifar10.load_data()

# ラベル名
class_names = ['airplane', 'automobile', 'bird', 'cat', 'deer',
               'dog', 'frog', 'horse', 'ship', 'truck']

cx_train = cx_train.astype('float32') / 255.0
cx_test = cx_test.astype('float32') / 255.0
cy_train = cy_train.flatten()
cy_test = cy_test.flatten()
print('訓練データ:', cx_train.shape, cy_train.shape)
print('テストデータ:', cx_test.shape, cy_test.shape)

# データの確認（最初の 10 枚）
plt.figure(figsize=(12, 2))
for i in range(10):
    plt.subplot(1, 10, i + 1)
    plt.imshow(cx_train[i])
    plt.title(class_names[cy_train[i]], fontsize=8)
    plt.axis('off')
plt.show()

# %% [markdown]
# ## 2. CNN モデルの設計
#
# Part B と同じ「特徴抽出器 + 分類器」の構成を、カラー画像用に少し大きくします。
# `padding='same'` で Convolution の出力サイズを入力と同じに保ち、Pooling だけでサイズを半分にします。
#
# | 層 | 出力形状 | パラメータ数の計算 |
# |---|---|---|
# | Conv2D(32, (3,3), relu, same)（入力 32×32×3） | (32, 32, 32) | 3×3×3×32 + 32 = 896 |
# | MaxPooling2D((2,2)) | (16, 16, 32) | 0 |
# | Conv2D(64, (3,3), relu, same) | (16, 16, 64) | 3×3×32×64 + 64 = 18,496 |
# | MaxPooling2D((2,2)) | (8, 8, 64) | 0 |
# | Flatten | 4,096 | 0 |
# | Dense(64, relu) | 64 | 4,096×64 + 64 = 262,208 |
# | Dense(10, softmax) | 10 | 64×10 + 10 = 650 |
# | **合計** | | **282,250** |
#
# 交差検証では fold ごとに **新しいモデル** を作り直す必要があるので、モデルを作る処理を関数にまとめます。

# %%
def build_cifar_model():
    cifar_model = Sequential([
        keras.Input(shape=(32, 32, 3)),
        # 特徴抽出器（Feature Extractor）
        Conv2D(32, (3, 3), activation='relu', padding='same'),
        MaxPooling2D((2, 2)),
        Conv2D(64, (3, 3), activation='relu', padding='same'),
        MaxPooling2D((2, 2)),
        # 分類器（Classifier）
        Flatten(),
        Dense(64, activation='relu'),
        Dense(10, activation='softmax'),
    ])
    cifar_model.compile(
        optimizer='adam',
        loss='sparse_categorical_crossentropy',
        metrics=['accuracy']
    )
    return cifar_model


build_cifar_model().summary()

# %% [markdown]
# ## 3. 5-fold 交差検証による性能評価
#
# 訓練データを 5 つに分け、1 つを検証用（validation）、残り 4 つを学習用にして 5 回学習します。
#
# - `KFold(n_splits=5, shuffle=True, random_state=42)` で fold を作る
# - fold ごとに `build_cifar_model()` で新しいモデルを作る（同じモデルを学習し続けると、前の fold の検証データを学習済みになってしまう）
# - `validation_data` にその fold の検証データを渡し、epoch ごとの検証 loss / accuracy を記録する
# - **テストデータは交差検証に使いません**（最後の評価まで取っておきます）

# %%
kfold = KFold(n_splits=5, shuffle=True, random_state=42)

histories = []
fold_loss = []
fold_accuracy = []
for fold, (train_idx, val_idx) in enumerate(kfold.split(cx_train), start=1):
    fold_model = build_cifar_model()
    history = fold_model.fit(
        cx_train[train_idx], cy_train[train_idx],
        epochs=10,
        batch_size=64,
        validation_data=(cx_train[val_idx], cy_train[val_idx]),
        verbose=0
    )
    val_loss, val_accuracy = fold_model.evaluate(cx_train[val_idx], cy_train[val_idx], verbose=0)
    histories.append(history)
    fold_loss.append(val_loss)
    fold_accuracy.append(val_accuracy)
    print(f'fold {fold}: 学習 {len(train_idx)} 枚 / 検証 {len(val_idx)} 枚, '
          f'val_loss = {val_loss:.4f}, val_accuracy = {val_accuracy:.4f}')

print(f'\n各 fold の val_accuracy: {np.round(fold_accuracy, 4)}')
print(f'平均 val_accuracy: {np.mean(fold_accuracy):.4f} ± {np.std(fold_accuracy):.4f}（標準偏差）')

# %% [markdown]
# ## 4. 学習曲線（Epoch ごとの Train と Validation の loss / accuracy）
#
# 細い線が各 fold、太い線が 5 fold の平均です（実線 = Train、破線 = Validation）。
# Train の loss が下がり続けるのに Validation の loss が途中から上がり始めたら、過学習（overfitting）のサインです。

# %%
fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(13, 4.5))
for key, ax, name in [('loss', ax_loss, 'Loss'), ('accuracy', ax_acc, 'Accuracy')]:
    for h in histories:
        epochs = np.arange(1, len(h.history[key]) + 1)
        ax.plot(epochs, h.history[key], color='C0', alpha=0.25, linewidth=1)
        ax.plot(epochs, h.history['val_' + key], color='C1', alpha=0.25, linewidth=1, linestyle='--')
    mean_train = np.mean([h.history[key] for h in histories], axis=0)
    mean_val = np.mean([h.history['val_' + key] for h in histories], axis=0)
    epochs = np.arange(1, len(mean_train) + 1)
    ax.plot(epochs, mean_train, color='C0', linewidth=2.5, label='Train（5 fold の平均）')
    ax.plot(epochs, mean_val, color='C1', linewidth=2.5, linestyle='--', label='Validation（5 fold の平均）')
    ax.set_title(name)
    ax.set_xlabel('Epoch')
    ax.set_ylabel(name)
    ax.legend()
fig.tight_layout()
plt.show()

# %% [markdown]
# ## 5. 最終モデルの学習とテストデータでの評価
#
# 交差検証で性能を確かめたら、訓練データ全体で最終モデルを学習し、ここで初めてテストデータで評価します。

# %%
final_model = build_cifar_model()
final_model.fit(cx_train, cy_train, epochs=10, batch_size=64)

test_loss, test_accuracy = final_model.evaluate(cx_test, cy_test, verbose=2)
print(f'test_loss: {test_loss:.4f}')
print(f'test_accuracy: {test_accuracy:.4f}')

# %% [markdown]
# ## 6. 誤分類の分析
#
# ### 混同行列（confusion matrix）
#
# 行が正解クラス、列が予測クラスの 10×10 の表です。対角成分が正しく分類された枚数、
# 対角以外が「正解 i を j と間違えた」枚数です。

# %%
predicted_result_c = final_model.predict(cx_test)
predicted_c = np.argmax(predicted_result_c, axis=1)

cm = confusion_matrix(cy_test, predicted_c, labels=list(range(10)))
fig, ax = plt.subplots(figsize=(8, 7))
ConfusionMatrixDisplay(cm, display_labels=class_names).plot(ax=ax, cmap='Blues', xticks_rotation=45, colorbar=False)
ax.set_title('Confusion matrix (CIFAR-10 test)')
plt.show()

# 間違いの多い（正解, 予測）の組
pairs = [(cm[i, j], class_names[i], class_names[j]) for i in range(10) for j in range(10) if i != j]
for count, true_name, pred_name in sorted(pairs, reverse=True)[:5]:
    print(f'{true_name:>10} → {pred_name:<10}: {count} 枚')

# クラスごとの正解率
for i, name in enumerate(class_names):
    print(f'{name:>10}: {cm[i, i] / cm[i].sum():.3f}')

# %% [markdown]
# ### 誤分類された画像
#
# 章の実習②と同じように誤分類された画像を集め、タイトルに予測と正解のクラス名を付けて表示します。

# %%
wrong_c = np.where(predicted_c != cy_test)[0]
print(f'誤分類数: {len(wrong_c)} / {len(cy_test)}')

samples_c = random.sample(list(wrong_c), k=min(10, len(wrong_c)))
plt.figure(figsize=(13, 6))
for k, n in enumerate(samples_c):
    plt.subplot(2, 5, k + 1)
    plt.imshow(cx_test[n])
    plt.title(f'予測: {class_names[predicted_c[n]]}\n正解: {class_names[cy_test[n]]}', color='red', fontsize=9)
    plt.axis('off')
plt.tight_layout()
plt.show()

# %% [markdown]
# ## 7. 考察
#
# **交差検証の結果**：このモデルと設定（5-fold、各 fold 40,000 枚で学習・10,000 枚で検証、10 epochs、batch_size 64）では、
# 検証 accuracy はおよそ 0.65〜0.68 で、fold 間のばらつき（標準偏差）は 0.01 程度です。データの分け方による偶然のぶれは小さく、
# このモデルの実力は 66% 前後と見てよさそうです。最終モデルのテスト精度も交差検証の平均とほぼ同じになります。
#
# **学習曲線**：Train の loss は 10 epoch まで下がり続けますが、Validation の loss は 6〜8 epoch あたりで下げ止まり、
# その後は少し上がります。accuracy も Validation だけが頭打ちになって Train との差が広がるので、後半は過学習が始まっています。
#
# **誤分類の分析**：混同行列では cat ↔ dog、truck → automobile、airplane → ship、deer → bird の取り違えが目立ちます。
# 32×32 ピクセルでは猫と犬の顔や耳の形の違いがほとんど残らず、毛の色や室内の背景も似ているためと考えられます。
# airplane と ship は、空と海がどちらも一様な青や灰色の背景になるため、形より背景の色で判断していると考えられます。
# 実際、誤分類された画像には背景の色に引っ張られた例（青い背景の動物を bird や airplane と予測するなど）が多く見られます。
#
# **改善のアイデア**：Validation の loss を見て学習を止める EarlyStopping、第 4 章で学ぶ Data Augmentation
# （左右反転・平行移動）、Dropout、Batch Normalization で過学習を抑えること、Convolution 層を増やしてより細かい形の特徴を
# 学習させることを試したいです。
