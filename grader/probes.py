"""The probe plan: which functions of the submission the worker calls, on which inputs.

The grader decides every input. Synthetic arrays come from a seed derived from the submission's
content (deterministic for one submission, different between submissions); real images come
from fixed subsets of the training splits. The held-out test subsets used for accuracy stay in the
grader: they are never written for the worker.
"""

from __future__ import annotations

import functools
import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from grader.datasets import Dataset, load_dataset
from grader.rubric import Rubric

# Fixed, disjoint slices of the real data (indices into the Keras splits).
NOTEBOOK_TRAIN = slice(0, 1000)       # what mnist.load_data() returns inside the worker (MNIST)
NOTEBOOK_TRAIN_CIFAR = slice(0, 500)
NOTEBOOK_TEST = slice(0, 100)         # the notebook's own "test" split
PROBE_TRAIN_START = 10_000            # accuracy probes train on [start, start + budget samples)
HELD_OUT_TEST = slice(5000, 6000)     # grader-only test subset, never given to the worker
NOTEBOOK_BUDGET = {"max_epochs": 1, "max_samples": 64}
SALT_VARIABLE = "CNN_GRADER_SALT"


@dataclass
class ProbePlan:
    """The worker's instructions (`spec`, `inputs`) and the grader's private data for the checks."""

    seed: int
    spec: dict
    inputs: dict[str, np.ndarray]
    notebook_data: dict[str, dict[str, np.ndarray]]
    held_out: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)

    def probe(self, probe_id: str) -> dict:
        return next(p for p in self.spec["probes"] if p["id"] == probe_id)


def seed_for(sha256: str) -> int:
    """A seed fixed by the submission's content and the installation's salt."""
    salt = os.environ.get(SALT_VARIABLE, "cnn1-grader")
    return int(hashlib.sha256((salt + sha256).encode()).hexdigest()[:8], 16)


@functools.lru_cache(maxsize=2)
def _dataset(name: str, directory: str | None) -> Dataset:
    return load_dataset(name, Path(directory) if directory else None)


def build_plan(sha256: str, rubric: Rubric, data_dir: Path | None, cells: list[dict],
               limits: dict) -> ProbePlan:
    """Everything the worker needs for one submission, and what the checks compare against."""
    seed = seed_for(sha256)
    rng = np.random.default_rng(seed)
    mnist = _dataset("mnist", str(data_dir) if data_dir else None)
    cifar = _dataset("cifar10", str(data_dir) if data_dir else None)
    inputs: dict[str, np.ndarray] = {}
    probes: list[dict] = []

    def put(name: str, array: np.ndarray) -> dict:
        inputs[name] = array
        return {"npy": name}

    probes += _part_a_probes(rng, put, mnist, rubric)
    probes += _part_b_probes(rng, put, mnist, rubric)
    probes += _part_c_probes(rng, put, cifar, rubric, seed)
    notebook_data = {
        "mnist": _keras_layout(mnist, NOTEBOOK_TRAIN),
        "cifar10": _keras_layout(cifar, NOTEBOOK_TRAIN_CIFAR, column_labels=True),
    }
    spec = {"seed": seed, "cells": cells, "probes": probes, "budget": NOTEBOOK_BUDGET,
            "limits": limits, "skip": []}
    held_out = {"mnist": (mnist.x_test[HELD_OUT_TEST], mnist.y_test[HELD_OUT_TEST]),
                "cifar10": (cifar.x_test[HELD_OUT_TEST], cifar.y_test[HELD_OUT_TEST])}
    return ProbePlan(seed, spec, inputs, notebook_data, held_out)


def _keras_layout(data: Dataset, train: slice, column_labels: bool = False) -> dict[str, np.ndarray]:
    """A subset shaped as Keras' load_data() returns it (CIFAR labels are (N, 1))."""
    def labels(y: np.ndarray) -> np.ndarray:
        return y.reshape(-1, 1) if column_labels else y
    return {"x_train": data.x_train[train], "y_train": labels(data.y_train[train]),
            "x_test": data.x_test[NOTEBOOK_TEST], "y_test": labels(data.y_test[NOTEBOOK_TEST])}


