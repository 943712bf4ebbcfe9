"""Part B, the MNIST CNN (実習②): the hidden checks."""

import re

import numpy as np

from grader.artifacts import FigureArtifact, HistoryArtifact
from grader.checks.hidden.recorded_fits import check_fits, well_formed
from grader.checks.hidden.test_part_a import check_accuracy
from grader.checks.support import call_outcomes, calls_with_outcomes, check, fail, flagged, returned
from grader.results import TAMPERING, UNVERIFIED, Text
from grader.training import same_history

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
