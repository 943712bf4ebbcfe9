"""grader/grade.py end to end (slow: each grading starts a TensorFlow worker)."""

import contextlib
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from grader.grade import GradeOptions, grade_submission
from grader.results import GRADED
from grader import training
from grader.training import forget_accuracies

PROJECT = Path(__file__).resolve().parent.parent
REFERENCE_NOTEBOOK = PROJECT / "reference_solution" / "cnn_assignment_solution.ipynb"
REFERENCE_PY = PROJECT / "reference_solution" / "cnn_assignment_solution.py"

pytestmark = pytest.mark.slow


@contextlib.contextmanager
def one_busy_core():
    """Run the block on one CPU core, next to a process that keeps that core busy."""
    cores = os.sched_getaffinity(0)
    core = min(cores)
    busy = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    os.sched_setaffinity(busy.pid, {core})
    os.sched_setaffinity(0, {core})  # the worker inherits it
    try:
        yield
    finally:
        os.sched_setaffinity(0, cores)
        busy.kill()
        busy.wait()


def test_two_gradings_of_the_reference_give_identical_results(validation_report, monkeypatch):
    """The first grading is the session's `grade validate` run (in a pool process, next to another
    grading); the second gets one core shared with a busy process: the trained models, so the
    measured accuracies, must not depend on the machine's cores or load. Remembered accuracies are
    forgotten first, so that the second grading trains its models again."""
    first = validation_report.results["reference notebook"]
    trained, train = [], training.trained_accuracy
    monkeypatch.setattr(training, "trained_accuracy", lambda *args: trained.append(args) or train(*args))
    forget_accuracies()
    with one_busy_core():
        second = grade_submission(REFERENCE_NOTEBOOK)
    assert len(trained) >= 3  # dense, CNN and CIFAR-10 trained again, not remembered
    assert first.status == GRADED and first.score == 100
    assert [(c.id, c.status, c.points, c.feedback, c.measured) for c in first.checks] == \
           [(c.id, c.status, c.points, c.feedback, c.measured) for c in second.checks]
    measured = {c.id: c.measured for c in first.checks if c.measured}
    assert set(measured) == {"dense_accuracy", "cnn_accuracy", "cifar_accuracy"}
    assert all(m.startswith("test accuracy 0.") for m in measured.values())
    assert first.sha256 == second.sha256
    assert {"worker", "checks"} <= set(first.timings)
    assert first.isolation["separate_process"] and first.isolation["time_limits"]


def test_a_cell_with_a_syntax_error_costs_only_what_depends_on_it(tmp_path):
    """The reference's functions, with one extra broken cell in the middle: still 100, error reported."""
    notebook = nbformat.read(REFERENCE_NOTEBOOK, as_version=4)
    notebook.cells.insert(5, nbformat.v4.new_code_cell("def broken(:\n    pass"))
    path = tmp_path / "syntax_error.ipynb"
    nbformat.write(notebook, path)
    result = grade_submission(path, GradeOptions())
    assert result.score == 100
    errors = [(e.cell, e.error_type) for e in result.cell_errors]
    assert (6, "SyntaxError") in errors


# ------------------------------------------------------------------ which mode
def test_auto_mode_grades_a_notebook_without_contract_functions_free_form(tmp_path):
    from grader.grade import grading_mode
    from grader.load import load_submission
    from grader.rubric import load_rubric
    rubric = load_rubric()
    chapter = tmp_path / "chapter.py"
    chapter.write_text("# %%\nfrom tensorflow import keras\nmodel = keras.Sequential()\n\n# %%\ndef helper(x):\n    return x\n")
    partly = tmp_path / "partly.py"
    partly.write_text("# %%\ndef preprocess_cnn(images):\n    return images / 255.0\n")
    assert grading_mode(load_submission(chapter), rubric, "auto") == "free"
    assert grading_mode(load_submission(partly), rubric, "auto") == "contract"
    assert grading_mode(load_submission(REFERENCE_PY), rubric, "auto") == "contract"
    assert grading_mode(load_submission(partly), rubric, "free") == "free"  # asked for: as asked
    prose = tmp_path / "prose.py"
    prose.write_text("# %% [markdown]\n# only words\n")
    assert grading_mode(load_submission(prose), rubric, "auto") == "contract"  # no code: the contract's advice
