# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 深層学習③ CNN I 課題ノートブック
#
# 第3章「深層学習：CNN Ⅰ」の実習と課題をまとめたノートブックです。
# 章の流れに沿って、次の3つのパートを順番に進めます。
#
# | パート | 内容 | データセット |
# |---|---|---|
# | Part A（実習①） | Dense 層だけの Simple Neural Network | MNIST |
# | Part B（実習②） | Conv2D + MaxPooling の CNN モデル | MNIST |
# | Part C（課題） | CNN による 10 クラス分類と 5-fold 交差検証 | CIFAR-10 |
#
# ## 📚 学習目標
#
# - Keras の Sequential API を使ってモデルを構築できる
# - 画像データの正規化と reshape（Conv2D には 4 次元の入力が必要）ができる
# - ラベルの形式に合った損失関数を選べる
# - 各層のパラメータ数を自分で計算できる
# - 交差検証と学習曲線でモデルの性能を評価し、誤分類を分析できる
#
# ## 🛠️ 進め方
#
# - **関数のセル**：`raise NotImplementedError(...)` の行を消して、docstring に書かれた仕様どおりに実装してください。
#   関数名・引数名・戻り値の形は自動採点で使うので **変更しないでください**。
# - **デモのセル**：章と同じ手順で関数を呼び出し、学習・評価・グラフ表示を行います。
#   まだ実装していない関数を呼ぶと `NotImplementedError` が出ますが、それで正常です。
# - **📝 回答セル**（3つ）：教員が読んで採点します。見出しの行（末尾に HTML コメントの目印が付いた行）は
#   そのまま残し、「ここに回答を書いてください」の行を自分の回答に置き換えてください。
# - Google Colab でも動きます。Part C は学習に時間がかかるので、Colab では
#   「ランタイム」→「ランタイムのタイプを変更」で GPU を選ぶと速くなります。
#
# ## ✅ 採点について
#
# - 自動採点は、このノートブックの関数を **小さなデータと短い学習（固定の予算）** で呼び出してチェックします。
#   ノートブックに残っている学習結果（精度など）そのものは採点されません。
# - 各関数のセルの後の `check("関数名")` で、その関数の公開チェックの結果をすぐに確認できます（下の「自動チェッカー」）。

# %% [markdown]
# ## 🔍 自動チェッカー（公開チェック）
#
# 講師から配布された `cnn1_check-*.whl` を、このノートブックと同じフォルダに置いてから（Google Colab では左の
# 「ファイル」にアップロードしてから）次のセルを実行してください。各関数のセルの後にある `check("関数名")` で、
# その関数の公開チェックを実行できます（`check()` ですべて、`check(lang="en")` で英語）。
# 結果は提出前の確認用で、成績ではありません。提出後の採点には非公開のチェックもあります。
#
# The checker: put the `cnn1_check-*.whl` file from your instructor next to this notebook (on Colab, upload it in
# the Files pane) and run the next cell. `check("function")` after a function's cell runs its visible checks;
# `check()` runs all of them. The result is advice, not your grade: grading also has hidden checks.

# %%
# 自動チェッカーを読み込む（同じフォルダに cnn1_check-*.whl があれば、その最新版をインストール）
import glob
import importlib
import os
import subprocess
import sys

wheels = sorted(glob.glob("cnn1_check-*.whl") + glob.glob("/content/cnn1_check-*.whl"), key=os.path.getmtime)
if wheels:  # the newest wheel handed out, installed over an older one
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--force-reinstall", wheels[-1]],
                   check=True)
    importlib.invalidate_caches()
try:
    from cnn1_check import check
except ImportError:
    def check(*args, **kwargs):
        print("チェッカーが見つかりません。cnn1_check-*.whl をこのノートブックと同じフォルダに置き、上のセルを実行し直してください。\n"
              "The checker is not installed: put cnn1_check-*.whl next to this notebook and run the cell above again.")

# %%
import numpy as np
import matplotlib.pyplot as plt
from matplotlib.ticker import MaxNLocator
import tensorflow as tf
from tensorflow import keras
from tensorflow.keras import layers
from tensorflow.keras.datasets import mnist
from sklearn.model_selection import KFold, StratifiedKFold
from sklearn.metrics import confusion_matrix, ConfusionMatrixDisplay

# 再現性のために乱数シードを固定します
keras.utils.set_random_seed(0)

print('TensorFlow:', tf.__version__)
print('Keras:', keras.__version__)

# %% [markdown]
# ---
# # Part A：実習① Simple Neural Network（Dense 層のみ）
#
# まずは Convolution を使わず、全結合層（Dense）だけで MNIST の手書き数字を分類します。
#
# ## データセットの読み込み
#
# MNIST は 28×28 ピクセルのグレースケール画像で、訓練データ 60,000 枚、テストデータ 10,000 枚です。
# 画素値は 0〜255 の整数（`uint8`）、ラベルは 0〜9 の整数です。

# %%
# データセットの読み込み
(train_images, train_labels), (test_images, test_labels) = mnist.load_data()

print('train_images:', train_images.shape, train_images.dtype)
print('train_labels:', train_labels.shape, train_labels.dtype)
print('test_images :', test_images.shape, test_images.dtype)
print('test_labels :', test_labels.shape, test_labels.dtype)

# %% [markdown]
# ## A-1 データの正規化 `preprocess_dense`
#
# Dense 層は 1 次元のベクトルを入力に取るので、28×28 の画像を 784 次元に平らにします。
# さらに画素値を 255 で割って 0〜1 の範囲に正規化します。
#
# ```python
# train_images = train_images.reshape((60000, 784)).astype('float32') / 255
# ```
#
# 💡 章のコードでは枚数 60000 を直接書いていますが、関数では `len(images)` を使えば
# 何枚の画像にも使えます。**元の配列を書き換えない**（新しい配列を返す）ようにしてください。

