"""Free-form mode: the evidence the checks judge, read from the worker's trace (notebook_trace.py).

The trace is written in the student's process, so it is read as untrusted data and reduced to what
the grader can recompute: models are rebuilt from their exported architecture (allow-listed
layers) and counted here; rows are indices into the splits the grader itself served, checked for
range; each fit is repeated by the grader (replay.py), which recomputes its rows, scale, labels and
History from the data the fit trained on; fold structure is judged from those rows by the checks.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import numpy as np

from grader import protocol
from grader.artifacts import ArtifactError, ModelArtifact
from grader.checks.support import CheckContext, fail, flagged
from grader.compile_config import TrainingRefused, compile_settings
from grader.free_checks.replay import served_splits, verify_fits
from grader.results import TAMPERING, UNVERIFIED, Text

SPLIT_SIZES_KEY = "split_sizes"
CROSSENTROPY_FOR = {"one-hot": "categorical_crossentropy", "integer": "sparse_categorical_crossentropy"}


@dataclass
class Model:
    """One model the notebook built, rebuilt by the grader."""

    serial: int
    artifact: ModelArtifact
    keras_model: object | None = None
    problem: str = ""

    @property
    def layers(self) -> list:
        return list(self.keras_model.layers) if self.keras_model is not None else []

    def kinds(self) -> list[str]:
        return [type(layer).__name__ for layer in self.layers]

    def input_shape(self) -> tuple:
        try:
            return tuple(self.keras_model.input_shape[1:])
        except Exception:
            return ()

    def output(self) -> tuple[int | None, str]:
        """Units and activation of the last layer with an activation (Dense(10, softmax) -> (10, "softmax"))."""
        for layer in reversed(self.layers):
            if type(layer).__name__ == "Activation":
                activation = getattr(layer.activation, "__name__", "")
                units = self.keras_model.output_shape[-1] if self.keras_model is not None else None
                return units, activation
            if hasattr(layer, "units"):
                return layer.units, getattr(layer.activation, "__name__", "")
        return None, ""

    def parameters(self) -> int:
        return int(self.keras_model.count_params()) if self.keras_model is not None else -1

    def loss(self) -> str:
        try:
            return compile_settings(self.artifact.compile).loss
        except TrainingRefused:
            return ""

    def describe(self) -> str:
        """e.g. `#2 Conv2D(16, 3×3) → MaxPooling2D(2×2) → … → Dense(10, softmax) = 30,762 params`."""
        if self.keras_model is None:
            return f"#{self.serial} (could not be rebuilt: {self.problem})"
        parts = []
        for layer in self.layers:
            name = type(layer).__name__
            if name == "Conv2D":
                parts.append(f"Conv2D({layer.filters}, {'×'.join(map(str, layer.kernel_size))})")
            elif name == "MaxPooling2D":
                parts.append(f"MaxPooling2D({'×'.join(map(str, layer.pool_size))})")
            elif name == "Dense":
                parts.append(f"Dense({layer.units}, {getattr(layer.activation, '__name__', '')})")
            else:
                parts.append(name)
        shape = "×".join(map(str, self.input_shape()))
        return f"#{self.serial} input {shape}: " + " → ".join(parts) + f" = {self.parameters():,} params"


@dataclass
class Fit:
    """One recorded fit, its rows checked against the splits the grader served."""

    index: int
    cell: int
    model: int
    fresh: bool                        # no starting weight trained by an earlier fit (set by replay.py)
    split: str | None
    rows: np.ndarray
    rows_given: int
    scale: tuple[float, float]
    labels: dict
    validation_split: str | None
    validation_rows: np.ndarray | None
    validation_kind: str | None
    history: dict[str, list[float]]
    replay: dict | None = None         # what the harness kept to repeat the fit (untrusted)
    unverified: str = "not checked"    # why the grader could not establish the fit ("" once it did)
    loss: str = ""                     # the loss it trained with, once established
    found_by_split: dict[str, int] = field(default_factory=dict)  # rows of x found in each served split
    changed_arrays: frozenset[str] = frozenset()  # digests of the weight arrays it trained (a claim)

    def test_rows(self) -> int:
        """Rows of a test split among x's rows (x drawn mostly from a training split may hold some;
        a few can be chance: MNIST has a training image equal to a test image)."""
        return max([count for split, count in self.found_by_split.items() if split.endswith(":test")] + [0])

    @property
    def rows_found(self) -> int:
        return int((self.rows >= 0).sum())

    def scaled_to_unit(self) -> bool:
        a, b = self.scale
        return abs(a * 255.0 - 1.0) < 0.02 and abs(b) < 0.02

    def recognised(self) -> bool:
        """Most of its rows are rows of a served split (not data from elsewhere, not augmented)."""
        return self.split is not None and self.rows_given > 0 and self.rows_found >= 0.9 * self.rows_given


@dataclass
class Trace:
    models: list[Model] = field(default_factory=list)
    fits: list[Fit] = field(default_factory=list)
    evaluations: list[dict] = field(default_factory=list)
    confusion_matrices: list[dict] = field(default_factory=list)
    figures: list[dict] = field(default_factory=list)
    models_seen: int = 0

    def model(self, serial: int) -> Model | None:
        return next((m for m in self.models if m.serial == serial), None)

    def fits_of(self, serials: set[int]) -> list[Fit]:
        return [fit for fit in self.fits if fit.model in serials]


def trace_of(ctx: CheckContext) -> Trace:
    """The notebook's trace, read once per grading (the checks share it)."""
    if "free_trace" not in ctx.memo:
        ctx.memo["free_trace"] = _read_trace(ctx)
    return ctx.memo["free_trace"]


