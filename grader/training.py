"""Training done by the grader itself, in its own process, on models it rebuilt from data.

Two uses, both so that a verdict rests on what the grader computed rather than on what the
worker (where student code runs) reports:

* accuracy: the grader compiles a fresh copy of the submission's architecture with the submission's
  compile configuration (validated against allow-lists), initialises it with its own secret seed,
  trains it under the rubric's budget and measures it on held-out data the worker never saw.
  A result close to the threshold is measured again with further seeds and decided on the mean.
* replay: every `fit` the worker recorded during the train_model and cross_validate probes ran on
  the probe model, whose initial weights the grader chose; the grader repeats each recorded fit
  (same rows, epochs, batch size, no shuffling) and believes the record only when it arrives at the
  weights the worker reported. Free-form fits are repeated too (grader/free_checks/replay.py).
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import json
import sys
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from grader import protocol
from grader.compile_config import CompileSettings, TrainingRefused, compile_settings

# What a model may cost the grader to train: far above any model of the chapter (the reference
# CIFAR-10 model has 282,250 parameters and about 6 million multiply-adds per image).
MAX_PARAMETERS = 5_000_000
MAX_MULTIPLY_ADDS = 300_000_000
MAX_ACTIVATIONS = 2_000_000      # values all layers together output for one image (the reference: about 70,000)
REPLAY_RTOL = 1e-4
REPLAY_ATOL = 1e-5
HISTORY_ATOL = 1e-4

def pin_threads() -> None:
    """Import Keras and pin TensorFlow's pools in this process, if it has not started them yet (else the
    environment variables set on import of the grader package already did); small eager fits take
    their batches as the worker's do (protocol.install_sliced_batches)."""
    if "keras" not in sys.modules:
        with protocol.collector_paused():
            import keras  # noqa: F401
    protocol.install_sliced_batches(sys.modules["keras"], np)
    import tensorflow as tf
    try:
        tf.config.threading.set_intra_op_parallelism_threads(protocol.TRAINING_THREADS)
        tf.config.threading.set_inter_op_parallelism_threads(1)
    except RuntimeError:
        pass


# ------------------------------------------------------------------ the cost of a model
def check_cost(model) -> None:
    """Refuse a model too large for the grader to train within its budget."""
    parameters = model.count_params()
    if parameters > MAX_PARAMETERS:
        raise TrainingRefused(f"the model has {parameters:,} parameters; the grader trains models of at most "
                              f"{MAX_PARAMETERS:,}")
    work = multiply_adds(model)
    if work > MAX_MULTIPLY_ADDS:
        raise TrainingRefused(f"the model needs about {work:,} multiply-adds per image; the grader trains models "
                              f"of at most {MAX_MULTIPLY_ADDS:,}")
    values = activations(model)
    if values > MAX_ACTIVATIONS:
        raise TrainingRefused(f"the model's layers output about {values:,} values per image; the grader trains "
                              f"models of at most {MAX_ACTIVATIONS:,}")


def activations(model) -> int:
    """Values all layers output for one sample (padding or normalisation layers cost memory and time
    without a multiply-add)."""
    total = 0
    for layer in model.layers:
        try:
            shapes = layer.output if isinstance(layer.output, (list, tuple)) else [layer.output]
            total += sum(int(np.prod([d or 1 for d in tensor.shape[1:]])) for tensor in shapes)
        except (AttributeError, ValueError, TypeError):
            continue
    return total


def multiply_adds(model) -> int:
    """Multiply-adds of one forward pass of one sample, from the layers' shapes (Conv2D and Dense)."""
    total = 0
    for layer in model.layers:
        kind = type(layer).__name__
        if kind == "Conv2D":
            out_h, out_w = layer.output.shape[1], layer.output.shape[2]
            kernel = layer.kernel.shape
            total += int(out_h) * int(out_w) * int(np.prod(kernel))
        elif kind == "Dense":
            positions = int(np.prod(layer.output.shape[1:-1])) if len(layer.output.shape) > 2 else 1
            total += positions * int(np.prod(layer.kernel.shape))
    return total


# ------------------------------------------------------------------ accuracy
def fresh_model(architecture: dict, settings: CompileSettings, seed: int):
    """The submission's architecture with new weights from the grader's seed, compiled with its
    validated settings. The architecture must already have passed the artifact allow-list."""
    import keras
    keras.utils.set_random_seed(seed)
    return compiled_model(architecture, settings)


