"""Grade a whole class: an LMS export in, a gradebook, feedback pages and a class summary out.

Every submission goes through the one grading function (`grader.grade.grade_submission` unless a
test passes another with the same signature), in `grader.pool`'s pool of spawned processes on this
machine or as one task each on a Dask cluster: a grading that dies or hangs becomes that student's
grader error and the others go on. Each result is stored the moment it arrives (`grader.store`), so a
run that is killed loses at most the submissions being graded at that moment, and the same command
run again grades only what is missing or changed.

Output folder:
  results/<student>.json     the stored results (the resumable state)
  grades.csv                 one row per student, one column per rubric check
  canvas_grades.csv          optional: Canvas gradebook import
  moodle_grading_worksheet.csv  optional: Moodle grading worksheet
  feedback/<student>.html    one self-contained feedback page per student
  summary.html               class summary: histogram, pass rate per check, what was found
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import psutil
from rich.console import Console
from rich.markup import escape
from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn,
                           TimeRemainingColumn)

from grader import datasets
from grader.grade import GradeOptions
from grader.lms import Collection, Problem, Submission, collect_submissions
from grader.pool import (TIMED_OUT, DaskPool, Outcome, Pool, PoolError, ProcessPool, Task,
                         task_timeout_for)
from grader.reports import for_students
from grader.reports.common import COURSE_TITLE
from grader.reports.gradebook import (GradebookEntry, canvas_assignment_header, write_canvas_csv,
                                      write_grades_csv, write_moodle_csv)
from grader.reports.summary_html import CheckInfo, ClassSummary, write_summary_html
from grader.results import GRADED, GRADER_ERROR, GradeResult, Text
from grader.protocol import MODE_FREE
from grader.rubric import RUBRIC_FREE_PATH, Rubric, RubricError, load_rubric
from grader.secret import salt_in_force
from grader.store import ResultStore, StoredResult, file_sha256, safe_file_stem

GradeFn = Callable[[Path, GradeOptions], GradeResult]

WORKER_OVERHEAD_MB = 1500       # grader process + TensorFlow import, on top of the worker's cap

GRADES_CSV = "grades.csv"
CANVAS_CSV = "canvas_grades.csv"
MOODLE_CSV = "moodle_grading_worksheet.csv"
SUMMARY_HTML = "summary.html"
FEEDBACK_DIR = "feedback"
LOCK_FILE = ".batch.lock"


class BatchError(Exception):
    """The batch cannot run at all (bad input, Dask missing); str() says what to do."""


@dataclass
class BatchSummary:
    """What a batch run did and where its outputs are."""

    layout: str
    layout_detected: bool
    students: int
    graded_now: int
    skipped: int
    statuses: dict[str, int]
    problems: list[Problem]
    out_dir: Path
    grades_csv: Path
    summary_html: Path
    feedback_dir: Path | None
    canvas_csv: Path | None = None
    moodle_csv: Path | None = None
    elapsed_seconds: float = 0.0
    notes: list[str] = field(default_factory=list)
    modes: dict[str, int] = field(default_factory=dict)  # "contract" / "free" -> submissions graded so


@dataclass(frozen=True)
class _WorkItem:
    """One submission to grade, with the content hash its result is stored under."""

    submission: Submission
    sha256: str
    file: str


# ---------------------------------------------------------------------------------- entry point
def run_batch(input_path: Path, out_dir: Path, *, jobs: int | None = None, layout: str = "auto",
              options: GradeOptions = GradeOptions(), scheduler: str | None = None,
              canvas_csv: bool = False, moodle_csv: bool = False, grade_fn: GradeFn | None = None,
              console: Console | None = None, canvas_assignment: str | None = None,
              feedback_view: str = "student", regrade_errors: bool = True,
              task_timeout: float | None = None) -> BatchSummary:
    """Grade every submission of an export (folder or .zip) into `out_dir`; resumable.

    jobs: processes of the local pool (default: what cores and memory allow, see `default_jobs`).
    scheduler: "tcp://host:port" of a Dask scheduler, or "local:N" for a local Dask cluster of N
        worker processes; None grades in the local process pool.
    canvas_assignment: the Canvas column title, best "Title (assignment id)"; default: the rubric title.
    feedback_view: "student" (what `grader.reports.for_students` lets a student see) or "instructor".
    regrade_errors: grade again on a rerun the submissions whose stored result is a grader error.
    task_timeout: seconds from its start after which a grading is stopped and recorded as a grader
        error (default: 3 x options.total_seconds + 300 s; grade_submission enforces its own limits
        first, this only guards against a hung grading process; on Dask the grading is given up but
        keeps its worker thread, see `grader.pool.DaskPool`).
    """
    started = time.monotonic()
    grade_fn = grade_fn or _default_grade_fn()
    if feedback_view not in ("student", "instructor"):
        raise BatchError(f"feedback_view must be 'student' or 'instructor', not {feedback_view!r}")
    console = console or Console(stderr=True)
    out_dir = Path(out_dir).resolve()
    input_path = Path(input_path).resolve()
    if input_path.is_dir() and (out_dir == input_path or input_path in out_dir.parents):
        raise BatchError(f"{out_dir}: the output folder must not be inside the input folder "
                         "(its files would be read as submissions)")
    out_dir.mkdir(parents=True, exist_ok=True)
    try:
        rubric = load_rubric()
    except RubricError as problem:
        raise BatchError(str(problem)) from None
    with _exclusive(out_dir), _collect(input_path, layout, out_dir, scheduler) as collection:
        _announce(console, collection, input_path)
        store = ResultStore(out_dir)
        store.remove_stray_temp_files()
        items, hash_problems = _work_items(collection)
        done = store.load_done()
        todo = [item for item in items
                if not _is_done(done.get(item.submission.student_id), item.sha256, regrade_errors)]
        skipped = len(items) - len(todo)
        if skipped:
            console.print(f"{skipped} submission(s) already graded and unchanged: not graded again.")
        batch_options = _batch_options(options, input_path, out_dir, collection)
        recorder = _Recorder(store, out_dir, rubric, feedback_view, console)
        if todo:
            timeout = task_timeout or task_timeout_for(options.total_seconds)
            pool = _pool(scheduler, jobs, options, timeout, console, len(todo))
            with _progress(console) as progress:
                recorder.attach(progress, len(todo))
                _grade_all(pool, grade_fn, todo, batch_options, recorder)
        summary = _write_outputs(out_dir, collection, items, store, rubric, recorder, input_path,
                                 canvas_csv, moodle_csv, canvas_assignment, hash_problems)
    summary.graded_now, summary.skipped = recorder.recorded, skipped
    summary.elapsed_seconds = time.monotonic() - started
    modes = ", ".join(f"{count} {mode}" for mode, count in sorted(summary.modes.items()))
    console.print(f"Done: {summary.students} student(s) ({modes or 'none'} mode), {summary.graded_now} graded now, "
                  f"{summary.skipped} unchanged. Gradebook: {summary.grades_csv}")
    return summary


def default_jobs(options: GradeOptions) -> int:
    """Parallel gradings this machine can hold: cores, and memory at the worker cap plus overhead."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:
        cores = os.cpu_count() or 1
    per_job = (options.memory_mb + WORKER_OVERHEAD_MB) * 1024 * 1024
    by_memory = psutil.virtual_memory().available // per_job
    return max(1, min(cores, int(by_memory)))


