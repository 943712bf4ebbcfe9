"""The hostile and broken submissions of issue 5: nothing escapes, nothing is lost, every verdict explained.

Every case of ``tests/corpus/hostile/`` (plus the broken inputs generated below, which cannot be
committed sensibly) is graded once, together with the full reference solution, in ONE batch over a
folder (``run_batch``, two processes, tight limits). The batch is the fixture `corpus_run`; each test
then checks one property over its outcome:

* the verdict each case's header states (status, score at most what the correct parts earn, the
  checks that must pass or fail, the cell errors, the reason and feedback), and the grading's time;
* no process of any submission is alive afterwards (every process a case starts carries its marker
  in its command line; forked children that never exec are named ``hostile-fork``);
* no file outside the worker's scratch folder changed (snapshots before/after of the project, the
  submissions' folder, /tmp without the grader's job folders, the data folder and a sentinel folder
  the cases try to reach or trick the grader into touching);
* nothing reached a TCP/UDP listener on 127.0.0.1 that the network case tries;
* every student of the batch got a row and the reference solution its 100 points.

A second, small batch reads a .zip with path traversal, absolute and symbolic-link entries.
Measured on the 2-core development machine: see the docstring of `corpus_run`.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import shutil
import socket
import stat
import tempfile
import threading
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path

import nbformat
import pytest
from rich.console import Console

from grader import datasets
from grader.batch import run_batch
from grader.grade import GradeOptions
from grader.load import SubmissionUnreadable, load_submission
from grader.results import GRADED, INVALID_SUBMISSION, GradeResult
from grader.store import ResultStore
from hostile_grading import (FACTS_VARIABLE, MARKER_PREFIX, Expectation, changes, facts_file, marker_of,
                             missing_measures, parse_header, processes_with, record_grade, snapshot,
                             verdict_problems)

TESTS = Path(__file__).resolve().parent
PROJECT = TESTS.parent
CORPUS = TESTS / "corpus" / "hostile"
REFERENCE = PROJECT / "reference_solution" / "cnn_assignment_solution.py"
# Tight per-step limits; the total limit and the memory cap are the defaults' scale, because the
# reference solution is graded in the same batch and must earn its 100 points on a busy machine.
OPTIONS = GradeOptions(cell_seconds=8, probe_seconds=20, total_seconds=300, memory_mb=4096)
WORKER_BOUND = 180.0    # a hostile case with a worker: a few steps of at most 20 + 10 s, restarts, checks
INVALID_BOUND = 30.0    # a file refused by the loader: no worker at all
REFERENCE_BOUND = OPTIONS.total_seconds + 60
TASK_TIMEOUT = 400                          # the batch stops a grading that hangs (a failure here)
SENTINEL = Path("/tmp/cnn1-hostile-sentinel")  # the cases name this folder; keep both in step
LISTEN_PORT = 47311                         # tamper_network.py connects here
GOOD = "good_reference"                     # the reference solution's student id in the batch

CORRECT_CELLS = [
    "import numpy as np\nimport keras\n\n\n"
    "def preprocess_dense(images):\n"
    "    images = np.asarray(images)\n"
    "    return images.reshape((len(images), 784)).astype('float32') / 255\n",
    "def to_one_hot(labels, num_classes=10):\n"
    "    return keras.utils.to_categorical(labels, num_classes=num_classes)\n",
]
GOOD_SMALL = "".join(f"# %%\n{cell}\n" for cell in CORRECT_CELLS)


# ------------------------------------------------------------------------------ generated cases
def _notebook(header: str, cells: list[str], big_output_mb: int = 0) -> bytes:
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_markdown_cell(header)]
    notebook.cells += [nbformat.v4.new_code_cell(source) for source in cells]
    if big_output_mb:
        line = "0123456789" * 100 + "\n"
        text = line * (big_output_mb * 1024 * 1024 // len(line))
        cell = nbformat.v4.new_code_cell("print('a very long log')")
        cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=text)]
        notebook.cells.append(cell)
    return nbformat.writes(notebook).encode("utf-8")


GENERATED_HEADERS = {
    "broken_empty.ipynb": "# hostile: an empty file (0 bytes)\n"
                          "# expect: status=invalid_submission; max_score=0; reason~empty",
    "broken_binary.py": "# hostile: a binary file saved as .py\n"
                        "# expect: status=invalid_submission; max_score=0; reason~binary",
    "broken_not_utf8.py": "# hostile: a .py in Shift_JIS without a coding declaration\n"
                          "# expect: status=invalid_submission; max_score=0; reason~not UTF-8",
    "broken_huge_outputs.ipynb": "# hostile: a notebook of 100 MB, nearly all of it cell outputs\n"
                                 "# expect: status=graded; max_score=9; passed=preprocess_dense,to_one_hot",
    "学生 提出 (final) é.ipynb": "# hostile: a file name with spaces, parentheses and non-ASCII characters\n"
                               "# expect: status=graded; max_score=9; passed=preprocess_dense,to_one_hot",
}


def generated_content(name: str) -> bytes:
    """The bytes of a generated case (written at test time: not sensible to commit)."""
    header = GENERATED_HEADERS[name]
    if name == "broken_empty.ipynb":
        return b""
    if name == "broken_binary.py":
        return b"\x7fELF\x02\x01\x01\x00" + bytes(range(256)) * 16
    if name == "broken_not_utf8.py":
        return (header + "\n# 前処理の関数（Shift_JIS で保存）\n" + CORRECT_CELLS[0]).encode("shift_jis")
    if name == "broken_huge_outputs.ipynb":
        return _notebook(header, CORRECT_CELLS, big_output_mb=100)
    return _notebook(header, CORRECT_CELLS)


def committed_cases() -> list[str]:
    return sorted(p.name for p in CORPUS.iterdir() if p.suffix in (".py", ".ipynb"))


ALL_CASES = committed_cases() + sorted(GENERATED_HEADERS)


def expectation(name: str) -> Expectation:
    if name in GENERATED_HEADERS:
        return parse_header(GENERATED_HEADERS[name].encode(), name)
    return parse_header((CORPUS / name).read_bytes(), name)


# ------------------------------------------------------------------------------ fast tests
@pytest.mark.parametrize("name", ALL_CASES)
def test_every_case_states_what_it_tries_and_its_verdict(name):
    expect = expectation(name)
    assert expect.status in (GRADED, INVALID_SUBMISSION)
    assert expect.max_score <= 25, "a hostile case copies only a few correct functions"


def test_the_corpus_readme_lists_every_committed_case():
    readme = (CORPUS / "README.md").read_text(encoding="utf-8")
    assert [n for n in committed_cases() if f"`{n}`" not in readme] == []


def test_loader_verdicts_of_the_generated_broken_inputs(tmp_path):
    """The broken inputs the loader refuses, without a worker; a declared encoding is honoured."""
    for name in ("broken_empty.ipynb", "broken_binary.py", "broken_not_utf8.py"):
        path = tmp_path / name
        path.write_bytes(generated_content(name))
        with pytest.raises(SubmissionUnreadable):
            load_submission(path)
    declared = tmp_path / "declared.py"
    declared.write_bytes(("# -*- coding: shift_jis -*-\n# 前処理\n" + CORRECT_CELLS[0]).encode("shift_jis"))
    assert "preprocess_dense" in load_submission(declared).cells[-1].source


def test_a_header_outside_the_vocabulary_is_refused():
    from hostile_grading import HeaderError
    with pytest.raises(HeaderError):
        parse_header(b"# hostile: x\n# expect: status=graded; max_score=9; bonus=1\n")
    with pytest.raises(HeaderError):
        parse_header(b"# expect: status=graded; max_score=9\n")


# ------------------------------------------------------------------------------ the hardening, without a worker
def test_the_journal_is_read_without_trusting_it(tmp_path):
    """A named pipe would block the grader, /dev/zero would never end, a huge journal costs memory."""
    from grader import worker
    fifo = tmp_path / "fifo.jsonl"
    os.mkfifo(fifo)
    link = tmp_path / "zero.jsonl"
    link.symlink_to("/dev/zero")
    started = time.monotonic()
    assert worker.journal_lines(fifo) == [] and worker.journal_lines(link) == []
    assert time.monotonic() - started < 1
    big = tmp_path / "big.jsonl"
    big.write_text('{"step": "cell:1", "event": "start"}\n' * 100_000)
    assert sum(len(line) + 1 for line in worker.journal_lines(big)) <= worker.JOURNAL_TAIL_BYTES


def test_preparing_a_new_worker_never_follows_links(tmp_path):
    from grader import worker
    submission = tmp_path / "s.py"
    submission.write_text("x = 1\n")
    target = tmp_path / "outside.txt"
    target.write_text("not the worker's\n")
    os.chmod(target, 0o600)
    owner = target.stat().st_uid
    job = worker.JobFolder(submission)
    try:
        job.hand_over()
        for folder in (job.work, job.out):
            (folder / "link").symlink_to(target)
        job.hand_over()
    finally:
        job.remove()
    assert stat.S_IMODE(target.stat().st_mode) == 0o600 and target.stat().st_uid == owner


def test_the_scratch_cap_counts_bytes_and_entries(tmp_path, monkeypatch):
    from grader import worker
    (tmp_path / "a.bin").write_bytes(b"x" * 100_000)
    assert not worker.scratch_exceeded([tmp_path])
    monkeypatch.setattr(worker, "SCRATCH_DISK_LIMIT", 50_000)
    assert worker.scratch_exceeded([tmp_path])
    monkeypatch.setattr(worker, "SCRATCH_DISK_LIMIT", 10**9)
    monkeypatch.setattr(worker, "SCRATCH_ENTRIES_LIMIT", 3)
    for number in range(5):
        (tmp_path / f"f{number}").touch()
    assert worker.scratch_exceeded([tmp_path])


def test_hostile_artifacts_are_invalid_not_grader_errors(tmp_path, monkeypatch):
    """An .npy header claiming 8 TiB, and weights whose zip unpacks to more than allowed."""
    from grader import artifacts
    header = "{'descr': '<f8', 'fortran_order': False, 'shape': (1099511627776,), }"
    header += " " * (117 - len(header)) + "\n"
    (tmp_path / "v1.npy").write_bytes(b"\x93NUMPY\x01\x00" + len(header).to_bytes(2, "little")
                                      + header.encode() + b"\0" * 64)
    with pytest.raises(artifacts.ArtifactError, match="not a plain .npy"):
        artifacts.load_array(tmp_path / "v1.npy")
    (tmp_path / "v2.json").write_text("{}")
    with zipfile.ZipFile(tmp_path / "v2.weights.npz", "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("arr_0.npy", b"\0" * 100_000)
    monkeypatch.setattr(artifacts, "MAX_ARRAY_BYTES", 50_000)
    with pytest.raises(artifacts.ArtifactError, match="too large"):
        artifacts._decode_model({"kind": "model", "file": "v2"}, tmp_path)


# ------------------------------------------------------------------------------ the corpus batch
class Listener:
    """TCP and UDP on 127.0.0.1:LISTEN_PORT; remembers whatever arrives."""

    def __init__(self) -> None:
        self.received: list[str] = []
        self.available = True
        try:
            self.tcp = socket.create_server(("127.0.0.1", LISTEN_PORT))
            self.udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            self.udp.bind(("127.0.0.1", LISTEN_PORT))
        except OSError:
            self.available = False
            return
        self.tcp.settimeout(0.5)
        self.udp.settimeout(0.5)
        self.running = True
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while self.running:
            try:
                connection, address = self.tcp.accept()
                with connection:
                    connection.settimeout(1)
                    self.received.append(f"tcp from {address}: {connection.recv(200)!r}")
            except OSError:
                pass
            try:
                data, address = self.udp.recvfrom(200)
                self.received.append(f"udp from {address}: {data!r}")
            except OSError:
                pass

    def close(self) -> None:
        if self.available:
            self.running = False
            self.thread.join(timeout=5)
            self.tcp.close()
            self.udp.close()


def make_sentinel() -> None:
    """A folder outside every scratch folder: a root-only file and folder, and an open folder."""
    if SENTINEL.exists():
        shutil.rmtree(SENTINEL)
    SENTINEL.mkdir()
    os.chmod(SENTINEL, 0o755)
    (SENTINEL / "target.txt").write_text("the grader must never chmod/chown or write this\n")
    os.chmod(SENTINEL / "target.txt", 0o600)
    (SENTINEL / "protected").mkdir(mode=0o700)
    (SENTINEL / "protected" / "secret.txt").write_text("secret\n")
    (SENTINEL / "open").mkdir()
    os.chmod(SENTINEL / "open", 0o777)  # writable by anyone who can reach it


def strict_roots(input_dir: Path) -> list[Path]:
    """Folders where any change at all is a failure (nothing else works in them)."""
    return [SENTINEL, input_dir, datasets.data_dir(None), PROJECT / "grader" / "checks",
            PROJECT / "reference_solution", CORPUS]


def take_snapshot(input_dir: Path, private: list[Path]) -> dict:
    tmp_roots = [Path("/tmp")]
    skip = {SENTINEL, *private}
    names = ("pytest-of-", "cnn1-grade-", "bash_jobs", "bash_tool_")
    return snapshot([PROJECT, *strict_roots(input_dir), *tmp_roots], skip=skip, skip_names=names)


@dataclass
class CorpusRun:
    results: dict[str, GradeResult]
    facts: dict[str, dict]
    file_changes: list[str]
    changes_by_case: dict[str, list[str]]
    survivors: list[str]
    leftover_jobs: list[str]
    listener: Listener
    summary: object
    grades: list[dict[str, str]]
    seconds: float


def _attribute(found: list[str]) -> dict[str, list[str]]:
    """Changed files whose content names a case's marker, per case."""
    by_case: dict[str, list[str]] = {}
    for line in found:
        path = line.split(": ", 1)[-1].split(" ")[0]
        try:
            with open(path, "rb") as handle:
                text = handle.read(4 * 2**20).decode("utf-8", errors="replace")
        except OSError:
            continue
        for marker in set(re.findall(re.escape(MARKER_PREFIX) + r"[\w]+", text)):
            by_case.setdefault(marker, []).append(line)
    return by_case


