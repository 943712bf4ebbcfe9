"""CPU and wall time of the grader's checks phase (grader.score.run_checks) when every check fails.

    .venv/bin/python benchmarks/check_run_cost.py [--repeat 5]

The artifacts hold no probe result, as for a submission that defines none of the functions or
whose worker was stopped: each of the rubric's checks fails. That is what the checks phase costs
the grader beyond the checks' own work (pytest's collection, its failure reports, its plugins).
Prints the first run in this process (the check modules imported) and the median of --repeat
further runs. Keras is imported before timing, as a grading process has it.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from grader.artifacts import WorkerArtifacts  # noqa: E402
from grader.checks.support import CheckContext  # noqa: E402
from grader.probes import build_plan  # noqa: E402
from grader.rubric import load_rubric  # noqa: E402
from grader.score import run_checks  # noqa: E402


def timed_run(plan, rubric) -> tuple[float, float, int]:
    """(cpu seconds, wall seconds, failed checks) of one run_checks with no probe results."""
    cpu, wall = time.process_time(), time.monotonic()
    outcomes = run_checks(CheckContext(plan, WorkerArtifacts(probes={}), rubric), rubric)
    failed = len(rubric.checks) - len(outcomes.passed)
    return time.process_time() - cpu, time.monotonic() - wall, failed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=5, help="runs after the first (default 5)")
    args = parser.parse_args()
    import keras  # noqa: F401  (a grading process has it loaded; not what is measured)
    rubric = load_rubric()
    plan = build_plan("0" * 64, "benchmark-salt-not-for-grading", rubric, None, [],
                      {"cell_seconds": 1, "probe_seconds": 1})
    cpu, wall, failed = timed_run(plan, rubric)
    print(f"first run: {cpu:.3f} s CPU, {wall:.3f} s wall, {failed} of {len(rubric.checks)} checks failed")
    runs = [timed_run(plan, rubric) for _ in range(args.repeat)]
    print(f"median of {args.repeat}: {statistics.median(r[0] for r in runs):.3f} s CPU, "
          f"{statistics.median(r[1] for r in runs):.3f} s wall")
    return 0


if __name__ == "__main__":
    sys.exit(main())
