"""Fuzzing the loader with seeded random and adversarial files (grader/load.py).

Loading runs in the grader's own process, so whatever a file holds, load_submission must return a
Submission or raise SubmissionUnreadable (nothing else), within TIME_BOUND seconds, and without
allocating more than the notebook JSON bound plus a few times the file. The generator is seeded:
every run builds the same files, and a failure names the case to replay.

IPython-flavoured cells are also compared with nbconvert's own conversion (the oracle the loader
must agree with), wherever nbconvert converts them at all.
"""

from __future__ import annotations

import json
import os
import random
import sys
import time
import tokenize
import tracemalloc
import warnings
from pathlib import Path

import nbformat
import pytest

from grader import load
from grader.load import Submission, SubmissionUnreadable, load_submission

SEED = 20240611
PROJECT = Path(__file__).resolve().parent.parent
TEMPLATE = PROJECT / "student_template" / "cnn_assignment.ipynb"
TIME_BOUND = 15.0                 # CPU seconds a single load may take; each takes well under 1 s here
JSON_MEMORY = 64 * 2**20          # MAX_JSON_MEMORY during these tests, so the bound is reached at test scale
MEMORY_SLACK = 48 * 2**20         # conversion, cell lists, the interpreter's own allocations


# ------------------------------------------------------------------------------ IPython-flavoured cells
ATOMS = ["x", "np.mean", "a.b[0]", "f(1, 2)", "'s'", '"t"', "'''tq'''", '"""dq"""', "r'\\''", "b'x'", "f'{a}'",
         "1", "[1, 2]", "{'a': 1}", "(", ")", "[", "]", "{", "}", "((", "))", ")(", "}{", "=", "==", "+=",
         "%", "!", "?", "??", ",", ";", "/", "#c", "\\", "'", '"', "'''", '"""', "*", ":", "lambda",
         "%time", "!ls", ">>>", "...", "In [1]:", " ", "\t"]
HEADS = ["", "", "", "", "!", "!!", "%", "%%", "?", "??", ",", ";", "/", "x = ", "x = !", "x = %",
         "y=%time ", "z = ! ", ">>> ", "... ", "In [3]: ", "   ...: ", "if x:", "for i in r:", "else:",
         "def f():", "@d", "  ", "    ", "\t"]
TAILS = ["", "", "", "?", "??", " ?", "\\", " # c", ":", "(", ")", "'''", '"""', "'", "(\\"]
BREAKS = ["\n"] * 30 + ["\r\n", "\r", "\x0c\n", "\n\n"]


def ipython_cell(rng: random.Random, lines: int = 8) -> str:
    parts = []
    for _ in range(rng.randint(1, lines)):
        body = " ".join(rng.choice(ATOMS) for _ in range(rng.randint(0, 4)))
        parts += [rng.choice(HEADS) + body + rng.choice(TAILS), rng.choice(BREAKS)]
    return "".join(parts)


def nbconvert_python(cell: str) -> str | None:
    """nbconvert's conversion, or None where IPython gives up on the cell (its tokenizer or one of its
    transformers raises): the old loader then kept the cell as written, the new one may convert it."""
    from nbconvert.filters import ipython2python
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return ipython2python(cell)
    except Exception:
        return None


def ends_inside_a_string(cell: str) -> bool:
    """Whether IPython's tokenizer reaches the end of the cleaned cell inside a string: IPython's result
    then depends on the two tokens before the string, which the loader does not imitate (see
    grader/load.py, _scan_group; such a cell is never valid Python)."""
    from IPython.core.inputtransformer2 import TransformerManager
    manager = TransformerManager()
    lines = (cell if cell.endswith("\n") else cell + "\n").splitlines(keepends=True)
    for transform in manager.cleanup_transforms + manager.line_transforms:
        lines = transform(lines)
    try:
        for _ in tokenize.generate_tokens(iter(lines).__next__):
            pass
    except tokenize.TokenError as error:
        return "string" in str(error)
    except SyntaxError:
        return False
    return False


# Statements as notebooks have them, IPython syntax included; ordinary_cell nests and combines them.
STATEMENTS = ["import numpy as np", "%matplotlib inline", "!pip install -q keras==3.0", "x = np.zeros((3, 4))",
              "files = !ls -la", "t = %time f(1)", "np.mean?", "np.add??", "print('done!')", "%load_ext autoreload",
              "s = '''several\n!lines, not a command\n%nor a magic\n'''", "d = {'a': [1, 2],\n     'b': (3, 4)}",
              "y = x \\\n    + 1", "model.fit(x, y,\n          epochs=2)  # train?", "!echo {x} > out.txt",
              "result = !!date", "r = f'{x!r}' + \"!\" + 'a?'", "value = data['key?']", "%timeit -n 1 f()",
              "assert x != 1", "history = model.fit(x, y)", "pass"]
