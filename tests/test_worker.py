"""grader/worker.py: limits, restarts past fatal steps, cleanup (slow: real worker processes)."""

import time
from pathlib import Path

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


ENDLESS_THREADS = """
import atexit, threading, time
threading.Thread(target=lambda: time.sleep(10**6), daemon=False).start()
atexit.register(lambda: time.sleep(10**6))
"""
EXIT_REPLACED = "import os\nos._exit = lambda status: None"


@pytest.mark.slow
@pytest.mark.parametrize("cells, stopped", [((ENDLESS_THREADS,), False), ((ENDLESS_THREADS, EXIT_REPLACED), True)],
                         ids=["threads-and-atexit", "os-exit-replaced"])
def test_a_finished_worker_ends_itself_and_is_stopped_only_when_the_submission_prevents_it(tmp_path, monkeypatch,
                                                                                         cells, stopped):
    import grader.grade as grade
    runs = []
    real_run_worker = grade.run_worker

    def recording_run_worker(*args, **kwargs):
        runs.append(real_run_worker(*args, **kwargs))
        return runs[-1]

    monkeypatch.setattr(grade, "run_worker", recording_run_worker)
    result = grade_submission(submission(tmp_path, PREPROCESS_DENSE, *cells, TO_ONE_HOT), GradeOptions(total_seconds=200))
    assert [(run.finished, run.attempts, run.stopped_after_done) for run in runs] == [(True, 1, stopped)]
    assert points(result, "preprocess_dense") == 5 and points(result, "to_one_hot") == 4


SQUARES_IN_A_POOL = """
import multiprocessing

def square(n):
    return n * n

with multiprocessing.get_context("fork").Pool(2) as pool:
    squares = pool.map(square, range(10))
assert squares == [n * n for n in range(10)], squares
"""


@pytest.mark.slow
def test_a_cell_can_map_its_own_function_over_a_multiprocessing_pool(tmp_path):
    """As in Jupyter: the pool's locks need a writable /dev/shm, and pickle finds `square` in __main__."""
    path = submission(tmp_path, PREPROCESS_DENSE, SQUARES_IN_A_POOL, TO_ONE_HOT)
    result = grade_submission(path, GradeOptions(total_seconds=200))
    assert not result.cell_errors, result.cell_errors
    assert points(result, "preprocess_dense") == 5 and points(result, "to_one_hot") == 4


THREADS_AND_COLLECTOR = """
import gc
import tensorflow as tf
import threadpoolctl
from numpy._core import multiarray
assert not multiarray._get_madvise_hugepage()
blas = [pool for pool in threadpoolctl.threadpool_info() if pool["internal_api"] == "openblas"]
assert blas and all(pool["num_threads"] == 1 for pool in blas), blas
assert tf.config.threading.get_intra_op_parallelism_threads() == 2
assert tf.config.threading.get_inter_op_parallelism_threads() == 1
assert gc.isenabled() and gc.get_freeze_count() > 100_000, (gc.isenabled(), gc.get_freeze_count())
import keras
assert keras.src.backend.tensorflow.trainer.TFEpochIterator.sliced_batches_installed
""" + PREPROCESS_DENSE


@pytest.mark.slow
def test_the_worker_runs_cells_in_the_process_environment_with_keras_imported_outside_the_collector(tmp_path):
    """protocol.PROCESS_ENVIRONMENT reaches the worker (one OpenBLAS thread, TensorFlow's pools, no huge
    pages for numpy's arrays), and the harness imported Keras with the collector paused, its objects
    frozen, the collector on again, and installed protocol.install_sliced_batches."""
    result = grade_submission(submission(tmp_path, THREADS_AND_COLLECTOR, TO_ONE_HOT), GradeOptions(total_seconds=200))
    assert not result.cell_errors, result.cell_errors
    assert points(result, "preprocess_dense") == 5 and points(result, "to_one_hot") == 4


RESERVE_ADDRESS_SPACE = """
import mmap, threading
reserved = mmap.mmap(-1, 3 * 2**30)  # address space, none of it touched: no memory
threads = [threading.Thread(target=lambda: None) for _ in range(20)]
for thread in threads:
    thread.start()
"""


@pytest.mark.slow
def test_address_space_reserved_beyond_the_memory_cap_but_never_touched_is_allowed(tmp_path):
    """TensorFlow reserves far more address space than memory (thread stacks, arenas): a worker held
    to its memory cap in address space aborted in honest notebooks when a thread could not start."""
    path = submission(tmp_path, PREPROCESS_DENSE, RESERVE_ADDRESS_SPACE, TO_ONE_HOT)
    result = grade_submission(path, GradeOptions(memory_mb=2048, total_seconds=200))
    assert not result.cell_errors, result.cell_errors
    assert points(result, "preprocess_dense") == 5 and points(result, "to_one_hot") == 4


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


