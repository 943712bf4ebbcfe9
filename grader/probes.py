"""The probe plan: which functions of the submission the worker calls, on which inputs.

The grader decides every input. The visible checks' probes come from grader/probe_inputs.py (the
student kit makes them too); the hidden checks' probes, the data subsets and the seeds are here. Synthetic arrays and every parameter of a contract function
(n_splits, num_classes, max_images, k, epochs, batch_size, validation_split...) come from a seed
derived from the submission's content and the installation's secret salt: deterministic for one
submission, different between submissions, and unpredictable to students. Each parameter is probed
with at least two values. Real images come from fixed subsets of the training splits. The held-out
test subsets used for accuracy stay in the grader: they are never written for the worker. The seeds
of the grader's own accuracy training come from the salt alone (training_key_for).
"""

from __future__ import annotations

import functools
import hashlib
import json
from pathlib import Path

import numpy as np

from grader import protocol
from grader.datasets import Dataset, load_dataset
from grader.probe_inputs import ProbePlan, call, calls_probe, fixed_model, random_images, two_different, visible_probes
from grader.rubric import Rubric

# Fixed, disjoint slices of the real data (indices into the Keras splits).
NOTEBOOK_TRAIN = slice(0, 1000)       # what mnist.load_data() returns inside the worker (MNIST)
NOTEBOOK_TRAIN_CIFAR = slice(0, 500)
NOTEBOOK_TEST = slice(0, 100)         # the notebook's own "test" split
PROBE_TRAIN_START = 10_000            # accuracy training uses [start, start + budget samples)
HELD_OUT_TEST = slice(5000, 7000)     # grader-only test subset, never given to the worker
NOTEBOOK_BUDGET = {"max_epochs": 1, "max_samples": 64}


def seed_for(sha256: str, salt: str) -> int:
    """A seed fixed by the submission's content and the installation's secret salt."""
    return int(hashlib.sha256((salt + sha256).encode()).hexdigest()[:8], 16)


def training_key_for(salt: str) -> str:
    """The key of the grader's own accuracy-training seeds: the installation's secret salt alone.
    Unlike the probes' seed it does not depend on the submission, so every submission of a class is
    trained with the same secret seeds: a model is judged on its merits, not on its luck with seeds
    (resubmitting a changed comment cannot draw new seeds for a borderline model), and two students
    with the same model get the same verdict from one training (grader/training.py remembers it)."""
    return hashlib.sha256(f"{salt}:training".encode()).hexdigest()

@functools.lru_cache(maxsize=2)
def _dataset(name: str, directory: str | None) -> Dataset:
    return load_dataset(name, Path(directory) if directory else None)

def build_plan(sha256: str, salt: str, rubric: Rubric, data_dir: Path | None, cells: list[dict],
               limits: dict) -> ProbePlan:
    """Everything the worker needs for one submission, and what the checks compare against."""
    seed = seed_for(sha256, salt)
    rng = np.random.default_rng(seed)
    mnist = _dataset("mnist", str(data_dir) if data_dir else None)
    cifar = _dataset("cifar10", str(data_dir) if data_dir else None)
    inputs: dict[str, np.ndarray] = {}
    probes: list[dict] = []

    def put(name: str, array: np.ndarray) -> dict:
        inputs[name] = array
        return {"npy": name}

    probes += visible_probes(rng, put)
    probes += _hidden_probes(rng, put)
    notebook_data = {
        "mnist": _keras_layout(mnist, NOTEBOOK_TRAIN),
        "cifar10": _keras_layout(cifar, NOTEBOOK_TRAIN_CIFAR, column_labels=True),
    }
    spec = {"seed": seed, "cells": cells, "probes": probes, "budget": NOTEBOOK_BUDGET,
            "limits": limits, "skip": []}
    held_out = {"mnist": (mnist.x_test[HELD_OUT_TEST], mnist.y_test[HELD_OUT_TEST]),
                "cifar10": (cifar.x_test[HELD_OUT_TEST], cifar.y_test[HELD_OUT_TEST])}
    training = {part: _training_subset(rubric, part, mnist if part != "cifar" else cifar)
                for part in ("dense", "cnn", "cifar")}
    return ProbePlan(seed, spec, inputs, notebook_data, held_out, training, training_key_for(salt))

