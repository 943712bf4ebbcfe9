"""The worker harness: runs a submission's cells, then calls its functions on the grader's probes.

This file runs only inside the sandboxed worker process (see `worker.py`), never in the grader.
It is copied with `protocol.py` (the names, kinds and limits both sides share) into the job folder
and started as a script, so it imports nothing else from the grader package (whose hidden checks
the worker must not be able to read).

Everything it writes is untrusted by the grader: values go out as JSON, `.npy` without pickle,
Keras models as architecture JSON plus a weights `.npz`, and figures as JSON plus a PNG.

usage: python harness.py IN_DIR OUT_DIR    (the files are listed in protocol.py)
"""

from __future__ import annotations

import builtins
import contextlib
import inspect
import json
import math
import os
import signal
import sys
import time
import traceback
import types

import numpy as np

# `python -I` puts no script folder on sys.path; protocol.py lies beside this file (read-only).
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import protocol as P  # noqa: E402
from export import (Exporter, ProbeInputs, _json_dumps, _open, call_each, install_dataset_loaders,  # noqa: E402
                    serial_in, write_result)
from notebook_trace import NotebookTrace, install_trace_hooks  # noqa: E402

TRACE_RECORD_FIT = NotebookTrace.record_fit  # captured before student code runs



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


# Whether the running step's time limit has fired. Whatever exception then ends the step, the time
# limit ended it: where the alarm lands in Keras' fit loop, the StepTimeout can be caught, or turned
# into another error by cleanup code (CI, on a loaded machine: train_model of hostile case
# time_million_epochs reported "AssertionError: " instead of Timeout).
_alarm = {"fired": False}


def _on_alarm(signum, frame):
    _alarm["fired"] = True
    raise StepTimeout()


@contextlib.contextmanager
def time_limit(seconds: float):
    """Raise StepTimeout in the running code after `seconds` (the grader kills it if caught)."""
    _alarm["fired"] = False
    signal.signal(signal.SIGALRM, _on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)


def describe_error(exc: BaseException) -> dict:
    """A JSON description of an exception raised by student code (a Timeout once the step's time
    limit has fired, whatever the exception)."""
    if isinstance(exc, StepTimeout) or _alarm["fired"]:
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
    """Remembers every `fit` call (arguments, data rows, weights) during an instrumented probe.

    The records are claims, not evidence: student code runs in this process and can edit them. The
    grader replays every recorded fit from the initial weights it chose and believes a record only
    when its replay gives the weights reported here."""

    def __init__(self) -> None:
        self.calls: list[dict] = []
        self.models: list[object] = []  # strong refs keep ids unique while recording
        self.final_weights: dict[int, list[np.ndarray]] = {}
        self.reference_rows: np.ndarray | None = None
        self.reference_images: np.ndarray | None = None
        self.active = False
        self.invocations = 0  # fit calls the wrapper saw; compared with len(calls) for tampering

    def start(self, reference_images: np.ndarray | None) -> None:
        self.calls, self.models, self.final_weights, self.active = [], [], {}, True
        self.invocations = 0
        self.reference_images = reference_images
        self.reference_rows = None if reference_images is None else fingerprints(reference_images)

    def stop(self) -> None:
        self.active = False

    def serial_of(self, model) -> int:
        return serial_in(self.models, model)

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

    def scale_of(self, x, rows: list[int]) -> list[float]:
        """[a, b] with x ~= a * reference[rows] + b: a notebook may rescale the images it is given."""
        if not rows or -1 in rows or self.reference_images is None:
            return [1.0, 0.0]
        try:
            given = np.asarray(x, dtype=np.float64).reshape(-1)
            reference = self.reference_images[rows].astype(np.float64).reshape(-1)
            a, b = np.polyfit(reference, given, 1)
        except Exception:
            return [1.0, 0.0]
        return [float(a), float(b)]


