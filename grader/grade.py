"""The `grade` command: one submission through load -> worker -> artifacts -> checks -> score.

`grade_submission` never raises for a bad submission: an unreadable file, a crashing or hostile
notebook, even a fault of the grader itself all end in a complete `GradeResult` whose `status`
and `reason` say what happened. Only a broken installation (no datasets, broken rubric) raises.
"""

from __future__ import annotations

import ast
import threading
import time
import traceback
from dataclasses import dataclass
from pathlib import Path

from grader import datasets, protocol, training
from grader.artifacts import read_artifacts
from grader.checks.support import CheckContext
from grader.free_checks import replay as free_replay
from grader.load import PLACEHOLDER, Submission, SubmissionUnreadable, answer_texts, load_submission
from grader.probes import build_free_plan, build_plan, write_worker_inputs
from grader.protocol import SPEC_FILE, probe_step
from grader.secret import SaltUnavailable, salt_in_force
from grader.results import (FAILED, GRADED, GRADER_ERROR, INVALID_SUBMISSION, TAMPERING, CellError,
                            CheckResult, Deliverable, Feedback, Figure, GradeResult, IntegrityFlag, Text)
from grader.rubric import PROJECT_ROOT, RUBRIC_FREE_PATH, Rubric, load_rubric
from grader.score import CHECKS_DIR, FREE_CHECKS_DIR, run_checks, score_checks
from grader.worker import JobFolder, Limits, choose_sandbox, run_worker


@dataclass(frozen=True)
class GradeOptions:
    """Settings of one grading; defaults suit a laptop and an LMS container alike."""

    data_dir: Path | None = None      # where mnist.npz / cifar10.npz live (see grader.datasets)
    cell_seconds: float = 60.0        # wall-clock limit of one notebook cell
    probe_seconds: float = 120.0      # wall-clock limit of one call into the submission
    total_seconds: float = 600.0      # wall-clock limit of the whole submission
    memory_mb: int = 4096             # memory cap of the worker
    sandbox: str = "auto"             # "auto" (bubblewrap when it works), "bwrap" or "process"
    hide_paths: tuple[Path, ...] = () # extra folders the worker must not see (batch input/output)
    salt: str | None = None           # the secret salt (None: see grader.secret.installation_salt)
    mode: str = "auto"                # "contract", "free", or "auto": free when no contract function is defined


MODES = ("auto", protocol.MODE_CONTRACT, protocol.MODE_FREE)


def grading_mode(submission: Submission, rubric: Rubric, requested: str) -> str:
    """The mode a submission is graded in: as requested, or in "auto" free-form when it has code but
    its cells define none of the contract's functions (a chapter-style notebook). A notebook without
    code is graded against the contract, whose feedback names the functions to write."""
    if requested != "auto":
        return requested
    if not any(cell.source.strip() for cell in submission.cells):
        return protocol.MODE_CONTRACT
    contract = {check.function for check in rubric.checks}
    defined = set()
    for cell in submission.cells:
        try:
            tree = ast.parse(cell.source)
        except (SyntaxError, ValueError):
            continue
        defined |= {node.name for node in tree.body if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))}
    return protocol.MODE_CONTRACT if contract & defined else protocol.MODE_FREE


def grade_submission(path: Path, options: GradeOptions = GradeOptions()) -> GradeResult:
    """Grade one submission file and return its complete result (never raises for bad input)."""
    path = Path(path)
    rubric = load_rubric()
    timings: dict[str, float] = {}
    started = time.monotonic()
    try:
        submission = load_submission(path)
    except SubmissionUnreadable as problem:
        return failed_result(path, rubric, INVALID_SUBMISSION, "", Text(
            f"{path.name} を読み込めません: {problem}", f"{path.name} cannot be read: {problem}"))
    timings["load"] = time.monotonic() - started
    mode = grading_mode(submission, rubric, options.mode)
    if mode == protocol.MODE_FREE:
        rubric = load_rubric(RUBRIC_FREE_PATH)
    try:
        return _grade_loaded(submission, rubric, options, timings, mode)
    except (datasets.DatasetUnavailable, SaltUnavailable):
        raise
    except Exception as exc:  # a grader fault must still give the student a valid result
        detail = "".join(traceback.format_exception_only(type(exc), exc)).strip()[:300]
        return failed_result(path, rubric, GRADER_ERROR, submission.sha256, Text(
            f"採点中に採点システムのエラーが起きました（学生の責任ではありません）: {detail}",
            f"the grader failed while grading (not the student's fault): {detail}"), mode)


