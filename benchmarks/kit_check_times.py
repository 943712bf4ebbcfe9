"""How long each visible check of the student kit takes in a notebook (issue 11), and the wheel's size.

    .venv/bin/python benchmarks/kit_check_times.py [--repeat 5] [--json PATH]

Builds the kit with grader.student_kit.build_student_kit (its size is printed), then times
grader.notebook_check.run_checks, the code the wheel ships, check by check on the reference's
functions (definitions only, as a kernel has them after running the cells) and on the template's:
the first run in a fresh process (Keras warming up: what a student sees on the first check()) and
the median of --repeat further runs. Nothing is trained by a visible check.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from grader.notebook_check import run_checks, visible_checks  # noqa: E402
from grader.rubric import load_rubric  # noqa: E402
from grader.student_kit import build_student_kit  # noqa: E402
from grader.validate import definitions_only  # noqa: E402

FILES = {"reference": ROOT / "reference_solution" / "cnn_assignment_solution.py",
         "template": ROOT / "student_template" / "cnn_assignment.py"}


def kernel(path: Path) -> dict:
    namespace = {"__name__": "__main__"}
    exec(compile(definitions_only(path.read_text(encoding="utf-8")), str(path), "exec"), namespace)
    return namespace


def time_checks(namespace: dict, checks, repeat: int) -> dict[str, dict]:
    """Per check: the first run's seconds, the median of `repeat` more, and the verdict."""
    rows = {}
    for entry in checks:
        first = run_checks([entry.id], namespace, checks)[0]
        again = [run_checks([entry.id], namespace, checks)[0].seconds for _ in range(repeat)]
        rows[entry.id] = {"function": entry.function, "passed": first.passed, "first_seconds": first.seconds,
                          "median_seconds": statistics.median(again)}
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as folder:
        started = time.perf_counter()
        kit = build_student_kit(Path(folder))
        build_seconds = time.perf_counter() - started
        wheel_bytes = kit.wheel.stat().st_size
    print(f"wheel {kit.wheel.name}: {wheel_bytes / 1024:.1f} KiB, built in {build_seconds:.1f} s")
    checks = visible_checks(load_rubric())
    result = {"wheel_bytes": wheel_bytes, "build_seconds": build_seconds, "files": {}}
    for name, path in FILES.items():
        rows = time_checks(kernel(path), checks, args.repeat)
        result["files"][name] = rows
        print(f"\n{name}: check (function)                      verdict  first run  median of {args.repeat}")
        for check_id, row in rows.items():
            print(f"  {check_id:24s} {row['function']:22s} {'pass' if row['passed'] else 'fail':5s}  "
                  f"{row['first_seconds'] * 1000:8.0f} ms  {row['median_seconds'] * 1000:8.0f} ms")
        print(f"  slowest median {max(r['median_seconds'] for r in rows.values()) * 1000:.0f} ms; "
              f"all checks {sum(r['median_seconds'] for r in rows.values()) * 1000:.0f} ms")
    if args.json:
        args.json.write_text(json.dumps(result, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
