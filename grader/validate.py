"""`grade validate`: the instructor's proof that the hidden checks work.

It holds when
  * the rubric is consistent: its points add up to 100, every rubric id has exactly one hidden
    test `test_<id>` in grader/checks, and no test there lacks a rubric entry (the test names are
    read with `ast`, nothing is imported);
  * the reference solution (notebook and `.py`) scores full marks;
  * the untouched student template (notebook) scores 0 on every automatic check, each failing with
    a NotImplementedError message;
  * every faulty variant in tests/corpus/faulty loses points exactly in its own check (and in the
    checks it declares with `# also-fails:`), keeping full marks everywhere else.

A faulty variant is a short snippet `tests/corpus/faulty/<check id>.py` (or `<check id>__<what>.py`
for a further one) whose first line is
`# defect: <one line>`; appended as the last cell to the reference `.py`'s definitions (without its
demo cells: `definitions_only`), it redefines one contract function with one mistake. The gradings run in a pool of spawned processes, each calling
`grade_submission` exactly as `grade` does.
"""

from __future__ import annotations

import ast
import dataclasses
import re
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from grader import datasets
from grader.grade import GradeOptions, grade_submission
from grader.pool import DIED, TIMED_OUT, Outcome, ProcessPool, Task, task_timeout_for
from grader.results import GRADED, GradeResult
from grader.rubric import PROJECT_ROOT, RUBRIC_PATH, Rubric, RubricError, load_rubric, rubric_problems
from grader.score import GRADER_FAULT
from grader.secret import salt_in_force

CHECKS_DIR = PROJECT_ROOT / "grader" / "checks"
FAULTY_DIR = PROJECT_ROOT / "tests" / "corpus" / "faulty"
REFERENCE_NOTEBOOK = PROJECT_ROOT / "reference_solution" / "cnn_assignment_solution.ipynb"
REFERENCE_PY = PROJECT_ROOT / "reference_solution" / "cnn_assignment_solution.py"
TEMPLATE_NOTEBOOK = PROJECT_ROOT / "student_template" / "cnn_assignment.ipynb"
EXPECTED_TOTAL = 100.0
DEFECT_LINE = re.compile(r"^#\s*defect:\s*(\S.*)$")
ALSO_FAILS_LINE = re.compile(r"^#\s*also-fails:\s*(.*)$")


# ------------------------------------------------------------------ the report
@dataclass(frozen=True)
class ValidationItem:
    """One thing validation proves: ok, or a problem with a plain English reason."""

    name: str
    ok: bool
    reason: str
    seconds: float | None = None


@dataclass
class ValidationReport:
    items: list[ValidationItem] = field(default_factory=list)
    seconds: float = 0.0
    results: dict[str, GradeResult] = field(default_factory=dict, repr=False)  # item name -> grading

    @property
    def ok(self) -> bool:
        return bool(self.items) and all(item.ok for item in self.items)

    @property
    def problems(self) -> list[ValidationItem]:
        return [item for item in self.items if not item.ok]

    def item(self, name: str) -> ValidationItem:
        return next(item for item in self.items if item.name == name)

    def table(self) -> Table:
        """The report as a rich table, one row per item."""
        passed = sum(item.ok for item in self.items)
        table = Table(title=f"grade validate: {passed} of {len(self.items)} items hold "
                            f"({self.seconds:.0f} s)", show_lines=False)
        table.add_column("item")
        table.add_column("result")
        table.add_column("reason", overflow="fold")
        table.add_column("time", justify="right")
        for item in self.items:
            table.add_row(item.name, "[green]ok[/green]" if item.ok else "[bold red]problem[/bold red]",
                          item.reason, "" if item.seconds is None else f"{item.seconds:.0f} s")
        return table


