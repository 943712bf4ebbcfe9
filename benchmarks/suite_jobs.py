"""Throughput of the grading pool at 2 and 3 processes on this machine, measured on free-form
corpus files graded as tests/test_free_mode.py grades them (why tests/conftest.py's SUITE_JOBS is 2).

    CNN_GRADER_DATA_DIR=.data CNN_GRADER_SALT=benchmark-salt-not-for-grading .venv/bin/python benchmarks/suite_jobs.py [--rounds 2] [--jobs 2 3]

The pool sizes take turns in each round (the machine's load drifts), on the same files. Prints each
run's wall time and the CPU time of its processes, then per pool size the median wall time and its
ratio to the first size's.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import time
from pathlib import Path

from grader.grade import GradeOptions, grade_submission
from grader.pool import ProcessPool, Task, task_timeout_for

CORPUS = Path(__file__).resolve().parent.parent / "tests" / "corpus" / "free"
FILES = ("chapter_exact.py", "tfkeras_full_homework.ipynb", "sweep_many_models.py", "cv_reused_model.py",
         "functional_api.py", "batchnorm_dropout_full.ipynb")


def children_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def grade_all(jobs: int) -> tuple[float, float]:
    """Wall seconds and CPU seconds of grading FILES in a pool of `jobs` processes."""
    options = GradeOptions(mode="free")
    tasks = [Task(name, (CORPUS / name, options)) for name in FILES]
    failed = []
    cpu, started = children_cpu_seconds(), time.monotonic()
    ProcessPool(jobs, task_timeout_for(options.total_seconds)).run(
        grade_submission, tasks, lambda outcome: None if outcome.ok else failed.append(outcome.key))
    if failed:
        raise SystemExit(f"gradings failed: {failed}")
    return time.monotonic() - started, children_cpu_seconds() - cpu


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--jobs", type=int, nargs="+", default=[2, 3])
    args = parser.parse_args()
    walls: dict[int, list[float]] = {jobs: [] for jobs in args.jobs}
    for round_number in range(1, args.rounds + 1):
        for jobs in args.jobs:
            wall, cpu = grade_all(jobs)
            walls[jobs].append(wall)
            print(f"round {round_number}  jobs {jobs}: {len(FILES)} gradings in {wall:6.1f} s wall, {cpu:6.1f} s CPU")
    base = statistics.median(walls[args.jobs[0]])
    for jobs, values in walls.items():
        median = statistics.median(values)
        print(f"jobs {jobs}: median {median:6.1f} s  ratio to jobs {args.jobs[0]}: {median / base:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