# %%
def preprocess_dense(images):
    """MNIST 画像を Dense 層用に平らにして正規化する。

    入力 images: 形状 (N, 28, 28) の整数配列（uint8 など、値は 0〜255）。
    戻り値: 形状 (N, 784) の浮動小数点配列。値は 画素値 / 255（0〜1 の範囲）。
    入力配列は変更しない。

    Flatten MNIST images for Dense layers and scale them.
    images: integer array of shape (N, 28, 28) with values 0..255 (e.g. uint8).
    Returns a floating array of shape (N, 784) equal to pixels / 255 (range [0, 1]).
    The input array is not modified.
    """
    raise NotImplementedError("images を (N, 784) に reshape し、astype('float32') / 255 で 0〜1 に正規化してください。")


# %%
check("preprocess_dense")


# %% [markdown]
# ## A-2 One-hot encoding `to_one_hot`
#
# 実習①では損失関数に `categorical_crossentropy` を使うので、ラベルを One-hot 形式に変換します。
#
# ```
# ラベル「3」 → [0, 0, 0, 1, 0, 0, 0, 0, 0, 0]
# ```
#
# そのクラスに対応する位置だけが 1、その他は 0 です。章と同じく `keras.utils.to_categorical` を使っても、
# NumPy で自分で作っても構いません。

# %%
def to_one_hot(labels, num_classes=10):
    """整数ラベルを One-hot 行列に変換する。

    入力 labels: 形状 (N,) の整数ラベル（0 〜 num_classes-1）。
    num_classes: クラス数（既定値 10）。
    戻り値: 形状 (N, num_classes) の配列。各行はラベルの位置だけ 1、その他は 0。
    入力配列は変更しない。

    Convert integer labels to a one-hot matrix.
    labels: integer labels of shape (N,) with values 0..num_classes-1.
    Returns an array of shape (N, num_classes): 1 at the label's position, 0 elsewhere.
    The input array is not modified.
    """
    raise NotImplementedError("keras.utils.to_categorical(labels, num_classes=num_classes) などで One-hot 行列を返してください。")


# %%
check("to_one_hot")

# %%
# 正規化と One-hot encoding
x_train_dense = preprocess_dense(train_images)
x_test_dense = preprocess_dense(test_images)
y_train_onehot = to_one_hot(train_labels)
y_test_onehot = to_one_hot(test_labels)

print('x_train_dense:', x_train_dense.shape, x_train_dense.dtype,
      'min =', x_train_dense.min(), 'max =', x_train_dense.max())
print('ラベル', train_labels[0], '→', y_train_onehot[0])

# %% [markdown]
# ## A-3 モデルの定義 `build_dense_model`
#
# 章と同じ 3 層の Sequential Model を作り、コンパイルまで行って返します。
#
# | 層 | 出力 | パラメータ数の計算 |
# |---|---|---|
# | Dense(128, relu)（入力 784） | 128 | 784×128 + 128 = 100,480 |
# | Dense(64, relu) | 64 | 128×64 + 64 = 8,256 |
# | Dense(10, softmax) | 10 | 64×10 + 10 = 650 |
# | **合計** | | **109,386** |
#
# コンパイルは `optimizer='adam'`、`loss='categorical_crossentropy'`（One-hot ラベル用）、
# `metrics=['accuracy']` です。
#
# 💡 入力の形は `keras.Input(shape=(784,))` を最初に置いても、章のように最初の層に
# `input_shape=(784,)` を渡しても構いません。

# %%
def build_dense_model():
    """実習①の Dense モデルを作ってコンパイルする。

    構成: 入力 784 → Dense(128, relu) → Dense(64, relu) → Dense(10, softmax)。
    コンパイル: optimizer='adam', loss='categorical_crossentropy', metrics=['accuracy']。
    戻り値: コンパイル済みの keras.Sequential（パラメータ数 109,386）。

    Build and compile the Dense model of exercise 1.
    Layers: 784 inputs -> Dense(128, relu) -> Dense(64, relu) -> Dense(10, softmax).
    Compiled with optimizer='adam', loss='categorical_crossentropy', metrics=['accuracy'].
    Returns the compiled keras.Sequential model (109,386 parameters).
    """
    raise NotImplementedError("Sequential で Dense(128, relu)・Dense(64, relu)・Dense(10, softmax) を積み、adam・categorical_crossentropy・accuracy で compile してください（パラメータ数 109,386）。")


# %%
check("build_dense_model")


# %% [markdown]
# ## A-4 学習 `train_model`
#
# `model.fit` を呼び出して学習し、戻り値の `History` オブジェクトをそのまま返す小さな関数です。
# Part B と Part C でも使います。引数 `epochs`・`batch_size`・`validation_split` は、
# そのまま `fit` に渡してください。
#
# 💡 `History.history` には epoch ごとの `loss`・`accuracy`（`validation_split` を指定した場合は
# `val_loss`・`val_accuracy` も）が記録されます。学習曲線を描くときに使います。

# %%
def train_model(model, x, y, epochs=5, batch_size=32, validation_split=0.0):
    """model.fit で学習し、History を返す。

    model: コンパイル済みの Keras モデル。x, y: 学習データとラベル。
    epochs, batch_size, validation_split: そのまま model.fit に渡す。
    戻り値: model.fit が返す keras.callbacks.History。

    Train the model with model.fit and return its History.
    epochs, batch_size and validation_split are passed to model.fit unchanged.
    Returns the keras.callbacks.History returned by model.fit.
    """
    raise NotImplementedError("model.fit(x, y, epochs=..., batch_size=..., validation_split=...) の戻り値（History）を返してください。")


