"""grader/notebook_trace.py: the worker side of free-form mode finds the served rows in whatever a
notebook made of them, tells label formats apart, and describes what it fitted."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest

from grader.notebook_trace import KEY_CHUNK, SIGNATURE_PIXELS, DatasetIndex, NotebookTrace, label_format


@pytest.fixture(scope="module")
def images():
    rng = np.random.default_rng(3)
    x = rng.integers(0, 256, size=(400, 28, 28), dtype=np.uint8)
    x[:, :4] = 0  # blank borders, as MNIST has
    return x, rng.integers(0, 10, size=400)


@pytest.mark.parametrize("transform", [
    lambda x: x.reshape(len(x), 784).astype("float32") / 255,
    lambda x: (x / 255.0).reshape(-1, 28, 28, 1),
    lambda x: x.astype("float64") * 2.0 - 7.0,
])
def test_rows_are_found_whatever_the_shape_and_scale(images, transform):
    x, y = images
    index = DatasetIndex(x, y)
    order = np.random.default_rng(0).permutation(len(x))[:150]
    assert np.array_equal(index.rows(transform(x[order])), order)


def many_images(count: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(5)
    return rng.integers(0, 256, size=(count, 28, 28), dtype=np.uint8), rng.integers(0, 10, size=count)


def test_rows_are_found_across_key_chunks():
    x, y = many_images(2 * KEY_CHUNK + 123)   # two whole chunks and a part of one
    index = DatasetIndex(x, y)
    order = np.random.default_rng(1).permutation(len(x))
    assert np.array_equal(index.rows(x[order].astype("float32") / 255), order)


def test_a_rows_key_does_not_depend_on_the_rows_keyed_with_it():
    """The worker keys a fit's whole x, the grader's replay only the budget's cut of it: a row must get
    the same key, to the bit, either way (else a row at the match tolerance's edge is found by one
    side and not the other, and an honest fit is contradicted)."""
    x, y = many_images(2 * KEY_CHUNK + 123)
    index = DatasetIndex(x, y)
    given = (x / 255.0).reshape(len(x), -1)
    whole = index._keys(given)
    for start, count in [(0, 1), (0, 2), (0, 64), (7, 64), (KEY_CHUNK - 10, 64), (5, KEY_CHUNK + 1)]:
        part = index._keys(given[start:start + count])
        assert np.array_equal(part, whole[start:start + count]), (start, count)


def _shifted(shape, dtype, offset: int) -> np.ndarray:
    """An empty array whose data starts `offset` bytes past a 64-byte boundary."""
    dtype = np.dtype(dtype)
    size = int(np.prod(shape)) * dtype.itemsize
    raw = np.zeros(size + 64 + offset, dtype=np.uint8)
    start = (-raw.ctypes.data) % 64 + offset
    return raw[start:start + size].view(dtype).reshape(shape)


@pytest.mark.parametrize("offset", range(8, 64, 8))
def test_a_rows_key_does_not_depend_on_where_its_arrays_lie_in_memory(offset, monkeypatch):
    """The worker's and the grader's arrays and buffers start wherever their allocators put them: a
    vectorised loop that treats an unaligned head apart would round the same row differently."""
    x, y = many_images(KEY_CHUNK + 77)
    index = DatasetIndex(x, y)
    given = (x / 255.0).reshape(len(x), -1)
    aligned = index._keys(given)
    moved = _shifted(given.shape, given.dtype, offset)
    moved[...] = given
    directions = _shifted(index.directions.shape, index.directions.dtype, offset)
    directions[...] = index.directions
    monkeypatch.setattr(index, "directions", directions)
    made = []
    monkeypatch.setattr(np, "empty", lambda shape, dtype=float: made.append(shape) or _shifted(shape, dtype, offset))
    keys = index._keys(moved)
    assert len(made) == 3, "the keys and both chunk buffers should have been made where this test puts them"
    assert np.array_equal(keys, aligned, equal_nan=True)


def test_keying_holds_two_chunk_buffers_whatever_the_number_of_images():
    """Each fit's x is keyed (60,000 images for MNIST): its working memory is two reused buffers of a
    chunk's signature pixels plus a few values per image, not fresh arrays for every chunk."""
    x, y = many_images(5 * KEY_CHUNK)
    index = DatasetIndex(x, y)
    given = x.astype("float32") / 255
    bound = 2 * KEY_CHUNK * SIGNATURE_PIXELS * 8 + 64 * len(given)
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        before = tracemalloc.get_traced_memory()[0]
        assert (index.rows(given) >= 0).all()
        peak = tracemalloc.get_traced_memory()[1] - before
    finally:
        tracemalloc.stop()
    assert peak <= bound, f"expected at most {bound:,} bytes while keying, got {peak:,}"


def test_images_that_are_not_served_are_not_found(images):
    x, y = images
    index = DatasetIndex(x, y)
    other = np.random.default_rng(99).integers(0, 256, size=(20, 28, 28), dtype=np.uint8)
    assert (index.rows(other) == -1).all()
    assert index.rows(np.zeros((5, 32, 32, 3))) is None  # another image size: not this split


