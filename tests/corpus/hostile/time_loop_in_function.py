# hostile: an infinite loop inside a contract function that also swallows the grader's timeout exception, so the worker must be killed (it sleeps, to leave the CPU to the other gradings of the test)
# expect: status=graded; max_score=9; passed=preprocess_dense,to_one_hot; failed=choose_loss
# expect: reason~probe:choose_loss (timeout); feedback~time limit

# %%
MARKER = "cnn1-hostile-time_loop_in_function"  # in the argv of every process this file starts

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
import time


def choose_loss(labels, num_classes):
    while True:
        try:
            while True:
                time.sleep(0.1)
        except BaseException:
            pass
