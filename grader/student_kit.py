"""`grade student-kit OUT`: what the instructor hands out to students.

OUT gets the template notebook and .py (whose first cell installs and imports the checker) and a
wheel, cnn1_check-<version>-py3-none-any.whl, holding only what the visible checks need: their
check code (grader/checks/visible/ and checks/support.py), their probes (grader/probe_inputs.py),
the modules those read (protocol, export, artifacts, results, compile_config), the notebook side
(grader/notebook_check.py) and the visible rubric entries. No hidden check, threshold, reference
code or data goes in: the kit's files are an explicit list, copied as they are in the grader (the
same code judges in both places), and tests/test_student_kit.py scans the built wheel.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from grader.notebook_check import VISIBLE_RUBRIC_FILE, rubric_entries, visible_checks
from grader.rubric import PROJECT_ROOT, Rubric, load_rubric

PACKAGE = "cnn1_check"
DISTRIBUTION = "cnn1-check"
GRADER_DIR = Path(__file__).resolve().parent
TEMPLATE_FILES = (PROJECT_ROOT / "student_template" / "cnn_assignment.ipynb",
                  PROJECT_ROOT / "student_template" / "cnn_assignment.py")
# grader/ files the kit ships, by their path in grader/ (kept as they are: relative imports only)
KIT_MODULES = ("protocol.py", "export.py", "artifacts.py", "results.py", "compile_config.py", "probe_inputs.py",
               "notebook_check.py", "checks/support.py", "checks/visible/__init__.py",
               "checks/visible/test_part_a.py", "checks/visible/test_part_b.py", "checks/visible/test_part_c.py")
SUPPORTED_KERAS = "keras>=3.0,<4"  # what Colab ships with TensorFlow 2.16 and later
INIT = '''"""The visible checks of the assignment 深層学習③ CNN I, for your notebook.

    from cnn1_check import check
    check("preprocess_cnn")   # the visible checks of one function, after running its cell
    check()                   # all of them; check(lang="en") in English

The result is advice on your own machine: the grade after submission also has hidden checks.
"""

from .notebook_check import check, run_checks

__all__ = ["check", "run_checks"]
__version__ = "{version}"
'''
CHECKS_INIT = '"""The visible checks (the same code the grader runs for them)."""\n'
PYPROJECT = '''[build-system]
requires = ["setuptools>=61"]
build-backend = "setuptools.build_meta"

[project]
name = "{distribution}"
version = "{version}"
description = "Visible checks of the assignment 深層学習③ CNN I, run in the student's notebook"
requires-python = ">=3.10"
dependencies = ["numpy>=1.26", "matplotlib>=3.7", "{keras}"]

[tool.setuptools]
packages = ["{package}", "{package}.checks", "{package}.checks.visible"]

[tool.setuptools.package-data]
{package} = ["{rubric}"]
'''


class KitError(Exception):
    """The kit cannot be built; str() says why."""


@dataclass(frozen=True)
class StudentKit:
    wheel: Path
    notebook: Path
    script: Path


def kit_version() -> str:
    """The grader's version: a kit and the grader of one release hold the same visible checks."""
    try:
        return metadata.version("cnn1-grader")
    except metadata.PackageNotFoundError:
        return "0.0.0"


def stage_package(folder: Path, rubric: Rubric, version: str) -> Path:
    """Write the kit's source tree into `folder` (pyproject.toml and the package)."""
    package = folder / PACKAGE
    for name in KIT_MODULES:
        target = package / name
        target.parent.mkdir(parents=True, exist_ok=True)
        source = (GRADER_DIR / name).read_text(encoding="utf-8")
        if re.search(r"^\s*(from|import)\s+grader\b", source, flags=re.MULTILINE):
            raise KitError(f"grader/{name} imports the grader package by name: the kit cannot ship it")
        target.write_text(source, encoding="utf-8")
    (package / "__init__.py").write_text(INIT.format(version=version), encoding="utf-8")
    (package / "checks" / "__init__.py").write_text(CHECKS_INIT, encoding="utf-8")
    import json
    (package / VISIBLE_RUBRIC_FILE).write_text(
        json.dumps(rubric_entries(visible_checks(rubric)), ensure_ascii=False, indent=1), encoding="utf-8")
    (folder / "pyproject.toml").write_text(PYPROJECT.format(
        distribution=DISTRIBUTION, version=version, keras=SUPPORTED_KERAS, package=PACKAGE,
        rubric=VISIBLE_RUBRIC_FILE), encoding="utf-8")
    return folder


def build_wheel(source: Path, out: Path) -> Path:
    """pip builds the wheel with the setuptools already installed (offline: no build isolation)."""
    before = set(out.glob(f"{PACKAGE}-*.whl"))
    command = [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
               "--no-index", "--wheel-dir", str(out), str(source)]
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        raise KitError(f"building the wheel failed: {(done.stderr or done.stdout).strip()[-500:]}")
    built = sorted(set(out.glob(f"{PACKAGE}-*.whl")) - before) or sorted(out.glob(f"{PACKAGE}-*.whl"))
    if not built:
        raise KitError(f"pip wrote no {PACKAGE} wheel into {out}")
    return built[-1]


def build_student_kit(out: Path, rubric: Rubric | None = None) -> StudentKit:
    """Write the template (.ipynb, .py) and the checker's wheel into `out`."""
    rubric = load_rubric() if rubric is None else rubric
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise KitError(f"{out} exists and is not a folder")
    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob(f"{PACKAGE}-*.whl"):
        old.unlink()
    with tempfile.TemporaryDirectory(prefix="cnn1_kit_") as scratch:
        wheel = build_wheel(stage_package(Path(scratch), rubric, kit_version()), out)
    copies = [Path(shutil.copy2(path, out / path.name)) for path in TEMPLATE_FILES]
    return StudentKit(wheel=wheel, notebook=copies[0], script=copies[1])
