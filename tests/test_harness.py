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
    signatures, recording the batch size each call received."""

    class Model:
        layers: list = []
        received: list = []

        def evaluate(self, x=None, y=None, batch_size=None, verbose="auto", sample_weight=None, steps=None,
                     callbacks=None, return_dict=False, **kwargs):
            FakeKeras.Model.received.append(batch_size)

        def predict(self, x, batch_size=None, verbose="auto", steps=None, callbacks=None):
            FakeKeras.Model.received.append(batch_size)


@pytest.fixture()
def wide(harness):
    """A budget that is active (notebook cells) and a fake Keras with wide batches installed."""
    saved = FakeKeras.Model.evaluate, FakeKeras.Model.predict
    FakeKeras.Model.received = []
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