def _default_grade_fn() -> GradeFn:
    from grader.grade import grade_submission
    return grade_submission


# ---------------------------------------------------------------------------------- preparation
@contextlib.contextmanager
def _exclusive(out_dir: Path):
    """Hold a lock on the output folder: two runs writing one store would grade students twice.

    The kernel drops the lock when the process dies, so a killed run never blocks the next one.
    """
    handle = open(out_dir / LOCK_FILE, "a+")
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise BatchError(f"{out_dir}: another batch is running into this folder") from None
        yield
    finally:
        handle.close()


def _collect(input_path: Path, layout: str, out_dir: Path, scheduler: str | None) -> Collection:
    if not input_path.exists():
        raise BatchError(f"{input_path}: no such file or folder")
    extract_to = None
    if scheduler and not scheduler.startswith("local:"):
        # Workers on other machines must read the files: extract where the output goes, which a
        # cluster shares anyway (the temporary folder of this machine is not visible to them).
        extract_to = out_dir / ".input"
        if extract_to.exists():
            import shutil
            shutil.rmtree(extract_to)
    try:
        return collect_submissions(input_path, layout, extract_to=extract_to)
    except ValueError as exc:
        raise BatchError(str(exc)) from None


def _announce(console: Console, collection: Collection, input_path: Path) -> None:
    how = "detected" if collection.detected else "forced"
    console.print(f"[bold]{escape(input_path.name)}[/bold]: layout [bold]{collection.layout}[/bold] "
                  f"({how}), {len(collection.submissions)} student(s).", highlight=False)
    for submission in collection.submissions:
        if submission.had_choice:
            others = ", ".join(p.name for p in submission.chosen_from[1:])
            console.print(f"  {submission.student_id}: {len(submission.chosen_from)} files, graded the "
                          f"newest {submission.path.name} (not: {others})", highlight=False, markup=False)
    for problem in collection.problems:
        console.print(f"  refused {problem.entry}: {problem.reason}", highlight=False, markup=False)
    if collection.ignored:
        console.print(f"  {len(collection.ignored)} file(s) are not .ipynb/.py and were not graded "
                      "(listed in summary.html).")


