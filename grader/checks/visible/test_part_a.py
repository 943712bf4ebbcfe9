"""Part A, MNIST with Dense layers (実習①): the visible checks."""

import numpy as np

from ..support import as_array, built_model, call_outcomes, calls_with_outcomes, check, compile_settings_of, returned, shape_text
from ...results import Text

SCALE_HINT = Text("画素値を 255 で割って [0,1] に正規化します（例: x / 255.0）。",
                  "Divide the pixel values by 255 to scale them to [0,1] (e.g. x / 255.0).")

def check_scaled_images(x: np.ndarray, images: np.ndarray, shape: tuple) -> None:
    """Shape, floating dtype and values pixels/255: shared by the three preprocess checks."""
    check(x.shape == shape, Text(f"形状 {shape_text(shape)}", f"shape {shape_text(shape)}"),
          f"shape {shape_text(x.shape)}",
          Text("reshape で形状をそろえてください（Dense には (N, 784)、Conv2D には (N, 28, 28, 1)）。",
               "Use reshape (Dense needs (N, 784); Conv2D needs 4D input (N, 28, 28, 1))."))
    check(np.issubdtype(x.dtype, np.floating), Text("浮動小数点の dtype", "a floating dtype"),
          f"dtype {x.dtype}", Text("整数のままだと正規化されません。/ 255.0 で float になります。",
                                   "Integer arrays are not normalised; dividing by 255.0 gives floats."))
    expected = images.reshape(shape) / 255.0
    check(bool(np.allclose(x, expected, atol=1e-5)),
          Text("値 = 画素値 / 255（範囲 [0,1]）", "values = pixels / 255 (range [0,1])"),
          f"values in [{float(np.min(x)):.4g}, {float(np.max(x)):.4g}]", SCALE_HINT)

def test_preprocess_dense(ctx):
    for outcome, (images,), _ in calls_with_outcomes(ctx, "preprocess_dense", "preprocess_dense"):
        x = as_array(returned(outcome, "preprocess_dense", f"images of shape {images.shape}"), "preprocess_dense")
        check_scaled_images(x, images, (len(images), 784))

def test_to_one_hot(ctx):
    for outcome, (labels,), kwargs in calls_with_outcomes(ctx, "to_one_hot", "to_one_hot"):
        classes = kwargs.get("num_classes", 10)
        y = as_array(returned(outcome, "to_one_hot", f"labels of shape {labels.shape}, num_classes={classes}"),
                     "to_one_hot")
        check(y.shape == (len(labels), classes),
              Text(f"形状 ({len(labels)}, {classes})", f"shape ({len(labels)}, {classes})"),
              f"shape {y.shape}",
              Text("num_classes 引数を使ってください（例: to_categorical(labels, num_classes)）。",
                   "Use the num_classes argument (e.g. to_categorical(labels, num_classes))."))
        check(bool(np.array_equal(y, np.eye(classes)[labels])),
              Text("ラベル 3 → [0,0,0,1,0,0,0,0,0,0] のような One-hot 行列", "a one-hot matrix: label 3 -> [0,0,0,1,0,...]"),
              f"first row {np.asarray(y[0]).tolist()} for label {labels[0]}",
              Text("そのクラスの位置だけ 1、その他は 0 にします。", "Put 1 at the class position and 0 elsewhere."))

def test_dense_architecture(ctx):
    outcome = call_outcomes(ctx, "build_dense_model", "build_dense_model")[0]
    model = built_model(returned(outcome, "build_dense_model", ""), "build_dense_model")
    units = [layer.units for layer in model.layers if hasattr(layer, "units")]
    activations = [layer.activation.__name__ for layer in model.layers if hasattr(layer, "units")]
    check(tuple(model.input_shape) == (None, 784), Text("入力形状 (N, 784)", "input shape (N, 784)"),
          f"input shape {shape_text(model.input_shape)}",
          Text("最初の層に input_shape=(784,) を指定してください。", "Give the first layer input_shape=(784,)."))
    check(units == [128, 64, 10] and activations == ["relu", "relu", "softmax"],
          Text("Dense(128, relu) → Dense(64, relu) → Dense(10, softmax)", "Dense(128, relu) -> Dense(64, relu) -> Dense(10, softmax)"),
          f"Dense units {units}, activations {activations}",
          Text("章の実習①のモデル定義と比べてください。", "Compare with the model of the chapter's exercise 1."))
    check(model.count_params() == 109_386, Text("パラメータ数 109,386", "109,386 parameters"),
          f"{model.count_params():,} parameters",
          Text("784×128+128、128×64+64、64×10+10 を足すと 109,386 です。",
               "784*128+128 + 128*64+64 + 64*10+10 = 109,386."))

def loss_hint(label_format: str) -> Text:
    return Text(f"章の表: {label_format} ラベルには "
                + ("categorical_crossentropy" if label_format == "One-hot" else "sparse_categorical_crossentropy"),
                f"The chapter's table: {label_format} labels go with "
                + ("categorical_crossentropy" if label_format == "One-hot" else "sparse_categorical_crossentropy"))

def check_compile(ctx, probe_id: str, function: str, loss: str, label_format: str) -> None:
    """adam, the loss that fits the label format the model is trained with, and accuracy: read from
    the compile configuration the grader itself trains the model with (see check_accuracy)."""
    outcome = call_outcomes(ctx, probe_id, function)[0]
    artifact = returned(outcome, function, "")
    built_model(artifact, function)
    settings = compile_settings_of(ctx, artifact, function)
    check(settings.loss == loss and not settings.from_logits,
          Text(f"loss='{loss}'（{label_format} ラベル用）", f"loss='{loss}' (for {label_format} labels)"),
          f"loss={settings.loss!r}" + (" (from_logits=True)" if settings.from_logits else ""), loss_hint(label_format))
    check(settings.optimizer_name == "adam", Text("optimizer='adam'", "optimizer='adam'"),
          f"optimizer={settings.optimizer['class_name']!r}",
          Text("compile(optimizer='adam', ...)", "compile(optimizer='adam', ...)"))
    metrics = [m.lower() for m in settings.metrics]
    check(any(m in ("accuracy", "acc", "categorical_accuracy", "sparse_categorical_accuracy") for m in metrics),
          Text("metrics=['accuracy']", "metrics=['accuracy']"), f"metrics={metrics}",
          Text("compile(..., metrics=['accuracy'])", "compile(..., metrics=['accuracy'])"))

def test_dense_compile(ctx):
    check_compile(ctx, "build_dense_model", "build_dense_model", "categorical_crossentropy", "One-hot")
