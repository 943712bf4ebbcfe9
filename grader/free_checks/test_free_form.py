"""The free-form checks (assignment/rubric_free.toml): one test per rubric entry, judged from the
notebook's trace (evidence.py). Each names the model it judged, and why."""

from __future__ import annotations

import re

import numpy as np

from grader.checks.support import check, fail
from grader.compile_config import TrainingRefused, compile_settings
from grader.free_checks.evidence import Fit, Model, listing, loss_fits_labels, records_of, trace_of
from grader.results import Text
from grader.training import decided_accuracy, measured_accuracy

DENSE_ONLY = {"Dense", "Flatten", "Dropout", "Activation", "InputLayer", "Reshape", "Normalization"}
CHAPTER_CNN_PARAMETERS = 30_762
CIFAR_CLASS_NAMES = {"airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"}
SCALE_HINT = Text("画素値を 255 で割って 0〜1 にしてから学習します（x.astype('float32') / 255）。",
                  "Scale the pixels to [0,1] before training (x.astype('float32') / 255).")
REPEAT_HINT = Text("採点システムはノートブックの fit を自分で再実行して確かめます。numpy 配列で fit し、学習を変える"
                   "コールバック（LearningRateScheduler など）、class_weight、sample_weight は使わないでください。",
                   "The grader repeats each fit itself to confirm it: fit on numpy arrays, without callbacks that change "
                   "the training (LearningRateScheduler, ...), class_weight or sample_weight.")
LOSS_HINT = Text("章の表: One-hot ラベル（to_categorical）には categorical_crossentropy、整数ラベルには "
                 "sparse_categorical_crossentropy。",
                 "The chapter's table: one-hot labels (to_categorical) go with categorical_crossentropy, integer "
                 "labels with sparse_categorical_crossentropy.")


# ------------------------------------------------------------------ which models are which
def softmax_over_10(model: Model) -> bool:
    return model.output() == (10, "softmax")


def dense_mnist_models(models: list[Model]) -> list[Model]:
    """Dense-only models on 784 inputs, whatever their output (the training check judges any of them)."""
    return [m for m in models if m.keras_model is not None and "Dense" in m.kinds()
            and set(m.kinds()) <= DENSE_ONLY and int(np.prod(m.input_shape() or (0,))) == 784]


def dense_models(models: list[Model]) -> list[Model]:
    return [m for m in dense_mnist_models(models) if softmax_over_10(m)]


def mnist_cnns(models: list[Model]) -> list[Model]:
    return [m for m in models if m.keras_model is not None and m.input_shape() == (28, 28, 1) and "Conv2D" in m.kinds()]


def chapter_cnns(models: list[Model]) -> list[Model]:
    return [m for m in mnist_cnns(models) if "MaxPooling2D" in m.kinds() and softmax_over_10(m)
            and m.parameters() == CHAPTER_CNN_PARAMETERS]


def cifar_cnns(models: list[Model]) -> list[Model]:
    return [m for m in models if m.keras_model is not None and m.input_shape() == (32, 32, 3)
            and {"Conv2D", "MaxPooling2D", "Dense"} <= set(m.kinds()) and softmax_over_10(m)]


def judged(ctx, check_id: str, model: Model, why: str) -> None:
    """Say in the report which model the check judged, and why that one."""
    ctx.measured[check_id] = f"judged {model.describe()} ({why})"


# ------------------------------------------------------------------ Part A
def test_dense_model(ctx):
    trace = trace_of(ctx)
    found = dense_models(trace.models)
    check(bool(found), Text("Dense 層だけで、入力 784・出力が 10 クラスの softmax のモデル",
                            "a model of Dense layers only, with 784 inputs and a softmax output over 10 classes"),
          listing(trace.models),
          Text("章の実習①: Sequential([Dense(512, activation='relu', input_shape=(784,)), Dense(10, activation='softmax')])。",
               "The chapter's exercise 1: Sequential([Dense(512, activation='relu', input_shape=(784,)), "
               "Dense(10, activation='softmax')])."))
    judged(ctx, "dense_model", found[-1], "the last Dense-only MNIST model built")


