"""Fuzzing the artifact reader (grader/artifacts.py) with random and adversarial worker output.

A seeded generator writes what a hostile worker could leave in out/: random value trees of every
kind (also unknown ones, wrong types, deep nesting), file names that try to leave the folder, .npy
headers that claim terabytes, pickled object arrays, zip bombs as weights, random bytes, links and
folders where files should be. The reader must always answer with a ProbeResult (never raise),
within a time bound, and keep the grader's memory bounded.
"""

from __future__ import annotations

import json
import os
import random
import resource
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest

from grader import artifacts, protocol

KINDS = list(protocol.VALUE_KINDS) + ["module", "pickle", "", None, 7]
NAMES = ["v1.npy", "v2.npy", "v3.json", "v4.weights.npz", "v5.png", "../escape.npy", "/etc/passwd", "v1",
         "v9.npy", 3, None, "v" + "1" * 7 + ".npy"]
SECONDS_PER_CASE = 10.0


def random_node(rng: random.Random, depth: int = 0):
    kind = rng.choice(KINDS)
    node = {"kind": kind}
    if depth > 12 or rng.random() < 0.2:
        return rng.choice([node, {"kind": "json", "value": rng.choice([1, "x", None, [1], {"a": 1}])}, "str", 5])
    if kind in (protocol.KIND_SEQ, protocol.KIND_DICT):
        items = [random_node(rng, depth + 1) for _ in range(rng.randint(0, 4))]
        node["items"] = items if kind == protocol.KIND_SEQ else [[str(i), item] for i, item in enumerate(items)]
        if rng.random() < 0.1:
            node["items"] = "not a list"
    elif kind in (protocol.KIND_NDARRAY, protocol.KIND_MODEL):
        name = rng.choice(NAMES)
        node["file"] = name.removesuffix(".weights.npz") if isinstance(name, str) and kind == protocol.KIND_MODEL else name
        node["compile"] = rng.choice([None, {}, {"loss": "mse"}, "x"])
    elif kind == protocol.KIND_HISTORY:
        node["history"] = random_node(rng, depth + 1)
    elif kind == protocol.KIND_FIGURE:
        node.update(png=rng.choice(NAMES), axes=rng.choice([[], "x", [{"lines": "y"}]]), legends=[])
    elif kind == protocol.KIND_SCALAR:
        node["value"] = rng.choice([1.5, "x", None, [1]])
    return node


@pytest.fixture(scope="module")
def zip_bomb(tmp_path_factory) -> Path:
    """Weights that unpack to 300 MB from a small file (made once: compressing takes a while)."""
    path = tmp_path_factory.mktemp("bomb") / "bomb.npz"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("arr_0.npy", b"\0" * 300 * 2**20)
    return path


def write_files(folder: Path, rng: random.Random, zip_bomb: Path) -> None:
    """Hostile files under the names the value trees refer to."""
    choices = {
        "v1.npy": lambda p: np.save(p, np.arange(10)),
        "v2.npy": lambda p: p.write_bytes(b"\x93NUMPY\x01\x00v\x00{'descr': '<f8', 'fortran_order': False, "
                                          b"'shape': (1099511627776,), }" + b" " * 40 + b"\n"),
        "v9.npy": lambda p: np.save(p, np.array([object()], dtype=object), allow_pickle=True),
        "v3.json": lambda p: p.write_text("[" * 100_000),
        "v5.png": lambda p: p.write_bytes(os.urandom(4096)),
    }
    for name, make in choices.items():
        if rng.random() < 0.8:
            make(folder / name)
    if rng.random() < 0.5:
        os.link(zip_bomb, folder / "v4.weights.npz")
    else:
        np.savez(folder / "v4.weights.npz", np.zeros(3))
    (folder / "v4.json").write_text(json.dumps({"class_name": "Sequential", "config": {"layers": []}}))
    if rng.random() < 0.3:
        (folder / "v1").symlink_to("/etc/passwd")
    if rng.random() < 0.3:
        (folder / "v7.npy").mkdir()


@pytest.mark.parametrize("seed", range(12))
def test_the_reader_always_answers_within_its_bounds(tmp_path, seed, zip_bomb):
    rng = random.Random(seed)
    out = tmp_path / "out"
    probes = [f"p{i}" for i in range(4)]
    for probe in probes:
        folder = out / protocol.PROBES_DIR / probe
        folder.mkdir(parents=True)
        write_files(folder, rng, zip_bomb)
        result = rng.choice([{"status": "ok", "value": random_node(rng)}, {"status": "error", "error": "x"},
                             {"status": 5}, [], "text"])
        text = json.dumps(result) if rng.random() < 0.9 else "{" * 50_000
        (folder / protocol.RESULT_FILE).write_text(text)
    (out / protocol.CELLS_FILE).write_text(rng.choice(["[]", '[{"cell": "x"}]', "{", '[{"cell": 1, "type": 5}]']))
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.monotonic()
    read = artifacts.read_artifacts(out, probes + ["missing"], crashed={"p3": "memory"})
    assert time.monotonic() - started < SECONDS_PER_CASE
    grown_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert grown_mb < artifacts.MAX_READ_BYTES / 2**20
    assert set(read.probes) == set(probes) | {"missing"}
    allowed = {protocol.STATUS_OK, protocol.STATUS_ERROR, protocol.STATUS_INVALID, protocol.STATUS_CRASHED,
               protocol.STATUS_MISSING}
    assert {result.status for result in read.probes.values()} <= allowed
    assert read.probes["p3"].status == protocol.STATUS_CRASHED
    assert isinstance(read.cell_errors, list)