def fingerprints(images: np.ndarray) -> np.ndarray:
    """Scale- and shift-invariant signature of each image (first 48 values, z-normalised)."""
    flat = np.asarray(images, dtype=np.float64).reshape(len(images), -1)[:, :48]
    centred = flat - flat.mean(axis=1, keepdims=True)
    scale = centred.std(axis=1, keepdims=True)
    scale[scale == 0] = 1.0
    return centred / scale


def weights_of(model) -> list[np.ndarray]:
    return [np.array(w) for w in model.get_weights()]


def fix_thread_counts() -> None:
    """Pin TensorFlow's thread pools (before any operation runs; see protocol.TRAINING_THREADS)."""
    import tensorflow as tf
    tf.config.threading.set_intra_op_parallelism_threads(P.TRAINING_THREADS)
    tf.config.threading.set_inter_op_parallelism_threads(1)


# Arguments of fit that a replay in the grader reproduces; any other one makes a record unverifiable.
REPLAYED_FIT_ARGUMENTS = {"x", "y", "epochs", "batch_size", "validation_split", "validation_data",
                          "verbose", "shuffle"}


def install_fit_wrapper(keras, budget: Budget, recorder: FitRecorder, trace: NotebookTrace | None = None):
    """Wrap `keras.Model.fit`: cap epochs and samples in notebook cells (in free-form mode, trace what
    each was asked to do first), record calls in probes. Returns the wrapper, so the harness can
    tell later whether it is still in place."""
    original_fit = keras.Model.fit
    signature = inspect.signature(original_fit)

    def fit(self, *args, **kwargs):
        bound = signature.bind(self, *args, **kwargs)
        arguments = bound.arguments
        arguments["verbose"] = 0
        traced = None
        if budget.active and trace is not None:
            with contextlib.suppress(Exception):
                traced = trace.record_fit(self, arguments)
        if budget.active:
            _cap_fit_arguments(arguments, budget)
            # A few capped steps cost less eagerly than tracing a graph for every new model.
            self.run_eagerly = True
        if traced is not None:
            arguments["shuffle"] = False  # batches in order, so that the grader can repeat the fit
            with contextlib.suppress(Exception):
                trace.prepare_replay(self, traced, arguments, _unreplayed_arguments(arguments, signature))
        if not recorder.active:
            before = []
            if traced is not None:
                with contextlib.suppress(Exception):
                    before = P.array_digests(weights_of(self))
            history = original_fit(*bound.args, **bound.kwargs)
            if traced is not None:
                with contextlib.suppress(Exception):
                    traced["history"] = {str(k): [float(v) for v in values][:1000]
                                         for k, values in dict(history.history).items()}
                with contextlib.suppress(Exception):
                    traced["changed_arrays"] = P.changed_arrays(before, weights_of(self))
            return history
        # Batches in order, so that the grader can replay this fit exactly.
        arguments["shuffle"] = False
        call = _describe_fit_call(arguments, recorder, self)
        history = original_fit(*bound.args, **bound.kwargs)
        recorder.invocations += 1  # only fits that returned are recorded (a time-out raises through)
        final = weights_of(self)
        call["weights_after"] = P.weights_digest(final)
        recorder.final_weights[call["model"]] = final
        recorder.calls.append(call)
        return history

    keras.Model.fit = fit
    return fit


# evaluate/predict in notebook cells run eagerly (see the fit wrapper), where every batch costs a
# Python round trip: on the chapter's CNN, 10,000 test images take 4.1 s in batches of 32 and 0.5 s
# in batches of 1,024. A batch is widened up to this many rows, and to this many bytes of the
# layers' outputs per batch.
WIDE_BATCH_ROWS = 1024
WIDE_BATCH_BYTES = 128 * 1024 * 1024