# ------------------------------------------------------------------ rubric consistency (static)
def check_test_functions(checks_dir: Path = CHECKS_DIR) -> dict[str, list[str]]:
    """The test functions pytest would collect in `checks_dir`: name -> the files defining it.

    Read with `ast` (module-level `def test_*` in `test_*.py`, in any subfolder), so nothing is
    imported or run. Files are named by their path inside `checks_dir`, e.g. visible/test_part_a.py.
    """
    found: dict[str, list[str]] = {}
    for path in sorted(Path(checks_dir).rglob("test_*.py")):
        name = path.relative_to(checks_dir).as_posix()
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in tree.body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name.startswith("test"):
                found.setdefault(node.name, []).append(name)
            elif isinstance(node, ast.ClassDef) and node.name.startswith("Test"):
                found.setdefault(f"{node.name} (a test class)", []).append(name)
    return found


def visibility_folder(visibility: str) -> str:
    """The subfolder of grader/checks/ a check of this visibility lives in: the student kit ships
    visible/ and nothing else."""
    return "visible" if visibility == "visible" else "hidden"


def rubric_consistency(checks_dir: Path = CHECKS_DIR, rubric_path: Path = RUBRIC_PATH) -> list[ValidationItem]:
    """Rubric points, rubric -> checks (exactly one test each), checks -> rubric (no stray test)."""
    try:
        rubric = load_rubric(rubric_path)
    except RubricError as problem:
        return [ValidationItem("rubric points", False, f"the rubric cannot be used: {problem}")]
    except (KeyError, TypeError, ValueError) as problem:
        return [ValidationItem("rubric points", False, f"the rubric has a malformed entry: {problem!r}")]
    items = []
    problems = rubric_problems(rubric)
    if abs(rubric.total_points - EXPECTED_TOTAL) > 1e-9:
        problems.append(f"total_points is {rubric.total_points:g}, not {EXPECTED_TOTAL:g}")
    items.append(ValidationItem(
        "rubric points", not problems,
        "; ".join(problems) if problems else
        f"{len(rubric.checks)} checks worth {sum(c.points for c in rubric.checks):g} points in all"))

    try:
        tests = check_test_functions(checks_dir)
    except (OSError, SyntaxError) as problem:
        reason = f"the checks in {checks_dir} cannot be read: {problem}"
        return items + [ValidationItem("rubric -> checks", False, reason),
                        ValidationItem("checks -> rubric", False, reason)]
    missing, repeated = [], []
    for check in rubric.checks:
        files = tests.get(f"test_{check.id}", [])
        if not files:
            missing.append(f"rubric entry {check.id!r} has no test function test_{check.id} in {checks_dir.name}/")
        elif len(files) > 1:
            repeated.append(f"test_{check.id} is defined {len(files)} times (in {', '.join(files)})")
    items.append(ValidationItem(
        "rubric -> checks", not (missing or repeated),
        "; ".join(missing + repeated) if missing or repeated else
        f"every rubric entry has exactly one test function test_<id> in {checks_dir.name}/"))
    ids = {check.id for check in rubric.checks}
    strays = [f"{name} (in {', '.join(files)}) has no rubric entry"
              for name, files in sorted(tests.items()) if name.removeprefix("test_") not in ids]
    items.append(ValidationItem(
        "checks -> rubric", not strays,
        "; ".join(strays) if strays else f"all {len(tests)} test functions map to a rubric entry"))
    misplaced = [f"test_{check.id} is {check.visibility} but defined in {files[0]}, not in "
                 f"{visibility_folder(check.visibility)}/"
                 for check in rubric.checks for files in [tests.get(f"test_{check.id}", [])]
                 if len(files) == 1 and not files[0].startswith(visibility_folder(check.visibility) + "/")]
    items.append(ValidationItem(
        "visibility -> folder", not misplaced,
        "; ".join(misplaced) if misplaced else "visible checks in visible/, the others in hidden/"))
    return items


# ------------------------------------------------------------------ faulty variants
@dataclass(frozen=True)
class Variant:
    """A faulty variant: the check it must fail, the defect, and the snippet that makes it."""

    check_id: str
    defect: str
    also_fails: tuple[str, ...]
    snippet: str
    path: Path

    @property
    def expected_failures(self) -> set[str]:
        return {self.check_id, *self.also_fails}

    @property
    def name(self) -> str:
        """The file's stem: `<check id>` or `<check id>__<what>` for a further variant of a check."""
        return self.path.stem


