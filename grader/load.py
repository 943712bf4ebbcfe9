"""Load a submission: a notebook (.ipynb) or a Python file, as code cells.

IPython syntax is turned into plain Python exactly as `jupyter nbconvert --to python` does it (its
`ipython2python` filter, IPython's TransformerManager): `%matplotlib inline` becomes
`get_ipython().run_line_magic(...)` and `!pip install x` becomes `get_ipython().system(...)`, which
the worker's stand-in for IPython ignores, so shell escapes never run.

Loading runs in the grader's own process, before any worker or limit exists, so every step here is
bounded whatever the file holds: sizes and counts are checked before the work they would cost (the
memory of a notebook's JSON, lines, cells, tokens), outputs never reach nbformat, and the conversion
of IPython syntax is linear. Past a bound the submission is refused with SubmissionUnreadable and a
one-line reason. benchmarks/load_bounds.py measures the time and memory on adversarial files.
"""

from __future__ import annotations

import ast
import hashlib
import io
import json
import os
import re
import stat
import tokenize
from collections.abc import Callable
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from typing import NamedTuple

import nbformat

MAX_FILE_BYTES = 200 * 1024 * 1024      # notebooks with large outputs are fine; outputs are dropped
MAX_CODE_BYTES = 5 * 1024 * 1024        # the code itself: far beyond any honest submission
MAX_PY_FILE_BYTES = 4 * MAX_CODE_BYTES  # a larger .py has more code than that (UTF-8: <= 4 B a character)
MAX_CODE_LINES = 100_000                # the reference solution has about 1,100
MAX_TEXT_BYTES = 20 * 1024 * 1024       # markdown and raw cells (pasted images can be large)
MAX_TEXT_LINES = 200_000
MAX_CELLS = 10_000                      # the reference notebook has 66
MAX_JSON_MEMORY = 1024 * 1024 * 1024    # what reading a notebook's JSON may cost, estimated beforehand
MAX_SPLIT_TOKENS = 200_000              # a .py split by statements is parsed whole (up to 600 B a token)
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
    suffix = path.suffix.lower()
    raw = _read_bytes(path, MAX_PY_FILE_BYTES if suffix == ".py" else MAX_FILE_BYTES)
    digest = hashlib.sha256(raw).hexdigest()
    if suffix == ".ipynb":
        _check_json_memory(raw)
        text = _decode_notebook(raw)
        del raw  # the file's bytes, its text and its parsed JSON are never all held at once
        data = _parse_json(text)
        del text
        cells, markdown, notes = _notebook_cells(data)
        kind = "notebook"
    elif suffix == ".py":
        text = _decode_python(raw)
        del raw
        _check_code_size(text)
        cells, markdown, notes = _python_cells(text)
        kind = "python"
    else:
        raise SubmissionUnreadable("not a .ipynb or .py file")
    _check_cell_count(len(cells))
    _check_code_size("".join(c.source for c in cells))
    return Submission(path, digest, kind, [_converted(c) for c in cells], markdown, notes)


def _read_bytes(path: Path, limit: int) -> bytes:
    """The file's bytes, at most `limit` of them; only a regular file is read (a named pipe or a
    device such as /dev/zero would block the grader or never end)."""
    try:
        descriptor = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except FileNotFoundError:
        raise SubmissionUnreadable("file not found") from None
    except IsADirectoryError:
        raise SubmissionUnreadable("is a folder, not a file") from None
    except OSError as exc:
        raise SubmissionUnreadable(f"cannot be read ({exc.strerror})") from None
    try:
        status = os.fstat(descriptor)
        if stat.S_ISDIR(status.st_mode):
            raise SubmissionUnreadable("is a folder, not a file")
        if not stat.S_ISREG(status.st_mode):
            raise SubmissionUnreadable("not a regular file")
        if status.st_size > limit:
            raise SubmissionUnreadable(f"file is {status.st_size // 2**20} MB, more than {limit // 2**20} MB")
        with os.fdopen(os.dup(descriptor), "rb") as handle:
            raw = handle.read(status.st_size + 1)  # read(n) allocates n bytes up front
    except OSError as exc:
        raise SubmissionUnreadable(f"cannot be read ({exc.strerror})") from None
    finally:
        os.close(descriptor)
    if len(raw) > status.st_size:
        raise SubmissionUnreadable("the file changed while it was read")
    if not raw.strip():
        raise SubmissionUnreadable("file is empty")
    if b"\x00" in raw[:8192]:
        raise SubmissionUnreadable("binary file, not text")
    return raw


def _check_code_size(code: str) -> None:
    """Refuse more code than any honest submission has: every later step is linear in these two."""
    if len(code) > MAX_CODE_BYTES:
        raise SubmissionUnreadable(f"more than {MAX_CODE_BYTES // 2**20} MB of code")
    if _line_breaks(code) > MAX_CODE_LINES:
        raise SubmissionUnreadable(f"more than {MAX_CODE_LINES:,} lines of code")


# Where str.splitlines (and so IPython) breaks lines; "\r\n" counts twice, an upper bound is enough.
_LINE_BREAKS = ("\n", "\r", "\x0b", "\x0c", "\x1c", "\x1d", "\x1e", "\x85", "\u2028", "\u2029")


