"""Part C, the CIFAR-10 homework (課題)."""

import numpy as np

from grader.artifacts import FigureArtifact, HistoryArtifact
from grader.checks.support import (as_array, built_model, call_outcomes, calls_with_outcomes, check,
                                   compile_settings_of, fail, returned, shape_text, value_of)
from grader.checks.test_part_a import check_accuracy
from grader.checks.test_part_b import recorded_fits
from grader.probes import fixed_model_predictions
from grader.results import Text
from grader.training import same_history

KERAS_CLASS_NAMES = ["airplane", "automobile", "bird", "cat", "deer",
                     "dog", "frog", "horse", "ship", "truck"]
CV_HINT = Text("KFold(n_splits, shuffle=True, random_state=seed).split(images) の各 fold で、残りで学習し "
               "validation_data=(検証 fold) を渡します。",
               "For each fold of KFold(n_splits, shuffle=True, random_state=seed).split(images), train on the "
               "other folds and pass validation_data=(the held-out fold).")


def test_cifar_data(ctx):
    # load_cifar10 first: an untouched template then fails with its NotImplementedError hint.
    outcome = call_outcomes(ctx, "load_cifar10", "load_cifar10")[0]
    names = value_of(ctx, "class_names", "CLASS_NAMES")
    check(isinstance(names, list) and [str(n) for n in names] == KERAS_CLASS_NAMES,
          Text("Keras のラベル順のクラス名 10 個", "the ten class names in Keras label order"), f"{names!r}"[:200],
          Text("章のヒントの class_names と同じ順です。", "Same order as class_names in the chapter's hint."))
    loaded = returned(outcome, "load_cifar10", "")
    subset = ctx.plan.notebook_data["cifar10"]
    ok = (isinstance(loaded, tuple | list) and len(loaded) == 2
          and all(isinstance(pair, tuple | list) and len(pair) == 2 for pair in loaded))
    check(ok, Text("(x_train, y_train), (x_test, y_test)", "(x_train, y_train), (x_test, y_test)"),
          f"{type(loaded).__name__}", Text("cifar10.load_data() の戻り値をそのまま返してください。",
                                           "Return what cifar10.load_data() returns."))
    arrays = [loaded[0][0], loaded[0][1], loaded[1][0], loaded[1][1]]
    expected = [subset["x_train"], subset["y_train"], subset["x_test"], subset["y_test"]]
    for got, want, name in zip(arrays, expected, ["x_train", "y_train", "x_test", "y_test"]):
        got = as_array(got, name)
        check(got.size == want.size and np.array_equal(got.reshape(want.shape), want),
              Text(f"{name}: cifar10.load_data() のデータ {want.shape}", f"{name}: the data of cifar10.load_data() {want.shape}"),
              f"shape {got.shape}", Text("load_cifar10 では前処理をせず、読み込むだけにします。",
                                         "load_cifar10 only loads; preprocessing comes later."))


def test_preprocess_cifar(ctx):
    for outcome, (images, labels), _ in calls_with_outcomes(ctx, "preprocess_cifar", "preprocess_cifar"):
        value = returned(outcome, "preprocess_cifar", f"images {images.shape}, labels {labels.shape}")
        check(isinstance(value, tuple | list) and len(value) == 2, Text("(images, labels) の組", "a pair (images, labels)"),
              f"{type(value).__name__}", Text("return x, y", "return x, y"))
        x, y = as_array(value[0], "images"), as_array(value[1], "labels")
        check(x.shape == images.shape and np.issubdtype(x.dtype, np.floating)
              and bool(np.allclose(x, images / 255.0, atol=1e-5)),
              Text(f"形状 {images.shape} の浮動小数点、値 = 画素 / 255", f"floats of shape {images.shape}, values = pixels / 255"),
              f"shape {x.shape}, dtype {x.dtype}",
              Text("images.astype('float32') / 255.0", "images.astype('float32') / 255.0"))
        check(y.shape == (len(labels),) and y.dtype.kind in "iu" and bool(np.array_equal(y, labels.reshape(-1))),
              Text(f"形状 ({len(labels)},) の整数ラベル", f"integer labels of shape ({len(labels)},)"),
              f"shape {y.shape}, dtype {y.dtype}",
              Text("CIFAR-10 のラベルは (N, 1) です。labels.reshape(-1) で (N,) にします。",
                   "CIFAR-10 labels are (N, 1); labels.reshape(-1) makes them (N,)."))