class VariantError(Exception):
    """A variant file is malformed; str() says why."""


def read_variant(path: Path) -> Variant:
    """Parse one variant file (`# defect:` first line, optional `# also-fails: a, b` lines)."""
    text = Path(path).read_text(encoding="utf-8")
    lines = text.splitlines()
    match = DEFECT_LINE.match(lines[0]) if lines else None
    if not match:
        raise VariantError(f"{Path(path).name}: the first line must be '# defect: <what is wrong>'")
    also: list[str] = []
    for line in lines[1:]:
        extra = ALSO_FAILS_LINE.match(line)
        if extra:
            also += [name.strip() for name in extra.group(1).split(",") if name.strip()]
    try:
        ast.parse(text, filename=str(path))
    except SyntaxError as problem:
        raise VariantError(f"{Path(path).name}: syntax error on line {problem.lineno}: {problem.msg}") from None
    return Variant(Path(path).stem.split("__")[0], match.group(1).strip(), tuple(also), text, Path(path))


def load_variants(folder: Path = FAULTY_DIR) -> tuple[list[Variant], list[str]]:
    """All readable variants in `folder`, sorted by check id, and the problems of the others."""
    variants, problems = [], []
    for path in sorted(Path(folder).glob("*.py")):
        try:
            variants.append(read_variant(path))
        except VariantError as problem:
            problems.append(str(problem))
    return variants, problems


def definitions_only(source: str) -> str:
    """The imports, functions, classes and UPPER_CASE constants of a `.py`, without its demo code:
    what the checks call, graded in a fraction of the time the notebook's own cells take."""
    lines = source.splitlines()
    kept = []
    for node in ast.parse(source).body:
        constant = isinstance(node, (ast.Assign, ast.AnnAssign)) and all(
            isinstance(t, ast.Name) and t.id.isupper() for t in (node.targets if isinstance(node, ast.Assign) else [node.target]))
        if constant or isinstance(node, (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.ClassDef)):
            first = min([node.lineno, *[d.lineno for d in getattr(node, "decorator_list", [])]])
            kept.append("\n".join(lines[first - 1:node.end_lineno]))
    return "# %%\n" + "\n\n".join(kept)


def build_variant(variant: Variant, folder: Path, reference: Path = REFERENCE_PY) -> Path:
    """Write the reference's definitions (`definitions_only`) with the variant's snippet appended as
    the last cell (the full reference is graded on its own, notebook and `.py`)."""
    source = definitions_only(Path(reference).read_text(encoding="utf-8")).rstrip("\n")
    path = Path(folder) / f"faulty_{variant.name}.py"
    path.write_text(f"{source}\n\n\n# %%\n{variant.snippet.rstrip()}\n", encoding="utf-8")
    return path


def variant_coverage(variants: list[Variant], problems: list[str], rubric: Rubric) -> ValidationItem:
    """Every rubric check has one variant; every variant names real checks."""
    ids = {check.id for check in rubric.checks}
    have = {variant.check_id for variant in variants}
    problems = list(problems)
    problems += [f"no faulty variant for check {check_id!r} (expected {check_id}.py)"
                 for check_id in sorted(ids - have)]
    problems += [f"{variant.path.name} is named after no rubric check" for variant in variants
                 if variant.check_id not in ids]
    problems += [f"{variant.path.name} declares also-fails {name!r}, which is no rubric check"
                 for variant in variants for name in variant.also_fails if name not in ids]
    return ValidationItem("faulty variants present", not problems,
                          "; ".join(problems) if problems else
                          f"one variant for each of the {len(ids)} rubric checks")


# ------------------------------------------------------------------ judging the gradings
def failed_checks(result: GradeResult) -> set[str]:
    """The checks that did not get full marks."""
    return {check.id for check in result.checks if check.points < check.max_points}