def _line_breaks(text: str) -> int:
    return sum(map(text.count, _LINE_BREAKS))


def _check_cell_count(count: int) -> None:
    if count > MAX_CELLS:
        raise SubmissionUnreadable(f"more than {MAX_CELLS:,} cells")


# ------------------------------------------------------------------------------ notebooks
def _decode_notebook(raw: bytes) -> str:
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise SubmissionUnreadable("notebook is not UTF-8 text") from None


def _check_json_memory(raw: bytes) -> None:
    """Refuse a notebook whose decoding and parsing would take more than MAX_JSON_MEMORY."""
    estimate = _json_memory_estimate(raw)
    if estimate > MAX_JSON_MEMORY:
        raise SubmissionUnreadable(
            f"notebook too large to read: its JSON would take about {estimate // 2**20} MB of memory, "
            f"more than {MAX_JSON_MEMORY // 2**20} MB (clear the outputs and submit again)")


def _parse_json(text: str) -> object:
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        raise SubmissionUnreadable("not a notebook: the file is not valid JSON") from None


_JSON_STRUCTURE = (b"[", b"{", b",", b":")
_FOUR_BYTE_LEAD = re.compile(rb"[\xf0-\xf4]")
_WIDE_LEAD = re.compile(rb"[\xc4-\xef]")
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89abAB]")
STRING_COST, VALUE_COST = 60, 72  # bytes of a str object / of any other JSON value, generously