@pytest.fixture(scope="session")
def corpus_run(tmp_path_factory) -> CorpusRun:
    """Grade the whole corpus and the reference solution in one batch (jobs=2).

    Measured on the 2-core development machine: 980 s for the batch, 1063 s for all slow tests of
    this file, about 10.5 CPU-minutes (while other sessions kept the load average at 6-7);
    `test_the_corpus_batch_grades_every_student_and_the_reference_fully` prints the time per grading.
    """
    base = tmp_path_factory.mktemp("hostile")
    input_dir, out_dir, facts_dir = base / "input", base / "out", base / "facts"
    for folder in (input_dir, facts_dir):
        folder.mkdir()
    for name in committed_cases():
        shutil.copyfile(CORPUS / name, input_dir / name)
    for name in GENERATED_HEADERS:
        (input_dir / name).write_bytes(generated_content(name))
    shutil.copyfile(REFERENCE, input_dir / f"{GOOD}.py")
    # The grader's job folders go to a private folder (its own TMPDIR), so the leftovers of these
    # gradings can be told apart from other programs' files in /tmp.
    jobs_dir = Path(tempfile.mkdtemp(prefix="cnn1-hostile-jobs-", dir="/tmp"))
    os.chmod(jobs_dir, 0o711)
    make_sentinel()
    listener = Listener()
    before = take_snapshot(input_dir, [jobs_dir])
    saved = {key: os.environ.get(key) for key in ("TMPDIR", FACTS_VARIABLE)}
    os.environ.update(TMPDIR=str(jobs_dir), **{FACTS_VARIABLE: str(facts_dir)})
    started = time.monotonic()
    try:
        summary = run_batch(input_dir, out_dir, jobs=2, options=OPTIONS, grade_fn=record_grade,
                            console=Console(file=io.StringIO(), width=200), task_timeout=TASK_TIMEOUT)
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    seconds = time.monotonic() - started
    time.sleep(1)  # let killed processes be reaped before looking for survivors
    after = take_snapshot(input_dir, [jobs_dir])
    listener.close()
    found = changes(before, after, strict_roots(input_dir))
    stored = ResultStore(out_dir).load_done()
    results = {student: entry.result for student, entry in stored.items()}
    facts = {}
    for name in [*ALL_CASES, f"{GOOD}.py"]:
        path = facts_file(facts_dir, name)
        facts[name] = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    with open(summary.grades_csv, encoding="utf-8-sig", newline="") as handle:
        grades = list(csv.DictReader(handle))
    leftover_jobs = sorted(p.name for p in jobs_dir.iterdir())
    shutil.rmtree(jobs_dir, ignore_errors=True)
    run = CorpusRun(results, facts, found, _attribute(found), processes_with(MARKER_PREFIX), leftover_jobs,
                    listener, summary, grades, seconds)
    print(f"\nhostile corpus: {len(ALL_CASES)} cases + the reference graded in {seconds:.0f} s (jobs=2)")
    return run


