"""grader/cli.py: exit codes and messages for users' mistakes, never a traceback."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from grader import cli

REFERENCE = Path(__file__).resolve().parent.parent / "reference_solution" / "cnn_assignment_solution.ipynb"


def run_grade(*args, env=None):
    return subprocess.run([sys.executable, "-m", "grader.cli", *args], capture_output=True, text=True,
                          timeout=300, env=env)


def test_unreadable_submission_names_the_file_and_exits_3(tmp_path):
    bad = tmp_path / "提出 1.ipynb"
    bad.write_text('{"cells": [')
    done = run_grade(str(bad))
    assert done.returncode == cli.EXIT_BAD_INPUT == 3
    assert "提出 1.ipynb" in done.stderr and "not valid JSON" in done.stderr
    assert "Traceback" not in done.stderr


def test_json_output_is_a_valid_result_even_for_bad_input(tmp_path):
    bad = tmp_path / "empty.py"
    bad.write_text("")
    gradescope = tmp_path / "results.json"
    done = run_grade(str(bad), "--json", "-", "--gradescope", str(gradescope))
    result = json.loads(done.stdout)
    assert result["status"] == "invalid_submission" and result["score"] == 0
    assert len(result["checks"]) == 24
    assert json.loads(gradescope.read_text())["tests"][0]["score"] == 0


def test_wrong_command_line_exits_2():
    assert run_grade("--lang", "fr", "x.ipynb").returncode == cli.EXIT_USAGE == 2
    assert run_grade().returncode == 2


def test_missing_datasets_exit_5_with_advice(tmp_path):
    submission = tmp_path / "s.py"
    submission.write_text("x = 1\n")
    empty = tmp_path / "no-data"
    empty.mkdir()
    done = run_grade(str(submission), "--data-dir", str(empty))
    assert done.returncode == cli.EXIT_SETUP == 5
    assert "--data-dir" in done.stderr and "Traceback" not in done.stderr


# What TensorFlow writes to stderr when it loads, before its log settings apply (seen on the
# instructor's terminal before this was filtered); any of these on a report means noise got through.
TENSORFLOW_NOISE_MARKERS = ("absl::InitializeLog", "oneDNN custom operations", "cudart_stub", "cuda drivers",
                            "cpu_feature_guard", "TF_ENABLE_ONEDNN_OPTS")

NOISY_GRADING = r"""
import os, sys
import grader.grade

real_grade_submission = grader.grade.grade_submission


def noisy_grade_submission(path, options):
    print("Downloading data from https://storage.googleapis.com/tensorflow/tf-keras-datasets/mnist.npz")
    sys.stdout.flush()
    os.write(1, b"written to file descriptor 1 by a library\n")
    os.write(2, b"WARNING: All log messages before absl::InitializeLog() is called are written to STDERR\n")
    os.write(2, b"I0000 00:00:1796312240.172473    6065 cudart_stub.cc:31] Could not find cuda drivers on your "
                b"machine, GPU will not be used.\n")
    return real_grade_submission(path, options)


