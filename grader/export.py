"""The worker side of a probe: call a contract function on the grader's inputs and export what it
returns in the safe formats the grader reads (grader/artifacts.py).

Shared by the worker's harness (copied beside harness.py and imported as `export`) and the student
kit (which calls the live functions of the student's kernel with it), so that a visible check sees
the same value in both. Imports nothing of the grader but protocol.py.
"""

from __future__ import annotations

import builtins
import contextlib
import json
import os
import sys

import numpy as np

try:  # in the student kit, a package module
    from . import protocol as P
except ImportError:  # beside harness.py in the worker, a top-level module
    import protocol as P

# Captured before student code runs, so a submission that patches numpy or json cannot change how
# values are written (the grader validates them anyway).
_np_save = np.save
_np_savez = np.savez
_json_dumps = json.dumps
_open = builtins.open


class ProbeInputs:
    """Turns a call's arguments as the plan writes them ({"npy": name}, {"fixed_model": name}...)
    into the values a contract function receives; arrays come from `load(name)`."""

    def __init__(self, load, keras) -> None:
        self.load = load
        self.keras = keras

    def arguments(self, call: dict) -> tuple[list, dict]:
        return ([self.decode(a) for a in call.get("args", [])],
                {k: self.decode(v) for k, v in call.get("kwargs", {}).items()})

    def decode(self, arg):
        if isinstance(arg, dict) and "npy" in arg:
            return self.load(arg["npy"])
        if isinstance(arg, dict) and "fixed_model" in arg:
            return self.fixed_model(arg["fixed_model"])
        if isinstance(arg, dict) and "tuple" in arg:
            return tuple(arg["tuple"])
        if isinstance(arg, dict) and "histories" in arg:
            return self.histories(arg)
        return arg

    def histories(self, arg: dict):
        """History dicts (metric -> list of floats) rebuilt from one array per fold and metric."""
        folds = [{metric: self.load(f"{arg['histories']}_{fold}_{metric}.npy").tolist()
                  for metric in arg["metrics"]} for fold in range(arg["folds"])]
        return folds[0] if arg["single"] else folds

    def fixed_model(self, name: str):
        """A softmax layer over flattened input with the grader's weights (its predictions are known)."""
        keras = self.keras
        weights = self.load(f"{name}_W.npy")
        bias = self.load(f"{name}_b.npy")
        shape = tuple(self.load(f"{name}_shape.npy").tolist())
        model = keras.Sequential([keras.Input(shape=shape), keras.layers.Flatten(),
                                  keras.layers.Dense(weights.shape[1], activation="softmax")])
        model.layers[-1].set_weights([weights, bias])
        return model


def call_each(function, calls: list[dict], inputs: ProbeInputs) -> list[dict]:
    """Call a contract function once per input set; report each value or exception (with the index
    of its call), and whether the call changed its array inputs."""
    outcomes = []
    for index, call in enumerate(calls):
        args, kwargs = inputs.arguments(call)
        before = [a.copy() if isinstance(a, np.ndarray) else None for a in args]
        try:
            value = function(*args, **kwargs)
        except Exception as exc:
            outcomes.append({P.OUTCOME_CALL: index, "raised": type(exc).__name__,
                             "mro": [c.__name__ for c in type(exc).__mro__],
                             "message": str(exc)[:300]})
            continue
        mutated = [i for i, (a, b) in enumerate(zip(args, before))
                   if b is not None and not (a.shape == b.shape and np.array_equal(a, b))]
        outcomes.append({P.OUTCOME_CALL: index, "returned": value, "mutated_args": mutated})
    return outcomes


def serial_in(models: list, model) -> int:
    """The number of `model` in `models` (by identity), appended when new: how records name a model.
    The list holds strong references, so a number is never reused while recording."""
    for serial, known in enumerate(models):
        if known is model:
            return serial
    models.append(model)
    return len(models) - 1


def write_result(folder: str, result: dict) -> None:
    """A probe's result.json (status, value or error, seconds, tampering notes)."""
    with _open(os.path.join(folder, P.RESULT_FILE), "w", encoding="utf-8") as f:
        f.write(_json_dumps(result, default=str))


def install_dataset_loaders(data_dir: str, loads: list[str]) -> list[tuple[object, object]]:
    """Serve `mnist.load_data()` / `cifar10.load_data()` from `data_dir`/<name>.npz, offline.
    Returns (module, original load_data) pairs, for a caller that puts them back (the kit)."""

    def make_loader(name: str):
        def load_data(*args, **kwargs):
            loads.append(name)
            with np.load(os.path.join(data_dir, f"{name}.npz"), allow_pickle=False) as data:
                return ((data["x_train"].copy(), data["y_train"].copy()),
                        (data["x_test"].copy(), data["y_test"].copy()))
        return load_data

    for module_name in ("keras._tf_keras.keras.datasets.mnist", "keras._tf_keras.keras.datasets.cifar10",
                        "keras.src.datasets.mnist", "keras.src.datasets.cifar10"):
        with contextlib.suppress(Exception):
            __import__(module_name)
    replaced = []
    for module_name, module in list(sys.modules.items()):
        for dataset in ("mnist", "cifar10"):
            if module_name.endswith(f"datasets.{dataset}") and hasattr(module, "load_data"):
                replaced.append((module, module.load_data))
                module.load_data = make_loader(dataset)
    return replaced


