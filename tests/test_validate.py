"""Tests of `grade validate` (grader/validate.py) and of the faulty-variant corpus.

Fast tests: rubric consistency on the real repository and on broken copies of the checks folder
and the rubric, the variant corpus itself, how variants are built, how gradings are judged.
Slow test (`-m slow`): one real `validate(jobs=2)` run, then one assertion per variant, reference
and template. Expected values come from assignment/rubric.toml read here with tomllib and from
the variant files, never from grader.validate.
"""

from __future__ import annotations

import ast
import shutil
import tomllib
from pathlib import Path

import pytest

from grader.load import load_submission
from grader.results import FAILED, GRADED, PASSED, CheckResult, Feedback, GradeResult, Text
from grader.validate import (ValidationItem, ValidationReport, Variant, VariantError, build_variant,
                             check_test_functions, judge_template, judge_variant, load_variants,
                             read_variant, rubric_consistency, variant_coverage,
                             definitions_only)

ROOT = Path(__file__).resolve().parent.parent
CHECKS = ROOT / "grader" / "checks"
RUBRIC_TOML = ROOT / "assignment" / "rubric.toml"
FAULTY = ROOT / "tests" / "corpus" / "faulty"
REFERENCE_PY = ROOT / "reference_solution" / "cnn_assignment_solution.py"
RUBRIC = tomllib.loads(RUBRIC_TOML.read_text(encoding="utf-8"))
CHECK_IDS = [check["id"] for check in RUBRIC["check"]]


def items_by_name(items: list[ValidationItem]) -> dict[str, ValidationItem]:
    return {item.name: item for item in items}


def copy_checks(tmp_path: Path) -> Path:
    target = tmp_path / "checks"
    shutil.copytree(CHECKS, target, ignore=shutil.ignore_patterns("__pycache__"))
    return target


# ------------------------------------------------------------------ rubric consistency
def test_the_rubric_has_24_checks_worth_100_points():
    # the premise of the parametrized tests below, stated from the rubric file itself
    assert len(CHECK_IDS) == 24 and len(set(CHECK_IDS)) == 24
    assert sum(check["points"] for check in RUBRIC["check"]) == 100 == RUBRIC["total_points"]


def test_rubric_consistency_holds_on_the_repository():
    items = rubric_consistency()
    assert [item.name for item in items] == ["rubric points", "rubric -> checks", "checks -> rubric",
                                            "visibility -> folder"]
    assert all(item.ok for item in items), [(i.name, i.reason) for i in items if not i.ok]


def test_check_functions_found_by_ast_are_exactly_the_rubric_ids():
    found = check_test_functions(CHECKS)
    assert sorted(found) == sorted(f"test_{i}" for i in CHECK_IDS)
    assert all(len(files) == 1 for files in found.values())


def test_a_renamed_check_is_reported_both_ways(tmp_path):
    checks = copy_checks(tmp_path)
    part_a = checks / "visible" / "test_part_a.py"
    source = part_a.read_text(encoding="utf-8")
    assert source.count("def test_to_one_hot(") == 1
    part_a.write_text(source.replace("def test_to_one_hot(", "def test_one_hot_matrix("), encoding="utf-8")

    items = items_by_name(rubric_consistency(checks))
    assert not items["rubric -> checks"].ok
    assert "'to_one_hot' has no test function test_to_one_hot" in items["rubric -> checks"].reason
    assert not items["checks -> rubric"].ok
    assert "test_one_hot_matrix (in visible/test_part_a.py) has no rubric entry" in items["checks -> rubric"].reason
    assert items["rubric points"].ok  # the rubric itself did not change


def test_a_check_defined_twice_is_reported(tmp_path):
    checks = copy_checks(tmp_path)
    extra = checks / "visible" / "test_part_d.py"
    extra.write_text("def test_choose_loss(ctx):\n    pass\n", encoding="utf-8")
    items = items_by_name(rubric_consistency(checks))
    assert not items["rubric -> checks"].ok
    assert "test_choose_loss is defined 2 times (in visible/test_part_b.py, visible/test_part_d.py)" in items["rubric -> checks"].reason
    assert items["checks -> rubric"].ok


