"""Wall time and peak memory of grading one submission, split by phase.

    .venv/bin/python benchmarks/grade_phases.py [SUBMISSION] [--baseline]

Prints the grader's own phase timings (load, prepare, worker, artifacts, checks), the slowest
steps inside the worker, and the peak resident memory of the grader process and of its children
(the worker). With --baseline it also executes the same notebook with `jupyter nbconvert --execute`
at the chapter's full settings (about 30-40 minutes on 2 cores) and prints the speed-up as a ratio
measured in the same run.
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent
REFERENCE = PROJECT / "reference_solution" / "cnn_assignment_solution.ipynb"


def grade_with_phases(submission: Path) -> tuple[float, dict, dict]:
    import grader.grade as grade
    import grader.worker as worker
    steps: dict[str, float] = {}
    original = worker.run_worker

    def recording_run_worker(*args, **kwargs):
        run = original(*args, **kwargs)
        steps.update(run.step_seconds)
        return run

    grade.run_worker = recording_run_worker
    started = time.monotonic()
    result = grade.grade_submission(submission)
    wall = time.monotonic() - started
    print(f"score {result.score:g}/{result.max_score:g}  status {result.status}")
    return wall, result.timings, steps


def nbconvert_execute(notebook: Path) -> float:
    with tempfile.TemporaryDirectory() as folder:
        started = time.monotonic()
        subprocess.run([sys.executable, "-m", "jupyter", "nbconvert", "--to", "notebook", "--execute",
                        "--ExecutePreprocessor.timeout=-1", "--output-dir", folder, str(notebook)], check=True)
        return time.monotonic() - started


def cross_validation_lower_bound() -> float:
    """Seconds of the notebook's 5-fold x 10-epoch CV, from one timed epoch on 40,000 images."""
    sys.path.insert(0, str(PROJECT))
    from benchmarks.calibrate_thresholds import reference_functions
    from grader.datasets import load_dataset
    cifar = load_dataset("cifar10")
    x = (cifar.x_train[:40_000] / 255.0).astype("float32")
    model = reference_functions()["build_cifar_model"]()
    started = time.monotonic()
    model.fit(x, cifar.y_train[:40_000], epochs=1, batch_size=64, verbose=0)
    epoch = time.monotonic() - started
    print(f"one epoch on 40,000 CIFAR images: {epoch:.1f} s")
    return 50 * epoch


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("submission", nargs="?", type=Path, default=REFERENCE)
    parser.add_argument("--baseline", action="store_true", help="also time nbconvert --execute (slow)")
    parser.add_argument("--baseline-bound", action="store_true",
                        help="a measured lower bound of the baseline (one epoch x 50)")
    args = parser.parse_args()
    wall, phases, steps = grade_with_phases(args.submission)
    print(f"grade wall time: {wall:.1f} s")
    for phase, seconds in phases.items():
        print(f"  {phase:10s} {seconds:7.2f} s")
    cells = sum(v for k, v in steps.items() if k.startswith("cell:"))
    probes = sum(v for k, v in steps.items() if k.startswith("probe:"))
    print(f"inside the worker: notebook cells {cells:.2f} s, probes {probes:.2f} s, "
          f"start-up/imports/exit {phases.get('worker', 0) - cells - probes:.2f} s")
    print("slowest worker steps:")
    for step, seconds in sorted(steps.items(), key=lambda item: -item[1])[:8]:
        print(f"  {step:28s} {seconds:7.2f} s")
    grader_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    worker_peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"peak memory: grader {grader_peak:.0f} MB, worker (largest child) {worker_peak:.0f} MB")
    if args.baseline_bound:
        bound = cross_validation_lower_bound()
        print(f"nbconvert --execute at the chapter's settings takes more than {bound:.0f} s "
              f"(its cross-validation alone); grade is more than {bound / wall:.1f}x faster")
    if args.baseline:
        baseline = nbconvert_execute(args.submission)
        print(f"nbconvert --execute at the chapter's settings: {baseline:.0f} s; "
              f"grade is {baseline / wall:.1f}x faster")
    return 0


if __name__ == "__main__":
    sys.exit(main())
