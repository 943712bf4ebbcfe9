"""A deterministic stand-in for `grade_submission` in the fast batch tests, notebook builders, and
small task functions for the pool tests (echo, nap, crash, fail, hang_with_child, ...).

The fake reads markers from the submission's text, so each test decides the outcome itself:
  PASS:<check id>   that check passes (all others fail); PASS:ALL passes every check
  SLEEP:<seconds>   grading takes that long (to kill a batch in the middle)
  CRASH             the grading process exits at once (as if killed by the OOM killer), unless
                    the environment variable FAKE_NO_CRASH is set
  HANG              grading never finishes (until the batch stops it); with FAKE_HANG_CHILD_PIDFILE
                    set, it first starts a child process in its own session and writes its pid there
A `.ipynb` that is not JSON gives an invalid_submission result, as the real grader does.
When the environment variable FAKE_GRADE_LOG names a file, every finished grading appends
"<file name>" to it, so a test can count how often each submission was graded.

Functions are at module level so that they pickle into spawned pool processes and Dask workers.
"""

from __future__ import annotations

import json
import os
import re
import time
import tomllib
from pathlib import Path

from grader.results import (FAILED, GRADED, INVALID_SUBMISSION, PASSED, CheckResult, Feedback,
                            GradeResult, Text)

RUBRIC_TOML = Path(__file__).resolve().parent.parent / "assignment" / "rubric.toml"
LOG_VARIABLE = "FAKE_GRADE_LOG"


def _rubric_checks() -> list[dict]:
    return tomllib.loads(RUBRIC_TOML.read_text(encoding="utf-8"))["check"]


def fake_grade(path: Path, options=None) -> GradeResult:
    """Grade `path` from the markers in its text (see the module docstring)."""
    raw = Path(path).read_bytes()
    text = raw.decode("utf-8", errors="replace")
    import hashlib
    sha = hashlib.sha256(raw).hexdigest()
    if "CRASH" in text and not os.environ.get("FAKE_NO_CRASH"):
        os._exit(1)
    if "HANG" in text:
        pid_file = os.environ.get("FAKE_HANG_CHILD_PIDFILE")
        if pid_file:
            # Like the real grader's sandboxed worker: a child in its own session.
            import subprocess
            child = subprocess.Popen(["sleep", "3600"], start_new_session=True)
            Path(pid_file).write_text(str(child.pid))
        time.sleep(3600)
    sleep = re.search(r"SLEEP:([0-9.]+)", text)
    if sleep:
        time.sleep(float(sleep.group(1)))
    checks = _rubric_checks()
    if Path(path).suffix == ".ipynb" and not _is_json(text):
        reason = Text(ja="ノートブックではありません: JSON として読めません",
                      en="not a notebook: the file is not valid JSON")
        result = GradeResult(submission=str(path), sha256=sha, status=INVALID_SUBMISSION, score=0.0,
                             max_score=100.0, checks=[_check(c, False, reason) for c in checks],
                             reason=reason)
    else:
        passed = set(re.findall(r"PASS:(\w+)", text))
        results = [_check(c, "ALL" in passed or c["id"] in passed, None) for c in checks]
        result = GradeResult(submission=str(path), sha256=sha, status=GRADED,
                             score=sum(c.points for c in results), max_score=100.0, checks=results)
    _log(Path(path).name)
    return result


def _is_json(text: str) -> bool:
    try:
        json.loads(text)
    except ValueError:
        return False
    return True


def _check(check: dict, passed: bool, reason: Text | None) -> CheckResult:
    feedback = [] if passed else [Feedback(expected=Text(ja="合格", en="pass"),
                                           got=reason.en if reason else "failed (fake)",
                                           hint=Text(ja="ヒント", en="hint"))]
    return CheckResult(id=check["id"], part=check["part"],
                       title=Text(ja=check["title_ja"], en=check["title_en"]),
                       max_points=float(check["points"]), visibility=check["visibility"],
                       status=PASSED if passed else FAILED,
                       points=float(check["points"]) if passed else 0.0, feedback=feedback)


