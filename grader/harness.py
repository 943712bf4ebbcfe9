"""The worker harness: runs a submission's cells, then calls its functions on the grader's probes.

This file runs only inside the sandboxed worker process (see `worker.py`), never in the grader.
It is copied alone into the job folder and started as a script, so it imports nothing from the
grader package (whose hidden checks the worker must not be able to read).

Everything it writes is untrusted by the grader: values go out as JSON, `.npy` without pickle,
Keras models as architecture JSON plus a weights `.npz`, and figures as JSON plus a PNG.

usage: python harness.py IN_DIR OUT_DIR
  IN_DIR/spec.json   cells, probes, budget, seed and the steps to skip (written by the grader)
  OUT_DIR/progress.jsonl   one line per step start/end (the grader uses it to find a hung step)
  OUT_DIR/cells.json       errors of the submission's cells
  OUT_DIR/probes/<id>/     result.json plus the files a result refers to
"""

from __future__ import annotations

import builtins
import contextlib
import hashlib
import inspect
import json
import os
import signal
import sys
import time
import traceback

import numpy as np

# Captured before student code runs, so a submission that patches numpy or json cannot change how
# the harness writes its artifacts (the grader validates them anyway).
_np_save = np.save
_np_savez = np.savez
_json_dumps = json.dumps
_open = builtins.open

MAX_SEQUENCE_ITEMS = 10_000
MAX_DEPTH = 6
MAX_LINE_POINTS = 2_000
# A trained model depends on how many threads split each operation: measured on the reference CIFAR
# model, 1, 2 and 4 intra-op threads give three different models. Fixing the count makes a grade the
# same on a 2-core laptop, a 64-core server, under CPU affinity or in a CPU-quota container.
TRAINING_THREADS = 2


class StepTimeout(BaseException):
    """Raised in the student's code when a step runs past its time limit."""


class FunctionMissing(Exception):
    """The submission does not define a contract function."""


# ---------------------------------------------------------------- progress journal
class Journal:
    """Appends step events to progress.jsonl, flushed at once so a killed worker leaves a trace."""

    def __init__(self, path: str) -> None:
        self._file = _open(path, "a", encoding="utf-8")

    def write(self, **event) -> None:
        self._file.write(_json_dumps(event) + "\n")
        self._file.flush()
        os.fsync(self._file.fileno())


def _on_alarm(signum, frame):
    raise StepTimeout()


@contextlib.contextmanager
def time_limit(seconds: float):
    """Raise StepTimeout in the running code after `seconds` (the grader kills it if caught)."""
    signal.signal(signal.SIGALRM, _on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)


def describe_error(exc: BaseException) -> dict:
    """A JSON description of an exception raised by student code."""
    if isinstance(exc, StepTimeout):
        return {"type": "Timeout", "message": "time limit exceeded"}
    tail = traceback.format_exception(type(exc), exc, exc.__traceback__)
    return {"type": type(exc).__name__, "message": str(exc)[:2000],
            "traceback": "".join(tail)[-3000:]}


# ---------------------------------------------------------------- IPython stand-in
class FakeIPython:
    """What `get_ipython()` returns in the worker: magics are ignored, shell escapes never run."""

    def __init__(self, namespace: dict) -> None:
        self.user_ns = namespace

    def run_line_magic(self, name, line, *args, **kwargs):
        return None

    def run_cell_magic(self, name, line, cell, *args, **kwargs):
        # %%time and %%capture wrap ordinary Python; every other cell magic (%%bash, %%writefile…)
        # is skipped so no shell runs and nothing is written.
        if name in ("time", "capture"):
            exec(compile(cell, "<cell magic>", "exec"), self.user_ns)
        return None

    def system(self, *args, **kwargs):
        return None

    getoutput = system

    def magic(self, *args, **kwargs):
        return None


