"""Read what the worker wrote, as untrusted data.

Every file is checked before use: JSON of bounded size and depth, `.npy` arrays loaded with
`allow_pickle=False` and bounded in size, file names that stay inside the probe's folder, Keras
models rebuilt from architecture JSON whose layer classes are on an allow-list (no Lambda, no
custom objects) and weights from an `.npz` of plain arrays. Nothing is unpickled or imported.
"""

from __future__ import annotations

import base64
import copy
import json
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from . import protocol
from .protocol import MAX_ARRAY_BYTES, MAX_JSON_BYTES, MAX_PNG_BYTES

SAFE_NAME = protocol.VALUE_FILE
ALLOWED_LAYERS = {
    "InputLayer", "Conv2D", "MaxPooling2D", "AveragePooling2D", "GlobalAveragePooling2D",
    "GlobalMaxPooling2D", "Dense", "Flatten", "Dropout", "Activation", "BatchNormalization",
    "Reshape", "ReLU", "Softmax", "SpatialDropout2D", "ZeroPadding2D", "Rescaling",
}
ALLOWED_MODELS = {"Sequential", "Functional"}
# Every serialised object inside an architecture (initializers, regularizers, constraints, dtype
# policies) must come from these modules and be one of these classes: deserialising is then only
# ever building a built-in Keras object, never calling a function named by the submission.
ALLOWED_NESTED = {
    "keras": {"DTypePolicy"},
    "keras.initializers": {"GlorotUniform", "GlorotNormal", "HeUniform", "HeNormal", "LecunUniform",
                           "LecunNormal", "Zeros", "Ones", "Constant", "RandomNormal", "RandomUniform",
                           "TruncatedNormal", "VarianceScaling", "Orthogonal", "Identity"},
    "keras.regularizers": {"L1", "L2", "L1L2", "OrthogonalRegularizer"},
    "keras.constraints": {"MaxNorm", "MinMaxNorm", "NonNeg", "UnitNorm"},
}
ACTIVATIONS = {"relu", "softmax", "sigmoid", "tanh", "linear", "elu", "selu", "softplus", "softsign",
               "swish", "silu", "gelu", "relu6", "leaky_relu", "log_softmax", "hard_sigmoid", "exponential",
               "mish", "hard_silu", "hard_swish"}


# What the grader reads of one submission's artifacts at most, all files together: a submission
# can make many results refer to one large file, each within its own limit.
MAX_READ_BYTES = 512 * 1024 * 1024
MAX_READ_VALUES = 200_000


class ArtifactError(Exception):
    """A worker file is missing, malformed or not allowed; str() says which and why."""


class ReadBudget:
    """The bytes and values the grader may still read from one submission's artifacts."""

    def __init__(self, max_bytes: int = MAX_READ_BYTES, max_values: int = MAX_READ_VALUES) -> None:
        self.bytes_left = max_bytes
        self.values_left = max_values

    def spend(self, nbytes: int = 0, values: int = 0) -> None:
        self.bytes_left -= nbytes
        self.values_left -= values
        if self.bytes_left < 0:
            raise ArtifactError("the results together are larger than the grader reads of one submission")
        if self.values_left < 0:
            raise ArtifactError("the results together hold more values than the grader reads of one submission")


@dataclass
class ProbeResult:
    """One probe as the worker reported it: "ok" with a value, "error", "missing" or "crashed"."""

    status: str
    value: Any = None
    error_type: str = ""
    error_message: str = ""
    tampering: list[str] = field(default_factory=list)  # what the harness saw of itself being changed


@dataclass
class ModelArtifact:
    """A model the worker exported; `build()` rebuilds it in the grader, safely."""

    architecture: dict
    weights: list[np.ndarray]
    compile: dict | None               # Keras' get_compile_config(), unvalidated (see grader.training)
    compiled_objects: dict = field(default_factory=dict)  # optimizer and loss the model held
    error: str = ""
    _model: Any = field(default=None, repr=False, compare=False)

    def layer_classes(self) -> list[str]:
        return [layer.get("class_name", "?") for layer in self.architecture.get("config", {}).get("layers", [])]

    def build(self):
        """The Keras model with its weights, or ArtifactError if the architecture is not allowed.
        Built once: several checks read the same model."""
        if self._model is None:
            self._model = self._rebuild()
        return self._model

    def _rebuild(self):
        if self.error:
            raise ArtifactError(self.error)
        _check_architecture(self.architecture)
        import keras
        try:
            # Keras consumes parts of a Functional model's config: it gets a copy, the artifact keeps its own.
            model = keras.saving.deserialize_keras_object(copy.deepcopy(self.architecture), safe_mode=True)
            model.set_weights(self.weights)
        except Exception as exc:
            raise ArtifactError(f"model could not be rebuilt: {type(exc).__name__}: {str(exc)[:200]}") from None
        return model


