# hostile: a user namespace of its own to mount a tmpfs without the 256 MB cap of /tmp and fill it: `unshare -Urm` + mount + 768 MB in it, unshare(CLONE_NEWUSER | CLONE_NEWNS) through ctypes and os.unshare (Python 3.12+) in forked children; reports through preprocess_dense when any of them worked or failed otherwise than with EPERM
# expect: status=graded; max_score=9; passed=preprocess_dense,to_one_hot; requires=no_user_namespaces

# %%
MARKER = "cnn1-hostile-resource_userns_tmpfs"  # in the argv of every process this file starts

# %%
import ctypes
import errno
import os
import subprocess

CLONE_NEWUSER, CLONE_NEWNS = 0x10000000, 0x00020000
FILL = f"""
mkdir -p {MARKER} && mount -t tmpfs -o size=2g {MARKER} {MARKER} &&
head -c 402653184 /dev/zero > {MARKER}/fill-1 && head -c 402653184 /dev/zero > {MARKER}/fill-2 &&
du -sm {MARKER}
"""  # two files of 384 MB: each under the 512 MB file-size limit
ESCAPES = []  # what worked, or failed otherwise than with EPERM

try:
    done = subprocess.run(["unshare", "-Urm", "sh", "-c", FILL, MARKER], capture_output=True, text=True, timeout=6)
    if done.returncode == 0 or "Operation not permitted" not in done.stderr:
        ESCAPES.append(f"unshare -Urm: exit {done.returncode}, {done.stdout.strip()} {done.stderr.strip()}"[:300])
except (OSError, subprocess.TimeoutExpired) as problem:
    ESCAPES.append(f"unshare -Urm: {problem!r}")


def in_child(make_namespace):
    """Calls make_namespace() in a forked child (this process keeps its namespaces) and returns the
    child's errno: 0 when the namespace was made."""
    pid = os.fork()
    if pid == 0:
        try:
            ctypes.CDLL(None).prctl(15, b"hostile-fork", 0, 0, 0)  # PR_SET_NAME
            make_namespace()
            code = 0
        except OSError as problem:
            code = problem.errno or 255
        except BaseException:
            code = 255
        os._exit(code)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status)


def libc_unshare():
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.unshare(CLONE_NEWUSER | CLONE_NEWNS) != 0:
        raise OSError(ctypes.get_errno(), "unshare")


for name, call in [("ctypes unshare", libc_unshare),
                   ("os.unshare", lambda: os.unshare(os.CLONE_NEWUSER) if hasattr(os, "unshare") else None)]:
    code = in_child(call)
    if code != errno.EPERM and not (name == "os.unshare" and not hasattr(os, "unshare")):
        ESCAPES.append(f"{name}: child ended with {code}")

# %%
import numpy as np
import keras


def preprocess_dense(images):
    """(reference solution) (N, 28, 28) integers -> (N, 784) floats equal to pixels / 255."""
    if ESCAPES:
        raise RuntimeError("a user namespace: " + "; ".join(ESCAPES))
    images = np.asarray(images)
    return images.reshape((len(images), 784)).astype('float32') / 255

# %%
def to_one_hot(labels, num_classes=10):
    """(reference solution) integer labels -> one-hot matrix."""
    return keras.utils.to_categorical(labels, num_classes=num_classes)
