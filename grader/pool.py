"""The one process pool of the commands that grade many submissions (`grade batch`, `grade validate`).

`ProcessPool.run(fn, tasks, on_outcome)` calls `fn(*task.args)` for every task in spawned worker
processes and hands each `Outcome` to `on_outcome` the moment it is known, on the calling thread:

  * a worker process that dies (OOM killer, os._exit, a segfault in TensorFlow) fails only the task
    it was running (`failure == DIED`); the others go on and a new process takes its place;
  * a task past its deadline is stopped with all the processes it started (`failure == TIMED_OUT`);
    the deadline counts from when the task starts in its worker, not from when it was queued;
  * an exception raised by `fn` is returned in `Outcome.error`, the worker stays;
  * an exception in `on_outcome` or Ctrl-C (KeyboardInterrupt) stops the pool: the workers and
    everything they started are killed before `run` re-raises.

Each worker has a pipe of its own and runs one task at a time, which the pool gave it: the pool knows
which task a process runs without asking it, and nothing is shared between workers, so a process
killed at any instant (even half-way through sending its result) cannot block or corrupt the others.
That is why this is not concurrent.futures' ProcessPoolExecutor (one dead process breaks the whole
pool: every task in flight fails with BrokenProcessPool) nor a pool whose workers share one task
pipe and lock (a worker killed while holding the lock or writing its result stalls or breaks them all).

`DaskPool` runs the same `fn` on a Dask cluster behind the same `run` interface; what Dask cannot do
the same way is said in its docstring.
"""

from __future__ import annotations

import itertools
import logging
import pickle
import queue
import signal
import time
from collections import deque
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass
from multiprocessing import get_context
from multiprocessing.connection import Connection, wait
from typing import Any, Protocol

import psutil

DIED = "died"
TIMED_OUT = "timeout"

POLL_SECONDS = 0.5
STARTUP_ALLOWANCE_SECONDS = 300.0   # spawning a process and importing TensorFlow on a busy machine
STOP_SECONDS = 5.0                  # how long an idle worker gets to exit when the pool closes
# A worker process is replaced after this many tasks: the grader trains models in its own process
# (grader/training.py), and TensorFlow keeps about 10 MB of every model trained in graph mode for the
# life of the process, so a long-lived worker would grow with the class.
MAX_TASKS_PER_WORKER = 20
WORKER_NAME = "grader-pool-worker"
_STARTED = b"started:"              # + the worker's clock when the task starts; the deadline counts from it


class PoolError(Exception):
    """The pool cannot run at all (Dask missing, scheduler unreachable); str() says what to do."""


@dataclass(frozen=True)
class Task:
    """One call of the pool's function: `key` names it in its Outcome, `args` are passed to it."""

    key: Hashable
    args: tuple = ()


@dataclass(frozen=True)
class Outcome:
    """How one task ended: a value, an exception `fn` raised, or a failure of its process."""

    key: Hashable
    value: Any = None
    error: BaseException | None = None
    failure: str | None = None        # DIED or TIMED_OUT: the task never returned
    detail: str = ""                  # for a failure: exit code, or the deadline that passed
    seconds: float = 0.0              # from the task's start in its worker to its outcome

    @property
    def ok(self) -> bool:
        return self.error is None and self.failure is None


OutcomeHandler = Callable[[Outcome], None]


class Pool(Protocol):
    """What the grading commands need of a pool (ProcessPool or DaskPool)."""

    def run(self, fn: Callable, tasks: Iterable[Task], on_outcome: OutcomeHandler) -> None: ...


def task_timeout_for(total_seconds: float) -> float:
    """The pool's bound for one grading whose own limit is `total_seconds`: the grading enforces
    that limit itself; the pool's bound, well past it, only stops a grading process that hangs."""
    return 3 * total_seconds + 300


