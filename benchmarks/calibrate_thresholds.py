"""Accuracy of the reference solution's models under the rubric's training budget.

    .venv/bin/python benchmarks/calibrate_thresholds.py

Trains each reference model exactly as the grader's accuracy probes do (same training slice,
epochs, batch size, seed) and evaluates on the grader's held-out test subset, next to the
rubric's min_accuracy, so an instructor can see the margin before changing a threshold.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import numpy as np

PROJECT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT))

from grader.datasets import load_dataset  # noqa: E402
from grader.harness import fix_thread_counts  # noqa: E402
from grader.probes import HELD_OUT_TEST, PROBE_TRAIN_START  # noqa: E402
from grader.rubric import load_rubric  # noqa: E402

MODELS = {"dense": ("build_dense_model", "mnist", (784,)), "cnn": ("build_cnn_model", "mnist", (28, 28, 1)),
          "cifar": ("build_cifar_model", "cifar10", (32, 32, 3))}


def reference_functions() -> dict:
    """Only the imports and function definitions of the reference .py (no demo cells)."""
    tree = ast.parse((PROJECT / "reference_solution" / "cnn_assignment_solution.py").read_text(encoding="utf-8"))
    body = [node for node in tree.body if isinstance(node, (ast.Import, ast.ImportFrom, ast.FunctionDef))]
    namespace: dict = {}
    exec(compile(ast.Module(body, []), "reference", "exec"), namespace)
    return namespace


def main() -> int:
    import keras
    fix_thread_counts()  # as in the worker: the trained models depend on the thread count
    rubric = load_rubric()
    functions = reference_functions()
    for part, (builder, dataset, shape) in MODELS.items():
        budget = rubric.budget[part]
        data = load_dataset(dataset)
        train = slice(PROBE_TRAIN_START, PROBE_TRAIN_START + budget["train_samples"])
        x = (data.x_train[train].reshape((-1, *shape)) / 255.0).astype("float32")
        y = data.y_train[train]
        keras.utils.set_random_seed(0)
        model = functions[builder]()
        if "sparse" not in str(model.loss):
            y = np.eye(10, dtype="float32")[y]
        model.fit(x, y, epochs=budget["epochs"], batch_size=budget["batch_size"], verbose=0)
        x_test = (data.x_test[HELD_OUT_TEST].reshape((-1, *shape)) / 255.0).astype("float32")
        accuracy = float(np.mean(np.argmax(model.predict(x_test, verbose=0), axis=1) == data.y_test[HELD_OUT_TEST]))
        print(f"{part:6s} reference accuracy {accuracy:.3f}   min_accuracy {budget['min_accuracy']:.2f}   "
              f"margin {accuracy - budget['min_accuracy']:+.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