def _work_items(collection: Collection) -> tuple[list[_WorkItem], list[Problem]]:
    items, problems = [], []
    for submission in collection.submissions:
        try:
            sha256 = file_sha256(submission.path)
        except OSError as exc:
            # Still graded: grade_submission turns an unreadable file into a result with a reason.
            problems.append(Problem(str(submission.path), f"cannot be read ({exc.strerror})"))
            sha256 = "unreadable"
        items.append(_WorkItem(submission, sha256, _relative_label(submission.path, collection.root)))
    return items, problems


def _relative_label(path: Path, root: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return str(path)


def _is_done(stored: StoredResult | None, sha256: str, regrade_errors: bool) -> bool:
    if stored is None or stored.sha256 != sha256:
        return False
    return not (regrade_errors and stored.result.status == GRADER_ERROR)


def _batch_options(options: GradeOptions, input_path: Path, out_dir: Path,
                   collection: Collection) -> GradeOptions:
    """`options` with the class's files hidden from the student code (other students' work, grades),
    and the installation's salt resolved here once: every grading process, on this machine or a Dask
    worker elsewhere, then derives the same inputs and seeds."""
    hidden = [*options.hide_paths, out_dir, collection.root]
    hidden.append(input_path if input_path.is_dir() else input_path.parent)
    unique = tuple(dict.fromkeys(Path(path).resolve() for path in hidden))
    salt = salt_in_force(options.salt, datasets.data_dir(options.data_dir))
    return dataclasses.replace(options, hide_paths=unique, salt=salt)


# ---------------------------------------------------------------------------------- results
class _Recorder:
    """Stores each result as it arrives, writes its feedback page, and moves the progress bar."""

    def __init__(self, store: ResultStore, out_dir: Path, rubric: Rubric, feedback_view: str,
                 console: Console) -> None:
        self.store = store
        self.feedback_dir = out_dir / FEEDBACK_DIR
        self.rubric = rubric
        self.feedback_view = feedback_view
        self.console = console
        self.write_feedback = _feedback_writer()
        self.recorded = 0
        self.failed = 0
        self.progress: Progress | None = None
        self.task = None
        self.total = 0

    def attach(self, progress: Progress, total: int) -> None:
        self.progress, self.total = progress, total
        self.task = progress.add_task("Grading", total=total, done=0, failed=0, remaining=total)

    def record(self, item: _WorkItem, result: GradeResult) -> None:
        submission = item.submission
        if not isinstance(result, GradeResult):
            result = grader_error_result(item, self.rubric, Text(
                ja="採点関数が採点結果を返しませんでした。",
                en=f"the grading function returned {type(result).__name__}, not a GradeResult"))
        # The file as named in the export, not the extraction folder's path: pages go to students.
        result = dataclasses.replace(result, submission=item.file, student_id=submission.student_id,
                                     student_name=submission.name)
        self.store.save(submission.student_id, item.sha256, result)
        self.write_feedback_page(submission.student_id, result)
        self.recorded += 1
        self.failed += result.status != GRADED
        if self.progress is not None:
            self.progress.update(self.task, advance=1, done=self.recorded, failed=self.failed,
                                 remaining=self.total - self.recorded)

    def feedback_path(self, student_id: str) -> Path:
        return self.feedback_dir / f"{safe_file_stem(student_id)}.html"

    def write_feedback_page(self, student_id: str, result: GradeResult) -> bool:
        if self.write_feedback is None:
            return False
        view = for_students(result) if self.feedback_view == "student" else result
        try:
            self.feedback_dir.mkdir(parents=True, exist_ok=True)
            self.write_feedback(view, self.feedback_path(student_id))
        except Exception as exc:  # a report bug must not cost the stored grade
            self.console.print(f"  feedback page for {student_id} failed: {type(exc).__name__}: {exc}",
                               markup=False, highlight=False)
            return False
        return True


def _feedback_writer() -> Callable[[GradeResult, Path], None] | None:
    try:
        from grader.reports.html import write_feedback_html
    except ImportError:
        return None
    return write_feedback_html


def grader_error_result(item: _WorkItem, rubric: Rubric, reason: Text, output: str = "") -> GradeResult:
    """A complete result for a submission whose grading never finished (process died, timeout).

    Built by grade.py's own `failed_result`, so a batch error looks like any other failed grading.
    """
    from grader.grade import failed_result
    result = failed_result(item.submission.path, rubric, GRADER_ERROR, item.sha256, reason)
    return dataclasses.replace(result, worker_output_tail=output[-4000:],
                               student_id=item.submission.student_id, student_name=item.submission.name)


def _raise_if_fatal(error: BaseException) -> None:
    """Stop the batch on a broken installation: every other submission would fail the same way."""
    from grader.datasets import DatasetUnavailable
    if isinstance(error, (DatasetUnavailable, RubricError)):
        raise BatchError(f"grading cannot run here: {error}") from error


def _progress(console: Console) -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
        TextColumn("done {task.fields[done]} · failed {task.fields[failed]} · "
                   "remaining {task.fields[remaining]}"),
        TimeElapsedColumn(), TextColumn("left"), TimeRemainingColumn(),
        console=console, transient=False)


