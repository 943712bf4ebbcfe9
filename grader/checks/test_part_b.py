"""Part B, the MNIST CNN (実習②)."""

import numpy as np

import re

from grader.artifacts import FigureArtifact, HistoryArtifact
from grader.checks.recorded_fits import check_fits, well_formed
from grader.checks.support import (as_array, built_model, call_outcomes, calls_with_outcomes, check, fail,
                                   flagged, returned, shape_text)
from grader.checks.test_part_a import check_accuracy, check_compile, check_scaled_images
from grader.probes import fixed_model_predictions
from grader.results import TAMPERING, UNVERIFIED, Text
from grader.training import same_history

CHAPTER_SHAPES = [(26, 26, 16), (13, 13, 16), (11, 11, 32), (5, 5, 32), (800,), (32,), (10,)]
# What choose_loss must answer for each call of its probe, in order (see grader/probes.py).
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
        check(got == expected, Text(f"{case} → '{expected}'", f"{case} -> '{expected}'"), f"{got!r}",
              Text("章の損失関数の表: One-hot → categorical、整数ラベル → sparse_categorical、0/1 の二値 → binary。",
                   "The chapter's table: one-hot -> categorical, integer labels -> sparse_categorical, 0/1 binary -> binary."))


def recorded_fits(ctx, probe_id: str, outcome: dict, x, y) -> list:
    """The fits a probe call recorded, replayed by the grader (see recorded_fits.py). A record the
    replay contradicts is flagged for the instructor and fails the check."""
    records = outcome.get("fit_calls")
    final = outcome.get("final_weights")
    if not isinstance(records, list) or not all(well_formed(r) for r in records) or not isinstance(final, dict):
        flagged(ctx, TAMPERING, f"{probe_id}: malformed fit records")
    probe = ctx.plan.probe(probe_id)
    initial = [ctx.input(name) for name in probe["model"]["init"]]
    key = (probe_id, id(outcome))
    if key not in ctx.memo:  # three cross-validation checks read the same replays
        ctx.memo[key] = check_fits(probe["model"], initial, x, y, records, final)
    fits = ctx.memo[key]
    contradicted = [i for i, fit in enumerate(fits, start=1) if fit.contradicted]
    if contradicted:
        flagged(ctx, UNVERIFIED, f"{probe_id}: the grader's replay of fit(s) {contradicted} does not give the "
                                 f"weights the worker reported")
    return fits


def test_train_model(ctx):
    probe = ctx.plan.probe("train_model")
    for outcome, call in zip(call_outcomes(ctx, "train_model", "train_model"), probe["calls"]):
        wanted = call["kwargs"]
        described = ", ".join(f"{k}={v}" for k, v in wanted.items())
        if "raised" in outcome:
            returned(outcome, "train_model", described)
        fits = recorded_fits(ctx, "train_model", outcome, ctx.input(call["x"]), ctx.input(call["y"]))
        check(len(fits) == 1, Text("model.fit を 1 回呼ぶこと", "one call of model.fit"),
              f"{len(fits)} calls for train_model({described})",
              Text("train_model の中で model.fit(x, y, ...) を呼び、その戻り値を返してください。",
                   "Call model.fit(x, y, ...) inside train_model and return what it returns."))
        fit = fits[0]
        record = fit.record
        passed = (record["epochs"], record["batch_size"], record["validation_split"])
        check(passed == (wanted["epochs"], wanted["batch_size"], wanted["validation_split"]),
              Text(f"fit({described})（引数をそのまま渡す）", f"fit({described}) (the arguments passed through)"),
              f"fit(epochs={passed[0]}, batch_size={passed[1]}, validation_split={passed[2]})",
              Text("引数の値を固定せず、train_model の引数を fit にそのまま渡してください。",
                   "Do not hard-code the values; pass train_model's arguments on to fit."))
        check(fit.verified, Text("渡された x, y と model でそのまま学習すること", "training on the x, y and model it was given"),
              fit.problem or "the training could not be reproduced",
              Text("model.fit(x, y, ...) に引数の x と y をそのまま渡してください。",
                   "Pass the x and y it was given to model.fit unchanged."))
        history = outcome.get("returned")
        check(isinstance(history, HistoryArtifact) and same_history(fit.replay.history, history.history)
              and len(history.history.get("loss", [])) == wanted["epochs"] and "val_loss" in history.history,
              Text(f"fit が返した History（{wanted['epochs']} エポック分の loss と val_loss）",
                   f"the History fit returned ({wanted['epochs']} epochs of loss and val_loss)"),
              f"returned {outcome.get('returned_type')}",
              Text("history = model.fit(...) として history を返してください。", "Return the result of model.fit(...)."))


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


