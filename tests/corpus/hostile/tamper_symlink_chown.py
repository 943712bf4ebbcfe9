# hostile: planting symbolic links (in its working directory and output folder) to files and folders outside, then killing the worker, so that the grader, preparing the next worker as root, would chmod/chown the link targets
# expect: status=graded; max_score=9; passed=preprocess_dense,to_one_hot; cell_error=WorkerKilled

# %%
MARKER = "cnn1-hostile-tamper_symlink_chown"  # in the argv of every process this file starts

# %%
import numpy as np
import keras


def preprocess_dense(images):
    """(reference solution) (N, 28, 28) integers -> (N, 784) floats equal to pixels / 255."""
    images = np.asarray(images)
    return images.reshape((len(images), 784)).astype('float32') / 255

# %%
import os

SENTINEL = "/tmp/cnn1-hostile-sentinel"
# Only the test's sentinel is targeted: a grader with this bug would hand these files to the
# worker's user (a real attack would target the grader's checks or /etc).
targets = {"target_file": f"{SENTINEL}/target.txt", "target_dir": f"{SENTINEL}/protected"}
for folder in (os.getcwd(), "/tmp/out"):
    for name, target in targets.items():
        try:
            os.symlink(target, os.path.join(folder, name))
        except OSError:
            pass
    try:
        os.link(f"{SENTINEL}/target.txt", os.path.join(folder, "hardlink"))
    except OSError:
        pass

# %%
def to_one_hot(labels, num_classes=10):
    """(reference solution) integer labels -> one-hot matrix."""
    return keras.utils.to_categorical(labels, num_classes=num_classes)

# %%
os._exit(0)  # the grader prepares a fresh worker: its chmod/chown must not follow the links
