"""grader/cli.py: exit codes and messages for users' mistakes, never a traceback."""

import json
import subprocess
import sys

from grader import cli


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
