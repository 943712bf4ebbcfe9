"""Part B, the MNIST CNN (実習②)."""

import numpy as np

from grader.artifacts import FigureArtifact, HistoryArtifact
from grader.checks.support import (as_array, built_model, call_outcomes, check, fail, returned, shape_text,
                                   value_of)
from grader.checks.test_part_a import check_accuracy, check_compile, check_scaled_images
from grader.probes import fixed_model_predictions
from grader.results import Text

CHAPTER_SHAPES = [(26, 26, 16), (13, 13, 16), (11, 11, 32), (5, 5, 32), (800,), (32,), (10,)]
CHOOSE_LOSS_TABLE = [
    ("one-hot (6, 10)", "categorical_crossentropy"),
    ("integer ids (6,)", "sparse_categorical_crossentropy"),
    ("integer ids (6, 1)", "sparse_categorical_crossentropy"),
    ("0/1 labels, num_classes=2", "binary_crossentropy"),
    ("floats that are not one-hot (6, 10)", ValueError),
    ("3-D array (2, 3, 4)", ValueError),
]


def test_preprocess_cnn(ctx):
    outcomes = call_outcomes(ctx, "preprocess_cnn", "preprocess_cnn")
    for outcome, name in zip(outcomes, ["cnn_images.npy", "cnn_image_one.npy"]):
        images = ctx.input(name)
        x = as_array(returned(outcome, "preprocess_cnn", f"images of shape {images.shape}"), "preprocess_cnn")
        check_scaled_images(x, images, (len(images), 28, 28, 1))


def test_cnn_architecture(ctx):
    outcome = call_outcomes(ctx, "build_cnn_model", "build_cnn_model")[0]
    model = built_model(returned(outcome, "build_cnn_model", ""), "build_cnn_model")
    check(tuple(model.input_shape) == (None, 28, 28, 1), Text("入力形状 (N, 28, 28, 1)", "input shape (N, 28, 28, 1)"),
          f"input shape {shape_text(model.input_shape)}",
          Text("Conv2D には 4 次元入力が必要です: input_shape=(28, 28, 1)。",
               "Conv2D needs 4D input: input_shape=(28, 28, 1)."))
    shapes = [tuple(layer.output.shape[1:]) for layer in model.layers]
    check(shapes == CHAPTER_SHAPES,
          Text("各層の出力形状 " + " → ".join(map(str, CHAPTER_SHAPES)), "layer output shapes " + " -> ".join(map(str, CHAPTER_SHAPES))),
          " -> ".join(map(str, shapes)),
          Text("Conv2D(16,(3,3)) → MaxPool(2,2) → Conv2D(32,(3,3)) → MaxPool(2,2) → Flatten → Dense(32) → Dense(10)。"
               "padding は 'valid'（既定）のままです。",
               "Conv2D(16,(3,3)) -> MaxPool(2,2) -> Conv2D(32,(3,3)) -> MaxPool(2,2) -> Flatten -> Dense(32) -> Dense(10), "
               "with the default padding 'valid'."))
    check(model.count_params() == 30_762, Text("パラメータ数 30,762", "30,762 parameters"),
          f"{model.count_params():,} parameters",
          Text("3×3×1×16+16=160, 3×3×16×32+32=4,640, 800×32+32=25,632, 32×10+10=330。",
               "3*3*1*16+16=160, 3*3*16*32+32=4,640, 800*32+32=25,632, 32*10+10=330."))


def test_cnn_compile(ctx):
    check_compile(ctx, "build_cnn_model", "build_cnn_model", "sparse_categorical_crossentropy", "integer")


def test_choose_loss(ctx):
    outcomes = call_outcomes(ctx, "choose_loss", "choose_loss")
    for outcome, (case, expected) in zip(outcomes, CHOOSE_LOSS_TABLE):
        if expected is ValueError:
            check("ValueError" in outcome.get("mro", []),
                  Text(f"{case} → ValueError", f"{case} -> ValueError"),
                  f"returned {outcome.get('returned')!r}" if "returned" in outcome else f"raised {outcome.get('raised')}",
                  Text("表に当てはまらないラベルには raise ValueError('...') で分かりやすく知らせてください。",
                       "Labels that fit no row of the table should raise ValueError with a clear message."))
            continue
        got = returned(outcome, "choose_loss", case)
        check(got == expected, Text(f"{case} → '{expected}'", f"{case} -> '{expected}'"), f"{got!r}",
              Text("章の損失関数の表: One-hot → categorical、整数ラベル → sparse_categorical、0/1 の二値 → binary。",
                   "The chapter's table: one-hot -> categorical, integer labels -> sparse_categorical, 0/1 binary -> binary."))