def title_labels(title: str, index: int) -> list[int]:
    """The integers a title shows, without the image's own index (titles may name it)."""
    numbers = [int(n) for n in re.findall(r"\d+", title)]
    if len(numbers) > 2 and index in numbers:
        numbers.remove(index)
    return sorted(numbers)


def shows_image(values: list, image) -> bool:
    """Whether an axes shows this image (as given, or scaled, e.g. /255)."""
    shown = np.asarray(values, dtype=float).reshape(-1)
    expected = np.asarray(image, dtype=float).reshape(-1)
    if shown.shape != expected.shape:
        return False
    if np.allclose(shown, expected, atol=1e-6):
        return True
    return bool(np.std(expected) > 0 and abs(np.corrcoef(shown, expected)[0, 1] - 1) < 1e-6)


def test_plot_misclassified(ctx):
    for outcome, (images, predicted, actual, indices), kwargs in calls_with_outcomes(ctx, "plot_misclassified",
                                                                                    "plot_misclassified"):
        limit = kwargs["max_images"]
        figure = returned(outcome, "plot_misclassified", f"images, predicted, actual, indices, max_images={limit}")
        check(isinstance(figure, FigureArtifact), Text("matplotlib の Figure を返すこと", "a matplotlib Figure"),
              f"returned {type(figure).__name__}", Text("fig, axes = plt.subplots(...) の fig を返してください。",
                                                        "Return the fig of fig, axes = plt.subplots(...)."))
        shown = [int(i) for i in indices[:limit]]
        image_axes = [ax for ax in figure.axes if ax.get("images")]
        check(len(image_axes) == len(shown),
              Text(f"max_images={limit}、indices {len(indices)} 個 → 画像 {len(shown)} 枚（1 枚に 1 つの axes）",
                   f"max_images={limit} with {len(indices)} indices -> {len(shown)} images, one per axes"),
              f"{len(image_axes)} axes with an image",
              Text("indices の先頭 max_images 個だけを imshow で表示してください。",
                   "Show only the first max_images of indices, each with imshow."))
        for ax, index in zip(image_axes, shown):
            values = (ax.get("image_values") or [[]])[0]
            check(shows_image(values, images[index]),
                  Text(f"indices の順に画像 {index} を表示すること", f"image {index} shown in the order of indices"),
                  "an axes shows another image", Text("images[i] を i in indices[:max_images] の順に表示してください。",
                                                      "Show images[i] for i in indices[:max_images], in that order."))
            title = str(ax.get("title", ""))
            wanted = sorted([int(predicted[index]), int(actual[index])])
            if title_labels(title, index) != wanted:
                fail(Text(f"画像 {index} のタイトルに予測 {predicted[index]} と実際 {actual[index]}（他のラベルは書かない）",
                          f"the title of image {index} to show predicted {predicted[index]} and actual {actual[index]} "
                          "(and no other label)"),
                     f"title {title!r}",
                     Text("plt.title(f'予測: {p}, 実際: {a}') のように、その画像の 2 つのラベルを書いてください。",
                          "Write that image's two labels, e.g. ax.set_title(f'pred: {p}, true: {a}')."))


def test_cnn_accuracy(ctx):
    check_accuracy(ctx, "cnn")
