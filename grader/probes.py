"""The probe plan: which functions of the submission the worker calls, on which inputs.

The grader decides every input. Synthetic arrays and every parameter of a contract function
(n_splits, num_classes, max_images, k, epochs, batch_size, validation_split...) come from a seed
derived from the submission's content and the installation's secret salt: deterministic for one
submission, different between submissions, and unpredictable to students. Each parameter is probed
with at least two values. Real images come from fixed subsets of the training splits. The held-out
test subsets used for accuracy stay in the grader: they are never written for the worker.
"""

from __future__ import annotations

import functools
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from grader import protocol
from grader.datasets import Dataset, load_dataset
from grader.rubric import Rubric

# Fixed, disjoint slices of the real data (indices into the Keras splits).
NOTEBOOK_TRAIN = slice(0, 1000)       # what mnist.load_data() returns inside the worker (MNIST)
NOTEBOOK_TRAIN_CIFAR = slice(0, 500)
NOTEBOOK_TEST = slice(0, 100)         # the notebook's own "test" split
PROBE_TRAIN_START = 10_000            # accuracy training uses [start, start + budget samples)
HELD_OUT_TEST = slice(5000, 7000)     # grader-only test subset, never given to the worker
NOTEBOOK_BUDGET = {"max_epochs": 1, "max_samples": 64}


@dataclass
class ProbePlan:
    """The worker's instructions (`spec`, `inputs`) and the grader's private data for the checks."""

    seed: int
    spec: dict
    inputs: dict[str, np.ndarray]
    notebook_data: dict[str, dict[str, np.ndarray]]
    held_out: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)
    training: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)
    training_key: str = ""  # from the salt; unlike `seed`, never written for the worker

    def probe(self, probe_id: str) -> dict:
        return next(p for p in self.spec["probes"] if p["id"] == probe_id)

    def resolve(self, argument):
        """An argument of a call as the worker received it (arrays from `inputs`)."""
        if isinstance(argument, dict) and "npy" in argument:
            return self.inputs[argument["npy"]]
        if isinstance(argument, dict) and "tuple" in argument:
            return tuple(argument["tuple"])
        return argument

    def calls(self, probe_id: str) -> list[tuple[list, dict]]:
        """The (args, kwargs) of each call of a probe, resolved."""
        return [([self.resolve(a) for a in call.get("args", [])],
                 {k: self.resolve(v) for k, v in call.get("kwargs", {}).items()})
                for call in self.probe(probe_id)["calls"]]

    def training_seeds(self, count: int) -> list[int]:
        """Seeds of the grader's own accuracy training, never written for the worker."""
        return [int(hashlib.sha256(f"{self.training_key}:accuracy-{i}".encode()).hexdigest()[:8], 16)
                for i in range(count)]


def seed_for(sha256: str, salt: str) -> int:
    """A seed fixed by the submission's content and the installation's secret salt."""
    return int(hashlib.sha256((salt + sha256).encode()).hexdigest()[:8], 16)


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

    probes += _part_a_probes(rng, put)
    probes += _part_b_probes(rng, put)
    probes += _part_c_probes(rng, put)
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
    training_key = hashlib.sha256(f"{salt}:training:{sha256}".encode()).hexdigest()
    return ProbePlan(seed, spec, inputs, notebook_data, held_out, training, training_key)


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


def _calls(probe_id: str, function: str, *calls: dict) -> dict:
    return {"id": probe_id, "kind": protocol.PROBE_CALLS, "function": function, "calls": list(calls)}


def _call(*args, **kwargs) -> dict:
    return {"args": list(args), "kwargs": kwargs}


def _two_different(rng, choices: list) -> list:
    """Two different values of a parameter, in random order."""
    first, second = rng.choice(len(choices), size=2, replace=False)
    return [choices[int(first)], choices[int(second)]]


def _images(rng, count: int, shape: tuple) -> np.ndarray:
    images = rng.integers(0, 256, size=(count, *shape), dtype=np.uint8)
    images.reshape(count, -1)[0, :2] = (0, 255)  # both ends of the range present
    return images


