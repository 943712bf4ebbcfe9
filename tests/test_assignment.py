"""The assignment's three faces: the handout, the template and the reference solution."""

import ast
from pathlib import Path

import jupytext
import nbformat
import pytest

from grader.load import answer_texts, load_submission
from grader.rubric import load_rubric

PROJECT = Path(__file__).resolve().parent.parent
PAIRS = [(PROJECT / "student_template" / "cnn_assignment.py", PROJECT / "student_template" / "cnn_assignment.ipynb"),
         (PROJECT / "reference_solution" / "cnn_assignment_solution.py",
          PROJECT / "reference_solution" / "cnn_assignment_solution.ipynb")]
CONTRACT = ["preprocess_dense", "to_one_hot", "build_dense_model", "preprocess_cnn", "build_cnn_model", "choose_loss",
            "train_model", "predict_labels", "find_misclassified", "plot_misclassified", "load_cifar10",
            "preprocess_cifar", "build_cifar_model", "cross_validate", "plot_learning_curves",
            "confusion_matrix_of", "most_confused_pairs"]


@pytest.mark.parametrize("source, notebook", PAIRS, ids=["template", "reference"])
def test_notebook_is_valid_and_generated_from_its_py_twin(source, notebook):
    stored = nbformat.read(notebook, as_version=4)
    nbformat.validate(stored)
    generated = jupytext.read(source)
    assert [(c.cell_type, c.source) for c in stored.cells] == [(c.cell_type, c.source) for c in generated.cells]


@pytest.mark.parametrize("source, notebook", PAIRS, ids=["template", "reference"])
def test_every_contract_function_is_defined_with_its_signature(source, notebook):
    tree = ast.parse(source.read_text(encoding="utf-8"))
    functions = {node.name: node for node in tree.body if isinstance(node, ast.FunctionDef)}
    assert set(CONTRACT) <= set(functions)
    cross_validate = [a.arg for a in functions["cross_validate"].args.args]
    assert cross_validate == ["images", "labels", "build_fn", "n_splits", "epochs", "batch_size", "seed"]


def test_template_stubs_raise_not_implemented_with_a_hint():
    tree = ast.parse(PAIRS[0][0].read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name in CONTRACT:
            raises = [n for n in ast.walk(node) if isinstance(n, ast.Raise)]
            assert raises, node.name
            call = raises[-1].exc
            assert isinstance(call, ast.Call) and call.func.id == "NotImplementedError" and call.args, node.name


def test_answer_cells_placeholder_in_template_and_answered_in_reference():
    rubric_ids = {d.id for d in load_rubric().deliverables}
    template = answer_texts(load_submission(PAIRS[0][1]).markdown)
    reference = answer_texts(load_submission(PAIRS[1][1]).markdown)
    assert set(template) == set(reference) == rubric_ids
    assert all("ここに回答を書いてください" in text for text in template.values())
    assert all(len(text) > 50 and "ここに回答を書いてください" not in text for text in reference.values())


@pytest.mark.parametrize("readme", ["README.md", "README.en.md"])
def test_handout_lists_every_rubric_entry_and_contract_function(readme):
    text = (PROJECT / "assignment" / readme).read_text(encoding="utf-8")
    rubric = load_rubric()
    missing = [c.id for c in rubric.checks if c.id not in text] + [f for f in CONTRACT if f not in text]
    assert missing == []


@pytest.mark.parametrize("readme", ["README.md", "README.en.md"])
def test_handout_states_the_rubric_training_budget(readme):
    text = (PROJECT / "assignment" / readme).read_text(encoding="utf-8")
    for budget in load_rubric().budget.values():
        assert f"{budget['train_samples']:,}" in text
