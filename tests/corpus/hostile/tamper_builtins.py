# hostile: monkeypatching builtins (open, print, sum, __import__ with a fake pytest and json) at import time
# expect: status=graded; max_score=9; passed=preprocess_dense,to_one_hot; failed=cnn_architecture

# %%
MARKER = "cnn1-hostile-tamper_builtins"  # in the argv of every process this file starts

# %%
import builtins
import types

real_import = builtins.__import__
fake_pytest = types.ModuleType("pytest")
fake_pytest.main = lambda *args, **kwargs: 0
fake_pytest.approx = lambda expected, *args, **kwargs: expected


def fake_import(name, *args, **kwargs):
    if name in ("pytest", "_pytest"):
        return fake_pytest
    return real_import(name, *args, **kwargs)


real_open = builtins.open


def fake_open(file, mode="r", *args, **kwargs):
    if any(flag in mode for flag in "wax") and str(file).endswith(".json"):
        file = "/dev/null"
    return real_open(file, mode, *args, **kwargs)


builtins.__import__ = fake_import
builtins.open = fake_open
builtins.print = lambda *args, **kwargs: None
builtins.sum = lambda *args, **kwargs: 30762

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
def build_cnn_model():
    return sum([])