def install_wide_batches(keras, budget: Budget) -> None:
    """Make evaluate and predict in notebook cells take wide batches of numpy arrays. What they
    compute does not depend on the batch size (up to float rounding); `steps`, which would then
    cover more data, and datasets, which bring their own batches, are left alone.

    evaluate also sees only the budget's first rows of x, y and sample_weight, as fit's validation
    data does: the scores it returns are the notebook's own (the grader measures accuracy itself,
    and a capped fit's scores mean nothing), while evaluating 10,000 test images costs about 0.6 s
    of CPU each time. The rows a notebook asked for are traced before the cut (notebook_trace.py)."""
    def widen(original, cut_rows: bool):
        signature = inspect.signature(original)

        def wrapper(self, *args, **kwargs):
            with contextlib.suppress(Exception):
                bound = signature.bind(self, *args, **kwargs)
                x, arguments = bound.arguments.get("x"), bound.arguments
                if budget.active and isinstance(x, np.ndarray) and arguments.get("steps") is None:
                    if cut_rows and _same_rows(x, arguments.get("y"), arguments.get("sample_weight")):
                        for key in ("x", "y", "sample_weight"):
                            if key in arguments:
                                arguments[key] = _first_rows(arguments[key], budget.max_samples)
                    arguments["batch_size"] = wide_batch_size(self, arguments.get("batch_size"))
                    args, kwargs = bound.args[1:], bound.kwargs
            return original(self, *args, **kwargs)
        return wrapper

    evaluate, predict = widen(keras.Model.evaluate, cut_rows=True), widen(keras.Model.predict, cut_rows=False)
    keras.Model.evaluate, keras.Model.predict = evaluate, predict


def _same_rows(x: np.ndarray, *others) -> bool:
    """Whether every given array among `others` has x's rows. Arrays of other lengths, or labels in a
    list, are left uncut: cut, they could come to match x, and Keras would no longer refuse the call
    as it does in Jupyter."""
    given = [other for other in others if other is not None]
    return all(isinstance(other, np.ndarray) and other.ndim and len(other) == len(x) for other in given)


def wide_batch_size(model, requested) -> int:
    """The batch size evaluate/predict use in a notebook cell: the requested one (Keras' 32 when
    none), widened within WIDE_BATCH_ROWS and WIDE_BATCH_BYTES when the layers' outputs are known."""
    requested = int(requested) if requested else 32
    floats = _output_floats_per_row(model)
    if floats is None:
        return requested
    per_row = floats * 4
    fitting = WIDE_BATCH_BYTES // max(per_row, 1)
    return max(requested, min(WIDE_BATCH_ROWS, fitting))


def _output_floats_per_row(model) -> int | None:
    """The floats all of the model's layers output for one row, counting the layers of nested models
    (a ResNet50 inside a Sequential is one outer layer but ~170 inner ones); None when a layer is
    the notebook's own class, whose inner tensors cannot be known."""
    total = 0
    for layer in model.layers:
        if not type(layer).__module__.startswith("keras."):
            return None
        inner = getattr(layer, "layers", None)
        if isinstance(inner, list) and inner:
            nested = _output_floats_per_row(layer)
            if nested is None:
                return None
            total += nested
        else:
            total += int(np.prod(layer.output.shape[1:]))
    return total


def _unreplayed_arguments(arguments: dict, signature: inspect.Signature) -> list[str]:
    """The arguments of a free-form fit that the grader's replay would not repeat (callbacks that do
    not change the training are repeated by the number of epochs the History has)."""
    def default(name: str, value) -> bool:
        parameter = signature.parameters.get(name)
        return value is None or (parameter is not None and type(value) in (int, float, bool)
                                 and value == parameter.default)

    others = [name for name, value in arguments.items()
              if name not in REPLAYED_FIT_ARGUMENTS | {"self", "callbacks"} and not default(name, value)]
    callbacks = arguments.get("callbacks") or []
    if not isinstance(callbacks, (list, tuple)):
        return others + ["callbacks"]
    return others + [f"callback {type(c).__name__}" for c in callbacks
                     if type(c).__name__ not in P.REPLAYABLE_CALLBACKS]


def _cap_fit_arguments(arguments: dict, budget: Budget) -> None:
    arguments["epochs"] = min(int(arguments.get("epochs", 1) or 1), budget.max_epochs)
    for key in ("x", "y", "validation_data"):
        if key in arguments:
            arguments[key] = _first_rows(arguments[key], budget.max_samples)


