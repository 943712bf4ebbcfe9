# hostile: monkeypatching Keras at import time: count_params says 30762, fit (also the harness's saved original) trains nothing and reports perfect accuracy, evaluate and predict lie
# expect: status=graded; max_score=25; passed=preprocess_dense,to_one_hot,dense_architecture,dense_compile,dense_accuracy
# expect: failed=cnn_architecture,cnn_compile,cnn_accuracy; flagged=tampering

# %%
MARKER = "cnn1-hostile-tamper_keras"  # in the argv of every process this file starts

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
class FakeHistory:
    history = {"loss": [0.0], "accuracy": [1.0], "val_loss": [0.0], "val_accuracy": [1.0]}


def no_training(self, *args, **kwargs):
    return FakeHistory()


keras.Model.count_params = lambda self: 30762
keras.Model.fit = no_training
keras.Model._grader_original_fit = no_training
keras.Model.evaluate = lambda self, *args, **kwargs: [0.0, 1.0]
keras.Model.predict = lambda self, x, *args, **kwargs: np.eye(10)[np.zeros(len(x), dtype=int)]


def build_dense_model():
    """(reference solution: a correct model; only its training is sabotaged)"""
    model = keras.Sequential([
        keras.Input(shape=(784,)),
        keras.layers.Dense(128, activation='relu'),
        keras.layers.Dense(64, activation='relu'),
        keras.layers.Dense(10, activation='softmax'),
    ])
    model.compile(optimizer='adam', loss='categorical_crossentropy', metrics=['accuracy'])
    return model


def build_cnn_model():
    model = keras.Sequential([keras.Input(shape=(28, 28, 1)), keras.layers.Flatten(),
                              keras.layers.Dense(10, activation="softmax")])
    model.compile(optimizer="sgd", loss="mse", metrics=["accuracy"])
    return model
