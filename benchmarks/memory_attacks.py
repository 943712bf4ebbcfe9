"""Peak memory of the worker under each memory attack, read from its memory cgroup.

    .venv/bin/python benchmarks/memory_attacks.py [--memory-mb 4096] [--before] [--json PATH]

Grades each attack of the hostile corpus (and a small correct submission as the baseline of a
worker that imports Keras) one after the other, under the hostile tests' limits, and prints per
attack: the highest memory use of the worker's cgroup over its attempts (processes, page cache,
memfd, shared memory, tmpfs), the cap, the steps the grader stopped and why, and the score.

With --before, each attack is graded a second time as the grader did before the cgroup and the
user-namespace filter: the filter is off and the cgroup only watches (its limit is twice the cap,
so that a run cannot take the machine); the rlimits and the resident-memory monitor are in force.
A peak at that ceiling means "at least".

Needs root (a writable cgroupfs) for the peaks; elsewhere it says that no cgroup could be made.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent
HOSTILE = PROJECT / "tests" / "corpus" / "hostile"
ATTACKS = {
    "anonymous memory (64 GiB block; 6 forks of 500 MB)": HOSTILE / "resource_memory.py",
    "memfd (+ /dev/shm) written with write()": HOSTILE / "resource_memfd_shm.py",
    "sandbox /tmp and /dev/shm filled": HOSTILE / "resource_tmpfs_fill.py",
    "own user namespace + tmpfs": HOSTILE / "resource_userns_tmpfs.py",
}
BASELINE = """# %%
import numpy as np
import keras


def preprocess_dense(images):
    images = np.asarray(images)
    return images.reshape((len(images), 784)).astype('float32') / 255

# %%
def to_one_hot(labels, num_classes=10):
    return keras.utils.to_categorical(labels, num_classes=num_classes)
"""


@dataclass
class Measurement:
    attack: str
    mode: str               # "now" or "before"
    peak_mb: float | None   # the cgroup's highest use over all attempts; None: no cgroup
    cap_mb: int
    stopped: str            # the steps the grader stopped, with the reason
    score: float
    seconds: float


def grade_recording_peak(path: Path, memory_mb: int) -> tuple[object, object]:
    """Grade `path` and return (the result, the worker run it came from)."""
    import grader.grade as grade
    from grader.grade import GradeOptions
    runs = []
    original = grade.run_worker

    def recording_run_worker(*args, **kwargs):
        runs.append(original(*args, **kwargs))
        return runs[-1]

    grade.run_worker = recording_run_worker
    try:
        options = GradeOptions(cell_seconds=8, probe_seconds=20, total_seconds=300, memory_mb=memory_mb)
        result = grade.grade_submission(path, options)
    finally:
        grade.run_worker = original
    return result, (runs[-1] if runs else None)


def as_before(ceiling_mb: int) -> None:
    """The grader as it was: no seccomp filter, and a cgroup that only watches up to a ceiling."""
    from grader import worker
    original = worker.make_worker_cgroup
    worker.userns_blocked = lambda: False
    worker.make_worker_cgroup = lambda memory_bytes, *args, **kwargs: original(ceiling_mb * 2**20, *args, **kwargs)


def measure(attack: str, path: Path, memory_mb: int, mode: str) -> Measurement:
    started = time.monotonic()
    result, run = grade_recording_peak(path, memory_mb)
    peak = run.memory_peak_bytes if run is not None else None
    stopped = ", ".join(f"{c.step} ({c.reason})" for c in run.crashes) if run is not None else result.status
    return Measurement(attack, mode, None if peak is None else round(peak / 2**20), memory_mb, stopped or "-",
                       result.score, round(time.monotonic() - started))


def print_table(rows: list[Measurement]) -> None:
    print(f"\n{'attack':52s} {'mode':7s} {'peak MB':>8s} {'cap MB':>7s} {'score':>6s} {'s':>4s}  stopped")
    for row in rows:
        peak = "no cgroup" if row.peak_mb is None else f"{row.peak_mb:.0f}"
        print(f"{row.attack:52s} {row.mode:7s} {peak:>8s} {row.cap_mb:7d} {row.score:6g} {row.seconds:4.0f}  {row.stopped}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--memory-mb", type=int, default=4096, help="the worker's memory cap (default 4096)")
    parser.add_argument("--before", action="store_true",
                        help="also grade each attack as the grader did before the cgroup and the filter")
    parser.add_argument("--json", type=Path, help="write the measurements as JSON here")
    args = parser.parse_args()
    sys.path.insert(0, str(PROJECT))
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        baseline = Path(folder) / "baseline.py"
        baseline.write_text(BASELINE, encoding="utf-8")
        cases = {"baseline: two correct functions, Keras imported": baseline, **ATTACKS}
        for attack, path in cases.items():
            rows.append(measure(attack, path, args.memory_mb, "now"))
            print_table(rows[-1:])
        if args.before:
            as_before(2 * args.memory_mb)
            for attack, path in cases.items():
                rows.append(measure(attack, path, args.memory_mb, "before"))
                print_table(rows[-1:])
    print_table(rows)
    print(f"\n{os.cpu_count()} CPUs; load average {os.getloadavg()[0]:.1f}")
    if args.json:
        args.json.write_text(json.dumps([asdict(r) for r in rows], indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