def _json_memory_estimate(raw: bytes) -> int:
    """A generous upper bound, in bytes, of the memory that decoding `raw` and json.loads need,
    computed in linear time without decoding it.

    Decoding holds the bytes, the decoder's working copy and the text; parsing holds the text, the
    strings' characters (at most one per byte, at the widest width the file can produce) and about
    STRING_COST per string and VALUE_COST per other value. A notebook of 100 MB of printed output
    needs about 300 MB; 150 MB of `[],` would need several GB."""
    text_width, string_width = _widths(raw)
    decoding = len(raw) + (1 + text_width) * len(raw)
    parsing = (text_width + string_width) * len(raw)
    if max(decoding, parsing) > MAX_JSON_MEMORY:
        return max(decoding, parsing)
    quotes, escaped = raw.count(b'"'), raw.count(b'\\"')
    at_least = parsing + STRING_COST * ((quotes - escaped) // 2)
    rough = parsing + STRING_COST * (quotes // 2) + VALUE_COST * sum(map(raw.count, _JSON_STRUCTURE))
    if rough <= MAX_JSON_MEMORY or at_least > MAX_JSON_MEMORY:
        return max(decoding, rough if rough <= MAX_JSON_MEMORY else at_least)
    # Over only because of brackets, commas and colons inside strings? Count those outside them.
    strings, structure = _outside_strings(raw)
    return max(decoding, parsing + STRING_COST * strings + VALUE_COST * structure)


def _widths(raw: bytes) -> tuple[int, int]:
    """Bytes per character of the decoded text, and of its JSON strings (escapes such as
    \\ud83d\\ude00 make wide characters out of ASCII)."""
    if raw.isascii():
        text = 1
    else:
        text = 4 if _FOUR_BYTE_LEAD.search(raw) else 2 if _WIDE_LEAD.search(raw) else 1
    if b"\\u" not in raw:
        return text, text
    return text, max(text, 4 if _SURROGATE_ESCAPE.search(raw) else 2)


JSON_CHUNK = 1 << 20
_NOT_QUOTE_OR_STRUCTURE = bytes(b for b in range(256) if b not in b'"[{,:')


def _outside_strings(raw: bytes) -> tuple[int, int]:
    """How many strings, and how many `[{,:` outside strings, a JSON text has (an upper bound for
    text that is not JSON). Read in chunks, so no copy of the whole file is made."""
    quotes = structure = 0
    inside = False
    start = 0
    while start < len(raw):
        stop = min(len(raw), start + JSON_CHUNK)
        chunk = raw[start:stop]
        if (len(chunk) - len(chunk.rstrip(b"\\"))) % 2:  # never cut an escape in two
            stop += 1
            chunk = raw[start:stop]
        # without escaped backslashes and quotes, every quote left opens or closes a string
        chunk = chunk.replace(b"\\\\", b"").replace(b'\\"', b"")
        pieces = chunk.translate(None, _NOT_QUOTE_OR_STRUCTURE).split(b'"')
        structure += sum(map(len, pieces[1 if inside else 0::2]))
        quotes += len(pieces) - 1
        inside ^= (len(pieces) - 1) % 2 == 1
        start = stop
    return quotes // 2, structure


def _notebook_cells(data: object) -> tuple[list[Cell], list[str], list[str]]:
    """The code cells (numbered among all cells) and markdown texts of a parsed notebook."""
    version = _notebook_version(data)
    raw_cells = _raw_cells(data, version)
    texts = [_cell_text(cell, version) for cell in raw_cells]
    _check_sources(texts)
    notes = []
    if version == 3:
        texts = _upgraded(raw_cells, texts)
        notes.append("nbformat 3 notebook, upgraded to nbformat 4")
    cells, markdown = [], []
    for number, (kind, source) in enumerate(texts, start=1):
        if kind == "code":
            cells.append(Cell(number, source))
        elif kind == "markdown":
            markdown.append(source)
    return cells, markdown, notes


def _notebook_version(data: object) -> int:
    if not isinstance(data, dict) or "nbformat" not in data:
        raise SubmissionUnreadable("not a notebook: JSON without an nbformat version")
    version = data["nbformat"]
    if type(version) is not int or version not in (3, 4):
        raise SubmissionUnreadable(f"unsupported notebook format nbformat={str(version)[:20]} (expected 4)")
    return version


def _malformed(reason: str) -> SubmissionUnreadable:
    return SubmissionUnreadable(f"malformed notebook ({reason})")


def _raw_cells(data: dict, version: int) -> list[dict]:
    """The cell objects of the parsed JSON (nbformat 3 keeps them in worksheets)."""
    if version == 4:
        groups = [data.get("cells")]
    else:
        worksheets = data.get("worksheets")
        if not isinstance(worksheets, list) or not all(isinstance(w, dict) for w in worksheets):
            raise _malformed("worksheets is not a list of objects")
        groups = [w.get("cells") for w in worksheets]
    cells: list[dict] = []
    for group in groups:
        if not isinstance(group, list):
            raise _malformed("cells is not a list")
        cells.extend(group)
        _check_cell_count(len(cells))
    if not all(isinstance(c, dict) for c in cells):
        raise _malformed("a cell is not an object")
    return cells


def _cell_text(cell: dict, version: int) -> tuple[str, str]:
    """A cell's type and text (nbformat 3 keeps code under `input`)."""
    kind = cell.get("cell_type")
    if not isinstance(kind, str):
        raise _malformed("a cell has no cell_type")
    return kind, _source_of(cell, "input" if version == 3 and kind == "code" else "source")


def _source_of(cell: dict, key: str) -> str:
    """A cell's text: a string or a list of strings in the JSON."""
    source = cell.get(key, "")
    if isinstance(source, list) and all(isinstance(s, str) for s in source):
        return "".join(source)
    if not isinstance(source, str):
        raise _malformed(f"a cell's {key} is not text")
    return source


def _check_sources(texts: list[tuple[str, str]]) -> None:
    """Bound the cells' text before anything reads it (code lines are counted with the cells)."""
    code = sum(len(source) for kind, source in texts if kind == "code")
    markdown = sum(len(source) for kind, source in texts if kind != "code")
    if code > MAX_CODE_BYTES:
        raise SubmissionUnreadable(f"more than {MAX_CODE_BYTES // 2**20} MB of code")
    if markdown > MAX_TEXT_BYTES:
        raise SubmissionUnreadable(f"more than {MAX_TEXT_BYTES // 2**20} MB of markdown")
    if sum(_line_breaks(source) for kind, source in texts if kind != "code") > MAX_TEXT_LINES:
        raise SubmissionUnreadable(f"more than {MAX_TEXT_LINES:,} lines of markdown")


def _upgraded(raw_cells: list[dict], texts: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """nbformat 3 cells as nbformat's own upgrade to 4 makes them (headings become markdown).

    Only the cells' types and text are handed to nbformat: outputs, metadata and unknown keys are
    what it would spend time and memory on."""
    worksheet = []
    for cell, (kind, source) in zip(raw_cells, texts):
        minimal = {"cell_type": kind, "metadata": {}, "source": source}
        if kind == "code":
            minimal = {"cell_type": kind, "collapsed": False, "input": source, "language": "python",
                       "metadata": {}, "outputs": []}
        elif kind == "heading":
            level = cell.get("level", 1)
            if type(level) is not int or not 1 <= level <= 6:
                raise _malformed("a heading level is not 1 to 6")
            minimal["level"] = level
        worksheet.append(minimal)
    notebook = {"nbformat": 3, "nbformat_minor": 0, "metadata": {},
                "worksheets": [{"cells": worksheet, "metadata": {}}]}
    try:
        upgraded = nbformat.reads(json.dumps(notebook), as_version=4)
        return [(cell.cell_type, _source_of(cell, "source")) for cell in upgraded.cells]
    except Exception as exc:
        raise _malformed(f"{type(exc).__name__}: {str(exc)[:120]}") from None


# ------------------------------------------------------------------------------ Python files
def _decode_python(raw: bytes) -> str:
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(raw).readline)
        return raw.decode(encoding)
    except (SyntaxError, UnicodeDecodeError, LookupError):
        raise SubmissionUnreadable("Python file is not UTF-8 text (nor in its declared encoding)") from None


_TOKEN_LIKE = re.compile(r"\w+|[^\w\s]")


def _python_cells(text: str) -> tuple[list[Cell], list[str], list[str]]:
    """Split a `.py` by jupytext `# %%` markers, else by top-level statements."""
    lines = text.splitlines(keepends=True)
    if any(PERCENT_MARKER.match(line) for line in lines):
        return _percent_cells(lines)
    if next(islice(_TOKEN_LIKE.finditer(text), MAX_SPLIT_TOKENS, None), None):  # counts up to the cap only
        return [Cell(1, text)], [], ["large file: it runs as one block"]
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError, MemoryError, RecursionError):
        # MemoryError and RecursionError are the parser's "too deeply nested", not exhaustion
        return [Cell(1, text)], [], ["syntax error: the file runs as one block"]
    spans = _statement_spans(tree)
    if len(spans) > MAX_CELLS:
        return [Cell(1, text)], [], ["more statements than cells allowed: the file runs as one block"]
    return [Cell(number, "".join(lines[first - 1:last])) for number, (first, last) in enumerate(spans, 1)], [], []


def _statement_spans(tree: ast.Module) -> list[tuple[int, int]]:
    """First and last line of each top-level statement, decorators included. Statements that share
    a line (`a = 1; b = 2`) share one span: a line is never in two cells, so it never runs twice and
    the cells together are no larger than the file."""
    spans: list[tuple[int, int]] = []
    for node in tree.body:
        first = min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])])
        if spans and first <= spans[-1][1]:
            spans[-1] = (spans[-1][0], max(spans[-1][1], node.end_lineno))
        else:
            spans.append((first, node.end_lineno))
    return spans