class Exporter:
    """Writes one probe's result value into its folder in the safe formats the grader accepts."""

    def __init__(self, folder: str, keras, plt) -> None:
        self.folder = folder
        self.keras = keras
        self.plt = plt
        self.files = 0

    def _name(self, suffix: str) -> str:
        self.files += 1
        return f"v{self.files}{suffix}"

    def encode(self, value, depth: int = 0):
        if depth > P.MAX_DEPTH:
            return {"kind": P.KIND_OBJECT, "type": "too deep"}
        if value is None or isinstance(value, (bool, str)):
            return {"kind": P.KIND_JSON, "value": value}
        if isinstance(value, (int, float)) and type(value) in (int, float):
            return {"kind": P.KIND_JSON, "value": value}
        if isinstance(value, np.generic):
            return {"kind": P.KIND_SCALAR, "dtype": str(value.dtype), "value": value.item()}
        if isinstance(value, self.keras.Model):
            return self.model(value)
        if isinstance(value, self.keras.callbacks.History):
            return {"kind": P.KIND_HISTORY, "history": self.encode(dict(value.history), depth + 1)}
        if self.plt is not None and isinstance(value, self.plt.Figure):
            return self.figure(value)
        if isinstance(value, dict):
            items = list(value.items())[:P.MAX_SEQUENCE_ITEMS]
            return {"kind": P.KIND_DICT, "items": [[str(k), self.encode(v, depth + 1)] for k, v in items]}
        if isinstance(value, (list, tuple)):
            if len(value) > P.MAX_SEQUENCE_ITEMS:
                return {"kind": P.KIND_OBJECT, "type": f"{type(value).__name__} too long"}
            return {"kind": P.KIND_SEQ, "type": type(value).__name__,
                    "items": [self.encode(v, depth + 1) for v in value]}
        if isinstance(value, np.ndarray) or hasattr(value, "numpy") or hasattr(value, "__array__"):
            return self.array(value)
        return {"kind": P.KIND_OBJECT, "type": type(value).__name__}

    def array(self, value):
        array = np.asarray(value.numpy() if hasattr(value, "numpy") else value)
        if array.dtype == object:
            return {"kind": P.KIND_OBJECT, "type": "object array"}
        name = self._name(".npy")
        _np_save(os.path.join(self.folder, name), array, allow_pickle=False)
        return {"kind": P.KIND_NDARRAY, "file": name}

    def model(self, model):
        name = self._name("")
        try:
            architecture = model.to_json()
        except Exception as exc:
            return {"kind": P.KIND_MODEL, "error": f"{type(exc).__name__}: {exc}"[:500]}
        with _open(os.path.join(self.folder, name + ".json"), "w", encoding="utf-8") as f:
            f.write(architecture)
        _np_savez(os.path.join(self.folder, name + ".weights.npz"),
                  *[np.asarray(w) for w in model.get_weights()])
        return {"kind": P.KIND_MODEL, "file": name, "compile": compile_config(model),
                "compiled_objects": compiled_objects(model)}

    def figure(self, figure):
        name = self._name(".png")
        with contextlib.suppress(Exception):
            figure.savefig(os.path.join(self.folder, name), dpi=60, format="png")
        return {"kind": P.KIND_FIGURE, "png": name, "axes": [describe_axes(ax) for ax in figure.axes],
                "legends": [[t.get_text() for t in legend.get_texts()] for legend in figure.legends]}


def compile_config(model):
    """The arguments `compile` was called with, as Keras serialises them (None if not compiled).
    The grader compiles and trains its own copy of the model with exactly these settings."""
    try:
        config = model.get_compile_config()
        _json_dumps(config)
    except Exception:
        return None
    return config


def compiled_objects(model) -> dict:
    """The class names of the optimizer and loss the model holds now: the grader cross-checks them
    with the compile configuration (they differ only when something edited the model after compile)."""
    loss = getattr(model, "loss", None)
    return {"optimizer": type(getattr(model, "optimizer", None)).__name__,
            "loss": loss if isinstance(loss, str) or loss is None else _loss_name(loss)}


def _loss_name(loss) -> str:
    function = getattr(loss, "fn", None)
    return str(getattr(function, "__name__", None) or getattr(loss, "name", None) or type(loss).__name__)


def describe_axes(ax) -> dict:
    legend = ax.get_legend()
    return {
        "title": " ".join(t for t in (ax.get_title("left"), ax.get_title(), ax.get_title("right")) if t),
        "xlabel": ax.get_xlabel(),
        "ylabel": ax.get_ylabel(),
        "legend": [t.get_text() for t in legend.get_texts()] if legend is not None else None,
        "lines": [{"label": line.get_label(),
                   "x": np.asarray(line.get_xdata(), dtype=float)[:P.MAX_LINE_POINTS].tolist(),
                   "y": np.asarray(line.get_ydata(), dtype=float)[:P.MAX_LINE_POINTS].tolist()}
                  for line in ax.get_lines()],
        "images": [list(np.shape(image.get_array())) for image in ax.get_images()],
        "image_values": [shown_values(image) for image in ax.get_images()],
    }


def shown_values(artist) -> list[float]:
    """The values an image or colour mesh shows (for small ones), so the grader can tell what it is."""
    try:
        values = np.asarray(artist.get_array(), dtype=float).reshape(-1)
    except Exception:
        return []
    return values.tolist() if values.size <= P.MAX_IMAGE_VALUES else []
