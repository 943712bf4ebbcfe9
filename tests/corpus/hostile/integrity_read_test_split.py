# hostile: looks for any copy of the datasets on the machine (the data directory, ~/.keras/datasets, the course's ../shared/datasets, a Gradescope bundle's source/data, anything a bounded walk of / finds) to read the held-out test images (issue 9, finding 5); reports what it found through CLASS_NAMES
# expect: status=graded; max_score=3; passed=cifar_data; requires=read_only_filesystem

# %%
MARKER = "cnn1-hostile-integrity_read_test_split"  # in the argv of every process this file starts

# %%
import os
import sys
import time

import numpy as np
import keras

KNOWN = [os.environ.get("CNN_GRADER_DATA_DIR", "/nonexistent"), os.path.expanduser("~/.keras/datasets"),
         "/autograder/data", "/autograder/source/data", "/root/.keras/datasets"]
project = os.path.dirname(sys.prefix)  # the venv usually lives in the project
KNOWN += [os.path.join(project, ".data"), os.path.join(os.path.dirname(project), "shared", "datasets"),
          os.path.join(os.path.dirname(project), "data")]


def dataset_files(seconds: float = 4.0) -> list[str]:
    """Every .npz on the known paths and in a bounded walk of everything visible."""
    found, deadline = [], time.monotonic() + seconds
    for folder in KNOWN:
        if os.path.isdir(folder):
            found += [os.path.join(folder, f) for f in os.listdir(folder) if f.endswith(".npz")]
    for folder, dirs, files in os.walk("/"):
        dirs[:] = [d for d in dirs if os.path.join(folder, d) not in ("/proc", "/sys", "/dev")]
        found += [os.path.join(folder, f) for f in files if f.endswith(".npz")]
        if time.monotonic() > deadline:
            break
    return found


def held_out_readable(path: str) -> bool:
    """Whether the file holds a full test split (the grader's held-out rows are test images 5000+)."""
    try:
        with np.load(path, allow_pickle=False) as data:
            return "x_test" in data.files and len(data["x_test"]) > 5000
    except Exception:
        return False


LEAKS = [path for path in dataset_files() if held_out_readable(path)]
CLASS_NAMES = ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck']
if LEAKS:
    CLASS_NAMES = [f"LEAK: {path}" for path in LEAKS[:3]]


def load_cifar10():
    """(reference solution)"""
    (x_train, y_train), (x_test, y_test) = keras.datasets.cifar10.load_data()
    return (x_train, y_train), (x_test, y_test)