# ---------------------------------------------------------------- budget and instrumentation
class Budget:
    """Caps on what `fit` may do while the notebook's own cells run."""

    def __init__(self, max_epochs: int, max_samples: int) -> None:
        self.max_epochs = max_epochs
        self.max_samples = max_samples
        self.active = False


class FitRecorder:
    """Remembers every `fit` call (arguments, data rows, weights) during an instrumented probe."""

    def __init__(self) -> None:
        self.calls: list[dict] = []
        self.models: list[object] = []  # strong refs keep ids unique while recording
        self.reference_rows: np.ndarray | None = None
        self.active = False

    def start(self, reference_images: np.ndarray | None) -> None:
        self.calls, self.models, self.active = [], [], True
        self.reference_rows = None if reference_images is None else fingerprints(reference_images)

    def stop(self) -> None:
        self.active = False

    def serial_of(self, model) -> int:
        for serial, known in enumerate(self.models):
            if known is model:
                return serial
        self.models.append(model)
        return len(self.models) - 1

    def row_indices(self, x) -> list[int]:
        """Index of each row of `x` among the probe images (-1 for a row that is not one of them)."""
        if self.reference_rows is None or x is None:
            return []
        try:
            rows = fingerprints(np.asarray(x))
        except Exception:
            return []
        found = []
        for row in rows:
            distances = np.abs(self.reference_rows - row).max(axis=1)
            best = int(np.argmin(distances))
            found.append(best if distances[best] < 1e-3 else -1)
        return found


def fingerprints(images: np.ndarray) -> np.ndarray:
    """Scale- and shift-invariant signature of each image (first 48 values, z-normalised)."""
    flat = np.asarray(images, dtype=np.float64).reshape(len(images), -1)[:, :48]
    centred = flat - flat.mean(axis=1, keepdims=True)
    scale = centred.std(axis=1, keepdims=True)
    scale[scale == 0] = 1.0
    return centred / scale


def weights_digest(model) -> str:
    digest = hashlib.sha256()
    for array in model.get_weights():
        digest.update(np.ascontiguousarray(array).tobytes())
    return digest.hexdigest()[:16]


def fix_thread_counts() -> None:
    """Pin TensorFlow's thread pools (before any operation runs; see TRAINING_THREADS)."""
    import tensorflow as tf
    tf.config.threading.set_intra_op_parallelism_threads(TRAINING_THREADS)
    tf.config.threading.set_inter_op_parallelism_threads(1)


def install_fit_wrapper(keras, budget: Budget, recorder: FitRecorder) -> None:
    """Wrap `keras.Model.fit`: cap epochs and samples in notebook cells, record calls in probes."""
    original_fit = keras.Model.fit
    signature = inspect.signature(original_fit)

    def fit(self, *args, **kwargs):
        bound = signature.bind(self, *args, **kwargs)
        arguments = bound.arguments
        arguments["verbose"] = 0
        if budget.active:
            _cap_fit_arguments(arguments, budget)
            # A few capped steps cost less eagerly than tracing a graph for every new model.
            self.run_eagerly = True
        if not recorder.active:
            return original_fit(*bound.args, **bound.kwargs)
        call = _describe_fit_call(arguments, recorder, self)
        history = original_fit(*bound.args, **bound.kwargs)
        call["weights_after"] = weights_digest(self)
        call["history_keys"] = sorted(getattr(history, "history", {}) or {})
        recorder.calls.append(call)
        return history

    keras.Model.fit = fit
    keras.Model._grader_original_fit = original_fit


def _cap_fit_arguments(arguments: dict, budget: Budget) -> None:
    arguments["epochs"] = min(int(arguments.get("epochs", 1) or 1), budget.max_epochs)
    for key in ("x", "y"):
        value = arguments.get(key)
        if isinstance(value, np.ndarray) and len(value) > budget.max_samples:
            arguments[key] = value[: budget.max_samples]
    validation = arguments.get("validation_data")
    if isinstance(validation, (tuple, list)):
        arguments["validation_data"] = tuple(
            v[: budget.max_samples] if isinstance(v, np.ndarray) else v for v in validation)