def _part_a_probes(rng, put) -> list[dict]:
    images = _images(rng, int(rng.integers(3, 9)), (28, 28))
    classes = int(rng.integers(11, 16))
    return [
        _calls("preprocess_dense", "preprocess_dense",
               _call(put("dense_images.npy", images)),
               _call(put("dense_image_one.npy", images[:1].copy()))),
        _calls("to_one_hot", "to_one_hot",
               _call(put("labels_default.npy", rng.integers(0, 10, size=int(rng.integers(5, 13))))),
               _call(put("labels_classes.npy", rng.permutation(classes)), num_classes=classes),
               _call(put("labels_one.npy", rng.integers(0, 10, size=1)))),
        _calls("build_dense_model", "build_dense_model", _call()),
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
    epochs = _two_different(rng, [1, 2, 3])
    batch_sizes = _two_different(rng, [8, 12, 16, 32])
    splits = _two_different(rng, [0.1, 0.2, 0.25, 0.3])
    x = rng.normal(size=(40, 12)).astype("float32")
    y = rng.integers(0, 3, size=40)
    calls = [{"x": put("small_x.npy", x)["npy"], "y": put("small_y.npy", y)["npy"],
              "kwargs": {"epochs": e, "batch_size": b, "validation_split": v}}
             for e, b, v in zip(epochs, batch_sizes, splits)]
    return {"id": "train_model", "kind": protocol.PROBE_TRAIN_MODEL, "calls": calls,
            "model": _probe_model(rng, put, "small", (12,), 3)}


def _part_b_probes(rng, put) -> list[dict]:
    images = _images(rng, int(rng.integers(3, 8)), (28, 28))
    classes = int(rng.integers(4, 12))
    rows = int(rng.integers(4, 9))
    ids = rng.integers(0, classes, size=rows)
    one_hot = np.eye(classes, dtype="float32")[ids]
    predicted = rng.integers(0, 10, size=20)
    actual = predicted.copy()
    wrong = np.sort(rng.choice(20, size=int(rng.integers(5, 9)), replace=False))
    actual[wrong] = (actual[wrong] + rng.integers(1, 10, size=len(wrong))) % 10
    _fixed_model(rng, put, "fixed_mnist", (28, 28))
    # Grayscale MNIST images for the first call, colour CIFAR-like ones for the second: the notebook
    # shows both kinds.
    plot_images = [_images(rng, 20, (28, 28)), _images(rng, 20, (32, 32, 3))]
    plot_indices = [np.sort(rng.choice(wrong, size=min(4, len(wrong)), replace=False)),
                    rng.permutation(wrong)]
    max_images = _two_different(rng, [2, 3, 4])
    return [
        _calls("preprocess_cnn", "preprocess_cnn",
               _call(put("cnn_images.npy", images)),
               _call(put("cnn_image_one.npy", images[:1].copy()))),
        _calls("build_cnn_model", "build_cnn_model", _call()),
        _calls("choose_loss", "choose_loss",
               _call(put("loss_one_hot.npy", one_hot), classes),
               _call(put("loss_ids.npy", ids), classes),
               _call(put("loss_ids_column.npy", ids.reshape(-1, 1)), classes),
               _call(put("loss_binary.npy", rng.permutation(np.array([0, 1] * 3))), 2),
               _call(put("loss_floats.npy", rng.random((rows, classes)).astype("float32")), classes),
               _call(put("loss_3d.npy", np.zeros((2, 3, classes))), classes)),
        _train_model_probe(rng, put),
        _calls("predict_labels", "predict_labels",
               _call({"fixed_model": "fixed_mnist"},
                     put("predict_x.npy", rng.random((int(rng.integers(8, 16)), 28, 28)).astype("float32"))),
               _call({"fixed_model": "fixed_mnist"}, put("predict_x_one.npy", rng.random((1, 28, 28)).astype("float32")))),
        _calls("find_misclassified", "find_misclassified",
               _call(put("mis_predicted.npy", predicted), put("mis_actual.npy", actual)),
               _call(put("mis_same.npy", predicted.copy()), put("mis_same_actual.npy", predicted.copy()))),
        _calls("plot_misclassified", "plot_misclassified",
               *[_call(put(f"plot_images_{i}.npy", plot_images[i]), put("plot_predicted.npy", predicted),
                       put("plot_actual.npy", actual), put(f"plot_indices_{i}.npy", plot_indices[i]),
                       max_images=max_images[i]) for i in range(2)]),
    ]


def _part_c_probes(rng, put) -> list[dict]:
    images = _images(rng, int(rng.integers(3, 8)), (32, 32, 3))
    confusion = _confusion(rng)
    _fixed_model(rng, put, "fixed_cifar", (32, 32, 3))
    cifar_shape, cifar_classes = [[28, 28, 3], [32, 32, 1], [40, 40, 3]][int(rng.integers(3))], int(rng.integers(2, 10))
    return [
        {"id": "class_names", "kind": protocol.PROBE_ATTRIBUTE, "name": "CLASS_NAMES"},
        _calls("load_cifar10", "load_cifar10", _call()),
        _calls("preprocess_cifar", "preprocess_cifar",
               _call(put("cifar_images.npy", images),
                     put("cifar_labels.npy", rng.integers(0, 10, size=(len(images), 1)).astype(np.uint8))),
               _call(put("cifar_image_one.npy", images[:1].copy()), put("cifar_label_one.npy", rng.integers(0, 10, size=1)))),
        _calls("build_cifar_model", "build_cifar_model",
               _call(), _call(input_shape={"tuple": cifar_shape}, num_classes=cifar_classes)),
        _cross_validate_probe(rng, put),
        _calls("plot_learning_curves", "plot_learning_curves",
               _call(_histories_argument(rng, put, single=False)),
               _call(_histories_argument(rng, put, single=True))),
        _calls("confusion_matrix_of", "confusion_matrix_of",
               *[_call({"fixed_model": "fixed_cifar"}, put(f"cm_images_{i}.npy", rng.random((40, 32, 32, 3)).astype("float32")),
                       put(f"cm_labels_{i}.npy", rng.integers(0, 10, size=shape)), num_classes=classes)
                 # labels as (N,) and, as cifar10.load_data() gives them, as (N, 1)
                 for i, (classes, shape) in enumerate([(10, (40,)), (int(rng.integers(11, 14)), (40, 1))])]),
        _calls("most_confused_pairs", "most_confused_pairs",
               *[_call(put("pairs_cm.npy", confusion), k=k) for k in _two_different(rng, [2, 3, 4, 5, 6])]),
    ]


def _confusion(rng) -> np.ndarray:
    """A 10x10 confusion matrix whose off-diagonal counts are all different (no ties)."""
    confusion = rng.permutation(90).reshape(9, 10)
    confusion = np.vstack([confusion, rng.permutation(10)])
    np.fill_diagonal(confusion, 200)
    return confusion


def _cross_validate_probe(rng, put) -> dict:
    """Two calls of cross_validate, each with its own n_splits, epochs, batch_size and seed."""
    n_splits = _two_different(rng, [2, 3, 4])
    epochs = _two_different(rng, [1, 2, 3])
    batch_sizes = _two_different(rng, [8, 16, 32])
    samples = 30
    labels = np.repeat(np.arange(3), -(-samples // 3))[:samples]
    rng.shuffle(labels)
    images = rng.random((samples, 32, 32, 3)).astype("float32")
    calls = [{"images": put("cv_images.npy", images)["npy"], "labels": put("cv_labels.npy", labels)["npy"],
              "kwargs": {"n_splits": k, "epochs": e, "batch_size": b, "seed": int(rng.integers(0, 1000))}}
             for k, e, b in zip(n_splits, epochs, batch_sizes)]
    return {"id": "cross_validate", "kind": protocol.PROBE_CROSS_VALIDATE, "calls": calls,
            "model": _probe_model(rng, put, "cv", (32, 32, 3), 3)}


def _histories_argument(rng, put, single: bool) -> dict:
    epochs = int(rng.integers(3, 7))
    folds = 1 if single else int(rng.integers(2, 5))
    return put_histories(put, [_fake_history(rng, epochs) for _ in range(folds)], single=single)


def _fake_history(rng, epochs: int) -> dict[str, np.ndarray]:
    """A plausible History.history: decreasing losses, increasing accuracies, all distinct."""
    def curve(start: float, end: float) -> np.ndarray:
        return np.round(np.linspace(start, end, epochs) + rng.uniform(-0.02, 0.02, epochs), 4)
    return {"loss": curve(2.0, 0.8), "accuracy": curve(0.3, 0.7),
            "val_loss": curve(2.1, 1.1), "val_accuracy": curve(0.25, 0.6)}


def put_histories(put, histories: list[dict], single: bool = False) -> dict:
    """History dicts travel as one array per metric; the harness rebuilds the dicts of lists."""
    prefix = "history_one" if single else "histories"
    for fold, history in enumerate(histories):
        for metric, values in history.items():
            put(f"{prefix}_{fold}_{metric}.npy", values)
    return {"histories": prefix, "folds": len(histories), "single": single,
            "metrics": sorted(histories[0])}


def _fixed_model(rng, put, name: str, shape: tuple[int, ...]) -> None:
    """Weights of a softmax layer whose predictions the grader can compute with numpy."""
    features = int(np.prod(shape))
    put(f"{name}_W.npy", rng.normal(scale=0.5, size=(features, 10)).astype("float32"))
    put(f"{name}_b.npy", rng.normal(scale=0.1, size=10).astype("float32"))
    put(f"{name}_shape.npy", np.array(shape))


def fixed_model_predictions(plan: ProbePlan, name: str, images: np.ndarray) -> np.ndarray:
    """What the fixed model predicts, computed here in float64 (argmax of the logits)."""
    weights = plan.inputs[f"{name}_W.npy"].astype(np.float64)
    bias = plan.inputs[f"{name}_b.npy"].astype(np.float64)
    return np.argmax(images.reshape(len(images), -1).astype(np.float64) @ weights + bias, axis=1)


def write_worker_inputs(plan: ProbePlan, in_dir: Path) -> None:
    """Write spec.json, the probe inputs and the notebook's data subsets into the worker's IN_DIR."""
    (in_dir / protocol.DATA_DIR).mkdir(parents=True, exist_ok=True)
    for name, array in plan.inputs.items():
        np.save(in_dir / name, array, allow_pickle=False)
    for dataset, arrays in plan.notebook_data.items():
        np.savez(in_dir / protocol.DATA_DIR / f"{dataset}.npz", **arrays)
    (in_dir / protocol.SPEC_FILE).write_text(json.dumps(plan.spec), encoding="utf-8")