def _result(run: CorpusRun, name: str) -> GradeResult:
    student = Path(name).stem
    assert student in run.results, f"no stored result for {name}: the batch lost this student"
    return run.results[student]


@pytest.mark.slow
@pytest.mark.parametrize("name", ALL_CASES)
def test_case_gets_its_verdict_within_its_limits(corpus_run, name):
    expect = expectation(name)
    result = _result(corpus_run, name)
    missing = missing_measures(expect, result.isolation)
    if missing:
        pytest.skip(f"this verdict relies on {missing}, not in force on this machine "
                    f"(isolation: {result.isolation}); see docs/security.md")
    problems = verdict_problems(expect, result)
    facts = corpus_run.facts[name]
    bound = expect.seconds or (WORKER_BOUND if expect.status == GRADED else INVALID_BOUND)
    if not facts:
        problems.append("the grading function never finished (no facts recorded)")
    elif facts["seconds"] > bound:
        problems.append(f"grading took {facts['seconds']:.0f} s, more than the bound of {bound:.0f} s")
    if facts.get("survivors"):
        problems.append(f"processes of the submission alive after grading: {facts['survivors']}")
    if len(result.worker_output_tail) > 4000:
        problems.append(f"the report holds {len(result.worker_output_tail)} characters of output")
    if corpus_run.changes_by_case.get(marker_of(Path(name))):
        problems.append(f"files changed outside the scratch folder: {corpus_run.changes_by_case[marker_of(Path(name))]}")
    assert problems == [], f"{name} ({expect.hostile}):\n  " + "\n  ".join(problems)