BLOCKS = ["if x:", "for i in range(3):", "def f(a, b=1):", "with open('f') as handle:", "try:"]


def ordinary_cell(rng: random.Random) -> str:
    """A cell as students write them: statements, blocks, magics, sometimes a cell magic or prompts."""
    statements = []
    for _ in range(rng.randint(1, 10)):
        statement = rng.choice(STATEMENTS)
        if rng.random() < 0.3:
            block = rng.choice(BLOCKS)
            statement = block + "\n" + "\n".join("    " + line for line in statement.split("\n"))
            if block == "try:":
                statement += "\nexcept Exception:\n    pass"
        statements.append(statement)
    cell = "\n".join(statements) + rng.choice(["", "\n", "\n\n"])
    if rng.random() < 0.1:
        cell = "%%time\n" + cell
    elif rng.random() < 0.1:
        cell = "\n".join(("... " if line.startswith(" ") else ">>> ") + line for line in cell.split("\n"))
    return cell


def test_ordinary_cells_convert_exactly_as_nbconvert_converts_them(tmp_path):
    rng = random.Random(SEED)
    cells = [ordinary_cell(rng) for _ in range(600)]
    path = tmp_path / "ordinary.ipynb"
    path.write_text(nbformat.writes(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])),
                    encoding="utf-8")
    for number, (cell, converted) in enumerate(zip(cells, load_submission(path).cells)):
        assert converted.source == nbconvert_python(cell), f"cell {number} (seed {SEED}): {cell!r}"


@pytest.mark.skipif(sys.version_info[:2] != (3, 11), reason="on invalid cells the loader imitates the "
                    "tokenize of Python 3.11, which IPython uses there; later versions tokenize them otherwise")
def test_ipython_syntax_converts_as_nbconvert_does_on_random_cells(tmp_path):
    """Every generated cell that nbconvert converts converts to exactly the same text."""
    rng = random.Random(SEED)
    cells = [ipython_cell(rng) for _ in range(1000)]
    cells += [ipython_cell(rng, lines=30) for _ in range(100)]
    path = tmp_path / "random.ipynb"
    path.write_text(nbformat.writes(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])),
                    encoding="utf-8")
    loaded = load_submission(path).cells
    assert [c.index for c in loaded] == list(range(1, len(cells) + 1))
    compared = 0
    for number, (cell, converted) in enumerate(zip(cells, loaded)):
        expected = nbconvert_python(cell)
        if expected is not None and not ends_inside_a_string(cell):
            compared += 1
            assert converted.source == expected, f"cell {number} (seed {SEED}): {cell!r}"
    assert compared > len(cells) // 3  # the others end inside a string or make IPython give up


# ------------------------------------------------------------------------------ random and adversarial files
def notebook_text(sources: list[str], outputs_json: str = "[]", version: int = 4) -> str:
    cells = [{"cell_type": "code", "metadata": {}, "execution_count": None, "outputs": [], "source": s}
             for s in sources]
    text = json.dumps({"nbformat": version, "nbformat_minor": 4, "metadata": {}, "cells": cells})
    return text.replace('"outputs": []', '"outputs": ' + outputs_json, 1) if outputs_json != "[]" else text


def random_json(rng: random.Random, depth: int = 0) -> object:
    kind = rng.randrange(8 if depth < 6 else 4)
    if kind == 0:
        return rng.choice([None, True, False, 0, -1, 10**30, 1.5, float("1e308")])
    if kind in (1, 2):
        return "".join(rng.choice("ab\n\\\"'!%?{}[]é😀\x00\r") for _ in range(rng.randrange(12)))
    if kind == 3:
        return rng.choice(["code", "markdown", "raw", "heading", 3, 4, "4", 4.0, [], {}])
    if kind in (4, 5):
        return [random_json(rng, depth + 1) for _ in range(rng.randrange(5))]
    keys = ["nbformat", "nbformat_minor", "cells", "cell_type", "source", "input", "outputs", "metadata",
            "worksheets", "level", "attachments", "x"]
    return {rng.choice(keys): random_json(rng, depth + 1) for _ in range(rng.randrange(6))}


