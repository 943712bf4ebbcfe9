# hostile: spawning hundreds of processes that would sleep for a long time
# expect: status=graded; max_score=9; passed=preprocess_dense,to_one_hot

# %%
MARKER = "cnn1-hostile-resource_processes"  # in the argv of every process this file starts

# %%
import numpy as np
import keras


def preprocess_dense(images):
    """(reference solution) (N, 28, 28) integers -> (N, 784) floats equal to pixels / 255."""
    images = np.asarray(images)
    return images.reshape((len(images), 784)).astype('float32') / 255

# %%
import subprocess

sleepers = []
for _ in range(300):
    try:
        # argv[0] is the marker, so the test can find any survivor
        sleepers.append(subprocess.Popen([MARKER, "1000"], executable="/bin/sleep"))
    except OSError:
        break

# %%
def to_one_hot(labels, num_classes=10):
    """(reference solution) integer labels -> one-hot matrix."""
    return keras.utils.to_categorical(labels, num_classes=num_classes)