def _percent_cells(lines: list[str]) -> tuple[list[Cell], list[str], list[str]]:
    blocks: list[tuple[str, list[str]]] = [("code", [])]
    for line in lines:
        match = PERCENT_MARKER.match(line)
        if match:
            blocks.append(("markdown" if "[markdown]" in match.group(1) else "code", []))
            _check_cell_count(len(blocks))
        else:
            blocks[-1][1].append(line)
    cells, markdown = [], []
    for number, (kind, body) in enumerate(blocks):
        if kind == "markdown":
            markdown.append("".join(re.sub(r"^# ?", "", line) for line in body))
        elif "".join(body).strip():
            cells.append(Cell(number, "".join(body)))
    return cells, markdown, []


# ------------------------------------------------------------------------------ IPython syntax → Python
# nbconvert's filter runs IPython's TransformerManager.transform_cell, which re-tokenizes the whole
# cell after every single transformation and matches `name?` with a backtracking regex: quadratic
# (a 50 KB cell of `!` lines took 47 s). The same transformation is done here in one pass: IPython's
# own line-level cleanup functions (linear), then its four token transformers (HelpEnd,
# EscapedCommand, MagicAssign, SystemAssign of IPython.core.inputtransformer2) redone logical line by
# logical line, with the same outputs. tests/test_load_fuzz.py compares the two on generated cells.

class _Unconvertible(Exception):
    """A cell whose conversion would cost more than the bounds allow; str() says why."""


class _Unchanged(Exception):
    """IPython gives up on this cell (its tokenizer raises): the cell stays as written."""


class _NotApplicable(Exception):
    """A transformer matched but cannot transform (IPython's transformers raise SyntaxError)."""


def _converted(cell: Cell) -> Cell:
    try:
        return Cell(cell.index, _to_python(cell.source))
    except _Unconvertible as exc:
        raise SubmissionUnreadable(f"cell {cell.index}: {exc}") from None


def _to_python(source: str) -> str:
    """IPython syntax to plain Python, as nbconvert's Python exporter does it, in linear time."""
    cell = source if source.endswith("\n") else source + "\n"
    try:
        lines = _cleanup(cell.splitlines(keepends=True))
    except _Unconvertible:
        raise
    except Exception:  # then transform_cell raises too, and the cell stays as written (as it did)
        return source
    cleaned = "".join(lines)
    if not _MAY_HAVE_SPECIAL_SYNTAX.search(cleaned):
        return cleaned
    try:
        return "".join(_token_transforms(lines, len(cleaned)))
    except _Unchanged:
        return source


# Every token transformer needs one of these: a `!` or `?`, a `%` `,` `;` `/` first on a line (after
# any line break str.splitlines knows), or `=` then `%`. Cells without any are only cleaned up.
_MAY_HAVE_SPECIAL_SYNTAX = re.compile(
    r"!(?!=)|\?|(?:^|[\n\r\x0b\x0c\x1c-\x1e\x85\u2028\u2029])[ \t\f]*[%,;/]|=[ \t\f]*(?:\\\r?\n[ \t\f]*)*%")


# The cleanup transforms may cost up to this many characters copied (see _check_prompt_cost).
PROMPT_WORK_LIMIT = 50_000_000


def _cleanup(lines: list[str]) -> list[str]:
    """IPython's cleanup and cell-magic transforms, in TransformerManager's order."""
    from IPython.core import inputtransformer2 as it2
    lines = it2.leading_empty_lines(lines)
    lines = it2.leading_indent(lines)
    if any(">>>" in line for line in lines) or (len(lines) > 1 and lines[1].startswith("...")):
        _check_prompt_cost(lines)  # without a prompt the classic prompt stripper changes nothing
        lines = it2.classic_prompt(lines)
    lines = it2.ipython_prompt(lines)
    return it2.cell_magic(lines)


def _check_prompt_cost(lines: list[str]) -> None:
    """IPython's doctest prompt stripper copies a line's start at every triple quote that opens a
    string: quadratic in a long line of triple quotes."""
    work = sum(len(line) * (line.count('"""') + line.count("'''")) for line in lines)
    if work > PROMPT_WORK_LIMIT:
        raise _Unconvertible("too many triple quotes on one line of a cell with >>> prompts to convert "
                             "its IPython syntax")


