"""grader/worker.py: limits, restarts past fatal steps, cleanup (slow: real worker processes)."""

import time

import psutil
import pytest

from grader.grade import GradeOptions, grade_submission
from grader.worker import hideable, isolation_measures

PREPROCESS_DENSE = '''
def preprocess_dense(images):
    return images.reshape(len(images), 784) / 255.0
'''
TO_ONE_HOT = '''
def to_one_hot(labels, num_classes=10):
    import numpy as np
    return np.eye(num_classes)[np.asarray(labels).reshape(-1)]
'''


def submission(tmp_path, *cells):
    path = tmp_path / "s.py"
    path.write_text("".join(f"# %%\n{cell}\n" for cell in cells), encoding="utf-8")
    return path


def points(result, check_id):
    return next(c.points for c in result.checks if c.id == check_id)


def test_hideable_never_hides_python_itself(tmp_path):
    import sys
    from pathlib import Path
    assert Path(sys.prefix).resolve() not in hideable([Path(sys.prefix)])
    assert Path("/") not in hideable([Path("/")])
    assert hideable([tmp_path]) == [tmp_path.resolve()]


def test_measures_report_the_sandbox_in_use():
    assert isolation_measures(True)["no_network"] and not isolation_measures(False)["no_network"]


@pytest.mark.slow
def test_os_exit_in_a_cell_is_skipped_and_later_cells_still_count(tmp_path):
    path = submission(tmp_path, PREPROCESS_DENSE, "import os\nos._exit(0)", TO_ONE_HOT)
    result = grade_submission(path, GradeOptions(cell_seconds=10, total_seconds=200))
    assert points(result, "preprocess_dense") == 5 and points(result, "to_one_hot") == 4
    assert any(e.cell == 2 and e.error_type == "WorkerKilled" for e in result.cell_errors)


@pytest.mark.slow
def test_a_loop_that_swallows_the_timeout_is_killed_and_grading_finishes(tmp_path):
    marker = f"hang-{time.time_ns()}"
    loop = (f"import subprocess, time\nsubprocess.Popen(['sleep', '1000', '{marker}'])\n"
            "while True:\n    try:\n        time.sleep(1)\n    except BaseException:\n        pass")
    path = submission(tmp_path, PREPROCESS_DENSE, loop, TO_ONE_HOT)
    started = time.monotonic()
    result = grade_submission(path, GradeOptions(cell_seconds=3, total_seconds=200))
    assert time.monotonic() - started < 150
    assert points(result, "to_one_hot") == 4
    assert any(e.cell == 2 and "timeout" in e.message for e in result.cell_errors)
    leftovers = [p for p in psutil.process_iter(["cmdline"]) if marker in " ".join(p.info["cmdline"] or [])]
    assert leftovers == []


def test_a_venv_under_tmp_is_bound_back_into_the_sandbox_before_hidden_folders(monkeypatch, tmp_path):
    """CI may clone the project under /tmp, which the sandbox replaces with an empty tmpfs."""
    from pathlib import Path

    from grader import worker
    monkeypatch.setattr(worker, "python_paths", lambda: [Path("/tmp/clone/.venv")])
    submission = tmp_path / "s.py"
    submission.write_text("x = 1\n")
    job = worker.JobFolder(submission)
    try:
        hidden = tmp_path / "secret"
        hidden.mkdir()
        command = worker.worker_command(job, worker.Limits(1, 1, 1, 512), True, [hidden])
    finally:
        job.remove()
    text = " ".join(command)
    assert "--perms 1777 --tmpfs /tmp" in text
    assert "--perms 0755 --dir /tmp/clone --ro-bind /tmp/clone/.venv /tmp/clone/.venv" in text
    assert text.index("--ro-bind /tmp/clone/.venv") < text.index(f"--tmpfs {hidden.resolve()}")