# ---------------------------------------------------------------------------------- grading
def _pool(scheduler: str | None, jobs: int | None, options: GradeOptions, timeout: float,
          console: Console, count: int) -> Pool:
    """The local process pool, or Dask when a scheduler is given."""
    if scheduler:
        return DaskPool(scheduler, timeout)
    job_count = jobs or default_jobs(options)
    console.print(f"Grading {count} submission(s) with {job_count} process(es).")
    return ProcessPool(job_count, timeout)


def _grade_all(pool: Pool, grade_fn: GradeFn, items: list[_WorkItem], options: GradeOptions,
               recorder: _Recorder) -> None:
    """Grade every item in the pool, storing each result as it arrives."""
    by_key = dict(enumerate(items))
    tasks = [Task(key, (item.submission.path, options)) for key, item in by_key.items()]

    def record(outcome: Outcome) -> None:
        item = by_key[outcome.key]
        recorder.record(item, _result_of(outcome, item, recorder.rubric))

    try:
        pool.run(grade_fn, tasks, record)
    except PoolError as problem:
        raise BatchError(str(problem)) from None


def _result_of(outcome: Outcome, item: _WorkItem, rubric: Rubric) -> GradeResult:
    """The grading's result, or a grader error result saying why there is none."""
    if outcome.ok:
        return outcome.value
    if outcome.error is not None:
        _raise_if_fatal(outcome.error)
        error = outcome.error
        reason = Text(ja=f"採点中にエラーが発生しました（{type(error).__name__}）。",
                      en=f"the grader raised {type(error).__name__}: {error}")
    elif outcome.failure == TIMED_OUT:
        reason = Text(ja=f"採点が制限時間（{outcome.detail}）を超えたため中止しました。",
                      en=f"grading took longer than {outcome.detail} and was stopped")
    else:
        reason = Text(ja="採点プロセスが異常終了しました（メモリ不足などの可能性があります）。",
                      en=f"the grading process died ({outcome.detail}; for example killed for using "
                         "too much memory)")
    return grader_error_result(item, rubric, reason)


