# hostile: printing 300 MB to stdout and stderr
# expect: status=graded; max_score=9; passed=preprocess_dense,to_one_hot

# %%
MARKER = "cnn1-hostile-resource_print_flood"  # in the argv of every process this file starts

# %%
import numpy as np
import keras


def preprocess_dense(images):
    """(reference solution) (N, 28, 28) integers -> (N, 784) floats equal to pixels / 255."""
    images = np.asarray(images)
    return images.reshape((len(images), 784)).astype('float32') / 255

# %%
import sys

line = "x" * (1024 * 1024 - 1) + "\n"
for i in range(300):
    (sys.stdout if i % 2 else sys.stderr).write(line)

# %%
def to_one_hot(labels, num_classes=10):
    """(reference solution) integer labels -> one-hot matrix."""
    return keras.utils.to_categorical(labels, num_classes=num_classes)
