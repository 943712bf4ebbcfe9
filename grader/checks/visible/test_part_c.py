"""Part C, the CIFAR-10 homework (課題): the visible checks."""

import numpy as np

from ..support import (as_array, built_model, call_outcomes, calls_with_outcomes, check, compile_settings_of,
                       returned, shape_text, value_of)
from ...artifacts import FigureArtifact
from ...results import Text

KERAS_CLASS_NAMES = ["airplane", "automobile", "bird", "cat", "deer",
                     "dog", "frog", "horse", "ship", "truck"]

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