def _grade_loaded(submission: Submission, rubric: Rubric, options: GradeOptions,
                  timings: dict[str, float], mode: str = protocol.MODE_CONTRACT) -> GradeResult:
    clock = time.monotonic()
    use_bwrap = choose_sandbox(options.sandbox)
    limits = Limits(options.cell_seconds, options.probe_seconds, options.total_seconds, options.memory_mb)
    cells = [{"index": c.index, "source": c.source} for c in submission.cells]
    salt = salt_in_force(options.salt, datasets.data_dir(options.data_dir))
    free = mode == protocol.MODE_FREE
    plan = (build_free_plan if free else build_plan)(
        submission.sha256, salt, rubric, options.data_dir, cells,
        {"cell_seconds": limits.cell_seconds, "probe_seconds": limits.probe_seconds})
    job = JobFolder(submission.path)
    try:
        write_worker_inputs(plan, job.in_dir)
        job.hand_over()
        timings["prepare"] = time.monotonic() - clock
        clock = time.monotonic()
        # The grader's own work starts while the worker still runs: accuracy training as soon as a
        # model is answered (prefetch_accuracies); in free-form mode, Keras and the data's indexes.
        memo: dict = {}
        worker_done = threading.Event()
        prefetch = threading.Thread(target=free_replay.prepare, args=(plan, memo), daemon=True) if free else \
            threading.Thread(target=training.prefetch_accuracies, args=(job.out, plan, rubric, worker_done),
                             daemon=True)
        prefetch.start()
        hidden = hidden_paths(submission, options)
        probe_seconds = {p["id"]: p.get("seconds", limits.probe_seconds) for p in plan.spec["probes"]}
        try:
            run = run_worker(job, limits, use_bwrap, hidden, probe_seconds, job.in_dir / SPEC_FILE)
            timings["worker"] = time.monotonic() - clock
            clock = time.monotonic()
            crashed = {c.step.removeprefix(probe_step("")): c.reason for c in run.crashes
                       if c.step.startswith(probe_step(""))}
            artifacts = read_artifacts(run.out_dir, [p["id"] for p in plan.spec["probes"]], crashed)
        finally:
            # Also when the grading fails: a training left running would share Keras' process-wide
            # seeds with the next grading of this process.
            worker_done.set()
            prefetch.join()
        timings["artifacts"] = time.monotonic() - clock
        clock = time.monotonic()
        outcomes = run_checks(CheckContext(plan, artifacts, rubric, memo=memo), rubric,
                              FREE_CHECKS_DIR if free else CHECKS_DIR)
        outcomes.flags += harness_notes(artifacts, outcomes.flags)
        checks = score_checks(rubric, outcomes)
        timings["checks"] = time.monotonic() - clock
    finally:
        job.remove()
    cell_errors = [CellError(e["cell"], e["type"], e["message"]) for e in artifacts.cell_errors]
    cell_errors += [CellError(int(c.step.removeprefix("cell:")), "WorkerKilled", c.reason)
                    for c in run.crashes if c.step.startswith("cell:")]
    figures = [Figure(f"notebook_{i}", _b64(png)) for i, png in enumerate(artifacts.notebook_figures)]
    figures += _probe_figures(artifacts)
    return GradeResult(
        submission=str(submission.path), sha256=submission.sha256, status=GRADED,
        score=sum(c.points for c in checks), max_score=rubric.total_points, checks=checks,
        deliverables=deliverables_of(submission, rubric), cell_errors=sorted(cell_errors, key=lambda e: e.cell),
        isolation=run.isolation, timings={k: round(v, 2) for k, v in timings.items()}, figures=figures,
        reason=_worker_reason(run), worker_output_tail=run.output_tail[-4000:], integrity=outcomes.flags,
        mode=mode)