# ------------------------------------------------------------------ memory cgroup
HYBRID_MOUNTINFO = """\
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
"""
HYBRID_CGROUP = "9:name=systemd:/\n8:pids:/\n4:memory:/batch/grader\n0::/\n"


def fake_v1_tree(tmp_path, mounted_ro=False):
    """A cgroup v1 hierarchy in tmp_path laid out as on the hybrid machine above."""
    mode = "ro" if mounted_ro else "rw"
    mountinfo = (f"35 31 0:32 / {tmp_path}/memory {mode},relatime - cgroup cgroup rw,memory\n"
                 f"39 31 0:36 / {tmp_path}/pids {mode},relatime - cgroup cgroup rw,pids\n")
    (tmp_path / "memory" / "batch" / "grader").mkdir(parents=True)
    (tmp_path / "pids").mkdir()
    return mountinfo


def test_cgroup_mounts_and_own_cgroups_are_read_from_proc():
    from grader.worker import cgroup_mounts, own_cgroups
    mounts = {m.point.name: m for m in cgroup_mounts(HYBRID_MOUNTINFO)}
    assert set(mounts) == {"memory", "pids", "systemd", "unified"}  # the tmpfs is no cgroup
    assert mounts["memory"].version == 1 and mounts["memory"].controllers == {"memory"}
    assert mounts["systemd"].controllers == set() and mounts["unified"].version == 2
    assert own_cgroups(HYBRID_CGROUP) == {"name=systemd": "/", "pids": "/", "memory": "/batch/grader", "": "/"}


def test_cgroup_folder_follows_a_mount_that_shows_a_lower_cgroup():
    """A container may see only its own part of the hierarchy, mounted at the usual place."""
    from grader.worker import CgroupMount, cgroup_folder
    lower = CgroupMount(1, Path("/sys/fs/cgroup/memory"), "/docker/abc", frozenset({"memory"}), True)
    assert cgroup_folder(lower, "/docker/abc/grader") == Path("/sys/fs/cgroup/memory/grader")
    assert cgroup_folder(lower, "/docker/abc") == Path("/sys/fs/cgroup/memory")
    whole = CgroupMount(1, Path("/sys/fs/cgroup/memory"), "/", frozenset({"memory"}), True)
    assert cgroup_folder(whole, "/batch/grader") == Path("/sys/fs/cgroup/memory/batch/grader")


def test_a_v1_worker_cgroup_is_made_under_the_graders_own_with_memory_and_process_caps(tmp_path):
    from grader.worker import make_worker_cgroup
    mountinfo = fake_v1_tree(tmp_path)
    (tmp_path / "memory" / "batch" / "grader").joinpath("memory.memsw.limit_in_bytes").touch()
    cgroup = make_worker_cgroup(512 * 2**20, 100, mountinfo, "8:pids:/\n4:memory:/batch/grader\n")
    assert cgroup is not None and cgroup.version == 1
    assert cgroup.memory.parent == tmp_path / "memory" / "batch" / "grader"
    assert cgroup.memory.name.startswith("cnn1-worker-")
    assert (cgroup.memory / "memory.limit_in_bytes").read_text() == str(512 * 2**20)
    assert cgroup.others == [tmp_path / "pids" / cgroup.memory.name]
    assert (cgroup.others[0] / "pids.max").read_text() == "100"
    assert cgroup.procs_files() == [cgroup.memory / "cgroup.procs", cgroup.others[0] / "cgroup.procs"]
    second = make_worker_cgroup(512 * 2**20, 100, mountinfo, "8:pids:/\n4:memory:/batch/grader\n")
    assert second.memory != cgroup.memory  # one per attempt, also in parallel gradings


def test_a_v2_worker_cgroup_hands_memory_and_pids_down_from_the_graders_cgroup(tmp_path):
    from grader.worker import make_worker_cgroup
    own = tmp_path / "grader"
    own.mkdir()
    (own / "cgroup.controllers").write_text("cpu memory pids\n")
    (own / "cgroup.subtree_control").write_text("\n")
    mountinfo = f"41 31 0:38 / {tmp_path} rw,relatime - cgroup2 cgroup2 rw\n"
    cgroup = make_worker_cgroup(2**30, 100, mountinfo, "0::/grader\n")
    assert cgroup is not None and cgroup.version == 2 and cgroup.memory.parent == own
    assert (own / "cgroup.subtree_control").read_text() == "+memory +pids"
    assert (cgroup.memory / "memory.max").read_text() == str(2**30)
    assert cgroup.procs_files() == [cgroup.memory / "cgroup.procs"]