def test_train_model(ctx):
    value = value_of(ctx, "train_model", "train_model")
    calls = value.get("fit_calls") or []
    check(len(calls) == 1, Text("model.fit を 1 回呼ぶこと", "one call of model.fit"), f"{len(calls)} calls",
          Text("train_model の中で model.fit(x, y, ...) を呼び、その戻り値を返してください。",
               "Call model.fit(x, y, ...) inside train_model and return what it returns."))
    call = calls[0]
    passed = (call.get("epochs"), call.get("batch_size"), call.get("validation_split"))
    check(passed == (2, 16, 0.2),
          Text("fit(epochs=2, batch_size=16, validation_split=0.2)（引数をそのまま渡す）",
               "fit(epochs=2, batch_size=16, validation_split=0.2) (the arguments passed through)"),
          f"fit(epochs={passed[0]}, batch_size={passed[1]}, validation_split={passed[2]})",
          Text("引数の値を固定せず、train_model の引数を fit にそのまま渡してください。",
               "Do not hard-code the values; pass train_model's arguments on to fit."))
    history = value.get("returned")
    check(isinstance(history, HistoryArtifact) and len(history.history.get("loss", [])) == 2
          and "val_loss" in history.history,
          Text("History（history に 2 エポック分の loss と val_loss）", "a History (history with 2 epochs of loss and val_loss)"),
          f"returned {value.get('history_type')}",
          Text("history = model.fit(...) として history を返してください。", "Return the result of model.fit(...)."))


def test_predict_labels(ctx):
    outcomes = call_outcomes(ctx, "predict_labels", "predict_labels")
    for outcome, name in zip(outcomes, ["predict_x.npy", "predict_x_one.npy"]):
        x = ctx.input(name)
        labels = as_array(returned(outcome, "predict_labels", f"x of shape {x.shape}"), "predict_labels")
        expected = fixed_model_predictions(ctx.plan, "fixed_mnist", x)
        check(labels.shape == expected.shape and labels.dtype.kind in "iu",
              Text(f"形状 ({len(x)},) の整数ラベル", f"integer labels of shape ({len(x)},)"),
              f"shape {labels.shape}, dtype {labels.dtype}",
              Text("np.argmax(model.predict(x), axis=1) で確率からラベルにします。",
                   "np.argmax(model.predict(x), axis=1) turns probabilities into labels."))
        check(bool(np.array_equal(labels, expected)), Text("予測確率の argmax", "the argmax of the predicted probabilities"),
              f"{labels[:5].tolist()} for expected {expected[:5].tolist()}",
              Text("axis=1（クラスの軸）で argmax を取ってください。", "Take the argmax over axis=1 (the class axis)."))


def test_find_misclassified(ctx):
    outcomes = call_outcomes(ctx, "find_misclassified", "find_misclassified")
    cases = [("mis_predicted.npy", "mis_actual.npy"), ("mis_same.npy", "mis_same_actual.npy")]
    for outcome, (predicted_name, actual_name) in zip(outcomes, cases):
        predicted, actual = ctx.input(predicted_name), ctx.input(actual_name)
        expected = np.flatnonzero(predicted != actual)
        indices = as_array(returned(outcome, "find_misclassified", "predicted, actual"), "find_misclassified")
        check(indices.size == 0 or indices.dtype.kind in "iu", Text("整数のインデックス配列", "an integer index array"),
              f"dtype {indices.dtype}", Text("np.flatnonzero(predicted != actual) が使えます。",
                                             "np.flatnonzero(predicted != actual) does it."))
        check(bool(np.array_equal(indices.reshape(-1), expected)),
              Text(f"誤分類のインデックス {expected.tolist()}", f"the misclassified indices {expected.tolist()}"),
              f"{indices.reshape(-1).tolist()}",
              Text("予測ラベルと実際のラベルが異なる位置を昇順で返します（誤分類がなければ空）。",
                   "Return the positions where the labels differ, in ascending order (empty when none)."))


def test_plot_misclassified(ctx):
    outcome = call_outcomes(ctx, "plot_misclassified", "plot_misclassified")[0]
    figure = returned(outcome, "plot_misclassified", "images, predicted, actual, indices, max_images=3")
    check(isinstance(figure, FigureArtifact), Text("matplotlib の Figure を返すこと", "a matplotlib Figure"),
          f"returned {type(figure).__name__}", Text("fig, axes = plt.subplots(...) の fig を返してください。",
                                                    "Return the fig of fig, axes = plt.subplots(...)."))
    image_axes = [ax for ax in figure.axes if ax.get("images")]
    check(len(image_axes) == 3, Text("max_images=3 → 画像 3 枚（1 枚に 1 つの axes）", "max_images=3 -> 3 images, one per axes"),
          f"{len(image_axes)} axes with an image",
          Text("indices の先頭 max_images 個だけを imshow で表示してください。",
               "Show only the first max_images of indices, each with imshow."))
    predicted, actual = ctx.input("plot_predicted.npy"), ctx.input("plot_actual.npy")
    for ax, index in zip(image_axes, ctx.input("plot_indices.npy")[:3]):
        title = str(ax.get("title", ""))
        if str(predicted[index]) not in title or str(actual[index]) not in title:
            fail(Text(f"画像 {index} のタイトルに予測 {predicted[index]} と実際 {actual[index]}",
                      f"the title of image {index} to show predicted {predicted[index]} and actual {actual[index]}"),
                 f"title {title!r}",
                 Text("plt.title(f'予測: {p}, 実際: {a}') のように両方を書いてください。",
                      "Write both, e.g. ax.set_title(f'pred: {p}, true: {a}')."))


def test_cnn_accuracy(ctx):
    check_accuracy(ctx, "cnn_accuracy", "build_cnn_model", "mnist", (28, 28, 1), "cnn")
