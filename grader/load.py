"""Load a submission: a notebook (.ipynb, read with nbformat) or a Python file, as code cells.

IPython syntax is turned into plain Python with nbconvert's `ipython2python` filter, the same
transformation `jupyter nbconvert --to python` applies: `%matplotlib inline` becomes
`get_ipython().run_line_magic(...)` and `!pip install x` becomes `get_ipython().system(...)`, which
the worker's stand-in for IPython ignores, so shell escapes never run.
"""

from __future__ import annotations

import ast
import hashlib
import io
import json
import re
import tokenize
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

MAX_FILE_BYTES = 200 * 1024 * 1024   # notebooks with large outputs are fine; outputs are dropped
MAX_CODE_BYTES = 5 * 1024 * 1024     # the code itself: far beyond any honest submission
PERCENT_MARKER = re.compile(r"^# %%(.*)$")
ANSWER_MARKER = re.compile(r"<!--\s*answer:([a-z_]+)\s*-->")
PLACEHOLDER = "（ここに回答を書いてください / Write your answer here）"


class SubmissionUnreadable(Exception):
    """The file is not a notebook or Python source the grader can read; str() says why."""


@dataclass(frozen=True)
class Cell:
    """One unit of execution: a notebook code cell or a block of a `.py` file (1-based index)."""

    index: int
    source: str


@dataclass
class Submission:
    path: Path
    sha256: str
    kind: str                                   # "notebook" | "python"
    cells: list[Cell]
    markdown: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def load_submission(path: Path) -> Submission:
    """Read `path` into cells; raise SubmissionUnreadable with a one-line reason if impossible."""
    raw = _read_bytes(path)
    digest = hashlib.sha256(raw).hexdigest()
    if path.suffix.lower() == ".ipynb":
        cells, markdown, notes = _notebook_cells(raw)
        kind = "notebook"
    elif path.suffix.lower() == ".py":
        cells, markdown, notes = _python_cells(_decode_python(raw))
        kind = "python"
    else:
        raise SubmissionUnreadable("not a .ipynb or .py file")
    if sum(len(c.source) for c in cells) > MAX_CODE_BYTES:
        raise SubmissionUnreadable(f"more than {MAX_CODE_BYTES // 2**20} MB of code")
    return Submission(path, digest, kind, [Cell(c.index, _to_python(c.source)) for c in cells],
                      markdown, notes)


def _read_bytes(path: Path) -> bytes:
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise SubmissionUnreadable(f"file is {size // 2**20} MB, more than {MAX_FILE_BYTES // 2**20} MB")
        raw = path.read_bytes()
    except FileNotFoundError:
        raise SubmissionUnreadable("file not found") from None
    except IsADirectoryError:
        raise SubmissionUnreadable("is a folder, not a file") from None
    except OSError as exc:
        raise SubmissionUnreadable(f"cannot be read ({exc.strerror})") from None
    if not raw.strip():
        raise SubmissionUnreadable("file is empty")
    if b"\x00" in raw[:8192]:
        raise SubmissionUnreadable("binary file, not text")
    return raw


def _notebook_cells(raw: bytes) -> tuple[list[Cell], list[str], list[str]]:
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise SubmissionUnreadable("notebook is not UTF-8 text") from None
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):
        raise SubmissionUnreadable("not a notebook: the file is not valid JSON") from None
    if not isinstance(data, dict) or "nbformat" not in data:
        raise SubmissionUnreadable("not a notebook: JSON without an nbformat version")
    version = data["nbformat"]
    if version not in (3, 4):
        raise SubmissionUnreadable(f"unsupported notebook format nbformat={version} (expected 4)")
    try:
        notebook = nbformat.reads(text, as_version=4)
    except Exception as exc:
        raise SubmissionUnreadable(f"malformed notebook ({type(exc).__name__}: {str(exc)[:120]})") from None
    notes = [] if version == 4 else ["nbformat 3 notebook, upgraded to nbformat 4"]
    cells, markdown = [], []
    for number, cell in enumerate(notebook.get("cells", []), start=1):
        source = cell.get("source", "")
        source = "".join(source) if isinstance(source, list) else str(source)
        if cell.get("cell_type") == "code":
            cells.append(Cell(number, source))
        elif cell.get("cell_type") == "markdown":
            markdown.append(source)
    return cells, markdown, notes


def _decode_python(raw: bytes) -> str:
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(raw).readline)
        return raw.decode(encoding)
    except (SyntaxError, UnicodeDecodeError, LookupError):
        raise SubmissionUnreadable("Python file is not UTF-8 text (nor in its declared encoding)") from None


def _python_cells(text: str) -> tuple[list[Cell], list[str], list[str]]:
    """Split a `.py` by jupytext `# %%` markers, else by top-level statements."""
    lines = text.splitlines(keepends=True)
    if any(PERCENT_MARKER.match(line) for line in lines):
        return _percent_cells(lines)
    try:
        tree = ast.parse(text)
    except SyntaxError:
        return [Cell(1, text)], [], ["syntax error: the file runs as one block"]
    cells = [Cell(number, "".join(lines[node.lineno - 1 - len(getattr(node, "decorator_list", [])):
                                         node.end_lineno]))
             for number, node in enumerate(tree.body, start=1)]
    return cells, [], []


def _percent_cells(lines: list[str]) -> tuple[list[Cell], list[str], list[str]]:
    blocks: list[tuple[str, list[str]]] = [("code", [])]
    for line in lines:
        match = PERCENT_MARKER.match(line)
        if match:
            blocks.append(("markdown" if "[markdown]" in match.group(1) else "code", []))
        else:
            blocks[-1][1].append(line)
    cells, markdown = [], []
    for number, (kind, body) in enumerate(blocks):
        if kind == "markdown":
            markdown.append("".join(re.sub(r"^# ?", "", line) for line in body))
        elif "".join(body).strip():
            cells.append(Cell(number, "".join(body)))
    return cells, markdown, []


def _to_python(source: str) -> str:
    """IPython syntax to plain Python, as nbconvert's Python exporter does it."""
    from nbconvert.filters import ipython2python
    try:
        return ipython2python(source)
    except Exception:  # IPython cannot parse it: leave it, the worker reports the SyntaxError
        return source


def answer_texts(markdown: list[str]) -> dict[str, str]:
    """The text of each hand-graded answer cell, keyed by its `<!-- answer:ID -->` marker."""
    answers: dict[str, str] = {}
    for text in markdown:
        match = ANSWER_MARKER.search(text)
        if match:
            body = "\n".join(line for line in text.splitlines() if not ANSWER_MARKER.search(line))
            answers[match.group(1)] = body.strip()
    return answers