def test_cifar_model_structure(ctx):
    for outcome, _, kwargs in calls_with_outcomes(ctx, "build_cifar_model", "build_cifar_model"):
        classes = kwargs.get("num_classes", 10)
        input_shape = tuple(kwargs.get("input_shape", (32, 32, 3)))
        artifact = returned(outcome, "build_cifar_model", f"num_classes={classes}")
        model = built_model(artifact, "build_cifar_model")
        kinds = {type(layer).__name__ for layer in model.layers}
        check({"Conv2D", "MaxPooling2D", "Dense"} <= kinds, Text("Conv2D・MaxPooling2D・Dense を使うこと", "Conv2D, MaxPooling2D and Dense layers"),
              f"layers {sorted(kinds)}", Text("特徴抽出器（Conv2D + MaxPooling2D）と分類器（Dense）で構成します。",
                                              "A feature extractor (Conv2D + MaxPooling2D) and a classifier (Dense)."))
        check(tuple(model.input_shape) == (None, *input_shape),
              Text(f"input_shape={input_shape} → 入力形状 {shape_text((None, *input_shape))}",
                   f"input_shape={input_shape} -> input shape {shape_text((None, *input_shape))}"),
              f"input shape {shape_text(model.input_shape)}", Text("input_shape 引数を使ってください。", "Use the input_shape argument."))
        last = model.layers[-1]
        activation = getattr(getattr(last, "activation", None), "__name__", type(last).__name__.lower())
        check(tuple(model.output_shape) == (None, classes) and activation == "softmax",
              Text(f"softmax で終わる出力 (N, {classes})", f"a softmax output of shape (N, {classes})"),
              f"output {shape_text(model.output_shape)}, last activation {activation}",
              Text("最後の層は Dense(num_classes, activation='softmax') です。",
                   "The last layer is Dense(num_classes, activation='softmax')."))
        loss = compile_settings_of(ctx, artifact, "build_cifar_model").loss
        check(loss == "sparse_categorical_crossentropy",
              Text("整数ラベル用の loss='sparse_categorical_crossentropy'", "loss='sparse_categorical_crossentropy' for integer labels"),
              f"loss={loss!r}", Text("preprocess_cifar のラベルは整数なので sparse を使います。",
                                    "preprocess_cifar gives integer labels, so use the sparse loss."))


def test_cifar_accuracy(ctx):
    check_accuracy(ctx, "cifar")


def cross_validation(ctx) -> list[tuple[dict, dict, list]]:
    """Each call of cross_validate as (outcome, its arguments, its fits replayed by the grader)."""
    probe = ctx.plan.probe("cross_validate")
    calls = []
    for outcome, call in zip(call_outcomes(ctx, "cross_validate", "cross_validate"), probe["calls"]):
        if "raised" in outcome:
            returned(outcome, "cross_validate", ", ".join(f"{k}={v}" for k, v in call["kwargs"].items()))
        fits = recorded_fits(ctx, "cross_validate", outcome, ctx.input(call["images"]), ctx.input(call["labels"]))
        calls.append((outcome, call, fits))
    return calls