# %%
# Sequential Model の作成と構造の確認
dense_model = build_dense_model()
dense_model.summary()

# %%
# モデルの学習（章と同じ設定）
history_dense = train_model(dense_model, x_train_dense, y_train_onehot,
                            epochs=5, batch_size=128, validation_split=0.2)

# モデルの評価
test_loss, test_acc = dense_model.evaluate(x_test_dense, y_test_onehot, verbose=2)
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
# データの読み込み
(x_train, y_train), (x_test, y_test) = mnist.load_data()

print(f'訓練データ数: {len(x_train)}')
print(f'テストデータ数: {len(x_test)}')
print(f'画像のshape: {x_train[0].shape}')

# データの確認
plt.imshow(x_train[0], cmap=plt.cm.binary)
plt.title(f'Label: {y_train[0]}')
plt.show()

# %% [markdown]
# ## B-1 4 次元への変換 `preprocess_cnn`
#
# 画像データの配列の次元は次のように考えます。
#
# | 次元 | 内容 |
# |---|---|
# | 2 次元 | Height × Width（グレースケール画像 1 枚） |
# | 3 次元 | Height × Width × チャンネル（RGB 画像 1 枚） |
# | 4 次元 | Batch × Height × Width × チャンネル（複数の画像） |
#
# ⚠️ **重要**：Conv2D レイヤーを使用する場合、入力データは 4 次元である必要があります。
# MNIST はグレースケールなので、チャンネル数 1 の軸を追加して `(N, 28, 28)` → `(N, 28, 28, 1)` にします。
# 正規化（0〜1 の範囲）も一緒に行います。
#
# ```python
# x_train_norm = x_train / 255.0
# x_train_reshaped = x_train_norm.reshape(-1, 28, 28, 1)
# ```

# %%
def preprocess_cnn(images):
    """MNIST 画像を Conv2D 用の 4 次元配列にして正規化する。

    入力 images: 形状 (N, 28, 28) の整数配列（値は 0〜255）。
    戻り値: 形状 (N, 28, 28, 1) の浮動小数点配列。値は 画素値 / 255（0〜1 の範囲）。
    入力配列は変更しない。

    Turn MNIST images into the 4D input that Conv2D needs, scaled to [0, 1].
    images: integer array of shape (N, 28, 28) with values 0..255.
    Returns a floating array of shape (N, 28, 28, 1) equal to pixels / 255.
    The input array is not modified.
    """
    raise NotImplementedError("255 で割って 0〜1 に正規化し、reshape(-1, 28, 28, 1) で 4 次元にしてください。")


# %%
check("preprocess_cnn")

# %%
x_train_reshaped = preprocess_cnn(x_train)
x_test_reshaped = preprocess_cnn(x_test)

print('Before Reshape - x_train shape:', x_train.shape)
print('Before Reshape - x_test shape:', x_test.shape)
print('After Reshape - x_train_reshaped shape:', x_train_reshaped.shape)
print('After Reshape - x_test_reshaped shape:', x_test_reshaped.shape)

# %% [markdown]
# ## B-2 CNN モデルの設計 `build_cnn_model`
#
# 章と **まったく同じ構成** の CNN を作り、コンパイルして返します。
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
# Conv2D の第 2 層では、入力チャンネル数が前の層のフィルタ数 16 になることに注意してください。
#
# コンパイルは `optimizer='adam'`、`loss='sparse_categorical_crossentropy'`（整数ラベル用）、
# `metrics=['accuracy']` です。`MaxPool2D` は `MaxPooling2D` の別名なので、どちらを使っても構いません。

# %%
def build_cnn_model():
    """実習②の CNN モデルを章のとおりに作ってコンパイルする。

    構成: 入力 (28, 28, 1) → Conv2D(16, (3,3), relu) → MaxPooling2D((2,2))
          → Conv2D(32, (3,3), relu) → MaxPooling2D((2,2)) → Flatten
          → Dense(32, relu) → Dense(10, softmax)。
    各層の出力形状: (26,26,16), (13,13,16), (11,11,32), (5,5,32), 800, 32, 10。
    コンパイル: optimizer='adam', loss='sparse_categorical_crossentropy', metrics=['accuracy']。
    戻り値: コンパイル済みの keras.Sequential（パラメータ数 30,762）。

    Build and compile the CNN of exercise 2 exactly as in the chapter (layers above,
    output shapes (26,26,16), (13,13,16), (11,11,32), (5,5,32), 800, 32, 10).
    Compiled with optimizer='adam', loss='sparse_categorical_crossentropy', metrics=['accuracy'].
    Returns the compiled keras.Sequential model (30,762 parameters).
    """
    raise NotImplementedError("章のとおり Conv2D(16)→MaxPooling→Conv2D(32)→MaxPooling→Flatten→Dense(32)→Dense(10) を作り、adam・sparse_categorical_crossentropy・accuracy で compile してください（パラメータ数 30,762）。")


# %%
check("build_cnn_model")

# %%
cnn_model = build_cnn_model()
print(f'モデルに追加されたLayer数: {len(cnn_model.layers)}')
cnn_model.summary()

