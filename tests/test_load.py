"""grader/load.py: notebooks and .py files into cells; unreadable files get one-line reasons."""

import json
import os
import threading
import time
from pathlib import Path

import nbformat
import pytest

from grader import load
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


# ------------------------------------------------------------------------------ IPython syntax, as nbconvert converts it
ORDINARY_CELLS = [
    "%matplotlib inline\nimport numpy as np\n",
    "!pip install -q tensorflow\n!nvidia-smi\nx = 1\n",
    "files = !ls -la\nresult = %timeit -o sum(range(10))\n",
    "np.mean?\nnp.add??\n?np\n%timeit?\n",
    "%%time\nmodel.fit(x, y, epochs=1)\n",
    "%%writefile helper.py\ndef f():\n    return 1\n",
    "for i in range(3):\n    !echo {i}\n    %time f(i)\n",
    "def f():\n    out = !ls\n    return out\n",
    "s = '''\n!not a command inside a string\n%neither\n'''\n!but this is\n",
    "x = (1,\n     2)\n!echo after brackets\n",
    "!ls \\\n  -la\n%time \\\n  f(1)\n",
    "    x = 1\n    !indented cell\n",
    ">>> x = 1\n>>> !ls\n",
    "In [1]: x = 1\n   ...: %time x\n",
    "print('what?')  # a question?\nvalue = data['a?']\n",
    "/print 1 2\n,f a b\n;g a b\n",
    "x = 1\r\n!ls\r\n",
]


@pytest.mark.parametrize("cell", ORDINARY_CELLS)
def test_ipython_syntax_converts_exactly_as_nbconvert(tmp_path, cell):
    from nbconvert.filters import ipython2python
    path = write_notebook(tmp_path / "s.ipynb", [nbformat.v4.new_code_cell(cell)])
    assert load_submission(path).cells[0].source == ipython2python(cell)


@pytest.mark.parametrize("name", ["reference_solution/cnn_assignment_solution.ipynb",
                                  "student_template/cnn_assignment.ipynb"])
def test_the_course_notebooks_load_as_nbformat_and_nbconvert_read_them(name):
    from nbconvert.filters import ipython2python
    path = Path(__file__).resolve().parent.parent / name
    notebook = nbformat.read(path, as_version=4)
    submission = load_submission(path)
    expected = [(n, ipython2python(c.source)) for n, c in enumerate(notebook.cells, 1) if c.cell_type == "code"]
    assert [(c.index, c.source) for c in submission.cells] == expected
    assert submission.markdown == [c.source for c in notebook.cells if c.cell_type == "markdown"]


def test_nbformat_3_is_upgraded_as_nbformat_upgrades_it():
    path = Path(__file__).resolve().parent / "corpus" / "hostile" / "broken_nbformat3.ipynb"
    notebook = nbformat.read(path, as_version=4)
    submission = load_submission(path)
    assert [c.source for c in submission.cells] == [c.source for c in notebook.cells if c.cell_type == "code"]
    assert submission.markdown == [c.source for c in notebook.cells if c.cell_type == "markdown"]
    assert submission.notes


def test_thousands_of_shell_escapes_convert_in_seconds(tmp_path):
    """The old conversion re-tokenized the cell after each one (and gave up after 500)."""
    lines = 20_000
    cell = "".join(f"!pip install package-{n}\n" for n in range(lines))
    path = write_notebook(tmp_path / "s.ipynb", [nbformat.v4.new_code_cell(cell)])
    started = time.monotonic()
    source = load_submission(path).cells[0].source
    assert time.monotonic() - started < 10
    assert source.count("get_ipython().system(") == lines
    assert "get_ipython().system('pip install package-19999')" in source


def test_help_after_a_long_line_is_found_without_backtracking(tmp_path):
    """`_help_end_re.search` took 28 s on 40 KB; the target is the same as on a short line."""
    from nbconvert.filters import ipython2python
    path = write_notebook(tmp_path / "s.ipynb", [nbformat.v4.new_code_cell("a" * 1_000_000 + " np.mean?")])
    started = time.monotonic()
    source = load_submission(path).cells[0].source
    assert time.monotonic() - started < 10
    assert source == ipython2python("a" * 10 + " np.mean?")


# ------------------------------------------------------------------------------ bounds: refused with a reason, quickly
def write_json(path, notebook):
    path.write_text(json.dumps(notebook), encoding="utf-8")
    return path


def notebook_json(cells, outputs=None):
    cells = [{"cell_type": kind, "metadata": {}, "source": source,
              **({"outputs": [], "execution_count": None} if kind == "code" else {})} for kind, source in cells]
    if outputs is not None:
        cells[-1]["outputs"] = outputs
    return {"nbformat": 4, "nbformat_minor": 4, "metadata": {}, "cells": cells}


@pytest.mark.parametrize("cells, reason", [
    ([("code", "x = 1")] * 10_001, "more than 10,000 cells"),
    ([("code", "x = 1\n" * 100_001)], "more than 100,000 lines of code"),
    ([("code", "x = 1\r" * 100_001)], "more than 100,000 lines of code"),
    ([("code", "x" * (5 * 2**20 + 1))], "more than 5 MB of code"),
    ([("markdown", "x" * (20 * 2**20 + 1))], "more than 20 MB of markdown"),
])
def test_past_a_bound_the_notebook_is_refused_with_the_bound(tmp_path, cells, reason):
    path = write_json(tmp_path / "s.ipynb", notebook_json(cells))
    started = time.monotonic()
    with pytest.raises(SubmissionUnreadable, match=reason):
        load_submission(path)
    assert time.monotonic() - started < 10