def random_notebook(rng: random.Random) -> dict:
    """Notebook-shaped JSON with random holes: right keys, wrong types, odd versions."""
    cells = []
    for _ in range(rng.randrange(6)):
        cell = {"cell_type": rng.choice(["code", "markdown", "raw", "heading", 7]), "metadata": {},
                "source": rng.choice([ipython_cell(rng), [ipython_cell(rng), "x"], random_json(rng)])}
        if rng.random() < 0.3:
            cell["outputs"] = random_json(rng)
        if rng.random() < 0.2:
            cell[rng.choice(["level", "input", "attachments"])] = random_json(rng)
        cells.append(cell)
    version = rng.choice([4, 4, 4, 3, 5, 4.0, "4", None])
    notebook = {"nbformat": version, "nbformat_minor": rng.choice([0, 4, 5, "x"]), "metadata": random_json(rng)}
    if version == 3:
        notebook["worksheets"] = rng.choice([[{"cells": cells}], cells, {}, [{"cells": 5}]])
    else:
        notebook["cells"] = rng.choice([cells, cells, cells, {}, 5, [5]])
    return notebook


def mutated(text: str, rng: random.Random) -> str:
    """The text with a few random cuts, duplications and insertions."""
    for _ in range(rng.randint(1, 4)):
        if not text:
            break
        start = rng.randrange(len(text))
        stop = min(len(text), start + rng.randrange(1, 200))
        choice = rng.randrange(4)
        if choice == 0:
            text = text[:start] + text[stop:]
        elif choice == 1:
            text = text[:stop] + text[start:stop] + text[stop:]
        elif choice == 2:
            text = text[:start] + rng.choice(['"', "\\", "{", "]", ",", "\\u", "😀", "\x00"]) + text[start:]
        else:
            text = text[:start]
    return text


def random_files(rng: random.Random, folder: Path) -> list[Path]:
    template = TEMPLATE.read_text(encoding="utf-8")
    files = []
    for number in range(250):
        choice = number % 5
        if choice == 0:
            path, data = folder / f"r{number}.ipynb", json.dumps(random_notebook(rng), ensure_ascii=rng.random() < 0.5)
        elif choice == 1:
            path, data = folder / f"r{number}.ipynb", mutated(template, rng)
        elif choice == 2:
            path, data = folder / f"r{number}.py", "\n".join(ipython_cell(rng) for _ in range(rng.randint(1, 8)))
        elif choice == 3:
            path, data = folder / f"r{number}.py", mutated("# %%\nx = 1\n# %% [markdown]\n# text\n", rng)
        else:
            path = folder / f"r{number}{rng.choice(['.ipynb', '.py'])}"
            data = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 3000)))
        if isinstance(data, str):
            data = data.encode("utf-8", "surrogatepass")
        path.write_bytes(data)
        files.append(path)
    return files


