"""The result as JSON: the `--json` output and the file the batch store reads back."""

from __future__ import annotations

import os

from grader.reports.common import atomic_write_text
from grader.reports.safe_text import json_escape_unsafe
from grader.results import GradeResult


def render_json(result: GradeResult) -> str:
    """`result.to_json()` with control and invisible format characters as \\u escapes.

    The data stay exactly what the submission produced (the unfiltered worker output included): a
    JSON reader gets the same strings back. Only the text changes, so that printing the file or
    `grade --json -` on a terminal cannot run an escape sequence the submission wrote.
    """
    return json_escape_unsafe(result.to_json())


def write_json(result: GradeResult, path: str | os.PathLike[str]) -> None:
    """Write `render_json(result)` to `path` atomically (UTF-8, Japanese kept readable)."""
    atomic_write_text(path, render_json(result) + "\n")