def check_training(ctx, check_id: str, candidates: list[Model], what: Text) -> None:
    """A fit of one of `candidates` on MNIST training rows scaled to [0,1], with a loss that fits its labels."""
    trace = records_of(ctx)
    fits = trace.fits_of({m.serial for m in candidates})
    check(bool(fits), Text(f"{what.ja}を fit で学習すること", f"{what.en} trained with fit"),
          "no fit of such a model" if candidates else "no such model (" + listing(trace.models) + ")",
          Text("model.fit(x_train, y_train, epochs=..., batch_size=...) で学習してください。",
               "Train it with model.fit(x_train, y_train, epochs=..., batch_size=...)."))
    problems = []
    for fit in reversed(fits):
        model = trace.model(fit.model)
        if fit.unverified:
            problems.append(f"fit {fit.index + 1}: not established by the grader ({fit.unverified})")
        elif not fit.recognised() or fit.split != "mnist:train":
            problems.append(f"fit {fit.index + 1}: not on MNIST training images ({fit.split or 'rows not recognised'})")
        elif not fit.scaled_to_unit():
            problems.append(f"fit {fit.index + 1}: images scaled by {fit.scale[0]:.4g}, shifted by {fit.scale[1]:.3g}, "
                            "not pixels/255")
        elif not loss_fits_labels(model, fit):
            problems.append(f"fit {fit.index + 1}: loss {fit.loss or model.loss() or '?'} with {fit.labels.get('format')} labels"
                            + ("" if fit.labels.get("matches") else " that are not the images' labels"))
        else:
            judged(ctx, check_id, model, f"fit {fit.index + 1} of the notebook, repeated by the grader")
            return
    first = problems[0]
    hint = REPEAT_HINT if "not established" in first else \
        SCALE_HINT if "scaled" in first or "recognised" in first or "MNIST" in first else LOSS_HINT
    fail(Text(f"{what.ja}を 0〜1 に正規化した MNIST 訓練画像で、ラベル形式に合う損失で学習",
              f"{what.en} trained on MNIST training images scaled to [0,1], with a loss that fits its labels"),
         "; ".join(problems[:3]), hint)


def test_dense_training(ctx):
    trace = trace_of(ctx)
    check_training(ctx, "dense_training", dense_mnist_models(trace.models), Text("Dense モデル", "the Dense model"))


# ------------------------------------------------------------------ Part B
def test_cnn_model(ctx):
    trace = trace_of(ctx)
    found = chapter_cnns(trace.models)
    near = mnist_cnns(trace.models) or trace.models
    check(bool(found), Text("入力 (28, 28, 1)、Conv2D と MaxPooling2D、10 クラスの softmax、パラメータ数 30,762 の CNN",
                            "a CNN with input (28, 28, 1), Conv2D and MaxPooling2D, softmax over 10 classes, "
                            "30,762 parameters"),
          listing(near),
          Text("Conv2D(16,(3,3)) → MaxPool(2,2) → Conv2D(32,(3,3)) → MaxPool(2,2) → Flatten → Dense(32) → Dense(10)、"
               "padding は 'valid'、入力は reshape(-1, 28, 28, 1) した 4 次元です。",
               "Conv2D(16,(3,3)) -> MaxPool(2,2) -> Conv2D(32,(3,3)) -> MaxPool(2,2) -> Flatten -> Dense(32) -> "
               "Dense(10), padding 'valid', on 4-D input reshaped with reshape(-1, 28, 28, 1)."))
    judged(ctx, "cnn_model", found[-1], "the last CNN of the chapter's architecture built")


def test_cnn_training(ctx):
    trace = trace_of(ctx)
    check_training(ctx, "cnn_training", mnist_cnns(trace.models), Text("4 次元 MNIST 入力の CNN ", "the MNIST CNN"))


MAX_ACCURACY_CANDIDATES = 3  # a sweep's distinct CNN setups the grader trains, newest first


def distinct_setups(models: list[Model]) -> list[tuple[Model, object]]:
    """The newest model of each distinct (architecture, compile settings), newest first: a sweep that
    builds the same CNN with three learning rates is three setups."""
    seen, setups = set(), []
    for model in reversed(models):
        try:
            settings = compile_settings(model.artifact.compile)
        except TrainingRefused:
            continue
        key = repr((model.artifact.architecture, settings))
        if key not in seen:
            seen.add(key)
            setups.append((model, settings))
    return setups