# ---------------------------------------------------------------------------------- local processes
class ProcessPool:
    """Up to `jobs` spawned worker processes, each with a pipe of its own (see the module docstring)."""

    def __init__(self, jobs: int, task_timeout: float, *,
                 startup_seconds: float = STARTUP_ALLOWANCE_SECONDS,
                 poll_seconds: float = POLL_SECONDS, max_tasks_per_worker: int = MAX_TASKS_PER_WORKER) -> None:
        self.jobs = max(1, jobs)
        self.max_tasks_per_worker = max(1, max_tasks_per_worker)
        self.task_timeout = task_timeout
        self.startup_seconds = startup_seconds
        self.poll_seconds = poll_seconds
        # spawn, never fork: the grading function imports TensorFlow, whose threads do not survive fork.
        self.context = get_context("spawn")

    def run(self, fn: Callable, tasks: Iterable[Task], on_outcome: OutcomeHandler) -> None:
        """Run every task; call `on_outcome` for each as it ends (see the module docstring)."""
        pending: deque[Task] = deque(tasks)
        workers: list[_Worker] = []
        try:
            while pending or any(worker.busy for worker in workers):
                self._dispatch(fn, pending, workers)
                for outcome in self._collect(workers):
                    on_outcome(outcome)
        finally:
            for worker in workers:
                worker.close()

    def _dispatch(self, fn: Callable, pending: deque[Task], workers: list[_Worker]) -> None:
        """Give queued tasks to idle workers, starting workers up to `jobs`."""
        workers[:] = [worker for worker in workers if worker.usable(self.max_tasks_per_worker)]
        while pending:
            idle = next((worker for worker in workers if not worker.busy), None)
            if idle is None:
                if len(workers) >= self.jobs:
                    return
                idle = _Worker(self.context)
                workers.append(idle)
            task = pending.popleft()
            if not idle.assign(fn, task, self.task_timeout + self.startup_seconds):
                # The process ended while idle: not this task's fault, it goes to another process.
                pending.appendleft(task)
                workers.remove(idle)
                idle.close()
                if idle.fresh:
                    raise PoolError(f"pool worker processes end as soon as they start ({idle.ended})")

    def _collect(self, workers: list[_Worker]) -> list[Outcome]:
        """Wait up to one poll for answers or deaths; return the outcomes of tasks that ended."""
        busy = [worker for worker in workers if worker.busy]
        wait([handle for worker in busy for handle in (worker.connection, worker.process.sentinel)],
             timeout=self.poll_seconds)
        outcomes = []
        for worker in busy:
            outcome = worker.poll(self.task_timeout) or worker.stop_if_overdue(self.task_timeout)
            if outcome is not None:
                outcomes.append(outcome)
        return outcomes


