"""Text from a submission made inert before any report shows it.

A notebook controls much of what the reports show: cell error messages, the values quoted in
feedback, the worker's output, answer-cell excerpts, file names, and (through the LMS export) student
names and ids. Printed raw, an escape sequence clears the instructor's terminal or paints a fake
score over the real one, a carriage return overwrites a line, U+202E turns "exe.png" into "gnp.exe",
and a zero-width character makes two different strings look the same.

`clean` replaces every such character with a visible escape in Python's notation (ESC becomes the
four characters ``\\x1b``), so nothing is executed and nothing is hidden: the instructor sees that
the text carried a control character. Writers still do their own quoting (HTML, CSV, rich markup);
this module only removes what no quoting handles.
"""

from __future__ import annotations

import json
import re
import sys
import unicodedata

# Control (Cc), format (Cf: bidi overrides and isolates, zero-width characters, soft hyphen, BOM,
# tag characters), lone surrogates (Cs: would make the UTF-8 writers fail) and the Unicode line and
# paragraph separators (Zl, Zp: some viewers break lines at them, others do not).
UNSAFE_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})

# Short forms a reader knows from Python's repr.
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _unsafe_ranges() -> list[tuple[int, int]]:
    """Code point ranges of the unsafe categories, from the Unicode data Python ships (about 25)."""
    ranges: list[tuple[int, int]] = []
    for code in range(sys.maxunicode + 1):
        if unicodedata.category(chr(code)) not in UNSAFE_CATEGORIES:
            continue
        if ranges and ranges[-1][1] == code - 1:
            ranges[-1] = (ranges[-1][0], code)
        else:
            ranges.append((code, code))
    return ranges


def _character_class(ranges: list[tuple[int, int]], keep: str = "") -> re.Pattern[str]:
    parts = "".join(re.escape(chr(a)) if a == b else f"{re.escape(chr(a))}-{re.escape(chr(b))}"
                    for a, b in ranges)
    exclude = "".join(re.escape(c) for c in keep)
    # A regex, not a loop over characters: the worker output and a JSON result with figures are long.
    return re.compile(f"(?![{exclude}])[{parts}]" if keep else f"[{parts}]")


_RANGES = _unsafe_ranges()
_UNSAFE = _character_class(_RANGES)
_UNSAFE_EXCEPT_LAYOUT = _character_class(_RANGES, keep="\n\t")  # they only move the cursor forward
_UNSAFE_EXCEPT_NEWLINE = _character_class(_RANGES, keep="\n")


def is_unsafe(char: str) -> bool:
    """Whether `char` (one character) may act on a terminal or a viewer instead of being shown."""
    return unicodedata.category(char) in UNSAFE_CATEGORIES


def visible_escape(char: str) -> str:
    """`char` written out as Python would write it in a string literal: ``\\x1b``, ``\\u202e``."""
    if char in _NAMED:
        return _NAMED[char]
    code = ord(char)
    if code < 0x100:
        return f"\\x{code:02x}"
    if code < 0x10000:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


def clean(value: object, *, multiline: bool = True) -> str:
    """`value` as text with every control and invisible format character replaced by its escape.

    With `multiline` newlines and tabs stay (a Windows line end counts as a newline); without it,
    they are escaped too, for a cell, a name or a title that must stay on one line.
    """
    text = "" if value is None else str(value)
    if multiline:
        text = text.replace("\r\n", "\n")
    pattern = _UNSAFE_EXCEPT_LAYOUT if multiline else _UNSAFE
    return pattern.sub(lambda match: visible_escape(match.group()), text)


def clean_line(value: object) -> str:
    """`clean` for text that must stay on one line (names, ids, file names, cells)."""
    return clean(value, multiline=False)


def json_escape_unsafe(json_text: str) -> str:
    """JSON text with every unsafe character inside it written as a \\u escape.

    `json.dumps(..., ensure_ascii=False)` escapes C0 controls but writes C1 controls, bidi
    overrides and zero-width characters raw. Escaping them keeps the data exactly (a JSON reader
    gets the same strings back) while `cat result.json` shows nothing but the escapes. Every such
    character can only be inside a string: JSON's own syntax is ASCII.
    """
    return _UNSAFE_EXCEPT_NEWLINE.sub(lambda match: json.dumps(match.group())[1:-1], json_text)