def test_cross_validation_folds(ctx):
    for outcome, call, fits in cross_validation(ctx):
        n_splits, epochs, batch_size = (call["kwargs"][k] for k in ("n_splits", "epochs", "batch_size"))
        samples = len(ctx.input(call["images"]))
        check(len(fits) == n_splits,
              Text(f"n_splits={n_splits} → fold ごとに 1 回、計 {n_splits} 回の fit", f"n_splits={n_splits} -> {n_splits} fits, one per fold"),
              f"{len(fits)} fits", CV_HINT)
        everything = set(range(samples))
        seen_validation: set[int] = set()
        for fold, fit in enumerate(fits, start=1):
            record = fit.record
            check(fit.verified, Text("渡された images・labels と build_fn のモデルで各 fold を学習すること",
                                     "each fold trained on the images and labels given, with a model from build_fn"),
                  f"fold {fold}: {fit.problem or 'the training could not be reproduced'}", CV_HINT)
            check((record["epochs"], record["batch_size"]) == (epochs, batch_size),
                  Text(f"各 fold を epochs={epochs}, batch_size={batch_size} で学習（引数をそのまま渡す）",
                       f"each fold trained with epochs={epochs}, batch_size={batch_size} (the arguments passed through)"),
                  f"fold {fold}: fit(epochs={record['epochs']}, batch_size={record['batch_size']})",
                  Text("epochs と batch_size の値を固定せず、引数を fit に渡してください。",
                       "Do not hard-code epochs and batch_size; pass the arguments on to fit."))
            train, validation = record["train_rows"], record["val_rows"]
            check(bool(validation), Text("validation_data に検証 fold を渡すこと", "the held-out fold passed as validation_data"),
                  f"fold {fold} had no validation data", CV_HINT)
            check(set(train) | set(validation) == everything and not set(train) & set(validation),
                  Text("各 fold: 検証 fold 以外の全サンプルで学習", "each fold trains on every sample outside its validation fold"),
                  f"fold {fold}: {len(set(train))} training and {len(set(validation))} validation samples, "
                  f"{len(set(train) & set(validation))} in both", CV_HINT)
            check(not seen_validation & set(validation), Text("検証 fold が互いに重ならないこと", "validation folds that do not overlap"),
                  f"fold {fold} repeats {len(seen_validation & set(validation))} validation samples", CV_HINT)
            seen_validation |= set(validation)
        check(seen_validation == everything, Text("検証 fold が全サンプルを覆うこと", "validation folds that cover every sample"),
              f"{len(seen_validation)} of {samples} samples validated", CV_HINT)
        check(not outcome.get("dataset_loads"), Text("cross_validate の中でデータセットを読み込まないこと", "no dataset loading inside cross_validate"),
              f"called load_data for {outcome.get('dataset_loads')}",
              Text("引数の images, labels だけを使ってください。", "Use only the images and labels passed in."))


def test_cross_validation_fresh_model(ctx):
    for outcome, call, fits in cross_validation(ctx):
        n_splits = call["kwargs"]["n_splits"]
        models = [fit.record["model"] for fit in fits]
        built = set(outcome.get("built_models") or [])
        check(len(fits) == n_splits and len(set(models)) == n_splits and set(models) <= built,
              Text(f"fold ごとに build_fn() で作った新しいモデル（{n_splits} 個）", f"a new model from build_fn() for each of the {n_splits} folds"),
              f"{len(set(models))} distinct models over {len(fits)} fits, {len(built)} built by build_fn",
              Text("for ループの中で model = build_fn() を呼んでください。前の fold の重みを引き継ぐと検証が不公平になります。",
                   "Call model = build_fn() inside the loop; weights carried over from a previous fold make validation unfair."))
        for fold, fit in enumerate(fits, start=1):
            check(fit.fresh, Text("各 fold を build_fn() が返したままの重みから学習すること",
                                  "each fold trained from the weights build_fn() returned"),
                  f"fold {fold} started from other weights (e.g. a previous fold's trained weights)",
                  Text("fold ごとに新しいモデルを作ってください。", "Build a fresh model for each fold."))


