# hostile: time.sleep(10**6) at top level
# expect: status=graded; max_score=9; passed=preprocess_dense,to_one_hot; cell_error=Timeout

# %%
MARKER = "cnn1-hostile-time_sleep"  # in the argv of every process this file starts

# %%
import numpy as np
import keras


def preprocess_dense(images):
    """(reference solution) (N, 28, 28) integers -> (N, 784) floats equal to pixels / 255."""
    images = np.asarray(images)
    return images.reshape((len(images), 784)).astype('float32') / 255

# %%
import time
time.sleep(10**6)

# %%
def to_one_hot(labels, num_classes=10):
    """(reference solution) integer labels -> one-hot matrix."""
    return keras.utils.to_categorical(labels, num_classes=num_classes)
