"""The student kit's notebook side (grader/notebook_check.py): the visible checks on live functions.

The agreement test (slow) compares the kit's verdicts with the grader's, check by check, on the
template, the reference and every faulty variant of a visible check; the grader's verdicts come
from the session's one `grade validate` run (tests/conftest.py). Expected values come from the
rubric file read here with tomllib and from the corpus, never from the module under test.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

import matplotlib
import numpy as np
import pytest

from grader.results import PASSED
from grader.rubric import load_rubric
from grader.validate import build_variant, definitions_only, read_variant
from grader import notebook_check
from grader.notebook_check import CheckReport, kit_plan, run_checks, visible_checks

matplotlib.use("Agg")

ROOT = Path(__file__).resolve().parent.parent
REFERENCE_PY = ROOT / "reference_solution" / "cnn_assignment_solution.py"
TEMPLATE_PY = ROOT / "student_template" / "cnn_assignment.py"
FAULTY = ROOT / "tests" / "corpus" / "faulty"
RUBRIC = tomllib.loads((ROOT / "assignment" / "rubric.toml").read_text(encoding="utf-8"))
VISIBLE = {c["id"]: c["function"] for c in RUBRIC["check"] if c["visibility"] == "visible"}
VISIBLE_VARIANTS = sorted(p.stem for p in FAULTY.glob("*.py") if p.stem.split("__")[0] in VISIBLE)


def kernel(source: str) -> dict:
    """A namespace as a notebook kernel would have it after running the file's definitions."""
    namespace = {"__name__": "__main__"}
    exec(compile(definitions_only(source), "<notebook>", "exec"), namespace)
    return namespace


def verdicts(namespace: dict, names=None) -> dict[str, bool]:
    return {v.check.id: v.passed for v in run_checks(names, namespace, visible_checks(load_rubric()))}


