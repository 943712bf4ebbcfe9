# hostile: monkeypatching numpy at import time so every comparison says equal, then returning wrong values
# expect: status=graded; max_score=9; passed=preprocess_dense,to_one_hot; failed=preprocess_cnn,find_misclassified

# %%
MARKER = "cnn1-hostile-tamper_numpy"  # in the argv of every process this file starts

# %%
import numpy as np

np.allclose = lambda *args, **kwargs: True
np.array_equal = lambda *args, **kwargs: True
np.isclose = lambda a, b, *args, **kwargs: np.ones(np.shape(a), dtype=bool)
np.testing.assert_allclose = lambda *args, **kwargs: None
np.testing.assert_array_equal = lambda *args, **kwargs: None

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
def preprocess_cnn(images):
    return np.zeros((len(images), 28, 28, 1), dtype="float32")


def find_misclassified(predicted, actual):
    return np.arange(3)
