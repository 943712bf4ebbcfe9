"""Tests of the Gradescope autograder zip (grader.gradescope_bundle), run in a stand-in /autograder."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from fake_grading import notebook, write
from grader.gradescope_bundle import write_bundle

PROJECT = Path(__file__).resolve().parent.parent

FAKE_GRADE = """#!/usr/bin/env bash
# Stand-in for the grade command: records what it was asked to grade.
if [ "${FAKE_GRADE_FAIL:-}" = 1 ]; then exit 3; fi
printf '{"score": 7.0, "output": "%s", "argv2": "%s"}' "$1" "$2" > "$3"
"""


@pytest.fixture(scope="module")
def bundle(tmp_path_factory) -> Path:
    return write_bundle(tmp_path_factory.mktemp("bundle") / "autograder.zip")


def test_bundle_layout_follows_the_gradescope_specification(bundle):
    with zipfile.ZipFile(bundle) as archive:
        names = set(archive.namelist())
        modes = {info.filename: info.external_attr >> 16 for info in archive.infolist()}
    assert {"setup.sh", "run_autograder"} <= names
    for script in ("setup.sh", "run_autograder"):
        assert modes[script] & stat.S_IXUSR, f"{script} must be executable"
    for needed in ("cnn1-grader/pyproject.toml", "cnn1-grader/README.md", "cnn1-grader/grader/grade.py",
                   "cnn1-grader/grader/batch.py", "cnn1-grader/grader/harness.py",
                   "cnn1-grader/assignment/rubric.toml"):
        assert needed in names, needed
    assert not any(part in name for name in names
                   for part in ("__pycache__", "reference_solution", "tests/", ".venv", ".pyc"))


def test_scripts_are_valid_bash(bundle, tmp_path):
    with zipfile.ZipFile(bundle) as archive:
        archive.extractall(tmp_path)
    for script in ("setup.sh", "run_autograder"):
        subprocess.run(["bash", "-n", str(tmp_path / script)], check=True)
        assert (tmp_path / script).read_text().startswith("#!/usr/bin/env bash\n")


def test_bundled_project_builds_as_a_package(bundle, tmp_path):
    with zipfile.ZipFile(bundle) as archive:
        archive.extractall(tmp_path / "source")
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                            "-w", str(tmp_path / "wheels"), str(tmp_path / "source" / "cnn1-grader")],
                           capture_output=True, text=True, timeout=300)
    assert built.returncode == 0, built.stdout[-2000:] + built.stderr[-2000:]
    [wheel] = (tmp_path / "wheels").glob("cnn1_grader-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        assert "grader/batch.py" in archive.namelist()


def stand_in_autograder(root: Path, bundle: Path) -> dict[str, str]:
    """/autograder as Gradescope lays it out, with the project importable and a fake `grade`."""
    with zipfile.ZipFile(bundle) as archive:
        archive.extractall(root / "source")
    (root / "venv" / "bin").mkdir(parents=True)
    (root / "venv" / "bin" / "python").symlink_to(sys.executable)
    grade = root / "venv" / "bin" / "grade"
    grade.write_text(FAKE_GRADE)
    grade.chmod(0o755)
    (root / "submission").mkdir()
    runner = root / "run_autograder"
    runner.write_bytes((root / "source" / "run_autograder").read_bytes())
    runner.chmod(0o755)
    return {**os.environ, "AUTOGRADER_ROOT": str(root),
            "PYTHONPATH": str(root / "source" / "cnn1-grader")}


def test_run_autograder_grades_the_newest_notebook(bundle, tmp_path):
    env = stand_in_autograder(tmp_path, bundle)
    write(tmp_path / "submission" / "old.ipynb", notebook(), mtime=1_700_000_000)
    write(tmp_path / "submission" / "nested" / "課題 final.ipynb", notebook(), mtime=1_700_100_000)
    write(tmp_path / "submission" / "notes.pdf", "%PDF", mtime=1_700_200_000)
    subprocess.run([str(tmp_path / "run_autograder")], cwd=tmp_path, env=env, check=True, timeout=60)
    results = json.loads((tmp_path / "results" / "results.json").read_text(encoding="utf-8"))
    assert results["output"] == str(tmp_path / "submission" / "nested" / "課題 final.ipynb")
    assert results["argv2"] == "--gradescope"


def test_run_autograder_without_a_notebook_writes_a_result_that_says_so(bundle, tmp_path):
    env = stand_in_autograder(tmp_path, bundle)
    write(tmp_path / "submission" / "answer.pdf", "%PDF")
    subprocess.run([str(tmp_path / "run_autograder")], cwd=tmp_path, env=env, check=True, timeout=60)
    results = json.loads((tmp_path / "results" / "results.json").read_text(encoding="utf-8"))
    assert results["score"] == 0.0 and "No .ipynb or .py file" in results["output"]


def test_run_autograder_when_the_grader_fails(bundle, tmp_path):
    env = stand_in_autograder(tmp_path, bundle)
    write(tmp_path / "submission" / "a.py", "x = 1\n")
    subprocess.run([str(tmp_path / "run_autograder")], cwd=tmp_path, env={**env, "FAKE_GRADE_FAIL": "1"},
                   check=True, timeout=60)
    results = json.loads((tmp_path / "results" / "results.json").read_text(encoding="utf-8"))
    assert "autograder failed" in results["output"] and "exit status 3" in results["output"]


def test_datasets_can_be_bundled(tmp_path):
    data = tmp_path / "data"
    write(data / "mnist.npz", "m" * 1000)
    write(data / "cifar10.npz", "c" * 1000)
    bundle = write_bundle(tmp_path / "with_data.zip", data_dir=data)
    with zipfile.ZipFile(bundle) as archive:
        assert archive.read("data/mnist.npz") == b"m" * 1000
        assert archive.getinfo("data/cifar10.npz").compress_type == zipfile.ZIP_STORED
    (data / "cifar10.npz").unlink()
    with pytest.raises(FileNotFoundError):
        write_bundle(tmp_path / "broken.zip", data_dir=data)


def test_the_bundle_carries_the_salt_and_setup_installs_it_privately(bundle):
    with zipfile.ZipFile(bundle) as archive:
        salt = archive.read("data/grader-salt").decode().strip()
        setup = archive.read("setup.sh").decode()
    assert salt == os.environ["CNN_GRADER_SALT"]  # the installation's salt (tests/conftest.py sets it)
    assert 'install -m 600 "$SOURCE/data/grader-salt" "$ROOT/data/grader-salt"' in setup


REAL_GRADE = """#!/usr/bin/env bash
# The real grader, from the bundled source, with the test suite's Python and packages.
exec "{python}" -m grader.cli "$@"
"""


@pytest.mark.slow
def test_run_autograder_hides_every_copy_of_the_datasets_from_the_worker(tmp_path):
    """A real grading through run_autograder, laid out as Gradescope does, outside /tmp (which the
    sandbox replaces anyway): the datasets in /autograder/data and the bundle's source/data are there,
    and a cell that looks for any copy of the test split finds none (cifar_data passes)."""
    from grader import datasets
    root = Path("/var/tmp") / f"cnn1-autograder-{os.getpid()}"
    try:
        env = stand_in_autograder(root, write_bundle(tmp_path / "autograder.zip"))
        (root / "venv" / "bin" / "grade").write_text(REAL_GRADE.format(python=sys.executable))
        for folder in (root / "data", root / "source" / "data"):
            folder.mkdir(parents=True, exist_ok=True)
            for name in ("mnist.npz", "cifar10.npz"):
                os.link(datasets.data_dir() / name, folder / name)
        (root / "data" / "grader-salt").write_text((root / "source" / "data" / "grader-salt").read_text())
        case = PROJECT / "tests" / "corpus" / "hostile" / "integrity_read_test_split.py"
        (root / "submission" / case.name).write_bytes(case.read_bytes())
        subprocess.run([str(root / "run_autograder")], cwd=root, env=env, check=True, timeout=300)
        results = json.loads((root / "results" / "results.json").read_text(encoding="utf-8"))
    finally:
        subprocess.run(["rm", "-rf", str(root)], check=False)
    from grader.rubric import load_rubric
    title = load_rubric().check("cifar_data").title.en
    [cifar_data] = [test for test in results["tests"] if title in test["name"]]
    assert cifar_data["score"] == cifar_data["max_score"] == 3, cifar_data.get("output")
    assert results["score"] == 3
