"""Tests of batch grading (grader.batch): gradebooks, resuming after SIGKILL, crashes, Dask, pages.

The fast tests grade with `fake_grading.fake_grade` (outcome chosen by markers in each file); the
tests marked slow grade the reference solution and the template with the real grader.
"""

from __future__ import annotations

import csv
import datetime
import io
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from rich.console import Console

import fake_grading
from fake_grading import notebook, write
from grader.batch import default_jobs, run_batch
from grader.grade import GradeOptions

TESTS = Path(__file__).resolve().parent
PROJECT = TESTS.parent
OLD, NEW = 1_700_000_000, 1_700_100_000


def quiet() -> Console:
    return Console(file=io.StringIO(), width=200)


def read_csv(path: Path) -> list[dict[str, str]]:
    with open(path, encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


def read_rows(path: Path) -> list[list[str]]:
    with open(path, encoding="utf-8", newline="") as handle:
        return list(csv.reader(handle))


def graded_log(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").split() if path.exists() else []


@pytest.fixture
def grade_log(tmp_path, monkeypatch) -> Path:
    log = tmp_path / "graded.log"
    monkeypatch.setenv(fake_grading.LOG_VARIABLE, str(log))
    return log


def make_canvas_class(folder: Path) -> Path:
    write(folder / "smithjohn_1234_5001_cnn.ipynb", notebook("PASS:preprocess_dense"), mtime=OLD)
    write(folder / "smithjohn_1234_5002_cnn-1.ipynb", notebook("PASS:ALL"), mtime=NEW)
    write(folder / "doejane_LATE_1235_5003_cnn.ipynb", notebook("PASS:preprocess_dense", "PASS:to_one_hot"))
    write(folder / "kimlee_1236_5004_cnn.ipynb", '{"cells": [ this is not json')
    return folder


# ---------------------------------------------------------------------------------- gradebooks
def test_canvas_class_rows_canvas_import_and_invalid_notebook(tmp_path):
    export = make_canvas_class(tmp_path / "export")
    out = tmp_path / "out"
    summary = run_batch(export, out, jobs=2, grade_fn=fake_grading.fake_grade, canvas_csv=True,
                        canvas_assignment="CNN I (4242)", console=quiet())
    assert summary.layout == "canvas" and summary.layout_detected
    assert summary.students == 3 and summary.graded_now == 3
    rows = {row["student_id"]: row for row in read_csv(out / "grades.csv")}
    assert set(rows) == {"1234", "1235", "1236"}
    john, jane, lee = rows["1234"], rows["1235"], rows["1236"]
    assert (john["name"], john["total"], john["status"], john["late"]) == ("smithjohn", "100", "graded", "no")
    assert john["file"] == "smithjohn_1234_5002_cnn-1.ipynb"
    assert john["canvas_attachment_id"] == "5002" and john["canvas_user_id"] == "1234"
    assert (jane["total"], jane["late"], jane["preprocess_dense"], jane["to_one_hot"],
            jane["dense_architecture"]) == ("9", "yes", "5", "4", "0")
    assert lee["status"] == "invalid_submission" and lee["total"] == "0"
    assert "not valid JSON" in lee["reason"]
    header = next(csv.reader(open(out / "grades.csv", encoding="utf-8-sig")))
    assert header[:8] == ["student_id", "name", "canvas_user_id", "canvas_attachment_id", "late",
                          "status", "total", "max_total"]
    assert header[8:10] == ["preprocess_dense", "to_one_hot"]
    assert header[-5:-2] == ["reason", "reason_ja", "integrity"]
    assert len([h for h in header if h not in ("student_id", "name", "canvas_user_id", "canvas_attachment_id",
                                               "late", "status", "total", "max_total", "reason",
                                               "reason_ja", "integrity", "file", "sha256")]) == 24
    assert read_rows(out / "canvas_grades.csv") == [
        ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "CNN I (4242)"],
        ["    Points Possible", "", "", "", "", "100"],
        ["smithjohn", "1234", "", "", "", "100"],
        ["doejane", "1235", "", "", "", "9"],
        ["kimlee", "1236", "", "", "", "0"],
    ]
    assert sorted(p.name for p in (out / "feedback").iterdir()) == ["1234.html", "1235.html", "1236.html"]


def test_moodle_zip_class_and_grading_worksheet(tmp_path):
    export = tmp_path / "export"
    write(export / "Taro Yamada_1001_assignsubmission_file_" / "cnn.ipynb", notebook("PASS:cnn_accuracy"))
    write(export / "山田 花子_1002_assignsubmission_file_" / "cnn.py", "# PASS:ALL\n")
    zip_path = tmp_path / "moodle download.zip"
    with zipfile.ZipFile(zip_path, "w") as archive:
        for path in export.rglob("*.*"):
            archive.write(path, path.relative_to(export).as_posix())
    out = tmp_path / "out"
    summary = run_batch(zip_path, out, jobs=1, grade_fn=fake_grading.fake_grade, moodle_csv=True,
                        console=quiet())
    assert summary.layout == "moodle"
    rows = read_rows(out / "moodle_grading_worksheet.csv")
    header = rows[0]
    assert header[:5] == ["Identifier", "Full name", "Email address", "Status", "Grade"]
    assert {"Maximum Grade", "Last modified (grade)", "Feedback comments"} <= set(header)
    by_id = {row[0]: dict(zip(header, row)) for row in rows[1:]}
    assert set(by_id) == {"Participant 1001", "Participant 1002"}
    assert by_id["Participant 1001"]["Grade"] == "7" and by_id["Participant 1002"]["Grade"] == "100"
    assert by_id["Participant 1002"]["Full name"] == "山田 花子"
    assert by_id["Participant 1001"]["Maximum Grade"] == "100"
    graded_at = datetime.datetime.fromisoformat(by_id["Participant 1001"]["Last modified (grade)"])
    assert abs(graded_at.timestamp() - time.time()) < 600
    assert "7/100" in by_id["Participant 1001"]["Feedback comments"]
    grades = {row["student_id"]: row for row in read_csv(out / "grades.csv")}
    assert grades["1001"]["moodle_participant_id"] == "1001" and grades["1001"]["cnn_accuracy"] == "7"


def test_plain_names_formula_injection_html_escaping_and_hidden_paths(tmp_path):
    export = tmp_path / "class"
    names = ["=HYPERLINK(\"evil\")", "+1 evil", "@SUM(A1)", "-2", "<img src=x onerror=alert(1)>",
             "山田 太郎"]
    for name in names:
        write(export / f"{name}.ipynb", notebook("PASS:to_one_hot"))
    out = tmp_path / "out"
    run_batch(export, out, jobs=2, grade_fn=fake_grading.echo_hide_paths, canvas_csv=True,
              moodle_csv=True, console=quiet())
    rows = read_csv(out / "grades.csv")
    ids = sorted(row["student_id"] for row in rows)
    assert ids == sorted(["'=HYPERLINK(\"evil\")", "'+1 evil", "'@SUM(A1)", "'-2",
                          "<img src=x onerror=alert(1)>", "山田 太郎"])
    assert all(row["total"] == "4" for row in rows)
    for gradebook in ("canvas_grades.csv", "moodle_grading_worksheet.csv"):
        cells = [cell for row in read_rows(out / gradebook)[1:] for cell in row]
        assert not any(cell.startswith(("=", "+", "@")) for cell in cells), gradebook
    summary_html = (out / "summary.html").read_text(encoding="utf-8")
    assert "<img src=x onerror" not in summary_html
    assert "&lt;img src=x onerror=alert(1)&gt;" in summary_html
    pages = list((out / "feedback").glob("*.html"))
    assert len(pages) == len(names)
    assert all(page.resolve().parent == (out / "feedback").resolve() for page in pages)
    assert not any("<img src=x onerror" in page.read_text(encoding="utf-8") for page in pages)
    # The student code must not see the class's files: input and output folders are hidden.
    hidden = json.loads(rows[0]["reason"].lstrip("'"))
    assert str(export.resolve()) in hidden and str(out.resolve()) in hidden


def test_summary_page_numbers_and_plots(tmp_path):
    export = make_canvas_class(tmp_path / "export")
    write(export / "notes_1237_5009_readme.pdf", "%PDF")
    out = tmp_path / "out"
    run_batch(export, out, jobs=2, grade_fn=fake_grading.fake_grade, console=quiet())
    page = (out / "summary.html").read_text(encoding="utf-8")
    assert page.count("src='data:image/png;base64,") == 2
    assert "canvas" in page and "notes_1237_5009_readme.pdf" in page
    # preprocess_dense passed by both graded students, dense_architecture by one of two.
    assert "<td><code>preprocess_dense</code></td>" in page
    checks_table = page[page.index("id='checks'"):page.index("id='students'")]
    dense_row = checks_table[checks_table.index("preprocess_dense"):]
    assert "2 / 2" in dense_row[:400] and "100%" in dense_row[:400]
    arch_row = checks_table[checks_table.index("dense_architecture"):]
    assert "1 / 2" in arch_row[:400] and "50%" in arch_row[:400]
    assert "smithjohn_1234_5001_cnn.ipynb" in page   # the file that lost to the newer one
    assert "href='feedback/1234.html'" in page


# ---------------------------------------------------------------------------------- resuming
def test_rerun_grades_only_what_is_missing_or_changed(tmp_path, grade_log):
    export = tmp_path / "class"
    for student in ("s1", "s2", "s3"):
        write(export / f"{student}.ipynb", notebook("PASS:preprocess_dense"))
    out = tmp_path / "out"
    run_batch(export, out, jobs=2, grade_fn=fake_grading.fake_grade, console=quiet())
    assert sorted(graded_log(grade_log)) == ["s1.ipynb", "s2.ipynb", "s3.ipynb"]
    before = {p.name: p.read_bytes() for p in (out / "results").iterdir()}
    write(export / "s2.ipynb", notebook("PASS:ALL"))
    write(export / "s4.py", "# PASS:to_one_hot\n")
    summary = run_batch(export, out, jobs=2, grade_fn=fake_grading.fake_grade, console=quiet())
    assert sorted(graded_log(grade_log)) == ["s1.ipynb", "s2.ipynb", "s2.ipynb", "s3.ipynb", "s4.py"]
    assert (summary.graded_now, summary.skipped) == (2, 2)
    assert (out / "results" / "s1.json").read_bytes() == before["s1.json"]
    totals = {row["student_id"]: row["total"] for row in read_csv(out / "grades.csv")}
    assert totals == {"s1": "5", "s2": "100", "s3": "5", "s4": "4"}


KILLED_BATCH = """
import sys
sys.path.insert(0, {tests!r})
from pathlib import Path
import fake_grading
from grader.batch import run_batch

if __name__ == "__main__":
    run_batch(Path({export!r}), Path({out!r}), jobs=2, grade_fn=fake_grading.fake_grade)
"""

KILL_TOTALS = {f"student{n:02d}": total for n, total in
               enumerate([5, 4, 9, 100, 0, 5, 4, 9, 100, 0])}
KILL_MARKERS = {5: ["PASS:preprocess_dense"], 4: ["PASS:to_one_hot"],
                9: ["PASS:preprocess_dense", "PASS:to_one_hot"], 100: ["PASS:ALL"], 0: []}


def test_batch_killed_with_sigkill_then_rerun_grades_everyone_exactly_once(tmp_path):
    export = tmp_path / "class"
    for student, total in KILL_TOTALS.items():
        write(export / f"{student}.ipynb", notebook("SLEEP:0.7", *KILL_MARKERS[total]))
    out = tmp_path / "out"
    script = tmp_path / "batch.py"
    script.write_text(KILLED_BATCH.format(tests=str(TESTS), export=str(export), out=str(out)))
    env = {**os.environ, fake_grading.LOG_VARIABLE: str(tmp_path / "run1.log")}
    first = subprocess.Popen([sys.executable, str(script)], cwd=PROJECT, env=env, start_new_session=True,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while len(list((out / "results").glob("*.json"))) < 3:
        assert first.poll() is None, "the batch ended before it could be killed"
        assert time.monotonic() < deadline, "the batch stored no results in 120 s"
        time.sleep(0.05)
    os.killpg(first.pid, signal.SIGKILL)   # the batch and its pool processes, as an OOM killer would
    first.wait()
    stored_before = {p.stem: p.read_bytes() for p in (out / "results").glob("*.json")}
    assert 3 <= len(stored_before) < len(KILL_TOTALS), "the kill came too late to test resuming"

    env[fake_grading.LOG_VARIABLE] = str(tmp_path / "run2.log")
    second = subprocess.run([sys.executable, str(script)], cwd=PROJECT, env=env, timeout=300,
                            capture_output=True, text=True)
    assert second.returncode == 0, second.stderr[-3000:]

    regraded = graded_log(tmp_path / "run2.log")
    assert len(regraded) == len(set(regraded)), "a submission was graded twice in the rerun"
    assert not {Path(name).stem for name in regraded} & set(stored_before), "a stored result was regraded"
    assert {Path(name).stem for name in regraded} | set(stored_before) == set(KILL_TOTALS)
    for student, content in stored_before.items():
        assert (out / "results" / f"{student}.json").read_bytes() == content
    assert sorted(p.name for p in (out / "results").iterdir()) == sorted(f"{s}.json" for s in KILL_TOTALS)
    rows = read_csv(out / "grades.csv")
    assert len(rows) == len(KILL_TOTALS)
    assert {row["student_id"]: int(row["total"]) for row in rows} == KILL_TOTALS


# ---------------------------------------------------------------------------------- failures
def test_a_process_that_dies_gives_its_student_a_grader_error_and_the_batch_goes_on(tmp_path, grade_log,
                                                                                    monkeypatch):
    export = tmp_path / "class"
    write(export / "a.ipynb", notebook("SLEEP:0.5", "PASS:to_one_hot"))
    write(export / "b.ipynb", notebook("CRASH"))
    write(export / "c.ipynb", notebook("SLEEP:0.5", "PASS:preprocess_dense"))
    write(export / "d.py", "# PASS:ALL\n")
    out = tmp_path / "out"
    summary = run_batch(export, out, jobs=2, grade_fn=fake_grading.fake_grade, console=quiet())
    rows = {row["student_id"]: row for row in read_csv(out / "grades.csv")}
    assert {k: (v["status"], v["total"]) for k, v in rows.items()} == {
        "a": ("graded", "4"), "b": ("grader_error", "0"), "c": ("graded", "5"), "d": ("graded", "100")}
    assert "died" in rows["b"]["reason"]
    assert summary.statuses == {"graded": 3, "grader_error": 1}
    # Each graded once: the death of b (while a was being graded) cost the others nothing.
    assert sorted(graded_log(grade_log)) == ["a.ipynb", "c.ipynb", "d.py"]
    # A grader error is retried on the next run; the others are not graded again.
    monkeypatch.setenv("FAKE_NO_CRASH", "1")
    graded_before = graded_log(grade_log)
    run_batch(export, out, jobs=2, grade_fn=fake_grading.fake_grade, console=quiet())
    assert graded_log(grade_log)[len(graded_before):] == ["b.ipynb"]
    assert {row["student_id"]: row["status"] for row in read_csv(out / "grades.csv")}["b"] == "graded"


def test_a_hanging_grading_is_stopped_after_the_task_timeout(tmp_path, monkeypatch):
    import psutil
    monkeypatch.setenv("FAKE_HANG_CHILD_PIDFILE", str(tmp_path / "child.pid"))
    export = tmp_path / "class"
    write(export / "hangs.ipynb", notebook("HANG"))
    write(export / "ok1.ipynb", notebook("SLEEP:1", "PASS:to_one_hot"))
    write(export / "ok2.ipynb", notebook("PASS:preprocess_dense"))
    out = tmp_path / "out"
    started = time.monotonic()
    run_batch(export, out, jobs=2, grade_fn=fake_grading.fake_grade, task_timeout=8, console=quiet())
    assert time.monotonic() - started < 90
    rows = {row["student_id"]: row for row in read_csv(out / "grades.csv")}
    assert (rows["hangs"]["status"], rows["ok1"]["total"], rows["ok2"]["total"]) == ("grader_error", "4", "5")
    assert "longer than 8 s" in rows["hangs"]["reason"]
    # The process the hanging grading started (its sandboxed worker, in the real grader) is gone too.
    child = int((tmp_path / "child.pid").read_text())
    time.sleep(0.5)
    assert not psutil.pid_exists(child) or psutil.Process(child).status() == psutil.STATUS_ZOMBIE


def test_an_output_folder_inside_the_input_is_refused(tmp_path):
    from grader.batch import BatchError
    write(tmp_path / "class" / "a.ipynb", notebook())
    with pytest.raises(BatchError, match="inside the input"):
        run_batch(tmp_path / "class", tmp_path / "class" / "graded", jobs=1, grade_fn=fake_grading.fake_grade,
                  console=quiet())
    assert not (tmp_path / "class" / "graded").exists()


def test_two_batches_into_one_folder_are_refused(tmp_path):
    import fcntl
    from grader.batch import BatchError
    write(tmp_path / "class" / "a.ipynb", notebook())
    (tmp_path / "out").mkdir()
    with open(tmp_path / "out" / ".batch.lock", "a+") as other_run:
        fcntl.flock(other_run, fcntl.LOCK_EX | fcntl.LOCK_NB)
        with pytest.raises(BatchError, match="another batch"):
            run_batch(tmp_path / "class", tmp_path / "out", jobs=1, grade_fn=fake_grading.fake_grade,
                      console=quiet())
    run_batch(tmp_path / "class", tmp_path / "out", jobs=1, grade_fn=fake_grading.fake_grade, console=quiet())
    assert len(read_csv(tmp_path / "out" / "grades.csv")) == 1


@pytest.mark.parametrize("grade_fn, words", [(fake_grading.raises, "RuntimeError"),
                                             (fake_grading.returns_garbage, "not a GradeResult")])
def test_a_grade_function_bug_becomes_a_grader_error_row(tmp_path, grade_fn, words):
    export = tmp_path / "class"
    write(export / "x.ipynb", notebook())
    out = tmp_path / "out"
    run_batch(export, out, jobs=1, grade_fn=grade_fn, console=quiet())
    [row] = read_csv(out / "grades.csv")
    assert row["status"] == "grader_error" and words in row["reason"]


def test_a_broken_installation_stops_the_batch_with_a_clear_message(tmp_path):
    from grader.batch import BatchError
    export = tmp_path / "class"
    write(export / "x.ipynb", notebook())
    write(export / "y.ipynb", notebook())
    with pytest.raises(BatchError, match="mnist.npz"):
        run_batch(export, tmp_path / "out", jobs=1, grade_fn=fake_grading.raises_dataset_unavailable,
                  console=quiet())
    assert not list((tmp_path / "out" / "results").glob("*.json"))


def test_default_jobs_follows_cores_and_memory(monkeypatch):
    import grader.batch as batch

    class Memory:
        available = 10 * 1024**3

    monkeypatch.setattr(batch.psutil, "virtual_memory", lambda: Memory)
    monkeypatch.setattr(batch.os, "sched_getaffinity", lambda pid: set(range(16)))
    assert default_jobs(GradeOptions(memory_mb=4096)) == 1          # 10 GB / (4 GB + 1.5 GB)
    assert default_jobs(GradeOptions(memory_mb=1000)) == 4          # 10 GB / 2.5 GB
    Memory.available = 100 * 1024**3
    assert default_jobs(GradeOptions(memory_mb=1000)) == 16         # then the cores limit
    Memory.available = 1
    assert default_jobs(GradeOptions()) == 1


# ---------------------------------------------------------------------------------- Dask
def test_dask_local_cluster_gives_the_same_gradebook_as_one_process(tmp_path):
    pytest.importorskip("distributed", reason="Dask is an optional extra: pip install 'cnn1-grader[dask]'")
    export = make_canvas_class(tmp_path / "export")
    write(export / "parkmin_1240_5010_cnn.py", "# PASS:cifar_accuracy\n# PASS:choose_loss\n")
    run_batch(export, tmp_path / "one", jobs=1, grade_fn=fake_grading.fake_grade, console=quiet())
    summary = run_batch(export, tmp_path / "dask", scheduler="local:2", grade_fn=fake_grading.fake_grade,
                        console=quiet())
    assert summary.graded_now == 4
    one = (tmp_path / "one" / "grades.csv").read_bytes()
    assert (tmp_path / "dask" / "grades.csv").read_bytes() == one
    assert {row["student_id"]: row["total"] for row in read_csv(tmp_path / "dask" / "grades.csv")} == {
        "1234": "100", "1235": "9", "1236": "0", "1240": "10"}


def test_unknown_scheduler_is_refused(tmp_path):
    from grader.batch import BatchError
    write(tmp_path / "class" / "a.ipynb", notebook())
    with pytest.raises(BatchError):
        run_batch(tmp_path / "class", tmp_path / "out", scheduler="http://nowhere", grade_fn=fake_grading.fake_grade,
                  console=quiet())


# ---------------------------------------------------------------------------------- Chromium
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run"]


def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if not found:
        pytest.fail("headless Chromium is needed for this test: apt-get install -y chromium")
    return found


def chromium_screenshot(page: Path, png: Path, profile: Path, size: str = "1200,1600") -> None:
    subprocess.run([chromium(), *CHROMIUM_FLAGS, f"--user-data-dir={profile}", f"--screenshot={png}",
                    f"--window-size={size}", page.resolve().as_uri()],
                   check=True, timeout=120, capture_output=True)


def chromium_dom(page: Path, profile: Path) -> str:
    done = subprocess.run([chromium(), *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "--dump-dom",
                           page.resolve().as_uri()], check=True, timeout=120, capture_output=True)
    return done.stdout.decode("utf-8")


def assert_not_blank(png: Path) -> None:
    from PIL import Image
    with Image.open(png) as image:
        pixels = image.convert("RGB")
        colors = pixels.getcolors(maxcolors=1_000_000)
        assert colors is not None and len(colors) > 50, "the screenshot is (nearly) one colour"
        background = max(colors)[0] / (pixels.width * pixels.height)
        assert background < 0.97, "the screenshot is almost all background"


def visible_text(dom: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", dom))


def test_summary_and_feedback_pages_render_in_headless_chromium(tmp_path):
    export = make_canvas_class(tmp_path / "export")
    out = tmp_path / "out"
    run_batch(export, out, jobs=2, grade_fn=fake_grading.fake_grade, console=quiet())
    shots = tmp_path / "shots"
    shots.mkdir()
    chromium_screenshot(out / "summary.html", shots / "summary.png", tmp_path / "profile")
    assert_not_blank(shots / "summary.png")
    text = visible_text(chromium_dom(out / "summary.html", tmp_path / "profile"))
    assert "Mean / 平均 36.3 / 100" in text      # (100 + 9 + 0) / 3
    assert "1235 doejane yes graded 9" in text
    # The student view: jane passed the two visible checks she was given, out of 58 visible points.
    chromium_screenshot(out / "feedback" / "1235.html", shots / "feedback.png", tmp_path / "profile")
    assert_not_blank(shots / "feedback.png")
    feedback = visible_text(chromium_dom(out / "feedback" / "1235.html", tmp_path / "profile"))
    assert re.search(r"\b9 ?/ ?58\b", feedback), feedback[:500]
    keep = os.environ.get("BATCH_SCREENSHOTS")
    if keep:
        shutil.copytree(shots, keep, dirs_exist_ok=True)


# ---------------------------------------------------------------------------------- real grader
REFERENCE = PROJECT / "reference_solution" / "cnn_assignment_solution.ipynb"
TEMPLATE = PROJECT / "student_template" / "cnn_assignment.ipynb"


def real_grader_options() -> GradeOptions:
    data = os.environ.get("CNN_GRADER_DATA_DIR")
    if not data:
        pytest.fail("CNN_GRADER_DATA_DIR is not set: point it at the folder with mnist.npz and cifar10.npz")
    for needed in (REFERENCE, TEMPLATE, Path(data) / "mnist.npz", Path(data) / "cifar10.npz"):
        if not needed.exists():
            pytest.fail(f"{needed} is missing")
    return GradeOptions(data_dir=Path(data))


def faulty_variants(folder: Path) -> dict[str, Path]:
    """The reference with a syntax error where to_one_hot is defined, and a notebook that is not JSON."""
    broken = json.loads(REFERENCE.read_text(encoding="utf-8"))
    [cell] = [cell for cell in broken["cells"] if cell["cell_type"] == "code"
              and "def to_one_hot(" in "".join(cell["source"])]
    cell["source"] = "def to_one_hot(labels, num_classes=10:\n    pass\n"
    return {"syntax": write(folder / "syntax.ipynb", json.dumps(broken)),
            "not_json": write(folder / "not_json.ipynb", REFERENCE.read_text(encoding="utf-8")[:500])}


@pytest.fixture(scope="module")
def real_batches(tmp_path_factory):
    """Canvas, Moodle and plain exports of the reference, the template and faulty variants, graded."""
    options = real_grader_options()
    root = tmp_path_factory.mktemp("real")
    variants = faulty_variants(root / "variants")
    sources = {"ref": REFERENCE, "tpl": TEMPLATE, "syn": variants["syntax"], "bad": variants["not_json"]}
    canvas = _mkdir(root / "canvas")
    for number, (key, source) in enumerate(sources.items()):
        shutil.copy(source, canvas / f"student{key}_{900 + number}_{7000 + number}_{source.name}")
    moodle = root / "moodle"
    folder = _mkdir(moodle / "Student ref_3000_assignsubmission_file_")  # the template's row: see canvas
    shutil.copy(sources["ref"], folder / sources["ref"].name)
    plain = _mkdir(root / "plain")
    shutil.copy(REFERENCE, plain / "s_ref.ipynb")
    shutil.copy(variants["not_json"], plain / "s_bad.ipynb")
    # The three batches at once: Moodle's and the plain export's single real gradings would each leave
    # a core idle.
    with ThreadPoolExecutor(3) as threads:
        running = {name: (threads.submit(run_batch, export, root / f"out_{name}", jobs=2, options=options,
                                         console=quiet(), **kwargs), root / f"out_{name}")
                   for name, export, kwargs in (("canvas", canvas, {"canvas_csv": True}),
                                                ("moodle", moodle, {"moodle_csv": True}), ("plain", plain, {}))}
        return {name: (summary.result(), out) for name, (summary, out) in running.items()}


def _mkdir(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.mark.slow
def test_real_grader_canvas_moodle_and_plain_batches(real_batches):
    canvas_summary, canvas_out = real_batches["canvas"]
    assert canvas_summary.layout == "canvas"
    rows = {row["name"]: row for row in read_csv(canvas_out / "grades.csv")}
    assert set(rows) == {"studentref", "studenttpl", "studentsyn", "studentbad"}
    assert (rows["studentref"]["status"], rows["studentref"]["total"]) == ("graded", "100")
    assert rows["studenttpl"]["status"] == "graded" and float(rows["studenttpl"]["total"]) < 50
    assert rows["studentsyn"]["status"] == "graded" and rows["studentsyn"]["to_one_hot"] == "0"
    assert float(rows["studentsyn"]["total"]) <= 96
    assert rows["studentbad"]["status"] == "invalid_submission" and rows["studentbad"]["reason"]
    canvas_rows = read_rows(canvas_out / "canvas_grades.csv")
    assert ["studentref", "900", "", "", "", "100"] in canvas_rows
    moodle_summary, moodle_out = real_batches["moodle"]
    assert moodle_summary.layout == "moodle"
    worksheet = {row[0]: row for row in read_rows(moodle_out / "moodle_grading_worksheet.csv")[1:]}
    assert worksheet["Participant 3000"][4] == "100"
    plain_rows = {row["student_id"]: row for row in read_csv(real_batches["plain"][1] / "grades.csv")}
    assert plain_rows["s_ref"]["total"] == "100" and plain_rows["s_bad"]["status"] == "invalid_submission"


@pytest.mark.slow
def test_real_feedback_and_summary_pages_in_chromium(real_batches, tmp_path):
    _, out = real_batches["canvas"]
    feedback = next((out / "feedback").glob("900.html"))
    chromium_screenshot(feedback, tmp_path / "feedback.png", tmp_path / "profile", size="1200,3000")
    assert_not_blank(tmp_path / "feedback.png")
    page = chromium_dom(feedback, tmp_path / "profile")
    assert "data:image/png;base64," in page, "the reference's learning curves / images are missing"
    chromium_screenshot(out / "summary.html", tmp_path / "summary.png", tmp_path / "profile")
    assert_not_blank(tmp_path / "summary.png")
    assert "Max / 最高 100.0 / 100" in visible_text(chromium_dom(out / "summary.html", tmp_path / "profile"))


def test_every_grading_of_a_batch_gets_the_installations_salt(tmp_path, monkeypatch):
    """Resolved once in the batch and handed over: processes on other machines derive the same inputs."""
    from grader.grade import GradeOptions
    from grader.secret import SALT_FILE, SALT_VARIABLE
    monkeypatch.delenv(SALT_VARIABLE, raising=False)
    export = tmp_path / "class"
    for name in ("a", "b", "c"):
        write(export / f"{name}.ipynb", notebook("PASS:to_one_hot"))
    data = tmp_path / "data"
    run_batch(export, tmp_path / "out", jobs=2, grade_fn=fake_grading.echo_salt,
              options=GradeOptions(data_dir=data), console=quiet())
    salt = (data / SALT_FILE).read_text().strip()
    assert {row["reason"] for row in read_csv(tmp_path / "out" / "grades.csv")} == {salt}