def test_json_that_would_take_too_much_memory_is_refused_before_parsing(tmp_path, monkeypatch):
    monkeypatch.setattr(load, "MAX_JSON_MEMORY", 64 * 2**20)
    dense = notebook_json([("code", "x = 1")], [{"output_type": "display_data", "metadata": {},
                                                  "data": {"application/json": [[]] * 1_500_000}}])
    path = write_json(tmp_path / "dense.ipynb", dense)  # 4.5 MB of `[]`: about 100 MB of lists
    with pytest.raises(SubmissionUnreadable, match="too large to read.*clear the outputs"):
        load_submission(path)


def test_commas_and_brackets_inside_output_strings_cost_nothing(tmp_path, monkeypatch):
    """A printed list is text: its commas are not JSON values, so the notebook is read."""
    monkeypatch.setattr(load, "MAX_JSON_MEMORY", 64 * 2**20)
    printed = [str(list(range(300))) + "\n"] * 5_000  # 7 MB, 1.5 million commas inside strings
    path = write_json(tmp_path / "printed.ipynb", notebook_json(
        [("code", "print(x)")], [{"output_type": "stream", "name": "stdout", "text": printed}]))
    assert load_submission(path).cells[0].source.strip() == "print(x)"


def test_large_python_files_are_refused_before_reading(tmp_path):
    path = tmp_path / "big.py"
    with path.open("wb") as handle:  # sparse: 30 MB on paper, nothing on disk
        handle.truncate(30 * 2**20)
    with pytest.raises(SubmissionUnreadable, match="more than 20 MB"):
        load_submission(path)


def load_in_thread(path, seconds=10):
    """The outcome of load_submission(path), or "still running" (a blocked read must fail, not hang)."""
    outcome = ["still running"]

    def run():
        try:
            outcome[0] = load_submission(path)
        except Exception as exc:  # noqa: BLE001 - the test inspects whatever it was
            outcome[0] = exc
    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(seconds)
    return outcome[0]


def test_named_pipes_and_devices_are_not_read(tmp_path):
    fifo = tmp_path / "pipe.ipynb"
    os.mkfifo(fifo)
    zero = tmp_path / "zero.py"
    zero.symlink_to("/dev/zero")
    for path in (fifo, zero):
        outcome = load_in_thread(path)
        assert isinstance(outcome, SubmissionUnreadable) and "not a regular file" in str(outcome), outcome
    with pytest.raises(SubmissionUnreadable, match="folder"):
        load_submission(tmp_path)


@pytest.mark.parametrize("source", ["x = " + "-" * 100_000 + "1\n", "x = a" + ".a" * 60_000 + "\n",
                                    "x = 1\n" + "(" * 300 + ")" * 300 + "\n"])
def test_python_too_deep_to_parse_runs_as_one_block(tmp_path, source):
    """The parser's MemoryError / RecursionError used to escape as a grader error."""
    path = tmp_path / "s.py"
    path.write_text(source)
    submission = load_submission(path)
    assert [c.source for c in submission.cells] == [source] and submission.notes


@pytest.mark.parametrize("notebook, reason", [
    ({"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": 5}, "cells is not a list"),
    ({"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": ["x"]}, "not an object"),
    ({"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [{"source": "x"}]}, "cell_type"),
    ({"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [{"cell_type": "code", "source": 5}]}, "not text"),
    ({"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [{"cell_type": "code", "source": ["a", 1]}]},
     "not text"),
    ({"nbformat": 4.0, "cells": []}, "nbformat=4.0"),
    ({"nbformat": 3, "nbformat_minor": 0, "metadata": {}, "worksheets": 3}, "worksheets"),
    ({"nbformat": 3, "nbformat_minor": 0, "metadata": {}, "worksheets": [
        {"cells": [{"cell_type": "heading", "level": 10**9, "source": "x"}]}]}, "heading level"),
])
def test_malformed_notebooks_are_unreadable_not_grader_errors(tmp_path, notebook, reason):
    path = write_json(tmp_path / "s.ipynb", notebook)
    with pytest.raises(SubmissionUnreadable, match=reason):
        load_submission(path)


def test_statements_sharing_a_line_share_a_cell(tmp_path):
    """Each statement used to get the whole line: `x = 0; x += 1` ran twice (x == 2), and 9,000
    statements on one line made 9,000 copies of it."""
    path = tmp_path / "s.py"
    path.write_text("x = 0; x += 1\nprint(x)\n@decorator(\n    1)\ndef f(): pass\n")
    assert [c.source for c in load_submission(path).cells] == [
        "x = 0; x += 1\n", "print(x)\n", "@decorator(\n    1)\ndef f(): pass\n"]
    crowded = tmp_path / "crowded.py"
    crowded.write_text("x = 1; " * 9_000 + "\n")
    assert sum(len(c.source) for c in load_submission(crowded).cells) <= crowded.stat().st_size
