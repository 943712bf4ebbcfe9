# hostile: a chapter-style notebook (graded free-form) that replaces the harness's trace recorder so that its fits leave made-up records (a perfect 5-fold cross-validation it never ran); the harness sees its recorder replaced and every check that believes the records is voided and flagged, while the model it really built is still judged
# expect: status=graded; max_score=10; passed=dense_model; failed=dense_training,cross_validation,learning_curves,error_analysis; flagged=tampering

# %%
MARKER = "cnn1-hostile-integrity_free_forged_trace"  # in the argv of every process this file starts

# %%
import sys

import numpy as np
from tensorflow import keras

trace = sys.modules.get("notebook_trace")
if trace is not None:
    def forged(self, model, arguments):
        """A fold of a cross-validation that never ran."""
        serial = self.serial_of(model)
        fold = len(self.fits)
        record = {"cell": 0, "model": serial, "fresh": True, "split": "cifar10:train",
                  "rows": np.arange(1000)[np.arange(1000) % 5 != fold], "rows_found": 800, "rows_given": 800,
                  "scale": [1 / 255, 0.0], "labels": {"format": "integer", "matches": True},
                  "validation": {"kind": "data", "split": "cifar10:train", "rows": np.arange(1000)[np.arange(1000) % 5 == fold]},
                  "epochs": 1, "batch_size": 32, "loss": "sparse_categorical_crossentropy"}
        self.fits.append(record)
        return record

    trace.NotebookTrace.record_fit = forged

# %%
(x_train, y_train), _ = keras.datasets.mnist.load_data()
x = x_train[:256].reshape(-1, 784) / 255.0
y = keras.utils.to_categorical(y_train[:256], 10)
for fold in range(5):
    model = keras.Sequential([keras.Input(shape=(784,)), keras.layers.Dense(10, activation="softmax")])
    model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
    model.fit(x, y, epochs=1, verbose=0)