def test_a_test_without_rubric_entry_is_reported(tmp_path):
    checks = copy_checks(tmp_path)
    (checks / "hidden" / "test_part_c.py").open("a", encoding="utf-8").write("\n\ndef test_bonus_points(ctx):\n    pass\n")
    items = items_by_name(rubric_consistency(checks))
    assert items["rubric -> checks"].ok
    assert not items["checks -> rubric"].ok and "test_bonus_points" in items["checks -> rubric"].reason


def test_a_hidden_check_among_the_visible_ones_is_reported(tmp_path):
    # the student kit ships visible/: a hidden check there would be handed out
    checks = copy_checks(tmp_path)
    hidden, visible = checks / "hidden" / "test_part_a.py", checks / "visible" / "test_part_a.py"
    source = hidden.read_text(encoding="utf-8")
    start = source.index("def test_dense_accuracy(")
    hidden.write_text(source[:start], encoding="utf-8")
    visible.open("a", encoding="utf-8").write("\n\n" + source[start:])
    items = items_by_name(rubric_consistency(checks))
    assert items["rubric -> checks"].ok and items["checks -> rubric"].ok
    assert not items["visibility -> folder"].ok
    assert "test_dense_accuracy is hidden but defined in visible/test_part_a.py" in items["visibility -> folder"].reason


def test_points_that_do_not_add_up_are_reported(tmp_path):
    text = RUBRIC_TOML.read_text(encoding="utf-8")
    broken = text.replace('id = "to_one_hot"\nfunction = "to_one_hot"\npart = "A"\npoints = 4',
                          'id = "to_one_hot"\nfunction = "to_one_hot"\npart = "A"\npoints = 5')
    assert broken != text
    rubric = tmp_path / "rubric.toml"
    rubric.write_text(broken, encoding="utf-8")
    items = items_by_name(rubric_consistency(CHECKS, rubric))
    assert not items["rubric points"].ok
    assert "101" in items["rubric points"].reason


# ------------------------------------------------------------------ the variant corpus
def test_every_rubric_check_has_a_variant_and_every_variant_a_check():
    named = {p.stem.split("__")[0] for p in FAULTY.glob("*.py")}
    assert named == set(CHECK_IDS)
    assert {p.stem for p in FAULTY.glob("*.py")} >= set(CHECK_IDS)  # the first variant of each check


@pytest.mark.parametrize("check_id", CHECK_IDS)
def test_variant_file_is_well_formed(check_id):
    path = FAULTY / f"{check_id}.py"
    text = path.read_text(encoding="utf-8")
    first = text.splitlines()[0]
    assert first.startswith("# defect: ") and len(first) > len("# defect: ") + 10
    tree = ast.parse(text)
    defined = {node.name for node in tree.body if isinstance(node, ast.FunctionDef)}
    defined |= {target.id for node in tree.body if isinstance(node, ast.Assign)
                for target in node.targets if isinstance(target, ast.Name)}
    reference = ast.parse(REFERENCE_PY.read_text(encoding="utf-8"))
    contract = {node.name for node in reference.body if isinstance(node, ast.FunctionDef)}
    contract |= {node.target.id for node in reference.body if isinstance(node, ast.AnnAssign)}
    # one contract function (or CLASS_NAMES) redefined, nothing else
    assert len(defined) == 1 and defined <= contract, defined


def test_read_variant_parses_defect_and_also_fails(tmp_path):
    path = tmp_path / "dense_compile.py"
    path.write_text("# defect: wrong loss\n# also-fails: dense_accuracy, cnn_compile\nx = 1\n", encoding="utf-8")
    variant = read_variant(path)
    assert (variant.check_id, variant.defect, variant.also_fails) == (
        "dense_compile", "wrong loss", ("dense_accuracy", "cnn_compile"))
    assert variant.expected_failures == {"dense_compile", "dense_accuracy", "cnn_compile"}


