"""Free-form mode, the worker side: what a chapter-style notebook did, traced while its cells run.

Copied beside harness.py (like export.py) and imported as `notebook_trace`; imports nothing of the
grader but export.py. Records, for the grader's free-form checks (grader/checks/free/):

* every `fit`: the model (by serial), the rows of the served datasets its x and validation data
  hold (matched by a scale-invariant signature of each image, before the training budget cuts
  them), the scale of x against the pixels, the label format of y and whether y holds the
  dataset's labels of those rows, epochs, batch size and the History it returned;
* every `evaluate` (model and rows) and every confusion matrix computed with scikit-learn or
  TensorFlow;
* every figure the notebook drew (described at `plt.show()` and at the end of each cell);
* for the first fits (protocol.MAX_REPLAYED_FITS), what the grader needs to repeat the fit: the data
  it trained on after the budget's cut, the weights it started from, its compile settings;
* at the end, each model fitted or compiled, exported as architecture, weights and compile settings.

Everything here is written inside the student's process: the grader treats it as claims, rebuilds
the models itself and judges the recorded rows against the data it served.
"""

from __future__ import annotations

import contextlib
import json

import numpy as np

try:  # in the grader's package (tests), a package module
    from . import protocol as P
    from .export import compile_config, describe_axes, serial_in, shown_values
except ImportError:  # beside harness.py in the worker, a top-level module
    import protocol as P
    from export import compile_config, describe_axes, serial_in, shown_values

SIGNATURE_PIXELS = 256     # the highest-variance pixels of a dataset, compared between images
MATCH_TOLERANCE = 1e-3
KEY_CHUNK = 4096           # images keyed at a time: 8 MB of float64 buffer
MAX_MODELS = 40            # models exported at the end (a sweep may build many)
DATASET_SPLITS = ("mnist:train", "mnist:test", "cifar10:train", "cifar10:test")


class DatasetIndex:
    """Finds the rows of one served split in an array of images, whatever its shape or scale."""

    def __init__(self, images: np.ndarray, labels: np.ndarray) -> None:
        flat = images.reshape(len(images), -1)
        self.size = flat.shape[1]
        self.labels = labels.reshape(-1)
        variance = flat[: min(len(flat), 5000)].astype(np.float32).var(axis=0)
        self.pixels = np.sort(np.argsort(variance)[-SIGNATURE_PIXELS:])
        # Two directions in the signature pixels' space, each contiguous for the products in _keys.
        self.directions = np.ascontiguousarray(np.random.default_rng(0).normal(size=(SIGNATURE_PIXELS, 2)).T)
        keys = self._keys(flat)
        usable = np.flatnonzero(np.isfinite(keys[:, 0]))  # an image flat over those pixels cannot be told apart
        self.order = usable[np.argsort(keys[usable, 0], kind="stable")]
        self.first = keys[self.order, 0]
        self.second = keys[self.order, 1]

    def _keys(self, flat: np.ndarray) -> np.ndarray:
        """Two projections of the z-normalised signature pixels: unchanged by x -> a * x + b (a > 0);
        NaN for an image whose signature pixels are all equal. In float64 (float32 rounding moves a
        key by 1e-3), KEY_CHUNK images at a time in two buffers reused for every chunk: fresh pages
        cost more than the arithmetic (each fit's rows are keyed, 60,000 images for MNIST)."""
        keys = np.empty((len(flat), 2))
        chunk = min(len(flat), KEY_CHUNK)
        gathered = np.empty((chunk, len(self.pixels)), dtype=flat.dtype)
        centred_buffer = np.empty((chunk, len(self.pixels)))
        for start in range(0, len(flat), KEY_CHUNK):
            count = min(KEY_CHUNK, len(flat) - start)
            # mode "clip": with "raise" numpy gathers into a buffer of its own first (the pixels are in range).
            np.take(flat[start:start + count], self.pixels, axis=1, out=gathered[:count], mode="clip")
            centred = centred_buffer[:count]
            np.copyto(centred, gathered[:count], casting="unsafe")  # as astype(): any numeric x is keyed
            centred -= centred.mean(axis=1, keepdims=True)
            spread = np.sqrt(np.einsum("ij,ij->i", centred, centred) / centred.shape[1])
            # Projected first, then divided: two values to scale instead of every signature pixel.
            # With einsum, not BLAS (`@`): BLAS rounds a row differently with the number of rows
            # beside it, and the worker keys a whole x where the grader keys the budget's cut of it.
            with np.errstate(invalid="ignore", divide="ignore"):
                for column, direction in enumerate(self.directions):
                    keys[start:start + count, column] = np.einsum("ij,j->i", centred, direction) / spread
            keys[start:start + count][spread <= 1e-9] = np.nan
        return keys

    def rows(self, x) -> np.ndarray | None:
        """Each row's index in the split (-1 for a row not found), or None when x cannot hold it."""
        try:
            array = np.asarray(x)
            if array.ndim < 2 or array.dtype == object or len(array) == 0:
                return None
            flat = array.reshape(len(array), -1)
        except Exception:
            return None
        if flat.shape[1] != self.size:
            return None
        keys = self._keys(flat)
        low = np.searchsorted(self.first, keys[:, 0] - MATCH_TOLERANCE)
        high = np.searchsorted(self.first, keys[:, 0] + MATCH_TOLERANCE)
        found = np.full(len(flat), -1, dtype=np.int64)
        finite = np.isfinite(keys[:, 0])
        # The first candidate (in key order) whose second key is close too, for all rows at once: a
        # window holds at most a dozen of the served split's keys, whatever x is.
        for offset in range(int((high - low)[finite].max(initial=0))):
            waiting = np.flatnonzero(finite & (found < 0) & (low + offset < high))
            candidates = low[waiting] + offset
            close = np.abs(self.second[candidates] - keys[waiting, 1]) < MATCH_TOLERANCE
            found[waiting[close]] = self.order[candidates[close]]
        return found