# %% [markdown]
# ## B-3 損失関数の選択 `choose_loss`
#
# 💡 章の「損失関数の使い分け」の表をコードにします。
#
# | 損失関数 | 用途 | ラベル形式 |
# |---|---|---|
# | `categorical_crossentropy` | 多クラス分類 | One-hot encoding |
# | `sparse_categorical_crossentropy` | 多クラス分類 | 整数ラベル |
# | `binary_crossentropy` | 二値分類 | 0 or 1 |
#
# `choose_loss(labels, num_classes)` はラベルの配列を見て、次の規則で損失関数の名前を返します。
#
# 1. 形状 `(N, num_classes)` で、値が 0/1、各行にちょうど 1 つだけ 1 がある（One-hot）→ `"categorical_crossentropy"`
# 2. 形状 `(N,)` または `(N, 1)` の整数のクラス番号（0 〜 num_classes-1）
#    - `num_classes == 2`（値は 0 か 1）→ `"binary_crossentropy"`
#    - それ以外 → `"sparse_categorical_crossentropy"`
# 3. それ以外（One-hot になっていない行列、0.3 のような整数でない値、範囲外のクラス番号、
#    3 次元以上の配列、`num_classes < 2` など）→ 分かりやすいメッセージ付きの `ValueError`
#
# 💡 `3.0` のように値が整数の浮動小数点数はクラス番号として扱います。

# %%
def choose_loss(labels, num_classes):
    """ラベルの形式から損失関数の名前を選ぶ（章の損失関数の表）。

    - 形状 (N, num_classes) の One-hot（値は 0/1、各行に 1 がちょうど 1 つ）
      → "categorical_crossentropy"
    - 形状 (N,) または (N, 1) の整数のクラス番号（0〜num_classes-1）
      → num_classes == 2 なら "binary_crossentropy"、それ以外は "sparse_categorical_crossentropy"
    - それ以外 → ValueError（理由の分かるメッセージ付き）
    入力配列は変更しない。

    Choose the loss name from the label format (the chapter's loss table).
    - one-hot matrix of shape (N, num_classes) (0/1 values, exactly one 1 per row)
      -> "categorical_crossentropy"
    - integer class ids 0..num_classes-1 of shape (N,) or (N, 1)
      -> "binary_crossentropy" if num_classes == 2, else "sparse_categorical_crossentropy"
    - anything else -> ValueError with a clear message.
    Whole-valued floats (e.g. 3.0) count as class ids. The input array is not modified.
    """
    raise NotImplementedError("labels の形状と値を調べ、章の損失関数の表どおりに名前を返してください。どれにも当てはまらなければ ValueError です。")


# %%
check("choose_loss")

# %%
print('整数ラベル      :', choose_loss(y_train, 10))
print('One-hot ラベル  :', choose_loss(to_one_hot(y_train[:100]), 10))
print('0/1 の二値ラベル:', choose_loss(np.array([0, 1, 1, 0]), 2))

try:
    choose_loss(np.array([[0.2, 0.8], [0.6, 0.4]]), 2)
except ValueError as e:
    print('ValueError:', e)

# %% [markdown]
# ## B-4 学習と評価
#
# A-4 で作った `train_model` で CNN を学習します（章と同じく `epochs=5`、`batch_size` は既定値の 32）。
# ラベルは整数のままなので、損失関数は `sparse_categorical_crossentropy` です。

# %%
# 学習
history_cnn = train_model(cnn_model, x_train_reshaped, y_train, epochs=5)

# 評価
test_loss, test_accuracy = cnn_model.evaluate(x_test_reshaped, y_test, verbose=2)
print(f'test_loss: {test_loss:.4f}')
print(f'test_accuracy: {test_accuracy:.4f}')

# %% [markdown]
# ## B-5 予測結果の確認 `predict_labels`
#
# `model.predict()` は各クラスの確率（softmax の出力）を返します。確率が最大のクラスを
# `np.argmax(..., axis=1)` で取り出すと、予測ラベルになります。

# %%
def predict_labels(model, x):
    """モデルの予測ラベルを返す（predict の argmax）。

    model: 学習済みの Keras モデル。x: 入力データ（N 個）。
    戻り値: 形状 (N,) の整数配列。各行で確率が最大のクラス番号。

    Predicted labels of the model: the argmax of model.predict over the classes.
    Returns an integer array of shape (N,).
    """
    raise NotImplementedError("model.predict の結果（各クラスの確率）から、np.argmax で確率が最大のクラス番号を取り出してください（axis に注意）。")


# %%
check("predict_labels")

# %%
predicted_labels = predict_labels(cnn_model, x_test_reshaped)

# 最初のテストデータを確認
idx = 0
print('model.predict() 結果:', cnn_model.predict(x_test_reshaped[idx:idx + 1], verbose=0)[0])
print('予測ラベル:', predicted_labels[idx])
print('実際のラベル:', y_test[idx])

plt.imshow(x_test[idx], cmap=plt.cm.binary)
plt.title(f'pred: {predicted_labels[idx]}, true: {y_test[idx]}')
plt.show()

# %% [markdown]
# ## B-6 誤分類されたデータの分析 `find_misclassified` / `plot_misclassified`
#
# 章では for ループで予測ラベルと実際のラベルが異なるインデックスを集めました。
# `find_misclassified` ではこれを関数にします（NumPy の比較を使うと 1 行で書けます）。
# 戻り値は **昇順に並んだ整数のインデックス配列** です。
#
# `plot_misclassified` は、指定したインデックスのうち先頭の `max_images` 個の画像を 1 枚ずつ別の
# axes に表示し、各画像のタイトルに予測ラベルと実際のラベルを書いた matplotlib の `Figure` を返します。
#
# 💡 matplotlib は日本語フォントが入っていない環境が多いので、グラフのタイトルや軸ラベルは
# `'pred: 3, true: 5'` のように英語で書くと文字化けしません。