# What the token transformers look for, as IPython's inputtransformer2 defines it.
_ESCAPE_SINGLES = frozenset("!?%,;/")
_ESCAPE_DOUBLES = ("!!", "??")
_SPACES = re.compile(r"[ \t\f]*")
_CODE_EVENT = re.compile(r"""[()\[\]{}]+|['"#\\]""")
_EQUALS_OPERATOR = re.compile(r"\*\*=|//=|>>=|<<=|[-+*/%@&|^<>!=:]=|=")
_NAME_START = re.compile(r"(?![rRbBuUfF]{1,2}['\"])(?![0-9])\w")
# String bodies after the opening quote, as Python 3.11's tokenize matches them.
_STRING_REST = {
    "'": re.compile(r"[^\n'\\]*+(?:\\(?!\r?\n).[^\n'\\]*+)*+(?:'|(\\\r?\n))"),
    '"': re.compile(r'[^\n"\\]*+(?:\\(?!\r?\n).[^\n"\\]*+)*+(?:"|(\\\r?\n))'),
    "'''": re.compile(r"[^'\\]*+(?:(?:\\.|'(?!''))[^'\\]*+)*+'''", re.DOTALL),
    '"""': re.compile(r'[^"\\]*+(?:(?:\\.|"(?!""))[^"\\]*+)*+"""', re.DOTALL),
}
# Reading lines again after a transformation (IPython re-tokenizes) may cost this many times reading
# the cell once, where a line costs its characters and LINE_COST more.
RESCAN_FACTOR, LINE_COST = 4, 64


class _Group(NamedTuple):
    """One logical line as IPython's make_tokens_by_line groups tokens (lines start..end)."""

    start: int
    end: int                             # start - 1 when tokenize stops before it
    first: tuple[int, int] | None        # line and column of the first token
    question: tuple[int, int] | None     # position of the last token before the newline, if a `?`
    equals: tuple[int, int] | None       # position of the first `=` outside brackets
    indent_changed: bool                 # tokenize emits INDENT or DEDENT before the first token
    stop: bool                           # tokenize stops reading after this logical line
    scanned: int                         # characters read


