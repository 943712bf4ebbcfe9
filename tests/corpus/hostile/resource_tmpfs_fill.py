# hostile: filling the sandbox's own /tmp and /dev/shm (memory-backed, invisible to the memory monitor) instead of its working folder; reports through preprocess_dense when it managed to put more than 512 MB there (the sandbox's /tmp and /dev/shm are tmpfs of 256 MB each)
# expect: status=graded; max_score=9; passed=preprocess_dense,to_one_hot; requires=read_only_filesystem

# %%
MARKER = "cnn1-hostile-resource_tmpfs_fill"  # in the argv of every process this file starts

# %%
import os

chunk = MARKER.encode() + b"\0" * (64 * 2**20 - len(MARKER))
OUTSIDE = 0
for folder in ("/tmp", "/dev/shm", "/var/tmp"):
    for number in range(48):  # at most 3 GB per folder
        try:
            with open(os.path.join(folder, f"fill_{number}.bin"), "wb") as f:
                f.write(chunk)
            OUTSIDE += len(chunk)
        except BaseException:
            break

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
def preprocess_dense(images):  # noqa: F811 - reports the fill instead of answering
    if OUTSIDE > 512 * 2**20:
        raise RuntimeError(f"WROTE {OUTSIDE // 2**20} MB outside the scratch folder")
    images = np.asarray(images)
    return images.reshape((len(images), 784)).astype('float32') / 255