# %%
def find_misclassified(predicted, actual):
    """予測ラベルと実際のラベルが異なるインデックスを返す。

    predicted: 形状 (N,) の予測ラベル。actual: 形状 (N,)（または (N, 1)）の実際のラベル。
    戻り値: predicted[i] != actual[i] となる i を昇順に並べた整数配列。

    Indices where the prediction differs from the truth.
    predicted: labels of shape (N,); actual: labels of shape (N,) or (N, 1).
    Returns a sorted integer array of the i with predicted[i] != actual[i].
    """
    raise NotImplementedError("predicted != actual となるインデックスを昇順の整数配列で返してください（np.flatnonzero が便利です）。")


# %%
check("find_misclassified")


# %%
def plot_misclassified(images, predicted, actual, indices, max_images=5):
    """誤分類された画像を、予測ラベルと実際のラベル付きで表示する。

    images: 画像の配列（(N,28,28)、(N,28,28,1)、(N,32,32,3) など）。
    predicted, actual: 形状 (N,) の予測ラベルと実際のラベル（クラス名の配列でもよい）。
    indices: 表示する画像のインデックス。先頭の max_images 個だけを表示する。
    戻り値: matplotlib の Figure。画像 1 枚につき axes 1 つ、各タイトルに予測と実際のラベル
    （例 'pred: 3, true: 5'）。

    Show misclassified images titled with the predicted and actual label.
    Draws the first max_images of indices, one image per axes, each titled like
    'pred: 3, true: 5'. Returns the matplotlib Figure.
    """
    raise NotImplementedError("indices の先頭 max_images 個を 1 枚ずつ別の axes に表示し、タイトルに予測と実際のラベルを書いて Figure を返してください。")


# %%
wrong_predict_list = find_misclassified(predicted_labels, y_test)

print(f'誤分類数: {len(wrong_predict_list)} / {len(y_test)}')
print(f'精度: {(1 - len(wrong_predict_list) / len(y_test)) * 100:.2f}%')

# ランダムに 5 個選択して表示
rng = np.random.default_rng(0)
samples = rng.choice(wrong_predict_list, size=min(5, len(wrong_predict_list)), replace=False)
fig = plot_misclassified(x_test, predicted_labels, y_test, samples, max_images=5)
plt.show()

# %% [markdown]
# ---
# # Part C：課題 CIFAR-10 データセットの分類
#
# 🎯 **課題内容**：CIFAR-10 データセットを読み込んで、CNN モデルを使って 10 クラス分類の性能評価を行ってください。
#
# CIFAR-10 データセット（参考：https://www.tensorflow.org/datasets/catalog/cifar10 ）
#
# - 10 クラス（飛行機、自動車、鳥、猫、鹿、犬、カエル、馬、船、トラック）
# - 訓練データ 50,000 枚、テストデータ 10,000 枚
# - 32×32 ピクセルのカラー画像（RGB の 3 チャンネル）
#
# **要件**
#
# 1. データセットの読み込みと前処理（C-1, C-2）
# 2. CNN モデルの設計（Conv2D、MaxPooling、Dense を使用）（C-3）
# 3. 5-fold 交差検証による性能評価（C-4）
# 4. Epoch ごとの Train と Validation の loss/accuracy をグラフ化（C-5）
# 5. 誤分類された画像の分析（C-6, C-7）
#
# **期待される成果物**：モデルアーキテクチャの説明、学習曲線（loss/accuracy のグラフ）、
# 交差検証の結果、誤分類の分析と考察。説明と考察は 3 つの 📝 回答セルに書いてください。
#
# ⚠️ 5-fold × 10 epochs の学習は CPU だと時間がかかります。試行錯誤の間は `x_train_c[:5000]` のように
# 一部のデータで動作を確認し、最後に全データで実行するとよいでしょう。

# %% [markdown]
# ## C-1 データの読み込み `CLASS_NAMES` / `load_cifar10`
#
# `CLASS_NAMES` には 10 個のクラス名を **Keras のラベル番号の順**（0 = airplane, 1 = automobile, …）で入れます。
# 章のヒントの `class_names` と同じです。
#
# `load_cifar10()` は `keras.datasets.cifar10.load_data()` でデータを読み込み、
# `(x_train, y_train), (x_test, y_test)` をそのまま返します。
# CIFAR-10 のラベルは形状 `(N, 1)` であることに注意してください（MNIST は `(N,)`）。

# %%
# TODO: 10 個のクラス名を Keras のラベル番号の順（0 = airplane, 1 = automobile, ...）で書いてください。
# TODO: list the ten class names in Keras label order (0 = airplane, 1 = automobile, ...).
CLASS_NAMES: list[str] = []


# %%
def load_cifar10():
    """CIFAR-10 を keras.datasets.cifar10.load_data() で読み込む。

    戻り値: (x_train, y_train), (x_test, y_test)。
    x_train: (50000, 32, 32, 3) uint8、y_train: (50000, 1) uint8、
    x_test: (10000, 32, 32, 3) uint8、y_test: (10000, 1) uint8。

    Load CIFAR-10 with keras.datasets.cifar10.load_data() and return
    (x_train, y_train), (x_test, y_test) unchanged (uint8 images, labels of shape (N, 1)).
    """
    raise NotImplementedError("keras.datasets.cifar10.load_data() の結果 (x_train, y_train), (x_test, y_test) を返してください。")


# %%
check("load_cifar10")

# %%
(x_train_c_raw, y_train_c_raw), (x_test_c_raw, y_test_c_raw) = load_cifar10()

print('x_train:', x_train_c_raw.shape, x_train_c_raw.dtype)
print('y_train:', y_train_c_raw.shape, y_train_c_raw.dtype)
print('x_test :', x_test_c_raw.shape, x_test_c_raw.dtype)
print('y_test :', y_test_c_raw.shape, y_test_c_raw.dtype)

