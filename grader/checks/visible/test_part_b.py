"""Part B, the MNIST CNN (実習②): the visible checks."""

import numpy as np

from ..support import as_array, built_model, call_outcomes, calls_with_outcomes, check, returned, shape_text
from .test_part_a import check_compile, check_scaled_images
from ...probe_inputs import fixed_model_predictions
from ...results import Text

CHAPTER_SHAPES = [(26, 26, 16), (13, 13, 16), (11, 11, 32), (5, 5, 32), (800,), (32,), (10,)]

CHOOSE_LOSS_TABLE = [
    ("one-hot", "categorical_crossentropy"),
    ("integer ids", "sparse_categorical_crossentropy"),
    ("integer ids as a column", "sparse_categorical_crossentropy"),
    ("0/1 labels, num_classes=2", "binary_crossentropy"),
    ("floats that are not one-hot", ValueError),
    ("3-D array", ValueError),
]

def test_preprocess_cnn(ctx):
    for outcome, (images,), _ in calls_with_outcomes(ctx, "preprocess_cnn", "preprocess_cnn"):
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
    for (outcome, (labels, classes), _), (kind, expected) in zip(calls_with_outcomes(ctx, "choose_loss", "choose_loss"),
                                                                  CHOOSE_LOSS_TABLE):
        case = f"{kind} {labels.shape}, num_classes={classes}"
        if expected is ValueError:
            check("ValueError" in outcome.get("mro", []),
                  Text(f"{case} → ValueError", f"{case} -> ValueError"),
                  f"returned {outcome.get('returned')!r}" if "returned" in outcome else f"raised {outcome.get('raised')}",
                  Text("表に当てはまらないラベルには raise ValueError('...') で分かりやすく知らせてください。",
                       "Labels that fit no row of the table should raise ValueError with a clear message."))
            continue
        got = returned(outcome, "choose_loss", case)
        check(isinstance(got, str) and got == expected, Text(f"{case} → '{expected}'", f"{case} -> '{expected}'"), f"{got!r}",
              Text("章の損失関数の表: One-hot → categorical、整数ラベル → sparse_categorical、0/1 の二値 → binary。",
                   "The chapter's table: one-hot -> categorical, integer labels -> sparse_categorical, 0/1 binary -> binary."))

def test_predict_labels(ctx):
    for outcome, (_, x), _ in calls_with_outcomes(ctx, "predict_labels", "predict_labels"):
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
    for outcome, (predicted, actual), _ in calls_with_outcomes(ctx, "find_misclassified", "find_misclassified"):
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