def compiled_model(architecture: dict, settings: CompileSettings, metrics=("accuracy",), run_eagerly: bool = False):
    """The architecture (already through the artifact allow-list) rebuilt, refused if too costly, and
    compiled with the validated settings."""
    import keras
    model = keras.saving.deserialize_keras_object(copy.deepcopy(architecture), safe_mode=True)  # Keras consumes it
    check_cost(model)
    optimizer = keras.optimizers.deserialize(
        {"module": "keras.optimizers", "class_name": settings.optimizer["class_name"],
         "config": settings.optimizer["config"], "registered_name": None})
    loss = keras.losses.get(settings.loss)
    if settings.from_logits:
        loss = {"categorical_crossentropy": keras.losses.CategoricalCrossentropy(from_logits=True),
                "sparse_categorical_crossentropy": keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                "binary_crossentropy": keras.losses.BinaryCrossentropy(from_logits=True)}.get(settings.loss, loss)
    model.compile(optimizer=optimizer, loss=loss, metrics=list(metrics), run_eagerly=run_eagerly)
    return model


def trained_accuracy(architecture: dict, settings: CompileSettings, train: tuple[np.ndarray, np.ndarray],
                     test: tuple[np.ndarray, np.ndarray], budget: dict, seed: int) -> float:
    """Accuracy on `test` of the architecture trained by the grader on `train` (already scaled)."""
    x_train, y_train = train
    model = fresh_model(architecture, settings, seed)
    classes = int(model.output_shape[-1])
    labels = y_train if settings.sparse_labels else np.eye(classes, dtype="float32")[y_train]
    model.fit(x_train, labels, epochs=budget["epochs"], batch_size=budget["batch_size"], shuffle=True, verbose=0)
    x_test, y_test = test
    predicted = np.argmax(model.predict(x_test, verbose=0, batch_size=500), axis=1)
    return float(np.mean(predicted == y_test))


# The accuracy checks: which contract function builds the model, on which data, in which input shape.
ACCURACY_PARTS = {"dense": ("build_dense_model", "mnist", (784,)),
                  "cnn": ("build_cnn_model", "mnist", (28, 28, 1)),
                  "cifar": ("build_cifar_model", "cifar10", (32, 32, 3))}


def scaled(images: np.ndarray, shape: tuple) -> np.ndarray:
    """Images as the contract's preprocessing gives them: reshaped, float32, pixels / 255."""
    return (images.reshape((len(images), *shape)) / 255.0).astype("float32")


# Accuracies the grader has measured in this process, by everything a measurement depends on. The
# seeds are the class's (probes.training_key_for), so the same model (the template's suggestion, a
# classmate's copy, an untouched exercise) is trained once per grading process of a batch, not once
# per submission. One training at a time per process: Keras draws initial weights and shuffles
# from process-wide seeds (keras.utils.set_random_seed), so two trainings at once (a Dask worker
# with several threads) would change each other's results, and a remembered result would spread it.
REMEMBERED_ACCURACIES = 1024
_remembered: OrderedDict[str, float] = OrderedDict()
_training_lock = threading.Lock()


def accuracy_key(part: str, seed: int, budget: dict, architecture: dict, settings: CompileSettings,
                 train: tuple[np.ndarray, np.ndarray], test: tuple[np.ndarray, np.ndarray]) -> str:
    """A digest of everything one accuracy training depends on: two trainings with the same key
    give the same accuracy, whoever submitted the model."""
    # No default= for json: a value that is not plain JSON must fail, not collide with its str().
    digest = hashlib.sha256(json.dumps([part, seed, budget["epochs"], budget["batch_size"], architecture,
                                        dataclasses.asdict(settings)], sort_keys=True).encode())
    for array in (*train, *test):
        digest.update(f"{array.dtype}{array.shape}".encode())
        digest.update(np.ascontiguousarray(array).tobytes())
    return digest.hexdigest()


def measured_accuracy(plan, budget: dict, part: str, architecture: dict, settings: CompileSettings,
                      seed: int) -> float:
    """The accuracy of one grader training for an accuracy check, trained once per process for the
    same model, settings, seed, budget and data (a training done while the worker ran, or for an
    earlier submission of the batch, is used again)."""
    _, dataset, shape = ACCURACY_PARTS[part]
    train, test = plan.training[part], plan.held_out[dataset]
    key = accuracy_key(part, seed, budget, architecture, settings, train, test)
    with _training_lock:
        if key in _remembered:
            _remembered.move_to_end(key)
            return _remembered[key]
        (x_train, y_train), (x_test, y_test) = train, test
        accuracy = trained_accuracy(architecture, settings, (scaled(x_train, shape), y_train),
                                    (scaled(x_test, shape), y_test), budget, seed)
        _remembered[key] = accuracy
        while len(_remembered) > REMEMBERED_ACCURACIES:
            _remembered.popitem(last=False)
        return accuracy


def forget_accuracies() -> None:
    """Forget every remembered accuracy (a test that wants the grader to train again)."""
    with _training_lock:
        _remembered.clear()