if len(CLASS_NAMES) != 10:
    raise NotImplementedError('CLASS_NAMES に 10 個のクラス名を書いてください')

# 最初の 10 枚を確認
fig, axes = plt.subplots(2, 5, figsize=(10, 4.5))
for i, ax in enumerate(axes.flat):
    ax.imshow(x_train_c_raw[i])
    ax.set_title(CLASS_NAMES[int(y_train_c_raw[i, 0])])
    ax.axis('off')
plt.show()

# %% [markdown]
# ## C-2 前処理 `preprocess_cifar`
#
# 画像は 255 で割って 0〜1 に正規化します。CIFAR-10 はもともと `(N, 32, 32, 3)` の 4 次元なので reshape は不要です。
# ラベルは `(N, 1)` → `(N,)` の 1 次元の整数配列にします（`(N,)` で渡されたときもそのまま使えるようにします）。

# %%
def preprocess_cifar(images, labels):
    """CIFAR-10 の画像とラベルを前処理する。

    images: 形状 (N, 32, 32, 3) の整数配列（値は 0〜255）。
    labels: 形状 (N, 1) または (N,) の整数ラベル。
    戻り値: (x, y)。x は形状 (N, 32, 32, 3) の浮動小数点配列（画素値 / 255、0〜1 の範囲）、
    y は形状 (N,) の整数配列。入力配列は変更しない。

    Preprocess CIFAR-10 images and labels.
    images: integer array (N, 32, 32, 3) with values 0..255; labels: integers of shape (N, 1) or (N,).
    Returns (x, y): x floating (N, 32, 32, 3) equal to pixels / 255, y integer of shape (N,).
    The input arrays are not modified.
    """
    raise NotImplementedError("画像は astype('float32') / 255、ラベルは reshape(-1) で (N,) の整数配列にして (x, y) を返してください。")


# %%
check("preprocess_cifar")

# %%
x_train_c, y_train_c = preprocess_cifar(x_train_c_raw, y_train_c_raw)
x_test_c, y_test_c = preprocess_cifar(x_test_c_raw, y_test_c_raw)

print('x_train_c:', x_train_c.shape, x_train_c.dtype, 'min =', x_train_c.min(), 'max =', x_train_c.max())
print('y_train_c:', y_train_c.shape, y_train_c.dtype)
print('クラスごとの枚数:', np.bincount(y_train_c))

# %% [markdown]
# ## C-3 CNN モデルの設計 `build_cifar_model`
#
# 要件は次のとおりです。
#
# - `Conv2D`、`MaxPooling2D`、`Dense` を使う（特徴抽出器 + 分類器）
# - 入力は `input_shape`（既定値 `(32, 32, 3)`）、出力層は `Dense(num_classes, activation='softmax')`
# - ラベルは整数なので、損失関数は `sparse_categorical_crossentropy`、`metrics=['accuracy']`
# - コンパイル済みのモデルを返す
#
# 💡 交差検証では 5 回、最終モデルでもう 1 回学習するので、最初は小さく速いモデルから始めましょう。
# 層の数・フィルタ数・`padding` などは自由に工夫して構いません（Dropout や Batch Normalization は第 4 章の内容です）。
# 自動採点は固定の予算（少ない枚数と epoch 数）で学習したときのテスト精度も見ます。

# %%
def build_cifar_model(input_shape=(32, 32, 3), num_classes=10):
    """CIFAR-10 用の CNN モデルを作ってコンパイルする。

    Conv2D・MaxPooling2D・Dense を使い、最後は Dense(num_classes, activation='softmax')。
    入力形状は input_shape。整数ラベルに合う損失（sparse_categorical_crossentropy）と
    metrics=['accuracy'] でコンパイル済みのモデルを返す。

    Build and compile a CNN for CIFAR-10: uses Conv2D, MaxPooling2D and Dense, takes inputs of
    shape input_shape and ends in Dense(num_classes, activation='softmax'). Compiled with a loss
    for integer labels (sparse_categorical_crossentropy) and metrics=['accuracy'].
    """
    raise NotImplementedError("Conv2D・MaxPooling2D・Dense を使い、最後を Dense(num_classes, activation='softmax') にして、sparse_categorical_crossentropy で compile したモデルを返してください。")


# %%
check("build_cifar_model")

# %%
cifar_model = build_cifar_model()
cifar_model.summary()

# %% [markdown]
# 次の 📝 回答セルに、作ったモデルのアーキテクチャを説明してください。
#
# - 各層の役割（特徴抽出器と分類器）と、出力形状・パラメータ数がどう決まるか（1 つ以上は計算式を書く）
# - その構成を選んだ理由（フィルタ数・層の数・パラメータ数と学習時間のバランスなど）

# %% [markdown]
# ### 📝 回答: モデルアーキテクチャの説明 <!-- answer:architecture_explanation -->
#
# （ここに回答を書いてください / Write your answer here）