@dataclass
class FigureArtifact:
    axes: list[dict]
    legends: list[list[str]]
    png: bytes = b""

    def png_base64(self) -> str:
        return base64.b64encode(self.png).decode("ascii") if self.png else ""


@dataclass
class HistoryArtifact:
    history: dict


@dataclass
class Opaque:
    """A value of a type the grader does not accept (reported by type name only)."""

    type_name: str


@dataclass
class WorkerArtifacts:
    probes: dict[str, ProbeResult] = field(default_factory=dict)
    cell_errors: list[dict] = field(default_factory=list)
    notebook_figures: list[bytes] = field(default_factory=list)


def read_artifacts(out_dir: Path, probe_ids: list[str], crashed: dict[str, str]) -> WorkerArtifacts:
    """All probe results, cell errors and notebook figures the worker left in `out_dir`, read
    within one ReadBudget for the whole submission."""
    artifacts = WorkerArtifacts()
    budget = ReadBudget()
    for probe_id in probe_ids:
        if probe_id in crashed:
            artifacts.probes[probe_id] = ProbeResult(protocol.STATUS_CRASHED, error_type=crashed[probe_id])
            continue
        artifacts.probes[probe_id] = read_probe(out_dir / protocol.PROBES_DIR / probe_id, budget)
    artifacts.cell_errors = _read_cell_errors(out_dir / protocol.CELLS_FILE)
    for index in range(protocol.MAX_NOTEBOOK_FIGURES):
        try:
            png = _read_png(out_dir / protocol.NOTEBOOK_FIGURE.format(index), budget)
        except ArtifactError:
            break  # the budget is spent: the feedback page goes without the rest of the figures
        if png:
            artifacts.notebook_figures.append(png)
    return artifacts


def read_probe(folder: Path, budget: ReadBudget) -> ProbeResult:
    """One probe's result.json and the files it refers to, validated."""
    try:
        result = _read_json(folder / protocol.RESULT_FILE, budget)
        if not isinstance(result, dict) or result.get("status") not in protocol.WORKER_STATUSES:
            raise ArtifactError(f"{protocol.RESULT_FILE} has no valid status")
        tampering = _tampering_notes(result.get("tampering"))
        if result["status"] != protocol.STATUS_OK:
            error = result.get("error") if isinstance(result.get("error"), dict) else {}
            return ProbeResult(result["status"], error_type=str(error.get("type", ""))[:100],
                               error_message=str(error.get("message", ""))[:500], tampering=tampering)
        return ProbeResult(protocol.STATUS_OK, value=_decode(result.get("value"), folder, 0, budget),
                           tampering=tampering)
    except ArtifactError as exc:
        return ProbeResult(protocol.STATUS_INVALID, error_type="InvalidArtifact", error_message=str(exc))


def read_answered_probe(folder: Path, budget: ReadBudget) -> ProbeResult | None:
    """A probe's result while the worker may still be running: None until a complete result.json
    is there (the worker writes it last; a half-written one does not parse)."""
    path = folder / protocol.RESULT_FILE
    if path.is_symlink() or not path.is_file():
        return None
    result = read_probe(folder, budget)
    return None if result.status == protocol.STATUS_INVALID else result


def _tampering_notes(notes: Any) -> list[str]:
    return [str(note)[:200] for note in notes[:10]] if isinstance(notes, list) else []


def _read_json(path: Path, budget: ReadBudget | None = None) -> Any:
    if path.is_symlink() or not path.is_file():
        raise ArtifactError(f"{path.name} is missing")
    size = path.stat().st_size
    if size > MAX_JSON_BYTES:
        raise ArtifactError(f"{path.name} is larger than {MAX_JSON_BYTES} bytes")
    if budget is not None:
        budget.spend(nbytes=size * 10)  # parsed JSON takes about ten times its size in memory
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise ArtifactError(f"{path.name} is not valid JSON ({type(exc).__name__})") from None


def _file(folder: Path, name: Any) -> Path:
    if not isinstance(name, str) or not SAFE_NAME.match(name):
        raise ArtifactError(f"file name {str(name)[:40]!r} is not allowed")
    path = folder / name
    if path.is_symlink() or not path.is_file():
        raise ArtifactError(f"{name} is missing")
    return path