@pytest.fixture(scope="module")
def reference() -> dict:
    return kernel(REFERENCE_PY.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def template() -> dict:
    return kernel(TEMPLATE_PY.read_text(encoding="utf-8"))


# ------------------------------------------------------------------ on live functions
def test_the_reference_passes_every_visible_check(reference):
    assert verdicts(reference) == {check_id: True for check_id in VISIBLE}


def test_the_template_fails_every_visible_check_with_the_not_implemented_hint(template):
    results = run_checks(None, template, visible_checks(load_rubric()))
    assert [v.check.id for v in results] == list(VISIBLE)
    for verdict in results:
        function = VISIBLE[verdict.check.id]
        assert not verdict.passed
        assert f"関数 {function} はまだ実装されていません" in verdict.feedback.hint.ja, verdict.check.id
        assert "NotImplementedError" in verdict.feedback.got


def test_a_function_name_runs_only_its_own_checks(reference):
    assert set(verdicts(reference, ["build_cnn_model"])) == {"cnn_architecture", "cnn_compile"}
    assert set(verdicts(reference, ["cnn_compile"])) == {"cnn_compile"}


def test_a_function_not_yet_defined_is_named_in_the_students_words():
    [verdict] = run_checks(["preprocess_cnn"], {}, visible_checks(load_rubric()))
    assert not verdict.passed
    assert "関数 preprocess_cnn がまだ定義されていません" in verdict.feedback.hint.ja


def test_a_function_that_changes_its_input_fails_and_leaves_the_next_checks_their_inputs(reference):
    namespace = dict(reference)

    def preprocess_cnn(images):
        images[...] = 0  # in place: the checks must still get their own inputs afterwards
        return images.reshape(len(images), 28, 28, 1) / 255.0

    namespace["preprocess_cnn"] = preprocess_cnn
    results = verdicts(namespace, ["preprocess_cnn", "preprocess_dense"])
    assert results == {"preprocess_dense": True, "preprocess_cnn": False}


def test_the_checks_close_their_own_figures_and_put_the_dataset_loaders_back(reference):
    import keras
    import matplotlib.pyplot as plt
    students_figure = plt.figure()
    loader = keras.datasets.cifar10.load_data
    assert verdicts(reference, ["plot_learning_curves", "load_cifar10"]) == {"learning_curves_plot": True,
                                                                            "cifar_data": True}
    assert plt.get_fignums() == [students_figure.number]
    assert keras.datasets.cifar10.load_data is loader
    plt.close("all")


def test_a_loader_bound_to_a_name_of_its_own_is_served_too(reference):
    # `from keras.datasets.cifar10 import load_data` before check(): the worker serves that one too
    from keras.datasets.cifar10 import load_data as bound_early
    namespace = dict(reference, bound_early=bound_early)
    exec("def load_cifar10():\n    return bound_early()\n", namespace)
    assert verdicts(namespace, ["load_cifar10"]) == {"cifar_data": True}
    assert namespace["bound_early"] is bound_early


def test_the_kernels_random_state_figures_and_exits_are_left_alone(reference):
    import matplotlib.pyplot as plt
    namespace = dict(reference)
    exec("import sys, matplotlib.pyplot as plt\n"
         "def plot_learning_curves(histories):\n"
         "    plt.gca().plot([1, 2, 3])\n"
         "    plt.show()\n"
         "    return plt.gcf()\n"
         "def preprocess_cnn(images):\n"
         "    sys.exit('bye')\n", namespace)
    students = plt.figure()
    students.gca().plot([0, 1])
    np.random.seed(7)
    expected_next = np.random.RandomState(7).rand()
    results = verdicts(namespace, ["plot_learning_curves", "preprocess_cnn"])
    assert results == {"preprocess_cnn": False, "learning_curves_plot": False}
    assert np.random.rand() == expected_next
    assert plt.get_fignums() == [students.number] and len(students.gca().get_lines()) == 1
    plt.close("all")


def test_a_model_without_an_input_shape_is_explained_not_blamed_on_the_checker(reference):
    namespace = dict(reference)
    exec("import keras\n"
         "def build_dense_model():\n"
         "    model = keras.Sequential([keras.layers.Dense(128, activation='relu'),\n"
         "                              keras.layers.Dense(10, activation='softmax')])\n"
         "    model.compile(optimizer='adam', loss='categorical_crossentropy', metrics=['accuracy'])\n"
         "    return model\n", namespace)
    [verdict] = run_checks(["dense_architecture"], namespace, visible_checks(load_rubric()))
    assert not verdict.passed and "input_shape" in verdict.feedback.hint.en
    assert "never built" in verdict.feedback.got


def test_scaling_by_each_images_own_range_is_told_apart_from_dividing_by_255(reference):
    namespace = dict(reference)
    exec("import numpy as np\n"
         "def preprocess_dense(images):\n"
         "    x = images.reshape(len(images), 784).astype('float32')\n"
         "    return x / x.max()\n", namespace)
    assert verdicts(namespace, ["preprocess_dense"]) == {"preprocess_dense": False}


def test_the_language_is_chosen_whatever_its_case(template, monkeypatch):
    monkeypatch.setattr(notebook_check, "visible_checks", lambda rubric=None: visible_checks(load_rubric()))
    report = notebook_check.check("to_one_hot", lang="EN", namespace=template)
    assert "expected:" in str(report) and "期待" not in str(report)


def test_the_kit_plan_is_public_and_fixed():
    first, second = kit_plan(), kit_plan()
    assert first.spec == second.spec
    assert all(np.array_equal(first.inputs[name], second.inputs[name]) for name in first.inputs)
    assert {p["id"] for p in first.spec["probes"]} >= {"preprocess_dense", "load_cifar10", "plot_learning_curves"}


# ------------------------------------------------------------------ what the student sees
def test_the_report_shows_expected_got_and_hint_in_either_language(template):
    results = run_checks(["to_one_hot"], template, visible_checks(load_rubric()))
    japanese, english = str(CheckReport(results, "ja")), str(CheckReport(results, "en"))
    assert "期待:" in japanese and "ヒント:" in japanese and "0/1" in japanese
    assert "expected:" in english and "hint:" in english and "is not implemented yet" in english


def test_the_html_report_escapes_what_the_students_code_said(reference):
    namespace = dict(reference)

    def choose_loss(labels, num_classes):
        raise RuntimeError("<script>alert(1)</script>")

    namespace["choose_loss"] = choose_loss
    page = CheckReport(run_checks(["choose_loss"], namespace, visible_checks(load_rubric())), "en")._repr_html_()
    assert "<script>" not in page and "&lt;script&gt;" in page


def test_an_unknown_name_lists_the_known_ones(monkeypatch):
    monkeypatch.setattr(notebook_check, "visible_checks", lambda rubric=None: visible_checks(load_rubric()))
    report = notebook_check.check("preprocess_images")
    assert not report.passed and "preprocess_images" in str(report) and "preprocess_cnn" in str(report)


# ------------------------------------------------------------------ the same verdicts as the grader
def grader_verdicts(result) -> dict[str, bool]:
    return {c.id: c.status == PASSED for c in result.checks if c.id in VISIBLE}


@pytest.mark.slow
@pytest.mark.parametrize("name", ["reference .py", "template notebook", *[f"variant {v}" for v in VISIBLE_VARIANTS]])
def test_the_kit_and_the_grader_agree_on_every_visible_check(validation_report, name, tmp_path):
    if name.startswith("variant "):
        path = build_variant(read_variant(FAULTY / f"{name.removeprefix('variant ')}.py"), tmp_path)
    else:
        path = REFERENCE_PY if name.startswith("reference") else TEMPLATE_PY
    kit = verdicts(kernel(path.read_text(encoding="utf-8")))
    graded = grader_verdicts(validation_report.results[name])
    assert kit == graded, {check_id: (kit[check_id], graded[check_id]) for check_id in kit if kit[check_id] != graded[check_id]}
    if name.startswith("variant "):
        assert not kit[name.removeprefix("variant ").split("__")[0]]  # the variant's own check fails in both