@pytest.mark.slow
def test_the_corpus_batch_grades_every_student_and_the_reference_fully(corpus_run):
    students = {Path(name).stem for name in ALL_CASES} | {GOOD}
    assert {row["student_id"] for row in corpus_run.grades} == students
    assert len(corpus_run.grades) == len(students), "one row per student"
    good = corpus_run.results[GOOD]
    assert good.status == GRADED and good.score == 100, [
        (c.id, c.feedback[0].got) for c in good.checks if not c.passed]
    row = next(r for r in corpus_run.grades if r["student_id"] == GOOD)
    assert float(row["total"]) == 100
    assert corpus_run.facts[f"{GOOD}.py"]["seconds"] <= REFERENCE_BOUND
    assert corpus_run.summary.students == len(students)
    print(f"hostile corpus batch: {corpus_run.seconds:.0f} s; per grading: " + ", ".join(
        f"{Path(n).stem} {f.get('seconds', '?')}" for n, f in sorted(corpus_run.facts.items())))


@pytest.mark.slow
def test_nothing_outside_the_scratch_folders_changed(corpus_run):
    if not all(r.isolation.get("read_only_filesystem") for r in corpus_run.results.values() if r.status == GRADED):
        pytest.skip("no read-only file system here (plain process sandbox): a submission can write "
                    "wherever its user may; see docs/security.md")
    assert corpus_run.file_changes == []


