"""Probe inputs the grader and the student kit share: the probe plan's shape, the helpers that make
synthetic inputs, and the probes of the visible checks.

The grader (grader/probes.py) adds the hidden checks' probes and real data, seeded from the
submission and the secret salt; the student kit makes only the visible probes, from a public seed
(its result is advice). Nothing here knows of a hidden check.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import numpy as np

from . import protocol

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

def calls_probe(probe_id: str, function: str, *calls: dict) -> dict:
    return {"id": probe_id, "kind": protocol.PROBE_CALLS, "function": function, "calls": list(calls)}

def call(*args, **kwargs) -> dict:
    return {"args": list(args), "kwargs": kwargs}

def two_different(rng, choices: list) -> list:
    """Two different values of a parameter, in random order."""
    first, second = rng.choice(len(choices), size=2, replace=False)
    return [choices[int(first)], choices[int(second)]]

def random_images(rng, count: int, shape: tuple) -> np.ndarray:
    images = rng.integers(0, 256, size=(count, *shape), dtype=np.uint8)
    images.reshape(count, -1)[0, :2] = (0, 255)  # both ends of the range present
    return images

def dim_image(rng, shape: tuple) -> np.ndarray:
    """One image whose pixels stay well inside 0..255: scaling by the image's own minimum and
    maximum, or by the largest value given, is then told apart from dividing by 255."""
    image = rng.integers(10, 201, size=(1, *shape), dtype=np.uint8)
    image.reshape(-1)[:2] = (10, 200)
    return image


def histories_argument(rng, put, single: bool) -> dict:
    epochs = int(rng.integers(3, 7))
    folds = 1 if single else int(rng.integers(2, 5))
    return put_histories(put, [fake_history(rng, epochs) for _ in range(folds)], single=single)

def fake_history(rng, epochs: int) -> dict[str, np.ndarray]:
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

def fixed_model(rng, put, name: str, shape: tuple[int, ...]) -> None:
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


def visible_probes(rng, put) -> list[dict]:
    """The probes the visible checks read, in the order the worker runs them."""
    return _part_a_probes(rng, put) + _part_b_probes(rng, put) + _part_c_probes(rng, put)


def _part_a_probes(rng, put) -> list[dict]:
    images = random_images(rng, int(rng.integers(3, 9)), (28, 28))
    classes = int(rng.integers(11, 16))
    return [
        calls_probe("preprocess_dense", "preprocess_dense",
                    call(put("dense_images.npy", images)),
                    call(put("dense_image_one.npy", dim_image(rng, (28, 28))))),
        calls_probe("to_one_hot", "to_one_hot",
                    call(put("labels_default.npy", rng.integers(0, 10, size=int(rng.integers(5, 13))))),
                    call(put("labels_classes.npy", rng.permutation(classes)), num_classes=classes),
                    call(put("labels_one.npy", rng.integers(0, 10, size=1)))),
        calls_probe("build_dense_model", "build_dense_model", call()),
    ]


def _part_b_probes(rng, put) -> list[dict]:
    images = random_images(rng, int(rng.integers(3, 8)), (28, 28))
    classes = int(rng.integers(4, 12))
    rows = int(rng.integers(4, 9))
    ids = rng.integers(0, classes, size=rows)
    one_hot = np.eye(classes, dtype="float32")[ids]
    predicted = rng.integers(0, 10, size=20)
    actual = predicted.copy()
    wrong = np.sort(rng.choice(20, size=int(rng.integers(5, 9)), replace=False))
    actual[wrong] = (actual[wrong] + rng.integers(1, 10, size=len(wrong))) % 10
    fixed_model(rng, put, "fixed_mnist", (28, 28))
    return [
        calls_probe("preprocess_cnn", "preprocess_cnn",
                    call(put("cnn_images.npy", images)),
                    call(put("cnn_image_one.npy", dim_image(rng, (28, 28))))),
        calls_probe("build_cnn_model", "build_cnn_model", call()),
        calls_probe("choose_loss", "choose_loss",
                    call(put("loss_one_hot.npy", one_hot), classes),
                    call(put("loss_ids.npy", ids), classes),
                    call(put("loss_ids_column.npy", ids.reshape(-1, 1)), classes),
                    call(put("loss_binary.npy", rng.permutation(np.array([0, 1] * 3))), 2),
                    call(put("loss_floats.npy", rng.random((rows, classes)).astype("float32")), classes),
                    call(put("loss_3d.npy", np.zeros((2, 3, classes))), classes)),
        calls_probe("predict_labels", "predict_labels",
                    call({"fixed_model": "fixed_mnist"},
                         put("predict_x.npy", rng.random((int(rng.integers(8, 16)), 28, 28)).astype("float32"))),
                    call({"fixed_model": "fixed_mnist"}, put("predict_x_one.npy", rng.random((1, 28, 28)).astype("float32")))),
        calls_probe("find_misclassified", "find_misclassified",
                    call(put("mis_predicted.npy", predicted), put("mis_actual.npy", actual)),
                    call(put("mis_same.npy", predicted.copy()), put("mis_same_actual.npy", predicted.copy()))),
    ]


def _part_c_probes(rng, put) -> list[dict]:
    images = random_images(rng, int(rng.integers(3, 8)), (32, 32, 3))
    cifar_shape, cifar_classes = [[28, 28, 3], [32, 32, 1], [40, 40, 3]][int(rng.integers(3))], int(rng.integers(2, 10))
    return [
        {"id": "class_names", "kind": protocol.PROBE_ATTRIBUTE, "name": "CLASS_NAMES"},
        calls_probe("load_cifar10", "load_cifar10", call()),
        calls_probe("preprocess_cifar", "preprocess_cifar",
                    call(put("cifar_images.npy", images),
                         put("cifar_labels.npy", rng.integers(0, 10, size=(len(images), 1)).astype(np.uint8))),
                    call(put("cifar_image_one.npy", dim_image(rng, (32, 32, 3))), put("cifar_label_one.npy", rng.integers(0, 10, size=1)))),
        calls_probe("build_cifar_model", "build_cifar_model",
                    call(), call(input_shape={"tuple": cifar_shape}, num_classes=cifar_classes)),
        calls_probe("plot_learning_curves", "plot_learning_curves",
                    call(histories_argument(rng, put, single=False)),
                    call(histories_argument(rng, put, single=True))),
    ]
