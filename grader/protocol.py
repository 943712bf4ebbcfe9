"""The grader <-> worker protocol, defined once.

Both sides import this module: the grader as `grader.protocol`, the worker's harness as `protocol`
(it is copied next to `harness.py` into the job folder, and must therefore import nothing but the
standard library). It holds every name, status, kind and limit the two sides must agree on, and the
probe model both sides build, so that a change here changes both.

Layout of a job folder (paths relative to it):

    harness/harness.py, harness/export.py,
    harness/notebook_trace.py,
    harness/protocol.py                        the worker's code (read-only)
    in/spec.json                               the plan: cells, probes, budget, seed, limits, skip
    in/<name>.npy, in/data/<dataset>.npz       probe inputs, the notebook's data subsets
    out/progress.jsonl                         journal: one event per line (see EVENT_*)
    out/cells.json                             errors of the notebook's cells
    out/probes/<probe id>/result.json          one probe's result, plus the files it refers to
    out/notebook_figure_<n>.png                figures the notebook showed
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import gc
import hashlib
import re
import weakref

# ---------------------------------------------------------------- file names
SPEC_FILE = "spec.json"
JOURNAL_FILE = "progress.jsonl"
CELLS_FILE = "cells.json"
PROBES_DIR = "probes"
RESULT_FILE = "result.json"
DATA_DIR = "data"
NOTEBOOK_FIGURE = "notebook_figure_{}.png"
MAX_NOTEBOOK_FIGURES = 8
# Names of the files a result refers to: v<n>.npy, v<n>.png, v<n>.json, v<n>.weights.npz.
VALUE_FILE = re.compile(r"^v\d{1,6}(\.npy|\.png|\.json|\.weights\.npz)?$")

# ---------------------------------------------------------------- journal
EVENT_START = "start"
EVENT_END = "end"
EVENT_DONE = "done"
STEP_DONE = "done"


def cell_step(index: int) -> str:
    return f"cell:{index}"


def probe_step(probe_id: str) -> str:
    return f"probe:{probe_id}"


# ---------------------------------------------------------------- probes
# Statuses the worker writes; the grader adds CRASHED (the worker died in it) and INVALID.
STATUS_OK = "ok"
STATUS_ERROR = "error"
STATUS_MISSING = "missing"
WORKER_STATUSES = (STATUS_OK, STATUS_ERROR, STATUS_MISSING)
STATUS_CRASHED = "crashed"
STATUS_INVALID = "invalid"

# Kinds of probe (the harness has one method `probe_<kind>` per kind).
PROBE_CALLS = "calls"                    # call a contract function once per input set
PROBE_ATTRIBUTE = "attribute"            # read a module-level name (CLASS_NAMES)
PROBE_TRAIN_MODEL = "train_model"        # train_model on the probe model, fits recorded
PROBE_CROSS_VALIDATE = "cross_validate"  # cross_validate with a counting build_fn, fits recorded
PROBE_TRACE = "trace"                    # free-form mode: what the notebook's cells did (notebook_trace.py)
MODE_CONTRACT = "contract"               # the template's function contract, probed
MODE_FREE = "free"                       # a chapter-style notebook, traced

# Outcome of one call of a `calls` probe: {"call": i, "returned": value, "mutated_args": [...]}
# or {"call": i, "raised": name, "mro": [...], "message": text}. The grader matches outcomes to
# calls by the index, and a missing, extra or reordered outcome fails the check.
OUTCOME_CALL = "call"

# ---------------------------------------------------------------- values
# Kinds of an encoded value (harness `Exporter.encode` writes them, `grader.artifacts` reads them).
KIND_JSON = "json"          # None, bool, int, float, str
KIND_SCALAR = "scalar"      # a numpy scalar
KIND_NDARRAY = "ndarray"    # a plain .npy file
KIND_SEQ = "seq"            # list or tuple
KIND_DICT = "dict"          # string keys
KIND_HISTORY = "history"    # keras.callbacks.History (its .history dict)
KIND_MODEL = "model"        # architecture JSON + weights .npz + compile configuration
KIND_FIGURE = "figure"      # a description of the axes + a PNG
KIND_OBJECT = "object"      # anything else: its type name only
VALUE_KINDS = (KIND_JSON, KIND_SCALAR, KIND_NDARRAY, KIND_SEQ, KIND_DICT, KIND_HISTORY, KIND_MODEL,
               KIND_FIGURE, KIND_OBJECT)

# ---------------------------------------------------------------- limits
MAX_SEQUENCE_ITEMS = 10_000      # items of a list, tuple or dict the worker encodes
MAX_DEPTH = 6                    # nesting the worker encodes (the grader accepts MAX_DEPTH + 2)
MAX_LINE_POINTS = 2_000          # points of one plotted line
MAX_IMAGE_VALUES = 4_096         # values of one shown image exported with a figure
# Free-form mode: the figures a notebook's trace describes. The grader enforces these again when it
# reads a trace (a description is written in the student's process and can be any size within
# MAX_JSON_BYTES), so that comparing its lines with every History stays cheap.
MAX_TRACED_FIGURES = 40          # figures described
MAX_FIGURE_AXES = 100            # axes of one figure
MAX_TRACED_LINES = 1_000         # plotted lines, all figures together
MAX_SHOWN_IMAGES = 100           # images of one axes, colour meshes of one figure
MAX_JSON_BYTES = 20 * 1024 * 1024
MAX_ARRAY_BYTES = 200 * 1024 * 1024
MAX_PNG_BYTES = 2 * 1024 * 1024
# A trained model depends on how many threads split each operation: measured on the reference CIFAR
# model, 1, 2 and 4 intra-op threads give three different models. Fixing the count makes a grade the
# same on a 2-core laptop, a 64-core server, under CPU affinity or in a CPU-quota container.
TRAINING_THREADS = 2
# The environment of every process that grades or runs a submission, variables read once at start
# (the grader sets them on import of the package, the worker gets them in its fixed environment):
# * TensorFlow's thread pools (TRAINING_THREADS, above);
# * one thread for numpy's OpenBLAS: its idle thread spins between calls (about 5 % of a free-form
#   grading's CPU, measured with perf), and the chapter's numpy work is small;
# * no transparent huge pages for numpy's arrays (numpy asks for them on Linux >= 4.6): in a
#   virtual machine that hands freed memory back to its host, as the course machines do, faulting
#   them in costs far more than the arithmetic (a notebook's x / 255.0 over 60,000 images). Measured
#   with benchmarks/hugepages.py on two free-form notebooks: the worker's kernel time 8.7 -> 1.5 s and
#   10.1 -> 1.7 s, its CPU time 1.8 times less.
PROCESS_ENVIRONMENT = {"TF_NUM_INTRAOP_THREADS": str(TRAINING_THREADS), "TF_NUM_INTEROP_THREADS": "1",
                       "OPENBLAS_NUM_THREADS": "1", "NUMPY_MADVISE_HUGEPAGE": "0"}


@contextlib.contextmanager
def collector_paused():
    """Pause the cyclic garbage collector around the first import of Keras in a process, then freeze
    what the import made: the collector's passes over those objects are about a fifth of the import's
    CPU (0.6 of 3.4 s), and every later full collection would walk them again."""
    collecting = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if collecting:
            gc.enable()


# ---------------------------------------------------------------- batches of small eager fits
# The fits both sides run are tiny (the budget's 64 rows, the probe model, the grader's replays) and
# eager. Keras' TensorFlow trainer still feeds them through a tf.data pipeline: building it and
# making an iterator (several per epoch) was about 40 % of such a fit's CPU. For an eager model on
# numeric NumPy arrays taken in order, the same batches can be cut directly: the arrays prepared and
# copied into tensors once, as Keras' pipeline does when it is built, then each batch a slice of them.
# The step gets the same tf.Tensors (a custom metric or train_step sees no difference) and computes
# the same numbers to the bit (tests/test_protocol.py compares History, weights, evaluate, predict).
# Everything else (graph-mode models, shuffling, tensors, generators, datasets, other dtypes, several
# steps per execution, a distribution strategy) keeps tf.data. A model counts as eager only while
# run_eagerly is on and each step function it has is Keras' own, built with no tf.function inside
# (Keras keeps a built one when run_eagerly changes; a graph step given sliced batches is traced on
# their concrete shapes and can round otherwise): checked when the batches are prepared, at each
# epoch, and at each call of a step function, which takes Keras' own pipeline from that batch on
# once it is a graph or runs several steps per call (a callback can rebuild it or change them). That
# pipeline is built over the copy, as Keras' own, built when the call started, holds. Keras' predict
# function is not among them: it is handed batches taken with next(), as from tf.data, graph or not.
_keras_call = contextvars.ContextVar("keras_call_model", default=None)   # the model whose fit, evaluate or predict runs
STEP_FUNCTIONS = ("train_function", "test_function")   # the step functions that take the iterator


class SlicedBatches:
    """One epoch of batches: slices of the first axis of every tensor in `tensors` (a structure of
    them) or, from the first call of a step function that cannot take them, Keras' own pipeline from
    the batch reached on (`keras_pipeline(skip)` makes its iterator)."""

    def __init__(self, tensors, count: int, batch_size: int, map_structure, keras_pipeline) -> None:
        self._batches = (map_structure(lambda tensor, start=start: tensor[start:start + batch_size], tensors)
                         for start in range(0, count, batch_size))
        self._total, self._served = -(-count // batch_size), 0
        self._keras_pipeline, self._pipeline = keras_pipeline, None

    def __iter__(self):
        return self

    def __next__(self):
        batch = next(self._batches)
        self._served += 1
        return batch

    def for_step(self, takes_slices: bool):
        """What a step function is given: these batches while it `takes_slices`, else Keras' pipeline
        from here to the epoch's end. With no batch left, StopIteration, as Keras' step raises on its
        own iterator (its loop over any other iterator would fail)."""
        if self._pipeline is None and not takes_slices:
            self._pipeline = self._keras_pipeline(self._served)
        if self._pipeline is not None:
            return self._pipeline
        if self._served == self._total:
            raise StopIteration
        return self


def install_sliced_batches(keras, numpy) -> bool:
    """Let eager models' fit, evaluate and predict on in-order numeric NumPy arrays take sliced batches
    instead of tf.data, in this process (the modules are passed in: this file imports nothing but the
    standard library). False when this Keras has other internals: everything then runs as before."""
    try:
        tensorflow_trainer = keras.src.backend.tensorflow.trainer
        tf, tree = tensorflow_trainer.tf, keras.src.tree
        array_slicing = keras.src.trainers.data_adapters.array_slicing
        ArrayDataAdapter = keras.src.trainers.data_adapters.array_data_adapter.ArrayDataAdapter
        iterator_class, trainer_class = tensorflow_trainer.TFEpochIterator, tensorflow_trainer.TensorFlowTrainer
        keras_init, keras_iterator = iterator_class.__init__, iterator_class._get_iterator
        methods = {name: getattr(trainer_class, name) for name in ("fit", "evaluate", "predict")}
        builders = {name: getattr(trainer_class, "make_" + name) for name in STEP_FUNCTIONS}
    except AttributeError:
        return False
    if getattr(iterator_class, "sliced_batches_installed", False):
        return True

    def numeric_array(leaf) -> bool:
        return type(leaf) is numpy.ndarray and leaf.dtype.kind in "biufc" and leaf.ndim >= 1 and len(leaf) > 0

    def takes_slices(step_function) -> bool:
        """Keras' own step function with no tf.function inside, as it builds one while run_eagerly is
        on: a closure over its one-step and multi-step functions, neither (nor what they wrap) a graph.
        Anything else, a function replaced by the notebook included, counts as a graph."""
        try:
            inner = dict(zip(step_function.__code__.co_freevars,
                             (cell.cell_contents for cell in step_function.__closure__)))
            steps = [inner["one_step_on_data"], inner["multi_step_on_iterator"]]
        except (AttributeError, KeyError, TypeError, ValueError):
            return False
        for step in steps:
            for _ in range(4):  # functools.wraps chains: Keras' optionals wrapper, then the step itself
                if isinstance(step, tf.types.experimental.PolymorphicFunction):
                    return False
                step = getattr(step, "__wrapped__", None)
        return True

    # id -> each guarded step function that takes slices: by identity, since a wrapper (tf.function
    # among them) copies a function's attributes, and any object has an id.
    eager_steps = weakref.WeakValueDictionary()

    def eager(model) -> bool:
        """run_eagerly on, one step per call, and every step function the model has built by Keras
        while it was (one built before this hook, or set by the notebook, counts as a graph)."""
        steps = (getattr(model, name, None) for name in STEP_FUNCTIONS)
        return (bool(getattr(model, "run_eagerly", False)) and getattr(model, "steps_per_execution", 1) == 1
                and all(eager_steps.get(id(built)) is built for built in steps if built is not None))

    def guarded(step_function, model):
        """Keras' built `step_function`, given sliced batches only while it can take them."""
        takes = takes_slices(step_function) and bool(getattr(model, "run_eagerly", False))

        @functools.wraps(step_function)
        def step(iterator):
            if type(iterator) is SlicedBatches:
                iterator = iterator.for_step(takes and getattr(model, "steps_per_execution", 1) == 1)
            return step_function(iterator)
        if takes:
            eager_steps[id(step)] = step
        return step

    def recorded(builder, name: str):
        @functools.wraps(builder)
        def build(self, *args, **kwargs):
            before = getattr(self, name, None)
            result = builder(self, *args, **kwargs)
            built = getattr(self, name, None)
            if built is not None and built is not before:
                setattr(self, name, guarded(built, self))
                return getattr(self, name) if result is built else result
            return result
        return build

    def __init__(self, distribute_strategy=None, *args, **kwargs):
        # Decided from the arguments, before any adapter exists: Keras' own __init__ must run only
        # once (a generator's adapter takes its first batch when made).
        self.sliced_tensors, self.sliced_model = None, _keras_call.get()
        if not (eager(self.sliced_model) and not args and not kwargs.get("shuffle")
                and kwargs.get("steps_per_execution", 1) == 1
                and type(distribute_strategy).__name__ == "_DefaultDistributionStrategy"
                and all(numeric_array(leaf) for key in ("x", "y", "sample_weight")
                        for leaf in _leaves(kwargs.get(key)))):
            keras_init(self, distribute_strategy, *args, **kwargs)
            return
        tensorflow_trainer.EpochIterator.__init__(self, **kwargs)
        self._distribute_strategy = distribute_strategy
        adapter = self.data_adapter
        if type(adapter) is not ArrayDataAdapter:  # not with this Keras: its own pipeline
            self._distributed_dataset = keras_pipeline(self)
            return
        # What ArrayDataAdapter.get_tf_dataset hands tf.data (floats cast to floatx, lists as
        # tuples), copied into tensors now, as tf.data does when the pipeline is built.
        prepared = tree.lists_to_tuples(array_slicing.convert_to_sliceable(adapter._inputs, target_backend="tensorflow"))
        self.sliced_tensors = tree.map_structure(tf.convert_to_tensor, prepared)

    def _get_iterator(self):
        if getattr(self, "sliced_tensors", None) is not None:
            adapter = self.data_adapter
            if eager(self.sliced_model):
                return SlicedBatches(self.sliced_tensors, adapter._num_samples, adapter.batch_size, tree.map_structure,
                                     lambda skip: iter(keras_pipeline(self, skip)))
            # A graph function was built since (a callback turned run_eagerly off): Keras' pipeline.
            self._distributed_dataset = keras_pipeline(self)
            self.sliced_tensors = None
        return keras_iterator(self)

    def keras_pipeline(epoch_iterator, skip: int = 0):
        """Keras' own pipeline from batch `skip` on, over the copy when there is one (the arrays may
        have changed since the call started), distributed as TFEpochIterator does it."""
        adapter = epoch_iterator.data_adapter
        live = adapter._inputs
        if getattr(epoch_iterator, "sliced_tensors", None) is not None:
            adapter._inputs = epoch_iterator.sliced_tensors
        try:
            dataset = adapter.get_tf_dataset()
        finally:
            adapter._inputs = live
        return epoch_iterator._distribute_strategy.experimental_distribute_dataset(dataset.skip(skip) if skip else dataset)

    def on_this_model(method):
        @functools.wraps(method)
        def call(self, *args, **kwargs):
            token = _keras_call.set(self)
            try:
                return method(self, *args, **kwargs)
            finally:
                _keras_call.reset(token)
        return call

    iterator_class.__init__, iterator_class._get_iterator = __init__, _get_iterator
    for name, method in methods.items():
        setattr(trainer_class, name, on_this_model(method))
    for name, builder in builders.items():
        setattr(trainer_class, "make_" + name, recorded(builder, name))
    iterator_class.sliced_batches_installed = True
    return True