def test_a_v2_worker_cgroup_goes_to_the_nearest_ancestor_that_hands_memory_down_when_the_graders_cannot(tmp_path):
    """A systemd session or service cgroup holds the grader itself, so the kernel refuses to enable
    controllers for its children; its slice has them enabled already."""
    from grader.worker import make_worker_cgroup
    slice_, scope = tmp_path / "user.slice", tmp_path / "user.slice" / "session-1.scope"
    scope.mkdir(parents=True)
    (slice_ / "cgroup.subtree_control").write_text("memory pids\n")
    (scope / "cgroup.controllers").write_text("memory pids\n")
    (scope / "cgroup.subtree_control").mkdir()  # stands for EBUSY: writing it fails
    mountinfo = f"41 31 0:38 / {tmp_path} rw,relatime - cgroup2 cgroup2 rw\n"
    cgroup = make_worker_cgroup(2**30, 100, mountinfo, "0::/user.slice/session-1.scope\n")
    assert cgroup is not None and cgroup.memory.parent == slice_
    (slice_ / "cgroup.subtree_control").write_text("\n")  # nothing above hands memory down: no cgroup
    assert make_worker_cgroup(2**30, 100, mountinfo, "0::/user.slice/session-1.scope\n") is None


def test_no_worker_cgroup_where_none_can_be_made(tmp_path):
    from grader.worker import make_worker_cgroup
    assert make_worker_cgroup(2**30, 100, fake_v1_tree(tmp_path, mounted_ro=True), HYBRID_CGROUP) is None
    assert make_worker_cgroup(2**30, 100, "", HYBRID_CGROUP) is None  # no cgroupfs at all
    unified_without_memory = tmp_path / "unified"
    unified_without_memory.mkdir()
    (unified_without_memory / "cgroup.controllers").write_text("hugetlb\n")
    mountinfo = f"41 31 0:38 / {unified_without_memory} rw,relatime - cgroup2 cgroup2 rw\n"
    assert make_worker_cgroup(2**30, 100, mountinfo, "0::/\n") is None
    blocked = tmp_path / "v1-blocked"  # the grader's memory cgroup is not a folder we can write in
    mountinfo = f"35 31 0:32 / {blocked} rw,relatime - cgroup cgroup rw,memory\n"
    assert make_worker_cgroup(2**30, 100, mountinfo, "4:memory:/gone\n") is None


def test_oom_kills_and_peak_are_read_from_either_version(tmp_path):
    from grader.worker import WorkerCgroup
    v1 = WorkerCgroup(1, tmp_path / "v1")
    v1.memory.mkdir()
    (v1.memory / "memory.oom_control").write_text("oom_kill_disable 0\nunder_oom 0\noom_kill 2\n")
    (v1.memory / "memory.max_usage_in_bytes").write_text("4294967296\n")
    assert v1.oom_kills() == 2 and v1.peak_bytes() == 2**32
    v2 = WorkerCgroup(2, tmp_path / "v2")
    v2.memory.mkdir()
    (v2.memory / "memory.events").write_text("low 0\nhigh 0\nmax 7\noom 1\noom_kill 1\noom_group_kill 0\n")
    assert v2.oom_kills() == 1 and v2.peak_bytes() is None  # memory.peak is new in Linux 5.19


def test_the_worker_joins_its_cgroups_before_anything_else_runs(tmp_path):
    import subprocess

    from grader.worker import WorkerCgroup, in_cgroup
    assert in_cgroup(["prlimit", "--", "python"], None) == ["prlimit", "--", "python"]
    cgroup = WorkerCgroup(1, tmp_path / "memory", [tmp_path / "pids"])
    for folder in cgroup.folders:
        folder.mkdir()
    command = in_cgroup(["sh", "-c", "echo $$"], cgroup)
    assert command[0] == "sh" and command[-3:] == ["sh", "-c", "echo $$"]
    pid = subprocess.run(command, capture_output=True, text=True, check=True).stdout.strip()
    assert [p.read_text().strip() for p in cgroup.procs_files()] == [pid, pid]  # exec keeps the pid
    (tmp_path / "pids" / "cgroup.procs").unlink()
    (tmp_path / "pids").rmdir()
    refused = subprocess.run(command, capture_output=True, text=True)
    assert refused.returncode == 125 and not refused.stdout  # never runs outside its cgroups


