"""Tests of the grading pool (grader.pool): outcomes, a dead or hanging worker fails only its own
task, deadlines from the task's start, descendants killed, Ctrl-C, and Dask behind the same interface.

The tasks are the small functions of tests/fake_grading.py (no TensorFlow).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

import fake_grading
from grader.pool import DIED, TIMED_OUT, DaskPool, Outcome, PoolError, ProcessPool, Task

TESTS = Path(__file__).resolve().parent
PROJECT = TESTS.parent


def run_pool(pool, fn, tasks: list[Task], on_outcome=None) -> dict:
    """Run `tasks`; return key -> Outcome, checking each task got exactly one outcome."""
    outcomes: dict = {}

    def record(outcome: Outcome) -> None:
        assert outcome.key not in outcomes, f"two outcomes for {outcome.key!r}"
        outcomes[outcome.key] = outcome
        if on_outcome is not None:
            on_outcome(outcome)

    pool.run(fn, tasks, record)
    assert set(outcomes) == {task.key for task in tasks}
    return outcomes


def values(outcomes: dict) -> dict:
    return {key: outcome.value for key, outcome in outcomes.items() if outcome.ok}


def wait_for_file(path: Path, seconds: float = 60) -> str:
    deadline = time.monotonic() + seconds
    while not path.exists() or not path.read_text():
        assert time.monotonic() < deadline, f"{path} was not written in {seconds} s"
        time.sleep(0.02)
    return path.read_text()


def gone(pid: int) -> bool:
    return not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE


# ---------------------------------------------------------------------------------- outcomes
def test_every_task_gets_its_value_in_parallel_processes():
    tasks = [Task(n, (2.0, n * n)) for n in range(6)]
    started = time.monotonic()
    outcomes = run_pool(ProcessPool(3, task_timeout=60), fake_grading.nap, tasks)
    assert values(outcomes) == {n: n * n for n in range(6)}
    # 6 naps of 2 s in 3 processes take 4 s and start-up; one after the other they would take 12 s.
    assert time.monotonic() - started < 10
    assert all(2.0 <= outcome.seconds < 5 for outcome in outcomes.values())


def test_a_worker_is_replaced_after_its_share_of_tasks():
    """The grader's own training leaves memory behind in the process: no worker grows with the class."""
    outcomes = run_pool(ProcessPool(1, task_timeout=60, max_tasks_per_worker=2), fake_grading.worker_pid,
                        [Task(n, (n,)) for n in range(5)])
    pids = [outcomes[n].value for n in range(5)]
    assert pids[0] == pids[1] != pids[2] == pids[3] != pids[4]


def test_an_exception_is_returned_and_the_tasks_after_it_run():
    tasks = [Task("bad", ("fail",)), Task("x", ("x",)), Task("y", ("y",))]
    outcomes = run_pool(ProcessPool(1, task_timeout=60), fake_grading.echo_or_fail, tasks)
    bad = outcomes["bad"]
    assert isinstance(bad.error, ValueError) and str(bad.error) == "asked to fail"
    assert bad.failure is None and not bad.ok
    assert values(outcomes) == {"x": "x", "y": "y"}


def test_a_result_that_cannot_be_sent_back_is_an_error_of_its_task_only():
    pool = ProcessPool(1, task_timeout=60)
    outcomes = run_pool(pool, fake_grading.unpicklable_result, [Task("lock"), Task("lock again")])
    for outcome in outcomes.values():
        assert outcome.failure is None and "cannot be sent back" in str(outcome.error)


# ---------------------------------------------------------------------------------- dead workers
def test_a_process_that_dies_fails_only_its_own_task():
    # crash_if_marked ends its process on "CRASH:<code>": deaths and results share the processes.
    tasks = [Task(name, (name,)) for name in ("a", "CRASH:3", "c", "CRASH:4", "e", "f")]
    outcomes = run_pool(ProcessPool(2, task_timeout=60), fake_grading.crash_if_marked, tasks)
    assert {key: (o.failure, o.detail) for key, o in outcomes.items() if not o.ok} == {
        "CRASH:3": (DIED, "exit code 3"), "CRASH:4": (DIED, "exit code 4")}
    assert values(outcomes) == {"a": "a", "c": "c", "e": "e", "f": "f"}