# ---------------------------------------------------------------------------------- outputs
def _write_outputs(out_dir: Path, collection: Collection, items: list[_WorkItem], store: ResultStore,
                   rubric: Rubric, recorder: _Recorder, input_path: Path, canvas_csv: bool,
                   moodle_csv: bool, canvas_assignment: str | None,
                   hash_problems: list[Problem]) -> BatchSummary:
    done = store.load_done()
    entries, feedback_links, notes = [], {}, []
    for item in items:
        stored = done.get(item.submission.student_id)
        if stored is None or stored.sha256 != item.sha256:
            notes.append(f"{item.submission.student_id}: no result stored (grading interrupted?)")
            continue
        entries.append(GradebookEntry(item.submission, stored.result, item.file, stored.stored_at))
        page = recorder.feedback_path(item.submission.student_id)
        # Pages missing after a killed run (result stored, page not yet written) are written now.
        if page.exists() or recorder.write_feedback_page(item.submission.student_id, stored.result):
            feedback_links[item.submission.student_id] = page.relative_to(out_dir).as_posix()
    if recorder.write_feedback is None:
        notes.append("feedback pages not written: grader.reports.html is not available")
    # A class graded partly free-form gets the free-form rubric's columns too (its ids are its own).
    rubrics = [rubric] + ([load_rubric(RUBRIC_FREE_PATH)] if any(e.result.mode == MODE_FREE for e in entries) else [])
    check_ids = [check.id for r in rubrics for check in r.checks]
    grades = write_grades_csv(out_dir / GRADES_CSV, entries, collection.layout, check_ids)
    canvas_path = moodle_path = None
    if canvas_csv:
        title = canvas_assignment or canvas_assignment_header(COURSE_TITLE.en)
        canvas_path = write_canvas_csv(out_dir / CANVAS_CSV, entries, collection.layout, title,
                                       rubric.total_points)
    if moodle_csv:
        moodle_path = write_moodle_csv(out_dir / MOODLE_CSV, entries, rubric.total_points)
    problems = collection.problems + hash_problems
    summary_page = out_dir / SUMMARY_HTML
    write_summary_html(ClassSummary(
        title=COURSE_TITLE, layout=collection.layout,
        layout_detected=collection.detected, input_name=input_path.name, entries=entries,
        checks=[CheckInfo(c.id, c.title, c.points) for r in rubrics for c in r.checks],
        max_score=rubric.total_points, problems=problems, ignored=collection.ignored,
        feedback_links=feedback_links, notes=notes), summary_page)
    statuses: dict[str, int] = {}
    modes: dict[str, int] = {}
    for entry in entries:
        statuses[entry.result.status] = statuses.get(entry.result.status, 0) + 1
        modes[entry.result.mode] = modes.get(entry.result.mode, 0) + 1
    return BatchSummary(layout=collection.layout, layout_detected=collection.detected,
                        students=len(entries), graded_now=0, skipped=0, statuses=statuses, modes=modes,
                        problems=problems, out_dir=out_dir, grades_csv=grades,
                        summary_html=summary_page,
                        feedback_dir=out_dir / FEEDBACK_DIR if recorder.write_feedback else None,
                        canvas_csv=canvas_path, moodle_csv=moodle_path, notes=notes)