def test_cnn_test_accuracy(ctx):
    trace = trace_of(ctx)
    fitted = {fit.model for fit in trace.fits}
    candidates = chapter_cnns(trace.models) or [m for m in mnist_cnns(trace.models) if m.serial in fitted]
    check(bool(candidates), Text("4 次元 MNIST 入力の CNN", "a CNN on 4-D MNIST input"), listing(trace.models),
          Text("実習②の CNN を作って学習してください。", "Build and train the CNN of exercise 2."))
    setups = distinct_setups(candidates)
    check(bool(setups), Text("標準の設定で compile された CNN", "a CNN compiled with built-in settings"),
          listing(candidates), Text("model.compile(optimizer='adam', loss=..., metrics=['accuracy'])",
                                    "model.compile(optimizer='adam', loss=..., metrics=['accuracy'])"))
    budget = ctx.rubric.budget["cnn"]
    tried = []
    for model, settings in setups[:MAX_ACCURACY_CANDIDATES]:
        def measure(seed: int, model=model, settings=settings) -> float:
            return measured_accuracy(ctx.plan, budget, "cnn", model.artifact.architecture, settings, seed)

        try:
            accuracies = decided_accuracy(measure, ctx.plan.training_seeds(budget["seeds"]), budget["min_accuracy"],
                                          budget["recheck_within"])
        except TrainingRefused as exc:
            tried.append(f"{model.describe()}: refused ({exc})")
            continue
        accuracy = float(np.mean(accuracies))
        tried.append(f"{model.describe()} with {settings.optimizer['class_name']}: {accuracy:.3f}")
        if accuracy >= budget["min_accuracy"]:
            why = "" if len(setups) == 1 else f", the best of the notebook's {min(len(setups), MAX_ACCURACY_CANDIDATES)} newest CNN setups"
            judged(ctx, "cnn_test_accuracy", model,
                   f"test accuracy {accuracy:.3f} over {len(accuracies)} training(s) by the grader{why}")
            return
    ctx.measured["cnn_test_accuracy"] = "; ".join(tried)
    fail(Text(f"テスト精度 {budget['min_accuracy']:.2f} 以上（{budget['train_samples']} 枚・{budget['epochs']} エポック）",
              f"test accuracy >= {budget['min_accuracy']:.2f} ({budget['train_samples']} images, {budget['epochs']} epochs)"),
         "; ".join(tried)[:500],
         Text("出力層の softmax、損失関数、オプティマイザの学習率を確認してください。",
              "Check the softmax output, the loss and the optimizer's learning rate."))


# ------------------------------------------------------------------ Part C
def test_cifar_model(ctx):
    trace = trace_of(ctx)
    found = cifar_cnns(trace.models)
    check(bool(found), Text("入力 (32, 32, 3)、Conv2D・MaxPooling2D・Dense、10 クラスの softmax の CNN",
                            "a CNN with input (32, 32, 3), Conv2D, MaxPooling2D and Dense, softmax over 10 classes"),
          listing(trace.models), Text("特徴抽出器（Conv2D + MaxPooling2D）と分類器（Dense, softmax）で作ります。",
                                      "A feature extractor (Conv2D + MaxPooling2D) and a classifier (Dense, softmax)."))
    judged(ctx, "cifar_model", found[-1], "the last CIFAR-10 CNN built")


def held_out_rows(trace, fit: Fit) -> np.ndarray | None:
    """A fold's held-out rows: its validation data, or the rows its model was evaluated on."""
    if fit.validation_kind == "data" and fit.validation_split == fit.split:
        return fit.validation_rows
    for evaluation in trace.evaluations:
        rows = evaluation.get("rows")
        if evaluation.get("model") == fit.model and evaluation.get("split") == fit.split and isinstance(rows, np.ndarray):
            return rows.astype(np.int64)
    return None


def fold_problems(trace, fits: list[Fit]) -> list[str]:
    """What is wrong with a run of fits as k-fold cross-validation (empty: it is one)."""
    problems = []
    if len(fits) < 3:
        problems.append(f"{len(fits)} fit(s) on CIFAR-10 training images; k-fold needs k >= 3")
    if not all(fit.fresh for fit in fits):
        problems.append("a fold started from weights an earlier fit trained (build a new model in every fold)")
    held = [held_out_rows(trace, fit) for fit in fits]
    if any(rows is None or not len(rows) for rows in held):
        problems.append("a fold has no validation data of its own (validation_data=(x[val_idx], y[val_idx]))")
        return problems
    if any(fit.validation_kind == "split" for fit in fits):
        problems.append("validation_split holds out the same last rows every time, not a fold")
    if any(np.any(np.isin(rows[rows >= 0], fit.rows[fit.rows >= 0])) for fit, rows in zip(fits, held)):
        problems.append("a fold's validation rows are also among its training rows")
    sets = [set(rows[rows >= 0].tolist()) for rows in held]
    if any(a & b for i, a in enumerate(sets) for b in sets[i + 1:]):
        problems.append("validation folds overlap")
    used = set().union(*sets, *[set(f.rows[f.rows >= 0].tolist()) for f in fits])
    if set().union(*sets) != used:
        problems.append(f"validation folds cover {len(set().union(*sets))} of the {len(used)} rows used")
    return problems


