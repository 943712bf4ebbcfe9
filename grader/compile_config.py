"""The compile configuration of a submitted model, validated against allow-lists: what the compile
checks read and what the grader's own training compiles with. Shared with the student kit."""

from __future__ import annotations

from dataclasses import dataclass

OPTIMIZERS = {"Adam", "AdamW", "SGD", "RMSprop", "Adagrad", "Adadelta", "Adamax", "Nadam", "Ftrl", "Lion"}
SCHEDULES = {"ExponentialDecay", "PiecewiseConstantDecay", "PolynomialDecay", "InverseTimeDecay",
             "CosineDecay", "CosineDecayRestarts"}
LOSS_CLASSES = {"CategoricalCrossentropy": "categorical_crossentropy",
                "SparseCategoricalCrossentropy": "sparse_categorical_crossentropy",
                "BinaryCrossentropy": "binary_crossentropy", "MeanSquaredError": "mean_squared_error",
                "MeanAbsoluteError": "mean_absolute_error", "KLDivergence": "kl_divergence",
                "CategoricalHinge": "categorical_hinge", "Hinge": "hinge", "Poisson": "poisson"}
LOSS_NAMES = set(LOSS_CLASSES.values()) | {"mse", "mae", "categorical_focal_crossentropy", "squared_hinge",
                                           "binary_focal_crossentropy", "kld", "log_cosh", "huber"}


class TrainingRefused(Exception):
    """The grader will not compile or train this model; str() says why (for the student)."""


@dataclass(frozen=True)
class CompileSettings:
    """The settings a model was compiled with, validated: what the compile checks read and what the
    grader's own training uses."""

    optimizer: dict          # {"class_name": ..., "config": {...}} of a built-in optimizer
    loss: str                # canonical name, e.g. "categorical_crossentropy"
    from_logits: bool
    metrics: tuple[str, ...]

    @property
    def optimizer_name(self) -> str:
        return str(self.optimizer["class_name"]).lower()

    @property
    def sparse_labels(self) -> bool:
        return self.loss.startswith("sparse")


def compile_settings(config) -> CompileSettings:
    """Validate the compile configuration a model exported (Keras' get_compile_config())."""
    if not isinstance(config, dict):
        raise TrainingRefused("the model is not compiled (call model.compile(...) before returning it)")
    return CompileSettings(optimizer=_optimizer(config.get("optimizer")), loss=_loss(config.get("loss")),
                           from_logits=_from_logits(config.get("loss")), metrics=_metrics(config.get("metrics")))


def _optimizer(value) -> dict:
    if isinstance(value, str):
        matches = [name for name in OPTIMIZERS if name.lower() == value.lower()]
        if not matches:
            raise TrainingRefused(f"optimizer {value[:40]!r} is not a built-in Keras optimizer")
        return {"class_name": matches[0], "config": {}}
    if not isinstance(value, dict) or value.get("class_name") not in OPTIMIZERS \
            or value.get("module") not in ("keras.optimizers", None):
        raise TrainingRefused("the optimizer is not a built-in Keras optimizer")
    config = value.get("config") if isinstance(value.get("config"), dict) else {}
    clean = {}
    for key, item in config.items():
        if key == "learning_rate" and isinstance(item, dict):
            clean[key] = _schedule(item)
        elif isinstance(item, (bool, int, float, str, type(None))):
            clean[str(key)] = item
        else:
            raise TrainingRefused(f"optimizer setting {str(key)[:30]!r} is not a plain value")
    return {"class_name": value["class_name"], "config": clean}


def _schedule(value: dict) -> dict:
    if value.get("class_name") not in SCHEDULES or value.get("module") not in ("keras.optimizers.schedules", None):
        raise TrainingRefused("the learning-rate schedule is not a built-in Keras schedule")
    config = value.get("config") if isinstance(value.get("config"), dict) else {}
    if not all(isinstance(v, (bool, int, float, str, type(None), list)) for v in config.values()):
        raise TrainingRefused("the learning-rate schedule has settings that are not plain values")
    return {"module": "keras.optimizers.schedules", "class_name": value["class_name"], "config": config,
            "registered_name": None}


def _loss(value) -> str:
    if isinstance(value, str) and value.lower() in LOSS_NAMES:
        return {"mse": "mean_squared_error", "mae": "mean_absolute_error", "kld": "kl_divergence"}.get(
            value.lower(), value.lower())
    if isinstance(value, str) and value in LOSS_CLASSES:  # loss="CategoricalCrossentropy" is accepted by Keras
        return LOSS_CLASSES[value]
    if isinstance(value, dict) and value.get("class_name") in LOSS_CLASSES \
            and value.get("module") in ("keras.losses", None):
        return LOSS_CLASSES[value["class_name"]]
    if isinstance(value, dict) and value.get("class_name") == "function" \
            and value.get("module") in ("keras.losses", "keras.src.losses.losses") \
            and str(value.get("config")) in LOSS_NAMES:
        return str(value["config"])
    shown = value if isinstance(value, str) else (value or {}).get("class_name") if isinstance(value, dict) else type(value).__name__
    raise TrainingRefused(f"loss {str(shown)[:60]!r} is not a built-in Keras loss")


def _from_logits(value) -> bool:
    if isinstance(value, dict) and isinstance(value.get("config"), dict):
        return bool(value["config"].get("from_logits", False))
    return False


def _metrics(value) -> tuple[str, ...]:
    items = value if isinstance(value, list) else [] if value is None else [value]
    names = []
    for item in items[:20]:
        if isinstance(item, str):
            names.append(item[:60])
        elif isinstance(item, dict):
            config = item.get("config")
            name = config.get("name") if isinstance(config, dict) else config
            names.append(str(name or item.get("class_name", ""))[:60])
    return tuple(names)
