# hostile: trains nothing: appends fit records it made up to the harness's recorder, returns made-up Histories, and makes an SGD/MSE model report adam and categorical_crossentropy by assigning model.optimizer and model.loss (issue 9, finding 2)
# expect: status=graded; max_score=15; passed=preprocess_dense,to_one_hot,dense_architecture
# expect: failed=dense_compile,dense_accuracy,train_model,cross_validation_folds,cross_validation_fresh_model,cross_validation_summary
# expect: flagged=tampering; flagged=unverified

# %%
MARKER = "cnn1-hostile-integrity_fake_fit_records"  # in the argv of every process this file starts

# %%
import hashlib
import sys

import numpy as np
import keras
from keras import layers


def preprocess_dense(images):
    """(reference solution)"""
    images = np.asarray(images)
    return images.reshape((len(images), 784)).astype('float32') / 255


def to_one_hot(labels, num_classes=10):
    """(reference solution)"""
    return keras.utils.to_categorical(labels, num_classes=num_classes)


def build_dense_model():
    model = keras.Sequential([keras.Input(shape=(784,)), layers.Dense(128, activation='relu'),
                              layers.Dense(64, activation='relu'), layers.Dense(10, activation='softmax')])
    model.compile(optimizer='sgd', loss='mse', metrics=['accuracy'])
    # what the old grader read: two attribute assignments turned SGD/MSE into adam/categorical
    model.optimizer = keras.optimizers.Adam()
    model.loss = 'categorical_crossentropy'
    return model


# %%
def recorder():
    """The harness's FitRecorder, found in the closure of the fit wrapper it installed (not among
    gc.get_objects(): the harness freezes what exists after importing Keras, which hides it there)."""
    for cell in keras.Model.fit.__closure__ or ():
        if type(cell.cell_contents).__name__ == "FitRecorder":
            return cell.cell_contents
    raise RuntimeError("no recorder")


def digest(model):
    return sys.modules["protocol"].weights_digest([np.asarray(w) for w in model.get_weights()])


def fake_fit(model, train_rows, val_rows, epochs, batch_size):
    """A record that says model.fit ran, with a History of plausible numbers; no training at all."""
    rec = recorder()
    rec.invocations += 1  # as the wrapper would count it
    before = digest(model)
    rec.calls.append({"model": rec.serial_of(model), "epochs": epochs, "batch_size": batch_size,
                      "validation_split": 0.0, "train_rows": train_rows,
                      "val_rows": val_rows, "scale": [1.0, 0.0], "other_arguments": [],
                      "weights_before": before, "weights_after": hashlib.sha256(before.encode()).hexdigest()[:24]})
    history = keras.callbacks.History()
    history.history = {"loss": [1.0 - 0.1 * e for e in range(epochs)], "accuracy": [0.5] * epochs,
                       "val_loss": [1.1 - 0.1 * e for e in range(epochs)], "val_accuracy": [0.4] * epochs}
    return history


def train_model(model, x, y, epochs=5, batch_size=32, validation_split=0.0):
    cut = len(x) - int(len(x) * validation_split)
    return fake_fit(model, list(range(cut)), list(range(cut, len(x))), epochs, batch_size)


def cross_validate(images, labels, build_fn=None, n_splits=5, epochs=10, batch_size=64, seed=0):
    from sklearn.model_selection import KFold
    histories = []
    for train_idx, val_idx in KFold(n_splits, shuffle=True, random_state=seed).split(images):
        histories.append(fake_fit(build_fn(), train_idx.tolist(), val_idx.tolist(), epochs, batch_size).history)
    accuracies = [h["val_accuracy"][-1] for h in histories]
    return {"histories": histories, "val_accuracy": accuracies, "val_loss": [h["val_loss"][-1] for h in histories],
            "mean_accuracy": float(np.mean(accuracies)), "std_accuracy": float(np.std(accuracies))}
