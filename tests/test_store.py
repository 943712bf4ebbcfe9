"""Tests of the resumable result store (grader.store): keys, atomic writes, killed writers."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from grader import store as store_module
from grader.results import FAILED, GRADED, PASSED, CheckResult, Feedback, GradeResult, Text
from grader.store import ResultStore, file_sha256, safe_file_stem

PROJECT = Path(__file__).resolve().parent.parent


def sample_result(score: float = 9.0, note: str = "") -> GradeResult:
    return GradeResult(
        submission="alice.ipynb", sha256="ab" * 32, status=GRADED, score=score, max_score=100.0,
        checks=[CheckResult(id="preprocess_dense", part="A", title=Text(ja="前処理", en="preprocess"),
                            max_points=5.0, visibility="visible", status=PASSED, points=5.0),
                CheckResult(id="to_one_hot", part="A", title=Text(ja="One-hot", en="one-hot"),
                            max_points=4.0, visibility="visible", status=FAILED, points=0.0,
                            feedback=[Feedback(expected=Text(ja="期待", en="expected"), got="got " + note,
                                               hint=Text(ja="ヒント", en="hint"))])],
        reason=None, student_id="alice", student_name="Alice 山田")


def test_save_and_load_round_trip(tmp_path):
    store = ResultStore(tmp_path)
    path = store.save("alice", "1" * 64, sample_result())
    assert path == tmp_path / "results" / "alice.json"
    done = store.load_done()
    assert list(done) == ["alice"]
    stored = done["alice"]
    assert stored.sha256 == "1" * 64
    assert stored.key == "alice:" + "1" * 64
    assert stored.result == sample_result()
    assert store.is_current(stored, "1" * 64) and not store.is_current(stored, "2" * 64)


def test_changed_content_replaces_the_stored_result(tmp_path):
    store = ResultStore(tmp_path)
    store.save("alice", "1" * 64, sample_result(9.0))
    store.save("alice", "2" * 64, sample_result(100.0))
    done = store.load_done()
    assert done["alice"].sha256 == "2" * 64 and done["alice"].result.score == 100.0
    assert [p.name for p in (tmp_path / "results").iterdir()] == ["alice.json"]


def test_safe_file_stem_keeps_plain_ids_and_separates_the_others():
    assert safe_file_stem("s1234567") == "s1234567"
    assert safe_file_stem("jane.doe@uni") != "jane.doe@uni"
    stems = {safe_file_stem(i) for i in ("a b", "a_b", "a/b", "山田 太郎", "山田_太郎", "..", "../x", ".hidden")}
    assert len(stems) == 8
    for stem in stems:
        assert "/" not in stem and not stem.startswith(".") and stem not in ("", "..")
    assert safe_file_stem("山田 太郎").startswith("山田_太郎-")
    assert len(safe_file_stem("x" * 500)) < 100


def test_ids_with_slashes_stay_inside_the_results_folder(tmp_path):
    store = ResultStore(tmp_path)
    path = store.save("../../etc/evil", "1" * 64, sample_result())
    assert path.parent == tmp_path / "results"
    assert set(store.load_done()) == {"../../etc/evil"}


def test_half_written_temp_file_and_foreign_files_are_ignored(tmp_path):
    store = ResultStore(tmp_path)
    store.save("alice", "1" * 64, sample_result())
    results = tmp_path / "results"
    complete = json.loads((results / "alice.json").read_text(encoding="utf-8"))
    complete["student_id"] = "bob"
    half = json.dumps(complete)[: 200]
    (results / ".bob.k3j2h1.tmp").write_text(half, encoding="utf-8")       # a killed writer's leftover
    (results / "carol.json").write_text('{"store_format": 1, "student_id": "ca', encoding="utf-8")
    (results / "dave.json").write_text(json.dumps({**complete, "student_id": "someone-else"}),
                                       encoding="utf-8")                   # renamed by hand
    assert set(store.load_done()) == {"alice"}
    assert store.remove_stray_temp_files() == [results / ".bob.k3j2h1.tmp"]
    assert not (results / ".bob.k3j2h1.tmp").exists()


def test_a_failing_write_keeps_the_old_result_and_leaves_no_temp_file(tmp_path, monkeypatch):
    store = ResultStore(tmp_path)
    store.save("alice", "1" * 64, sample_result(9.0))

    def broken_replace(source, target):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(store_module.os, "replace", broken_replace)
    with pytest.raises(OSError):
        store.save("alice", "2" * 64, sample_result(100.0))
    monkeypatch.undo()
    assert store.load_done()["alice"].result.score == 9.0
    assert [p.name for p in (tmp_path / "results").iterdir()] == ["alice.json"]


WRITER = """
import sys
sys.path.insert(0, {tests!r})
from pathlib import Path
from test_store import sample_result
from grader.store import ResultStore
store = ResultStore(Path({out!r}))
print("ready", flush=True)
n = 0
while True:
    n += 1
    # Big results, so a kill often lands in the middle of writing one.
    store.save("alice", format(n, "064x"), sample_result(float(n % 100), note="x" * 400_000))
"""


def test_writer_killed_with_sigkill_never_leaves_a_broken_result(tmp_path):
    script = tmp_path / "writer.py"
    script.write_text(WRITER.format(tests=str(Path(__file__).parent), out=str(tmp_path / "out")))
    store = ResultStore(tmp_path / "out")
    for round_number in range(6):
        process = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, cwd=PROJECT)
        assert process.stdout.readline().strip() == b"ready"
        time.sleep(0.3 + 0.07 * round_number)
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
        done = store.load_done()   # must not raise on whatever the kill left
        assert set(done) <= {"alice"}
        if done:
            stored = done["alice"]
            assert stored.result.score == float(int(stored.sha256, 16) % 100)
            assert stored.result.checks[1].feedback[0].got == "got " + "x" * 400_000
    assert store.load_done(), "the writer never completed one result in six runs"


def test_file_sha256_matches_hashlib(tmp_path):
    import hashlib
    data = os.urandom(3 * 1024 * 1024 + 7)
    path = tmp_path / "x.bin"
    path.write_bytes(data)
    assert file_sha256(path) == hashlib.sha256(data).hexdigest()
