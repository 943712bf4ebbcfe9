# hostile: a chapter-style notebook (graded free-form) that trains one CIFAR-10 model once, then edits the harness's trace in place (found with gc, nothing replaced, so the harness sees no change) into a perfect 5-fold cross-validation with learning curves it never computed; the grader repeats each fit from the data it kept, the rows and Histories contradict the records, every check that judges fits is voided and flagged, and the model it really built is still judged
# expect: status=graded; max_score=10; passed=cifar_model; failed=cross_validation,learning_curves,error_analysis; flagged=unverified

# %%
MARKER = "cnn1-hostile-integrity_free_edited_records"  # in the argv of every process this file starts

# %%
import copy
import gc

import matplotlib.pyplot as plt
import numpy as np
from tensorflow import keras

(x_train, y_train), _ = keras.datasets.cifar10.load_data()
x = x_train[:1000].astype("float32") / 255.0
y = y_train[:1000].reshape(-1)


def build():
    model = keras.Sequential([keras.Input(shape=(32, 32, 3)), keras.layers.Conv2D(8, 3, activation="relu"),
                              keras.layers.MaxPooling2D(), keras.layers.Flatten(),
                              keras.layers.Dense(10, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


# %%
# The one real training: no folds at all.
models = [build() for _ in range(5)]
models[0].fit(x[:800], y[:800], validation_data=(x[800:], y[800:]), epochs=3, verbose=0)

# %%
# Rewrite the record of that fit into five folds, each on its own model, with made-up curves.
traces = [o for o in gc.get_objects() if type(o).__name__ == "NotebookTrace"]
for trace in traces:
    genuine = trace.fits[0]
    trace.fits.clear()
    for fold in range(5):
        record = copy.copy(genuine)
        record["model"] = trace.serial_of(models[fold])
        record["rows"] = np.arange(1000)[np.arange(1000) % 5 != fold]
        record["validation"] = {"kind": "data", "split": "cifar10:train",
                                "rows": np.arange(1000)[np.arange(1000) % 5 == fold]}
        record["history"] = {"loss": [2.0, 1.5, 1.2], "accuracy": [0.3, 0.45, 0.55],
                             "val_loss": [2.1, 1.7, 1.4], "val_accuracy": [0.28, 0.4, 0.5]}
        trace.fits.append(record)

# %%
plt.plot([2.0, 1.5, 1.2], label="train")
plt.plot([2.1, 1.7, 1.4], label="validation")
plt.xlabel("epoch")
plt.ylabel("loss")
plt.legend()
plt.show()
