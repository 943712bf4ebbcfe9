"""The worker's CPU time with and without transparent huge pages for numpy's arrays (why
grader/protocol.py's PROCESS_ENVIRONMENT sets NUMPY_MADVISE_HUGEPAGE=0).

    CNN_GRADER_DATA_DIR=.data CNN_GRADER_SALT=benchmark-salt-not-for-grading .venv/bin/python benchmarks/hugepages.py [--rounds 3] [FILE ...]

Grades each file (default: two free-form corpus notebooks) in this process, the worker's setting
taking turns in each round (the machine's load drifts). Prints the user and system CPU seconds of
each grading's child processes (the worker), then per setting the medians and the ratio of the
kernel's time with huge pages to without.
"""

from __future__ import annotations

import argparse
import resource
import statistics
from pathlib import Path

from grader import protocol
from grader.grade import GradeOptions, grade_submission
from grader.results import GRADED

CORPUS = Path(__file__).resolve().parent.parent / "tests" / "corpus" / "free"
FILES = (CORPUS / "chapter_exact.py", CORPUS / "tfkeras_full_homework.ipynb")
SETTINGS = ("1", "0")   # numpy's default on Linux >= 4.6, and the grader's


def children_cpu() -> tuple[float, float]:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime, usage.ru_stime


def grade_with(path: Path, hugepages: str) -> tuple[float, float]:
    """User and system CPU seconds of the worker processes of one grading of `path`."""
    protocol.PROCESS_ENVIRONMENT["NUMPY_MADVISE_HUGEPAGE"] = hugepages
    user, system = children_cpu()
    result = grade_submission(path, GradeOptions(mode="auto"))
    if result.status != GRADED:
        raise SystemExit(f"{path.name}: {result.status}")
    after_user, after_system = children_cpu()
    return after_user - user, after_system - system


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("files", type=Path, nargs="*", default=list(FILES))
    args = parser.parse_args()
    for path in args.files:
        system: dict[str, list[float]] = {setting: [] for setting in SETTINGS}
        total: dict[str, list[float]] = {setting: [] for setting in SETTINGS}
        for round_number in range(1, args.rounds + 1):
            for setting in SETTINGS:
                user_seconds, system_seconds = grade_with(path, setting)
                system[setting].append(system_seconds)
                total[setting].append(user_seconds + system_seconds)
                print(f"{path.name}  round {round_number}  NUMPY_MADVISE_HUGEPAGE={setting}: "
                      f"worker user {user_seconds:5.1f} s  system {system_seconds:5.1f} s")
        for setting in SETTINGS:
            print(f"{path.name}  NUMPY_MADVISE_HUGEPAGE={setting}: median system {statistics.median(system[setting]):5.1f} s"
                  f"  median CPU {statistics.median(total[setting]):5.1f} s")
        ratio = statistics.median(total["1"]) / statistics.median(total["0"])
        print(f"{path.name}  worker CPU with huge pages / without: {ratio:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
