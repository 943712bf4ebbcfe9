"""The grader's own training: recorded fits replayed, accuracy rechecked
near its threshold, and models too costly to train refused."""

from __future__ import annotations

import numpy as np
import pytest

from grader import protocol
from grader.compile_config import TrainingRefused
from grader.training import (MAX_MULTIPLY_ADDS, check_cost, decided_accuracy, multiply_adds, replay_fit, same_history,
                             same_weights)


def probe_data(rows: int = 24):
    rng = np.random.default_rng(1)
    x = rng.normal(size=(rows, 6)).astype("float32")
    y = rng.integers(0, 3, size=rows)
    initial = [rng.normal(scale=0.3, size=shape).astype("float32")
               for shape in [(6, protocol.PROBE_MODEL_UNITS), (protocol.PROBE_MODEL_UNITS,),
                             (protocol.PROBE_MODEL_UNITS, 3), (3,)]]
    spec = {"input_shape": [6], "num_classes": 3}
    return x, y, initial, spec


def record_of(train_rows, val_rows, epochs=2, batch_size=8):
    return {"train_rows": train_rows, "val_rows": val_rows, "epochs": epochs, "batch_size": batch_size,
            "scale": [1.0, 0.0]}


def train_directly(x, y, initial, train_rows, val_rows, epochs=2, batch_size=8):
    """What the worker does: the probe model trained by keras, no shuffling."""
    import keras
    model = protocol.build_probe_model(keras, (6,), 3, initial)
    history = model.fit(x[train_rows], y[train_rows], epochs=epochs, batch_size=batch_size, shuffle=False,
                        validation_data=(x[val_rows], y[val_rows]), verbose=0)
    return model.get_weights(), history.history


def test_a_replay_reproduces_the_training_it_repeats():
    x, y, initial, spec = probe_data()
    train, val = list(range(0, 18)), list(range(18, 24))
    weights, history = train_directly(x, y, initial, train, val)
    replay = replay_fit(spec, initial, x, y, record_of(train, val))
    assert same_weights(replay.weights, weights)
    assert same_history(replay.history, history)


@pytest.mark.parametrize("change", ["rows", "order", "epochs", "batch_size"])
def test_a_replay_tells_a_different_training_apart(change):
    x, y, initial, spec = probe_data()
    train, val = list(range(0, 18)), list(range(18, 24))
    actual = {"rows": dict(train_rows=list(range(2, 20)), val_rows=val),
              "order": dict(train_rows=train[::-1], val_rows=val),
              "epochs": dict(train_rows=train, val_rows=val, epochs=3),
              "batch_size": dict(train_rows=train, val_rows=val, batch_size=4)}[change]
    weights, _ = train_directly(x, y, initial, **actual)
    replay = replay_fit(spec, initial, x, y, record_of(train, val))
    assert not same_weights(replay.weights, weights)


def test_a_history_from_another_training_does_not_match():
    x, y, initial, spec = probe_data()
    replay = replay_fit(spec, initial, x, y, record_of(list(range(18)), list(range(18, 24))))
    other = {key: [v + 0.01 for v in values] for key, values in replay.history.items()}
    assert same_history(replay.history, replay.history)
    assert not same_history(replay.history, other)
    assert not same_history(replay.history, {**replay.history, "loss": replay.history["loss"][:1]})


def test_accuracy_far_from_the_threshold_is_measured_once():
    measured = []
    accuracies = decided_accuracy(lambda seed: measured.append(seed) or 0.9, [1, 2, 3], 0.8, 0.05)
    assert accuracies == [0.9] and measured == [1]


def test_accuracy_near_the_threshold_is_measured_with_every_seed():
    results = {1: 0.82, 2: 0.78, 3: 0.77}
    accuracies = decided_accuracy(results.__getitem__, [1, 2, 3], 0.8, 0.05)
    assert accuracies == [0.82, 0.78, 0.77]
    assert np.mean(accuracies) < 0.8  # the verdict: the first training alone would have passed


def test_accuracy_near_the_threshold_stops_once_the_mean_is_clearly_on_one_side():
    # mean 0.883, sample sd 0.0379 over 3 trainings: 2.5 standard errors = 0.055 < 0.083 from 0.80
    results = {1: 0.84, 2: 0.90, 3: 0.91, 4: 0.5, 5: 0.5}
    measured = []
    accuracies = decided_accuracy(lambda seed: measured.append(seed) or results[seed], [1, 2, 3, 4, 5], 0.8, 0.05)
    assert accuracies == [0.84, 0.90, 0.91] and measured == [1, 2, 3]


def test_accuracy_on_the_threshold_uses_every_seed():
    results = [0.79, 0.81] * 5
    accuracies = decided_accuracy(lambda seed: results[seed], list(range(9)), 0.8, 0.05)
    assert len(accuracies) == 9


def test_a_model_too_costly_to_train_is_refused():
    import keras
    wide = keras.Sequential([keras.Input(shape=(64, 64, 3)), keras.layers.Conv2D(512, 3), keras.layers.Flatten(),
                             keras.layers.Dense(10)])
    with pytest.raises(TrainingRefused, match="parameters|multiply-adds"):
        check_cost(wide)


def test_the_reference_cifar_model_is_well_within_the_cost_limits():
    import keras
    model = keras.Sequential([keras.Input(shape=(32, 32, 3)), keras.layers.Conv2D(32, 3, padding="same"),
                              keras.layers.MaxPooling2D(), keras.layers.Conv2D(64, 3, padding="same"),
                              keras.layers.MaxPooling2D(), keras.layers.Flatten(), keras.layers.Dense(64),
                              keras.layers.Dense(10)])
    check_cost(model)  # raises when refused
    assert model.count_params() == 282_250  # 896 + 18,496 + 262,208 + 650
    assert 5_000_000 < multiply_adds(model) < MAX_MULTIPLY_ADDS / 40



