"""grader/free_checks/replay.py: a free-form fit counts only when the grader, repeating it from the
data the harness kept, finds the rows, labels and History its record names; edited records are
contradicted, fits it cannot repeat are explained. Whole notebooks: tests/test_free_mode.py and the
hostile case integrity_free_edited_records.py."""

from __future__ import annotations

import json

import numpy as np
import pytest

from grader import protocol
from grader.artifacts import ModelArtifact
from grader.free_checks.evidence import Model, Trace, _fit
from grader.free_checks.replay import verify_fits
from grader.notebook_trace import NotebookTrace, _plain

MAX_SAMPLES, MAX_EPOCHS = 64, 3
SPLIT = "mnist:train"


@pytest.fixture(scope="module")
def served():
    rng = np.random.default_rng(5)
    images = rng.integers(0, 256, size=(300, 28, 28), dtype=np.uint8)
    labels = rng.integers(0, 10, size=300).astype(np.uint8)
    return {SPLIT: (images, labels)}


def build(dropout: bool = True):
    import keras
    layers = [keras.Input(shape=(784,)), keras.layers.Dense(16, activation="relu")]
    layers += [keras.layers.Dropout(0.3)] if dropout else []
    model = keras.Sequential(layers + [keras.layers.Dense(10, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def worker_fit(trace: NotebookTrace, model, x, y, validation=None, unreplayed=(), epochs=5, compiled=1):
    """What the harness's fit wrapper does in free-form mode: trace, cut to the budget, keep the
    replay data, fit in order; the History goes into the record."""
    trace.compiles[trace.serial_of(model)] = compiled
    arguments = {"x": x, "y": y, "epochs": epochs, "batch_size": 16}
    if validation is not None:
        arguments["validation_data"] = validation
    record = trace.record_fit(model, arguments)
    arguments["epochs"] = min(epochs, MAX_EPOCHS)
    arguments["x"], arguments["y"] = x[:MAX_SAMPLES], y[:MAX_SAMPLES]
    if validation is not None:
        arguments["validation_data"] = tuple(v[:MAX_SAMPLES] for v in validation)
    trace.prepare_replay(model, record, arguments, list(unreplayed))
    before = protocol.array_digests(model.get_weights())
    history = model.fit(**arguments, shuffle=False, verbose=0)
    record["history"] = {k: [float(v) for v in values] for k, values in history.history.items()}
    record["changed_arrays"] = protocol.changed_arrays(before, model.get_weights())
    return record


def grader_view(trace: NotebookTrace, served, edit=lambda records: None) -> Trace:
    """The trace as the grader reads it (rows as int32, models rebuilt), after `edit` of the records."""
    records = [_plain(record) for record in trace.fits]
    edit(records)
    sizes = {split: len(images) for split, (images, _) in served.items()}
    models = []
    for serial, keras_model in enumerate(trace.models):
        artifact = ModelArtifact(json.loads(keras_model.to_json()), [np.array(w) for w in keras_model.get_weights()],
                                 keras_model.get_compile_config())
        models.append(Model(serial, artifact, artifact.build()))
    return Trace(models=models, fits=[_fit(i, r, sizes) for i, r in enumerate(records)])


def scaled(images, rows):
    return images[rows].reshape(len(rows), -1).astype("float32") / 255.0


def test_an_honest_fit_with_dropout_is_established_with_the_graders_own_values(served):
    images, labels = served[SPLIT]
    trace = NotebookTrace(served)
    rows, held = np.arange(100), np.arange(100, 150)
    worker_fit(trace, build(), scaled(images, rows), labels[rows].astype(int),
               validation=(scaled(images, held), labels[held].astype(int)))
    view = grader_view(trace, served, edit=lambda records: records[0]["labels"].update(matches=False))
    assert verify_fits(view, served, MAX_SAMPLES, MAX_EPOCHS) == []
    [fit] = view.fits
    assert fit.unverified == ""
    assert fit.labels["format"] == "integer" and fit.labels["matches"]  # recomputed, the edit is gone
    assert abs(fit.scale[0] * 255 - 1) < 1e-3 and len(fit.history["val_loss"]) == MAX_EPOCHS


def test_an_edited_history_is_unconfirmed_and_counts_for_nothing(served):
    images, labels = served[SPLIT]
    trace = NotebookTrace(served)
    rows, held = np.arange(100), np.arange(100, 150)
    worker_fit(trace, build(), scaled(images, rows), labels[rows].astype(int),
               validation=(scaled(images, held), labels[held].astype(int)))
    view = grader_view(trace, served, edit=lambda records: records[0]["history"].update(val_loss=[1.0, 0.5, 0.2]))
    assert verify_fits(view, served, MAX_SAMPLES, MAX_EPOCHS) == []  # honest training can differ too: no flag
    assert "another History" in view.fits[0].unverified


def test_edited_rows_are_contradicted(served):
    images, labels = served[SPLIT]
    trace = NotebookTrace(served)
    rows = np.arange(100)
    worker_fit(trace, build(), scaled(images, rows), labels[rows].astype(int))
    view = grader_view(trace, served, edit=lambda records: records[0].update(rows=np.arange(150, 250, dtype=np.int32)))
    [contradiction] = verify_fits(view, served, MAX_SAMPLES, MAX_EPOCHS)
    assert "rows it trained on" in contradiction


def test_a_model_fitted_twice_goes_on_with_its_optimizer_and_a_new_compile_starts_over(served):
    images, labels = served[SPLIT]
    trace = NotebookTrace(served)
    model = build()
    first, second = np.arange(64), np.arange(64, 128)
    worker_fit(trace, model, scaled(images, first), labels[first].astype(int))
    worker_fit(trace, model, scaled(images, second), labels[second].astype(int))
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    worker_fit(trace, model, scaled(images, first), labels[first].astype(int), compiled=2)
    view = grader_view(trace, served)
    assert verify_fits(view, served, MAX_SAMPLES, MAX_EPOCHS) == []
    assert [fit.unverified for fit in view.fits] == ["", "", ""]


def test_a_fit_the_grader_cannot_repeat_is_unverified_and_says_why(served):
    images, labels = served[SPLIT]
    trace = NotebookTrace(served)
    rows = np.arange(100)
    worker_fit(trace, build(), scaled(images, rows), labels[rows].astype(int),
               unreplayed=["callback LearningRateScheduler"])
    view = grader_view(trace, served)
    assert verify_fits(view, served, MAX_SAMPLES, MAX_EPOCHS) == []  # not a contradiction: an explanation
    assert "LearningRateScheduler" in view.fits[0].unverified


def test_replay_data_beyond_the_budget_are_refused(served):
    images, labels = served[SPLIT]
    trace = NotebookTrace(served)
    rows = np.arange(100)
    worker_fit(trace, build(), scaled(images, rows), labels[rows].astype(int))

    def grow(records):
        replay = records[0]["replay"]
        replay["x"], replay["y"] = scaled(images, np.arange(100)), labels[:100].astype(int)

    view = grader_view(trace, served, edit=grow)
    verify_fits(view, served, MAX_SAMPLES, MAX_EPOCHS)
    assert "budget allows" in view.fits[0].unverified


def test_the_grader_repeats_at_most_the_first_fits_whatever_the_trace_holds(served):
    from grader import protocol
    images, labels = served[SPLIT]
    trace = NotebookTrace(served)
    rows = np.arange(100)
    worker_fit(trace, build(), scaled(images, rows), labels[rows].astype(int))

    def many(records):
        refused = {**records[0], "replay": {"refused": "not kept"}}
        records[:] = [refused] * protocol.MAX_REPLAYED_FITS + [records[0]] * 2

    view = grader_view(trace, served, edit=many)
    verify_fits(view, served, MAX_SAMPLES, MAX_EPOCHS)
    assert [fit.unverified for fit in view.fits[-2:]] == [f"not repeated: only the first {protocol.MAX_REPLAYED_FITS} fits are"] * 2


def test_the_harness_keeps_nothing_for_data_that_are_not_arrays_and_stops_at_its_budget(served, monkeypatch):
    from grader import protocol
    images, labels = served[SPLIT]
    trace = NotebookTrace(served)
    model = build(dropout=False)
    record = {"model": trace.serial_of(model)}
    trace.prepare_replay(model, record, {"x": scaled(images, np.arange(8)).tolist(), "y": labels[:8]}, [])
    assert "numpy arrays" in record["replay"]["refused"]
    monkeypatch.setattr(protocol, "MAX_REPLAY_BYTES", 1000)
    trace.prepare_replay(model, record, {"x": scaled(images, np.arange(8)), "y": labels[:8]}, [])
    assert "only the first fits" in record["replay"]["refused"] and trace.replay_bytes == 0


def test_a_fold_that_starts_from_weights_an_earlier_fit_trained_is_not_fresh(served):
    images, labels = served[SPLIT]
    trace = NotebookTrace(served)
    rows = np.arange(100)
    base = build()
    worker_fit(trace, base, scaled(images, rows), labels[rows].astype(int))
    copied = build()
    copied.set_weights(base.get_weights())                     # a clone given trained weights
    worker_fit(trace, copied, scaled(images, rows), labels[rows].astype(int))
    reset = build()
    reset_weights = reset.get_weights()
    worker_fit(trace, reset, scaled(images, rows), labels[rows].astype(int))
    reset.set_weights(reset_weights)                           # the same model reset: fresh again
    reset.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    worker_fit(trace, reset, scaled(images, rows), labels[rows].astype(int), compiled=2)
    view = grader_view(trace, served)
    verify_fits(view, served, MAX_SAMPLES, MAX_EPOCHS)
    assert [fit.unverified for fit in view.fits] == [""] * 4
    assert [fit.fresh for fit in view.fits] == [True, False, True, True]


def test_a_fold_that_starts_from_what_an_unrepeatable_fit_trained_is_not_fresh(served):
    """A fit the grader cannot repeat (here: class_weight) trains on every row, folds included; each fold
    then starts from its weights. No repeated fit produced them, but the record says which arrays that
    fit changed (before: such folds passed as fresh cross-validation)."""
    images, labels = served[SPLIT]
    trace = NotebookTrace(served)
    rows = np.arange(100)
    pretrained = build()
    worker_fit(trace, pretrained, scaled(images, rows), labels[rows].astype(int), unreplayed=["class_weight"])
    started_from_it = build()
    started_from_it.set_weights(pretrained.get_weights())
    worker_fit(trace, started_from_it, scaled(images, rows), labels[rows].astype(int))
    worker_fit(trace, build(), scaled(images, rows), labels[rows].astype(int))
    view = grader_view(trace, served)
    verify_fits(view, served, MAX_SAMPLES, MAX_EPOCHS)
    assert view.fits[0].unverified.startswith("not repeated") and [f.unverified for f in view.fits[1:]] == ["", ""]
    assert [fit.fresh for fit in view.fits[1:]] == [False, True]


def test_the_loss_judged_is_the_one_the_fit_trained_with(served):
    images, labels = served[SPLIT]
    trace = NotebookTrace(served)
    rows = np.arange(100)
    model = build(dropout=False)
    model.compile(optimizer="adam", loss="mean_squared_error", metrics=["accuracy"])
    one_hot = np.eye(10, dtype="float32")[labels[rows]]
    worker_fit(trace, model, scaled(images, rows), one_hot)
    model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])  # after training
    view = grader_view(trace, served)
    verify_fits(view, served, MAX_SAMPLES, MAX_EPOCHS)
    assert view.fits[0].unverified == "" and view.fits[0].loss == "mean_squared_error"
    assert view.models[0].loss() == "categorical_crossentropy"


def test_a_fit_that_never_finished_is_not_repeated(served):
    images, labels = served[SPLIT]
    trace = NotebookTrace(served)
    rows = np.arange(100)
    worker_fit(trace, build(dropout=False), scaled(images, rows), labels[rows].astype(int))
    view = grader_view(trace, served, edit=lambda records: records[0].pop("history"))  # the fit raised
    verify_fits(view, served, MAX_SAMPLES, MAX_EPOCHS)
    assert "did not finish" in view.fits[0].unverified


def test_a_split_is_indexed_once_per_content_and_the_kept_index_finds_what_a_new_one_finds(served):
    from grader.free_checks.replay import index_of
    from grader.notebook_trace import DatasetIndex
    images, labels = served[SPLIT]
    first = index_of(images, labels)
    assert index_of(images.copy(), labels.copy()) is first  # the same content served again: kept
    changed = images.copy()
    changed[7, 3, 3] ^= 1
    assert index_of(changed, labels) is not first
    assert index_of(images, (labels + 1) % 10) is not first
    asked = images[[5, 250, 17]].reshape(3, -1) / 255.0
    assert np.array_equal(first.rows(asked), DatasetIndex(images, labels).rows(asked))
    assert list(first.rows(asked)) == [5, 250, 17]