def _describe_fit_call(arguments: dict, recorder: FitRecorder, model) -> dict:
    x = arguments.get("x")
    rows = recorder.row_indices(x)
    split = float(arguments.get("validation_split", 0.0) or 0.0)
    validation = arguments.get("validation_data")
    if validation is not None:
        val_rows = recorder.row_indices(validation[0] if isinstance(validation, (tuple, list)) else None)
        train_rows = rows
    elif split > 0 and rows:
        cut = int(len(rows) * (1 - split))
        train_rows, val_rows = rows[:cut], rows[cut:]
    else:
        train_rows, val_rows = rows, []
    return {
        "model": recorder.serial_of(model),
        "epochs": arguments.get("epochs", 1),
        "batch_size": arguments.get("batch_size"),
        "validation_split": split,
        "has_validation_data": validation is not None,
        "train_rows": train_rows,
        "val_rows": val_rows,
        "weights_before": weights_digest(model),
    }


def install_dataset_loaders(data_dir: str, loads: list[str]) -> None:
    """Serve `mnist.load_data()` / `cifar10.load_data()` from the grader's subsets, offline."""

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
    for module_name, module in list(sys.modules.items()):
        for dataset in ("mnist", "cifar10"):
            if module_name.endswith(f"datasets.{dataset}") and hasattr(module, "load_data"):
                module.load_data = make_loader(dataset)


def install_show_capture(plt, out_dir: str, limit: int = 8) -> None:
    """Make `plt.show()` save the notebook's figures (for the feedback page) instead of displaying."""
    saved = []

    def show(*args, **kwargs):
        for number in plt.get_fignums():
            if len(saved) >= limit:
                break
            figure = plt.figure(number)
            path = os.path.join(out_dir, f"notebook_figure_{len(saved)}.png")
            with contextlib.suppress(Exception):
                figure.savefig(path, dpi=60, format="png")
                saved.append(path)
        plt.close("all")

    plt.show = show


# ---------------------------------------------------------------- value export
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
        if depth > MAX_DEPTH:
            return {"kind": "object", "type": "too deep"}
        if value is None or isinstance(value, (bool, str)):
            return {"kind": "json", "value": value}
        if isinstance(value, (int, float)) and type(value) in (int, float):
            return {"kind": "json", "value": value}
        if isinstance(value, np.generic):
            return {"kind": "scalar", "dtype": str(value.dtype), "value": value.item()}
        if isinstance(value, self.keras.Model):
            return self.model(value)
        if isinstance(value, self.keras.callbacks.History):
            return {"kind": "history", "history": self.encode(dict(value.history), depth + 1)}
        if self.plt is not None and isinstance(value, self.plt.Figure):
            return self.figure(value)
        if isinstance(value, dict):
            items = list(value.items())[:MAX_SEQUENCE_ITEMS]
            return {"kind": "dict", "items": [[str(k), self.encode(v, depth + 1)] for k, v in items]}
        if isinstance(value, (list, tuple)):
            if len(value) > MAX_SEQUENCE_ITEMS:
                return {"kind": "object", "type": f"{type(value).__name__} too long"}
            return {"kind": "seq", "type": type(value).__name__,
                    "items": [self.encode(v, depth + 1) for v in value]}
        if isinstance(value, np.ndarray) or hasattr(value, "numpy") or hasattr(value, "__array__"):
            return self.array(value)
        return {"kind": "object", "type": type(value).__name__}

    def array(self, value):
        array = np.asarray(value.numpy() if hasattr(value, "numpy") else value)
        if array.dtype == object:
            return {"kind": "object", "type": "object array"}
        name = self._name(".npy")
        _np_save(os.path.join(self.folder, name), array, allow_pickle=False)
        return {"kind": "ndarray", "file": name}

    def model(self, model):
        name = self._name("")
        try:
            architecture = model.to_json()
        except Exception as exc:
            return {"kind": "model", "error": f"{type(exc).__name__}: {exc}"[:500]}
        with _open(os.path.join(self.folder, name + ".json"), "w", encoding="utf-8") as f:
            f.write(architecture)
        _np_savez(os.path.join(self.folder, name + ".weights.npz"),
                  *[np.asarray(w) for w in model.get_weights()])
        return {"kind": "model", "file": name, "compile": compile_info(model)}

    def figure(self, figure):
        name = self._name(".png")
        with contextlib.suppress(Exception):
            figure.savefig(os.path.join(self.folder, name), dpi=60, format="png")
        return {"kind": "figure", "png": name, "axes": [describe_axes(ax) for ax in figure.axes],
                "legends": [[t.get_text() for t in legend.get_texts()] for legend in figure.legends]}