# %% [markdown]
# ## C-4 5-fold 交差検証 `cross_validate`
#
# 💡 **交差検証（K-fold cross-validation）** では、訓練データを K 個（fold）に分け、
# 1 つを検証用、残りの K-1 個を学習用にしてモデルを学習・評価します。これを検証用の fold を
# 替えながら K 回繰り返し、K 個の検証結果の平均と標準偏差で性能を評価します。
# 1 回だけの分割より、データの分け方による偶然のぶれに強い評価になります。
#
# ```
# fold 1: [検証][学習][学習][学習][学習]
# fold 2: [学習][検証][学習][学習][学習]
#   ...
# fold 5: [学習][学習][学習][学習][検証]
# ```
#
# 実装のポイント
#
# - scikit-learn の `KFold` または `StratifiedKFold`（クラスの比率を fold 間でそろえる）を
#   `shuffle=True, random_state=seed` で使う
# - **fold ごとに `build_fn()` で新しいモデルを作る**（前の fold で学習した重みを使い回さない）
# - 学習は残りの fold、`validation_data` には検証用の fold を渡す（`verbose=0` にすると出力が短くなります）
# - **テストデータは交差検証に使わない**（最後の評価のために取っておく）
#
# 戻り値は次の辞書です。
#
# | キー | 内容 |
# |---|---|
# | `"histories"` | fold ごとの `History.history`（辞書）のリスト（長さ n_splits） |
# | `"val_accuracy"` | fold ごとの最後の epoch の検証 accuracy（float のリスト） |
# | `"val_loss"` | fold ごとの最後の epoch の検証 loss（float のリスト） |
# | `"mean_accuracy"` | `val_accuracy` の平均（float） |
# | `"std_accuracy"` | `val_accuracy` の標準偏差（float、`np.std`） |

# %%
def cross_validate(images, labels, build_fn=build_cifar_model, n_splits=5, epochs=10, batch_size=64, seed=0):
    """K-fold 交差検証でモデルを評価する。

    images, labels: 前処理済みの学習データとラベル（テストデータは渡さない）。
    build_fn: 引数なしで呼ぶとコンパイル済みの新しいモデルを返す関数。fold ごとに呼ぶ。
    n_splits 個の fold に分け（KFold / StratifiedKFold、shuffle=True, random_state=seed）、
    各 fold で新しいモデルを残りの fold で学習し、その fold を validation_data にする。
    戻り値: 辞書 {"histories": fold ごとの History.history のリスト,
                 "val_accuracy": fold ごとの最終 epoch の検証 accuracy（float のリスト）,
                 "val_loss": fold ごとの最終 epoch の検証 loss（float のリスト）,
                 "mean_accuracy": val_accuracy の平均, "std_accuracy": val_accuracy の標準偏差}。

    K-fold cross-validation. Split into n_splits folds (KFold or StratifiedKFold, shuffled with
    random_state=seed); for every fold build a fresh model with build_fn(), train it on the other
    folds for `epochs` epochs with `batch_size`, using the held-out fold as validation_data.
    Returns a dict with "histories" (one History.history dict per fold), "val_accuracy" and
    "val_loss" (final-epoch values per fold, lists of float), "mean_accuracy" and "std_accuracy"
    (mean and standard deviation of val_accuracy, float).
    """
    raise NotImplementedError("StratifiedKFold(または KFold)(n_splits, shuffle=True, random_state=seed) で分割し、fold ごとに build_fn() で新しいモデルを学習して結果の辞書を返してください。")


# %%
# 5-fold 交差検証（訓練データのみを使う）
cv_result = cross_validate(x_train_c, y_train_c, build_fn=build_cifar_model,
                           n_splits=5, epochs=10, batch_size=64, seed=0)

print('各 fold の val_accuracy:', np.round(cv_result['val_accuracy'], 4))
print(f"平均 val_accuracy: {cv_result['mean_accuracy']:.4f} ± {cv_result['std_accuracy']:.4f}")

# %% [markdown]
# ## C-5 学習曲線 `plot_learning_curves`
#
# Epoch ごとの Train と Validation の loss と accuracy をグラフにします。
#
# - 引数は `History.history` の辞書のリスト（`cv_result['histories']`）、または辞書 1 つ
# - axes を 2 つ作り、左に loss、右に accuracy を描く
# - 各 fold の train と validation の曲線（例：`'fold 1 train'`、`'fold 1 validation'`）、
#   または fold の平均の曲線を描く
# - 横軸のラベル `'Epoch'`、縦軸のラベル `'Loss'` / `'Accuracy'`、凡例（legend）を付ける
# - `Figure` を返す
#
# 💡 Train の loss は下がり続けるのに Validation の loss が途中から上がり始めたら、過学習（overfitting）のサインです。

# %%
def plot_learning_curves(histories):
    """Epoch ごとの Train / Validation の loss と accuracy のグラフを描く。

    histories: History.history の辞書のリスト（fold ごと）、または辞書 1 つ。
    戻り値: matplotlib の Figure。axes は 2 つ（loss と accuracy）。各 axes に train と validation の
    曲線（fold ごと、または fold の平均）、横軸ラベル 'Epoch'、縦軸ラベル 'Loss' / 'Accuracy'、凡例。

    Plot per-epoch training and validation loss and accuracy.
    histories: a list of History.history dicts (one per fold) or a single dict.
    Returns a matplotlib Figure with two axes (loss, accuracy), each with training and validation
    curves (per fold or the mean over folds), x label 'Epoch', y label 'Loss' / 'Accuracy', and a legend.
    """
    raise NotImplementedError("plt.subplots(1, 2) で loss と accuracy の axes を作り、train と validation の曲線・軸ラベル・凡例を描いて Figure を返してください。")


# %%
check("plot_learning_curves")

# %%
fig = plot_learning_curves(cv_result['histories'])
plt.show()

# %% [markdown]
# 次の 📝 回答セルに、交差検証の結果と学習曲線を考察してください。
#
# - 各 fold の検証 accuracy と、その平均 ± 標準偏差（fold 間のばらつきは大きいか）
# - 学習曲線から読み取れること（Train と Validation の差、過学習が始まる epoch、epoch 数は適切か）
# - 性能を上げるために次に試したいこと

# %% [markdown]
# ### 📝 回答: 交差検証の結果と学習曲線の考察 <!-- answer:cross_validation_discussion -->
#
# （ここに回答を書いてください / Write your answer here）

