"""Accuracy of the reference solution's models under the rubric's training budget, on the grader's path.

    CNN_GRADER_DATA_DIR=... .venv/bin/python benchmarks/calibrate_thresholds.py [--salts 10] [--parts dense,cnn,cifar]

For each accuracy check, trains the reference solution's model, and the same architecture compiled
with learning rate 0 (a model that learns nothing), exactly as the grader does: architecture and
compile configuration exported as the worker exports them, the grader's own training
(grader.training.measured_accuracy, as check_accuracy calls it) on the plan's training subset,
measured on the plan's held-out subset, with the first training seed of each of N salts
(grader.probes.build_plan). Prints the
spread of single-training accuracies next to the rubric's min_accuracy, so an instructor can see
the margin on both sides before changing a threshold. benchmarks/salt_stability.py then shows the
verdicts the grader reaches with re-measuring near the threshold.
"""

from __future__ import annotations

import argparse
import ast
import hashlib
import json
import os
import statistics
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

PROJECT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT))

# The grader package first: it sets TensorFlow's thread pools before TensorFlow starts.
from grader import training  # noqa: E402
from grader.artifacts import ModelArtifact  # noqa: E402
from grader.probes import build_plan  # noqa: E402
from grader.rubric import load_rubric  # noqa: E402
from grader.training import ACCURACY_PARTS  # noqa: E402

REFERENCE = PROJECT / "reference_solution" / "cnn_assignment_solution.py"
REFERENCE_NOTEBOOK = PROJECT / "reference_solution" / "cnn_assignment_solution.ipynb"


def definitions(path: Path) -> dict:
    """Only the imports and function definitions of a submission's .py (no demo cells, no top-level code)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    body = [node for node in tree.body if isinstance(node, (ast.Import, ast.ImportFrom, ast.FunctionDef))]
    namespace: dict = {}
    exec(compile(ast.Module(body, []), str(path), "exec"), namespace)
    return namespace


def reference_functions() -> dict:
    """The imports and function definitions of the reference solution's .py."""
    return definitions(REFERENCE)


def no_learning(model):
    """The same model compiled with Adam(learning_rate=0.0), its loss and accuracy: it learns nothing."""
    import keras
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=0.0), loss=model.loss, metrics=["accuracy"])
    return model


def export(model) -> tuple[dict, training.CompileSettings]:
    """The architecture and validated compile settings as the grader gets them from the worker:
    model.to_json() and model.get_compile_config() through JSON, the architecture allow-listed."""
    architecture = json.loads(model.to_json())
    config = json.loads(json.dumps(model.get_compile_config()))
    ModelArtifact(architecture, list(model.get_weights()), config).build()
    return architecture, training.compile_settings(config)


def calibration_salts(count: int, prefix: str = "calibration") -> list[str]:
    return [hashlib.sha256(f"{prefix}:{i}".encode()).hexdigest() for i in range(count)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--salts", type=int, default=10, help="salts, one training each (default 10)")
    parser.add_argument("--parts", default="dense,cnn,cifar", help="comma-separated (default all three)")
    parser.add_argument("--data-dir", type=Path, help="else $CNN_GRADER_DATA_DIR")
    args = parser.parse_args(argv)
    parts = [p.strip() for p in args.parts.split(",") if p.strip()]
    if any(p not in ACCURACY_PARTS for p in parts) or args.salts < 1:
        parser.error(f"--parts takes {','.join(ACCURACY_PARTS)}; --salts at least 1")
    training.pin_threads()
    rubric = load_rubric()
    functions = reference_functions()
    sha256 = hashlib.sha256(REFERENCE_NOTEBOOK.read_bytes()).hexdigest()
    plans = [build_plan(sha256, salt, rubric, args.data_dir, [], {}) for salt in calibration_salts(args.salts)]
    for part in parts:
        builder = ACCURACY_PARTS[part][0]
        budget = rubric.budget[part]
        for label, model in (("reference", functions[builder]()), ("no-learning", no_learning(functions[builder]()))):
            architecture, settings = export(model)
            accuracies = [training.measured_accuracy(plan, budget, part, architecture, settings,
                                                     plan.training_seeds(1)[0]) for plan in plans]
            low, mean, high = min(accuracies), statistics.fmean(accuracies), max(accuracies)
            print(f"{part:6s} {label:11s} accuracy {low:.3f}-{high:.3f} (mean {mean:.3f}, sd "
                  f"{statistics.pstdev(accuracies):.3f}, {len(accuracies)} salts)   min_accuracy "
                  f"{budget['min_accuracy']:.2f}   margin of the {'lowest' if label == 'reference' else 'highest'} "
                  f"{(low if label == 'reference' else high) - budget['min_accuracy']:+.3f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
