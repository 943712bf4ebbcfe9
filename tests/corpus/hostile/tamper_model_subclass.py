# hostile: returning a keras.Sequential subclass that lies about count_params (and a model with a Lambda layer and a custom layer)
# expect: status=graded; max_score=9; passed=preprocess_dense,to_one_hot; failed=cnn_architecture,dense_architecture
# expect: feedback~not allowed

# %%
MARKER = "cnn1-hostile-tamper_model_subclass"  # in the argv of every process this file starts

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
class LyingModel(keras.Sequential):
    def count_params(self):
        return 30_762


class Identity(keras.layers.Layer):
    def call(self, x):
        return x


def build_cnn_model():
    model = LyingModel([keras.Input(shape=(28, 28, 1)), keras.layers.Flatten(),
                        keras.layers.Dense(10, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def build_dense_model():
    model = keras.Sequential([keras.Input(shape=(784,)), keras.layers.Lambda(lambda x: x), Identity(),
                              keras.layers.Dense(10, activation="softmax")])
    model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
    return model