# %% [markdown]
# ## C-6 最終モデルの学習とテストデータでの評価
#
# 交差検証で性能を確かめたら、訓練データ全体で最終モデルを学習し、ここで初めてテストデータで評価します。
# C-3 で作った `cifar_model` を、交差検証と同じ設定（`epochs=10`、`batch_size=64`）で学習します。

# %%
history_cifar = train_model(cifar_model, x_train_c, y_train_c, epochs=10, batch_size=64)

test_loss, test_accuracy = cifar_model.evaluate(x_test_c, y_test_c, verbose=2)
print(f'test_loss: {test_loss:.4f}')
print(f'test_accuracy: {test_accuracy:.4f}')

# %% [markdown]
# ## C-7 混同行列と誤分類の分析 `confusion_matrix_of` / `most_confused_pairs`
#
# **混同行列（confusion matrix）** は、行が正解クラス、列が予測クラスの C×C の表です。
# 対角成分が正しく分類された枚数、対角以外が「正解 i を j と間違えた」枚数です。
#
# - `confusion_matrix_of(model, images, labels, num_classes=10)`：`predict_labels` で予測し、
#   scikit-learn の `confusion_matrix(..., labels=range(num_classes))` で整数の (C, C) 行列を返す
# - `most_confused_pairs(cm, k=3)`：対角以外の成分から、枚数の多い順に `(正解, 予測, 枚数)` の
#   タプルを k 個返す（同じ枚数なら (正解, 予測) の小さい順）

# %%
def confusion_matrix_of(model, images, labels, num_classes=10):
    """モデルの混同行列を求める。

    model: 学習済みモデル。images: 入力データ。labels: 形状 (N,)（または (N, 1)）の正解ラベル。
    戻り値: 形状 (num_classes, num_classes) の整数配列。行 = 正解クラス、列 = 予測クラス
    （sklearn.metrics.confusion_matrix(labels, 予測, labels=range(num_classes)) と同じ）。

    Confusion matrix of the model on (images, labels): an integer array of shape
    (num_classes, num_classes) with rows = true class and columns = predicted class, equal to
    sklearn.metrics.confusion_matrix(labels, predictions, labels=range(num_classes)).
    """
    raise NotImplementedError("predict_labels で予測し、confusion_matrix(正解, 予測, labels=range(num_classes)) を返してください。")


# %%
def most_confused_pairs(cm, k=3):
    """混同行列から、間違いの多い (正解, 予測) の組を多い順に k 個返す。

    cm: 形状 (C, C) の混同行列（行 = 正解クラス）。k: 返す個数。
    戻り値: (正解クラス, 予測クラス, 件数) の int のタプルのリスト。対角成分は除き、
    件数の多い順（同数なら (正解, 予測) の小さい順）に先頭の k 個。

    The k most confused (true, predicted, count) pairs of a confusion matrix (rows = true class):
    off-diagonal entries only, as tuples of int, largest count first, ties broken by
    (true, predicted) ascending.
    """
    raise NotImplementedError("対角以外の (正解, 予測, 件数) を件数の多い順（同数なら (正解, 予測) の小さい順）に並べ、先頭の k 個を返してください。")


# %%
cm = confusion_matrix_of(cifar_model, x_test_c, y_test_c)

fig, ax = plt.subplots(figsize=(8, 7))
ConfusionMatrixDisplay(cm, display_labels=CLASS_NAMES).plot(ax=ax, cmap='Blues', xticks_rotation=45, colorbar=False)
ax.set_title('Confusion matrix (CIFAR-10 test)')
plt.show()

print('間違いの多い組（正解 → 予測: 枚数）')
for true_class, predicted_class, count in most_confused_pairs(cm, k=5):
    print(f'  {CLASS_NAMES[true_class]:>10} → {CLASS_NAMES[predicted_class]:<10}: {count}')

# %%
# 誤分類された画像を表示（ラベルはクラス名にする）
predicted_c = predict_labels(cifar_model, x_test_c)
wrong_c = find_misclassified(predicted_c, y_test_c)
print(f'誤分類数: {len(wrong_c)} / {len(y_test_c)}')

names = np.array(CLASS_NAMES)
fig = plot_misclassified(x_test_c, names[predicted_c], names[y_test_c], wrong_c, max_images=10)
plt.show()

# %% [markdown]
# 次の 📝 回答セルに、誤分類の分析と考察を書いてください。
#
# - 混同行列で間違いの多いクラスの組（`most_confused_pairs` の結果）と、誤分類された画像の例
# - なぜ間違えたと考えられるか（形・色・背景・解像度など）
# - 精度の低いクラスを改善するアイデア

# %% [markdown]
# ### 📝 回答: 誤分類の分析と考察 <!-- answer:misclassification_analysis -->
#
# （ここに回答を書いてください / Write your answer here）

# %% [markdown]
# ---
# # 📚 まとめと提出前のチェック
#
# - Dense 層だけのモデルと CNN を Keras の Sequential API で作り、パラメータ数を計算しました
# - Conv2D には 4 次元の入力が必要で、正規化と reshape などの前処理が重要です
# - ラベルの形式（One-hot / 整数 / 0・1）に合わせて損失関数を選びました
# - CIFAR-10 では 5-fold 交差検証と学習曲線でモデルを評価し、混同行列で誤分類を分析しました
#
# **提出前に**
#
# 1. すべての関数から `raise NotImplementedError(...)` を消したか
# 2. 3 つの 📝 回答セルに回答を書いたか（見出しの行は消さない）
# 3. `check()` で公開されているチェックがすべて通るか
