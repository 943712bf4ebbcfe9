"""Run the submission in a worker process, isolated, under limits; the grader's side of it.

The worker is `harness.py` started as a separate Python process, inside bubblewrap when it works
here (read-only file system, no network, own PID namespace, grader files and data hidden, an
unprivileged user when the grader is root), else as a plain child process in its own session.
Either way: address-space and file-size limits (prlimit), a memory monitor over the whole process
tree, a cap on what it writes to its scratch folders, wall-clock limits per step and per submission,
bounded captured output, and every process the submission started killed afterwards. Where the
machine allows, each attempt of the worker also runs in a memory cgroup of its own, which caps its
processes and its files in memory (page cache, memfd, shared memory, tmpfs) as a whole; inside
bubblewrap a seccomp filter keeps it from making user namespaces (its own mounts, its own tmpfs).

A step that kills or hangs the worker (os._exit, an infinite loop that swallows the timeout) is
recorded and skipped, and the worker is started again for the remaining steps, so one broken cell
or function costs only what depends on it.
"""

from __future__ import annotations

import ctypes
import errno
import fcntl
import functools
import json
import os
import platform
import secrets
import shutil
import stat
import struct
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import psutil

from grader import protocol

HARNESS = Path(__file__).with_name("harness.py")
EXPORT = Path(__file__).with_name("export.py")
NOTEBOOK_TRACE = Path(__file__).with_name("notebook_trace.py")
PROTOCOL = Path(protocol.__file__)
WORKER_UID = 65534          # "nobody": owns nothing of the grader's
OUTPUT_TAIL_BYTES = 64 * 1024
GRACE_SECONDS = 10.0        # a step that swallows its StepTimeout is killed this much later
MAX_ATTEMPTS = 4
SCRATCH_FILE_LIMIT = 512 * 1024 * 1024  # largest file the worker may write
SCRATCH_DISK_LIMIT = 1024 * 1024 * 1024  # all of work/ and out/ together (on the host's disk)
SCRATCH_ENTRIES_LIMIT = 100_000          # files and folders in work/ and out/
SANDBOX_TMP_BYTES = 256 * 1024 * 1024    # the sandbox's own /tmp, and /dev/shm (memory the monitor does not see)
JOURNAL_TAIL_BYTES = 1024 * 1024         # how much of the end of the journal the grader reads
EXIT_GRACE_SECONDS = 5.0    # a worker that reported "done" but does not exit is killed this much later
CGROUP_PIDS_LIMIT = 1024    # processes and threads of one worker (TensorFlow's pools included)
CGROUP_REMOVE_SECONDS = 5.0  # how long to wait for killed members before giving up on a cgroup
# prlimit --as caps address space, not memory: TensorFlow reserves far more than it touches (8 MB of
# stack per thread, malloc arenas, its own mappings), and a thread it cannot start aborts the worker
# (pthread_create fails with EAGAIN, TensorFlow's CHECK kills the process). The memory cap itself is
# the cgroup's (or the resident-memory monitor's); the address-space limit only turns an absurd
# request (a 64 GiB array) into a MemoryError, so it leaves this much room above the memory cap.
ADDRESS_SPACE_HEADROOM_MB = 4096


@dataclass(frozen=True)
class Limits:
    cell_seconds: float
    probe_seconds: float
    total_seconds: float
    memory_mb: int


@dataclass
class StepCrash:
    """A step that ended its worker: killed by a limit or exited the process."""

    step: str
    reason: str


@dataclass
class WorkerRun:
    """What happened in the worker, as far as the grader saw it (not what the worker claims)."""

    out_dir: Path
    crashes: list[StepCrash] = field(default_factory=list)
    finished: bool = False
    total_timeout: bool = False
    attempts: int = 0
    output_tail: str = ""
    output_bytes: int = 0
    isolation: dict[str, bool] = field(default_factory=dict)
    step_seconds: dict[str, float] = field(default_factory=dict)  # as the worker reported them
    memory_peak_bytes: int | None = None  # highest of any attempt's cgroup; None without a cgroup
    stopped_after_done: bool = False  # a finished attempt did not exit by itself and was killed