def _first_rows(value, rows: int):
    """The first `rows` rows of every array in `value`, an array or the list, tuple or dict of them
    that multi-input and multi-output models take (cutting x alone would leave Keras with inputs and
    targets of different lengths)."""
    if isinstance(value, np.ndarray):
        return value[:rows] if value.ndim and len(value) > rows else value
    if isinstance(value, (list, tuple)):
        members = [_first_rows(member, rows) for member in value]
        return members if isinstance(value, list) else tuple(members)
    if isinstance(value, dict):
        return {name: _first_rows(member, rows) for name, member in value.items()}
    return value


def _describe_fit_call(arguments: dict, recorder: FitRecorder, model) -> dict:
    x = arguments.get("x")
    rows = recorder.row_indices(x)
    split = float(arguments.get("validation_split", 0.0) or 0.0)
    validation = arguments.get("validation_data")
    if validation is not None:
        val_rows = recorder.row_indices(validation[0] if isinstance(validation, (tuple, list)) else None)
        train_rows = rows
    elif split > 0 and rows:
        # Keras holds out the last fraction: it splits at floor(n * (1 - split)) (train_validation_split).
        cut = int(math.floor(len(rows) * (1.0 - split)))
        train_rows, val_rows = rows[:cut], rows[cut:]
    else:
        train_rows, val_rows = rows, []
    return {
        "model": recorder.serial_of(model),
        "epochs": arguments.get("epochs", 1),
        "batch_size": arguments.get("batch_size"),
        "validation_split": split,
        "train_rows": train_rows,
        "val_rows": val_rows,
        "scale": recorder.scale_of(x, rows),
        "other_arguments": sorted(set(arguments) - REPLAYED_FIT_ARGUMENTS - {"self"}),
        "weights_before": P.weights_digest(weights_of(model)),
    }


def install_show_capture(plt, out_dir: str, limit: int = P.MAX_NOTEBOOK_FIGURES,
                         trace: NotebookTrace | None = None) -> None:
    """Make `plt.show()` save the notebook's figures (for the feedback page) instead of displaying
    (and, in free-form mode, describe them for the trace first)."""
    saved = []

    def show(*args, **kwargs):
        if trace is not None:
            trace.record_figures(plt)
        for number in plt.get_fignums():
            if len(saved) >= limit:
                break
            figure = plt.figure(number)
            path = os.path.join(out_dir, P.NOTEBOOK_FIGURE.format(len(saved)))
            with contextlib.suppress(Exception):
                figure.savefig(path, dpi=60, format="png")
                saved.append(path)
        plt.close("all")

    plt.show = show


# ---------------------------------------------------------------- value export