class _TokenState:
    """What Python 3.11's tokenize and IPython's make_tokens_by_line carry from one logical line to
    the next, with an undo log so that a transformed logical line can be read again."""

    def __init__(self) -> None:
        self.depth = 0            # tokenize's bracket depth (a closing bracket too many: negative)
        self.group_depth = 0      # make_tokens_by_line's: never negative, never reset
        self.indents = [0]
        # tokenize's `needcont`: set by a one-quote string continued with a backslash, cleared only
        # when a string spanning lines closes; while set, a multi-line string that reaches a line
        # without a final backslash becomes an error token there (a quirk of 3.11's tokenize)
        self.needcont = False
        self._saved = (0, 0, False)
        self._undo: list[int | None] = []

    def mark(self) -> None:
        self._saved, self._undo = (self.depth, self.group_depth, self.needcont), []

    def settle(self) -> None:
        """The logical line read since the mark became one line with the same indentation and
        balanced brackets: keep its INDENT/DEDENT, drop its brackets."""
        (self.depth, self.group_depth, self.needcont), self._undo = self._saved, []

    def rewind(self) -> int:
        """Back to the last mark; returns the work it took."""
        for popped in reversed(self._undo):
            if popped is None:
                self.indents.pop()
            else:
                self.indents.append(popped)
        work, self._undo = len(self._undo), []
        self.depth, self.group_depth, self.needcont = self._saved
        return work

    def brackets(self, run: str, level: int) -> int:
        """Count a run of brackets; returns `level`, a depth from 0 that never goes below 0, after it.
        Runs of only opening or only closing brackets are counted without a Python loop."""
        opening = sum(map(run.count, "([{"))
        if opening in (0, len(run)):
            step = len(run) if opening else -len(run)
            self.depth += step
            self.group_depth = max(0, self.group_depth + step)
            return max(0, level + step)
        for char in run:
            step = 1 if char in "([{" else -1
            self.depth += step
            self.group_depth = max(0, self.group_depth + step)
            level = max(0, level + step)
        return level

    def indent(self, line: str) -> bool:
        """tokenize's INDENT/DEDENT for a line starting a statement; True if it emits one."""
        column = 0
        for char in line[:_SPACES.match(line).end()]:
            column = column + 1 if char == " " else (column // 8 + 1) * 8 if char == "\t" else 0
        if column == self.indents[-1]:
            return False
        if column > self.indents[-1]:
            self.indents.append(column)
            self._undo.append(None)
            return True
        while column < self.indents[-1]:
            self._undo.append(self.indents.pop())
        if column != self.indents[-1]:
            raise _Unchanged  # tokenize: "unindent does not match any outer indentation level"
        return True


def _token_transforms(lines: list[str], size: int) -> list[str]:
    """TransformerManager.do_token_transforms, one logical line at a time.

    IPython applies the earliest matching transformer, re-tokenizes and repeats. Lines above the
    logical line being read never change again, so reading down once gives the same result, provided
    a transformed logical line is read again (`,f a` gives `f("a")`, which may match once more). A
    transformer that matches but fails leaves its line as is, and IPython then finds that same first
    match of its class every time: the class transforms nothing further down (`dead`)."""
    out: list[str] = []
    dead: set[str] = set()
    state = _TokenState()
    budget = RESCAN_FACTOR * (size + LINE_COST * len(lines)) + 1_000_000
    index, again = 0, False
    while index < len(lines):
        if again:
            budget -= state.rewind()
        state.mark()
        group = _scan_group(lines, index, state)
        budget -= group.scanned
        if budget < 0:
            raise _Unconvertible("its IPython syntax is too complex to convert (unbalanced brackets "
                                 "or quotes after many magics, or escapes that expand again and again)")
        candidates = _candidates(lines, group, dead) if group.end >= index else []
        for _, transform in candidates:
            try:
                first, last, new_line, final = transform()
            except _NotApplicable:
                continue
            if final and group.start == first == last == group.end:
                # indentation + get_ipython()...: nothing to read again, the state is as before it
                state.settle()
                out.append(new_line)
                index, again = last + 1, False
            else:
                index = _replace(lines, index, first, min(last, len(lines) - 1), new_line)
                again = True
            break
        else:
            dead.update(name for name, _ in candidates)
            out.extend(lines[index:group.end + 1])
            index, again = group.end + 1, False
            if group.stop:
                out.extend(lines[index:])
                break
    return out


def _replace(lines: list[str], start: int, first: int, last: int, new_line: str) -> int:
    """Put `new_line` in place of lines[first..last], in place: the lines start..first-1 (continued
    by backslashes) move down next to it, so nothing after them moves. Returns where they now start."""
    shift = last - first
    if shift:
        lines[start + shift:first + shift] = lines[start:first]
    lines[last] = new_line
    return start + shift


def _candidates(lines: list[str], group: _Group, dead: set[str]) -> list[tuple[str, Callable[[], _Replacement]]]:
    """The transformers that match `group`, in IPython's order (position, then priority)."""
    found = []
    if group.first is None:
        return found
    line, column = group.first
    if group.question and "help" not in dead and (group.question != group.first or group.indent_changed):
        found.append(("help", lambda: _help_end(lines, group.first, group.question)))
    if _is_escape(lines[line], column) and "escape" not in dead:
        found.append(("escape", lambda: _escaped_command(lines, line, column)))
    assign = _assignment(lines, group.equals) if group.equals else None
    if assign and assign[0] not in dead:
        kind, (at_line, at_column) = assign
        found.append((kind, lambda: _assign_call(lines, kind, at_line, at_column)))
    return found


# -- finding logical lines
def _scan_group(lines: list[str], start: int, state: _TokenState) -> _Group:
    """Read the logical line starting at `start` as Python 3.11's tokenize reads it (strings,
    comments, brackets, backslash continuations, indentation) and as make_tokens_by_line groups its
    tokens, noting what the token transformers look at."""
    first = question = last = equals = None
    level = 0                     # _find_assign_op's bracket depth: from 0 in each logical line
    indent_changed = continued = False
    quote = None                  # the closing quote of a string still open at the end of a line
    scanned = 0
    index = start
    while index < len(lines):
        line = lines[index]
        scanned += len(line) + LINE_COST
        pos = 0
        if quote:
            pos, quote = _string_end(line, 0, quote, state, continued=True)
            if pos < 0:  # the line became one error token, its line end too
                last = None
            if quote or pos < 0:
                index += 1
                continue
            last = None
        elif state.depth == 0 and not continued:  # tokenize measures the indentation
            pos = _SPACES.match(line).end()
            if pos == len(line):  # spaces without a line end: 3.11's tokenize stops reading
                return _Group(start, index - 1, first, last, equals, indent_changed, True, scanned)
            if first is None and not _is_continuation(line, pos):
                first = (index, pos)
            if line[pos] in "#\r\n":  # a blank or comment line: NL, which splits outside brackets
                question, last = (None if line[pos] == "#" else last), None
                if state.group_depth <= 0:
                    break
                index += 1
                continue
            changed = state.indent(line)
            indent_changed = indent_changed or (index == start and changed)
        elif first is None:
            first = _continued_first_token(line, index)
        continues = False
        while True:
            event = _CODE_EVENT.search(line, pos)
            stop = event.start() if event else len(line)
            if equals is None and level == 0 and stop > pos:
                equals = _first_equals(line, pos, stop, index)
            char = event.group() if event else ""
            if char in ("", "#") or (char == "\\" and _is_continuation(line, stop)):
                tail = _last_token_char(line, pos, stop)
                if tail is not None:
                    last = (index, tail) if line[tail] == "?" else None
                if char == "#":
                    last = None
                continues = char == "\\"
                break
            last, pos = None, event.end()
            if char[0] in "()[]{}":
                level = state.brackets(char, level)
            elif char in "'\"":
                delimiter = char * 3 if line.startswith(char * 3, stop) else char
                pos, quote = _string_end(line, stop + len(delimiter), delimiter, state)
                if quote:
                    break
        if quote is None and not continues and line.endswith("\n"):
            question, last = last, None  # the newline is a token (NEWLINE or NL)
            if state.depth <= 0:
                break
        continued = continues
        index += 1
    else:
        index -= 1  # the cell ended inside the logical line
        if quote or continued:
            question = None
    return _Group(start, index, first, question, equals, indent_changed, False, scanned)


def _is_continuation(line: str, pos: int) -> bool:
    """Whether line[pos:] is a backslash ending the line (the statement goes on)."""
    rest = len(line) - pos  # no slicing: a line of many backslashes would be copied for each
    return line.startswith("\\", pos) and (rest == 2 and line.endswith("\n") or rest == 3 and line.endswith("\r\n"))


def _continued_first_token(line: str, index: int) -> tuple[int, int] | None:
    """The first token of a line continuing a statement (None for a lone backslash): spaces are
    skipped, except that 3.11's tokenize yields the space before an invalid character."""
    column = _SPACES.match(line).end()
    if _is_continuation(line, column):
        return None
    if column and not _starts_a_token(line, column):
        return index, 0
    return index, column


def _starts_a_token(line: str, pos: int) -> bool:
    """Whether 3.11's tokenize reads a token at line[pos] (else it yields an error token there)."""
    char = line[pos:pos + 1]
    if char.isalnum() or char in "_+-*/%@&|^~<>=.,:;()[]{}#\n" or line.startswith("\r\n", pos):
        return True
    if char == "!":
        return line.startswith("!=", pos)
    if char in ("'", '"'):
        return line.startswith(char * 3, pos) or _STRING_REST[char].match(line, pos + 1) is not None
    return char == "\\" and _is_continuation(line, pos)


def _string_end(line: str, pos: int, delimiter: str, state: _TokenState,
                continued: bool = False) -> tuple[int, str | None]:
    """Where a string that goes on at `pos` ends, and its delimiter if it goes on to the next line
    (-1: the rest of the string and the line are one error token)."""
    match = _STRING_REST[delimiter].match(line, pos)
    if continued:
        if match and not (len(delimiter) == 1 and match.group(1)):
            state.needcont = False
            return match.end(), None
        if (len(delimiter) == 1 or state.needcont) and not line.endswith(("\\\n", "\\\r\n")):
            return -1, None
        return len(line), delimiter
    if len(delimiter) == 3:
        return (match.end(), None) if match else (len(line), delimiter)
    if match is None:  # unterminated: 3.11 yields the quote alone and reads on
        return pos, None
    if match.group(1):
        state.needcont = True
        return match.end(), delimiter
    return match.end(), None


def _last_token_char(line: str, pos: int, stop: int) -> int | None:
    """Index of the last character of the last token in line[pos:stop] (code only), if any."""
    if stop == len(line):
        stop -= 2 if line.endswith("\r\n") else 1 if line.endswith("\n") else 0
    stripped = line[pos:stop].rstrip(" \t\f")
    return pos + len(stripped) - 1 if stripped else None


def _first_equals(line: str, pos: int, stop: int, index: int) -> tuple[int, int] | None:
    """The first `=` token (not `==`, `+=`…) in line[pos:stop]."""
    if line.find("=", pos, stop) < 0:
        return None
    for match in _EQUALS_OPERATOR.finditer(line, pos, stop):
        if match.end() - match.start() == 1:
            return index, match.start()
    return None


def _is_escape(line: str, column: int) -> bool:
    """Whether the token at `column` is one of IPython's escape characters on its own."""
    char, after = line[column:column + 1], line[column + 1:column + 2]
    if char not in _ESCAPE_SINGLES:
        return False
    return not ((char in "!%" and after == "=") or (char == "/" and after in ("/", "=")))


# -- the transformers: each returns the first and last line it replaces, the new line, and whether
# that line is final (indentation + get_ipython()…: it never matches again)
_Replacement = tuple[int, int, str, bool]


def _help_end(lines: list[str], first: tuple[int, int], question: tuple[int, int]) -> _Replacement:
    """HelpEnd: `name?` / `name??` anywhere at the end of a logical line."""
    (line, column), q_line = first, question[0]
    content = "".join(lines[line:q_line + 1])[column:]
    found = _help_target(content)
    if found is None:
        raise _NotApplicable
    return line, q_line, lines[line][:column] + _help_call(*found) + "\n", True


def _escaped_command(lines: list[str], line: int, column: int) -> _Replacement:
    """EscapedCommand: `!cmd`, `!!cmd`, `%magic`, `?name`, `??name`, `,f a`, `;f a`, `/f a`."""
    end = _end_of_continued_line(lines, line)
    text = _assemble_continued_line(lines, line, column, end)
    escape = text[:2] if text[:2] in _ESCAPE_DOUBLES else text[:1]
    new_line = lines[line][:column] + _escape_call(escape, text[len(escape):]) + "\n"
    return line, end, new_line, escape not in ",;/"


def _assign_call(lines: list[str], kind: str, line: int, column: int) -> _Replacement:
    """MagicAssign (`x = %magic args`) and SystemAssign (`x = !cmd`)."""
    end = _end_of_continued_line(lines, line)
    text = _assemble_continued_line(lines, line, column, end)
    if kind == "magic":
        name, _, args = text[1:].partition(" ")
        call = f"get_ipython().run_line_magic({name!r}, {args!r})"
    else:
        call = f"get_ipython().getoutput({text[1:]!r})"
    return line, end, lines[line][:column] + call + "\n", False


def _assignment(lines: list[str], equals: tuple[int, int]) -> tuple[str, tuple[int, int]] | None:
    """`=` followed by `%name` (MagicAssign) or `!` (SystemAssign), across spaces and continuations."""
    line, column = equals
    after = _next_token(lines, line, column + 1)
    if after is None:
        return None
    at_line, at_column = after
    text = lines[at_line]
    if text.startswith("%", at_column) and not text.startswith("%=", at_column):
        name = _next_token(lines, at_line, at_column + 1)
        if name and _NAME_START.match(lines[name[0]], name[1]):
            return "magic", after
    elif text.startswith("!", at_column) and not text.startswith("!=", at_column):
        if not lines[line].strip().startswith("="):
            return "system", after
    return None


def _next_token(lines: list[str], line: int, column: int) -> tuple[int, int] | None:
    """The next non-space character, following backslash continuations."""
    while line < len(lines):
        text = lines[line]
        column = _SPACES.match(text, column).end()
        if _is_continuation(text, column):
            line, column = line + 1, 0
            continue
        return (line, column) if column < len(text) else None
    return None


def _end_of_continued_line(lines: list[str], start: int) -> int:
    """IPython's find_end_of_continued_line (only `\\` + LF counts, and it may return len(lines))."""
    end = start
    while lines[end].endswith("\\\n"):
        end += 1
        if end >= len(lines):
            break
    return end


def _assemble_continued_line(lines: list[str], line: int, column: int, end: int) -> str:
    """IPython's assemble_continued_line: the pieces joined by spaces, backslashes removed."""
    parts = [lines[line][column:]] + lines[line + 1:end + 1]
    return " ".join([p.rstrip()[:-1] for p in parts[:-1]] + [parts[-1].rstrip()])


def _escape_call(escape: str, content: str) -> str:
    """IPython's `tr` table of inputtransformer2."""
    if escape in ("!", "!!"):
        return f"get_ipython().{'system' if escape == '!' else 'getoutput'}({content!r})"
    if escape in ("?", "??"):
        return _help_call(content, escape) if content else "get_ipython().show_usage()"
    name, _, args = content.partition(" ")
    if escape == "%":
        return f"get_ipython().run_line_magic({name!r}, {args!r})"
    if escape == ",":
        return '{}("{}")'.format(name, '", "'.join(args.split()))
    if escape == ";":
        return f'{name}("{args}")'
    if not name:  # "/" alone: IPython raises SyntaxError and leaves the line
        raise _NotApplicable
    return "{}({})".format(name, ", ".join(args.split()))


def _help_call(target: str, escape: str) -> str:
    """IPython's _make_help_call."""
    method = "pinfo2" if escape == "??" else "psearch" if "*" in target else "pinfo"
    return f"get_ipython().run_line_magic({method!r}, {target!r})"


_NAME_RUN = re.compile(r"[\w*]*+")
_DIGITS = re.compile(r"\d*+")
_INDEX_REVERSED = re.compile(r"\][0-9]++-?\[")


def _help_target(content: str) -> tuple[str, str] | None:
    """What IPython's `_help_end_re.search(content)` finds, without its quadratic backtracking.

    The pattern is `(%{0,2}NAME(\\.NAME|\\[-?[0-9]+\\])*)(\\?\\??)$` with NAME `(?!\\d)[\\w*]+`;
    search returns the leftmost match, found here by reading the target backwards from the `?`."""
    end = len(content) - 1 if content.endswith("\n") else len(content)
    marks = 0
    while marks < 3 and end - marks > 0 and content[end - marks - 1] == "?":
        marks += 1
    if marks not in (1, 2):
        return None
    stop = end - marks
    start = _target_start(content, stop)
    if start is None:
        return None
    return content[start:stop], "?" * marks


def _target_start(content: str, stop: int) -> int | None:
    """Leftmost index i with content[i:stop] a help target, or None."""
    reversed_ = content[stop - 1::-1] if stop else ""
    pos, best = 0, None
    while True:
        run = _NAME_RUN.match(reversed_, pos).end()
        if run > pos:  # a name ends here: content[stop - run : stop - pos]
            name_start, name_stop = stop - run, stop - pos
            first_letter = _DIGITS.match(content, name_start, name_stop).end()
            if first_letter < name_stop:
                best = first_letter
            if reversed_.startswith(".", run) and first_letter == name_start:
                pos = run + 1
                continue
            break
        index = _INDEX_REVERSED.match(reversed_, pos)
        if index is None:
            break
        pos = index.end()
    if best is None:
        return None
    percents = 0
    while percents < 2 and best > 0 and content[best - 1] == "%":
        best, percents = best - 1, percents + 1
    return best


def answer_texts(markdown: list[str]) -> dict[str, str]:
    """The text of each hand-graded answer cell, keyed by its `<!-- answer:ID -->` marker."""
    answers: dict[str, str] = {}
    for text in markdown:
        match = ANSWER_MARKER.search(text)
        if match:
            body = "\n".join(line for line in text.splitlines() if not ANSWER_MARKER.search(line))
            answers[match.group(1)] = body.strip()
    return answers