def adversarial_files(folder: Path) -> list[Path]:
    """What made the old loader slow or large, at the scale of a test; a few are past the bounds."""
    def write(name: str, text: str) -> Path:
        path = folder / name
        path.write_text(text, encoding="utf-8")
        return path

    bang = "".join(f"!pip install --quiet package-{n} " + "x" * 60 + "\n" for n in range(5_000))
    files = [
        write("bang_lines.ipynb", notebook_text([bang])),
        write("mixed_magics.ipynb", notebook_text(["%matplotlib inline\nx = %time f(1)\nfiles = !ls\n"
                                                   "np.mean?\n,f a b\n;g a b\n/h 1\n??np.add\n" * 2_500])),
        write("help_after_long_name.ipynb", notebook_text(["a" * 1_000_000 + " b?"])),
        write("open_brackets_after_bangs.ipynb", notebook_text(["!echo (\n" * 10_000])),
        write("escapes_that_expand_again.ipynb", notebook_text([";" * 20_000 + "x a b"])),
        write("backslashes.ipynb", notebook_text(["!x\ny = " + "\\a" * 400_000 + "x" * 4_200_000])),
        write("doctest_triple_quotes.ipynb", notebook_text([">>> x\n" + '""" """ ' * 200_000])),
        write("nested_brackets.ipynb", notebook_text(["(" * 300_000 + ")" * 300_000])),
        write("nested_brackets.py", "(" * 300_000 + ")" * 300_000),
        write("unclosed_string.ipynb", notebook_text(['s = """\n' + "!line\n" * 90_000])),
        write("deep_unary.py", "x = " + "-" * 100_000 + "1\n"),
        write("statements.py", "x=1\n" * 90_000),
        write("too_many_lines.ipynb", notebook_text(["!a\r" * 150_000])),
        write("too_many_cells.ipynb", notebook_text(["x"] * 20_000)),
        write("percent_cells.py", "# %%\nx = 1\n" * 20_000),
        write("deep_json.ipynb", '{"nbformat": 4, "cells": ' + "[" * 100_000 + "]" * 100_000 + "}"),
        write("dense_outputs.ipynb", notebook_text(["x = 1"], '[{"output_type": "display_data", "data": '
                                                    '{"application/json": [' + "[]," * 1_500_000 + "0]}}]")),
        write("many_short_strings.ipynb", notebook_text(["x = 1"], '[{"output_type": "stream", "text": ['
                                                        + '"ab",' * 1_000_000 + '"c"]}]')),
        write("wide_output.ipynb", notebook_text(["x = 1"], json.dumps([{"output_type": "stream", "text": [
            "0123456789" * 300_000 + "😀"]}], ensure_ascii=False))),
        write("escaped_wide_output.ipynb", notebook_text(["x = 1"], json.dumps([{"output_type": "stream",
                                                                                "text": ["é😀" * 500_000]}]))),
    ]
    fifo = folder / "pipe.ipynb"
    os.mkfifo(fifo)
    zero = folder / "zero.py"
    zero.symlink_to("/dev/zero")
    sparse = folder / "sparse.py"
    with sparse.open("wb") as handle:
        handle.truncate(100 * 2**20)
    return files + [fifo, zero, sparse, folder / "missing.ipynb"]


def load_within_bounds(path: Path) -> tuple[str, float, int]:
    """Load `path`: its outcome, the seconds it took and the peak of Python allocations."""
    size = path.stat().st_size if path.is_file() else 0
    tracemalloc.reset_peak()
    before = tracemalloc.get_traced_memory()[0]
    started = time.process_time()  # not the wall clock: other processes on the machine do not count
    try:
        outcome = load_submission(path)
        assert isinstance(outcome, Submission)
        assert all(isinstance(c.source, str) for c in outcome.cells), path.name
        verdict = f"{len(outcome.cells)} cells"
    except SubmissionUnreadable as reason:
        assert str(reason), path.name
        verdict = f"unreadable: {reason}"
    seconds = time.process_time() - started
    peak = tracemalloc.get_traced_memory()[1] - before
    assert seconds < TIME_BOUND, f"{path.name} took {seconds:.1f} s ({verdict})"
    bound = JSON_MEMORY + MEMORY_SLACK + 6 * size
    assert peak < bound, f"{path.name} allocated {peak / 2**20:.0f} MB ({verdict})"
    return verdict, seconds, peak


@pytest.fixture
def traced(monkeypatch):
    monkeypatch.setattr(load, "MAX_JSON_MEMORY", JSON_MEMORY)
    tracemalloc.start()
    yield
    tracemalloc.stop()


def test_random_files_load_or_are_refused_within_bounds(tmp_path, traced):
    rng = random.Random(SEED)
    verdicts = [load_within_bounds(path)[0] for path in random_files(rng, tmp_path)]
    assert any(v.endswith("cells") for v in verdicts) and any(v.startswith("unreadable") for v in verdicts)


def test_adversarial_files_load_or_are_refused_within_bounds(tmp_path, traced):
    verdicts = {path.name: load_within_bounds(path)[0] for path in adversarial_files(tmp_path)}
    # the IPython syntax is converted, not refused, where it fits the bounds
    for name in ("bang_lines.ipynb", "mixed_magics.ipynb", "help_after_long_name.ipynb", "nested_brackets.ipynb",
                 "unclosed_string.ipynb", "statements.py", "wide_output.ipynb"):
        assert verdicts[name].endswith("cells"), (name, verdicts[name])
    for name, reason in [("too_many_lines.ipynb", "lines of code"), ("too_many_cells.ipynb", "cells"),
                         ("dense_outputs.ipynb", "too large to read"), ("pipe.ipynb", "not a regular file"),
                         ("zero.py", "not a regular file"), ("sparse.py", "more than 20 MB"),
                         ("deep_json.ipynb", "not valid JSON")]:
        assert verdicts[name].startswith("unreadable") and reason in verdicts[name], (name, verdicts[name])
