"""`grade student-kit` (grader/student_kit.py): what students get, and that nothing hidden leaks.

The leak scan reads what must stay hidden from the sources themselves (assignment/rubric.toml with
tomllib, the reference solution, the template), not from the module under test. The slow test
installs the wheel into a fresh virtual environment and runs the template and the reference in a
Jupyter kernel of that environment, with check() cells, as a student would.
"""

from __future__ import annotations

import ast
import json
import re
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import nbformat
import pytest

from grader import student_kit
from grader.student_kit import KitError, build_student_kit, stage_package
from grader.rubric import load_rubric
from grader.validate import definitions_only

ROOT = Path(__file__).resolve().parent.parent
RUBRIC_TEXT = (ROOT / "assignment" / "rubric.toml").read_text(encoding="utf-8")
RUBRIC = tomllib.loads(RUBRIC_TEXT)
REFERENCE_PY = ROOT / "reference_solution" / "cnn_assignment_solution.py"
TEMPLATE_PY = ROOT / "student_template" / "cnn_assignment.py"
HIDDEN = [c for c in RUBRIC["check"] if c["visibility"] != "visible"]
VISIBLE = [c for c in RUBRIC["check"] if c["visibility"] == "visible"]


@pytest.fixture(scope="module")
def kit(tmp_path_factory):
    return build_student_kit(tmp_path_factory.mktemp("kit"))


@pytest.fixture(scope="module")
def wheel_files(kit) -> dict[str, str]:
    with zipfile.ZipFile(kit.wheel) as wheel:
        return {name: wheel.read(name).decode("utf-8") for name in wheel.namelist()}


def template_names() -> set[str]:
    """Every name the handed-out template defines or mentions: public anyway."""
    tree = ast.parse(TEMPLATE_PY.read_text(encoding="utf-8"))
    return {node.name for node in ast.walk(tree) if isinstance(node, ast.FunctionDef)}


def stripped_pairs(text: str) -> set[str]:
    """Every two consecutive non-blank lines, without indentation: a unit of code too specific to
    appear in two places by chance (a single line such as `model = keras.Sequential([` can)."""
    lines = [line.strip() for line in text.splitlines() if line.strip() and not line.strip().startswith("#")]
    return {f"{a}\n{b}" for a, b in zip(lines, lines[1:])}


def reference_only_pairs() -> set[str]:
    """Pairs of lines of the reference's code that the template does not have (the solution itself)."""
    template = {line.strip() for line in TEMPLATE_PY.read_text(encoding="utf-8").splitlines()}
    code = definitions_only(REFERENCE_PY.read_text(encoding="utf-8"))
    return {pair for pair in stripped_pairs(code) if any(line not in template for line in pair.split("\n"))}


# ------------------------------------------------------------------ what is in the kit
def test_the_kit_holds_the_template_and_a_small_wheel(kit):
    assert kit.notebook.read_bytes() == (ROOT / "student_template" / "cnn_assignment.ipynb").read_bytes()
    assert kit.script.read_bytes() == TEMPLATE_PY.read_bytes()
    assert re.fullmatch(r"cnn1_check-[\w.]+-py3-none-any\.whl", kit.wheel.name)
    assert kit.wheel.stat().st_size < 200 * 1024


def test_the_wheel_holds_only_code_and_the_visible_rubric(wheel_files):
    packaged = [n for n in wheel_files if not n.startswith("cnn1_check-")]
    assert all(n.startswith("cnn1_check/") for n in packaged)
    assert {Path(n).suffix for n in packaged} == {".py", ".json"}  # no arrays, no data, no models
    shipped = json.loads(wheel_files["cnn1_check/visible_rubric.json"])
    assert [e["id"] for e in shipped] == [c["id"] for c in VISIBLE]


def test_no_hidden_check_is_named_in_the_wheel(wheel_files):
    text = "\n".join(wheel_files.values())
    public = template_names()
    for check in HIDDEN:
        assert f"test_{check['id']}" not in text, check["id"]
        assert check["title_ja"] not in text and check["title_en"] not in text, check["id"]
        if check["id"] not in public:  # e.g. train_model is also a function every student writes
            assert check["id"] not in text, check["id"]


def test_no_threshold_or_training_budget_is_in_the_wheel(wheel_files):
    text = "\n".join(wheel_files.values())
    for key in ("min_accuracy", "recheck_within", "train_samples", "budget.cifar", "PROBE_TRAIN_START"):
        assert key not in text, key
    assert "[budget" not in text


def test_no_reference_code_is_in_the_wheel(wheel_files):
    shipped = set().union(*(stripped_pairs(text) for text in wheel_files.values()))
    solution = reference_only_pairs()
    assert len(solution) > 100  # the scan has something to look for
    leaked = sorted(solution & shipped)
    assert not leaked, leaked[:5]


def test_the_wheel_imports_nothing_of_the_grader(wheel_files):
    for name, text in wheel_files.items():
        if name.endswith(".py"):
            assert not re.search(r"^\s*(from|import)\s+grader\b", text, flags=re.MULTILINE), name


