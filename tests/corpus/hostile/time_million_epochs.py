# hostile: training with millions of epochs: in a notebook cell (the grader's budget caps it) and inside train_model (stopped by the per-call time limit)
# expect: status=graded; max_score=9; passed=preprocess_dense,to_one_hot; failed=train_model; cell_errors=none
# expect: feedback~Timeout

# %%
MARKER = "cnn1-hostile-time_million_epochs"  # in the argv of every process this file starts

# %%
import numpy as np
import keras


def preprocess_dense(images):
    """(reference solution) (N, 28, 28) integers -> (N, 784) floats equal to pixels / 255."""
    images = np.asarray(images)
    return images.reshape((len(images), 784)).astype('float32') / 255

# %%
from tensorflow.keras.datasets import mnist

(x_train, y_train), _ = mnist.load_data()
demo = keras.Sequential([keras.Input(shape=(784,)), keras.layers.Dense(10, activation="softmax")])
demo.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
demo.fit(preprocess_dense(x_train), y_train, epochs=10_000_000, batch_size=32)

# %%
def to_one_hot(labels, num_classes=10):
    """(reference solution) integer labels -> one-hot matrix."""
    return keras.utils.to_categorical(labels, num_classes=num_classes)

# %%
def train_model(model, x, y, epochs=5, batch_size=32, validation_split=0.0):
    return model.fit(x, y, epochs=10**6, batch_size=batch_size, validation_split=validation_split)