@pytest.mark.parametrize("text", ["def f():\n    pass\n", "# a comment\n# defect: late\n", "# defect: bad\ndef f(:\n"])
def test_read_variant_rejects_malformed_files(tmp_path, text):
    path = tmp_path / "choose_loss.py"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(VariantError, match="choose_loss.py"):
        read_variant(path)


def test_missing_and_stray_variants_are_reported(tmp_path):
    folder = tmp_path / "faulty"
    shutil.copytree(FAULTY, folder)
    (folder / "confusion_matrix.py").unlink()
    (folder / "no_such_check.py").write_text("# defect: nothing\n", encoding="utf-8")
    (folder / "bad.py").write_text("no defect line\n", encoding="utf-8")
    variants, problems = load_variants(folder)
    from grader.rubric import load_rubric
    item = variant_coverage(variants, problems, load_rubric())
    assert not item.ok
    assert "no faulty variant for check 'confusion_matrix'" in item.reason
    assert "no_such_check.py is named after no rubric check" in item.reason
    assert "bad.py: the first line must be '# defect:" in item.reason


def test_the_real_corpus_covers_the_rubric():
    from grader.rubric import load_rubric
    variants, problems = load_variants(FAULTY)
    assert problems == []
    assert variant_coverage(variants, problems, load_rubric()).ok


@pytest.mark.parametrize("check_id", ["preprocess_dense", "cross_validation_folds", "cifar_data"])
def test_a_variant_is_the_references_definitions_with_the_snippet_as_last_cell(tmp_path, check_id):
    snippet = (FAULTY / f"{check_id}.py").read_text(encoding="utf-8")
    built = build_variant(read_variant(FAULTY / f"{check_id}.py"), tmp_path)
    assert built.parent == tmp_path and built.suffix == ".py"
    cells = load_submission(built).cells
    assert len(cells) == 2
    assert cells[-1].source.strip() == snippet.strip()
    definitions = cells[0].source
    reference = REFERENCE_PY.read_text(encoding="utf-8")
    for name in ("def preprocess_dense(", "def cross_validate(", "CLASS_NAMES", "import numpy as np"):
        assert name in definitions and name in reference
    assert "mnist.load_data()" in reference and "mnist.load_data()" not in definitions  # a demo cell
    assert "dense_model.summary()" not in definitions


def test_definitions_only_keeps_decorators_and_constants_and_drops_statements():
    source = ("import os\nx = 1\nLIMIT = 3\n\n@staticmethod\ndef f():\n    return LIMIT\n\nprint(f())\n"
              "class C:\n    pass\n")
    assert definitions_only(source) == ("# %%\nimport os\n\nLIMIT = 3\n\n@staticmethod\ndef f():\n"
                                        "    return LIMIT\n\nclass C:\n    pass")


# ------------------------------------------------------------------ judging (synthetic results)
def fake_result(failed: dict[str, str], status: str = GRADED) -> GradeResult:
    checks = []
    for entry in RUBRIC["check"]:
        if entry["id"] in failed:
            feedback = [Feedback(Text("期待", "expected"), failed[entry["id"]], Text("ヒント", "hint"))]
            checks.append(CheckResult(entry["id"], entry["part"], Text("", ""), entry["points"],
                                      entry["visibility"], FAILED, 0.0, feedback))
        else:
            checks.append(CheckResult(entry["id"], entry["part"], Text("", ""), entry["points"],
                                      entry["visibility"], PASSED, entry["points"]))
    return GradeResult("x.py", "0" * 64, status, sum(c.points for c in checks), 100.0, checks)


def variant(check_id: str, also: tuple[str, ...] = ()) -> Variant:
    return Variant(check_id, "a defect", also, "", Path(f"{check_id}.py"))