@pytest.mark.slow
def test_no_process_of_a_submission_is_alive_afterwards(corpus_run):
    assert corpus_run.survivors == []
    assert corpus_run.leftover_jobs == [], "the grader's job folders must be removed"


@pytest.mark.slow
def test_nothing_reached_the_listener_on_localhost(corpus_run):
    if not corpus_run.listener.available:
        pytest.skip(f"port {LISTEN_PORT} is in use here")
    network = _result(corpus_run, "tamper_network.py")
    if not network.isolation.get("no_network"):
        pytest.skip("no network isolation on this machine (plain process sandbox)")
    assert corpus_run.listener.received == []


# ------------------------------------------------------------------------------ a zip batch
def _symlink_entry(name: str, target: str) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name)
    info.external_attr = (stat.S_IFLNK | 0o777) << 16
    return info


@pytest.mark.slow
def test_a_zip_with_traversal_absolute_and_link_entries_grades_every_student(tmp_path):
    marker = f"{MARKER_PREFIX}zip"
    export = tmp_path / "export.zip"
    with zipfile.ZipFile(export, "w") as archive:
        archive.writestr("good_small.py", GOOD_SMALL)
        archive.writestr("broken_not_json.ipynb", (CORPUS / "broken_not_json.ipynb").read_bytes())
        archive.writestr("broken_empty.ipynb", b"")
        archive.writestr("../../cnn1-hostile-zip-up.py", f"# {marker}\n")
        archive.writestr("sub/../../../cnn1-hostile-zip-deep.py", f"# {marker}\n")
        archive.writestr("/tmp/cnn1-hostile-zip-absolute.py", f"# {marker}\n")
        archive.writestr(_symlink_entry("link.py", str(SENTINEL / "target.txt")), str(SENTINEL / "target.txt"))
    make_sentinel()
    out_dir = tmp_path / "out"
    before = snapshot([PROJECT, SENTINEL, Path("/tmp")], skip_names=("cnn1-grade-", "bash_jobs", "bash_tool_"))
    summary = run_batch(export, out_dir, jobs=2, options=OPTIONS, task_timeout=TASK_TIMEOUT,
                        console=Console(file=io.StringIO(), width=200))
    after = snapshot([PROJECT, SENTINEL, Path("/tmp")], skip_names=("cnn1-grade-", "bash_jobs", "bash_tool_"))
    outside = [line for line in changes(before, after, [SENTINEL]) if str(out_dir) not in line]
    assert outside == []
    assert [p for p in Path("/").glob("cnn1-hostile-zip-*")] == []
    assert [p for p in tmp_path.rglob("cnn1-hostile-zip-*")] == []
    with open(summary.grades_csv, encoding="utf-8-sig", newline="") as handle:
        rows = {row["student_id"]: row for row in csv.DictReader(handle)}
    assert set(rows) == {"good_small", "broken_not_json", "broken_empty"}
    assert float(rows["good_small"]["total"]) == 9, "its full score: the two functions it has"
    assert rows["broken_not_json"]["status"] == rows["broken_empty"]["status"] == INVALID_SUBMISSION
    refused = {problem.entry: problem.reason for problem in summary.problems}
    assert "../../cnn1-hostile-zip-up.py" in refused and "link.py" in refused
    assert any("absolute" in reason for reason in refused.values())
    assert any("traversal" in reason for reason in refused.values())
    assert "symbolic link" in refused["link.py"]
    assert sorted(p.stem for p in (out_dir / "results").glob("*.json")) == sorted(rows)


