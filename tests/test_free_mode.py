"""Free-form mode end to end: chapter-style notebooks graded with `--mode free`, each check's verdict
compared with the hand labels in the corpus (tests/corpus/free/, one `# expect:` line per file, see
its README), and the chapter-style reference at full marks.

The labels were written by hand from the rubric's wording (assignment/rubric_free.toml), before and
independently of the checks' code.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import nbformat
import pytest

from grader.grade import GradeOptions, grade_submission
from grader.pool import ProcessPool, Task, task_timeout_for
from grader.results import GRADED, PASSED

from conftest import SUITE_JOBS

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "tests" / "corpus" / "free"
REFERENCE = ROOT / "reference_solution" / "cnn_chapter_style.ipynb"
RUBRIC = tomllib.loads((ROOT / "assignment" / "rubric_free.toml").read_text(encoding="utf-8"))
CHECK_IDS = [c["id"] for c in RUBRIC["check"]]
EXPECT = re.compile(r"^#\s*expect:\s*(.*)$", re.MULTILINE)
FILES = sorted(p for p in CORPUS.iterdir() if p.suffix in (".py", ".ipynb"))


def header(path: Path) -> str:
    """The first lines of a .py, or of the first code cell of an .ipynb."""
    if path.suffix == ".ipynb":
        notebook = nbformat.read(path, as_version=4)
        return next((cell.source for cell in notebook.cells if cell.cell_type == "code"), "")
    return "\n".join(path.read_text(encoding="utf-8").splitlines()[:5])


def expected(path: Path) -> dict[str, bool]:
    match = EXPECT.search(header(path))
    assert match, f"{path.name}: no '# expect:' line"
    labels = dict(item.split("=") for item in match.group(1).split())
    assert list(labels) == CHECK_IDS, f"{path.name}: the labels must name every check, in the rubric's order"
    assert set(labels.values()) <= {"pass", "fail"}, path.name
    return {check_id: value == "pass" for check_id, value in labels.items()}


# ------------------------------------------------------------------ the corpus itself (fast)
def test_the_corpus_has_thirty_notebooks_in_several_formats():
    assert len(FILES) >= 30
    assert sum(p.suffix == ".ipynb" for p in FILES) >= 5


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_every_corpus_file_is_labelled_for_every_check(path):
    expected(path)


def test_every_check_is_failed_alone_by_some_notebook():
    labels = [expected(path) for path in FILES]
    alone = {check_id for verdicts in labels for check_id, ok in verdicts.items()
             if not ok and sum(not v for v in verdicts.values()) == 1}
    assert alone == set(CHECK_IDS), sorted(set(CHECK_IDS) - alone)


# ------------------------------------------------------------------ graded (slow)
@pytest.fixture(scope="module")
def graded() -> dict[str, object]:
    """Every corpus file and the reference, graded free-form in parallel processes."""
    options = GradeOptions(mode="free")
    results: dict[str, object] = {}
    # Largest first, so that no long grading starts last while the other processes have nothing to do.
    by_size = sorted([*FILES, REFERENCE], key=lambda path: path.stat().st_size, reverse=True)
    tasks = [Task(path.name, (path, options)) for path in by_size]
    ProcessPool(SUITE_JOBS, task_timeout_for(options.total_seconds)).run(
        grade_submission, tasks, lambda outcome: results.__setitem__(outcome.key, outcome.value if outcome.ok else None))
    return results


@pytest.mark.slow
def test_the_chapter_style_reference_scores_full_marks(graded):
    result = graded[REFERENCE.name]
    assert result.status == GRADED and result.mode == "free"
    assert result.score == result.max_score == 100, [(c.id, c.feedback) for c in result.checks if c.status != PASSED]


@pytest.mark.slow
@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_the_verdicts_agree_with_the_hand_labels(graded, path):
    result = graded[path.name]
    assert result is not None and result.status == GRADED and result.mode == "free"
    got = {check.id: check.status == PASSED for check in result.checks}
    want = expected(path)
    wrong = {check_id: (f"expected {'pass' if want[check_id] else 'fail'}",
                        next((c.measured or (c.feedback[0].got if c.feedback else "") for c in result.checks
                              if c.id == check_id), ""))
             for check_id in CHECK_IDS if got[check_id] != want[check_id]}
    assert not wrong, wrong