def test_only_splits_of_the_arrays_image_size_are_indexed(images):
    x, y = images
    cifar = np.random.default_rng(5).integers(0, 256, size=(50, 32, 32, 3), dtype=np.uint8)
    trace = NotebookTrace({"mnist:train": (x[:300], y[:300]), "mnist:test": (x[300:], y[300:]),
                           "cifar10:train": (cifar, np.zeros(50, dtype=int))})
    where = trace.locate(x[:40].reshape(40, 784) / 255)
    assert where["split"] == "mnist:train" and where["found"] == 40
    assert where["found_by_split"] == {"mnist:train": 40, "mnist:test": 0, "cifar10:train": 0}
    assert sorted(trace.indexes) == ["mnist:test", "mnist:train"]  # no pass over the CIFAR-10 images


def test_an_image_flat_over_the_signature_pixels_matches_nothing(images):
    x, y = images
    index = DatasetIndex(x, y)
    assert (index.rows(np.full((2, 28, 28), 7, dtype=np.uint8)) == -1).all()


def test_label_formats_and_whether_they_are_the_rows_labels():
    labels = np.array([3, 1, 4, 1, 5])
    rows = np.array([0, 1, 2, 3, 4])
    assert label_format(np.eye(10)[labels], labels, rows) == {"format": "one-hot", "matches": True, "shape": [5, 10]}
    assert label_format(labels.reshape(-1, 1), labels, rows)["format"] == "integer"
    assert label_format(labels, labels, rows)["matches"]
    assert not label_format(labels[::-1], labels, rows)["matches"]
    assert label_format(np.zeros((5, 3, 2)), labels, rows)["format"] == "other"


def test_a_fit_is_traced_before_the_budget_cuts_it(images):
    import keras
    x, y = images
    trace = NotebookTrace({"mnist:train": (x[:300], y[:300]), "mnist:test": (x[300:], y[300:])})
    model = keras.Sequential([keras.Input(shape=(784,)), keras.layers.Dense(10, activation="softmax")])
    model.compile(optimizer="adam", loss="categorical_crossentropy")
    flat = x[:300].reshape(300, 784) / 255.0
    record = trace.record_fit(model, {"x": flat[:200], "y": np.eye(10)[y[:200]], "epochs": 5,
                                      "validation_data": (flat[200:], np.eye(10)[y[200:300]])})
    assert record["split"] == "mnist:train" and np.array_equal(record["rows"], np.arange(200))
    assert record["scale"] == pytest.approx([1 / 255, 0.0], abs=1e-6)
    assert record["labels"]["format"] == "one-hot" and record["labels"]["matches"]
    assert np.array_equal(record["validation"]["rows"], np.arange(200, 300))
    again = trace.record_fit(model, {"x": flat, "y": y[:300], "validation_split": 0.25})
    assert len(again["rows"]) == 225 and len(again["validation"]["rows"]) == 75
    assert trace.locate(x[300:])["split"] == "mnist:test"


def test_test_images_among_training_images_are_counted(images):
    x, y = images
    trace = NotebookTrace({"cifar10:train": (x[:300], y[:300]), "cifar10:test": (x[300:], y[300:])})
    mixed = np.concatenate([x[:250], x[300:320]]) / 255.0
    record = trace.locate(mixed)
    assert record["split"] == "cifar10:train" and record["found_by_split"] == {"cifar10:train": 250, "cifar10:test": 20}


def test_a_model_loaded_with_load_model_is_compiled_while_the_trace_hooks_are_in(images, tmp_path):
    import keras
    import keras.src.trainers.trainer as trainer
    import sklearn.metrics as metrics
    import sklearn.metrics._classification as classification
    import sklearn.metrics._plot.confusion_matrix as display
    import tensorflow as tf
    from grader.notebook_trace import install_trace_hooks
    saved = {"compile": trainer.Trainer.compile, "predict": keras.Model.predict, "evaluate": keras.Model.evaluate,
             "matrix": metrics.confusion_matrix, "tf_matrix": tf.math.confusion_matrix}
    try:
        trace = NotebookTrace({})
        install_trace_hooks(keras, trace)
        model = keras.Sequential([keras.Input(shape=(4,)), keras.layers.Dense(3, activation="softmax")])
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
        model.save(tmp_path / "m.keras")
        loaded = keras.models.load_model(tmp_path / "m.keras")
        assert loaded.compiled and np.isfinite(loaded.evaluate(np.zeros((2, 4)), np.zeros(2), verbose=0))
        assert trace.compiles.get(trace.serial_of(model)) == 1
    finally:
        trainer.Trainer.compile = saved["compile"]
        keras.Model.predict, keras.Model.evaluate = saved["predict"], saved["evaluate"]
        metrics.confusion_matrix = classification.confusion_matrix = display.confusion_matrix = saved["matrix"]
        tf.math.confusion_matrix = saved["tf_matrix"]
