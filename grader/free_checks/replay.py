"""Free-form mode: the notebook's fits, repeated by the grader.

The trace's fit records are written inside the student's process. For each of the first fits the
harness also keeps the data the fit trained on (after the budget's cut, at most 64 rows), the weights
it started from and its compile settings. Here the grader establishes the facts itself:

* which served rows those arrays are, at what scale, and whether y holds their labels (and in which
  format), with the same signature index the harness uses, on the data the grader served;
* whether those rows are the first of the rows the record claims for the whole fit;
* the History, by repeating the fit on its own copy of the model (same start weights and compile
  settings, seeded random layers, batches in order; a model fitted again goes on with its optimizer).

A record passes only when all of that agrees; its History and loss are then the grader's own, and a
fit is fresh when none of its starting weights is an array an earlier fit trained. A fit that cannot
be repeated, or whose repetition gives another History, is unverified and counts for no check (an
honest notebook can train in ways the grader does not repeat); rows that are not the ones the record
names cannot happen honestly: they flag the submission.
The claimed rows beyond the cut stay claims (docs/security.md, "Free-form mode").
"""

from __future__ import annotations

import hashlib
import json
import time

import numpy as np

from grader import protocol
from grader.compile_config import TrainingRefused, compile_settings
from grader.notebook_trace import DatasetIndex, label_format, scale_of
from grader.training import compiled_model, same_history

HISTORY_METRICS = ("loss", "val_loss", "accuracy", "val_accuracy", "acc", "val_acc")
REPLAYED_METRICS = ("accuracy", "acc", "categorical_accuracy", "sparse_categorical_accuracy")
MAX_REPLAY_SECONDS = 120   # the grader's time for repeating one notebook's fits (the reference needs about 5)


def served_splits(plan) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """The splits the grader served to the notebook, by "dataset:split" (as the harness names them)."""
    return {f"{name}:{split}": (arrays[f"x_{split}"], np.asarray(arrays[f"y_{split}"]))
            for name, arrays in plan.notebook_data.items() for split in ("train", "test")}


# Indexes of served splits, by a digest of what they index: every notebook is served the same splits,
# so a process that grades many (a batch) builds each once, not about 0.5 s of CPU per grading.
_built_indexes: dict[str, DatasetIndex] = {}
MAX_KEPT_INDEXES = 8


def index_of(images: np.ndarray, labels: np.ndarray) -> DatasetIndex:
    """The index of one served split: built, or the one built before for the same images and labels."""
    digest = hashlib.sha256(repr((images.shape, images.dtype.str, labels.shape, labels.dtype.str)).encode())
    for array in (images, labels):
        digest.update(memoryview(np.ascontiguousarray(array)).cast("B"))
    key = digest.hexdigest()
    if key not in _built_indexes:
        if len(_built_indexes) >= MAX_KEPT_INDEXES:
            _built_indexes.clear()
        _built_indexes[key] = DatasetIndex(images, labels)
    return _built_indexes[key]


def prepare(plan, memo: dict) -> None:
    """While the worker runs: load Keras and index the served splits, so that the checks need not.
    Nothing here decides a verdict: on any problem the checks do the same work themselves."""
    from grader.training import pin_threads
    try:
        pin_threads()  # imports TensorFlow
        memo["free_indexes"] = {split: index_of(*arrays) for split, arrays in served_splits(plan).items()}
    except Exception:
        return


def verify_fits(trace, served: dict[str, tuple[np.ndarray, np.ndarray]], max_samples: int, max_epochs: int,
                indexes: dict[str, DatasetIndex] | None = None) -> list[str]:
    """Mark each of the trace's fits established or not (why), replace its scale, labels, loss and
    History with the grader's own, and tell whether it started from weights no earlier fit trained;
    return the contradictions found (for an UNVERIFIED flag)."""
    indexes = {} if indexes is None else indexes
    replayed: dict[int, tuple[object, int]] = {}   # model serial -> (the grader's model, compile count)
    trained: list[np.ndarray] = []                  # arrays an established fit changed
    claimed_trained: set[str] = set()               # digests of arrays any earlier fit says it changed
    contradictions = []
    deadline = time.monotonic() + MAX_REPLAY_SECONDS
    for fit in trace.fits:
        earlier_claims = set(claimed_trained)
        claimed_trained |= fit.changed_arrays
        if fit.index >= protocol.MAX_REPLAYED_FITS:  # the trace's length is the student's to choose
            fit.unverified = f"not repeated: only the first {protocol.MAX_REPLAYED_FITS} fits are"
            continue
        if time.monotonic() > deadline:
            fit.unverified = f"not repeated: the grader's time for repeating fits ({MAX_REPLAY_SECONDS} s) is used up"
            continue
        try:
            fit.unverified = _establish(fit, trace, served, indexes, replayed, max_samples, max_epochs)
        except TrainingRefused as exc:
            fit.unverified = f"the grader does not train this model ({exc})"
        except Exception as exc:  # a record the grader cannot use: not evidence, and said why
            fit.unverified = f"the record could not be repeated ({type(exc).__name__}: {str(exc)[:120]})"
        if fit.unverified.startswith("contradicted"):
            contradictions.append(f"fit {fit.index + 1}: {fit.unverified}")
        if fit.unverified:
            replayed.pop(fit.model, None)  # its model's later fits start from an unknown optimizer state
            continue
        start = fit.replay["weights_before"]
        # A fit the grader could not repeat (class_weight, say) still says which arrays it trained: a
        # fold starting from one of them is not fresh, though no repeated fit produced it.
        fit.fresh = not any(_reused(array, trained) for array in start) \
            and not earlier_claims & set(protocol.array_digests(np.asarray(array) for array in start))
        end = replayed[fit.model][0].get_weights()
        trained += [np.array(after) for before, after in zip(start, end) if not np.array_equal(before, after)]
    return contradictions


