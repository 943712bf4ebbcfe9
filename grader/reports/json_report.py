"""The result as JSON: the `--json` output and the file the batch store reads back."""

from __future__ import annotations

import os

from grader.reports.common import atomic_write_text
from grader.results import GradeResult


def write_json(result: GradeResult, path: str | os.PathLike[str]) -> None:
    """Write `result.to_json()` to `path` atomically (UTF-8, Japanese kept readable)."""
    atomic_write_text(path, result.to_json() + "\n")