def test_cross_validation(ctx):
    trace = records_of(ctx)
    on_test = [fit for fit in trace.fits if (fit.split == "cifar10:test" and fit.recognised())
               or (fit.split == "cifar10:train" and fit.test_rows() > max(2, 0.005 * fit.rows_given))]
    check(not on_test, Text("テストデータを学習に使わないこと", "no test images in training"),
          f"fit {on_test[0].index + 1} trained on CIFAR-10 test images"
          + (f" ({on_test[0].test_rows()} of them among the training images)" if on_test and on_test[0].test_rows() else "")
          if on_test else "",
          Text("交差検証は訓練データ（x_train）だけで行い、テストデータは最後の評価にだけ使います。",
               "Cross-validate on the training data (x_train) only; keep the test data for the final evaluation."))
    runs: dict[int, list[Fit]] = {}
    for fit in trace.fits:
        if fit.split == "cifar10:train" and fit.recognised():
            runs.setdefault(fit.cell, []).append(fit)
    check(bool(runs), Text("CIFAR-10 の訓練データでの k 分割交差検証", "k-fold cross-validation on CIFAR-10 training images"),
          "no fit on CIFAR-10 training images", Text(
              "KFold(n_splits=5, shuffle=True, random_state=42).split(x_train) の fold ごとに新しいモデルを学習します。",
              "For each fold of KFold(n_splits=5, shuffle=True, random_state=42).split(x_train), train a new model."))
    judgements = {cell: fold_problems(trace, fits) + [f"fit {fit.index + 1} not established by the grader "
                                                       f"({fit.unverified})" for fit in fits if fit.unverified][:2]
                  for cell, fits in runs.items()}
    good = [cell for cell, problems in judgements.items() if not problems]
    if good:
        fits = runs[good[-1]]
        ctx.measured["cross_validation"] = (f"{len(fits)} folds in cell {good[-1]}, each fit repeated by the grader: "
                                            "models " + ", ".join(f"#{f.model}" for f in fits))
        return
    cell, problems = max(judgements.items(), key=lambda item: (len(runs[item[0]]), -len(item[1])))
    fail(Text("k ≥ 3 の fold、fold ごとに新しいモデル、検証 fold は重複せず全体を覆う",
              "k >= 3 folds, a fresh model per fold, validation folds disjoint and covering the data"),
         f"cell {cell}, {len(runs[cell])} fits: " + "; ".join(problems),
         REPEAT_HINT if all("not established" in p for p in problems) else Text("for train_idx, val_idx in kf.split(x_train): model = build_model(); "
              "model.fit(x_train[train_idx], y_train[train_idx], validation_data=(x_train[val_idx], y_train[val_idx]))",
              "for train_idx, val_idx in kf.split(x_train): model = build_model(); "
              "model.fit(x_train[train_idx], y_train[train_idx], validation_data=(x_train[val_idx], y_train[val_idx]))"))


# ------------------------------------------------------------------ figures and analysis
def curves(trace) -> list[tuple[str, list[float], list[float]]]:
    """(metric, training values, validation values) of every fit, and their means over each cell's fits."""
    found = []
    by_cell: dict[int, list[Fit]] = {}
    for fit in [fit for fit in trace.fits if not fit.unverified]:  # Histories the grader repeated
        by_cell.setdefault(fit.cell, []).append(fit)
        for metric in ("loss", "accuracy", "acc"):
            if metric in fit.history and f"val_{metric}" in fit.history:
                found.append((metric, fit.history[metric], fit.history[f"val_{metric}"]))
    for fits in by_cell.values():
        for metric in ("loss", "accuracy", "acc"):
            series = [(f.history.get(metric), f.history.get(f"val_{metric}")) for f in fits]
            if len(series) > 1 and all(t and v and len(t) == len(series[0][0]) for t, v in series):
                found.append((metric, np.mean([t for t, _ in series], axis=0).tolist(),
                              np.mean([v for _, v in series], axis=0).tolist()))
    return found


def drawn_in(figure: dict, values: list[float]) -> list[dict]:
    """The axes of a figure with a line through exactly these values."""
    return [ax for ax in figure.get("axes", []) for line in ax.get("lines", [])
            if len(line.get("y", [])) == len(values) and np.allclose(line["y"], values, atol=1e-6)]