def _row_size(x) -> int | None:
    """The values in one row of x (an image's pixels), or None when x is not an array of rows."""
    try:
        shape = np.shape(x)
        return int(np.prod(shape[1:])) if len(shape) >= 2 else None
    except Exception:  # the notebook's own kind of object: then no served split is looked at
        return None


def scale_of(x, reference: np.ndarray, rows: np.ndarray) -> list[float]:
    """[a, b] with x ~= a * pixels + b over a sample of matched rows."""
    chosen = np.flatnonzero(rows >= 0)[:32]
    if not len(chosen):
        return [1.0, 0.0]
    try:
        given = np.asarray(x)[chosen].astype(np.float64).reshape(-1)
        pixels = reference[rows[chosen]].astype(np.float64).reshape(-1)
        a, b = np.polyfit(pixels, given, 1)
    except Exception:
        return [1.0, 0.0]
    return [float(a), float(b)]


def label_format(y, labels: np.ndarray, rows: np.ndarray, classes: int = 10) -> dict:
    """How y gives the labels of the rows: one-hot, integers, or something else; and whether they
    are the dataset's labels of those rows."""
    try:
        array = np.asarray(y)
    except Exception:
        return {"format": "unknown", "matches": False}
    chosen = np.flatnonzero(rows >= 0)[:2000] if rows is not None else np.array([], dtype=int)
    if array.ndim == 2 and array.shape[1] == classes and array.dtype.kind in "iufb":
        fmt, values = "one-hot", (np.argmax(array, axis=1) if len(array) else array)
    elif array.dtype.kind in "iuf" and (array.ndim == 1 or (array.ndim == 2 and array.shape[1] == 1)):
        fmt, values = "integer", array.reshape(-1)
    else:
        return {"format": "other", "matches": False, "shape": list(array.shape)}
    matches = bool(len(chosen)) and len(values) == len(rows) and bool(
        np.array_equal(np.asarray(values)[chosen].astype(np.int64), labels[rows[chosen]].astype(np.int64)))
    return {"format": fmt, "matches": matches, "shape": list(array.shape)}