class _Worker:
    """One worker process, its end of the pipe, and the task it runs (None when idle)."""

    def __init__(self, context) -> None:
        ours, theirs = context.Pipe(duplex=True)
        self.process = context.Process(target=_serve, args=(theirs,), name=WORKER_NAME)
        self.process.start()
        theirs.close()   # else a dead worker's pipe would never report EOF to us
        # Kills go through psutil handles, which refuse to signal a pid reused by another process.
        self.handle = psutil.Process(self.process.pid)
        self.connection: Connection = ours
        self.task: Task | None = None
        self.deadline = 0.0
        self.started_at: float | None = None
        self.descendants: list[psutil.Process] = []
        self.fresh = True             # has not taken a task yet
        self.tasks_taken = 0
        self.ended = ""               # how the process ended, once closed

    @property
    def busy(self) -> bool:
        return self.task is not None

    def usable(self, max_tasks: int) -> bool:
        """An idle worker whose process has ended, or that has taken `max_tasks` tasks, is dropped
        (and a new one started if needed)."""
        if self.busy or (self.process.is_alive() and self.tasks_taken < max_tasks):
            return True
        self.close()
        return False

    def assign(self, fn: Callable, task: Task, first_deadline: float) -> bool:
        """Send the task; False if the process has ended (then the task was not started)."""
        message = pickle.dumps((fn, task.args))
        try:
            # Small messages (a path and options): they fit the pipe's buffer, so this never blocks.
            self.connection.send_bytes(message)
        except OSError:
            return False
        self.task, self.started_at, self.fresh = task, None, False
        self.tasks_taken += 1
        # Until the start is seen, the bound includes starting the process and importing `fn`.
        self.deadline = time.monotonic() + first_deadline
        return True

    def poll(self, task_timeout: float) -> Outcome | None:
        """Read what the worker sent: note the start, return the outcome once there is one."""
        # Asked before reading: what a process sent before it ended is then read below, never lost.
        alive = self.process.is_alive()
        while self._readable():
            try:
                message = self.connection.recv_bytes()
            except (EOFError, OSError):
                return self._died()
            if message.startswith(_STARTED):
                # The worker's clock, not when we read it: time.monotonic() is one clock for all
                # processes of this machine, and we may read late (busy storing another result).
                self.started_at = float(message.removeprefix(_STARTED))
                self.deadline = self.started_at + task_timeout
                continue
            return self._finish(message)
        if not alive:
            return self._died()
        self.descendants = _descendants(self.handle)
        return None

    def _readable(self) -> bool:
        """Whether a message (or the end of the pipe) is waiting."""
        try:
            return self.connection.poll(0)
        except (EOFError, OSError):
            return True   # recv_bytes then reports the end

    def _finish(self, message: bytes) -> Outcome:
        """The outcome the worker sent; the worker is idle again."""
        task, seconds = self._release()
        try:
            ok, payload = pickle.loads(message)
        except Exception as error:  # an exception class that cannot be rebuilt here, say
            return Outcome(task.key, error=RuntimeError(
                f"the worker's answer could not be read: {type(error).__name__}: {error}"), seconds=seconds)
        if ok:
            return Outcome(task.key, value=payload, seconds=seconds)
        return Outcome(task.key, error=payload, seconds=seconds)

    def _died(self) -> Outcome:
        """The process ended (or closed its pipe) without an answer: its task failed with DIED."""
        self.process.join(timeout=STOP_SECONDS)
        self._kill()   # it closed its pipe but did not end; or its orphans, when it did
        task, seconds = self._release()
        return Outcome(task.key, failure=DIED, detail=f"exit code {self.process.exitcode}", seconds=seconds)

    def stop_if_overdue(self, task_timeout: float) -> Outcome | None:
        """Past its deadline, the task is stopped with every process it started."""
        if not self.busy or time.monotonic() <= self.deadline:
            return None
        self._kill()
        task, seconds = self._release()
        return Outcome(task.key, failure=TIMED_OUT, detail=f"{task_timeout:.0f} s", seconds=seconds)

    def _kill(self) -> None:
        """Kill the process, its descendants, and those last seen of a process already ended (whose
        orphans no longer show as its descendants)."""
        for root in [self.handle, *self.descendants]:
            kill_process_tree(root)
        self.process.join(timeout=STOP_SECONDS)
        if self.process.is_alive():   # psutil could not signal it: multiprocessing's own SIGKILL
            self.process.kill()
            self.process.join()

    def _release(self) -> tuple[Task, float]:
        """Forget the task (the worker is idle); return it and the seconds since its start."""
        task, self.task, self.descendants = self.task, None, []
        seconds = time.monotonic() - self.started_at if self.started_at is not None else 0.0
        return task, seconds

    def close(self) -> None:
        """End the process: a busy one at once with its descendants, an idle one when it reads None."""
        if not self.busy:
            try:
                self.connection.send_bytes(pickle.dumps(None))
            except OSError:
                pass
            self.process.join(timeout=STOP_SECONDS)
        self._kill()
        self.ended = f"exit code {self.process.exitcode}"
        self.connection.close()
        self.process.close()


def _serve(connection: Connection) -> None:
    """The worker process: run the tasks it is sent, one at a time, until None or the pipe closes."""
    # Ctrl-C in a terminal reaches the whole process group; stopping the pool is the parent's
    # decision (it kills the workers). A no-op handler rather than SIG_IGN: an ignored signal would
    # stay ignored in the programs the task starts, a handler is reset when they exec.
    signal.signal(signal.SIGINT, lambda *_: None)
    while True:
        try:
            message = connection.recv_bytes()
        except (EOFError, OSError):
            return   # the pool is gone
        reply = _run_one(connection, message)
        if reply is None:
            return
        _reply(connection, reply)