def _leaves(structure) -> list:
    """The arrays of Keras' packed (x, y, sample_weight): tuples, lists and dicts of them, or None (a
    None inside a tuple, list or dict is a leaf: no array to slice)."""
    if structure is None:
        return []
    members = structure.values() if isinstance(structure, dict) else structure
    if isinstance(structure, (tuple, list, dict)):
        return [leaf for member in members for leaf in ([None] if member is None else _leaves(member))]
    return [structure]


# ---------------------------------------------------------------- the probe model
# train_model and cross_validate are called on a small model the grader specifies completely
# (architecture, initial weights, compile settings), so that the grader can replay every recorded
# fit itself and compare the weights it gets with the weights the worker reports.
PROBE_MODEL_UNITS = 8


def build_probe_model(keras, input_shape: tuple, num_classes: int, weights: list):
    """The probe model: Flatten -> Dense(8, relu) -> Dense(num_classes, softmax), with `weights`,
    compiled with adam and the sparse loss, eagerly (the same on both sides of the protocol)."""
    model = keras.Sequential([keras.Input(shape=tuple(input_shape)), keras.layers.Flatten(),
                              keras.layers.Dense(PROBE_MODEL_UNITS, activation="relu"),
                              keras.layers.Dense(num_classes, activation="softmax")])
    model.set_weights(weights)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"],
                  run_eagerly=True)
    return model


