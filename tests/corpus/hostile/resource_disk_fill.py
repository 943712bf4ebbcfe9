# hostile: filling the disk of its scratch folder: 256 MB files in its working directory, ignoring every error and the grader's timeout (stops itself at 6 GB)
# expect: status=graded; max_score=9; passed=preprocess_dense,to_one_hot; cell_error=WorkerKilled; error~disk

# %%
MARKER = "cnn1-hostile-resource_disk_fill"  # in the argv of every process this file starts

# %%
import numpy as np
import keras


def preprocess_dense(images):
    """(reference solution) (N, 28, 28) integers -> (N, 784) floats equal to pixels / 255."""
    images = np.asarray(images)
    return images.reshape((len(images), 784)).astype('float32') / 255

# %%
import os

chunk = b"\0" * (64 * 2**20)
written, number = 0, 0
while written < 6 * 2**30:
    try:
        number += 1
        with open(f"fill_{number}.bin", "wb") as f:
            for _ in range(4):
                f.write(chunk)
                written += len(chunk)
    except BaseException:
        pass

# %%
def to_one_hot(labels, num_classes=10):
    """(reference solution) integer labels -> one-hot matrix."""
    return keras.utils.to_categorical(labels, num_classes=num_classes)
