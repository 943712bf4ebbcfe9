"""Throughput of batch grading: one class graded with --jobs 1, --jobs 2 and a local Dask cluster.

The class is N variants of the reference solution (each with its own markdown cell, so every file
has its own content hash and is really graded). Each configuration grades the class into a fresh
output folder; the script prints submissions per minute and the ratios to --jobs 1, and checks that
the three gradebooks agree.

usage:
  python benchmarks/batch_throughput.py [-n 20] [--data-dir DIR] [--keep DIR]
  python benchmarks/batch_throughput.py --fake-seconds 2   # the script itself, without TensorFlow
"""

from __future__ import annotations

import argparse
import io
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import psutil
from rich.console import Console

PROJECT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT))

from grader.batch import run_batch  # noqa: E402
from grader.grade import GradeOptions  # noqa: E402

REFERENCE = PROJECT / "reference_solution" / "cnn_assignment_solution.ipynb"
CONFIGURATIONS = (("--jobs 1", {"jobs": 1}), ("--jobs 2", {"jobs": 2}),
                  ("Dask local:2", {"scheduler": "local:2"}))


def make_class(folder: Path, count: int, fake_seconds: float | None) -> Path:
    """`count` variants of the reference as a plain export (s01.ipynb, s02.ipynb, ...)."""
    folder.mkdir(parents=True, exist_ok=True)
    reference = json.loads(REFERENCE.read_text(encoding="utf-8"))
    for number in range(1, count + 1):
        notebook = json.loads(json.dumps(reference))
        marker = f"SLEEP:{fake_seconds} PASS:ALL" if fake_seconds is not None else ""
        notebook["cells"].insert(0, {"cell_type": "markdown", "id": f"student-{number:02d}", "metadata": {},
                                     "source": [f"学生 {number:02d} / student {number:02d} {marker}\n"]})
        (folder / f"s{number:02d}.ipynb").write_text(json.dumps(notebook, ensure_ascii=False), encoding="utf-8")
    return folder


def grade_function(fake_seconds: float | None):
    if fake_seconds is None:
        return None  # run_batch's default: grader.grade.grade_submission
    sys.path.insert(0, str(PROJECT / "tests"))
    import fake_grading
    return fake_grading.fake_grade


def run_configuration(label: str, settings: dict, export: Path, out: Path, options: GradeOptions,
                      grade_fn) -> tuple[float, dict[str, int]]:
    console = Console(file=io.StringIO())
    started = time.perf_counter()
    summary = run_batch(export, out, options=options, grade_fn=grade_fn, console=console, **settings)
    seconds = time.perf_counter() - started
    if summary.graded_now != summary.students:
        raise SystemExit(f"{label}: graded {summary.graded_now} of {summary.students} (not a fresh run?)")
    return seconds, summary.statuses


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-n", "--count", type=int, default=20, help="submissions in the class (default 20)")
    parser.add_argument("--data-dir", type=Path, default=None,
                        help="folder with mnist.npz and cifar10.npz (default: $CNN_GRADER_DATA_DIR)")
    parser.add_argument("--keep", type=Path, default=None, help="keep the class and outputs in this folder")
    parser.add_argument("--fake-seconds", type=float, default=None,
                        help="grade with the test suite's fake grader taking this long per submission")
    args = parser.parse_args()

    data_dir = args.data_dir or (Path(os.environ["CNN_GRADER_DATA_DIR"])
                                 if os.environ.get("CNN_GRADER_DATA_DIR") else None)
    if data_dir is None and args.fake_seconds is None:
        parser.error("set CNN_GRADER_DATA_DIR or pass --data-dir")
    options = GradeOptions(data_dir=data_dir)
    work = args.keep or Path(tempfile.mkdtemp(prefix="batch-throughput-"))
    export = make_class(work / "class", args.count, args.fake_seconds)
    grade_fn = grade_function(args.fake_seconds)

    memory = psutil.virtual_memory()
    print(f"Machine: {os.cpu_count()} cores, {memory.total / 2**30:.1f} GB memory "
          f"({memory.available / 2**30:.1f} GB available); worker cap {options.memory_mb} MB")
    print(f"Class: {args.count} variants of {REFERENCE.name}"
          + (f" (fake grader, {args.fake_seconds} s each)" if args.fake_seconds is not None else ""))
    rates, gradebooks = {}, {}
    for label, settings in CONFIGURATIONS:
        out = work / ("out_" + label.strip("-").replace(" ", "_").replace(":", ""))
        shutil.rmtree(out, ignore_errors=True)
        seconds, statuses = run_configuration(label, settings, export, out, options, grade_fn)
        rates[label] = args.count / (seconds / 60)
        gradebooks[label] = (out / "grades.csv").read_bytes()
        print(f"{label:>14}: {seconds:7.1f} s  {rates[label]:6.2f} submissions/min  statuses {statuses}",
              flush=True)
    base = rates["--jobs 1"]
    print("Ratios to --jobs 1: " + ", ".join(f"{label} {rate / base:.2f}x" for label, rate in rates.items()))
    same = len(set(gradebooks.values())) == 1
    print("Gradebooks identical across configurations: " + ("yes" if same else "NO"))
    if args.keep is None:
        shutil.rmtree(work, ignore_errors=True)
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