def test_cross_validation_summary(ctx):
    for outcome, call, fits in cross_validation(ctx):
        n_splits, epochs = call["kwargs"]["n_splits"], call["kwargs"]["epochs"]
        summary = outcome.get("returned")
        keys = {"histories", "val_accuracy", "val_loss", "mean_accuracy", "std_accuracy"}
        check(isinstance(summary, dict) and keys <= set(summary), Text(f"キー {sorted(keys)} を持つ dict", f"a dict with keys {sorted(keys)}"),
              f"{sorted(summary) if isinstance(summary, dict) else type(summary).__name__}",
              Text("課題の仕様どおりの dict を返してください。", "Return the dict of the contract."))
        histories = [h.history if isinstance(h, HistoryArtifact) else h for h in summary["histories"]] \
            if isinstance(summary["histories"], list) else []
        check(len(histories) == n_splits and all(isinstance(h, dict) and len(h.get("val_accuracy", [])) == epochs
                                                 and len(h.get("val_loss", [])) == epochs for h in histories),
              Text(f"fold ごとの History.history（{n_splits} 個、各 {epochs} エポック分の val_loss・val_accuracy）",
                   f"one History.history per fold ({n_splits}), each with {epochs} epochs of val_loss and val_accuracy"),
              f"{len(histories)} histories", Text("histories には history.history を fold ごとに入れます。",
                                                  "Put history.history of each fold into histories."))
        for fold, (fit, history) in enumerate(zip(fits, histories), start=1):
            check(fit.verified and same_history(fit.replay.history, history),
                  Text(f"histories[{fold - 1}] = fold {fold} の学習の History.history", f"histories[{fold - 1}] = the History.history of fold {fold}'s training"),
                  f"fold {fold}: the history does not match that fold's training",
                  Text("fold ごとに、その fold の model.fit が返した history.history を入れてください。",
                       "For each fold, store the history.history returned by that fold's model.fit."))
        final_accuracy = [float(np.asarray(h["val_accuracy"])[-1]) for h in histories]
        final_loss = [float(np.asarray(h["val_loss"])[-1]) for h in histories]
        reported = np.asarray(summary["val_accuracy"], dtype=float).reshape(-1)
        check(reported.shape == (n_splits,) and np.allclose(reported, final_accuracy, atol=1e-6)
              and np.allclose(np.asarray(summary["val_loss"], dtype=float).reshape(-1), final_loss, atol=1e-6),
              Text("val_accuracy / val_loss = 各 fold の最終エポックの値", "val_accuracy / val_loss = each fold's final-epoch value"),
              f"val_accuracy {reported.round(4).tolist()} vs histories {np.round(final_accuracy, 4).tolist()}",
              Text("history['val_accuracy'][-1] を fold ごとに集めてください。", "Collect history['val_accuracy'][-1] of each fold."))
        mean, std = float(summary["mean_accuracy"]), float(summary["std_accuracy"])
        check(abs(mean - np.mean(final_accuracy)) < 1e-6 and min(abs(std - np.std(final_accuracy, ddof=d)) for d in (0, 1)) < 1e-6,
              Text("mean_accuracy・std_accuracy = fold の精度の平均・標準偏差", "mean_accuracy, std_accuracy = mean and std of the fold accuracies"),
              f"mean {mean:.4f}, std {std:.4f} for fold accuracies {np.round(final_accuracy, 4).tolist()}",
              Text("np.mean と np.std を val_accuracy に使います。", "Apply np.mean and np.std to val_accuracy."))


def curve_values(histories: list[dict], metric: str) -> list[np.ndarray]:
    """Acceptable drawings of one metric: each fold's curve, or the mean over folds."""
    per_fold = [np.asarray(h[metric], dtype=float) for h in histories]
    return per_fold + [np.mean(per_fold, axis=0)]


def lines_drawing(figure: FigureArtifact, values: np.ndarray) -> list[tuple[dict, dict]]:
    """(axes, line) of every line whose points are `values`."""
    return [(ax, line) for ax in figure.axes for line in ax.get("lines", [])
            if len(line.get("y", [])) == len(values) and np.allclose(line["y"], values, atol=1e-6)]


def drawn(figure: FigureArtifact, values: np.ndarray) -> bool:
    return bool(lines_drawing(figure, values))


def in_legend(figure: FigureArtifact, ax: dict, line: dict) -> bool:
    """Whether a line has a label of its own (matplotlib names unlabelled lines '_child0') that a
    legend of its axes or of the figure shows."""
    label = str(line.get("label") or "")
    shown = [*(ax.get("legend") or []), *[text for legend in figure.legends for text in legend]]
    return bool(label) and not label.startswith("_") and label in shown