def real_cgroup(memory_bytes, pids=64):
    from grader.worker import make_worker_cgroup
    cgroup = make_worker_cgroup(memory_bytes, pids)
    if cgroup is None:
        pytest.skip("no memory cgroup can be made here (not root, or a read-only cgroupfs)")
    return cgroup


MEMFD_FILL = """
import os
held = []
for number in range(64):
    held.append(os.memfd_create(f"fill-{number}"))
    os.write(held[-1], b"\\1" * (16 * 2**20))
print("held", len(held) * 16, "MB")
"""


def test_memory_in_memfds_is_capped_by_the_cgroup_and_counted_as_an_oom_kill():
    """Memory no process maps: invisible to prlimit --as and to the resident-memory monitor."""
    import subprocess
    import sys

    from grader.worker import in_cgroup
    cgroup = real_cgroup(128 * 2**20)
    try:
        done = subprocess.run(in_cgroup([sys.executable, "-I", "-c", MEMFD_FILL], cgroup),
                              capture_output=True, text=True, timeout=60)
        assert done.returncode == -9 and "held" not in done.stdout
        assert cgroup.oom_kills() >= 1
        assert 100 * 2**20 < cgroup.peak_bytes() <= 128 * 2**20
    finally:
        cgroup.remove()
    assert not any(folder.exists() for folder in cgroup.folders)


FORK_40 = """
import os, time
for number in range(40):
    try:
        if os.fork() == 0:
            os.close(1), os.close(2)  # the test reads the parent's output to its end
            time.sleep(300)
            os._exit(0)
    except OSError:
        print("refused after", number)
        break
"""


def test_a_cgroup_caps_processes_and_is_removed_with_whatever_is_left_in_it():
    import subprocess
    import sys

    from grader.worker import in_cgroup
    cgroup = real_cgroup(256 * 2**20, pids=20)
    try:
        bomb = subprocess.run(in_cgroup([sys.executable, "-I", "-c", FORK_40], cgroup),
                              capture_output=True, text=True, timeout=60)
        assert bomb.stdout.startswith("refused after ") and int(bomb.stdout.split()[-1]) < 20
        stray = subprocess.Popen(in_cgroup(["sleep", "300"], cgroup))
        time.sleep(0.5)
        assert stray.pid in cgroup.members()
    finally:
        cgroup.remove()
    assert stray.wait(timeout=10) == -9
    assert not any(folder.exists() for folder in cgroup.folders)


# ------------------------------------------------------------------ no user namespaces
APPLY_FILTER_AND_TRY = """
import ctypes, os, subprocess, sys, threading
libc = ctypes.CDLL(None, use_errno=True)
program = sys.stdin.buffer.read()
buffer = ctypes.create_string_buffer(program)
class Program(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]
prog = Program(len(program) // 8, ctypes.addressof(buffer))
assert libc.prctl(38, 1, 0, 0, 0) == 0                          # PR_SET_NO_NEW_PRIVS
assert libc.prctl(22, 2, ctypes.byref(prog), 0, 0) == 0         # PR_SET_SECCOMP, filter
def result(code):
    return 0 if code == 0 else ctypes.get_errno()
seen = {"newuser": result(libc.unshare(0x10000000)),
        "newuser_newns": result(libc.unshare(0x10000000 | 0x00020000)),
        "newuts": result(libc.unshare(0x04000000)),              # no user namespace: the filter lets it be
        "clone3": result(libc.syscall(435, 0, 0))}
thread = threading.Thread(target=lambda: None)
thread.start(); thread.join()                                     # glibc falls back from clone3 to clone
seen["subprocess"] = subprocess.run(["true"]).returncode
pid = os.fork()
if pid == 0:
    os._exit(7)
seen["fork"] = os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])
print(seen)
"""


def test_the_filter_refuses_user_namespaces_and_lets_threads_processes_and_other_namespaces_be():
    import ast
    import errno
    import subprocess
    import sys

    from grader.worker import userns_filter
    program = userns_filter()
    if program is None:
        pytest.skip("no seccomp filter for this machine's architecture")
    assert len(program) % 8 == 0 and len(program) // 8 < 32
    done = subprocess.run([sys.executable, "-I", "-c", APPLY_FILTER_AND_TRY], input=program,
                          capture_output=True, timeout=60)
    seen = ast.literal_eval(done.stdout.decode().strip())
    assert seen["newuser"] == errno.EPERM and seen["newuser_newns"] == errno.EPERM
    assert seen["clone3"] == errno.ENOSYS
    assert seen["subprocess"] == 0 and seen["fork"] == 7
    import os
    assert seen["newuts"] == (0 if os.geteuid() == 0 else errno.EPERM)


