"""grader/worker.py: limits, restarts past fatal steps, cleanup (slow: real worker processes)."""

import time

import psutil
import pytest

from grader.grade import GradeOptions, grade_submission
from grader.worker import bwrap_works, hideable, isolation_measures

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


def test_hideable_never_hides_python_itself_and_only_what_the_allow_list_shows(tmp_path):
    import sys
    from pathlib import Path
    assert Path(sys.prefix).resolve() not in hideable([Path(sys.prefix)])
    assert Path("/") not in hideable([Path("/")])
    assert hideable([tmp_path]) == []  # outside the allow-list: invisible anyway
    inside = Path("/etc")  # a system folder the worker sees
    assert hideable([inside]) == [inside]


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


def test_a_venv_under_tmp_is_bound_back_into_the_sandbox(monkeypatch, tmp_path):
    """CI may clone the project under /tmp, which the sandbox replaces with an empty tmpfs."""
    from pathlib import Path

    from grader import worker
    monkeypatch.setattr(worker, "python_paths", lambda: [Path("/tmp/clone/.venv")])
    submission = tmp_path / "s.py"
    submission.write_text("x = 1\n")
    job = worker.JobFolder(submission)
    try:
        command = worker.worker_command(job, worker.Limits(1, 1, 1, 512), True, [tmp_path / "secret"])
    finally:
        job.remove()
    text = " ".join(command)
    assert "--perms 1777 --tmpfs /tmp" in text
    assert "--perms 0755 --dir /tmp/clone --ro-bind /tmp/clone/.venv /tmp/clone/.venv" in text
    assert text.index("--tmpfs /tmp ") < text.index("--ro-bind /tmp/clone/.venv")
    assert "--ro-bind / /" not in text  # an allow-list, not the whole machine


SANDBOX_VIEW = """
import json, os, sys
print(json.dumps({path: os.path.exists(path) for path in sys.argv[1:]}))
"""


@pytest.mark.skipif(not bwrap_works(), reason="bubblewrap cannot make namespaces here (install.sh installs it)")
def test_the_worker_sees_python_and_its_job_but_no_other_file_of_the_machine(tmp_path):
    """The project's folders, the data directory, ~/.keras, a course's copy of the datasets and any
    file elsewhere on the machine (a sentinel in /var/tmp) do not exist inside the sandbox."""
    import json
    import os
    import subprocess
    import sys
    from pathlib import Path

    from grader import datasets, worker
    from grader.grade import hidden_paths
    from grader.load import Submission
    project = Path(__file__).resolve().parent.parent
    sentinel = Path("/var/tmp") / f"cnn1-sentinel-{os.getpid()}"
    sentinel.write_text("a copy of the test split")
    path = submission(tmp_path, "x = 1")
    job = worker.JobFolder(path)
    try:
        hidden = hidden_paths(Submission(path, "0" * 64, "python", []), GradeOptions())
        command = worker.worker_command(job, worker.Limits(5, 5, 30, 2048), True, hidden)
        command = command[:command.index("/tmp/harness/harness.py")]
        unseen = [str(project / name) for name in ("grader", "reference_solution", "tests", ".git", ".data")]
        unseen += [str(datasets.data_dir()), str(Path.home() / ".keras"), str(project.parent / "shared"),
                   str(sentinel), "/autograder"]
        seen = [sys.prefix, "/tmp/harness/protocol.py", "/tmp/in", "/usr/lib"]
        done = subprocess.run([*command, "-c", SANDBOX_VIEW, *unseen, *seen], capture_output=True, text=True,
                              timeout=60, cwd=job.work)
    finally:
        job.remove()
        sentinel.unlink()
    view = json.loads(done.stdout.strip().splitlines()[-1])
    assert [p for p in unseen if view[p]] == []
    assert [p for p in seen if not view[p]] == []