def test_learning_curves_plot(ctx):
    outcomes = call_outcomes(ctx, "plot_learning_curves", "plot_learning_curves")
    inputs = [call["args"][0] for call in ctx.plan.probe("plot_learning_curves")["calls"]]
    for outcome, spec in zip(outcomes, inputs):
        prefix = spec["histories"]
        histories = [{m: ctx.input(f"{prefix}_{f}_{m}.npy") for m in spec["metrics"]} for f in range(spec["folds"])]
        figure = returned(outcome, "plot_learning_curves", "one dict" if spec["single"] else "a list of history dicts")
        check(isinstance(figure, FigureArtifact), Text("matplotlib の Figure を返すこと", "a matplotlib Figure"),
              f"returned {type(figure).__name__}", Text("fig を return してください。", "Return the fig."))
        for metric in ("loss", "val_loss", "accuracy", "val_accuracy"):
            check(any(drawn(figure, values) for values in curve_values(histories, metric)),
                  Text(f"'{metric}' の曲線（epoch ごとの値）", f"a curve of '{metric}' (its value per epoch)"),
                  f"no line with the values of {metric}",
                  Text("Train と Validation の loss と accuracy をすべて描いてください（fold ごと、または fold の平均）。",
                       "Draw training and validation loss and accuracy (per fold or the mean over folds)."))
        plotted = [ax for ax in figure.axes if ax.get("lines")]
        check(all(ax.get("xlabel") and ax.get("ylabel") for ax in plotted),
              Text("すべてのグラフに軸ラベル（例: Epoch / Loss）", "axis labels on every plot (e.g. Epoch / Loss)"),
              "; ".join(f"xlabel={ax.get('xlabel')!r}, ylabel={ax.get('ylabel')!r}" for ax in plotted)[:300],
              Text("ax.set_xlabel('Epoch'); ax.set_ylabel('Loss')", "ax.set_xlabel('Epoch'); ax.set_ylabel('Loss')"))
        check(all(ax.get("legend") for ax in plotted) or bool(figure.legends),
              Text("凡例（Train / Validation の区別）", "a legend telling training from validation"),
              "no legend", Text("plot に label=... を付け、ax.legend() を呼んでください。",
                                "Give each plot a label=... and call ax.legend()."))
        for metric in ("loss", "val_loss", "accuracy", "val_accuracy"):
            check(any(in_legend(figure, ax, line) for values in curve_values(histories, metric)
                      for ax, line in lines_drawing(figure, values)),
                  Text(f"'{metric}' の曲線に凡例のラベル", f"a legend entry for the curve of '{metric}'"),
                  f"the line of {metric} has no label in a legend",
                  Text("plot(..., label='Train') / plot(..., label='Validation') のように各曲線にラベルを付けてください。",
                       "Label every curve, e.g. plot(..., label='Train') and plot(..., label='Validation')."))


def test_confusion_matrix(ctx):
    from sklearn.metrics import confusion_matrix
    for outcome, (_, images, labels), kwargs in calls_with_outcomes(ctx, "confusion_matrix_of", "confusion_matrix_of"):
        classes = kwargs["num_classes"]
        matrix = as_array(returned(outcome, "confusion_matrix_of", f"model, images, labels, num_classes={classes}"),
                          "confusion_matrix_of")
        predicted = fixed_model_predictions(ctx.plan, "fixed_cifar", images)
        expected = confusion_matrix(labels.reshape(-1), predicted, labels=list(range(classes)))
        check(matrix.shape == (classes, classes) and bool(np.array_equal(matrix, expected)),
              Text(f"行 = 正解クラス、列 = 予測クラスの ({classes}, {classes}) 行列（scikit-learn と同じ）",
                   f"a ({classes}, {classes}) matrix, rows = true class, columns = predicted (as scikit-learn)"),
              f"shape {matrix.shape}" + ("" if matrix.shape != (classes, classes) else
                                         f", transposed: {bool(np.array_equal(matrix, expected.T))}"),
              Text("confusion_matrix(labels, predicted, labels=range(num_classes)) の引数の順に注意してください。",
                   "Mind the argument order: confusion_matrix(labels, predicted, labels=range(num_classes))."))


def test_most_confused_pairs(ctx):
    for outcome, (matrix,), kwargs in calls_with_outcomes(ctx, "most_confused_pairs", "most_confused_pairs"):
        k = kwargs["k"]
        size = len(matrix)
        off_diagonal = sorted(((int(matrix[t, p]), t, p) for t in range(size) for p in range(size) if t != p), reverse=True)
        pairs = returned(outcome, "most_confused_pairs", f"cm, k={k}")
        expected = [(t, p, c) for c, t, p in off_diagonal[:k]]
        try:
            got = [tuple(int(v) for v in pair) for pair in pairs]
        except (TypeError, ValueError):
            fail(Text("(正解, 予測, 件数) のリスト", "a list of (true, predicted, count)"), f"{pairs!r}"[:200],
                 Text("[(t, p, int(cm[t, p])), ...] の形で返してください。", "Return [(t, p, int(cm[t, p])), ...]."))
        check(got == expected, Text(f"k={k}: {expected}", f"k={k}: {expected}"), f"{got}"[:300],
              Text("対角成分（正解）を除き、件数の多い順に k 個選びます。",
                   "Leave out the diagonal (correct predictions) and take the k largest counts."))