def test_a_process_killed_while_sending_a_large_result_fails_only_its_own_task(tmp_path):
    # The case that breaks pools whose workers share one pipe and lock: killed half-way through
    # writing, a worker leaves a partial message and (there) a held lock behind.
    go, pid_file = tmp_path / "go", tmp_path / "pid"
    size = 64 * 1024 * 1024
    killed = []

    def kill_the_sender_mid_write(outcome: Outcome) -> None:
        if killed:
            return
        # The pool reads nothing while this runs, so the sender fills the pipe and blocks in write.
        sender = int(wait_for_file(pid_file))
        go.write_text("go")
        deadline = time.monotonic() + 60
        while not writing_at_least(sender, size):
            assert time.monotonic() < deadline, "the big result was not being sent after 60 s"
            time.sleep(0.02)
        os.kill(sender, signal.SIGKILL)
        killed.append(sender)

    # The small tasks' go files exist: "small" ends first, "after1" and "after2" wait for a process.
    for name in ("small", "after1", "after2"):
        (tmp_path / f"{name}.go").write_text("go")
    tasks = [Task("big", (str(go), str(pid_file), size))] + [
        Task(name, (str(tmp_path / f"{name}.go"), str(tmp_path / f"{name}.pid"), 10))
        for name in ("small", "after1", "after2")]
    outcomes = run_pool(ProcessPool(2, task_timeout=120), fake_grading.big_result_when, tasks,
                        kill_the_sender_mid_write)
    assert killed
    assert (outcomes["big"].failure, outcomes["big"].detail) == (DIED, f"exit code {-signal.SIGKILL}")
    assert values(outcomes) == {"small": b"x" * 10, "after1": b"x" * 10, "after2": b"x" * 10}


def writing_at_least(pid: int, size: int) -> bool:
    """Whether the process is blocked in a write() of `size` bytes or more (/proc/PID/syscall:
    number, then the arguments; write's third argument is the count)."""
    fields = Path(f"/proc/{pid}/syscall").read_text().split()
    return len(fields) >= 4 and fields[0] != "running" and int(fields[3], 16) >= size


# ---------------------------------------------------------------------------------- deadlines
def test_a_hanging_task_is_stopped_with_its_child_and_the_others_go_on(tmp_path):
    pid_file = tmp_path / "child.pid"
    tasks = [Task("hangs", (str(pid_file),)), Task("ok", (None,))]
    started = time.monotonic()
    outcomes = run_pool(ProcessPool(2, task_timeout=3), fake_grading.hang_unless_none, tasks)
    assert time.monotonic() - started < 60
    assert (outcomes["hangs"].failure, outcomes["hangs"].detail) == (TIMED_OUT, "3 s")
    assert 3 <= outcomes["hangs"].seconds < 30
    assert values(outcomes) == {"ok": "no hang"}
    child = int(pid_file.read_text())
    assert gone(child), "the hanging task's child (in its own session) outlived it"


def test_the_deadline_counts_from_the_start_not_from_the_queue():
    # One process, three naps of 2 s with a 3.5 s deadline: the third starts 4 s after it was queued.
    tasks = [Task(n, (2.0, n)) for n in range(3)]
    outcomes = run_pool(ProcessPool(1, task_timeout=3.5), fake_grading.nap, tasks)
    assert values(outcomes) == {0: 0, 1: 1, 2: 2}


def test_the_pool_leaves_no_process_behind():
    seen_during_run: list[psutil.Process] = []

    def note_pool_processes(outcome: Outcome) -> None:
        seen_during_run.extend(spawned_children())

    run_pool(ProcessPool(2, task_timeout=30), fake_grading.echo, [Task(n, (n,)) for n in range(4)],
             note_pool_processes)
    assert seen_during_run, "saw no pool process while the pool ran"
    assert not [p for p in seen_during_run if running(p)]


def spawned_children() -> list[psutil.Process]:
    """This process's children started by multiprocessing's spawn (not its resource tracker)."""
    return [p for p in psutil.Process().children() if running(p) and "spawn_main" in command_line(p)]


def command_line(process: psutil.Process) -> str:
    try:
        return " ".join(process.cmdline())
    except psutil.Error:
        return ""


CTRL_C_SCRIPT = """
import signal
import sys
sys.path.insert(0, {tests!r})
import fake_grading
from grader.pool import ProcessPool, Task

if __name__ == "__main__":
    # As in a terminal. A shell that runs the suite in the background (`pytest &`, a CI step)
    # starts it with SIGINT ignored, which every process it starts inherits: the pool would then
    # never see the Ctrl-C this test sends.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    pool = ProcessPool(2, task_timeout=600)
    pool.run(fake_grading.hang_unless_none, [Task("hangs", ({pid_file!r},)), Task("also", ({pid_file2!r},))],
             print)
"""