def _run_one(connection: Connection, message: bytes) -> tuple[bool, Any] | None:
    """Unpickle and run one task (reporting its start); (ok, value or exception), None to stop."""
    try:
        call = pickle.loads(message)   # imports the function's module: before the start, not after
    except Exception as error:
        _report_start(connection)
        return False, RuntimeError(f"the task could not be read in its worker: {type(error).__name__}: {error}")
    if call is None:
        return None
    fn, args = call
    _report_start(connection)
    try:
        return True, fn(*args)
    except BaseException as error:  # SystemExit too: the task's own end, not the worker's
        return False, error


def _report_start(connection: Connection) -> None:
    """Tell the pool the task starts now, by this process's clock."""
    connection.send_bytes(_STARTED + repr(time.monotonic()).encode())


def _reply(connection: Connection, reply: tuple[bool, Any]) -> None:
    """Send the outcome; one that does not pickle becomes an error (pickling happens before writing,
    so a failed attempt leaves nothing in the pipe)."""
    try:
        connection.send_bytes(pickle.dumps(reply))
    except Exception as error:
        what = "result" if reply[0] else f"exception ({type(reply[1]).__name__}: {reply[1]})"
        connection.send_bytes(pickle.dumps((False, RuntimeError(
            f"the task's {what} cannot be sent back: {type(error).__name__}: {error}"))))


def kill_process_tree(root: psutil.Process) -> None:
    """SIGKILL a process and all its descendants.

    The sandboxed workers a grading starts run in sessions of their own, so they would outlive a
    killed grading process and keep a core busy. Every process is stopped (SIGSTOP) before the next
    generation is listed, so none can start a child between being listed and being killed (a
    grading cannot replace its killed sandbox with a new one).
    """
    frozen = generation = _freeze([root])
    while generation:
        generation = _freeze([child for process in generation for child in _children(process)])
        frozen = frozen + generation
    for process in frozen:
        try:
            process.kill()
        except psutil.Error:
            pass


def _freeze(processes: list[psutil.Process]) -> list[psutil.Process]:
    """SIGSTOP each process; return those still there (psutil refuses a pid reused meanwhile)."""
    frozen = []
    for process in processes:
        try:
            process.suspend()
        except psutil.Error:
            continue
        frozen.append(process)
    return frozen


def _children(process: psutil.Process) -> list[psutil.Process]:
    """Its children now ([] when it is gone)."""
    try:
        return process.children()
    except psutil.Error:
        return []


def _descendants(process: psutil.Process) -> list[psutil.Process]:
    """Its descendants now ([] when it is gone)."""
    try:
        return process.children(recursive=True)
    except psutil.Error:
        return []


