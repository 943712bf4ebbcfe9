# hostile: returning objects whose __eq__ is always true (plain object, str subclass, ndarray subclass)
# expect: status=graded; max_score=9; passed=preprocess_dense,to_one_hot
# expect: failed=choose_loss,find_misclassified,preprocess_cnn,most_confused_pairs

# %%
MARKER = "cnn1-hostile-tamper_eq_always_true"  # in the argv of every process this file starts

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
class AlwaysEqual:
    def __eq__(self, other):
        return True

    def __ne__(self, other):
        return False

    __hash__ = object.__hash__


class EqualStr(str):
    __eq__ = lambda self, other: True
    __ne__ = lambda self, other: False
    __hash__ = str.__hash__


class EqualArray(np.ndarray):
    def __eq__(self, other):
        return np.ones(self.shape, dtype=bool)

    def __ne__(self, other):
        return np.zeros(self.shape, dtype=bool)


def choose_loss(labels, num_classes):
    return EqualStr("whatever")


def find_misclassified(predicted, actual):
    return AlwaysEqual()


def preprocess_cnn(images):
    return np.zeros((len(images), 28, 28, 1), dtype="float32").view(EqualArray)


def most_confused_pairs(cm, k=3):
    return [AlwaysEqual()] * k


CLASS_NAMES = AlwaysEqual()