def _train_slice(rubric: Rubric, part: str) -> slice:
    return slice(PROBE_TRAIN_START, PROBE_TRAIN_START + rubric.budget[part]["train_samples"])


def _train_probe(probe_id: str, build: str, part: str, rubric: Rubric, x: dict, y: dict) -> dict:
    budget = rubric.budget[part]
    return {"id": probe_id, "kind": "train", "build": build, "x": x["npy"], "y": y["npy"],
            "num_classes": 10, "epochs": budget["epochs"], "batch_size": budget["batch_size"],
            "seconds": 300}


def _calls(probe_id: str, function: str, *calls: dict) -> dict:
    return {"id": probe_id, "kind": "calls", "function": function, "calls": list(calls)}


def _call(*args, **kwargs) -> dict:
    return {"args": list(args), "kwargs": kwargs}


def _part_a_probes(rng, put, mnist: Dataset, rubric: Rubric) -> list[dict]:
    images = rng.integers(0, 256, size=(7, 28, 28), dtype=np.uint8)
    images[0, 0, 0], images[0, 0, 1] = 0, 255  # both ends of the range present
    train = _train_slice(rubric, "dense")
    x_train = (mnist.x_train[train].reshape(-1, 784) / 255.0).astype("float32")
    return [
        _calls("preprocess_dense", "preprocess_dense",
               _call(put("dense_images.npy", images)),
               _call(put("dense_image_one.npy", images[:1].copy()))),
        _calls("to_one_hot", "to_one_hot",
               _call(put("labels_9.npy", rng.integers(0, 10, size=9))),
               _call(put("labels_12.npy", rng.permutation(12)), num_classes=12),
               _call(put("labels_one.npy", np.array([3])))),
        _calls("build_dense_model", "build_dense_model", _call()),
        _train_probe("dense_accuracy", "build_dense_model", "dense", rubric,
                     put("dense_train_x.npy", x_train), put("train_y_mnist.npy", mnist.y_train[train])),
    ]


def _part_b_probes(rng, put, mnist: Dataset, rubric: Rubric) -> list[dict]:
    images = rng.integers(0, 256, size=(5, 28, 28), dtype=np.uint8)
    images[0, 0, 0], images[0, 0, 1] = 0, 255
    train = _train_slice(rubric, "cnn")
    x_train = (mnist.x_train[train].reshape(-1, 28, 28, 1) / 255.0).astype("float32")
    ids = rng.integers(0, 10, size=6)
    one_hot = np.eye(10, dtype="float32")[ids]
    predicted = rng.integers(0, 10, size=20)
    actual = predicted.copy()
    wrong = np.sort(rng.choice(20, size=6, replace=False))
    actual[wrong] = (actual[wrong] + rng.integers(1, 10, size=6)) % 10
    _fixed_model(rng, put, "fixed_mnist", (28, 28))
    return [
        _calls("preprocess_cnn", "preprocess_cnn",
               _call(put("cnn_images.npy", images)),
               _call(put("cnn_image_one.npy", images[:1].copy()))),
        _calls("build_cnn_model", "build_cnn_model", _call()),
        _calls("choose_loss", "choose_loss",
               _call(put("loss_one_hot.npy", one_hot), 10),
               _call(put("loss_ids.npy", ids), 10),
               _call(put("loss_ids_column.npy", ids.reshape(-1, 1)), 10),
               _call(put("loss_binary.npy", np.array([0, 1, 1, 0, 1, 0])), 2),
               _call(put("loss_floats.npy", rng.random((6, 10)).astype("float32")), 10),
               _call(put("loss_3d.npy", np.zeros((2, 3, 4))), 10)),
        {"id": "train_model", "kind": "train_model", "num_classes": 3,
         "x": put("small_x.npy", rng.normal(size=(50, 12)).astype("float32"))["npy"],
         "y": put("small_y.npy", rng.integers(0, 3, size=50))["npy"],
         "kwargs": {"epochs": 2, "batch_size": 16, "validation_split": 0.2}},
        _calls("predict_labels", "predict_labels",
               _call({"fixed_model": "fixed_mnist"}, put("predict_x.npy", rng.random((13, 28, 28)).astype("float32"))),
               _call({"fixed_model": "fixed_mnist"}, put("predict_x_one.npy", rng.random((1, 28, 28)).astype("float32")))),
        _calls("find_misclassified", "find_misclassified",
               _call(put("mis_predicted.npy", predicted), put("mis_actual.npy", actual)),
               _call(put("mis_same.npy", predicted.copy()), put("mis_same_actual.npy", predicted.copy()))),
        _calls("plot_misclassified", "plot_misclassified",
               _call(put("plot_images.npy", rng.integers(0, 256, size=(10, 28, 28), dtype=np.uint8)),
                     put("plot_predicted.npy", predicted[:10]), put("plot_actual.npy", actual[:10]),
                     put("plot_indices.npy", np.array([1, 4, 6, 8])), max_images=3)),
        _train_probe("cnn_accuracy", "build_cnn_model", "cnn", rubric,
                     put("cnn_train_x.npy", x_train), put("train_y_mnist_cnn.npy", mnist.y_train[train])),
    ]


