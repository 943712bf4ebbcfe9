# hostile: holding more than the memory cap in memory that no process maps: memfds and /dev/shm (where writable) filled with write(), which neither the address-space limit nor the resident-memory monitor sees; 1 GB in each of two cells, then up to 6 GB more in choose_loss
# expect: status=graded; max_score=9; passed=preprocess_dense,to_one_hot; failed=choose_loss
# expect: reason~probe:choose_loss (memory); feedback~memory
# expect: requires=memory_cgroup; requires=read_only_filesystem

# %%
MARKER = "cnn1-hostile-resource_memfd_shm"  # in the name of every file and memfd it makes

# %%
import numpy as np
import keras


def preprocess_dense(images):
    """(reference solution) (N, 28, 28) integers -> (N, 784) floats equal to pixels / 255."""
    images = np.asarray(images)
    return images.reshape((len(images), 784)).astype('float32') / 255

# %%
def to_one_hot(labels, num_classes=10):
    """(reference solution) integer labels -> one-hot matrix."""
    return keras.utils.to_categorical(labels, num_classes=num_classes)

# %%
import os
import time

CHUNK = MARKER.encode() + b"\1" * (64 * 2**20 - len(MARKER))  # not zeros: nothing to share or skip
PER_FILE = 256 * 2**20  # under the 512 MB file-size limit, which applies to these files too
HELD = []  # open descriptors keep the memory alive, also past a step's time limit


def fill(open_file, limit):
    """Writes CHUNKs to files made by open_file(number) until `limit` bytes or the first error."""
    written = 0
    while written < limit:
        try:
            HELD.append(open_file(len(HELD)))
            for _ in range(PER_FILE // len(CHUNK)):
                written += os.write(HELD[-1], CHUNK)
        except OSError:
            return


def memfd(number):
    return os.memfd_create(f"{MARKER}-{number}")


def shm_file(number):
    return os.open(f"/dev/shm/{MARKER}-{number}", os.O_CREAT | os.O_WRONLY | os.O_TRUNC, 0o600)

# %%
fill(memfd, 2**30)  # two cells of 1 GB each: a slow machine writes a few GB in more than one step

# %%
fill(memfd, 2**30)

# %%
def choose_loss(labels, num_classes):
    fill(shm_file, 2 * 2**30)  # not writable in the root sandbox
    fill(memfd, 6 * 2**30)
    time.sleep(60)  # hold it; the grader should have stopped this long before
    return "categorical_crossentropy"