def compile_info(model) -> dict:
    """Names of the optimizer, loss and metrics a model was compiled with."""
    info = {"compiled": bool(getattr(model, "compiled", False) or getattr(model, "optimizer", None))}
    info["optimizer"] = _object_name(getattr(model, "optimizer", None))
    info["loss"] = _object_name(getattr(model, "loss", None))
    metrics = []
    with contextlib.suppress(Exception):
        config = model.get_compile_config() or {}
        raw = config.get("metrics") or []
        metrics = [_object_name(m) for m in (raw if isinstance(raw, (list, tuple)) else [raw])]
    info["metrics"] = metrics
    return info


def _object_name(obj) -> str | None:
    if obj is None:
        return None
    if isinstance(obj, str):
        return obj
    if isinstance(obj, dict):
        config = obj.get("config")
        if isinstance(config, dict) and isinstance(config.get("name"), str):
            return config["name"]
        return str(obj.get("class_name", ""))
    name = getattr(obj, "name", None) or getattr(obj, "__name__", None) or type(obj).__name__
    return str(name)


def describe_axes(ax) -> dict:
    legend = ax.get_legend()
    return {
        "title": " ".join(t for t in (ax.get_title("left"), ax.get_title(), ax.get_title("right")) if t),
        "xlabel": ax.get_xlabel(),
        "ylabel": ax.get_ylabel(),
        "legend": [t.get_text() for t in legend.get_texts()] if legend is not None else None,
        "lines": [{"label": line.get_label(),
                   "x": np.asarray(line.get_xdata(), dtype=float)[:MAX_LINE_POINTS].tolist(),
                   "y": np.asarray(line.get_ydata(), dtype=float)[:MAX_LINE_POINTS].tolist()}
                  for line in ax.get_lines()],
        "images": [list(np.shape(image.get_array())) for image in ax.get_images()],
    }


