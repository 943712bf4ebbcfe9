"""grader/harness.py, the worker's side, tested in this process: it is loaded from its file as the
worker loads it (beside protocol.py and export.py, which it imports as top-level modules)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

HARNESS = Path(__file__).resolve().parent.parent / "grader" / "harness.py"


@pytest.fixture(scope="module")
def harness():
    """The harness module; sys.path, and the grader files it imported as top-level modules
    (protocol, export, notebook_trace), are put back afterwards."""
    path = list(sys.path)
    spec = importlib.util.spec_from_file_location("cnn1_harness_under_test", HARNESS)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    yield module
    sys.path[:] = path
    for name, loaded in list(sys.modules.items()):
        if "." not in name and Path(getattr(loaded, "__file__", None) or "/").parent == HARNESS.parent:
            del sys.modules[name]


class FakeKeras:
    """Just what install_wide_batches touches: Model.evaluate and Model.predict, with Keras' own
    signatures, recording the batch size each call received (and in `rows`, the rows of x, y and
    sample_weight)."""

    class Model:
        layers: list = []
        received: list = []
        rows: list = []

        def evaluate(self, x=None, y=None, batch_size=None, verbose="auto", sample_weight=None, steps=None,
                     callbacks=None, return_dict=False, **kwargs):
            FakeKeras.Model.received.append(batch_size)
            FakeKeras.Model.rows.append([len(v) if v is not None else None for v in (x, y, sample_weight)])

        def predict(self, x, batch_size=None, verbose="auto", steps=None, callbacks=None):
            FakeKeras.Model.received.append(batch_size)
            FakeKeras.Model.rows.append([len(x)])


@pytest.fixture()
def wide(harness):
    """A budget that is active (notebook cells) and a fake Keras with wide batches installed."""
    saved = FakeKeras.Model.evaluate, FakeKeras.Model.predict
    FakeKeras.Model.received, FakeKeras.Model.rows = [], []
    budget = harness.Budget(max_epochs=1, max_samples=64)
    budget.active = True
    harness.install_wide_batches(FakeKeras, budget)
    yield budget
    FakeKeras.Model.evaluate, FakeKeras.Model.predict = saved


def test_evaluate_and_predict_on_arrays_in_notebook_cells_take_wide_batches(harness, wide):
    model, x = FakeKeras.Model(), np.zeros((10, 4), dtype="float32")
    model.evaluate(x, np.zeros(10), verbose=0)
    model.predict(x)
    model.evaluate(x, np.zeros(10), 16, 0)  # batch size given by position
    model.predict(x, batch_size=4096)       # wider than the harness would make it
    assert FakeKeras.Model.received == [harness.WIDE_BATCH_ROWS, harness.WIDE_BATCH_ROWS, harness.WIDE_BATCH_ROWS, 4096]


def test_evaluate_in_notebook_cells_sees_the_budgets_first_rows_and_predict_every_row(harness, wide):
    model, x = FakeKeras.Model(), np.zeros((1000, 4), dtype="float32")
    model.evaluate(x, np.zeros(1000), verbose=0, sample_weight=np.ones(1000))
    model.evaluate(x[:10], np.zeros(10))
    model.evaluate(x, [0] * 1000)  # labels in a list: not cut, nor is x
    model.predict(x)
    wide.active = False  # a probe: the student's function as written
    model.evaluate(x, np.zeros(1000))
    assert FakeKeras.Model.rows == [[64, 64, 64], [10, 10, None], [1000, 1000, None], [1000], [1000, 1000, None]]


def test_evaluate_on_arrays_of_different_lengths_is_left_for_keras_to_refuse(harness, wide):
    """Cut to 64 rows each, 1,000 images and 4,000 labels would match, and a notebook that fails in
    Jupyter ("Data cardinality is ambiguous") would go on and be graded further."""
    model, x = FakeKeras.Model(), np.zeros((1000, 4), dtype="float32")
    model.evaluate(x, np.zeros(4000))
    model.evaluate(x, np.zeros(1000), sample_weight=np.ones(10))
    assert FakeKeras.Model.rows == [[1000, 4000, None], [1000, 1000, 10]]


def test_steps_datasets_and_probes_keep_their_batches(harness, wide):
    model, x = FakeKeras.Model(), np.zeros((10, 4), dtype="float32")
    model.evaluate(x, np.zeros(10), batch_size=8, steps=2)  # steps: a wider batch would cover more rows
    model.predict([x, x], batch_size=8)                      # not an array: a dataset or a list of inputs
    wide.active = False                                      # a probe: the student's function as written
    model.predict(x, batch_size=8)
    assert FakeKeras.Model.received == [8, 8, 8]


def test_a_batch_is_widened_only_as_far_as_its_layers_outputs_fit(harness):
    import keras
    small = keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Conv2D(16, 3), keras.layers.Flatten(),
                              keras.layers.Dense(10)])
    large = keras.Sequential([keras.Input((32, 32, 3)), keras.layers.Conv2D(512, 3, padding="same"),
                              keras.layers.Flatten(), keras.layers.Dense(10)])
    assert harness.wide_batch_size(small, None) == harness.WIDE_BATCH_ROWS
    # The large model's layers output 2 x 32*32*512 + 10 floats per image (the Conv2D and its
    # flattened copy), 4 MiB: 128 MiB hold 31 images. Never narrower than asked (Keras' default 32).
    assert harness.wide_batch_size(large, 2) == 31
    assert harness.wide_batch_size(large, None) == 32


def test_the_layers_of_a_nested_model_count_and_a_custom_layer_keeps_the_batch(harness):
    import keras
    backbone = keras.Sequential([keras.Input((32, 32, 3)), keras.layers.Conv2D(256, 3, padding="same"),
                                 keras.layers.Conv2D(256, 3, padding="same")])
    nested = keras.Sequential([keras.Input((32, 32, 3)), backbone, keras.layers.GlobalAveragePooling2D(),
                               keras.layers.Dense(10)])
    # Both inner Conv2Ds count, not just the backbone's output: 2 x 32*32*256 + 256 + 10 floats, 2,098,216
    # bytes per image; 128 MiB hold 63 (counting the backbone as one layer would allow 127).
    assert harness.wide_batch_size(nested, None) == 63

    class Doubling(keras.layers.Layer):  # the notebook's own layer: what it keeps alive is unknown
        def call(self, inputs):
            return inputs * 2

    custom = keras.Sequential([keras.Input((28, 28, 1)), Doubling(), keras.layers.Flatten(), keras.layers.Dense(10)])
    assert harness.wide_batch_size(custom, None) == 32
    assert harness.wide_batch_size(custom, 100) == 100


def test_the_notebook_budget_cuts_every_array_of_a_multi_input_or_multi_output_fit(harness):
    import keras
    budget = harness.Budget(max_epochs=1, max_samples=64)
    budget.active = True
    saved = keras.Model.fit
    harness.install_fit_wrapper(keras, budget, harness.FitRecorder())

    class CountBatches(keras.callbacks.Callback):
        batches = 0

        def on_train_batch_end(self, batch, logs=None):
            CountBatches.batches += 1

    try:
        inputs = keras.Input((4,))
        model = keras.Model(inputs, {"label": keras.layers.Dense(3, activation="softmax", name="label")(inputs),
                                     "value": keras.layers.Dense(1, name="value")(inputs)})
        model.compile("adam", {"label": "sparse_categorical_crossentropy", "value": "mse"})
        x, labels, values = np.zeros((200, 4), "float32"), np.zeros(200, "int64"), np.zeros((200, 1), "float32")
        # Cutting x alone would leave 64 inputs against 200 targets: "Data cardinality is ambiguous".
        history = model.fit(x, {"label": labels, "value": values}, epochs=5, batch_size=32,
                            validation_data=[x, {"label": labels, "value": values}], callbacks=[CountBatches()])
    finally:
        keras.Model.fit = saved
    assert len(history.history["loss"]) == 1 and "val_loss" in history.history
    assert CountBatches.batches == 2   # 64 rows in batches of 32, not 200 rows in 7 batches


def test_an_error_that_ends_a_step_after_its_time_limit_fired_is_reported_as_the_timeout(harness):
    """Where the alarm lands in Keras' fit loop, its StepTimeout can be swallowed or turned into another
    error by cleanup code (CI, loaded machine: train_model in hostile case time_million_epochs got
    "AssertionError: " instead of Timeout). The same error without the alarm keeps its own name."""
    import time

    def cleanup_asserts():
        try:
            time.sleep(5)
        finally:
            assert False

    def swallows_then_asserts():
        try:
            time.sleep(5)
        except BaseException:
            pass
        assert False

    for step in (cleanup_asserts, swallows_then_asserts):
        with pytest.raises(AssertionError) as raised:
            with harness.time_limit(0.2):
                step()
        assert harness.describe_error(raised.value)["type"] == "Timeout", step.__name__
    with pytest.raises(AssertionError) as raised:
        with harness.time_limit(5):
            assert False
    assert harness.describe_error(raised.value)["type"] == "AssertionError"
