"""Grading time of every free-form corpus file and the chapter-style reference, per phase, graded
in a pool as tests/test_free_mode.py grades them.

    CNN_GRADER_DATA_DIR=.data CNN_GRADER_SALT=benchmark-salt-not-for-grading .venv/bin/python benchmarks/free_corpus_times.py [--jobs 2]

Prints the pool's total wall time, then one line per file (slowest first): the sum of its phases,
each phase (load, prepare, worker, artifacts, checks) and the cells that raised; then, per check, how
many corpus files' verdicts agree with their hand labels (read as tests/test_free_mode.py reads them).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from grader.grade import GradeOptions, grade_submission
from grader.pool import ProcessPool, Task, task_timeout_for
from grader.results import PASSED

PROJECT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT / "tests"))
from test_free_mode import CHECK_IDS, CORPUS, FILES, REFERENCE, expected  # noqa: E402  the labels' one reader


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--jobs", type=int, default=2, help="grading processes (default 2, as the suite)")
    args = parser.parse_args()
    files = [*FILES, REFERENCE]
    options = GradeOptions(mode="free")
    timings: dict[str, dict] = {}
    errors: dict[str, list[int]] = {}
    verdicts: dict[str, dict[str, bool]] = {}

    def record(outcome) -> None:
        result = outcome.value if outcome.ok else None
        timings[outcome.key] = result.timings if result else {}
        verdicts[outcome.key] = {c.id: c.status == PASSED for c in result.checks} if result else {}
        errors[outcome.key] = [e.cell for e in result.cell_errors] if result else ["grading failed"]

    started = time.monotonic()
    ProcessPool(args.jobs, task_timeout_for(options.total_seconds)).run(
        grade_submission, [Task(p.name, (p, options)) for p in files], record)
    print(f"{len(files)} gradings in {args.jobs} processes: {time.monotonic() - started:.1f} s")
    for name in sorted(timings, key=lambda n: -sum(timings[n].values())):
        phases = " ".join(f"{k} {v:.1f}" for k, v in timings[name].items())
        print(f"{name:48} {sum(timings[name].values()):6.1f} s  {phases}  cell errors {errors[name]}")
    print_agreement(verdicts)
    return 0


def print_agreement(verdicts: dict[str, dict[str, bool]]) -> None:
    """Per check: corpus files whose verdict agrees with the hand label, and the labels' pass / fail."""
    labels = {path.name: expected(path) for path in FILES}
    print(f"\n{'check':20} {'agree':>9}  labels pass / fail  disagreeing files")
    for check_id in CHECK_IDS:
        wrong = [name for name, want in labels.items() if verdicts.get(name, {}).get(check_id) != want[check_id]]
        passes = sum(want[check_id] for want in labels.values())
        print(f"{check_id:20} {len(labels) - len(wrong):4}/{len(labels):<4}  {passes:5} / {len(labels) - passes:<5}"
              f"        {' '.join(wrong) or '-'}")


if __name__ == "__main__":
    raise SystemExit(main())