def load_array(path: Path, budget: ReadBudget | None = None) -> np.ndarray:
    """An .npy of plain numbers, never pickled objects."""
    size = path.stat().st_size
    if size > MAX_ARRAY_BYTES:
        raise ArtifactError(f"{path.name} is larger than {MAX_ARRAY_BYTES} bytes")
    if budget is not None:
        budget.spend(nbytes=size)
    try:
        _check_npy_header(path, size)
        array = np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError, MemoryError) as exc:
        raise ArtifactError(f"{path.name} is not a plain .npy array ({str(exc)[:80]})") from None
    if not isinstance(array, np.ndarray) or array.dtype.kind not in "biufcSU":
        raise ArtifactError(f"{path.name} holds {getattr(array, 'dtype', '?')}, not numbers")
    return array


_NPY_HEADER_READERS = {(1, 0): np.lib.format.read_array_header_1_0, (2, 0): np.lib.format.read_array_header_2_0}


def _check_npy_header(path: Path, size: int) -> None:
    """Refuse an .npy whose header claims more data than the file holds, before anything is allocated
    for it (a header may claim any shape, e.g. 8 TiB in a file of a few hundred bytes)."""
    with path.open("rb") as f:
        version = np.lib.format.read_magic(f)
        if version not in _NPY_HEADER_READERS:
            raise ValueError(f".npy format version {version} is not supported")
        shape, _, dtype = _NPY_HEADER_READERS[version](f)
        elements = int(np.prod(shape, dtype=object))
        claimed = elements * dtype.itemsize
        if dtype.hasobject or claimed != size - f.tell():
            raise ValueError(f"its header claims {claimed} bytes of {dtype}, the file holds {size - f.tell()}")
        if elements and not dtype.itemsize:  # 'S0' or 'U0': any number of elements in no bytes
            raise ValueError(f"its header claims {elements} elements of {dtype}, which has no size")


def _decode(node: Any, folder: Path, depth: int, budget: ReadBudget) -> Any:
    if depth > protocol.MAX_DEPTH + 2 or not isinstance(node, dict):
        raise ArtifactError("malformed value")
    budget.spend(values=1)
    kind = node.get("kind")
    if kind == protocol.KIND_JSON:
        value = node.get("value")
        if not isinstance(value, (type(None), bool, int, float, str)):
            raise ArtifactError("malformed scalar")
        return value
    if kind == protocol.KIND_SCALAR:  # a numpy scalar; its value is what matters
        value = node.get("value")
        if not isinstance(value, (bool, int, float)):
            raise ArtifactError("malformed scalar")
        return value
    if kind == protocol.KIND_NDARRAY:
        return load_array(_file(folder, node.get("file")), budget)
    if kind == protocol.KIND_SEQ:
        items = [_decode(item, folder, depth + 1, budget) for item in _list(node.get("items"))]
        return tuple(items) if node.get("type") == "tuple" else items
    if kind == protocol.KIND_DICT:
        return {str(pair[0]): _decode(pair[1], folder, depth + 1, budget)
                for pair in _list(node.get("items")) if isinstance(pair, list) and len(pair) == 2}
    if kind == protocol.KIND_HISTORY:
        return HistoryArtifact(_decode(node.get("history"), folder, depth + 1, budget))
    if kind == protocol.KIND_MODEL:
        return _decode_model(node, folder, budget)
    if kind == protocol.KIND_FIGURE:
        png = folder / node["png"] if isinstance(node.get("png"), str) and SAFE_NAME.match(node["png"]) else None
        return FigureArtifact(axes=_list(node.get("axes")), legends=_list(node.get("legends")),
                              png=_read_png(png, budget) if png else b"")
    if kind == protocol.KIND_OBJECT:
        return Opaque(str(node.get("type", "?"))[:80])
    raise ArtifactError(f"unknown value kind {str(kind)[:20]!r}")


def _list(value: Any) -> list:
    if not isinstance(value, list):
        raise ArtifactError("malformed list")
    return value