class NotebookTrace:
    """The records of one notebook's run (see the module docstring)."""

    def __init__(self, served: dict[str, tuple[np.ndarray, np.ndarray]]) -> None:
        self.served = served  # "mnist:train" -> (images, labels) as load_data() hands them out
        self.indexes: dict[str, DatasetIndex] = {}
        self.models: list[object] = []
        self.fits: list[dict] = []
        self.evaluations: list[dict] = []
        self.confusion_matrices: list[dict] = []
        self.figures: dict[int, dict] = {}
        self.compiles: dict[int, int] = {}   # model serial -> how many times it was compiled
        self.replay_bytes = 0
        self.replays = 0
        self.cell = -1

    def index(self, split: str) -> DatasetIndex:
        if split not in self.indexes:
            self.indexes[split] = DatasetIndex(*self.served[split])
        return self.indexes[split]

    def serial_of(self, model) -> int:
        return serial_in(self.models, model)

    def locate(self, x) -> dict:
        """Which served split x's rows come from, the rows, and the scale: the split with most rows found."""
        best = {"split": None, "rows": np.array([], dtype=np.int64), "found": 0, "count": 0}
        count = len(x) if hasattr(x, "__len__") else 0
        found_by_split = {}
        size = _row_size(x)
        for split in DATASET_SPLITS:
            if split not in self.served:
                continue
            # An index costs a pass over the whole split: not built for images of another size.
            rows = self.index(split).rows(x) if size == _row_size(self.served[split][0]) else None
            found_by_split[split] = int((rows >= 0).sum()) if rows is not None else 0
            if rows is not None and int((rows >= 0).sum()) > best["found"]:
                best = {"split": split, "rows": rows, "found": int((rows >= 0).sum()), "count": count}
        best["count"], best["found_by_split"] = count, found_by_split
        if best["split"] is not None:
            best["scale"] = scale_of(x, self.served[best["split"]][0], best["rows"])
        return best

    def record_fit(self, model, arguments: dict) -> dict:
        """What a fit was asked to do, before the budget cuts it (the history is added after)."""
        serial = self.serial_of(model)
        x, y = arguments.get("x"), arguments.get("y")
        where = self.locate(x)
        record = {"cell": self.cell, "model": serial,
                  "split": where["split"], "rows": where["rows"], "rows_found": where["found"],
                  "rows_given": where["count"], "found_by_split": where["found_by_split"],
                  "scale": where.get("scale", [1.0, 0.0]),
                  "epochs": arguments.get("epochs", 1), "batch_size": arguments.get("batch_size"),
                  "loss": _loss_name(model), "validation": None}
        labels = self.served[where["split"]][1] if where["split"] else np.zeros(0)
        record["labels"] = label_format(y, labels.reshape(-1), where["rows"]) if where["split"] else {"format": "unknown"}
        validation = arguments.get("validation_data")
        split = float(arguments.get("validation_split", 0.0) or 0.0)
        if isinstance(validation, (tuple, list)) and len(validation) >= 2:
            held = self.locate(validation[0])
            record["validation"] = {"kind": "data", "split": held["split"], "rows": held["rows"]}
        elif split > 0:
            cut = int(np.floor(len(where["rows"]) * (1.0 - split)))
            record["validation"] = {"kind": "split", "split": where["split"], "rows": where["rows"][cut:]}
            record["rows"], record["rows_given"] = where["rows"][:cut], cut
            record["rows_found"] = int((where["rows"][:cut] >= 0).sum())
        self.fits.append(record)
        return record

    def prepare_replay(self, model, record: dict, arguments: dict, unreplayed: list[str]) -> None:
        """Before a fit runs (cut to the budget): set the random layers' seeds and keep what the
        grader needs to repeat it, or why it cannot."""
        data = _replay_data(arguments)
        if not model.built and "arrays" in data:
            # A Sequential without an input shape gets its weights inside fit, where they could not
            # be kept: build it here on the same shape (Keras would do the same on the first batch).
            model.build((None, *data["arrays"][0].shape[1:]))
        P.seed_random_layers(model)
        reason = ("fit was called with " + ", ".join(unreplayed[:4]) if unreplayed else "") or data.get("refused", "")
        size = sum(a.nbytes for a in data.get("arrays", []))
        weights = [np.array(w) for w in model.get_weights()] if not reason else []
        size += sum(w.nbytes for w in weights)
        if not reason and (self.replays >= P.MAX_REPLAYED_FITS or self.replay_bytes + size > P.MAX_REPLAY_BYTES):
            reason = f"only the first fits are repeated by the grader ({P.MAX_REPLAYED_FITS}, {P.MAX_REPLAY_BYTES >> 20} MB)"
        if reason:
            record["replay"] = {"refused": reason}
            return
        self.replays += 1
        self.replay_bytes += size
        x, y, validation_x, validation_y = data["arrays"] + [None] * (4 - len(data["arrays"]))
        record["replay"] = {"x": x, "y": y, "validation_x": validation_x, "validation_y": validation_y,
                            "validation_split": float(arguments.get("validation_split", 0.0) or 0.0),
                            "epochs": int(arguments.get("epochs", 1) or 1), "batch_size": arguments.get("batch_size"),
                            "weights_before": weights, "compiled": self.compiles.get(record["model"], 0),
                            "compile_json": json.dumps(compile_config(model), default=str)}

    def record_evaluation(self, model, x) -> None:
        where = self.locate(x)
        self.evaluations.append({"cell": self.cell, "model": self.serial_of(model), "split": where["split"],
                                 "rows": where["rows"]})

    def record_confusion_matrix(self, matrix) -> None:
        with contextlib.suppress(Exception):
            self.confusion_matrices.append({"cell": self.cell, "shape": list(np.shape(matrix))})

    def record_figures(self, plt) -> None:
        """Describe every open figure (a later description of the same figure replaces the earlier)."""
        for number in plt.get_fignums()[:P.MAX_TRACED_FIGURES]:
            with contextlib.suppress(Exception):
                figure = plt.figure(number)
                key = id(figure)
                if key not in self.figures and len(self.figures) >= P.MAX_TRACED_FIGURES:
                    continue
                self.figures[key] = {"cell": self.cell, "axes": [describe_axes(ax) for ax in figure.axes],
                                     "suptitle": figure._suptitle.get_text() if figure._suptitle else "",
                                     "legends": [[t.get_text() for t in legend.get_texts()] for legend in figure.legends],
                                     **_meshes(figure)}

    def export(self) -> dict:
        """The trace as values for export.Exporter (models as Keras models, rows as arrays)."""
        # Figure descriptions nest deeper than the exporter goes: they travel as one JSON text.
        return {"fits": [_plain(f) for f in self.fits], "evaluations": [_plain(e) for e in self.evaluations],
                "confusion_matrices": self.confusion_matrices,
                "figures_json": json.dumps(list(self.figures.values()), default=str),
                "models": list(self.models[:MAX_MODELS]), "models_seen": len(self.models)}