def prefetch_accuracies(out_dir: Path, plan, rubric, worker_done: threading.Event) -> None:
    """While the worker runs: as soon as it has answered a build_* probe, train that model with the
    first seed, so the accuracy checks find the result ready. Nothing here decides a verdict: the
    checks read the final artifacts and use a remembered training only for the same architecture,
    settings and seed. Any problem is left for the checks to find and explain."""
    from grader import artifacts
    pin_threads()
    budget = artifacts.ReadBudget()
    pending = dict(ACCURACY_PARTS)
    while pending:
        finished = worker_done.is_set()
        for part, (function, _, _) in list(pending.items()):
            result = artifacts.read_answered_probe(out_dir / protocol.PROBES_DIR / function, budget)
            if result is None and not finished:
                continue
            del pending[part]
            try:
                model = result.value[0]["returned"]
                model.build()
                settings = compile_settings(model.compile)
                seed = plan.training_seeds(1)[0]
                measured_accuracy(plan, rubric.budget[part], part, model.architecture, settings, seed)
            except Exception:  # a missing, broken or refused model: the check says why
                continue
        if finished:
            return
        worker_done.wait(0.5)


# A first accuracy near the threshold is measured again until the mean is this many standard errors
# from the threshold (at least MIN_TRAININGS_NEAR_THRESHOLD trainings, at most the rubric's `seeds`):
# a model clearly on one side stops early, a truly borderline one gets every seed, and the verdict
# barely depends on the salt (benchmarks/salt_stability.py measures it).
STANDARD_ERRORS_TO_DECIDE = 2.5
MIN_TRAININGS_NEAR_THRESHOLD = 3


def clearly_decided(accuracies: list[float], threshold: float) -> bool:
    """True when the mean of `accuracies` lies at least STANDARD_ERRORS_TO_DECIDE standard errors
    from the threshold."""
    spread = float(np.std(accuracies, ddof=1)) / np.sqrt(len(accuracies))
    return abs(float(np.mean(accuracies)) - threshold) >= STANDARD_ERRORS_TO_DECIDE * spread


def decided_accuracy(measure, seeds: list[int], threshold: float, recheck_within: float) -> list[float]:
    """Accuracies measured with the first seed and, when it lies within `recheck_within` of the
    threshold, with further seeds until `clearly_decided` (after at least
    MIN_TRAININGS_NEAR_THRESHOLD) or the seeds run out: the verdict is taken on their mean."""
    accuracies = [measure(seeds[0])]
    if abs(accuracies[0] - threshold) >= recheck_within:
        return accuracies
    for seed in seeds[1:]:
        accuracies.append(measure(seed))
        if len(accuracies) >= MIN_TRAININGS_NEAR_THRESHOLD and clearly_decided(accuracies, threshold):
            break
    return accuracies


# ------------------------------------------------------------------ replay of recorded fits
@dataclass
class Replay:
    """The grader's repetition of one recorded fit (`model` carries its optimizer state on)."""

    weights: list[np.ndarray]
    history: dict[str, list[float]]
    model: object = None


def replay_fit(model_spec: dict, start_weights: list[np.ndarray], x: np.ndarray, y: np.ndarray,
               record: dict, model=None) -> Replay:
    """Repeat a recorded fit of the probe model: the recorded rows (scaled as recorded), epochs and
    batch size, in order, from `start_weights` in a new probe model, or on with `model` (a fit that
    continued training a model also continues its optimizer's state)."""
    import keras
    train_rows, val_rows = list(record["train_rows"]), list(record["val_rows"])
    scale, shift = record["scale"]
    inputs = x.astype(np.float64) * scale + shift
    if model is None:
        model = protocol.build_probe_model(keras, tuple(model_spec["input_shape"]), model_spec["num_classes"],
                                           [np.array(w) for w in start_weights])
    validation = (inputs[val_rows].astype("float32"), y[val_rows]) if val_rows else None
    history = model.fit(inputs[train_rows].astype("float32"), y[train_rows], epochs=int(record["epochs"]),
                        batch_size=record["batch_size"], shuffle=False, validation_data=validation, verbose=0)
    return Replay([np.array(w) for w in model.get_weights()],
                  {k: [float(v) for v in values] for k, values in history.history.items()}, model)


def same_weights(first: list[np.ndarray], second: list) -> bool:
    """Whether two weight lists agree up to the rounding of another thread count or CPU."""
    if not isinstance(second, list) or len(first) != len(second):
        return False
    return all(isinstance(b, np.ndarray) and a.shape == b.shape
               and bool(np.allclose(a, b, rtol=REPLAY_RTOL, atol=REPLAY_ATOL)) for a, b in zip(first, second))


def same_history(replayed: dict[str, list[float]], reported, metrics=("loss", "val_loss", "accuracy", "val_accuracy")) -> bool:
    """Whether a reported History.history holds the replay's values for every metric both have."""
    if not isinstance(reported, dict):
        return False
    for metric in metrics:
        if metric not in replayed:
            continue
        try:
            values = np.asarray(reported.get(metric), dtype=float).reshape(-1)
        except (TypeError, ValueError):
            return False
        if values.shape != (len(replayed[metric]),) or not np.allclose(values, replayed[metric], atol=HISTORY_ATOL, equal_nan=True):
            return False
    return True