def test_judge_variant_accepts_exactly_its_check():
    assert judge_variant("v", variant("to_one_hot"), fake_result({"to_one_hot": "shape (9, 12)"})).ok


def test_judge_variant_names_an_extra_failure():
    item = judge_variant("v", variant("predict_labels"),
                         fake_result({"predict_labels": "list", "confusion_matrix": "shape (10,)"}))
    assert not item.ok and "also lost points in confusion_matrix (shape (10,))" in item.reason


def test_judge_variant_names_a_check_that_did_not_fail():
    item = judge_variant("v", variant("dense_compile", ("dense_accuracy",)), fake_result({"dense_compile": "loss"}))
    assert not item.ok and "did not lose points in dense_accuracy" in item.reason


def test_judge_variant_rejects_a_crashed_check():
    from grader.score import GRADER_FAULT
    item = judge_variant("v", variant("train_model"), fake_result({"train_model": GRADER_FAULT.got}))
    assert not item.ok and "error of the check itself" in item.reason


def test_judge_template_needs_not_implemented_everywhere():
    everything = {i: f"{i} raised NotImplementedError" for i in CHECK_IDS}
    assert judge_template("t", fake_result(everything)).ok
    silent = dict(everything, cifar_data="['airplane']")
    item = judge_template("t", fake_result(silent))
    assert not item.ok and "cifar_data" in item.reason
    partly = {i: m for i, m in everything.items() if i != "most_confused_pairs"}
    assert not judge_template("t", fake_result(partly)).ok


def test_report_is_ok_only_when_every_item_holds():
    assert not ValidationReport().ok
    assert ValidationReport([ValidationItem("a", True, "")]).ok
    report = ValidationReport([ValidationItem("a", True, ""), ValidationItem("b", False, "why")])
    assert not report.ok and [i.name for i in report.problems] == ["b"]


# ------------------------------------------------------------------ the real thing (slow)
@pytest.fixture
def report(validation_report):
    return validation_report  # one validate run per session (tests/conftest.py)


def failed_set(result: GradeResult) -> set[str]:
    return {check.id for check in result.checks if check.status != PASSED}


VARIANT_NAMES = sorted(path.stem for path in FAULTY.glob("*.py"))


@pytest.mark.slow
@pytest.mark.parametrize("name", VARIANT_NAMES)
def test_variant_fails_exactly_its_check(report, name):
    check_id = name.split("__")[0]
    text = (FAULTY / f"{name}.py").read_text(encoding="utf-8")
    also = {item.strip() for line in text.splitlines() if line.startswith("# also-fails:")
            for item in line.removeprefix("# also-fails:").split(",") if item.strip()}
    result = report.results[f"variant {name}"]
    assert result.status == GRADED, result.reason
    failed = failed_set(result)
    assert failed == {check_id} | also, f"variant {name} failed {sorted(failed)}"
    assert not result.integrity, f"variant {name}: an honest mistake was flagged: {result.integrity}"
    assert report.item(f"variant {name}").ok, report.item(f"variant {name}").reason


@pytest.mark.slow
@pytest.mark.parametrize("name", ["reference notebook", "reference .py"])
def test_reference_scores_100(report, name):
    result = report.results[name]
    assert (result.status, result.score, result.max_score) == (GRADED, 100, 100), sorted(failed_set(result))
    assert report.item(name).ok


@pytest.mark.slow
def test_template_scores_0_with_not_implemented_everywhere(report):
    result = report.results["template notebook"]
    assert result.status == GRADED and result.score == 0
    assert failed_set(result) == set(CHECK_IDS)
    without = {c.id: [f.got for f in c.feedback] for c in result.checks
               if not any("NotImplementedError" in f.got for f in c.feedback)}
    assert without == {}, f"checks whose feedback does not mention NotImplementedError: {without}"
    assert report.item("template notebook").ok


@pytest.mark.slow
def test_validation_passes_as_a_whole(report):
    assert report.ok, [(i.name, i.reason) for i in report.problems]