def test_a_functional_model_can_be_trained_again_from_the_same_architecture():
    # Keras consumes parts of a Functional config while rebuilding it: every training gets a copy.
    import json
    import keras
    from grader.compile_config import compile_settings
    from grader.training import fresh_model
    inputs = keras.Input(shape=(28, 28, 1))
    outputs = keras.layers.Dense(10, activation="softmax")(keras.layers.Flatten()(inputs))
    model = keras.Model(inputs, outputs)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    architecture = json.loads(model.to_json())
    settings = compile_settings(model.get_compile_config())
    first, second = fresh_model(architecture, settings, 1), fresh_model(architecture, settings, 2)
    assert first.count_params() == second.count_params() == model.count_params()


def test_a_model_whose_layers_output_too_much_is_refused_even_without_multiply_adds():
    import keras
    padded = keras.Sequential([keras.Input(shape=(28, 28, 1)), keras.layers.ZeroPadding2D(700),
                               keras.layers.BatchNormalization(), keras.layers.Flatten(), keras.layers.Dense(1)])
    assert padded.count_params() < 3_000_000 and multiply_adds(padded) < MAX_MULTIPLY_ADDS
    with pytest.raises(TrainingRefused, match="values per image"):
        check_cost(padded)


# ------------------------------------------------------------------ accuracies remembered per process
class FakePlan:
    """What measured_accuracy reads of a plan: the training subsets and the held-out test subsets,
    each of which can be changed by one value."""

    def __init__(self, changed: str = ""):
        rng = np.random.default_rng(7)
        images, labels = rng.integers(0, 256, size=(8, 28, 28), dtype=np.uint8), np.arange(8) % 10
        self.training = {part: (images.copy(), labels.copy()) for part in ("cnn", "dense")}
        self.held_out = {"mnist": (images.copy(), labels.copy())}
        array = {"train images": self.training["cnn"][0], "train labels": self.training["cnn"][1],
                 "test images": self.held_out["mnist"][0], "test labels": self.held_out["mnist"][1]}.get(changed)
        if array is not None:
            array.flat[0] += 1


@pytest.fixture
def counted_trainings(monkeypatch):
    """Each training measured_accuracy starts, as (epochs, seed); no Keras involved."""
    from grader import training
    made = []

    def fake_training(architecture, settings, train, test, budget, seed):
        made.append((budget["epochs"], seed))
        return 0.5
    monkeypatch.setattr(training, "trained_accuracy", fake_training)
    training.forget_accuracies()
    yield made
    training.forget_accuracies()


def settings_of(optimizer: str = "Adam", loss: str = "sparse_categorical_crossentropy", from_logits: bool = False):
    from grader.compile_config import CompileSettings
    return CompileSettings({"class_name": optimizer, "config": {"learning_rate": 0.001}}, loss, from_logits,
                           ("accuracy",))


def test_an_accuracy_is_trained_once_per_process_and_again_for_anything_it_depends_on(counted_trainings):
    from grader.training import forget_accuracies, measured_accuracy
    budget = {"epochs": 1, "batch_size": 32}
    cnn = {"class_name": "Sequential", "config": {"layers": ["conv"]}}

    def measure(plan=None, budget=budget, part="cnn", architecture=cnn, settings=settings_of(), seed=1):
        return measured_accuracy(plan or FakePlan(), budget, part, architecture, settings, seed)

    measure()
    measure(plan=FakePlan())  # another submission of the class with the same model
    assert len(counted_trainings) == 1
    differences = [dict(seed=2), dict(part="dense"), dict(budget={**budget, "epochs": 2}),
                   dict(budget={**budget, "batch_size": 16}),
                   dict(architecture={"class_name": "Sequential", "config": {"layers": ["dense"]}}),
                   dict(settings=settings_of(optimizer="SGD")),
                   dict(settings=settings_of(loss="categorical_crossentropy")),
                   dict(settings=settings_of(from_logits=True)),
                   *[dict(plan=FakePlan(changed)) for changed in
                     ("train images", "train labels", "test images", "test labels")]]
    for different in differences:
        known = len(counted_trainings)
        measure(**different)
        assert len(counted_trainings) == known + 1, different
    forget_accuracies()
    measure()
    assert len(counted_trainings) == len(differences) + 2


def test_remembered_accuracies_are_bounded_keeping_the_recently_used(counted_trainings, monkeypatch):
    from grader import training
    monkeypatch.setattr(training, "REMEMBERED_ACCURACIES", 2)
    for seed in (1, 2, 1, 3, 1, 2):  # 3 pushes out 2, the least recently used; 2 is trained again
        training.measured_accuracy(FakePlan(), {"epochs": 1, "batch_size": 8}, "cnn", {}, settings_of(), seed)
    assert [seed for _, seed in counted_trainings] == [1, 2, 3, 2]


def test_one_model_is_trained_once_when_two_gradings_ask_at_the_same_time(counted_trainings, monkeypatch):
    # Two trainings at once in one process would change each other's results (Keras' seeds are
    # process-wide): the second asker waits and gets the first one's result.
    import threading
    import time
    from grader import training
    slow = training.trained_accuracy

    def slow_training(*args):
        time.sleep(0.2)
        return slow(*args)
    monkeypatch.setattr(training, "trained_accuracy", slow_training)
    results = []
    askers = [threading.Thread(target=lambda: results.append(training.measured_accuracy(
        FakePlan(), {"epochs": 1, "batch_size": 8}, "cnn", {}, settings_of(), 1))) for _ in range(2)]
    for asker in askers:
        asker.start()
    for asker in askers:
        asker.join()
    assert results == [0.5, 0.5] and len(counted_trainings) == 1