# ---------------------------------------------------------------- free-form fits, replayed
# In free-form mode the harness keeps, for the notebook's first MAX_REPLAYED_FITS fits, the data each
# fit trained on (after the budget's cut) and the weights it started from; the grader repeats the fit
# and judges the History it gets itself. Random layers (Dropout, augmentation) draw from seed states
# that both sides set the same way before every fit; batches go in order.
MAX_REPLAYED_FITS = 24
MAX_REPLAY_BYTES = 128 * 1024 * 1024   # data and starting weights kept for replays, all fits together
FREE_FIT_SEED = 1729
# Callbacks that do not change what a fit computes (the grader repeats as many epochs as the History has).
REPLAYABLE_CALLBACKS = ("History", "ProgbarLogger", "EarlyStopping", "ModelCheckpoint", "CSVLogger",
                        "TensorBoard", "TerminateOnNaN", "BackupAndRestore")


def seed_random_layers(model) -> None:
    """Set every seed state of the model's random layers to the value both sides use before a fit."""
    states = [v for v in model.variables if str(getattr(v, "path", "")).endswith("seed_generator_state")]
    for k, variable in enumerate(states):
        variable.assign([FREE_FIT_SEED + k, 0])


def weights_digest(arrays) -> str:
    """A digest of a model's weights (a list of numpy arrays), the same on both sides."""
    digest = hashlib.sha256()
    for array in arrays:
        digest.update(str(array.dtype).encode() + str(tuple(array.shape)).encode())
        digest.update(array.tobytes(order="C"))
    return digest.hexdigest()[:24]


def array_digests(arrays) -> list[str]:
    """The digest of each weight array on its own."""
    return [weights_digest([array]) for array in arrays]


def changed_arrays(before: list[str], after_arrays) -> list[str]:
    """Digests of the weight arrays a fit left different from every array it started with
    (`before`: their `array_digests`). Free-form fits record them, so that a fold starting from the
    output of a fit the grader could not repeat is still known not to be fresh."""
    started = set(before)
    return [d for d in array_digests(after_arrays) if d not in started][:MAX_SEQUENCE_ITEMS]