grader.grade.grade_submission = noisy_grade_submission
from grader import cli
sys.exit(cli.main(sys.argv[1:]))
"""


def test_json_on_stdout_stays_json_when_something_prints_while_grading(tmp_path):
    bad = tmp_path / "empty.py"
    bad.write_text("")
    done = subprocess.run([sys.executable, "-c", NOISY_GRADING, str(bad), "--json", "-"], capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == cli.EXIT_BAD_INPUT
    result = json.loads(done.stdout)
    assert result["status"] == "invalid_submission"
    # What printed went to stderr instead, the TensorFlow lines left out.
    assert "Downloading data from" in done.stderr and "written to file descriptor 1" in done.stderr
    assert "empty.py cannot be read" in done.stderr
    for marker in TENSORFLOW_NOISE_MARKERS:
        assert marker not in done.stderr, marker


def test_messages_quoting_a_file_name_are_inert(tmp_path):
    bad = tmp_path / "evil\x1b]0;owned\x07\u202e.ipynb"
    bad.write_text("{")
    done = run_grade(str(bad))
    assert done.returncode == cli.EXIT_BAD_INPUT
    for char in ("\x1b", "\x07", "\u202e"):
        assert char not in done.stderr and char not in done.stdout
    assert "evil\\x1b]0;owned\\x07\\u202e.ipynb" in done.stderr


@pytest.mark.slow
def test_reference_report_has_no_tensorflow_log_lines():
    done = run_grade(str(REFERENCE), "--lang", "en")
    assert done.returncode == cli.EXIT_OK, done.stderr
    assert "Grading report" in done.stdout and "Score: " in done.stdout
    for marker in TENSORFLOW_NOISE_MARKERS:
        assert marker not in done.stdout and marker not in done.stderr, marker


@pytest.mark.slow
def test_after_install_grade_needs_no_variable_and_a_cell_cannot_read_the_held_out_split(tmp_path):
    """README's two commands are all it takes: with no data variable set, the checkout's .data/ (made
    by install.sh from the course's local copy, or by tests/conftest.py) is the data directory. And a
    submission that looks for every copy of the datasets on the machine (that .data/, the data
    directory, ~/.keras, ../shared/datasets, a walk of /) finds none and keeps its points."""
    import os

    from grader import datasets
    assert datasets.CHECKOUT_DATA.is_dir(), "install.sh prepares .data/ from the course's local copy"
    case = Path(__file__).resolve().parent / "corpus" / "hostile" / "integrity_read_test_split.py"
    submission = tmp_path / case.name
    submission.write_bytes(case.read_bytes())
    env = {k: v for k, v in os.environ.items() if k != datasets.DATA_DIR_VARIABLE}
    done = run_grade(str(submission), "--json", "-", env=env)
    assert done.returncode == cli.EXIT_OK, done.stderr[-2000:]
    result = json.loads(done.stdout)
    if not result["isolation"].get("read_only_filesystem"):
        pytest.fail("bubblewrap is needed for this guarantee (install.sh installs it)")
    cifar_data = next(check for check in result["checks"] if check["id"] == "cifar_data")
    assert cifar_data["status"] == "passed", cifar_data["feedback"]
    assert result["score"] == 3


def test_a_salt_that_cannot_be_made_exits_5_naming_the_variable(tmp_path):
    import os
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    submission = tmp_path / "s.py"
    submission.write_text("x = 1\n")
    env = {k: v for k, v in os.environ.items() if k != "CNN_GRADER_SALT"}
    done = run_grade(str(submission), "--data-dir", str(blocker), env=env)
    assert done.returncode == cli.EXIT_SETUP
    assert "CNN_GRADER_SALT" in done.stderr and "Traceback" not in done.stderr



def test_a_short_salt_exits_5_saying_how_to_make_a_long_one(tmp_path):
    import os
    submission = tmp_path / "s.py"
    submission.write_text("x = 1\n")
    done = run_grade(str(submission), env={**os.environ, "CNN_GRADER_SALT": "cs101"})
    assert done.returncode == cli.EXIT_SETUP
    assert "CNN_GRADER_SALT" in done.stderr and "secrets.token_hex" in done.stderr and "Traceback" not in done.stderr


def test_validate_with_a_short_salt_exits_5_before_grading_anything():
    import os
    done = run_grade("validate", env={**os.environ, "CNN_GRADER_SALT": "cs101"})
    assert done.returncode == cli.EXIT_SETUP, done.stdout[-500:]
    assert "CNN_GRADER_SALT" in done.stderr and "Traceback" not in done.stderr


def test_student_kit_writes_the_handout_and_a_file_in_the_way_exits_3(tmp_path):
    done = run_grade("student-kit", str(tmp_path / "kit"))
    assert done.returncode == cli.EXIT_OK, done.stderr
    written = sorted(p.name for p in (tmp_path / "kit").iterdir())
    assert written[1:] == ["cnn_assignment.ipynb", "cnn_assignment.py"] and written[0].startswith("cnn1_check-")
    assert "KiB" in done.stdout
    blocker = tmp_path / "handout"
    blocker.write_text("x")
    done = run_grade("student-kit", str(blocker))
    assert done.returncode == cli.EXIT_BAD_INPUT == 3
    assert "handout" in done.stderr and "not a folder" in done.stderr and "Traceback" not in done.stderr
