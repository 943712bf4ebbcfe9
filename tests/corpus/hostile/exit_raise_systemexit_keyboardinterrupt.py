# hostile: raising SystemExit and KeyboardInterrupt from contract functions (and KeyboardInterrupt at top level)
# expect: status=graded; max_score=9; passed=preprocess_dense,to_one_hot; failed=find_misclassified,predict_labels
# expect: cell_error=KeyboardInterrupt; feedback~SystemExit; feedback~KeyboardInterrupt

# %%
MARKER = "cnn1-hostile-exit_raise_systemexit_keyboardinterrupt"  # in the argv of every process this file starts

# %%
import numpy as np
import keras


def preprocess_dense(images):
    """(reference solution) (N, 28, 28) integers -> (N, 784) floats equal to pixels / 255."""
    images = np.asarray(images)
    return images.reshape((len(images), 784)).astype('float32') / 255

# %%
raise KeyboardInterrupt

# %%
def to_one_hot(labels, num_classes=10):
    """(reference solution) integer labels -> one-hot matrix."""
    return keras.utils.to_categorical(labels, num_classes=num_classes)

# %%
def find_misclassified(predicted, actual):
    raise SystemExit(0)


def predict_labels(model, x):
    raise KeyboardInterrupt