def _replay_data(arguments: dict) -> dict:
    """Copies of the arrays a fit gets (x, y and validation x, y), or why it cannot be repeated."""
    arrays = [arguments.get("x"), arguments.get("y")]
    validation = arguments.get("validation_data")
    if validation is not None:
        if not isinstance(validation, (tuple, list)) or len(validation) != 2:
            return {"refused": "its validation_data is not a pair (x, y) of arrays"}
        arrays += list(validation)
    if not all(isinstance(a, np.ndarray) and a.dtype.kind in "iufb" and a.ndim >= 1 for a in arrays):
        return {"refused": "its data are not numeric numpy arrays"}
    if len(arrays[0]) != len(arrays[1]) or (validation is not None and len(arrays[2]) != len(arrays[3])):
        return {"refused": "its x and y differ in length"}
    return {"arrays": [np.array(a) for a in arrays]}


def _plain(record: dict) -> dict:
    """Rows as int32 arrays (exported as .npy), the rest as it is (the replay's data unchanged)."""
    out = {}
    for key, value in record.items():
        if key == "replay":
            out[key] = value
        elif isinstance(value, np.ndarray):
            out[key] = value.astype(np.int32)
        elif isinstance(value, dict):
            out[key] = _plain(value)
        else:
            out[key] = value
    return out


def _loss_name(model) -> str:
    loss = getattr(model, "loss", None)
    if isinstance(loss, str) or loss is None:
        return str(loss)
    function = getattr(loss, "fn", None)
    return str(getattr(function, "__name__", None) or getattr(loss, "name", None) or type(loss).__name__)


def install_trace_hooks(keras, trace: NotebookTrace) -> None:
    """Record every model compiled or predicted with, evaluate() calls and confusion matrices (fit is
    recorded by the harness's fit wrapper)."""
    # compile is replaced where Keras defines it: load_model compiles a model only while
    # `type(model).compile is Trainer.compile` (else it takes compile for a custom one and skips it).
    owner = next(cls for cls in keras.Model.__mro__ if "compile" in cls.__dict__)
    original_compile, original_predict = owner.compile, keras.Model.predict

    def compile(self, *args, **kwargs):
        serial = trace.serial_of(self)
        trace.compiles[serial] = trace.compiles.get(serial, 0) + 1
        return original_compile(self, *args, **kwargs)

    def predict(self, *args, **kwargs):
        trace.serial_of(self)
        return original_predict(self, *args, **kwargs)

    owner.compile, keras.Model.predict = compile, predict
    original_evaluate = keras.Model.evaluate

    def evaluate(self, x=None, *args, **kwargs):
        with contextlib.suppress(Exception):
            trace.record_evaluation(self, x)
        return original_evaluate(self, x, *args, **kwargs)

    keras.Model.evaluate = evaluate
    with contextlib.suppress(Exception):
        import sklearn.metrics as metrics
        original_matrix = metrics.confusion_matrix

        def confusion_matrix(*args, **kwargs):
            matrix = original_matrix(*args, **kwargs)
            trace.record_confusion_matrix(matrix)
            return matrix

        metrics.confusion_matrix = confusion_matrix
        import sklearn.metrics._classification as classification
        import sklearn.metrics._plot.confusion_matrix as display
        classification.confusion_matrix = confusion_matrix
        display.confusion_matrix = confusion_matrix  # ConfusionMatrixDisplay.from_predictions
    with contextlib.suppress(Exception):
        import tensorflow as tf
        original_tf_matrix = tf.math.confusion_matrix

        def tf_confusion_matrix(*args, **kwargs):
            matrix = original_tf_matrix(*args, **kwargs)
            trace.record_confusion_matrix(matrix)
            return matrix

        tf.math.confusion_matrix = tf_confusion_matrix


def _meshes(figure) -> dict:
    """The colour meshes of a figure (a seaborn heatmap is one): their shapes and, for small ones, values."""
    meshes = [mesh for ax in figure.axes for mesh in ax.collections
              if hasattr(mesh, "get_array") and mesh.get_array() is not None][:P.MAX_SHOWN_IMAGES]
    return {"meshes": [list(np.shape(mesh.get_array())) for mesh in meshes],
            "mesh_values": [shown_values(mesh) for mesh in meshes]}
