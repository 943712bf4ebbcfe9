# hostile: os._exit(0) inside a contract function (choose_loss)
# expect: status=graded; max_score=9; passed=preprocess_dense,to_one_hot; failed=choose_loss
# expect: reason~probe:choose_loss; feedback~worker process ended

# %%
MARKER = "cnn1-hostile-exit_os_exit_in_function"  # in the argv of every process this file starts

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


def choose_loss(labels, num_classes):
    os._exit(0)
