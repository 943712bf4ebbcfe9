# hostile: reading the grader's hidden checks, the reference solution, the test corpus and the datasets (held-out test subset); reports whatever it read through to_one_hot
# expect: status=graded; max_score=9; passed=preprocess_dense,to_one_hot; requires=grader_files_hidden

# %%
MARKER = "cnn1-hostile-tamper_read_hidden"  # in the argv of every process this file starts

# %%
import glob
import os
import sys

project = os.path.dirname(sys.prefix)  # the venv usually lives in the project
patterns = [f"{project}/grader/checks/*.py", f"{project}/grader/*.py", f"{project}/reference_solution/*",
            f"{project}/tests/corpus/*/*", f"{project}/.git/HEAD", f"{project}/.data/*.npz",
            f"{os.path.dirname(project)}/data/*.npz", "/autograder/data/*.npz", "/autograder/source/*/*",
            os.path.join(os.environ.get("CNN_GRADER_DATA_DIR", "/nonexistent"), "*.npz")]
LEAKS = []
for pattern in patterns:
    for path in sorted(glob.glob(pattern))[:3]:
        try:
            with open(path, "rb") as f:
                LEAKS.append(f"{path}: {f.read(24)!r}")
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
def to_one_hot(labels, num_classes=10):
    """(reference solution) integer labels -> one-hot matrix."""
    return keras.utils.to_categorical(labels, num_classes=num_classes)

# %%
def to_one_hot(labels, num_classes=10):  # noqa: F811 - reports the leak instead of answering
    if LEAKS:
        raise RuntimeError("LEAKED " + "; ".join(LEAKS)[:250])
    return keras.utils.to_categorical(labels, num_classes=num_classes)