def _status_problem(result: GradeResult) -> str | None:
    if result.status == GRADED:
        return None
    reason = result.reason.en if result.reason else ""
    return f"grading did not complete (status {result.status}): {reason}"[:400]


def _cell_errors(result: GradeResult) -> str:
    if not result.cell_errors:
        return ""
    errors = ", ".join(f"cell {e.cell} {e.error_type}: {e.message[:80]}" for e in result.cell_errors[:3])
    return f"; cell errors: {errors}"


def _first_words(result: GradeResult, check_id: str) -> str:
    check = next(c for c in result.checks if c.id == check_id)
    return check.feedback[0].got[:120] if check.feedback else ""


def judge_reference(name: str, result: GradeResult) -> ValidationItem:
    problem = _status_problem(result)
    if problem:
        return ValidationItem(name, False, problem)
    failed = sorted(failed_checks(result))
    if result.score == result.max_score and not failed:
        return ValidationItem(name, True, f"scored {result.score:g}/{result.max_score:g}")
    details = "; ".join(f"{check_id}: {_first_words(result, check_id)}" for check_id in failed)
    return ValidationItem(name, False, f"scored {result.score:g}/{result.max_score:g}; lost points in "
                                       f"{details}{_cell_errors(result)}")


def judge_template(name: str, result: GradeResult) -> ValidationItem:
    problem = _status_problem(result)
    if problem:
        return ValidationItem(name, False, problem)
    passed = sorted(check.id for check in result.checks if check.points > 0)
    silent = sorted(check.id for check in result.checks if check.points == 0 and not any(
        "NotImplementedError" in text for f in check.feedback for text in (f.got, f.expected.en, f.hint.en)))
    problems = []
    if result.score != 0 or passed:
        problems.append(f"scored {result.score:g} instead of 0; points in {', '.join(passed)}")
    if silent:
        problems.append("no NotImplementedError message in the feedback of "
                        + ", ".join(f"{i} ({_first_words(result, i)!r})" for i in silent))
    if problems:
        return ValidationItem(name, False, "; ".join(problems))
    return ValidationItem(name, True, f"scored 0 on all {len(result.checks)} checks, "
                                      "each with a NotImplementedError message")


def judge_variant(name: str, variant: Variant, result: GradeResult) -> ValidationItem:
    problem = _status_problem(result)
    if problem:
        return ValidationItem(name, False, problem)
    failed = failed_checks(result)
    expected = variant.expected_failures
    problems = []
    if expected - failed:
        problems.append(f"did not lose points in {', '.join(sorted(expected - failed))}")
    if failed - expected:
        problems.append("also lost points in " + "; ".join(
            f"{i} ({_first_words(result, i)})" for i in sorted(failed - expected)))
    faults = sorted(i for i in failed & expected if any(
        f.got == GRADER_FAULT.got for c in result.checks if c.id == i for f in c.feedback))
    if faults:
        problems.append(f"{', '.join(faults)} failed through an error of the check itself, "
                        "not through its feedback")
    if problems:
        return ValidationItem(name, False, "; ".join(problems) + _cell_errors(result))
    return ValidationItem(name, True, f"failed only {', '.join(sorted(failed))} ({variant.defect})")


# ------------------------------------------------------------------ running the gradings
GradeFn = Callable[[Path, GradeOptions], GradeResult]


def _grade_all(tasks: list[tuple[str, Path]], jobs: int, options: GradeOptions,
               console: Console | None, grade_fn: GradeFn = grade_submission,
               ) -> dict[str, tuple[GradeResult | None, float, str]]:
    """Grade every (name, path) in `grader.pool`'s process pool; name -> (result or None, seconds,
    error). A grading that dies or hangs loses only its own item; the others go on in parallel."""
    outcomes: dict[str, tuple[GradeResult | None, float, str]] = {}
    progress = Progress(TextColumn("[bold]validate[/bold] {task.description}"), BarColumn(),
                        MofNCompleteColumn(), TimeElapsedColumn(), console=console or Console(quiet=True),
                        disable=console is None)
    with progress:
        bar = progress.add_task("grading", total=len(tasks))

        def record(outcome: Outcome) -> None:
            outcomes[outcome.key] = _validation_outcome(outcome)
            progress.update(bar, advance=1, description=outcome.key)

        pool = ProcessPool(jobs, task_timeout_for(options.total_seconds))
        pool.run(grade_fn, [Task(name, (path, options)) for name, path in tasks], record)
    return outcomes


