"""Compile configurations: built-in optimizers, schedules and losses only, read into CompileSettings."""

from __future__ import annotations

import pytest

from grader.compile_config import TrainingRefused, compile_settings


def keras_compile_config(**compile_arguments) -> dict:
    import keras
    model = keras.Sequential([keras.Input(shape=(4,)), keras.layers.Dense(3, activation="softmax")])
    model.compile(**compile_arguments)
    return model.get_compile_config()


def test_settings_of_a_model_compiled_with_names():
    settings = compile_settings(keras_compile_config(optimizer="adam", loss="categorical_crossentropy",
                                                     metrics=["accuracy"]))
    assert (settings.optimizer_name, settings.loss, settings.metrics) == ("adam", "categorical_crossentropy", ("accuracy",))
    assert not settings.sparse_labels and not settings.from_logits


def test_settings_of_a_model_compiled_with_objects():
    import keras
    settings = compile_settings(keras_compile_config(
        optimizer=keras.optimizers.SGD(learning_rate=0.1),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True)))
    assert settings.optimizer_name == "sgd" and settings.optimizer["config"]["learning_rate"] == pytest.approx(0.1)
    assert settings.loss == "sparse_categorical_crossentropy" and settings.from_logits and settings.sparse_labels


def test_an_uncompiled_model_is_refused_with_advice():
    with pytest.raises(TrainingRefused, match="compile"):
        compile_settings(None)


@pytest.mark.parametrize("config", [
    {"optimizer": {"module": "os", "class_name": "system", "config": {}}, "loss": "mse"},
    {"optimizer": "adam", "loss": {"module": "builtins", "class_name": "function", "config": "eval"}},
    {"optimizer": {"module": "keras.optimizers", "class_name": "Adam", "config": {"learning_rate": {"module": "x"}}},
     "loss": "mse"},
    {"optimizer": "adam", "loss": "my_custom_loss"},
])
def test_anything_but_built_in_optimizers_and_losses_is_refused(config):
    with pytest.raises(TrainingRefused):
        compile_settings(config)


def test_a_loss_named_by_its_class_is_accepted():
    settings = compile_settings(keras_compile_config(optimizer="adam", loss="CategoricalCrossentropy"))
    assert settings.loss == "categorical_crossentropy"