# ---------------------------------------------------------------- probes
class Harness:
    """Runs the steps of one grading: the cells first, then the probes."""

    def __init__(self, in_dir: str, out_dir: str) -> None:
        self.in_dir = in_dir
        self.out_dir = out_dir
        with _open(os.path.join(in_dir, P.SPEC_FILE), encoding="utf-8") as f:
            self.spec = json.load(f)
        self.skip = set(self.spec.get("skip", []))
        self.journal = Journal(os.path.join(out_dir, P.JOURNAL_FILE))
        # Cells run in a module registered as __main__, as IPython runs them: pickle (multiprocessing,
        # joblib) finds a function defined in a cell by its module and name.
        self.main_module = types.ModuleType("__main__")
        self.namespace: dict = self.main_module.__dict__
        self.namespace["__builtins__"] = builtins
        self.loads: list[str] = []
        self.recorder = FitRecorder()
        self.trace: NotebookTrace | None = None

    def setup(self) -> None:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        with P.collector_paused():
            import keras
        fix_thread_counts()
        P.install_sliced_batches(keras, np)
        self.keras, self.plt = keras, plt
        notebook_budget = self.spec["budget"]
        self.budget = Budget(notebook_budget["max_epochs"], notebook_budget["max_samples"])
        install_wide_batches(keras, self.budget)  # first: it binds Keras' own signatures
        if self.spec.get("mode") == P.MODE_FREE:
            self.trace = NotebookTrace(self.served_datasets())
            install_trace_hooks(keras, self.trace)
        self.fit_wrapper = install_fit_wrapper(keras, self.budget, self.recorder, self.trace)
        self.inputs = ProbeInputs(self.load_input, keras)
        install_dataset_loaders(os.path.join(self.in_dir, P.DATA_DIR), self.loads)
        install_show_capture(plt, self.out_dir, trace=self.trace)
        self.namespace["get_ipython"] = lambda: FakeIPython(self.namespace)
        self.namespace["display"] = lambda *a, **k: None
        sys.modules["__main__"] = self.main_module

    def run(self) -> None:
        self.setup()
        cell_errors = []
        self.budget.active = True
        for cell in self.spec["cells"]:
            step = P.cell_step(cell["index"])
            if step in self.skip:
                continue
            if self.trace is not None:
                self.trace.cell = cell["index"]
            error = self.run_step(step, self.spec["limits"]["cell_seconds"],
                                  lambda c=cell: self.run_cell(c))
            if self.trace is not None:
                self.trace.record_figures(self.plt)
            if error:
                cell_errors.append({"cell": cell["index"], **error})
                self._write_json(P.CELLS_FILE, cell_errors)
        self._write_json(P.CELLS_FILE, cell_errors)
        self.budget.active = False
        for probe in self.spec["probes"]:
            step = P.probe_step(probe["id"])
            if step in self.skip:
                continue
            self.run_probe(step, probe)
        self.journal.write(step=P.STEP_DONE, event=P.EVENT_DONE)

    def run_step(self, step: str, seconds: float, action) -> dict | None:
        """Run one step under its time limit; return the error it raised, if any."""
        self.journal.write(step=step, event=P.EVENT_START, time=time.time())
        error = None
        try:
            with time_limit(seconds):
                action()
        except BaseException as exc:  # the student's SystemExit/KeyboardInterrupt included
            error = describe_error(exc)
        self.journal.write(step=step, event=P.EVENT_END, ok=error is None, time=time.time())
        return error

    def run_cell(self, cell: dict) -> None:
        code = compile(cell["source"], f"<cell {cell['index']}>", "exec")
        exec(code, self.namespace)

    def run_probe(self, step: str, probe: dict) -> None:
        folder = os.path.join(self.out_dir, P.PROBES_DIR, probe["id"])
        os.makedirs(folder, exist_ok=True)
        exporter = Exporter(folder, self.keras, self.plt)
        outcome: dict = {}

        def action():
            self.keras.utils.set_random_seed(int(self.spec["seed"]))
            outcome["value"] = exporter.encode(getattr(self, "probe_" + probe["kind"])(probe))

        started = time.time()
        error = self.run_step(step, probe.get("seconds", self.spec["limits"]["probe_seconds"]), action)
        if error and error["type"] == "FunctionMissing":
            result = {"status": P.STATUS_MISSING, "error": error}
        elif error:
            result = {"status": P.STATUS_ERROR, "error": error}
        else:
            result = {"status": P.STATUS_OK, "value": outcome["value"]}
        result["seconds"] = round(time.time() - started, 3)
        result["tampering"] = self.tampering_seen()
        self.plt.close("all")
        write_result(folder, result)

    def tampering_seen(self) -> list[str]:
        """What the harness can see of its instruments being changed by student code. Only a hint
        for the instructor: code in this process can hide it, which is why the grader relies on
        replaying the records, not on this."""
        seen = []
        if self.keras.Model.fit is not self.fit_wrapper:
            seen.append("keras.Model.fit was replaced")
        if self.recorder.invocations != len(self.recorder.calls):
            seen.append(f"{len(self.recorder.calls)} fit records for {self.recorder.invocations} fit calls")
        if self.trace is not None and type(self.trace).record_fit is not TRACE_RECORD_FIT:
            seen.append("the notebook trace's record_fit was replaced")
        return seen

    # Each probe_<kind> returns the value to export; its inputs come from IN_DIR.
    def function(self, name: str):
        value = self.namespace.get(name)
        if value is None:
            raise FunctionMissing(name)
        return value

    def load_input(self, name: str) -> np.ndarray:
        return np.load(os.path.join(self.in_dir, name), allow_pickle=False)

    def probe_calls(self, probe: dict):
        return call_each(self.function(probe["function"]), probe["calls"], self.inputs)

    def probe_trace(self, probe: dict):
        return self.trace.export() if self.trace is not None else {}

    def served_datasets(self) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """The splits load_data() hands out, by "dataset:split" (free-form mode traces rows of them)."""
        served = {}
        for dataset in ("mnist", "cifar10"):
            path = os.path.join(self.in_dir, P.DATA_DIR, f"{dataset}.npz")
            if os.path.exists(path):
                with np.load(path, allow_pickle=False) as data:
                    served[f"{dataset}:train"] = (data["x_train"], data["y_train"])
                    served[f"{dataset}:test"] = (data["x_test"], data["y_test"])
        return served

    def probe_attribute(self, probe: dict):
        return self.function(probe["name"])

    def probe_model(self, spec: dict, input_shape: tuple):
        """A fresh probe model with the grader's initial weights (see protocol.build_probe_model)."""
        weights = [self.load_input(name) for name in spec["init"]]
        return P.build_probe_model(self.keras, input_shape, spec["num_classes"], weights)

    def recorded(self, run) -> dict:
        """Run `run()` while recording fits; its value with the records and each model's final weights."""
        try:
            returned = run()
        finally:
            self.recorder.stop()
        return {"returned": returned, "fit_calls": self.recorder.calls,
                "final_weights": {str(k): v for k, v in self.recorder.final_weights.items()},
                "returned_type": type(returned).__name__}

    def probe_train_model(self, probe: dict):
        """Call the student's train_model on a probe model, once per call; record the fits."""
        train_model = self.function("train_model")
        outcomes = []
        for index, call in enumerate(probe["calls"]):
            x, y = self.load_input(call["x"]), self.load_input(call["y"])
            model = self.probe_model(probe["model"], x.shape[1:])
            self.recorder.start(x)
            record = self.recorded(lambda: train_model(model, x, y, **call["kwargs"]))
            outcomes.append({P.OUTCOME_CALL: index, **record})
        return outcomes

    def probe_cross_validate(self, probe: dict):
        """Call the student's cross_validate with a counting build_fn, once per call; record every fit."""
        cross_validate = self.function("cross_validate")
        outcomes = []
        for index, call in enumerate(probe["calls"]):
            images, labels = self.load_input(call["images"]), self.load_input(call["labels"])
            built: list[int] = []

            def build_fn(*args, **kwargs):
                model = self.probe_model(probe["model"], images.shape[1:])
                built.append(self.recorder.serial_of(model))
                return model

            self.recorder.start(images)
            loads_before = len(self.loads)
            record = self.recorded(lambda: cross_validate(images, labels, build_fn=build_fn, **call["kwargs"]))
            outcomes.append({P.OUTCOME_CALL: index, **record, "built_models": built,
                             "dataset_loads": self.loads[loads_before:]})
        return outcomes

    def _write_json(self, name: str, value) -> None:
        with _open(os.path.join(self.out_dir, name), "w", encoding="utf-8") as f:
            f.write(_json_dumps(value, default=str))


def main(argv: list[str]) -> int:
    if len(argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    Harness(argv[1], argv[2]).run()
    return 0


def leave(status: int) -> None:
    """End the worker now that everything it had to say is written (each file closed, the journal
    synced). Python's own exit would wait for the submission's threads and atexit handlers and then
    tear TensorFlow down, about a second of every grading. os._exit is looked up here, after the
    submission ran: one that replaced it is stopped by the grader once it reported done, as before."""
    for stream in (sys.stdout, sys.stderr, sys.__stdout__, sys.__stderr__):
        with contextlib.suppress(Exception):
            stream.flush()
    os._exit(status)


if __name__ == "__main__":
    leave(main(sys.argv))
