# hostile: returning, instead of models, objects whose __int__/__index__ say 30762 (and 109386), with count_params, summary and an always-true __eq__
# expect: status=graded; max_score=9; passed=preprocess_dense,to_one_hot
# expect: failed=dense_architecture,dense_compile,cnn_architecture,cnn_compile,dense_accuracy,cnn_accuracy

# %%
MARKER = "cnn1-hostile-tamper_int_30762"  # in the argv of every process this file starts

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
class Claims:
    def __init__(self, count):
        self.count = count

    def __int__(self):
        return self.count

    __index__ = __int__

    def __eq__(self, other):
        return True

    __hash__ = object.__hash__

    def count_params(self):
        return self.count

    def summary(self, *args, **kwargs):
        print(f"Total params: {self.count:,}")


def build_dense_model():
    return Claims(109_386)


def build_cnn_model():
    return Claims(30_762)