def records_of(ctx: CheckContext) -> Trace:
    """The trace, for a check that judges its fits: each fit is repeated by the grader
    (replay.verify_fits) and only fits it established count. A harness that saw its instruments
    changed, or a record its repetition contradicts, voids the check and flags the submission."""
    result = ctx.probe(protocol.PROBE_TRACE)
    if result.tampering:
        flagged(ctx, TAMPERING, "trace: " + "; ".join(result.tampering))
    trace = trace_of(ctx)
    if "free_contradictions" not in ctx.memo:
        budget = ctx.plan.spec["budget"]
        ctx.memo["free_contradictions"] = verify_fits(trace, served_splits(ctx.plan), budget["max_samples"],
                                                      budget["max_epochs"], ctx.memo.get("free_indexes"))
    if ctx.memo["free_contradictions"]:
        flagged(ctx, UNVERIFIED, "; ".join(ctx.memo["free_contradictions"])[:500])
    return trace


def _read_trace(ctx: CheckContext) -> Trace:
    result = ctx.probe(protocol.PROBE_TRACE)
    if result.status != protocol.STATUS_OK or not isinstance(result.value, dict):
        fail(Text("ノートブックのセルが最後まで実行されること", "the notebook's cells to run to the end"),
             f"no trace of the notebook ({result.status}: {result.error_type} {result.error_message})"[:300],
             Text("エラーで止まるセルや、終わらないセルがないか確認してください。",
                  "Look for cells that stop with an error or never finish."))
    value = result.value
    sizes = {f"{name}:{split}": len(arrays[f"x_{split}"]) for name, arrays in ctx.plan.notebook_data.items()
             for split in ("train", "test")}
    models = []
    for serial, artifact in enumerate(_list(value.get("models"))):
        model = Model(serial, artifact) if isinstance(artifact, ModelArtifact) else None
        if model is None:
            continue
        try:
            model.keras_model = artifact.build()
            model.keras_model.input_shape  # a model never built has none
        except (ArtifactError, AttributeError, ValueError) as exc:
            model.keras_model, model.problem = None, str(exc)[:200]
        models.append(model)
    fits = [fit for index, record in enumerate(_list(value.get("fits")))
            if (fit := _fit(index, record, sizes)) is not None]
    return Trace(models=models, fits=fits, evaluations=[e for e in _list(value.get("evaluations")) if isinstance(e, dict)],
                 confusion_matrices=[c for c in _list(value.get("confusion_matrices")) if isinstance(c, dict)],
                 figures=bounded_figures(value.get("figures_json")),
                 models_seen=int(value.get("models_seen") or 0) if isinstance(value.get("models_seen"), int) else 0)


