"""Grading time of every free-form corpus file and the chapter-style reference, per phase, graded
in a pool as tests/test_free_mode.py grades them.

    CNN_GRADER_DATA_DIR=.data CNN_GRADER_SALT=benchmark-salt-not-for-grading .venv/bin/python benchmarks/free_corpus_times.py [--jobs 2]

Prints the pool's total wall time, then one line per file (slowest first): the sum of its phases,
each phase (load, prepare, worker, artifacts, checks) and the cells that raised.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from grader.grade import GradeOptions, grade_submission
from grader.pool import ProcessPool, Task, task_timeout_for

PROJECT = Path(__file__).resolve().parent.parent
CORPUS = PROJECT / "tests" / "corpus" / "free"
REFERENCE = PROJECT / "reference_solution" / "cnn_chapter_style.ipynb"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--jobs", type=int, default=2, help="grading processes (default 2, as the suite)")
    args = parser.parse_args()
    files = [*sorted(p for p in CORPUS.iterdir() if p.suffix in (".py", ".ipynb")), REFERENCE]
    options = GradeOptions(mode="free")
    timings: dict[str, dict] = {}
    errors: dict[str, list[int]] = {}

    def record(outcome) -> None:
        result = outcome.value if outcome.ok else None
        timings[outcome.key] = result.timings if result else {}
        errors[outcome.key] = [e.cell for e in result.cell_errors] if result else ["grading failed"]

    started = time.monotonic()
    ProcessPool(args.jobs, task_timeout_for(options.total_seconds)).run(
        grade_submission, [Task(p.name, (p, options)) for p in files], record)
    print(f"{len(files)} gradings in {args.jobs} processes: {time.monotonic() - started:.1f} s")
    for name in sorted(timings, key=lambda n: -sum(timings[n].values())):
        phases = " ".join(f"{k} {v:.1f}" for k, v in timings[name].items())
        print(f"{name:48} {sum(timings[name].values()):6.1f} s  {phases}  cell errors {errors[name]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
