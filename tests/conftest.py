"""Shared test set-up: the data directory, through the project's own setting, and a fixed salt.

The grader reads datasets from CNN_GRADER_DATA_DIR. When it is not set, the tests make `.data/`
in the project from the course's offline copies (`../shared/datasets/materialize`, beside the
checkout on the course machines) and point the setting there.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest

import grader  # noqa: F401  first, as `grade` does: it sets protocol.PROCESS_ENVIRONMENT before numpy starts

PROJECT = Path(__file__).resolve().parent.parent
LOCAL_DATA = PROJECT / ".data"
MATERIALIZE = PROJECT.parent / "shared" / "datasets" / "materialize"


def _prepare_data() -> None:
    if os.environ.get("CNN_GRADER_DATA_DIR"):
        return
    wanted = [LOCAL_DATA / "mnist.npz", LOCAL_DATA / "cifar10.npz"]
    if not all(p.exists() for p in wanted):
        if not MATERIALIZE.exists():
            pytest.exit(f"no datasets: set CNN_GRADER_DATA_DIR to a folder with mnist.npz and cifar10.npz "
                        f"(or provide {MATERIALIZE})", returncode=4)
        subprocess.run([sys.executable, str(MATERIALIZE), str(LOCAL_DATA)], check=True)
    os.environ["CNN_GRADER_DATA_DIR"] = str(LOCAL_DATA)


_prepare_data()
# One known salt for the whole suite, so that every grading in it is reproducible (tests/test_secret.py
# covers the installation's own salt).
os.environ.setdefault("CNN_GRADER_SALT", "cnn1-grader-test-suite")

# Parallel gradings in the suite's large fixtures (the free corpus, `grade validate`): the two cores of
# the course machines. A third process does not grade faster there: it adds CPU time (more threads
# than cores) for a wall time within noise (benchmarks/suite_jobs.py).
SUITE_JOBS = 2


@pytest.fixture(scope="session")
def validation_report():
    """One real `grade validate` run for the whole session: tests/test_validate.py judges it,
    tests/test_notebook_check.py compares the student kit's verdicts with its gradings, and
    tests/test_grade.py takes its reference grading as the first of two."""
    from grader.validate import validate
    return validate(jobs=SUITE_JOBS)