def _part_c_probes(rng, put, cifar: Dataset, rubric: Rubric, seed: int) -> list[dict]:
    images = rng.integers(0, 256, size=(6, 32, 32, 3), dtype=np.uint8)
    images[0, 0, 0, 0], images[0, 0, 0, 1] = 0, 255
    train = _train_slice(rubric, "cifar")
    x_train = (cifar.x_train[train] / 255.0).astype("float32")
    cv_labels = np.repeat(np.arange(3), 15)
    rng.shuffle(cv_labels)
    histories = [_fake_history(rng, epochs=4) for _ in range(3)]
    confusion = rng.permutation(90).reshape(9, 10)  # unique off-diagonal counts: no ties
    confusion = np.vstack([confusion, rng.permutation(10)])
    np.fill_diagonal(confusion, 200)
    _fixed_model(rng, put, "fixed_cifar", (32, 32, 3))
    return [
        {"id": "class_names", "kind": "attribute", "name": "CLASS_NAMES"},
        _calls("load_cifar10", "load_cifar10", _call()),
        _calls("preprocess_cifar", "preprocess_cifar",
               _call(put("cifar_images.npy", images), put("cifar_labels.npy", rng.integers(0, 10, size=(6, 1)).astype(np.uint8))),
               _call(put("cifar_image_one.npy", images[:1].copy()), put("cifar_label_one.npy", np.array([7])))),
        _calls("build_cifar_model", "build_cifar_model",
               _call(), _call(input_shape={"tuple": [32, 32, 3]}, num_classes=7)),
        _train_probe("cifar_accuracy", "build_cifar_model", "cifar", rubric,
                     put("cifar_train_x.npy", x_train), put("train_y_cifar.npy", cifar.y_train[train])),
        {"id": "cross_validate", "kind": "cross_validate", "num_classes": 3, "n_splits": 3,
         "epochs": 2, "batch_size": 16, "seed": seed % 1000,
         "images": put("cv_images.npy", rng.random((45, 32, 32, 3)).astype("float32"))["npy"],
         "labels": put("cv_labels.npy", cv_labels)["npy"]},
        _calls("plot_learning_curves", "plot_learning_curves",
               _call(put_histories(put, histories)),
               _call(put_histories(put, histories[:1], single=True))),
        _calls("confusion_matrix_of", "confusion_matrix_of",
               _call({"fixed_model": "fixed_cifar"}, put("cm_images.npy", rng.random((40, 32, 32, 3)).astype("float32")),
                     put("cm_labels.npy", rng.integers(0, 10, size=40)), num_classes=10)),
        _calls("most_confused_pairs", "most_confused_pairs",
               _call(put("pairs_cm.npy", confusion), k=3),
               _call(put("pairs_cm_k5.npy", confusion), k=5)),
    ]


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
    import json
    (in_dir / "data").mkdir(parents=True, exist_ok=True)
    for name, array in plan.inputs.items():
        np.save(in_dir / name, array, allow_pickle=False)
    for dataset, arrays in plan.notebook_data.items():
        np.savez(in_dir / "data" / f"{dataset}.npz", **arrays)
    (in_dir / "spec.json").write_text(json.dumps(plan.spec), encoding="utf-8")