# ---------------------------------------------------------------- probes
class Harness:
    """Runs the steps of one grading: the cells first, then the probes."""

    def __init__(self, in_dir: str, out_dir: str) -> None:
        self.in_dir = in_dir
        self.out_dir = out_dir
        with _open(os.path.join(in_dir, "spec.json"), encoding="utf-8") as f:
            self.spec = json.load(f)
        self.skip = set(self.spec.get("skip", []))
        self.journal = Journal(os.path.join(out_dir, "progress.jsonl"))
        self.namespace: dict = {"__name__": "__main__", "__builtins__": builtins}
        self.loads: list[str] = []
        self.recorder = FitRecorder()

    def setup(self) -> None:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        import keras
        fix_thread_counts()
        self.keras, self.plt = keras, plt
        notebook_budget = self.spec["budget"]
        self.budget = Budget(notebook_budget["max_epochs"], notebook_budget["max_samples"])
        install_fit_wrapper(keras, self.budget, self.recorder)
        install_dataset_loaders(os.path.join(self.in_dir, "data"), self.loads)
        install_show_capture(plt, self.out_dir)
        self.namespace["get_ipython"] = lambda: FakeIPython(self.namespace)
        self.namespace["display"] = lambda *a, **k: None

    def run(self) -> None:
        self.setup()
        cell_errors = []
        self.budget.active = True
        for cell in self.spec["cells"]:
            step = f"cell:{cell['index']}"
            if step in self.skip:
                continue
            error = self.run_step(step, self.spec["limits"]["cell_seconds"],
                                  lambda c=cell: self.run_cell(c))
            if error:
                cell_errors.append({"cell": cell["index"], **error})
                self._write_json("cells.json", cell_errors)
        self._write_json("cells.json", cell_errors)
        self.budget.active = False
        for probe in self.spec["probes"]:
            step = f"probe:{probe['id']}"
            if step in self.skip:
                continue
            self.run_probe(step, probe)
        self.journal.write(step="done", event="done")

    def run_step(self, step: str, seconds: float, action) -> dict | None:
        """Run one step under its time limit; return the error it raised, if any."""
        self.journal.write(step=step, event="start", time=time.time())
        error = None
        try:
            with time_limit(seconds):
                action()
        except BaseException as exc:  # the student's SystemExit/KeyboardInterrupt included
            error = describe_error(exc)
        self.journal.write(step=step, event="end", ok=error is None, time=time.time())
        return error

    def run_cell(self, cell: dict) -> None:
        code = compile(cell["source"], f"<cell {cell['index']}>", "exec")
        exec(code, self.namespace)

    def run_probe(self, step: str, probe: dict) -> None:
        folder = os.path.join(self.out_dir, "probes", probe["id"])
        os.makedirs(folder, exist_ok=True)
        exporter = Exporter(folder, self.keras, self.plt)
        outcome: dict = {}

        def action():
            self.keras.utils.set_random_seed(int(self.spec["seed"]))
            outcome["value"] = exporter.encode(getattr(self, "probe_" + probe["kind"])(probe))

        started = time.time()
        error = self.run_step(step, probe.get("seconds", self.spec["limits"]["probe_seconds"]), action)
        if error and error["type"] == "FunctionMissing":
            result = {"status": "missing", "error": error}
        elif error:
            result = {"status": "error", "error": error}
        else:
            result = {"status": "ok", "value": outcome["value"]}
        result["seconds"] = round(time.time() - started, 3)
        self.plt.close("all")
        with _open(os.path.join(folder, "result.json"), "w", encoding="utf-8") as f:
            f.write(_json_dumps(result, default=str))

    # Each probe_<kind> returns the value to export; its inputs come from IN_DIR.
    def function(self, name: str):
        value = self.namespace.get(name)
        if value is None:
            raise FunctionMissing(name)
        return value

    def load_input(self, name: str) -> np.ndarray:
        return np.load(os.path.join(self.in_dir, name), allow_pickle=False)

    def arguments(self, probe: dict) -> tuple[list, dict]:
        def decode(arg):
            if isinstance(arg, dict) and "npy" in arg:
                return self.load_input(arg["npy"])
            if isinstance(arg, dict) and "fixed_model" in arg:
                return self.fixed_model(arg["fixed_model"])
            if isinstance(arg, dict) and "tuple" in arg:
                return tuple(arg["tuple"])
            if isinstance(arg, dict) and "histories" in arg:
                return self.histories(arg)
            return arg
        return ([decode(a) for a in probe.get("args", [])],
                {k: decode(v) for k, v in probe.get("kwargs", {}).items()})

    def histories(self, arg: dict):
        """History dicts (metric -> list of floats) rebuilt from one array per fold and metric."""
        folds = [{metric: self.load_input(f"{arg['histories']}_{fold}_{metric}.npy").tolist()
                  for metric in arg["metrics"]} for fold in range(arg["folds"])]
        return folds[0] if arg["single"] else folds

    def probe_calls(self, probe: dict):
        """Call a contract function once per input set; report each value or exception, and
        whether the call changed its array inputs."""
        function = self.function(probe["function"])
        outcomes = []
        for call in probe["calls"]:
            args, kwargs = self.arguments(call)
            before = [a.copy() if isinstance(a, np.ndarray) else None for a in args]
            try:
                value = function(*args, **kwargs)
            except Exception as exc:
                outcomes.append({"raised": type(exc).__name__,
                                 "mro": [c.__name__ for c in type(exc).__mro__],
                                 "message": str(exc)[:300]})
                continue
            mutated = [i for i, (a, b) in enumerate(zip(args, before))
                       if b is not None and not (a.shape == b.shape and np.array_equal(a, b))]
            outcomes.append({"returned": value, "mutated_args": mutated})
        return outcomes

    def probe_attribute(self, probe: dict):
        return self.function(probe["name"])

    def probe_train(self, probe: dict):
        """Build a student model and train it on the grader's data under the grader's budget."""
        model = self.function(probe["build"])(**probe.get("build_kwargs", {}))
        info = compile_info(model)
        labels = self.load_input(probe["y"])
        loss = (info.get("loss") or "").lower()
        if "categorical" in loss and "sparse" not in loss:
            labels = np.eye(probe["num_classes"], dtype="float32")[labels]
        fit = self.keras.Model._grader_original_fit
        fit(model, self.load_input(probe["x"]), labels, epochs=probe["epochs"],
            batch_size=probe["batch_size"], verbose=0, shuffle=True)
        return model

    def probe_train_model(self, probe: dict):
        """Call the student's train_model on a small model of the harness; record the fit call."""
        x, y = self.load_input(probe["x"]), self.load_input(probe["y"])
        model = self.small_model(x.shape[1:], probe["num_classes"])
        self.recorder.start(None)
        try:
            history = self.function("train_model")(model, x, y, **probe["kwargs"])
        finally:
            self.recorder.stop()
        return {"returned": history, "fit_calls": self.recorder.calls,
                "history_type": type(history).__name__}

    def probe_cross_validate(self, probe: dict):
        """Call the student's cross_validate with a counting build_fn; record every fit."""
        images, labels = self.load_input(probe["images"]), self.load_input(probe["labels"])
        built: list[int] = []

        def build_fn(*args, **kwargs):
            model = self.small_model(images.shape[1:], probe["num_classes"])
            built.append(self.recorder.serial_of(model))
            return model

        self.recorder.start(images)
        loads_before = len(self.loads)
        try:
            summary = self.function("cross_validate")(
                images, labels, build_fn=build_fn, n_splits=probe["n_splits"], epochs=probe["epochs"],
                batch_size=probe["batch_size"], seed=probe["seed"])
        finally:
            self.recorder.stop()
        return {"returned": summary, "fit_calls": self.recorder.calls, "built_models": built,
                "dataset_loads": self.loads[loads_before:]}

    def small_model(self, input_shape, num_classes: int):
        keras = self.keras
        model = keras.Sequential([keras.Input(shape=tuple(input_shape)), keras.layers.Flatten(),
                                  keras.layers.Dense(8, activation="relu"),
                                  keras.layers.Dense(num_classes, activation="softmax")])
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"],
                      run_eagerly=True)
        return model

    def fixed_model(self, name: str):
        """A softmax layer over flattened input with the grader's weights (its predictions are known)."""
        keras = self.keras
        weights = self.load_input(f"{name}_W.npy")
        bias = self.load_input(f"{name}_b.npy")
        shape = tuple(self.load_input(f"{name}_shape.npy").tolist())
        model = keras.Sequential([keras.Input(shape=shape), keras.layers.Flatten(),
                                  keras.layers.Dense(weights.shape[1], activation="softmax")])
        model.layers[-1].set_weights([weights, bias])
        return model

    def _write_json(self, name: str, value) -> None:
        with _open(os.path.join(self.out_dir, name), "w", encoding="utf-8") as f:
            f.write(_json_dumps(value, default=str))


def main(argv: list[str]) -> int:
    if len(argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    Harness(argv[1], argv[2]).run()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