def test_the_filter_goes_to_bubblewrap_on_both_paths(tmp_path, monkeypatch):
    import os

    from grader import worker
    path = submission(tmp_path, "x = 1")
    job = worker.JobFolder(path)
    try:
        as_root = worker.worker_command(job, worker.Limits(1, 1, 1, 512), True, [], seccomp_fd=9)
        monkeypatch.setattr(os, "geteuid", lambda: 1000)
        as_user = worker.worker_command(job, worker.Limits(1, 1, 1, 512), True, [], seccomp_fd=9)
        plain = worker.worker_command(job, worker.Limits(1, 1, 1, 512), False, [], seccomp_fd=9)
    finally:
        job.remove()
    for command in (as_root, as_user):
        sandbox = command[:command.index("--", command.index("bwrap"))]
        assert sandbox[sandbox.index("--seccomp") + 1] == "9"
    assert "--unshare-all" in as_user and "--unshare-user" not in as_root  # root: no user namespace
    assert "--seccomp" not in plain


USERNS_ATTEMPT = ["sh", "-c", "unshare -Urm true; echo rc=$?"]


@pytest.mark.skipif(not bwrap_works(), reason="bubblewrap cannot make namespaces here (install.sh installs it)")
@pytest.mark.parametrize("path", ["root", "user"])
def test_no_user_namespace_inside_the_sandbox(tmp_path, monkeypatch, path):
    """As root (bubblewrap without a user namespace, then setpriv) and as an ordinary user
    (bubblewrap's own user namespace, --unshare-all): `unshare -U` fails inside."""
    import os
    import subprocess

    from grader import worker
    if os.geteuid() != 0 and path == "root":
        pytest.skip("the root path needs root")
    program = worker.userns_filter()
    if program is None:
        pytest.skip("no seccomp filter for this machine's architecture")
    job = worker.JobFolder(submission(tmp_path, "x = 1"))
    fd = worker.sealed_memfd(program, "test-filter")
    try:
        job.hand_over()
        as_user = []
        if path == "user" and os.geteuid() == 0:  # an ordinary user's grader, played by nobody
            monkeypatch.setattr(os, "geteuid", lambda: worker.WORKER_UID)
            monkeypatch.setattr(worker, "python_paths", lambda: [])  # root's Python is not nobody's
            as_user = ["setpriv", f"--reuid={worker.WORKER_UID}", f"--regid={worker.WORKER_UID}", "--clear-groups"]
        command = worker.worker_command(job, worker.Limits(5, 5, 30, 2048), True, [], seccomp_fd=fd)
        monkeypatch.undo()
        command = [*as_user, *command[:command.index("--", command.index("bwrap")) + 1], *USERNS_ATTEMPT]
        done = subprocess.run(command, capture_output=True, text=True, timeout=60, pass_fds=(fd,), cwd=job.work)
    finally:
        os.close(fd)
        job.remove()
    assert "rc=1" in done.stdout and "Operation not permitted" in done.stderr, (done.stdout, done.stderr)


def test_measures_report_the_cgroup_and_the_user_namespace_filter():
    from grader.worker import userns_blocked, userns_filter
    assert isolation_measures(True, memory_cgroup=True)["memory_cgroup"]
    assert not isolation_measures(True)["memory_cgroup"]
    assert isolation_measures(True)["no_user_namespaces"] == userns_blocked()
    if bwrap_works() and userns_filter() is not None:
        assert userns_blocked()  # the probe starts bubblewrap with the filter
    assert not isolation_measures(False)["no_user_namespaces"]  # only bubblewrap applies the filter


@pytest.mark.slow
def test_without_a_cgroup_the_worker_runs_under_the_old_measures_and_says_so(tmp_path, monkeypatch):
    from grader import worker
    monkeypatch.setattr(worker, "make_worker_cgroup", lambda *args, **kwargs: None)
    result = grade_submission(submission(tmp_path, PREPROCESS_DENSE, TO_ONE_HOT), GradeOptions(total_seconds=200))
    assert points(result, "preprocess_dense") == 5 and points(result, "to_one_hot") == 4
    assert result.isolation["memory_cap"] and not result.isolation["memory_cgroup"]
