"""grader/artifacts.py: what the worker wrote is validated; pickles, odd paths and unsafe models refused."""

import json

import numpy as np
import pytest

from grader.artifacts import ArtifactError, ModelArtifact, load_array, read_artifacts


def write_probe(out, probe_id, result, files=None):
    folder = out / "probes" / probe_id
    folder.mkdir(parents=True)
    (folder / "result.json").write_text(json.dumps(result))
    for name, writer in (files or {}).items():
        writer(folder / name)
    return folder


def test_plain_arrays_and_nested_values_are_read(tmp_path):
    write_probe(tmp_path, "p", {"status": "ok", "value": {"kind": "seq", "type": "tuple", "items": [
        {"kind": "ndarray", "file": "v1.npy"}, {"kind": "json", "value": 3}]}},
        {"v1.npy": lambda p: np.save(p, np.arange(3))})
    value = read_artifacts(tmp_path, ["p"], {}).probes["p"].value
    assert isinstance(value, tuple) and value[0].tolist() == [0, 1, 2] and value[1] == 3


def test_pickled_object_array_is_refused(tmp_path):
    path = tmp_path / "v1.npy"
    np.save(path, np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(ArtifactError, match="not a plain .npy"):
        load_array(path)


def test_a_header_claiming_more_data_than_the_file_holds_is_refused_before_loading(tmp_path, monkeypatch):
    path = tmp_path / "v1.npy"
    header = "{'descr': '<f8', 'fortran_order': False, 'shape': (1099511627776,), }"
    header += " " * (117 - len(header)) + "\n"
    path.write_bytes(b"\x93NUMPY\x01\x00" + len(header).to_bytes(2, "little") + header.encode() + b"\0" * 64)
    monkeypatch.setattr(np, "load", lambda *a, **k: pytest.fail("np.load reached with a forged header"))
    with pytest.raises(ArtifactError, match="not a plain .npy.*claims 8796093022208 bytes"):
        load_array(path)


def test_a_truncated_array_and_an_unknown_format_version_are_refused(tmp_path):
    truncated, future = tmp_path / "t.npy", tmp_path / "f.npy"
    np.save(truncated, np.arange(100.0))
    truncated.write_bytes(truncated.read_bytes()[:-8])
    np.save(future, np.arange(3))
    future.write_bytes(future.read_bytes()[:6] + b"\x09\x00" + future.read_bytes()[8:])
    for path in (truncated, future):
        with pytest.raises(ArtifactError, match="not a plain .npy"):
            load_array(path)


@pytest.mark.parametrize("descr", ["|S0", "<U0"])
def test_a_dtype_without_size_cannot_claim_elements(tmp_path, descr):
    """0 bytes times 2**40 elements is 0 bytes: the size check alone let such a header through, and
    np.load returned an array of 2**40 elements that any conversion would try to allocate."""
    path = tmp_path / "v1.npy"
    with path.open("wb") as handle:
        np.lib.format.write_array_header_1_0(handle, {"descr": descr, "fortran_order": False, "shape": (2**20, 2**20)})
    with pytest.raises(ArtifactError, match="not a plain .npy.*no size"):
        load_array(path)


@pytest.mark.parametrize("name", ["../../etc/passwd", "/etc/passwd", "v1.npy/../x", "evil.py"])
def test_file_names_outside_the_probe_folder_are_refused(tmp_path, name):
    write_probe(tmp_path, "p", {"status": "ok", "value": {"kind": "ndarray", "file": name}})
    result = read_artifacts(tmp_path, ["p"], {}).probes["p"]
    assert result.status == "invalid" and "not allowed" in result.error_message


def test_symlinked_array_is_refused(tmp_path):
    secret = tmp_path / "secret.npy"
    np.save(secret, np.arange(3))
    folder = write_probe(tmp_path, "p", {"status": "ok", "value": {"kind": "ndarray", "file": "v1.npy"}})
    (folder / "v1.npy").symlink_to(secret)
    assert read_artifacts(tmp_path, ["p"], {}).probes["p"].status == "invalid"


def test_missing_result_and_crashed_probe(tmp_path):
    probes = read_artifacts(tmp_path, ["gone", "hung"], {"hung": "timeout"}).probes
    assert probes["gone"].status == "invalid" and probes["hung"].status == "crashed"
    assert probes["hung"].error_type == "timeout"


def small_architecture():
    import keras
    model = keras.Sequential([keras.Input(shape=(4,)), keras.layers.Dense(3, activation="softmax")])
    return json.loads(model.to_json()), model.get_weights()


def test_allowed_model_is_rebuilt_with_its_weights():
    architecture, weights = small_architecture()
    model = ModelArtifact(architecture, weights, {}).build()
    assert model.count_params() == 15
    assert np.array_equal(model.get_weights()[0], weights[0])


def test_lambda_layer_is_refused():
    architecture, weights = small_architecture()
    architecture["config"]["layers"][-1]["class_name"] = "Lambda"
    with pytest.raises(ArtifactError, match="'Lambda' is not allowed"):
        ModelArtifact(architecture, weights, {}).build()


def test_custom_model_class_is_refused():
    architecture, weights = small_architecture()
    architecture["class_name"] = "LyingModel"
    with pytest.raises(ArtifactError, match="not allowed"):
        ModelArtifact(architecture, weights, {}).build()


def test_one_large_file_referred_to_many_times_is_read_within_the_submissions_budget(tmp_path):
    """Each reference is within the per-file limit; together they would be gigabytes."""
    import resource

    from grader import artifacts, protocol
    np.save(tmp_path / "v1.npy", np.zeros(2_000_000, dtype=np.float64))  # 16 MB
    value = {"kind": protocol.KIND_SEQ, "type": "list",
             "items": [{"kind": protocol.KIND_NDARRAY, "file": "v1.npy"}] * 1000}
    (tmp_path / protocol.RESULT_FILE).write_text(json.dumps({"status": protocol.STATUS_OK, "value": value}))
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    result = artifacts.read_probe(tmp_path, artifacts.ReadBudget())
    grown_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert result.status == protocol.STATUS_INVALID and "larger than the grader reads" in result.error_message
    assert grown_mb < artifacts.MAX_READ_BYTES / 2**20 + 100


def test_a_result_with_too_many_values_is_refused(tmp_path):
    from grader import artifacts, protocol
    value = {"kind": protocol.KIND_SEQ, "type": "list",
             "items": [{"kind": protocol.KIND_JSON, "value": 1}] * 5000}
    (tmp_path / protocol.RESULT_FILE).write_text(json.dumps({"status": protocol.STATUS_OK, "value": value}))
    result = artifacts.read_probe(tmp_path, artifacts.ReadBudget(max_values=1000))
    assert result.status == protocol.STATUS_INVALID and "more values" in result.error_message
    assert artifacts.read_probe(tmp_path, artifacts.ReadBudget()).status == protocol.STATUS_OK