def test_learning_curves(ctx):
    trace = records_of(ctx)
    candidates = curves(trace)
    unrepeated = [f"; fit {fit.index + 1}: {fit.unverified}" for fit in trace.fits if fit.unverified]
    check(bool(candidates), Text("検証データつきの学習（History に val_ 指標）", "training with validation data (val_ metrics in the History)"),
          "no fit the grader repeated recorded validation metrics" + "".join(unrepeated[:3]),
          REPEAT_HINT if unrepeated else Text("fit(..., validation_data=...) か validation_split=... で検証の指標も記録します。",
                                              "Record validation metrics with fit(..., validation_data=...) or validation_split=...."))
    seen = []
    for figure in trace.figures:
        for metric, training, validation in candidates:
            train_axes, val_axes = drawn_in(figure, training), drawn_in(figure, validation)
            if not (train_axes and val_axes):
                continue
            labelled = all((ax.get("xlabel") and ax.get("ylabel")) or ax.get("legend") or figure.get("legends")
                           for ax in train_axes + val_axes)
            seen.append(f"cell {figure.get('cell')}: {metric} and val_{metric}" + ("" if labelled else " without labels"))
            if labelled:
                ctx.measured["learning_curves"] = f"the {metric} curves of cell {figure.get('cell')}'s figure"
                return
    fail(Text("学習と検証の曲線（loss か accuracy）、軸ラベルか凡例つき",
              "training and validation curves (loss or accuracy) with axis labels or a legend"),
         "; ".join(seen) or f"{len(trace.figures)} figure(s), none drawing a History's training and validation values",
         Text("plt.plot(history.history['loss'], label='train'); plt.plot(history.history['val_loss'], label='validation'); "
              "plt.xlabel('Epoch'); plt.ylabel('Loss'); plt.legend()",
              "plt.plot(history.history['loss'], label='train'); plt.plot(history.history['val_loss'], label='validation'); "
              "plt.xlabel('Epoch'); plt.ylabel('Loss'); plt.legend()"))


def label_count(title: str) -> int:
    """How many class labels a title gives (digits or CIFAR-10 class names)."""
    words = {w.lower() for w in re.findall(r"[A-Za-z]+", title)}
    return len(re.findall(r"(?<![\d.])\d(?![\d.])", title)) + len(words & CIFAR_CLASS_NAMES) \
        + sum(title.lower().count(name) for name in CIFAR_CLASS_NAMES if name not in words)


def confusion_like(values) -> bool:
    """Whether the 100 values of a drawn 10×10 image can be a confusion matrix: not negative, not all
    zero, and counts (whole numbers) or shares (the non-empty rows, the columns or the whole summing
    to 1 or 100, as printed with two decimals). Any other 10×10 picture is not an error analysis."""
    if not isinstance(values, list) or len(values) != 100 or \
            not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
        return False
    matrix = np.asarray(values, dtype=float).reshape(10, 10)
    if not np.all(np.isfinite(matrix)) or matrix.min() < 0 or matrix.sum() <= 0:
        return False
    rows, columns = matrix.sum(axis=1), matrix.sum(axis=0)
    sums = [rows[rows > 0], columns[columns > 0], np.array([matrix.sum()])]
    return bool(np.allclose(matrix, np.round(matrix))) or any(
        np.allclose(total, whole, rtol=0.06, atol=0) for total in sums for whole in (1.0, 100.0))


def test_error_analysis(ctx):
    trace = records_of(ctx)
    matrices = [c for c in trace.confusion_matrices if c.get("shape") == [10, 10]]
    drawn = [f for f in trace.figures for ax in f.get("axes", [])
             for shape, values in zip(ax.get("images", []), ax.get("image_values", []))
             if shape == [10, 10] and confusion_like(values)]
    drawn += [f for f in trace.figures for shape, values in zip(f.get("meshes", []), f.get("mesh_values", []))
              if shape == [10, 10] and confusion_like(values)]
    if matrices or drawn:
        ctx.measured["error_analysis"] = "a 10×10 confusion matrix " + ("computed" if matrices else "drawn")
        return
    titled = []
    for figure in trace.figures:
        images = [ax for ax in figure.get("axes", []) if ax.get("images")]
        if images and all(label_count(str(ax.get("title", ""))) >= 2 for ax in images):
            ctx.measured["error_analysis"] = f"{len(images)} images titled with two labels (cell {figure.get('cell')})"
            return
        titled += [str(ax.get("title", "")) for ax in images]
    fail(Text("予測と正解のラベルを付けた画像、または混同行列", "images titled with predicted and true labels, or a confusion matrix"),
         f"titles of the images shown: {titled[:4]}" if titled else "no image and no confusion matrix",
         Text("plt.title(f'予測: {pred} / 正解: {true}') のように 2 つのラベルを書くか、"
              "sklearn.metrics.confusion_matrix で混同行列を作ってください。",
              "Title each image with both labels, e.g. plt.title(f'pred: {p} / true: {t}'), or make a confusion "
              "matrix with sklearn.metrics.confusion_matrix."))
