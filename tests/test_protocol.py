"""The grader <-> worker protocol: every value kind survives the trip from the worker's encoder
(grader/export.py) to the grader's decoder, and the harness imports nothing of the grader but the
protocol and the exporter."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import numpy as np
import pytest

from grader import artifacts, protocol
from grader.artifacts import FigureArtifact, HistoryArtifact, ModelArtifact, Opaque

HARNESS = Path(__file__).resolve().parent.parent / "grader" / "harness.py"


@pytest.fixture(scope="module")
def exporter_class():
    from grader import export  # the worker's exporter (beside harness.py in the job folder), also the kit's
    return export.Exporter


def round_trip(value, folder: Path, exporter_class):
    """Encode as the worker does, write result.json as the harness does, decode as the grader does."""
    import keras
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    folder.mkdir(parents=True, exist_ok=True)
    encoded = exporter_class(str(folder), keras, plt).encode(value)
    (folder / protocol.RESULT_FILE).write_text(json.dumps({"status": protocol.STATUS_OK, "value": encoded}))
    result = artifacts.read_probe(folder, artifacts.ReadBudget())
    assert result.status == protocol.STATUS_OK, result.error_message
    return encoded["kind"], result.value


@pytest.mark.parametrize("value", [3, -1.5, "テキスト", None, True])
def test_json_values_round_trip(value, tmp_path, exporter_class):
    kind, back = round_trip(value, tmp_path, exporter_class)
    assert (kind, back) == (protocol.KIND_JSON, value)


def test_numpy_scalars_round_trip_as_their_value(tmp_path, exporter_class):
    kind, back = round_trip(np.float32(2.5), tmp_path, exporter_class)
    assert (kind, back) == (protocol.KIND_SCALAR, 2.5)


def test_arrays_round_trip_with_dtype_and_shape(tmp_path, exporter_class):
    array = np.arange(12, dtype=np.int16).reshape(3, 4)
    kind, back = round_trip(array, tmp_path, exporter_class)
    assert kind == protocol.KIND_NDARRAY
    assert back.dtype == np.int16 and np.array_equal(back, array)


def test_sequences_keep_list_and_tuple(tmp_path, exporter_class):
    kind, back = round_trip([1, (2, "x")], tmp_path, exporter_class)
    assert kind == protocol.KIND_SEQ
    assert back == [1, (2, "x")] and isinstance(back[1], tuple)


def test_dicts_round_trip_with_string_keys(tmp_path, exporter_class):
    kind, back = round_trip({"a": [1.0, 2.0], 3: "b"}, tmp_path, exporter_class)
    assert (kind, back) == (protocol.KIND_DICT, {"a": [1.0, 2.0], "3": "b"})


def test_histories_round_trip(tmp_path, exporter_class):
    import keras
    history = keras.callbacks.History()
    history.history = {"loss": [1.0, 0.5], "val_loss": [1.2, 0.9]}
    kind, back = round_trip(history, tmp_path, exporter_class)
    assert kind == protocol.KIND_HISTORY
    assert isinstance(back, HistoryArtifact) and back.history == {"loss": [1.0, 0.5], "val_loss": [1.2, 0.9]}


def test_models_round_trip_with_weights_and_compile_configuration(tmp_path, exporter_class):
    import keras
    model = keras.Sequential([keras.Input(shape=(4,)), keras.layers.Dense(3, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    kind, back = round_trip(model, tmp_path, exporter_class)
    assert kind == protocol.KIND_MODEL and isinstance(back, ModelArtifact)
    rebuilt = back.build()
    assert all(np.array_equal(a, b) for a, b in zip(rebuilt.get_weights(), model.get_weights()))
    assert back.compile["loss"] == "sparse_categorical_crossentropy"
    assert back.compile["optimizer"]["class_name"] == "Adam"
    assert back.compiled_objects == {"optimizer": "Adam", "loss": "sparse_categorical_crossentropy"}


def test_figures_round_trip_with_lines_titles_and_images(tmp_path, exporter_class):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    figure, (left, right) = plt.subplots(1, 2)
    left.plot([1, 2, 3], [0.5, 0.25, 0.125], label="loss")
    left.set_title("pred: 3, true: 5")
    right.imshow(np.arange(16).reshape(4, 4))
    kind, back = round_trip(figure, tmp_path, exporter_class)
    plt.close(figure)
    assert kind == protocol.KIND_FIGURE and isinstance(back, FigureArtifact)
    assert back.axes[0]["title"] == "pred: 3, true: 5"
    assert back.axes[0]["lines"][0]["y"] == [0.5, 0.25, 0.125]
    assert back.axes[1]["image_values"] == [list(map(float, range(16)))]
    assert back.png.startswith(b"\x89PNG")


def test_other_objects_cross_as_their_type_name_only(tmp_path, exporter_class):
    kind, back = round_trip(object(), tmp_path, exporter_class)
    assert kind == protocol.KIND_OBJECT and back == Opaque("object")


def test_every_value_kind_has_a_round_trip_test():
    tested = {protocol.KIND_JSON, protocol.KIND_SCALAR, protocol.KIND_NDARRAY, protocol.KIND_SEQ,
              protocol.KIND_DICT, protocol.KIND_HISTORY, protocol.KIND_MODEL, protocol.KIND_FIGURE,
              protocol.KIND_OBJECT}
    assert tested == set(protocol.VALUE_KINDS)


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    imported = {alias.name.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.Import)
                for alias in node.names}
    return imported | {(node.module or "").split(".")[0] for node in ast.walk(tree)
                       if isinstance(node, ast.ImportFrom) and not node.level}


def test_the_harness_imports_only_the_protocol_and_the_exporter_of_the_grader():
    imported = imported_modules(HARNESS)
    assert "grader" not in imported
    assert {"protocol", "export"} <= imported
    exporter = imported_modules(HARNESS.with_name("export.py"))
    assert "grader" not in exporter and "protocol" in exporter


def test_the_protocol_needs_nothing_outside_the_standard_library():
    tree = ast.parse(Path(protocol.__file__).read_text(encoding="utf-8"))
    imported = {alias.name.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.Import)
                for alias in node.names}
    imported |= {(node.module or "").split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    assert imported <= {"__future__", "contextlib", "contextvars", "functools", "gc", "hashlib", "re", "weakref"}


@pytest.mark.parametrize("collecting", [True, False], ids=["collector-on", "collector-off"])
def test_the_collector_is_paused_for_an_import_then_what_it_made_is_frozen_and_its_state_restored(collecting):
    import gc
    was = gc.isenabled()
    (gc.enable if collecting else gc.disable)()
    frozen = gc.get_freeze_count()
    try:
        with protocol.collector_paused():
            paused = gc.isenabled()
            made = [[index] for index in range(1000)]
        assert not paused
        assert gc.get_freeze_count() >= frozen + len(made)
        assert gc.isenabled() == collecting
    finally:
        (gc.enable if was else gc.disable)()


# ---------------------------------------------------------------- batches of small eager fits
class _TfDataOnly:
    """Stands in for protocol._keras_call: no model is known to be eager, so every fit takes tf.data."""

    def get(self) -> None:
        return None

    def set(self, value) -> None:
        return None

    def reset(self, token) -> None:
        return None


@pytest.fixture
def sliced_epochs(monkeypatch):
    """Keras with protocol.install_sliced_batches in place; the list counts the sliced epochs it fed."""
    import keras
    assert protocol.install_sliced_batches(keras, np), "this Keras has other internals than the hook expects"
    epochs = []

    class Counted(protocol.SlicedBatches):
        def __init__(self, *args):
            epochs.append(1)
            super().__init__(*args)

    monkeypatch.setattr(protocol, "SlicedBatches", Counted)
    return epochs


def _small_cnn(keras):
    keras.utils.set_random_seed(3)
    model = keras.Sequential([keras.Input((12, 12, 1)), keras.layers.Conv2D(4, 3, activation="relu"),
                              keras.layers.MaxPooling2D(), keras.layers.Dropout(0.25), keras.layers.Flatten(),
                              keras.layers.Dense(10, activation="softmax")])
    return model


def _top3_of_tensors(y_true, y_pred):
    """A custom metric in the tf.Tensor idioms notebooks use: it fails on NumPy arrays."""
    import keras
    import tensorflow as tf
    assert isinstance(y_true, tf.Tensor) and isinstance(y_pred, tf.Tensor), (type(y_true), type(y_pred))
    if y_true.shape.rank == 2:
        y_true = tf.argmax(y_true, axis=-1)
    return keras.metrics.sparse_top_k_categorical_accuracy(tf.reshape(y_true, [-1]), y_pred, k=3)


def _fit_evaluate_predict(keras, eager: bool, x, y, loss: str, fit_options: dict):
    model = _small_cnn(keras)
    model.compile(optimizer="adam", loss=loss, metrics=["accuracy", _top3_of_tensors], run_eagerly=eager)
    history = model.fit(x, y, epochs=3, shuffle=False, verbose=0, **fit_options)
    evaluated = model.evaluate(x[:30], y[:30], batch_size=8, verbose=0)
    predicted = model.predict(x[:5], verbose=0)
    return history.history, model.get_weights(), evaluated, predicted


SMALL_FITS = {
    "float64 one-hot, validation_split": ("float64", "one-hot", {"validation_split": 0.2, "batch_size": 32}),
    "uint8 integers, validation_data": ("uint8", "integers", {"batch_size": 10}),
    "float32 integers, Keras' batch size": ("float32", "integers", {}),
    "float64 one-hot, a partial last batch": ("float64", "one-hot", {"validation_split": 0.3, "batch_size": 7}),
}


@pytest.mark.parametrize("case", SMALL_FITS)
def test_an_eager_fit_on_arrays_in_order_takes_sliced_batches_and_gets_tf_datas_tensors_and_numbers(
        case, sliced_epochs, monkeypatch):
    import keras
    dtype, labels, options = SMALL_FITS[case]
    rng = np.random.default_rng(7)
    x = rng.random((64, 12, 12, 1))
    x = (x * 255).astype(np.uint8) if dtype == "uint8" else x.astype(dtype)
    y = rng.integers(0, 10, 64)
    loss = "sparse_categorical_crossentropy"
    if labels == "one-hot":
        y, loss = keras.utils.to_categorical(y, 10), "categorical_crossentropy"
    if dtype == "uint8":
        options = {**options, "validation_data": (x[:20], y[:20])}
    sliced = _fit_evaluate_predict(keras, True, x, y, loss, options)
    fed = len(sliced_epochs)
    monkeypatch.setattr(protocol, "_keras_call", _TfDataOnly())
    through_tf_data = _fit_evaluate_predict(keras, True, x, y, loss, options)
    assert fed >= 3 + 2, "the fit's epochs and the evaluation should have taken sliced batches"
    assert len(sliced_epochs) == fed, "with the hook off, Keras' tf.data should have fed every batch"
    history, weights, evaluated, predicted = sliced
    assert history == through_tf_data[0]
    assert all(np.array_equal(a, b) for a, b in zip(weights, through_tf_data[1], strict=True))
    assert evaluated == through_tf_data[2]
    assert np.array_equal(predicted, through_tf_data[3])


def test_a_fit_trains_on_the_arrays_as_they_were_when_it_started(sliced_epochs):
    """tf.data copies the arrays when Keras builds the pipeline; so do the sliced batches: a callback
    that changes x during the fit changes nothing."""
    import keras
    rng = np.random.default_rng(9)
    x, y = rng.random((32, 12, 12, 1)).astype("float32"), rng.integers(0, 10, 32)

    class Scribble(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            x[:] = 0.0

    histories = []
    for callbacks in ([], [Scribble()]):
        model = _small_cnn(keras)
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", run_eagerly=True)
        histories.append(model.fit(x.copy() if not callbacks else x, y, batch_size=8, epochs=2, shuffle=False,
                                   verbose=0, callbacks=callbacks).history)
    assert sliced_epochs and histories[0] == histories[1]


@pytest.mark.parametrize("kind", ["graph-mode model", "shuffled", "tf.data dataset", "two steps per execution",
                                  "strings"])
def test_other_fits_keep_keras_tf_data(kind, sliced_epochs):
    import keras
    import tensorflow as tf
    rng = np.random.default_rng(8)
    x, y = rng.random((40, 12, 12, 1)).astype("float32"), rng.integers(0, 10, 40)
    model = _small_cnn(keras)
    if kind == "strings":
        x = np.array([str(index % 7) for index in range(40)], dtype=object)
        model = keras.Sequential([keras.Input((1,), dtype="string"), keras.layers.StringLookup(vocabulary=list("0123456"),
                                  output_mode="one_hot"), keras.layers.Flatten(), keras.layers.Dense(10, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", run_eagerly=kind != "graph-mode model",
                  steps_per_execution=2 if kind == "two steps per execution" else 1)
    if kind == "tf.data dataset":
        history = model.fit(tf.data.Dataset.from_tensor_slices((x, y)).batch(8), epochs=2, shuffle=False, verbose=0)
    else:
        history = model.fit(x, y, batch_size=8, epochs=2, shuffle=kind == "shuffled", verbose=0)
    assert len(history.history["loss"]) == 2
    assert sliced_epochs == []


def test_a_model_whose_step_function_was_built_as_a_graph_keeps_tf_data_after_run_eagerly_is_set(sliced_epochs):
    """Keras keeps a step function once built: one built in graph mode (a first fit, evaluate or
    train_on_batch before the budget's wrapper sets run_eagerly) would trace sliced batches on their
    concrete shapes and round otherwise than with tf.data."""
    import keras
    rng = np.random.default_rng(10)
    x, y = rng.random((40, 12, 12, 1)).astype("float32"), rng.integers(0, 10, 40)
    model = _small_cnn(keras)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    model.evaluate(x, y, verbose=0)      # builds the test function as a graph
    model.run_eagerly = True             # as the harness does before a budgeted fit
    model.fit(x, y, batch_size=8, epochs=2, validation_split=0.25, shuffle=False, verbose=0)
    assert sliced_epochs == []


def test_validation_after_a_callback_turned_run_eagerly_off_keeps_tf_data(sliced_epochs, monkeypatch):
    import keras
    rng = np.random.default_rng(11)
    x, y = rng.random((40, 12, 12, 1)).astype("float32"), rng.integers(0, 10, 40)

    class GraphFromNowOn(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            self.model.run_eagerly = False

    def fit_once() -> tuple:
        return _eager_fit(_small_cnn(keras), x, y, GraphFromNowOn(), batch_size=8, epochs=2, validation_split=0.25)

    hooked, plain = _with_and_without_the_hook(fit_once, monkeypatch)
    assert hooked == plain
    # Only the first epoch's training batches: from the first batch on the model is no longer eager,
    # and validation's step is built as a graph.
    assert len(sliced_epochs) == 1


def _batch_normalised_cnn(keras):
    """A model whose graph step, traced on a batch's concrete shape, rounds otherwise than Keras' own."""
    keras.utils.set_random_seed(3)
    return keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Conv2D(8, 3), keras.layers.BatchNormalization(),
                             keras.layers.Activation("relu"), keras.layers.GlobalAveragePooling2D(),
                             keras.layers.Dense(10, activation="softmax")])


def _with_and_without_the_hook(fit_once, monkeypatch) -> tuple:
    hooked = fit_once()
    monkeypatch.setattr(protocol, "_keras_call", _TfDataOnly())
    return hooked, fit_once()


def _eager_fit(model, x, y, callback, **options) -> tuple:
    """Compile `model` to run eagerly, fit it in order with `callback`: its History and weights' bytes."""
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", run_eagerly=True)
    history = model.fit(x, y, shuffle=False, verbose=0, callbacks=[callback], **options).history
    return history, [w.tobytes() for w in model.get_weights()]


def test_a_step_function_rebuilt_as_a_graph_mid_epoch_takes_keras_pipeline_for_the_rest_of_it(sliced_epochs, monkeypatch):
    """Public API only: a callback turns run_eagerly off and rebuilds the train function after the
    first batch (with sliced batches the graph would be traced on their concrete shapes)."""
    import keras
    rng = np.random.default_rng(12)
    x, y = rng.random((64, 28, 28, 1)).astype("float32"), rng.integers(0, 10, 64)

    class GraphFromTheSecondBatch(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            if self.model.run_eagerly:
                self.model.run_eagerly = False
                self.model.make_train_function(force=True)

    def fit_once() -> tuple:
        return _eager_fit(_batch_normalised_cnn(keras), x, y, GraphFromTheSecondBatch(), batch_size=20, epochs=3)

    hooked, plain = _with_and_without_the_hook(fit_once, monkeypatch)
    assert len(sliced_epochs) == 1
    assert hooked == plain


def test_steps_per_execution_raised_mid_fit_takes_keras_pipeline_and_ends_the_epoch_as_keras_does(
        sliced_epochs, monkeypatch):
    import keras
    rng = np.random.default_rng(13)
    x, y = rng.random((64, 12, 12, 1)).astype("float32"), rng.integers(0, 10, 64)

    class TwoStepsPerCall(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            self.model.steps_per_execution = 2

    def fit_once() -> tuple:
        return _eager_fit(_small_cnn(keras), x, y, TwoStepsPerCall(), batch_size=10, epochs=2)

    hooked, plain = _with_and_without_the_hook(fit_once, monkeypatch)
    assert len(sliced_epochs) == 1
    assert hooked == plain


def test_a_step_function_keras_built_as_a_graph_behind_run_eagerly_keeps_tf_data(sliced_epochs, monkeypatch):
    """run_eagerly reads True, but the model's class turned it off while Keras built the step."""
    import keras

    class SaysEager(keras.Sequential):
        def _make_function(self, step_function):
            self._run_eagerly = False
            try:
                return super()._make_function(step_function)
            finally:
                self._run_eagerly = True

    rng = np.random.default_rng(14)
    x, y = rng.random((64, 28, 28, 1)).astype("float32"), rng.integers(0, 10, 64)

    def fit_once() -> tuple:
        keras.utils.set_random_seed(3)
        return _eager_fit(SaysEager(_batch_normalised_cnn(keras).layers), x, y, keras.callbacks.Callback(),
                          batch_size=20, epochs=2)

    hooked, plain = _with_and_without_the_hook(fit_once, monkeypatch)
    assert sliced_epochs == []
    assert hooked == plain


def test_a_step_function_the_notebook_set_itself_keeps_tf_data(sliced_epochs):
    """Any callable, even one that cannot be hashed or weakly referenced, counts as a graph."""
    import keras

    class Step:
        __slots__ = ("inner",)
        __eq__ = lambda self, other: self is other  # noqa: E731  and so no __hash__

        def __init__(self, inner):
            self.inner = inner

        def __call__(self, iterator):
            return self.inner(iterator)

    rng = np.random.default_rng(15)
    x, y = rng.random((40, 12, 12, 1)).astype("float32"), rng.integers(0, 10, 40)
    model = _small_cnn(keras)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", run_eagerly=True)
    model.make_train_function()
    model.train_function = Step(model.train_function)
    history = model.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0)
    assert len(history.history["loss"]) == 2
    assert sliced_epochs == []


def test_a_none_inside_the_inputs_keeps_tf_data(sliced_epochs, monkeypatch):
    import keras
    rng = np.random.default_rng(16)
    x = rng.random((40, 12, 12, 1)).astype("float32")

    def predict_once() -> bytes:
        model = _small_cnn(keras)
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", run_eagerly=True)
        return model.predict([x, None], batch_size=8, verbose=0).tobytes()

    hooked, plain = _with_and_without_the_hook(predict_once, monkeypatch)
    assert sliced_epochs == []
    assert hooked == plain


def test_predict_takes_sliced_batches_and_leaves_the_models_later_fits_sliced(sliced_epochs):
    """Keras' predict function is handed batches taken with next(), graph or not: it is no reason to
    give the model's later fit and evaluate tf.data."""
    import keras
    rng = np.random.default_rng(17)
    x, y = rng.random((40, 12, 12, 1)).astype("float32"), rng.integers(0, 10, 40)
    model = _small_cnn(keras)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", run_eagerly=True)
    model.predict(x[:8], batch_size=4, verbose=0)
    after_predict = len(sliced_epochs)
    assert after_predict >= 1
    model.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0)
    model.evaluate(x, y, batch_size=8, verbose=0)
    assert len(sliced_epochs) >= after_predict + 2 + 1


@pytest.mark.parametrize("switch", ["mid-epoch", "at the epoch's end"])
def test_keras_pipeline_taken_over_holds_the_arrays_as_they_were_when_the_fit_started(switch, sliced_epochs, monkeypatch):
    """A callback changes the arrays in place, then the step becomes a graph: Keras' own pipeline,
    built when the fit started, never saw the change."""
    import keras
    rng = np.random.default_rng(18)
    x0, y = rng.random((64, 12, 12, 1)).astype("float32"), rng.integers(0, 10, 64)

    class ChangeThenGraph(keras.callbacks.Callback):
        def __init__(self, x):
            super().__init__()
            self.x = x

        def switch(self):
            self.x[:] = 0.5
            if self.model.run_eagerly:
                self.model.run_eagerly = False
                self.model.make_train_function(force=True)

        def on_train_batch_end(self, batch, logs=None):
            if switch == "mid-epoch" and batch == 1:
                self.switch()

        def on_epoch_end(self, epoch, logs=None):
            if switch == "at the epoch's end":
                self.switch()

    def fit_once() -> tuple:
        x = x0.copy()
        return _eager_fit(_small_cnn(keras), x, y, ChangeThenGraph(x), batch_size=8, epochs=2)

    hooked, plain = _with_and_without_the_hook(fit_once, monkeypatch)
    assert sliced_epochs, "the first epoch should have started on sliced batches"
    assert hooked == plain


def test_a_tf_function_around_keras_step_function_is_no_eager_step(sliced_epochs, monkeypatch):
    """tf.function copies the attributes of what it wraps: the hook must know its own steps by
    identity. Keras raises here (an eager step's Python `if` on a tensor, traced); so must the hook."""
    import keras
    import tensorflow as tf
    rng = np.random.default_rng(19)
    x, y = rng.random((40, 12, 12, 1)).astype("float32"), rng.integers(0, 10, 40)

    def fit_once() -> str:
        model = _small_cnn(keras)
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", run_eagerly=True)
        model.make_train_function()
        model.train_function = tf.function(model.train_function)
        with pytest.raises(Exception) as raised:
            model.fit(x, y, batch_size=8, epochs=1, shuffle=False, verbose=0)
        return type(raised.value).__name__

    hooked, plain = _with_and_without_the_hook(fit_once, monkeypatch)
    assert sliced_epochs == []
    assert hooked == plain == "OperatorNotAllowedInGraphError"