# ---------------------------------------------------------------------------------- Dask
class DaskPool:
    """The same `run` on a Dask cluster: each task is one Dask task.

    `address` is "tcp://host:port" (or tls://, ucx://, inproc://) of a scheduler, or "local:N" for a
    local cluster of N worker processes. Outcomes are the same as ProcessPool's, with two limits
    Dask sets: a task whose worker process dies is retried by Dask on another worker
    (`distributed.scheduler.allowed-failures`, 3 by default) before it fails with DIED; and a task
    past its deadline is given up (TIMED_OUT, the batch goes on) but Dask cannot stop a running
    task, so its worker thread stays busy until the task ends or the cluster closes. The deadline
    counts from the task's start, which each task reports as a Dask event.
    """

    def __init__(self, address: str, task_timeout: float, *,
                 startup_seconds: float = STARTUP_ALLOWANCE_SECONDS,
                 poll_seconds: float = POLL_SECONDS) -> None:
        self.address = address
        self.task_timeout = task_timeout
        self.startup_seconds = startup_seconds
        self.poll_seconds = poll_seconds
        self.topic = f"grader-pool-started-{id(self)}-{time.monotonic_ns()}"

    def run(self, fn: Callable, tasks: Iterable[Task], on_outcome: OutcomeHandler) -> None:
        """Run every task on the cluster; call `on_outcome` for each as it ends."""
        distributed = _import_distributed()
        client, cluster = _dask_client(distributed, self.address)
        started: queue.SimpleQueue = queue.SimpleQueue()
        try:
            client.subscribe_topic(self.topic, lambda event: started.put((time.monotonic(), event[1])))
            self._run(client, distributed, fn, list(tasks), on_outcome, started)
        finally:
            client.close()
            if cluster is not None:
                cluster.close()

    def _run(self, client, distributed, fn: Callable, tasks: list[Task], on_outcome: OutcomeHandler,
             started: queue.SimpleQueue) -> None:
        """Submit every task, then hand on outcomes as tasks end or pass their deadlines."""
        tokens = itertools.count()
        running: dict[int, _DaskRunning] = {}
        for task in tasks:
            token = next(tokens)
            future = client.submit(_dask_task, fn, self.topic, token, *task.args, pure=False)
            running[token] = _DaskRunning(task, future)
        # Queued tasks wait for a free thread: until their start is seen only the overall bound
        # applies, which grows with the queue ahead of them.
        threads = max(1, sum(client.nthreads().values()))
        queued_bound = self.startup_seconds + self.task_timeout * (1 + len(tasks) / threads)
        submitted = time.monotonic()
        while running:
            time.sleep(self.poll_seconds)
            self._note_starts(started, running)
            for token, entry in list(running.items()):
                outcome = self._outcome(distributed, entry, submitted + queued_bound)
                if outcome is not None:
                    del running[token]
                    entry.future.release()
                    on_outcome(outcome)

    def _note_starts(self, started: queue.SimpleQueue, running: dict[int, _DaskRunning]) -> None:
        """A task (re)started on a worker: its deadline counts from now (Dask retries restart it)."""
        while True:
            try:
                seen_at, token = started.get_nowait()
            except queue.Empty:
                return
            entry = running.get(token)
            if entry is not None:
                entry.started_at = seen_at

    def _outcome(self, distributed, entry: _DaskRunning, queued_deadline: float) -> Outcome | None:
        """The task's outcome once it is done or past its deadline (then given up), else None."""
        seconds = time.monotonic() - entry.started_at if entry.started_at is not None else 0.0
        if entry.future.done():
            error = entry.future.exception()
            if error is None:
                return Outcome(entry.task.key, value=entry.future.result(), seconds=seconds)
            if isinstance(error, distributed.KilledWorker):
                return Outcome(entry.task.key, failure=DIED, detail=str(error), seconds=seconds)
            return Outcome(entry.task.key, error=error, seconds=seconds)
        deadline = (entry.started_at + self.task_timeout if entry.started_at is not None
                    else queued_deadline)
        if time.monotonic() > deadline:
            entry.future.cancel()
            return Outcome(entry.task.key, failure=TIMED_OUT, detail=f"{self.task_timeout:.0f} s",
                           seconds=seconds)
        return None


@dataclass
class _DaskRunning:
    """A task submitted to Dask, and when it was last seen to start (None: not yet)."""

    task: Task
    future: Any
    started_at: float | None = None


def _dask_task(fn: Callable, topic: str, token: int, *args: Any) -> Any:
    """Runs on a Dask worker: report the start (the deadline counts from here), then run `fn`."""
    from distributed import get_worker
    get_worker().log_event(topic, token)
    return fn(*args)


def _import_distributed():
    """Dask's `distributed`, or a PoolError saying how to install it."""
    try:
        import distributed
    except ImportError:
        raise PoolError("--scheduler needs Dask, which is not installed: "
                        "pip install 'cnn1-grader[dask]'") from None
    return distributed


def _dask_client(distributed, address: str):
    """A client of the scheduler at `address`, and the local cluster it owns (or None)."""
    if address.startswith("local:"):
        try:
            workers = int(address.split(":", 1)[1])
        except ValueError:
            raise PoolError(f"{address!r}: expected local:N with N worker processes") from None
        # No Dask memory limit: the grading caps its own memory, and Dask would otherwise restart a
        # worker in the middle of a TensorFlow run.
        cluster = distributed.LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                           memory_limit=0, dashboard_address=None,
                                           silence_logs=logging.ERROR)
        return distributed.Client(cluster), cluster
    if not address.startswith(("tcp://", "tls://", "ucx://", "inproc://")):
        raise PoolError(f"{address!r}: expected tcp://host:port or local:N")
    try:
        return distributed.Client(address, timeout="30s"), None
    except OSError as exc:
        raise PoolError(f"cannot reach the Dask scheduler {address}: {exc}") from None