def _log(name: str) -> None:
    log = os.environ.get(LOG_VARIABLE)
    if log:
        # One write() of a short line with O_APPEND: lines of parallel processes never interleave.
        descriptor = os.open(log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(descriptor, (name + "\n").encode("utf-8"))
        finally:
            os.close(descriptor)


def echo_hide_paths(path: Path, options) -> GradeResult:
    """`fake_grade`, with the options' hide_paths as JSON in the reason (to see what was passed)."""
    import dataclasses
    hidden = json.dumps([str(p) for p in options.hide_paths])
    return dataclasses.replace(fake_grade(path, options), reason=Text(ja=hidden, en=hidden))


def returns_garbage(path: Path, options=None):
    """A grade function with a bug: returns something that is not a GradeResult."""
    return {"score": 100}


def raises(path: Path, options=None):
    """A grade function with a bug: raises."""
    raise RuntimeError("grader bug for " + Path(path).name)


def raises_dataset_unavailable(path: Path, options=None):
    """What grade_submission does on a machine without the datasets."""
    from grader.datasets import DatasetUnavailable
    raise DatasetUnavailable("mnist: /nowhere/mnist.npz does not exist")


# ---------------------------------------------------------------------------------- builders
def notebook(*markers: str, extra_source: str = "") -> str:
    """A valid nbformat-4 notebook whose one code cell carries `markers` as comments."""
    source = "".join(f"# {marker}\n" for marker in markers) + extra_source
    return json.dumps({
        "cells": [{"cell_type": "markdown", "id": "title", "metadata": {}, "source": ["# 課題\n"]},
                  {"cell_type": "code", "id": "answer", "execution_count": None, "metadata": {},
                   "outputs": [], "source": source}],
        "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
        "nbformat": 4, "nbformat_minor": 5}, ensure_ascii=False, indent=1)


def write(path: Path, text: str, mtime: float | None = None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    if mtime is not None:
        os.utime(path, (mtime, mtime))
    return path


# ---------------------------------------------------------------------------------- pool tasks
# Small task functions for tests/test_pool.py: each does one thing a grading can do to its process.
def echo(value):
    """Returns its argument."""
    return value


def nap(seconds: float, value=None):
    """Sleeps, then returns `value`."""
    time.sleep(seconds)
    return value


def crash(code: int = 1):
    """Ends its process at once, as the OOM killer or a segfault would."""
    os._exit(code)


def crash_if_marked(value: str):
    """Ends its process with exit code <code> when `value` is "CRASH:<code>", else returns `value`."""
    if value.startswith("CRASH:"):
        crash(int(value.removeprefix("CRASH:")))
    return value


def echo_or_fail(value: str):
    """Raises ValueError when `value` is "fail", else returns it."""
    if value == "fail":
        raise ValueError("asked to fail")
    return value


def fail(message: str):
    """Raises ValueError(message)."""
    raise ValueError(message)


def unpicklable_result():
    """Returns something that cannot be sent to another process."""
    import threading
    return threading.Lock()


def hang_with_child(pid_file: str):
    """Starts a child in its own session (like the grader's sandboxed worker), writes its pid to
    `pid_file`, and never returns."""
    import subprocess
    child = subprocess.Popen(["sleep", "3600"], start_new_session=True)
    Path(pid_file).write_text(str(child.pid))
    time.sleep(3600)


def hang_unless_none(pid_file: str | None):
    """`hang_with_child(pid_file)`, or "no hang" at once when `pid_file` is None."""
    if pid_file is None:
        return "no hang"
    hang_with_child(pid_file)


def big_result_when(go_file: str, pid_file: str, size: int) -> bytes:
    """Writes its pid to `pid_file`, waits (at most 60 s) for `go_file`, then returns `size` bytes:
    a test can kill the process while it sends a result larger than the pipe holds."""
    Path(pid_file).write_text(str(os.getpid()))
    deadline = time.monotonic() + 60
    while not Path(go_file).exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    return b"x" * size


def worker_pid(_: int) -> int:
    """The process that ran the task."""
    import os
    return os.getpid()


def echo_salt(path: Path, options) -> GradeResult:
    """`fake_grade`, with the salt the grading was given in the reason."""
    import dataclasses
    return dataclasses.replace(fake_grade(path, options), reason=Text(ja=options.salt, en=options.salt))
