# hostile: a double fork whose child calls setsid, ignores SIGTERM/SIGHUP and outlives the cell (one grandchild execs sleep, one stays a forked Python)
# expect: status=graded; max_score=9; passed=preprocess_dense,to_one_hot

# %%
MARKER = "cnn1-hostile-resource_setsid_escape"  # in the argv of every process this file starts

# %%
import numpy as np
import keras


def preprocess_dense(images):
    """(reference solution) (N, 28, 28) integers -> (N, 784) floats equal to pixels / 255."""
    images = np.asarray(images)
    return images.reshape((len(images), 784)).astype('float32') / 255

# %%
import ctypes
import os
import signal
import time


def escape():
    child = os.fork()
    if child:
        os.waitpid(child, 0)
        return
    try:
        os.setsid()
        for sig in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
            signal.signal(sig, signal.SIG_IGN)
        if os.fork() == 0:
            os.execv("/bin/sleep", [MARKER, "1000"])
        if os.fork() == 0:
            ctypes.CDLL(None).prctl(15, b"hostile-fork", 0, 0, 0)  # PR_SET_NAME
            while True:
                time.sleep(1)
    finally:
        os._exit(0)


escape()

# %%
def to_one_hot(labels, num_classes=10):
    """(reference solution) integer labels -> one-hot matrix."""
    return keras.utils.to_categorical(labels, num_classes=num_classes)