def _reused(array: np.ndarray, trained: list[np.ndarray]) -> bool:
    """Whether a starting weight array is one an earlier fit trained (a model carried over, a clone
    given trained weights, layers shared between models)."""
    return any(array.shape == done.shape and np.allclose(array, done, rtol=1e-5, atol=1e-7) for done in trained)


def _establish(fit, trace, served, indexes, replayed, max_samples: int, max_epochs: int) -> str:
    """Why the fit is not established ("" when it is), filling in the grader's own values."""
    data = fit.replay
    if not isinstance(data, dict) or "refused" in data:
        return "not repeated: " + str((data or {}).get("refused", "no data kept for it"))[:200]
    if not fit.history.get("loss"):
        return "not repeated: the fit did not finish (it has no History)"
    problem = _malformed(data, max_samples, max_epochs)
    if problem:
        return "not repeated: " + problem
    if fit.split not in served:
        return "not repeated: its images are not from the data the grader served"
    images, labels = served[fit.split]
    index = _index(indexes, served, fit.split)
    rows = index.rows(data["x"])
    claimed = np.concatenate([fit.rows, fit.validation_rows if fit.validation_kind == "split" else []])
    if rows is None or not np.array_equal(rows, claimed[:len(rows)].astype(np.int64)):
        return "contradicted: the rows it trained on are not the rows its record names"
    fit.scale = tuple(scale_of(data["x"], images, rows))
    fit.labels = label_format(data["y"], labels.reshape(-1), rows)
    if data["validation_x"] is not None and fit.validation_split in served:
        rows_v = _index(indexes, served, fit.validation_split).rows(data["validation_x"])
        if rows_v is None or fit.validation_rows is None or \
                not np.array_equal(rows_v, fit.validation_rows[:len(rows_v)].astype(np.int64)):
            return "contradicted: the rows it validated on are not the rows its record names"
    model = trace.model(fit.model)
    if model is None or model.keras_model is None:
        return "not repeated: its model was not exported or could not be rebuilt"
    settings = compile_settings(json.loads(data["compile_json"]) if isinstance(data.get("compile_json"), str) else None)
    fit.loss = settings.loss  # the loss this fit trained with (the model may be compiled again later)
    history = _repeat(fit, model, data, settings, replayed)
    common = [metric for metric in HISTORY_METRICS if metric in history and metric in fit.history]
    if "loss" not in common or not same_history(history, fit.history, common):
        # An honest notebook can train in ways the grader does not repeat (an optimizer shared between
        # models, a learning rate changed by hand, a loss option): unconfirmed, not an accusation.
        return "not confirmed: repeating it gives another History than the one recorded"
    fit.history = history
    return ""


def _index(indexes: dict, served: dict, split: str) -> DatasetIndex:
    if split not in indexes:
        indexes[split] = index_of(*served[split])
    return indexes[split]


def _malformed(data: dict, max_samples: int, max_epochs: int) -> str:
    arrays = [data.get(k) for k in ("x", "y")]
    validation = [data.get(k) for k in ("validation_x", "validation_y")]
    if not all(isinstance(a, np.ndarray) and a.dtype.kind in "iufb" and 1 <= len(a) <= max_samples for a in arrays):
        return "its data are not the arrays the budget allows"
    if any(v is not None for v in validation) and not all(
            isinstance(v, np.ndarray) and v.dtype.kind in "iufb" and 1 <= len(v) <= max_samples for v in validation):
        return "its validation data are not the arrays the budget allows"
    if len(arrays[0]) != len(arrays[1]) or (validation[0] is not None and len(validation[0]) != len(validation[1])):
        return "its x and y differ in length"
    if not (isinstance(data.get("epochs"), int) and 1 <= data["epochs"] <= max_epochs):
        return "its number of epochs is outside the budget"
    batch = data.get("batch_size")
    if not (batch is None or (isinstance(batch, int) and batch >= 1)) or not isinstance(data.get("validation_split"), float):
        return "its batch size or validation split is not a plain number"
    if not isinstance(data.get("weights_before"), list) or not isinstance(data.get("compiled"), int):
        return "its starting weights were not kept"
    for array in [*arrays, *[v for v in validation if v is not None], *data["weights_before"]]:
        if not isinstance(array, np.ndarray) or (array.dtype.kind == "f" and not np.isfinite(array).all()):
            return "its data or weights hold values that are not finite numbers"
    return ""


def _repeat(fit, model, data: dict, settings, replayed: dict) -> dict[str, list[float]]:
    """The History of the grader's repetition of the fit."""
    metrics = [m for m in settings.metrics if m in REPLAYED_METRICS]
    previous = replayed.get(fit.model)
    if previous is not None and previous[1] == data["compiled"]:
        keras_model = previous[0]  # fitted again without a new compile: its optimizer goes on
    else:
        keras_model = compiled_model(model.artifact.architecture, settings, metrics, run_eagerly=True)
    keras_model.set_weights(data["weights_before"])
    protocol.seed_random_layers(keras_model)
    epochs = len(fit.history.get("loss", [])) or data["epochs"]
    validation = (data["validation_x"], data["validation_y"]) if data["validation_x"] is not None else None
    history = keras_model.fit(data["x"], data["y"], epochs=min(epochs, data["epochs"]), batch_size=data["batch_size"],
                              validation_data=validation, validation_split=data["validation_split"] if validation is None else 0.0,
                              shuffle=False, verbose=0)
    replayed[fit.model] = (keras_model, data["compiled"])
    return {str(k): [float(v) for v in values] for k, values in history.history.items()}
