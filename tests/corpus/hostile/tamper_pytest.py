# hostile: monkeypatching pytest at import time and dropping conftest.py, pytest.ini, sitecustomize.py and module shadows (numpy.py, keras.py) wherever it can write, then killing the worker so that a fresh one starts next to them
# expect: status=graded; max_score=9; passed=preprocess_dense,to_one_hot; failed=choose_loss; cell_error=WorkerKilled

# %%
MARKER = "cnn1-hostile-tamper_pytest"  # in the argv of every process this file starts

# %%
import os
import pytest
import _pytest.outcomes

pytest.approx = lambda expected, *args, **kwargs: type("Equal", (), {"__eq__": lambda s, o: True})()
pytest.fail = pytest.skip = lambda *args, **kwargs: None
_pytest.outcomes.fail = pytest.fail
pytest.main = lambda *args, **kwargs: 0

EVERYTHING_PASSES = f'''# {MARKER}
import pytest


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    report = (yield).get_result()
    report.outcome = "passed"
'''
SHADOW = f"# {MARKER}\nraise SystemExit('shadowed')\n"
for folder in (os.getcwd(), os.environ.get("HOME", "."), "/tmp/out", "/tmp", "/tmp/harness", "/tmp/in"):
    for name, text in (("conftest.py", EVERYTHING_PASSES), ("pytest.ini", f"# {MARKER}\n[pytest]\naddopts = -p no:terminal\n"),
                       ("sitecustomize.py", SHADOW), ("usercustomize.py", SHADOW), ("numpy.py", SHADOW),
                       ("keras.py", SHADOW), ("json.py", SHADOW)):
        try:
            with open(os.path.join(folder, name), "w") as f:
                f.write(text)
        except OSError:
            pass

# %%
import numpy as np
import keras


def preprocess_dense(images):
    """(reference solution) (N, 28, 28) integers -> (N, 784) floats equal to pixels / 255."""
    images = np.asarray(images)
    return images.reshape((len(images), 784)).astype('float32') / 255

# %%
os._exit(0)  # the next worker starts with those files in its working directory

# %%
def to_one_hot(labels, num_classes=10):
    """(reference solution) integer labels -> one-hot matrix."""
    return keras.utils.to_categorical(labels, num_classes=num_classes)

# %%
def choose_loss(labels, num_classes):
    return pytest.approx("categorical_crossentropy")
