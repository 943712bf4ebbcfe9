# hostile: replacing the worker's progress journal (which the grader reads while it runs) with a named pipe, so a grader that opens it blocks forever
# expect: status=graded; max_score=9; passed=preprocess_dense,to_one_hot

# %%
MARKER = "cnn1-hostile-tamper_journal"  # in the argv of every process this file starts

# %%
import numpy as np
import keras


def preprocess_dense(images):
    """(reference solution) (N, 28, 28) integers -> (N, 784) floats equal to pixels / 255."""
    images = np.asarray(images)
    return images.reshape((len(images), 784)).astype('float32') / 255

# %%
import os

try:
    os.remove("/tmp/out/progress.jsonl")
    os.mkfifo("/tmp/out/progress.jsonl")
except OSError as error:
    print("could not replace the journal:", error)

# %%
def to_one_hot(labels, num_classes=10):
    """(reference solution) integer labels -> one-hot matrix."""
    return keras.utils.to_categorical(labels, num_classes=num_classes)
