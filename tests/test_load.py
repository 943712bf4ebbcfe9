"""grader/load.py: notebooks and .py files into cells; unreadable files get one-line reasons."""

import json

import nbformat
import pytest

from grader.load import SubmissionUnreadable, answer_texts, load_submission


def write_notebook(path, cells, version=4):
    notebook = nbformat.v4.new_notebook(cells=cells)
    path.write_text(nbformat.writes(notebook), encoding="utf-8")
    return path


def test_notebook_code_cells_keep_their_notebook_numbers(tmp_path):
    path = write_notebook(tmp_path / "s.ipynb", [nbformat.v4.new_markdown_cell("# title"),
                                                 nbformat.v4.new_code_cell("x = 1"),
                                                 nbformat.v4.new_code_cell("y = 2")])
    submission = load_submission(path)
    assert [(c.index, c.source.strip()) for c in submission.cells] == [(2, "x = 1"), (3, "y = 2")]
    assert submission.kind == "notebook" and len(submission.sha256) == 64


def test_magics_and_shell_escapes_become_calls_on_get_ipython(tmp_path):
    path = write_notebook(tmp_path / "s.ipynb", [nbformat.v4.new_code_cell("%matplotlib inline\n!pip install foo\nx = 1")])
    source = load_submission(path).cells[0].source
    assert "get_ipython().run_line_magic('matplotlib', 'inline')" in source
    assert "get_ipython().system('pip install foo')" in source
    assert "x = 1" in source


@pytest.mark.parametrize("content, reason", [
    (b"", "empty"),
    (b"   \n", "empty"),
    (b'{"cells": [', "not valid JSON"),
    (b"\x00\x01binary", "binary"),
    (json.dumps({"nbformat": 99, "nbformat_minor": 0, "cells": []}).encode(), "nbformat=99"),
])
def test_unreadable_notebooks_say_why(tmp_path, content, reason):
    path = tmp_path / "s.ipynb"
    path.write_bytes(content)
    with pytest.raises(SubmissionUnreadable, match=reason):
        load_submission(path)


def test_missing_file_and_wrong_suffix(tmp_path):
    with pytest.raises(SubmissionUnreadable, match="not found"):
        load_submission(tmp_path / "nope.ipynb")
    other = tmp_path / "s.txt"
    other.write_text("x = 1")
    with pytest.raises(SubmissionUnreadable, match="not a .ipynb or .py"):
        load_submission(other)


def test_python_file_split_by_percent_markers_with_markdown(tmp_path):
    path = tmp_path / "s.py"
    path.write_text("# %% [markdown]\n# ### 回答 <!-- answer:architecture_explanation -->\n# 本文\n"
                    "# %%\nx = 1\n# %%\ny = 2\n", encoding="utf-8")
    submission = load_submission(path)
    assert [c.source.strip() for c in submission.cells] == ["x = 1", "y = 2"]
    assert answer_texts(submission.markdown) == {"architecture_explanation": "本文"}


def test_python_file_without_markers_runs_statement_by_statement(tmp_path):
    path = tmp_path / "s.py"
    path.write_text("import math\n\n@staticmethod\ndef f():\n    return 1\n\nraise ValueError\n", encoding="utf-8")
    sources = [c.source.strip() for c in load_submission(path).cells]
    assert sources == ["import math", "@staticmethod\ndef f():\n    return 1", "raise ValueError"]


def test_python_syntax_error_is_one_block_not_an_unreadable_file(tmp_path):
    path = tmp_path / "s.py"
    path.write_text("def f(:\n    pass\n", encoding="utf-8")
    submission = load_submission(path)
    assert len(submission.cells) == 1 and submission.notes


def test_non_utf8_python_is_unreadable(tmp_path):
    path = tmp_path / "s.py"
    path.write_bytes("x = 'é'\n".encode("latin-1"))
    with pytest.raises(SubmissionUnreadable, match="not UTF-8"):
        load_submission(path)


def test_answer_cells_found_by_marker():
    markdown = ["intro", "### 📝 回答 <!-- answer:misclassification_analysis -->\n猫と犬を間違えやすい。"]
    assert answer_texts(markdown) == {"misclassification_analysis": "猫と犬を間違えやすい。"}