DANGEROUS = ("\x1b", "\x9b", "\u202e", "\x07")


@pytest.mark.slow
def test_escape_sequences_of_a_submission_reach_no_report_raw(corpus_run, tmp_path):
    """tamper_terminal_escapes.py printed, raised and returned escape sequences: every writer shows
    them inert (the terminal, HTML, JSON, Gradescope), and the class's gradebook holds none either."""
    import io

    from grader.reports.gradescope import write_gradescope_results
    from grader.reports.html import render_feedback_html
    from grader.reports.json_report import render_json
    from grader.reports.terminal import render_terminal
    result = _result(corpus_run, "tamper_terminal_escapes.py")
    assert result.worker_output_tail and any(e.error_type == "RuntimeError" for e in result.cell_errors)
    screen = io.StringIO()
    render_terminal(result, "en", Console(file=screen, width=120))
    write_gradescope_results(result, tmp_path / "results.json")
    outputs = {"terminal": screen.getvalue(), "html": render_feedback_html(result), "json": render_json(result),
               "gradescope": (tmp_path / "results.json").read_text(encoding="utf-8"),
               "grades.csv": "\n".join(str(value) for row in corpus_run.grades for value in row.values())}
    for writer, text in outputs.items():
        assert not [c for c in DANGEROUS if c in text], writer
    assert "Score: 100/100" not in outputs["terminal"].split("\n")[0]