# Free-form mode serves what a chapter-style notebook expects of load_data(): the whole MNIST training
# split (the chapter writes reshape((60000, 784))) and a test split of 10,000 images without the
# held-out subset (its place is taken by other test images); a CIFAR-10 subset (notebooks seldom
# spell its size out).
FREE_MNIST_TEST = np.r_[0:HELD_OUT_TEST.start, HELD_OUT_TEST.stop:10_000, 0:HELD_OUT_TEST.stop - HELD_OUT_TEST.start]
FREE_CIFAR_TRAIN = slice(0, 5000)
FREE_CIFAR_TEST = slice(0, 1000)
# Three epochs, so that a learning curve has points enough to be told from another fit's values
# (with one epoch two fits' accuracies coincide by chance).
FREE_NOTEBOOK_BUDGET = {**NOTEBOOK_BUDGET, "max_epochs": 3}


def build_free_plan(sha256: str, salt: str, rubric: Rubric, data_dir: Path | None, cells: list[dict],
                    limits: dict) -> ProbePlan:
    """The worker's instructions in free-form mode: run the cells under the training budget while
    tracing them, then export the trace (grader/notebook_trace.py)."""
    seed = seed_for(sha256, salt)
    mnist = _dataset("mnist", str(data_dir) if data_dir else None)
    cifar = _dataset("cifar10", str(data_dir) if data_dir else None)
    notebook_data = {
        "mnist": {"x_train": mnist.x_train, "y_train": mnist.y_train,
                  "x_test": mnist.x_test[FREE_MNIST_TEST], "y_test": mnist.y_test[FREE_MNIST_TEST]},
        "cifar10": {"x_train": cifar.x_train[FREE_CIFAR_TRAIN], "y_train": cifar.y_train[FREE_CIFAR_TRAIN].reshape(-1, 1),
                    "x_test": cifar.x_test[FREE_CIFAR_TEST], "y_test": cifar.y_test[FREE_CIFAR_TEST].reshape(-1, 1)},
    }
    spec = {"seed": seed, "cells": cells, "probes": [{"id": protocol.PROBE_TRACE, "kind": protocol.PROBE_TRACE}],
            "budget": FREE_NOTEBOOK_BUDGET, "limits": limits, "skip": [], "mode": protocol.MODE_FREE}
    held_out = {"mnist": (mnist.x_test[HELD_OUT_TEST], mnist.y_test[HELD_OUT_TEST])}
    training = {part: _training_subset(rubric, part, mnist) for part in rubric.budget}
    return ProbePlan(seed, spec, {}, notebook_data, held_out, training, training_key_for(salt))


def _keras_layout(data: Dataset, train: slice, column_labels: bool = False) -> dict[str, np.ndarray]:
    """A subset shaped as Keras' load_data() returns it (CIFAR labels are (N, 1))."""
    def labels(y: np.ndarray) -> np.ndarray:
        return y.reshape(-1, 1) if column_labels else y
    return {"x_train": data.x_train[train], "y_train": labels(data.y_train[train]),
            "x_test": data.x_test[NOTEBOOK_TEST], "y_test": labels(data.y_test[NOTEBOOK_TEST])}

def _training_subset(rubric: Rubric, part: str, data: Dataset) -> tuple[np.ndarray, np.ndarray]:
    """The raw images and labels the grader trains a submission's model on for an accuracy check."""
    rows = slice(PROBE_TRAIN_START, PROBE_TRAIN_START + rubric.budget[part]["train_samples"])
    return data.x_train[rows], data.y_train[rows]

def _hidden_probes(rng, put) -> list[dict]:
    """The probes only the hidden checks read."""
    predicted = rng.integers(0, 10, size=20)
    actual = predicted.copy()
    wrong = np.sort(rng.choice(20, size=int(rng.integers(5, 9)), replace=False))
    actual[wrong] = (actual[wrong] + rng.integers(1, 10, size=len(wrong))) % 10
    # Grayscale MNIST images for the first call, colour CIFAR-like ones for the second: the notebook
    # shows both kinds.
    plot_images = [random_images(rng, 20, (28, 28)), random_images(rng, 20, (32, 32, 3))]
    plot_indices = [np.sort(rng.choice(wrong, size=min(4, len(wrong)), replace=False)),
                    rng.permutation(wrong)]
    max_images = two_different(rng, [2, 3, 4])
    confusion = _confusion(rng)
    fixed_model(rng, put, "fixed_cifar", (32, 32, 3))
    return [
        _train_model_probe(rng, put),
        calls_probe("plot_misclassified", "plot_misclassified",
                    *[call(put(f"plot_images_{i}.npy", plot_images[i]), put("plot_predicted.npy", predicted),
                           put("plot_actual.npy", actual), put(f"plot_indices_{i}.npy", plot_indices[i]),
                           max_images=max_images[i]) for i in range(2)]),
        _cross_validate_probe(rng, put),
        calls_probe("confusion_matrix_of", "confusion_matrix_of",
                    *[call({"fixed_model": "fixed_cifar"}, put(f"cm_images_{i}.npy", rng.random((40, 32, 32, 3)).astype("float32")),
                           put(f"cm_labels_{i}.npy", rng.integers(0, 10, size=shape)), num_classes=classes)
                      # labels as (N,) and, as cifar10.load_data() gives them, as (N, 1)
                      for i, (classes, shape) in enumerate([(10, (40,)), (int(rng.integers(11, 14)), (40, 1))])]),
        calls_probe("most_confused_pairs", "most_confused_pairs",
                    *[call(put("pairs_cm.npy", confusion), k=k) for k in two_different(rng, [2, 3, 4, 5, 6])]),
    ]

