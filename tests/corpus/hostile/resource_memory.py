# hostile: allocating far beyond the memory cap: one huge block at top level, and forked children that each stay under the per-process cap but together exceed it
# expect: status=graded; max_score=9; passed=preprocess_dense,to_one_hot; failed=choose_loss; cell_error=MemoryError
# expect: reason~probe:choose_loss (memory); feedback~memory

# %%
MARKER = "cnn1-hostile-resource_memory"  # in the argv of every process this file starts

# %%
import numpy as np
import keras


def preprocess_dense(images):
    """(reference solution) (N, 28, 28) integers -> (N, 784) floats equal to pixels / 255."""
    images = np.asarray(images)
    return images.reshape((len(images), 784)).astype('float32') / 255

# %%
blob = bytearray(64 * 2**30)

# %%
def to_one_hot(labels, num_classes=10):
    """(reference solution) integer labels -> one-hot matrix."""
    return keras.utils.to_categorical(labels, num_classes=num_classes)

# %%
import ctypes
import os
import time


def choose_loss(labels, num_classes):
    for _ in range(6):
        if os.fork() == 0:
            try:
                ctypes.CDLL(None).prctl(15, b"hostile-fork", 0, 0, 0)  # PR_SET_NAME
                hog = b"x" * (500 * 2**20)  # touched, so resident
                time.sleep(1000)
            finally:
                os._exit(0)
    time.sleep(60)
    return "categorical_crossentropy"
