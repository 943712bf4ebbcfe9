# hostile: os.kill of its parent (and of pid 1 and the parent's process group), at top level and inside a contract function
# expect: status=graded; max_score=9; passed=preprocess_dense,to_one_hot; failed=choose_loss
# expect: requires=pid_namespace|unprivileged_user

# %%
MARKER = "cnn1-hostile-exit_kill_parent"  # in the argv of every process this file starts

# %%
import numpy as np
import keras


def preprocess_dense(images):
    """(reference solution) (N, 28, 28) integers -> (N, 784) floats equal to pixels / 255."""
    images = np.asarray(images)
    return images.reshape((len(images), 784)).astype('float32') / 255

# %%
import os
import signal


def kill_the_grader():
    for target in (lambda: os.kill(os.getppid(), signal.SIGKILL), lambda: os.kill(1, signal.SIGKILL),
                   lambda: os.killpg(os.getpgid(os.getppid()), signal.SIGKILL)):
        try:
            target()
        except OSError:
            pass


kill_the_grader()

# %%
def to_one_hot(labels, num_classes=10):
    """(reference solution) integer labels -> one-hot matrix."""
    return keras.utils.to_categorical(labels, num_classes=num_classes)

# %%
def choose_loss(labels, num_classes):
    kill_the_grader()
    return "categorical_crossentropy"