# ------------------------------------------------------------------ what this machine offers
@functools.lru_cache(maxsize=1)
def bwrap_works() -> bool:
    """Whether bubblewrap can make namespaces here (needs root or unprivileged user namespaces)."""
    if not shutil.which("bwrap"):
        return False
    try:
        done = subprocess.run(["bwrap", "--ro-bind", "/", "/", "--unshare-all", "--", "true"],
                              capture_output=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0


def isolation_measures(use_bwrap: bool, memory_cgroup: bool = False) -> dict[str, bool]:
    """The isolation in force for a worker started with these settings on this machine
    (`memory_cgroup`: whether every attempt of the worker ran in a memory cgroup of its own)."""
    root = os.geteuid() == 0
    return {
        "separate_process": True,
        "time_limits": True,
        "memory_cap": True,
        "memory_cgroup": memory_cgroup,
        "disk_cap": True,
        "output_cap": True,
        "process_cleanup": True,
        "unprivileged_user": root,
        "no_network": use_bwrap,
        "read_only_filesystem": use_bwrap,
        "grader_files_hidden": use_bwrap,
        "pid_namespace": use_bwrap,
        "no_user_namespaces": use_bwrap and userns_blocked(),
    }


def choose_sandbox(setting: str) -> bool:
    """True for bubblewrap: "auto" uses it when it works, "bwrap" insists, "process" never."""
    if setting == "process":
        return False
    if setting == "bwrap" and not bwrap_works():
        raise RuntimeError("--sandbox bwrap: bubblewrap is not installed or cannot create namespaces here")
    return bwrap_works()


def become_subreaper() -> None:
    """Adopt orphaned descendants, so a submission that double-forks and calls setsid is still
    found among our children and killed (Linux prctl PR_SET_CHILD_SUBREAPER)."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(36, 1, 0, 0, 0)
    except (OSError, AttributeError):
        pass


# ------------------------------------------------------------------ no user namespaces (seccomp)
# A user namespace would give the worker its own mounts: a tmpfs of half the machine's memory in
# place of the 256 MB /tmp. bubblewrap's --disable-userns needs --unshare-user, which as root maps
# the worker back to root outside (see worker_command); a seccomp filter works on both paths.
CLONE_NEWUSER = 0x10000000
SYSCALLS = {  # machine: (AUDIT_ARCH_*, syscall numbers, whether the x32 ABI shares the arch)
    "x86_64": (0xC000003E, {"clone": 56, "unshare": 272, "clone3": 435}, True),
    "aarch64": (0xC00000B7, {"clone": 220, "unshare": 97, "clone3": 435}, False),
}
X32_SYSCALL_BIT = 0x40000000
BPF_LD_ABS, BPF_JEQ, BPF_JGE, BPF_JSET, BPF_RET = 0x20, 0x15, 0x35, 0x45, 0x06  # with BPF_W / BPF_K
SECCOMP_RET_ALLOW, SECCOMP_RET_ERRNO, SECCOMP_RET_KILL_PROCESS = 0x7FFF0000, 0x00050000, 0x80000000


@functools.lru_cache(maxsize=1)
def userns_filter() -> bytes | None:
    """A classic BPF program for bubblewrap's --seccomp: unshare and clone with CLONE_NEWUSER fail
    with EPERM. clone3 passes its flags in memory the filter cannot read, so it fails with ENOSYS,
    on which glibc falls back to clone. Calls of another ABI (i386, x32) end the process or fail:
    their numbers differ and would slip past. None on machines whose numbers are not known here."""
    machine = SYSCALLS.get(platform.machine())
    if machine is None:
        return None
    arch, number, x32 = machine
    flags_offset = 16 if sys.byteorder == "little" else 20  # low word of seccomp_data.args[0]
    program = [
        (BPF_LD_ABS, 4, None, None),                  # seccomp_data.arch
        (BPF_JEQ, arch, None, "kill"),
        (BPF_LD_ABS, 0, None, None),                  # seccomp_data.nr
        *([(BPF_JGE, X32_SYSCALL_BIT, "enosys", None)] if x32 else []),
        (BPF_JEQ, number["clone3"], "enosys", None),
        (BPF_JEQ, number["unshare"], "flags", None),
        (BPF_JEQ, number["clone"], "flags", None),
        (BPF_RET, SECCOMP_RET_ALLOW, None, None),
        "flags", (BPF_LD_ABS, flags_offset, None, None),
        (BPF_JSET, CLONE_NEWUSER, "eperm", None),
        (BPF_RET, SECCOMP_RET_ALLOW, None, None),
        "eperm", (BPF_RET, SECCOMP_RET_ERRNO | errno.EPERM, None, None),
        "enosys", (BPF_RET, SECCOMP_RET_ERRNO | errno.ENOSYS, None, None),
        "kill", (BPF_RET, SECCOMP_RET_KILL_PROCESS, None, None),
    ]
    return assemble_bpf(program)


@functools.lru_cache(maxsize=1)
def userns_blocked() -> bool:
    """Whether bubblewrap here applies the filter: on a kernel without seccomp filters it would
    refuse to start any worker, so the filter is used only where this probe succeeds."""
    program = userns_filter()
    if program is None or not bwrap_works():
        return False
    fd = sealed_memfd(program, "cnn1-userns-filter-probe")
    try:
        done = subprocess.run(["bwrap", "--ro-bind", "/", "/", "--unshare-all", "--seccomp", str(fd), "--", "true"],
                              capture_output=True, timeout=20, pass_fds=(fd,))
    except (OSError, subprocess.TimeoutExpired):
        return False
    finally:
        os.close(fd)
    return done.returncode == 0


def assemble_bpf(program: list) -> bytes:
    """struct sock_filter[] from (code, k, jump-if-true label, jump-if-false label) tuples and label
    strings; a label of None continues with the next instruction (BPF jumps only forward)."""
    labels, instructions = {}, []
    for item in program:
        if isinstance(item, str):
            labels[item] = len(instructions)
        else:
            instructions.append(item)
    packed = b""
    for index, (code, k, true, false) in enumerate(instructions):
        offset = [0 if label is None else labels[label] - index - 1 for label in (true, false)]
        packed += struct.pack("=HBBI", code, offset[0], offset[1], k)
    return packed


def sealed_memfd(data: bytes, name: str) -> int:
    """A file descriptor of a memory file holding `data`, sealed against any change (bubblewrap
    closes its copy; sealed anyway, so whatever got hold of it could not alter the next attempt's)."""
    fd = os.memfd_create(name, os.MFD_CLOEXEC | os.MFD_ALLOW_SEALING)
    os.write(fd, data)
    fcntl.fcntl(fd, fcntl.F_ADD_SEALS,
                fcntl.F_SEAL_SEAL | fcntl.F_SEAL_SHRINK | fcntl.F_SEAL_GROW | fcntl.F_SEAL_WRITE)
    os.lseek(fd, 0, os.SEEK_SET)
    return fd


# ------------------------------------------------------------------ memory cgroup of an attempt
MOUNTINFO = Path("/proc/self/mountinfo")
SELF_CGROUP = Path("/proc/self/cgroup")
# Joins the cgroups named before "--" (writes its own pid, which exec keeps), then becomes the
# worker: so no code of the submission runs outside them. A shell, not a preexec_fn, because the
# grader has threads (a forked child of a threaded process may deadlock before exec).
JOIN_CGROUPS = 'while [ "$1" != -- ]; do echo $$ > "$1" || exit 125; shift; done; shift; exec "$@"'


@dataclass(frozen=True)
class CgroupMount:
    version: int            # 1 or 2
    point: Path             # where the hierarchy is mounted
    root: str               # the cgroup shown at the mount point ("/" unless bind-mounted lower)
    controllers: frozenset[str]  # v1: the controllers bound to it; v2: empty (see cgroup.controllers)
    writable: bool


def cgroup_mounts(mountinfo: str) -> list[CgroupMount]:
    """The cgroup hierarchies listed in /proc/self/mountinfo."""
    mounts = []
    for line in mountinfo.splitlines():
        fields, _, rest = line.partition(" - ")
        fields, rest = fields.split(), rest.split()
        if len(fields) < 6 or len(rest) < 3 or rest[0] not in ("cgroup", "cgroup2"):
            continue
        point = Path(fields[4].replace("\\040", " "))
        writable = "rw" in fields[5].split(",")
        controllers = frozenset(rest[2].split(",")) & {"memory", "pids"} if rest[0] == "cgroup" else frozenset()
        mounts.append(CgroupMount(1 if rest[0] == "cgroup" else 2, point, fields[3], controllers, writable))
    return mounts


def own_cgroups(proc_cgroup: str) -> dict[str, str]:
    """The process's cgroup per controller from /proc/self/cgroup; the v2 hierarchy under ""."""
    found = {}
    for line in proc_cgroup.splitlines():
        _, controllers, path = (line.split(":", 2) + ["", ""])[:3]
        for controller in controllers.split(",") if controllers else [""]:
            found[controller] = path
    return found


def cgroup_folder(mount: CgroupMount, path: str) -> Path:
    """The folder of cgroup `path` in the mounted hierarchy (a mount may show a lower cgroup)."""
    root = mount.root.rstrip("/")
    if root and path.startswith(root + "/"):
        path = path[len(root):]
    elif root and path == root:
        path = "/"
    return mount.point / path.lstrip("/")


@dataclass
class WorkerCgroup:
    """The cgroup(s) of one worker attempt: one v2 cgroup, or v1 memory (+ pids) cgroups."""

    version: int
    memory: Path
    others: list[Path] = field(default_factory=list)

    @property
    def folders(self) -> list[Path]:
        return [self.memory, *self.others]

    def procs_files(self) -> list[Path]:
        return [folder / "cgroup.procs" for folder in self.folders]

    def oom_kills(self) -> int:
        """How many of its processes the kernel killed for want of memory in this cgroup."""
        name = "memory.events" if self.version == 2 else "memory.oom_control"
        return _keyed_value(self.memory / name, "oom_kill") or 0

    def peak_bytes(self) -> int | None:
        """The highest memory use of the cgroup (processes, page cache, shared memory, tmpfs)."""
        name = "memory.peak" if self.version == 2 else "memory.max_usage_in_bytes"
        try:
            return int((self.memory / name).read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return None

    def members(self) -> set[int]:
        pids = set()
        for procs in self.procs_files():
            try:
                pids |= {int(pid) for pid in procs.read_text().split()}
            except (OSError, ValueError):
                continue
        return pids

    def kill_members(self) -> None:
        if self.version == 2 and (self.memory / "cgroup.kill").exists():
            _write(self.memory / "cgroup.kill", "1")
        for pid in self.members():
            try:
                os.kill(pid, 9)
            except OSError:
                pass

    def remove(self) -> None:
        """Kill what is left in it, then remove it (a cgroup with members cannot be removed)."""
        deadline = time.monotonic() + CGROUP_REMOVE_SECONDS
        for folder in reversed(self.folders):
            while folder.exists():
                self.kill_members()
                try:
                    folder.rmdir()
                except OSError:
                    if time.monotonic() > deadline:
                        break
                    time.sleep(0.05)


def _keyed_value(path: Path, key: str) -> int | None:
    """The number after `key` in a "key value" per line file (memory.events, memory.oom_control)."""
    try:
        for line in path.read_text().splitlines():
            name, _, value = line.partition(" ")
            if name == key:
                return int(value)
    except (OSError, ValueError):
        pass
    return None


def _write(path: Path, value: str) -> None:
    with open(path, "w", encoding="ascii") as handle:
        handle.write(value)


def make_worker_cgroup(memory_bytes: int, pids: int = CGROUP_PIDS_LIMIT, mountinfo: str | None = None,
                       proc_cgroup: str | None = None) -> WorkerCgroup | None:
    """A new cgroup that caps a worker's memory (no swap) and processes, under the grader's own:
    cgroup v2 where it holds the memory controller, else v1; None where none can be made (not
    root, a read-only cgroupfs, no memory controller)."""
    if mountinfo is None or proc_cgroup is None:
        try:
            mountinfo, proc_cgroup = MOUNTINFO.read_text(), SELF_CGROUP.read_text()
        except OSError:
            return None
    mounts, own = cgroup_mounts(mountinfo), own_cgroups(proc_cgroup)
    name = f"cnn1-worker-{os.getpid()}-{secrets.token_hex(4)}"
    v2 = next((m for m in mounts if m.version == 2 and m.writable and "" in own), None)
    parent = v2_parent(v2.point, cgroup_folder(v2, own[""])) if v2 is not None else None
    if parent is not None:
        return _make_v2(parent / name, memory_bytes, pids)
    v1 = {c: m for m in mounts if m.version == 1 and m.writable for c in m.controllers if c in own}
    if "memory" in v1:
        return _make_v1(cgroup_folder(v1["memory"], own["memory"]),
                        cgroup_folder(v1["pids"], own["pids"]) if "pids" in v1 else None, name, memory_bytes, pids)
    return None


def v2_parent(point: Path, own: Path) -> Path | None:
    """Where a worker's v2 cgroup can go: the grader's own cgroup if it hands memory down to its
    children or can be made to, else the nearest ancestor that already does (systemd's slices do).
    The kernel lets a cgroup other than the root hand controllers down only while it holds no
    process itself, and the grader's own cgroup holds the grader."""
    if "memory" in _controllers(own) and _hand_down(own):
        return own
    for ancestor in own.parents:
        if ancestor != point and point not in ancestor.parents:
            break
        if "memory" in _subtree_control(ancestor):
            return ancestor
    return None


def _controllers(folder: Path) -> set[str]:
    try:
        return set((folder / "cgroup.controllers").read_text().split())
    except OSError:
        return set()


def _subtree_control(folder: Path) -> set[str]:
    try:
        return set((folder / "cgroup.subtree_control").read_text().split())
    except OSError:
        return set()


def _hand_down(folder: Path) -> bool:
    """Enable memory (and pids) for the children of `folder`; whether the kernel agreed."""
    missing = {"memory", "pids"} & _controllers(folder) - _subtree_control(folder)
    try:
        if missing:
            _write(folder / "cgroup.subtree_control", " ".join(f"+{c}" for c in sorted(missing)))
    except OSError:  # EBUSY: it holds processes
        return False
    return True


def _make_v2(folder: Path, memory_bytes: int, pids: int) -> WorkerCgroup | None:
    """cgroup v2: memory capped, no swap, the whole cgroup killed together at the cap, processes capped."""
    try:
        folder.mkdir()
        _write(folder / "memory.max", str(memory_bytes))
        for setting, value in (("memory.swap.max", "0"), ("memory.oom.group", "1"), ("pids.max", str(pids))):
            if (folder / setting).exists():
                _write(folder / setting, value)
    except OSError:
        _discard(folder)
        return None
    return WorkerCgroup(2, folder)


def _make_v1(memory_parent: Path, pids_parent: Path | None, name: str, memory_bytes: int,
             pids: int) -> WorkerCgroup | None:
    """cgroup v1: a memory cgroup (memory + swap capped alike where the kernel counts swap) and, where
    the pids controller is mounted, a pids cgroup of the same name."""
    cgroup = WorkerCgroup(1, memory_parent / name)
    try:
        cgroup.memory.mkdir()
        _write(cgroup.memory / "memory.limit_in_bytes", str(memory_bytes))
        if (cgroup.memory / "memory.memsw.limit_in_bytes").exists():
            _write(cgroup.memory / "memory.memsw.limit_in_bytes", str(memory_bytes))
    except OSError:
        _discard(cgroup.memory)
        return None
    if pids_parent is not None:
        try:
            (pids_parent / name).mkdir()
            _write(pids_parent / name / "pids.max", str(pids))
            cgroup.others.append(pids_parent / name)
        except OSError:
            _discard(pids_parent / name)  # a process cap is a bonus here: --nproc remains
    return cgroup


def _discard(folder: Path) -> None:
    try:
        folder.rmdir()
    except OSError:
        pass


def in_cgroup(command: list[str], cgroup: WorkerCgroup | None) -> list[str]:
    """The command, started so that it runs inside the cgroup from its first instruction."""
    if cgroup is None:
        return command
    return ["sh", "-c", JOIN_CGROUPS, "sh", *[str(p) for p in cgroup.procs_files()], "--", *command]


# ------------------------------------------------------------------ the job folder
class JobFolder:
    """harness/ (read-only), in/ (read-only), work/ (the cwd: a copy of the submission), out/."""

    def __init__(self, submission: Path) -> None:
        self.submission = submission
        self.root = Path(tempfile.mkdtemp(prefix="cnn1-grade-"))
        os.chmod(self.root, 0o711)
        self.harness = self.root / "harness"
        self.in_dir = self.root / "in"
        self.work = self.root / "work"
        self.out = self.root / "out"
        for folder in (self.harness, self.in_dir, self.work, self.out):
            folder.mkdir()
        shutil.copy2(HARNESS, self.harness / "harness.py")
        shutil.copy2(PROTOCOL, self.harness / "protocol.py")
        shutil.copy2(EXPORT, self.harness / "export.py")
        shutil.copy2(NOTEBOOK_TRACE, self.harness / "notebook_trace.py")
        shutil.copyfile(submission, self.work / _safe_name(submission.name))

    def hand_over(self) -> None:
        """Make in/ readable and work/, out/ writable for the worker's user.

        After a worker died this runs over what the submission left in work/ and out/: links there
        are never followed, or chmod/chown as root would hand their targets (the hidden checks,
        /etc/passwd) to the worker's user."""
        for folder, _, files in os.walk(self.root):
            _set_mode(folder, 0o755)
            for name in files:
                _set_mode(os.path.join(folder, name), 0o644)
        _set_mode(str(self.root), 0o711)
        if os.geteuid() == 0:
            for folder in (self.work, self.out):
                for path in [folder, *folder.rglob("*")]:
                    os.chown(path, WORKER_UID, WORKER_UID, follow_symlinks=False)

    def reset_out(self) -> None:
        """Keep finished probe results; drop the journal of the last attempt."""
        journal = self.out / protocol.JOURNAL_FILE
        if journal.exists():
            journal.unlink()

    def reset_work(self) -> None:
        """A fresh working folder for the next attempt, holding only the copy of the submission:
        what a killed worker left there (up to the disk cap) would otherwise count against the next."""
        shutil.rmtree(self.work, ignore_errors=True)
        self.work.mkdir(exist_ok=True)
        shutil.copyfile(self.submission, self.work / _safe_name(self.submission.name))

    def remove(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)


def _set_mode(path: str, mode: int) -> None:
    """chmod without following a link (Linux has no lchmod): open with O_NOFOLLOW, then fchmod.
    A link, or anything that cannot be opened, is left alone."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError:
        return
    try:
        os.fchmod(fd, mode)
    finally:
        os.close(fd)


def _safe_name(name: str) -> str:
    return "".join(c if c.isalnum() or c in "._-" else "_" for c in name) or "submission"


# ------------------------------------------------------------------ command line of the worker
def worker_command(job: JobFolder, limits: Limits, use_bwrap: bool, hidden: list[Path],
                   seccomp_fd: int | None = None) -> list[str]:
    """The argv that starts the harness under rlimits (and bubblewrap when used; `seccomp_fd` holds
    the filter bubblewrap applies to the worker, see `userns_filter`)."""
    root = os.geteuid() == 0
    address_space = (limits.memory_mb + ADDRESS_SPACE_HEADROOM_MB) * 1024 * 1024
    rlimits = ["prlimit", f"--as={address_space}", f"--fsize={SCRATCH_FILE_LIMIT}",
               "--core=0"]
    if root:
        rlimits.append("--nproc=4096")  # counts threads too; TensorFlow starts many
    python = [sys.executable, "-I"]
    # As root, the worker becomes a real unprivileged user (setpriv). Not through a user namespace:
    # there its uid would map back to root outside and could still open root's files.
    drop = ["setpriv", f"--reuid={WORKER_UID}", f"--regid={WORKER_UID}", "--clear-groups",
            "--inh-caps=-all", "--"] if root else []
    if not use_bwrap:
        return [*rlimits, "--", *drop, *python, str(job.harness / "harness.py"), str(job.in_dir), str(job.out)]
    # The worker sees an allow-list of the file system: the system's programs and libraries, Python
    # and its packages, and its job folder. Every other file on the machine (the data directory,
    # ~/.keras/datasets, a course's copy of the datasets, a Gradescope bundle's source folder, the
    # grader's own code) does not exist for it, wherever it lies.
    # /dev/shm as on any Linux machine (multiprocessing's locks and pools need it); like /tmp, a
    # bounded tmpfs whose pages count against the worker's memory cgroup.
    sandbox = ["bwrap", *system_binds(), "--dev", "/dev", "--proc", "/proc",
               "--size", str(SANDBOX_TMP_BYTES), "--perms", "1777", "--tmpfs", "/tmp",
               "--size", str(SANDBOX_TMP_BYTES), "--perms", "1777", "--tmpfs", "/dev/shm"]
    for path in python_paths():
        # bubblewrap would make the folders leading to it private to root: the worker's user must
        # pass through them (/root/.pyenv/..., a checkout's .venv, a venv under /tmp).
        for folder in reversed([p for p in path.parents if p != Path("/")]):
            sandbox += ["--perms", "0755", "--dir", str(folder)]
        sandbox += ["--ro-bind", str(path), str(path)]
    for path in hideable(hidden):  # after the binds above, so what lies inside them is hidden too
        sandbox += ["--tmpfs", str(path)]
    sandbox += ["--ro-bind", str(job.harness), "/tmp/harness", "--ro-bind", str(job.in_dir), "/tmp/in",
                "--bind", str(job.work), "/tmp/work", "--bind", str(job.out), "/tmp/out",
                "--chdir", "/tmp/work", "--die-with-parent", "--new-session"]
    sandbox += (["--unshare-ipc", "--unshare-pid", "--unshare-net", "--unshare-uts", "--unshare-cgroup-try"]
                if root else ["--unshare-all"])
    if seccomp_fd is not None:
        sandbox += ["--seccomp", str(seccomp_fd)]
    return [*rlimits, "--", *sandbox, "--", *drop, *python, "/tmp/harness/harness.py", "/tmp/in", "/tmp/out"]


# What of the system the worker sees (read-only): programs, libraries, their configuration.
SYSTEM_FOLDERS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/etc", "/sys")


def system_binds() -> list[str]:
    """bubblewrap arguments that show SYSTEM_FOLDERS read-only (links such as /bin -> usr/bin as
    links), and nothing else of the machine."""
    arguments = []
    for folder in SYSTEM_FOLDERS:
        path = Path(folder)
        if path.is_symlink():
            arguments += ["--symlink", os.readlink(path), folder]
        elif path.is_dir():
            arguments += ["--ro-bind", folder, folder]
    return arguments


def python_paths() -> list[Path]:
    """The folders the worker's Python needs: the venv and the installation it is based on (outside
    the system folders, e.g. under ~/.pyenv or /opt)."""
    paths = {Path(p).resolve() for p in (sys.prefix, sys.base_prefix)}
    return sorted(p for p in paths if not any(Path(f) == p or Path(f) in p.parents for f in SYSTEM_FOLDERS))


def hideable(paths: list[Path]) -> list[Path]:
    """The folders to hide that the allow-list would otherwise show (a data folder inside the venv,
    say), without hiding Python itself: a venv inside a hidden project folder stays visible."""
    needed = [*python_paths(), Path(sys.executable).resolve()]
    shown = [*needed, *[Path(f) for f in SYSTEM_FOLDERS if Path(f).is_dir() and not Path(f).is_symlink()]]
    chosen = []
    for path in paths:
        path = Path(path).resolve()
        if (path.is_dir() and path != Path("/") and not any(n == path or path in n.parents for n in needed)
                and any(s == path or s in path.parents for s in shown)):
            chosen.append(path)
    return chosen


def worker_environment(job: JobFolder, use_bwrap: bool) -> dict[str, str]:
    """A small, fixed environment: nothing of the grader's leaks, TensorFlow kept quiet and CPU-only."""
    home = "/tmp/work" if use_bwrap else str(job.work)
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": home,
        "MPLCONFIGDIR": home,
        "MPLBACKEND": "Agg",
        "KERAS_BACKEND": "tensorflow",
        "KERAS_HOME": home + "/.keras",
        "TF_CPP_MIN_LOG_LEVEL": "3",
        "CUDA_VISIBLE_DEVICES": "",
        "PYTHONHASHSEED": "0",
        "PYTHONDONTWRITEBYTECODE": "1",
        "LANG": "C.UTF-8",
        "MALLOC_ARENA_MAX": "2",  # glibc reserves 64 MB of address space per arena, one per thread
        **protocol.PROCESS_ENVIRONMENT,
    }


# ------------------------------------------------------------------ running and watching
class OutputTail(threading.Thread):
    """Reads the worker's merged stdout/stderr, keeping only the last bytes and a count."""

    def __init__(self, stream) -> None:
        super().__init__(daemon=True)
        self.stream = stream
        self.tail = b""
        self.total = 0

    def run(self) -> None:
        while chunk := self.stream.read(65536):
            self.total += len(chunk)
            self.tail = (self.tail + chunk)[-OUTPUT_TAIL_BYTES:]


def tree_of(pid: int) -> list[psutil.Process]:
    try:
        parent = psutil.Process(pid)
        return [parent, *parent.children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


def tree_rss(processes: list[psutil.Process]) -> int:
    total = 0
    for process in processes:
        try:
            total += process.memory_info().rss
        except psutil.Error:
            pass
    return total


def kill_all(processes: list[psutil.Process]) -> None:
    for process in processes:
        try:
            process.kill()
        except psutil.Error:
            pass


def journal_lines(journal: Path) -> list[str]:
    """The last lines of the worker's journal, read without trusting the file.

    The worker can replace it: a named pipe would block the grader, a link to /dev/zero would never
    end, a huge file would cost the grader memory. So: no links, regular files only, and only the
    last JOURNAL_TAIL_BYTES (a first, cut line is dropped by the JSON parsing of the callers)."""
    try:
        fd = os.open(journal, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError:
        return []
    with os.fdopen(fd, "rb") as handle:
        info = os.fstat(handle.fileno())
        if not stat.S_ISREG(info.st_mode):
            return []
        handle.seek(max(0, info.st_size - JOURNAL_TAIL_BYTES))
        data = handle.read(JOURNAL_TAIL_BYTES)
    return data.decode("utf-8", errors="replace").splitlines()


def current_step(journal: Path) -> tuple[str | None, float, bool]:
    """The step the worker is in (name, start time) and whether it reported being done."""
    step, started, done = None, 0.0, False
    lines = journal_lines(journal)
    for line in lines[-2000:]:
        try:
            event = json.loads(line)
        except ValueError:
            continue
        if not isinstance(event, dict):
            continue
        if event.get("event") == protocol.EVENT_START and isinstance(event.get("step"), str):
            step, started = event["step"], time.monotonic()
        elif event.get("event") == protocol.EVENT_END:
            step = None
        elif event.get("event") == protocol.EVENT_DONE:
            done = True
    return step, started, done


def step_durations(journal: Path) -> dict[str, float]:
    """Seconds per step as the worker's journal tells them (for diagnostics and benchmarks only)."""
    durations: dict[str, float] = {}
    starts: dict[str, float] = {}
    for line in journal_lines(journal)[-5000:]:
        try:
            event = json.loads(line)
            if event.get("event") == protocol.EVENT_START:
                starts[event["step"]] = float(event["time"])
            elif event.get("event") == protocol.EVENT_END and event.get("step") in starts:
                durations[event["step"]] = round(float(event["time"]) - starts[event["step"]], 3)
        except (ValueError, TypeError, KeyError, AttributeError):
            continue
    return durations


def scratch_exceeded(folders: list[Path]) -> bool:
    """Whether the worker's writable folders hold more than SCRATCH_DISK_LIMIT bytes on disk or
    SCRATCH_ENTRIES_LIMIT entries. The file-size rlimit caps one file, not how many it writes: this
    keeps a submission from filling the host's disk (links are not followed)."""
    used, entries, stack = 0, 0, [str(f) for f in folders]
    while stack:
        try:
            with os.scandir(stack.pop()) as listing:
                for entry in listing:
                    entries += 1
                    info = entry.stat(follow_symlinks=False)
                    used += info.st_blocks * 512
                    if used > SCRATCH_DISK_LIMIT or entries > SCRATCH_ENTRIES_LIMIT:
                        return True
                    if stat.S_ISDIR(info.st_mode):
                        stack.append(entry.path)
        except OSError:
            continue
    return False


def step_limit(step: str, limits: Limits, probe_seconds: dict[str, float]) -> float:
    if step.startswith(protocol.cell_step("")):
        return limits.cell_seconds
    return probe_seconds.get(step.removeprefix(protocol.probe_step("")), limits.probe_seconds)


@dataclass
class Attempt:
    """How one start of the worker ended, as the grader saw it."""

    step: str | None            # the step it was in when it ended (None: finished, or outside any step)
    reason: str                 # "finished", "timeout", "total_timeout", "memory", "disk", "exit code N"
    output: OutputTail
    cgroup: bool = False        # it ran in a memory cgroup of its own
    memory_peak: int | None = None  # the cgroup's highest memory use, bytes
    stopped_after_done: bool = False  # it reported done but did not exit within EXIT_GRACE_SECONDS


def run_attempt(command: list[str], env: dict, job: JobFolder, limits: Limits, probe_seconds: dict[str, float],
                deadline: float, seccomp_fd: int | None = None) -> Attempt:
    """Run the worker once, in a memory cgroup of its own where one can be made (else under the
    rlimits and the monitors alone)."""
    cgroup = make_worker_cgroup(limits.memory_mb * 1024 * 1024)
    try:
        attempt = watch_attempt(in_cgroup(command, cgroup), env, job, limits, probe_seconds, deadline,
                                cgroup, seccomp_fd)
        if cgroup is not None:
            attempt.cgroup, attempt.memory_peak = True, cgroup.peak_bytes()
    finally:
        if cgroup is not None:
            cgroup.remove()
    return attempt


def watch_attempt(command: list[str], env: dict, job: JobFolder, limits: Limits, probe_seconds: dict[str, float],
                  deadline: float, cgroup: WorkerCgroup | None, seccomp_fd: int | None) -> Attempt:
    """Start the worker and stop it at the first limit it reaches; say which one."""
    preexisting = {p.pid for p in psutil.Process().children(recursive=True)}
    if seccomp_fd is not None:
        os.lseek(seccomp_fd, 0, os.SEEK_SET)  # bubblewrap reads it to the end; the offset is shared
    process = subprocess.Popen(command, env=env, cwd=job.work, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, start_new_session=True,
                               pass_fds=() if seccomp_fd is None else (seccomp_fd,))
    output = OutputTail(process.stdout)
    output.start()
    journal = job.out / protocol.JOURNAL_FILE
    step_seen, step_started, reason, done_at, stopped_after_done = None, time.monotonic(), "", None, False
    while process.poll() is None:
        time.sleep(0.2)
        step, _, done = current_step(journal)
        if step != step_seen:
            step_seen, step_started = step, time.monotonic()
        now = time.monotonic()
        done_at = done_at or (now if done else None)
        if now > deadline:
            reason = "total_timeout"
        elif step_seen and now - step_started > step_limit(step_seen, limits, probe_seconds) + GRACE_SECONDS:
            reason = "timeout"
        elif memory_exceeded(process.pid, limits, cgroup):
            reason = "memory"
        elif scratch_exceeded([job.work, job.out]):
            reason = "disk"
        stopped_after_done = not reason and bool(done_at and now - done_at > EXIT_GRACE_SECONDS)
        if reason or stopped_after_done:
            # All steps done but still running: the harness ends itself at once (harness.leave), so
            # the submission defeated that; its results are complete, so it is stopped and counts
            # as finished.
            kill_all(tree_of(process.pid))
            break
    process.wait()
    _kill_leftovers(preexisting)
    output.join(timeout=5)
    step, _, done = current_step(journal)
    if done and not reason:
        return Attempt(None, "finished", output, stopped_after_done=stopped_after_done)
    if not reason:
        # The kernel's OOM killer may have ended it between two looks of the monitor.
        reason = "memory" if cgroup is not None and cgroup.oom_kills() else f"exit code {process.returncode}"
    return Attempt(step, reason, output)


def memory_exceeded(pid: int, limits: Limits, cgroup: WorkerCgroup | None) -> bool:
    """Whether the worker's process tree holds more than the cap, or the kernel had to kill one of
    its processes at the cgroup's cap (the rest of it is stopped too, as for the monitor's kill)."""
    if cgroup is not None and cgroup.oom_kills():
        return True
    return tree_rss(tree_of(pid)) > limits.memory_mb * 1024 * 1024


def _kill_leftovers(preexisting: set[int]) -> None:
    """Kill every descendant that appeared during the run (orphans come to us as subreaper)."""
    for _ in range(3):
        strays = [p for p in psutil.Process().children(recursive=True) if p.pid not in preexisting]
        if not strays:
            return
        kill_all(strays)
        psutil.wait_procs(strays, timeout=2)


def run_worker(job: JobFolder, limits: Limits, use_bwrap: bool, hidden: list[Path],
               probe_seconds: dict[str, float], spec_path: Path) -> WorkerRun:
    """Run the harness until it has been through every step, restarting past fatal ones."""
    become_subreaper()
    run = WorkerRun(out_dir=job.out, isolation=isolation_measures(use_bwrap))
    seccomp_fd = sealed_memfd(userns_filter(), "cnn1-userns-filter") if use_bwrap and userns_blocked() else None
    try:
        attempts = _run_attempts(run, job, limits, worker_command(job, limits, use_bwrap, hidden, seccomp_fd),
                                 worker_environment(job, use_bwrap), probe_seconds, spec_path, seccomp_fd)
    finally:
        if seccomp_fd is not None:
            os.close(seccomp_fd)
    run.isolation = isolation_measures(use_bwrap, memory_cgroup=bool(attempts) and all(a.cgroup for a in attempts))
    peaks = [a.memory_peak for a in attempts if a.memory_peak is not None]
    run.memory_peak_bytes = max(peaks) if peaks else None
    run.stopped_after_done = any(a.stopped_after_done for a in attempts)
    return run


def _run_attempts(run: WorkerRun, job: JobFolder, limits: Limits, command: list[str], env: dict,
                  probe_seconds: dict[str, float], spec_path: Path, seccomp_fd: int | None) -> list[Attempt]:
    """Start the worker again past each step that ended it, until it finishes or a limit says no."""
    deadline = time.monotonic() + limits.total_seconds
    attempts: list[Attempt] = []
    tail = b""
    while run.attempts < MAX_ATTEMPTS:
        run.attempts += 1
        job.reset_out()
        attempt = run_attempt(command, env, job, limits, probe_seconds, deadline, seccomp_fd)
        attempts.append(attempt)
        step, why = attempt.step, attempt.reason
        run.step_seconds.update(step_durations(job.out / protocol.JOURNAL_FILE))
        tail += attempt.output.tail
        run.output_bytes += attempt.output.total
        if why == "finished":
            run.finished = True
            break
        if why == "total_timeout":
            run.total_timeout = True
            if step:
                run.crashes.append(StepCrash(step, "total_timeout"))
            break
        if step is None:  # died outside any step (start-up, or the journal was tampered with)
            run.crashes.append(StepCrash("worker", why))
            break
        run.crashes.append(StepCrash(step, why))
        _skip_next_time(spec_path, job.out, [c.step for c in run.crashes])
        job.reset_work()
        job.hand_over()
    run.output_tail = tail[-OUTPUT_TAIL_BYTES:].decode("utf-8", errors="replace")
    return attempts


def _skip_next_time(spec_path: Path, out_dir: Path, crashed: list[str]) -> None:
    """Skip the crashed steps and the probes already answered when the worker starts again."""
    spec = json.loads(spec_path.read_text(encoding="utf-8"))
    answered = [protocol.probe_step(p["id"]) for p in spec["probes"]
                if (out_dir / protocol.PROBES_DIR / p["id"] / protocol.RESULT_FILE).exists()]
    spec["skip"] = sorted(set(crashed) | set(answered))
    spec_path.write_text(json.dumps(spec), encoding="utf-8")
