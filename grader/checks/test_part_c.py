"""Part C, the CIFAR-10 homework (課題)."""

import numpy as np

from grader.artifacts import FigureArtifact, HistoryArtifact
from grader.checks.support import (as_array, built_model, call_outcomes, check, fail, returned, shape_text,
                                   value_of)
from grader.checks.test_part_a import check_accuracy
from grader.probes import fixed_model_predictions
from grader.results import Text

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
    outcomes = call_outcomes(ctx, "preprocess_cifar", "preprocess_cifar")
    for outcome, (image_name, label_name) in zip(outcomes, [("cifar_images.npy", "cifar_labels.npy"),
                                                          ("cifar_image_one.npy", "cifar_label_one.npy")]):
        images, labels = ctx.input(image_name), ctx.input(label_name)
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
    outcomes = call_outcomes(ctx, "build_cifar_model", "build_cifar_model")
    for outcome, classes in zip(outcomes, [10, 7]):
        artifact = returned(outcome, "build_cifar_model", f"num_classes={classes}")
        model = built_model(artifact, "build_cifar_model")
        kinds = {type(layer).__name__ for layer in model.layers}
        check({"Conv2D", "MaxPooling2D", "Dense"} <= kinds, Text("Conv2D・MaxPooling2D・Dense を使うこと", "Conv2D, MaxPooling2D and Dense layers"),
              f"layers {sorted(kinds)}", Text("特徴抽出器（Conv2D + MaxPooling2D）と分類器（Dense）で構成します。",
                                              "A feature extractor (Conv2D + MaxPooling2D) and a classifier (Dense)."))
        check(tuple(model.input_shape) == (None, 32, 32, 3), Text("入力形状 (N, 32, 32, 3)", "input shape (N, 32, 32, 3)"),
              f"input shape {shape_text(model.input_shape)}", Text("input_shape 引数を使ってください。", "Use the input_shape argument."))
        last = model.layers[-1]
        activation = getattr(getattr(last, "activation", None), "__name__", type(last).__name__.lower())
        check(tuple(model.output_shape) == (None, classes) and activation == "softmax",
              Text(f"softmax で終わる出力 (N, {classes})", f"a softmax output of shape (N, {classes})"),
              f"output {shape_text(model.output_shape)}, last activation {activation}",
              Text("最後の層は Dense(num_classes, activation='softmax') です。",
                   "The last layer is Dense(num_classes, activation='softmax')."))
        loss = str(artifact.compile.get("loss") or "")
        check(loss == "sparse_categorical_crossentropy",
              Text("整数ラベル用の loss='sparse_categorical_crossentropy'", "loss='sparse_categorical_crossentropy' for integer labels"),
              f"loss={loss!r}", Text("preprocess_cifar のラベルは整数なので sparse を使います。",
                                    "preprocess_cifar gives integer labels, so use the sparse loss."))


def test_cifar_accuracy(ctx):
    check_accuracy(ctx, "cifar_accuracy", "build_cifar_model", "cifar10", (32, 32, 3), "cifar")


def cross_validation(ctx) -> tuple[dict, list[dict], int]:
    value = value_of(ctx, "cross_validate", "cross_validate")
    probe = ctx.plan.probe("cross_validate")
    return value, value.get("fit_calls") or [], probe["n_splits"]


def test_cross_validation_folds(ctx):
    value, calls, n_splits = cross_validation(ctx)
    samples = len(ctx.input("cv_images.npy"))
    check(len(calls) == n_splits, Text(f"n_splits={n_splits} → fold ごとに 1 回、計 {n_splits} 回の fit", f"n_splits={n_splits} -> {n_splits} fits, one per fold"),
          f"{len(calls)} fits", CV_HINT)
    everything = set(range(samples))
    seen_validation: set[int] = set()
    for fold, call in enumerate(calls, start=1):
        train, validation = call.get("train_rows") or [], call.get("val_rows") or []
        check(-1 not in train and -1 not in validation,
              Text("渡された images だけで学習・検証すること（テストデータは使わない）", "training and validation on the given images only (never the test set)"),
              f"fold {fold} used samples that are not among the given images",
              Text("交差検証には学習データだけを使い、テストデータは最後の評価まで取っておきます。",
                   "Cross-validation uses the training data only; keep the test set for the final evaluation."))
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
    check(not value.get("dataset_loads"), Text("cross_validate の中でデータセットを読み込まないこと", "no dataset loading inside cross_validate"),
          f"called load_data for {value.get('dataset_loads')}",
          Text("引数の images, labels だけを使ってください。", "Use only the images and labels passed in."))