def _probe_model(rng, put, name: str, input_shape: tuple, num_classes: int) -> dict:
    """Initial weights of a probe model (protocol.build_probe_model), chosen by the grader."""
    features = int(np.prod(input_shape))
    shapes = [(features, protocol.PROBE_MODEL_UNITS), (protocol.PROBE_MODEL_UNITS,),
              (protocol.PROBE_MODEL_UNITS, num_classes), (num_classes,)]
    names = []
    for index, shape in enumerate(shapes):
        scale = np.sqrt(2.0 / shape[0]) if len(shape) == 2 else 0.05
        names.append(put(f"{name}_init_{index}.npy", rng.normal(scale=scale, size=shape).astype("float32"))["npy"])
    return {"init": names, "num_classes": num_classes, "input_shape": list(input_shape)}

def _train_model_probe(rng, put) -> dict:
    """Two calls of train_model, each with its own epochs, batch_size and validation_split."""
    epochs = two_different(rng, [1, 2, 3])
    batch_sizes = two_different(rng, [8, 12, 16, 32])
    splits = two_different(rng, [0.1, 0.2, 0.25, 0.3])
    x = rng.normal(size=(40, 12)).astype("float32")
    y = rng.integers(0, 3, size=40)
    calls = [{"x": put("small_x.npy", x)["npy"], "y": put("small_y.npy", y)["npy"],
              "kwargs": {"epochs": e, "batch_size": b, "validation_split": v}}
             for e, b, v in zip(epochs, batch_sizes, splits)]
    return {"id": "train_model", "kind": protocol.PROBE_TRAIN_MODEL, "calls": calls,
            "model": _probe_model(rng, put, "small", (12,), 3)}

def _confusion(rng) -> np.ndarray:
    """A 10x10 confusion matrix whose off-diagonal counts are all different (no ties)."""
    confusion = rng.permutation(90).reshape(9, 10)
    confusion = np.vstack([confusion, rng.permutation(10)])
    np.fill_diagonal(confusion, 200)
    return confusion

def _cross_validate_probe(rng, put) -> dict:
    """Two calls of cross_validate, each with its own n_splits, epochs, batch_size and seed."""
    n_splits = two_different(rng, [2, 3, 4])
    epochs = two_different(rng, [1, 2, 3])
    batch_sizes = two_different(rng, [8, 16, 32])
    samples = 30
    labels = np.repeat(np.arange(3), -(-samples // 3))[:samples]
    rng.shuffle(labels)
    images = rng.random((samples, 32, 32, 3)).astype("float32")
    calls = [{"images": put("cv_images.npy", images)["npy"], "labels": put("cv_labels.npy", labels)["npy"],
              "kwargs": {"n_splits": k, "epochs": e, "batch_size": b, "seed": int(rng.integers(0, 1000))}}
             for k, e, b in zip(n_splits, epochs, batch_sizes)]
    return {"id": "cross_validate", "kind": protocol.PROBE_CROSS_VALIDATE, "calls": calls,
            "model": _probe_model(rng, put, "cv", (32, 32, 3), 3)}


def write_worker_inputs(plan: ProbePlan, in_dir: Path) -> None:
    """Write spec.json, the probe inputs and the notebook's data subsets into the worker's IN_DIR."""
    (in_dir / protocol.DATA_DIR).mkdir(parents=True, exist_ok=True)
    for name, array in plan.inputs.items():
        np.save(in_dir / name, array, allow_pickle=False)
    for dataset, arrays in plan.notebook_data.items():
        np.savez(in_dir / protocol.DATA_DIR / f"{dataset}.npz", **arrays)
    (in_dir / protocol.SPEC_FILE).write_text(json.dumps(plan.spec), encoding="utf-8")