def test_ctrl_c_stops_the_pool_and_every_process_it_started(tmp_path):
    pid_files = tmp_path / "child1.pid", tmp_path / "child2.pid"
    script = tmp_path / "pool.py"
    script.write_text(CTRL_C_SCRIPT.format(tests=str(TESTS), pid_file=str(pid_files[0]),
                                           pid_file2=str(pid_files[1])))
    # Output to a file, not a pipe: reading a pipe to its end would also wait for every process
    # that inherited it (multiprocessing's resource tracker ends on its own, later), not for the pool.
    output = tmp_path / "stderr.txt"
    with output.open("w") as stderr_file:
        run = subprocess.Popen([sys.executable, str(script)], cwd=PROJECT, start_new_session=True,
                               stdout=subprocess.DEVNULL, stderr=stderr_file, text=True)
    children = [psutil.Process(int(wait_for_file(path))) for path in pid_files]
    # The pool's processes (not multiprocessing's resource tracker, which ends on its own later).
    workers = [p for p in psutil.Process(run.pid).children() if "spawn_main" in command_line(p)]
    assert len(workers) == 2
    os.killpg(run.pid, signal.SIGINT)   # what Ctrl-C in a terminal does: the whole foreground group
    run.wait(timeout=60)
    stderr = output.read_text()
    assert run.returncode != 0 and "KeyboardInterrupt" in stderr
    assert not [p for p in children if running(p)], "a child of a stopped task is still running"
    assert not [p for p in workers if running(p)], "a pool process is still running"


def running(process: psutil.Process) -> bool:
    """Running, and not a zombie (psutil also sees through a pid reused since)."""
    try:
        return process.is_running() and process.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


# ---------------------------------------------------------------------------------- Dask
def test_dask_gives_the_same_outcomes_as_the_process_pool():
    pytest.importorskip("distributed", reason="Dask is an optional extra: pip install 'cnn1-grader[dask]'")
    tasks = [Task("a", ("a",)), Task("b", ("b",)), Task("bad", ("fail",))]
    local = run_pool(ProcessPool(2, task_timeout=60), fake_grading.echo_or_fail, tasks)
    dask = run_pool(DaskPool("local:2", task_timeout=60, poll_seconds=0.1), fake_grading.echo_or_fail, tasks)
    for outcomes in (local, dask):
        assert values(outcomes) == {"a": "a", "b": "b"}
        assert isinstance(outcomes["bad"].error, ValueError)


def test_dask_gives_up_a_hanging_task_and_the_others_go_on():
    pytest.importorskip("distributed", reason="Dask is an optional extra: pip install 'cnn1-grader[dask]'")
    # A hang without a child process: Dask cannot stop a running task, only end its worker with the
    # cluster, and a child in its own session would outlive that.
    tasks = [Task("hangs", (3600, "never")), Task("ok", (0.1, "ok"))]
    outcomes = run_pool(DaskPool("local:2", task_timeout=3, poll_seconds=0.1), fake_grading.nap, tasks)
    assert (outcomes["hangs"].failure, outcomes["hangs"].detail) == (TIMED_OUT, "3 s")
    assert 3 <= outcomes["hangs"].seconds < 30
    assert values(outcomes) == {"ok": "ok"}


def test_a_dask_worker_that_dies_fails_its_task_as_died():
    pytest.importorskip("distributed", reason="Dask is an optional extra: pip install 'cnn1-grader[dask]'")
    import dask
    # No retry on another worker (3 by default): one death is enough to see how it is reported.
    with dask.config.set({"distributed.scheduler.allowed-failures": 0}):
        outcomes = run_pool(DaskPool("local:1", task_timeout=60, poll_seconds=0.1),
                            fake_grading.crash_if_marked, [Task("crash", ("CRASH:3",))])
    assert outcomes["crash"].failure == DIED and "died" in outcomes["crash"].detail


def test_an_unknown_dask_address_is_a_pool_error():
    pytest.importorskip("distributed", reason="Dask is an optional extra: pip install 'cnn1-grader[dask]'")
    with pytest.raises(PoolError, match="expected tcp://host:port or local:N"):
        DaskPool("http://nowhere", task_timeout=1).run(fake_grading.echo, [Task(1, (1,))], print)