def _decode_model(node: dict, folder: Path, budget: ReadBudget | None = None) -> ModelArtifact:
    if node.get("error"):
        return ModelArtifact({}, [], None, error=f"the model could not be exported: {str(node['error'])[:200]}")
    name = node.get("file")
    architecture = _read_json(_file(folder, f"{name}.json"), budget)
    weights_path = _file(folder, f"{name}.weights.npz")
    unpacked = _unpacked_bytes(weights_path)
    if weights_path.stat().st_size > MAX_ARRAY_BYTES or unpacked > MAX_ARRAY_BYTES:
        raise ArtifactError("model weights are too large")
    if budget is not None:
        budget.spend(nbytes=max(unpacked, weights_path.stat().st_size))
    try:
        with np.load(weights_path, allow_pickle=False) as archive:
            weights = [archive[f"arr_{i}"] for i in range(len(archive.files))]
    except (ValueError, OSError, KeyError, MemoryError, zipfile.BadZipFile) as exc:
        raise ArtifactError(f"model weights are not plain arrays ({str(exc)[:80]})") from None
    config = node.get("compile") if isinstance(node.get("compile"), dict) else None
    objects = node.get("compiled_objects") if isinstance(node.get("compiled_objects"), dict) else {}
    return ModelArtifact(architecture if isinstance(architecture, dict) else {}, weights, config,
                         {str(k): str(v)[:100] for k, v in objects.items()})


def _unpacked_bytes(path: Path) -> int:
    """The uncompressed size an .npz declares: a small compressed file can unpack to gigabytes
    (zipfile never returns more than the declared size, so this bounds what loading reads)."""
    try:
        with zipfile.ZipFile(path) as archive:
            return sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, OSError):
        return 0  # not a zip: np.load reports it


def _check_architecture(architecture: dict) -> None:
    """Only Sequential/Functional models of built-in layers; anything else is refused."""
    if architecture.get("class_name") not in ALLOWED_MODELS:
        raise ArtifactError(f"model class {str(architecture.get('class_name'))[:40]!r} is not allowed "
                            "(use keras.Sequential or the functional API)")
    if architecture.get("module") not in ("keras", "keras.models", "keras.src.models.sequential",
                                          "keras.src.models.functional"):
        raise ArtifactError(f"model module {str(architecture.get('module'))[:60]!r} is not allowed")
    layers = architecture.get("config", {}).get("layers", [])
    if not isinstance(layers, list):
        raise ArtifactError("model has no layer list")
    for layer in layers:
        if not isinstance(layer, dict):
            raise ArtifactError("malformed layer")
        if layer.get("class_name") not in ALLOWED_LAYERS or layer.get("module") not in ("keras.layers", None):
            raise ArtifactError(f"layer {str(layer.get('class_name'))[:40]!r} is not allowed "
                                f"(allowed: built-in layers such as Conv2D, MaxPooling2D, Dense)")
        if layer.get("registered_name") not in (None, layer.get("class_name")):
            raise ArtifactError("custom registered layers are not allowed")
        _check_layer_settings(layer.get("config"), 0)


def _check_layer_settings(node: Any, depth: int) -> None:
    """Inside a layer's config: only allow-listed built-in objects and activation names."""
    if depth > 12:
        raise ArtifactError("layer settings are nested too deeply")
    if isinstance(node, list):
        for item in node:
            _check_layer_settings(item, depth + 1)
        return
    if not isinstance(node, dict):
        return
    if "module" in node or node.get("class_name") in ("function", "__lambda__"):
        module, name = node.get("module"), node.get("class_name")
        if name not in ALLOWED_NESTED.get(module, set()):
            raise ArtifactError(f"layer setting {str(name)[:40]!r} from {str(module)[:40]!r} is not allowed "
                                "(use built-in initializers, regularizers and constraints)")
    for key, value in node.items():
        if key == "activation" and not (value is None or (isinstance(value, str) and value in ACTIVATIONS)):
            raise ArtifactError(f"activation {str(value)[:40]!r} is not a built-in activation name")
        _check_layer_settings(value, depth + 1)


def _read_png(path: Path, budget: ReadBudget | None = None) -> bytes:
    if path.is_symlink() or not path.is_file() or path.stat().st_size > MAX_PNG_BYTES:
        return b""
    if budget is not None:
        budget.spend(nbytes=path.stat().st_size)
    data = path.read_bytes()
    return data if data.startswith(b"\x89PNG\r\n\x1a\n") else b""


def _read_cell_errors(path: Path) -> list[dict]:
    try:
        errors = _read_json(path)
    except ArtifactError:
        return []
    if not isinstance(errors, list):
        return []
    return [{"cell": int(e["cell"]), "type": str(e.get("type", ""))[:100], "message": str(e.get("message", ""))[:500]}
            for e in errors[:500] if isinstance(e, dict) and isinstance(e.get("cell"), int)]