def hidden_paths(submission: Submission, options: GradeOptions) -> list[Path]:
    """The folders the worker must not see: the grader's, the data, the submission's own folder and
    the caller's additions. In a source checkout that is every folder of the project, not only
    grader/ (hidden checks): the reference solution, the faulty variants in tests/, a local copy of
    the datasets (.data/, whose test split holds the held-out subset) and the git history are there
    too. The folder holding Python itself (the project's .venv) stays visible (see `hideable`)."""
    project = [PROJECT_ROOT / "grader"]
    if (PROJECT_ROOT / "pyproject.toml").is_file():  # a checkout, not an installed package
        project = sorted(path for path in PROJECT_ROOT.iterdir() if path.is_dir())
    return [*project, datasets.data_dir(options.data_dir), submission.path.parent.resolve(), *options.hide_paths]


def harness_notes(artifacts, flags: list[IntegrityFlag]) -> list[IntegrityFlag]:
    """What the harness saw of its instruments being changed, as one flag for the whole submission
    (voiding nothing by itself: the checks that rely on the instruments void their own points)."""
    notes = sorted({note for result in artifacts.probes.values() for note in result.tampering})
    flag = IntegrityFlag(TAMPERING, (), "the worker's harness saw: " + "; ".join(notes))
    return [flag] if notes and flag not in flags else []


def _b64(png: bytes) -> str:
    import base64
    return base64.b64encode(png).decode("ascii")


def _probe_figures(artifacts) -> list[Figure]:
    """The learning curves and misclassified images the submission drew for the grader's probes."""
    from grader.artifacts import FigureArtifact
    figures = []
    for probe_id in ("plot_learning_curves", "plot_misclassified"):
        result = artifacts.probes.get(probe_id)
        outcomes = result.value if result and result.status == "ok" and isinstance(result.value, list) else []
        for outcome in outcomes[:1]:
            figure = outcome.get("returned") if isinstance(outcome, dict) else None
            if isinstance(figure, FigureArtifact) and figure.png:
                figures.append(Figure(probe_id, figure.png_base64()))
    return figures


def _worker_reason(run) -> Text | None:
    """A note for the report when the worker had to be stopped or restarted."""
    if run.total_timeout:
        return Text("提出物全体の時間制限に達したため、残りの確認は実行されませんでした。",
                    "The submission reached its total time limit; the remaining checks did not run.")
    if run.crashes:
        steps = ", ".join(f"{c.step} ({c.reason})" for c in run.crashes)
        return Text(f"停止されたステップ: {steps}", f"steps that were stopped: {steps}")
    return None


def deliverables_of(submission: Submission, rubric: Rubric) -> list[Deliverable]:
    """Each hand-graded answer cell: present, still the placeholder, or missing."""
    answers = answer_texts(submission.markdown)
    found = []
    for entry in rubric.deliverables:
        text = answers.get(entry.id)
        if text is None:
            status = "missing"
        elif not text.replace(PLACEHOLDER, "").strip():
            status = "placeholder"
        else:
            status = "present"
        found.append(Deliverable(entry.id, entry.title, status, (text or "")[:1000] if status == "present" else ""))
    return found


def failed_result(path: Path, rubric: Rubric, status: str, sha256: str, reason: Text,
                  mode: str = protocol.MODE_CONTRACT) -> GradeResult:
    """A valid result for a grading that could not run: every check failed, with the reason."""
    feedback = Feedback(expected=Text("採点できる提出物", "a submission that can be graded"),
                        got=reason.en, hint=Text("ファイルを Jupyter で開けるか確認して、もう一度提出してください。",
                                                 "Check that the file opens in Jupyter, then submit again."))
    checks = [CheckResult(c.id, c.part, c.title, c.points, c.visibility, FAILED, 0.0, [feedback])
              for c in rubric.checks]
    deliverables = [Deliverable(d.id, d.title, "missing") for d in rubric.deliverables]
    return GradeResult(submission=str(path), sha256=sha256, status=status, score=0.0,
                       max_score=rubric.total_points, checks=checks, deliverables=deliverables,
                       isolation={}, reason=reason, mode=mode)