def test_a_kit_module_that_imports_the_grader_by_name_is_refused(tmp_path, monkeypatch):
    fake = tmp_path / "grader_copy"
    fake.mkdir()
    for name in student_kit.KIT_MODULES:
        (fake / name).parent.mkdir(parents=True, exist_ok=True)
        (fake / name).write_text("" if name != "results.py" else "from grader.training import trained_accuracy\n")
    monkeypatch.setattr(student_kit, "GRADER_DIR", fake)
    with pytest.raises(KitError, match="results.py imports the grader"):
        stage_package(tmp_path / "stage", load_rubric(), "0.0.0")


def test_a_file_in_the_way_of_the_kit_is_refused(tmp_path):
    blocker = tmp_path / "kit"
    blocker.write_text("not a folder")
    with pytest.raises(KitError, match="not a folder"):
        build_student_kit(blocker)


# ------------------------------------------------------------------ as a student uses it
def kit_environment(tmp_path: Path) -> Path:
    """A fresh virtual environment that sees the project's third-party packages (TensorFlow, Jupyter)
    but neither the grader nor the kit: the notebook's first cell must install the kit."""
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    site = next(venv.glob("lib/python*/site-packages"))
    ours = next(p for p in map(Path, sys.path) if p.name == "site-packages" and (p / "tensorflow").is_dir())
    (site / "project_packages.pth").write_text(f"{ours}\n")  # a plain path: its own .pth files (the grader) are not run
    return venv


def kernel_spec(tmp_path: Path, venv: Path) -> Path:
    spec = tmp_path / "jupyter" / "kernels" / "kit"
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [str(venv / "bin" / "python"), "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "kit", "language": "python"}))
    return tmp_path / "jupyter"


def as_student_runs_it(notebook: Path) -> nbformat.NotebookNode:
    """The notebook's install cell and check cells as they are, its other code cells reduced to
    their definitions (the demo cells train for minutes on data that would be downloaded), and
    check() cells at the end."""
    nb = nbformat.read(notebook, as_version=4)
    cells = []
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        if "cnn1_check" not in cell.source and not cell.source.startswith("check("):
            cell.source = definitions_only(cell.source)
        cells.append(cell)
    cells += [nbformat.v4.new_code_cell("import sys, cnn1_check\nprint('grader' in sys.modules, cnn1_check.__file__)"),
              nbformat.v4.new_code_cell("check()"), nbformat.v4.new_code_cell('check(lang="en")')]
    nb.cells = cells
    return nb


def outputs_text(cell) -> str:
    parts = []
    for output in cell.get("outputs", []):
        if output.get("output_type") == "stream":
            parts.append(output.get("text", ""))
        elif "data" in output:
            parts.append(output["data"].get("text/plain", ""))
        elif output.get("output_type") == "error":
            parts.append(f"ERROR {output.get('ename')}: {output.get('evalue')}")
    return "".join(parts)


@pytest.mark.slow
def test_a_student_installs_the_kit_and_checks_the_template_and_the_reference(tmp_path, monkeypatch):
    from nbclient import NotebookClient
    kit = build_student_kit(tmp_path / "kit")
    venv = kit_environment(tmp_path)
    monkeypatch.setenv("JUPYTER_PATH", str(kernel_spec(tmp_path, venv)))
    reference_copy = kit.notebook.parent / "cnn_assignment_solution.ipynb"
    reference_copy.write_bytes((ROOT / "reference_solution" / "cnn_assignment_solution.ipynb").read_bytes())
    functions = {c["id"]: c["function"] for c in VISIBLE}

    executed = {}
    for name, notebook in (("template", kit.notebook), ("reference", reference_copy)):
        nb = as_student_runs_it(notebook)
        NotebookClient(nb, kernel_name="kit", timeout=600, allow_errors=False,
                       resources={"metadata": {"path": str(kit.notebook.parent)}}).execute()
        executed[name] = nb
    assert list(venv.glob("lib/python*/site-packages/cnn1_check/notebook_check.py"))  # installed by the first cell

    for name, nb in executed.items():
        where, everything, english = (outputs_text(c) for c in nb.cells[-3:])
        assert where.split()[0] == "False" and str(venv) in where  # the kit alone, from the fresh environment
        assert "text/html" in nb.cells[-2].outputs[0]["data"]  # shown as HTML in Jupyter, Colab and VS Code
        if name == "template":
            for check_id, function in functions.items():
                assert f"関数 {function} はまだ実装されていません" in everything, check_id
                assert f"The function {function} is not implemented yet" in english, check_id
            assert "✔" not in everything and f"0/{len(functions)}" in everything.splitlines()[-1]
        else:
            assert "✘" not in everything and f"{len(functions)}/{len(functions)}" in everything.splitlines()[-1]
        per_function = [c for c in nb.cells if c.source.startswith("check(\"")]
        assert len(per_function) == len(set(functions.values()))