def bounded_figures(figures_json) -> list[dict]:
    """The trace's figure descriptions within the protocol's limits: at most MAX_TRACED_FIGURES
    figures of at most MAX_FIGURE_AXES axes, MAX_TRACED_LINES lines in all, each line's y a list of
    at most MAX_LINE_POINTS numbers (a line that is not is left out), MAX_SHOWN_IMAGES images an
    axes and meshes a figure. The description is written in the student's process; unbounded, one
    of 750,000 lines took the learning-curve check 4 minutes."""
    try:
        figures = json.loads(figures_json) if isinstance(figures_json, str) else []
    except ValueError:
        return []
    kept, lines_left = [], protocol.MAX_TRACED_LINES
    for figure in [f for f in _list(figures) if isinstance(f, dict)][:protocol.MAX_TRACED_FIGURES]:
        axes = []
        for ax in [a for a in _list(figure.get("axes")) if isinstance(a, dict)][:protocol.MAX_FIGURE_AXES]:
            lines = [line for line in _list(ax.get("lines"))[:max(lines_left, 0)] if _plotted(line)]
            lines_left -= len(_list(ax.get("lines")))
            axes.append({**ax, "lines": lines, "images": _list(ax.get("images"))[:protocol.MAX_SHOWN_IMAGES],
                         "image_values": _list(ax.get("image_values"))[:protocol.MAX_SHOWN_IMAGES]})
        kept.append({**figure, "axes": axes, "meshes": _list(figure.get("meshes"))[:protocol.MAX_SHOWN_IMAGES],
                     "mesh_values": _list(figure.get("mesh_values"))[:protocol.MAX_SHOWN_IMAGES]})
    return kept


def _plotted(line) -> bool:
    """A line description whose y is a list of at most MAX_LINE_POINTS numbers."""
    values = line.get("y") if isinstance(line, dict) else None
    return isinstance(values, list) and len(values) <= protocol.MAX_LINE_POINTS \
        and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)


def _list(value) -> list:
    return value if isinstance(value, list) else []


def _rows(value, split: str | None, sizes: dict) -> np.ndarray:
    """Row indices of a split, any out of range (or of an unknown split) counted as not found."""
    if not isinstance(value, np.ndarray) or value.ndim != 1 or value.dtype.kind not in "iu" or split not in sizes:
        return np.full(0, -1, dtype=np.int64)
    rows = value.astype(np.int64)
    rows[(rows < -1) | (rows >= sizes[split])] = -1
    return rows


def _fit(index: int, record, sizes: dict) -> Fit | None:
    if not isinstance(record, dict):
        return None
    split = record.get("split") if record.get("split") in sizes else None
    validation = record.get("validation") if isinstance(record.get("validation"), dict) else None
    validation_split = validation.get("split") if validation and validation.get("split") in sizes else None
    history = record.get("history") if isinstance(record.get("history"), dict) else {}
    scale = record.get("scale") if isinstance(record.get("scale"), list) and len(record.get("scale")) == 2 else [1.0, 0.0]
    try:
        return Fit(index=index, cell=int(record.get("cell", -1)), model=int(record.get("model", -1)),
                   fresh=False, split=split, rows=_rows(record.get("rows"), split, sizes),
                   rows_given=int(record.get("rows_given") or 0), scale=(float(scale[0]), float(scale[1])),
                   labels=record.get("labels") if isinstance(record.get("labels"), dict) else {},
                   validation_split=validation_split,
                   validation_rows=_rows(validation.get("rows"), validation_split, sizes) if validation else None,
                   validation_kind=validation.get("kind") if validation else None,
                   history={str(k): [float(x) for x in v] for k, v in history.items()
                            if isinstance(v, list) and all(isinstance(x, (int, float)) for x in v)},
                   replay=record.get("replay") if isinstance(record.get("replay"), dict) else None,
                   found_by_split=_counts(record.get("found_by_split"), sizes),
                   changed_arrays=frozenset(d for d in _list(record.get("changed_arrays"))[:protocol.MAX_SEQUENCE_ITEMS]
                                            if isinstance(d, str)))
    except (TypeError, ValueError):
        return None


def _counts(value, sizes: dict) -> dict[str, int]:
    if not isinstance(value, dict):
        return {}
    return {split: count for split, count in value.items() if split in sizes and type(count) is int and count >= 0}


def loss_fits_labels(model: Model, fit: Fit) -> bool:
    """categorical_crossentropy with one-hot labels, sparse_categorical_crossentropy with integers,
    and the labels are the dataset's labels of those rows (the loss the fit trained with, once the
    grader repeated it; else the model's)."""
    wanted = CROSSENTROPY_FOR.get(str(fit.labels.get("format")))
    return wanted is not None and (fit.loss or model.loss()) == wanted and bool(fit.labels.get("matches"))


def listing(models: list[Model], limit: int = 6) -> str:
    """The models found, for feedback that says which one a check judged."""
    if not models:
        return "no Keras model was built"
    shown = "; ".join(m.describe() for m in models[:limit])
    return shown + (f"; … {len(models) - limit} more" if len(models) > limit else "")