def test_cross_validation_fresh_model(ctx):
    value, calls, n_splits = cross_validation(ctx)
    models = [call.get("model") for call in calls]
    built = set(value.get("built_models") or [])
    check(len(calls) == n_splits and len(set(models)) == n_splits and set(models) <= built,
          Text(f"fold ごとに build_fn() で作った新しいモデル（{n_splits} 個）", f"a new model from build_fn() for each of the {n_splits} folds"),
          f"{len(set(models))} distinct models over {len(calls)} fits, {len(built)} built by build_fn",
          Text("for ループの中で model = build_fn() を呼んでください。前の fold の重みを引き継ぐと検証が不公平になります。",
               "Call model = build_fn() inside the loop; weights carried over from a previous fold make validation unfair."))
    for previous, current in zip(calls, calls[1:]):
        check(current.get("weights_before") != previous.get("weights_after"),
              Text("前の fold の学習済み重みを引き継がないこと", "no trained weights carried over from the previous fold"),
              "a fold started from the previous fold's trained weights",
              Text("fold ごとに新しいモデルを作ってください。", "Build a fresh model for each fold."))


def test_cross_validation_summary(ctx):
    value, calls, n_splits = cross_validation(ctx)
    summary = value.get("returned")
    keys = {"histories", "val_accuracy", "val_loss", "mean_accuracy", "std_accuracy"}
    check(isinstance(summary, dict) and keys <= set(summary), Text(f"キー {sorted(keys)} を持つ dict", f"a dict with keys {sorted(keys)}"),
          f"{sorted(summary) if isinstance(summary, dict) else type(summary).__name__}",
          Text("課題の仕様どおりの dict を返してください。", "Return the dict of the contract."))
    histories = [h.history if isinstance(h, HistoryArtifact) else h for h in summary["histories"]] \
        if isinstance(summary["histories"], list) else []
    epochs = ctx.plan.probe("cross_validate")["epochs"]
    check(len(histories) == n_splits and all(isinstance(h, dict) and len(h.get("val_accuracy", [])) == epochs
                                             and len(h.get("val_loss", [])) == epochs for h in histories),
          Text(f"fold ごとの History.history（{n_splits} 個、各 {epochs} エポック分の val_loss・val_accuracy）",
               f"one History.history per fold ({n_splits}), each with {epochs} epochs of val_loss and val_accuracy"),
          f"{len(histories)} histories", Text("histories には history.history を fold ごとに入れます。",
                                              "Put history.history of each fold into histories."))
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


def drawn(figure: FigureArtifact, values: np.ndarray) -> bool:
    return any(len(line.get("y", [])) == len(values) and np.allclose(line["y"], values, atol=1e-6)
               for ax in figure.axes for line in ax.get("lines", []))


def test_learning_curves_plot(ctx):
    outcomes = call_outcomes(ctx, "plot_learning_curves", "plot_learning_curves")
    inputs = [ctx.plan.probe("plot_learning_curves")["calls"][i]["args"][0] for i in range(2)]
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


def test_confusion_matrix(ctx):
    outcome = call_outcomes(ctx, "confusion_matrix_of", "confusion_matrix_of")[0]
    matrix = as_array(returned(outcome, "confusion_matrix_of", "model, images, labels"), "confusion_matrix_of")
    from sklearn.metrics import confusion_matrix
    labels = ctx.input("cm_labels.npy")
    predicted = fixed_model_predictions(ctx.plan, "fixed_cifar", ctx.input("cm_images.npy"))
    expected = confusion_matrix(labels, predicted, labels=list(range(10)))
    check(matrix.shape == (10, 10) and bool(np.array_equal(matrix, expected)),
          Text("行 = 正解クラス、列 = 予測クラスの (10, 10) 行列（scikit-learn と同じ）",
               "a (10, 10) matrix, rows = true class, columns = predicted (as scikit-learn)"),
          f"shape {matrix.shape}" + ("" if matrix.shape != (10, 10) else
                                     f", transposed: {bool(np.array_equal(matrix, expected.T))}"),
          Text("confusion_matrix(labels, predicted, labels=range(num_classes)) の引数の順に注意してください。",
               "Mind the argument order: confusion_matrix(labels, predicted, labels=range(num_classes))."))


def test_most_confused_pairs(ctx):
    outcomes = call_outcomes(ctx, "most_confused_pairs", "most_confused_pairs")
    matrix = ctx.input("pairs_cm.npy")
    off_diagonal = sorted(((int(matrix[t, p]), t, p) for t in range(10) for p in range(10) if t != p), reverse=True)
    for outcome, k in zip(outcomes, [3, 5]):
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