def _validation_outcome(outcome: Outcome) -> tuple[GradeResult | None, float, str]:
    """(result or None, seconds, why there is no result) of one grading."""
    if outcome.ok:
        return outcome.value, outcome.seconds, ""
    if outcome.failure == DIED:
        error = f"the grading process died ({outcome.detail})"
    elif outcome.failure == TIMED_OUT:
        error = f"the grading took longer than {outcome.detail} and was stopped"
    else:  # e.g. a dataset that cannot be read
        error = f"{type(outcome.error).__name__}: {outcome.error}"
    return None, outcome.seconds, error[:400]


def _datasets_item(options: GradeOptions) -> ValidationItem | None:
    """A problem item when the datasets cannot be read (then no grading can run)."""
    try:
        for name in datasets.DATASET_NAMES:
            datasets.load_dataset(name, options.data_dir)
    except datasets.DatasetUnavailable as problem:
        return ValidationItem("datasets", False, str(problem))
    return None


def validate(jobs: int = 1, options: GradeOptions = GradeOptions(), console: Console | None = None,
             faulty_dir: Path = FAULTY_DIR, checks_dir: Path = CHECKS_DIR) -> ValidationReport:
    """Run the whole validation; with a console, show progress and print the table at the end."""
    started = time.monotonic()
    report = ValidationReport(rubric_consistency(checks_dir))
    try:
        rubric = load_rubric()
    except RubricError:
        report.seconds = time.monotonic() - started
        _print(report, console)
        return report
    variants, problems = load_variants(faulty_dir)
    report.items.append(variant_coverage(variants, problems, rubric))
    ids = {check.id for check in rubric.checks}
    variants = [v for v in variants if v.check_id in ids and set(v.also_fails) <= ids]

    missing_data = _datasets_item(options)
    if missing_data:
        report.items.append(missing_data)
        report.seconds = time.monotonic() - started
        _print(report, console)
        return report
    # Resolved once here: a salt that is refused stops the validation (exit 5), not each grading.
    options = dataclasses.replace(options, salt=salt_in_force(options.salt, datasets.data_dir(options.data_dir)))

    with tempfile.TemporaryDirectory(prefix="grade-validate-") as folder:
        tasks: list[tuple[str, Path]] = [("reference notebook", REFERENCE_NOTEBOOK),
                                         ("reference .py", REFERENCE_PY),
                                         ("template notebook", TEMPLATE_NOTEBOOK)]
        by_name = {f"variant {v.name}": v for v in variants}
        tasks += [(name, build_variant(v, Path(folder))) for name, v in by_name.items()]
        outcomes = _grade_all(tasks, jobs, options, console)

    for name, _ in tasks:
        result, seconds, error = outcomes[name]
        if result is None:
            item = ValidationItem(name, False, f"the grading process failed: {error}")
        else:
            report.results[name] = result
            item = _judge(name, result, by_name.get(name))
        report.items.append(ValidationItem(item.name, item.ok, item.reason, round(seconds, 1)))
    report.seconds = time.monotonic() - started
    _print(report, console)
    return report


def _judge(name: str, result: GradeResult, variant: Variant | None) -> ValidationItem:
    if variant is not None:
        return judge_variant(name, variant, result)
    if name.startswith("template"):
        return judge_template(name, result)
    return judge_reference(name, result)


def _print(report: ValidationReport, console: Console | None) -> None:
    if console is not None:
        console.print(report.table())
        console.print("[green]validation passed[/green]" if report.ok else
                      f"[bold red]validation found {len(report.problems)} problem(s)[/bold red]")
