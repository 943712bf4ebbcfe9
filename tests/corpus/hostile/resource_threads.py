# hostile: threads that never end (non-daemon, plus an atexit handler that sleeps forever) and os._exit replaced, so the worker process cannot exit by itself
# expect: status=graded; max_score=9; passed=preprocess_dense,to_one_hot; reason=none

# %%
MARKER = "cnn1-hostile-resource_threads"  # in the argv of every process this file starts

# %%
import numpy as np
import keras


def preprocess_dense(images):
    """(reference solution) (N, 28, 28) integers -> (N, 784) floats equal to pixels / 255."""
    images = np.asarray(images)
    return images.reshape((len(images), 784)).astype('float32') / 255

# %%
import atexit
import threading
import time


def forever():
    while True:
        time.sleep(0.05)


threading.stack_size(256 * 1024)
for _ in range(4):
    threading.Thread(target=forever, daemon=False).start()
atexit.register(lambda: time.sleep(10**6))
import os
os._exit = lambda status: None  # the harness ends itself with it once done

# %%
def to_one_hot(labels, num_classes=10):
    """(reference solution) integer labels -> one-hot matrix."""
    return keras.utils.to_categorical(labels, num_classes=num_classes)
