"""Class gradebooks as CSV: `grades.csv`, the Canvas gradebook import and the Moodle grading worksheet.

Formats, as the LMS importers read them:

* Canvas (``app/models/gradebook_importer.rb``): the header row starts ``Student``, ``ID``, then the
  optional ``SIS User ID``, ``SIS Login ID``, and must end the student columns with ``Section``; each
  further column is an assignment titled ``<title> (<assignment id>)`` (without the id Canvas matches
  the title, or creates a new assignment). A row whose first cell contains ``Points Possible`` gives
  the maximum points. Students are matched by ``ID`` (the Canvas user id, the number in the file
  names of the submissions download), then by SIS User ID / SIS Login ID, then by name.
  An empty score cell leaves the grade in Canvas unchanged.
* Moodle (``mod/assign/feedback/offline/importgradeslib.php``): the columns ``Identifier`` (written
  ``Participant <id>``, the id of the submissions download), ``Grade`` and ``Last modified (grade)``
  are required; ``Feedback comments`` is imported when the comments feedback plugin is on. The column
  names are Moodle's English strings: import with the site language English.

Every cell a student controls (names, ids, file names, messages) is made safe by `csv_safe`: control
and invisible format characters become visible escapes, the cell stays on one line, and a cell
starting with = + - @ (or their full-width forms, which a Japanese spreadsheet may accept too) gets a
leading apostrophe so that no spreadsheet runs it as a formula.

Integrity flags: grades.csv has an ``integrity`` column (empty when there is none); the Moodle
worksheet an ``Autograder integrity flag`` column (its importer reads only the columns it knows and
ignores the others), and its feedback comment says the submission is flagged, without the detail.
The Canvas file gets none: Canvas takes every column after ``Section`` for an assignment.
"""

from __future__ import annotations

import csv
import datetime
import html
import io
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from grader.lms import Submission
from grader.reports.common import LABELS, integrity_summary
from grader.reports.safe_text import clean_line
from grader.results import GRADED, GRADER_ERROR, GradeResult

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r", "＝", "＋", "－", "＠")

LMS_ID_COLUMNS = {
    "plain": (),
    "canvas": ("canvas_user_id", "canvas_attachment_id"),
    "moodle": ("moodle_participant_id",),
    "gradescope": ("gradescope_submission_id", "gradescope_sid", "gradescope_email"),
}

CANVAS_STUDENT_COLUMNS = ("Student", "ID", "SIS User ID", "SIS Login ID", "Section")
MOODLE_COLUMNS = ("Identifier", "Full name", "Email address", "Status", "Grade", "Maximum Grade",
                  "Grade can be changed", "Last modified (submission)", "Last modified (grade)",
                  "Feedback comments", "Autograder integrity flag")
MOODLE_PARTICIPANT_PREFIX = "Participant "


@dataclass(frozen=True)
class GradebookEntry:
    """One student's line in every gradebook: where the file came from and its result."""

    submission: Submission
    result: GradeResult
    file: str            # the graded file, relative to the export
    graded_at: float     # POSIX time the result was stored


# ---------------------------------------------------------------------------------- cells
def csv_safe(value: object) -> str:
    """`value` as a one-line CSV cell, without control characters, that no spreadsheet runs as a formula."""
    text = clean_line(value)
    return "'" + text if text.startswith(FORMULA_TRIGGERS) else text


def integrity_cell(result: GradeResult) -> str:
    """The integrity flags of `result` as one cell ("" when there is none), for the instructor."""
    return csv_safe("; ".join(integrity_summary(flag) for flag in result.integrity))


def fmt_number(value: float) -> str:
    """Points without float noise: 7.0 -> "7", 2.5 -> "2.5"."""
    return format(round(float(value), 4), "g")


def _check_points(result: GradeResult) -> dict[str, float]:
    return {check.id: check.points for check in result.checks}


def _reason(result: GradeResult, lang: str) -> str:
    return result.reason.in_lang(lang) if result.reason else ""


def _write_rows(path: Path, rows: Iterable[Sequence[str]], *, bom: bool) -> None:
    """Write rows as CSV in one go through a temporary file, so a reader never sees half a file."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerows(rows)
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_name(f".{path.name}.tmp")
    temp.write_text(buffer.getvalue(), encoding="utf-8-sig" if bom else "utf-8", newline="")
    os.replace(temp, path)


# ---------------------------------------------------------------------------------- grades.csv
def grades_csv_header(layout: str, check_ids: Sequence[str]) -> list[str]:
    return ["student_id", "name", *LMS_ID_COLUMNS[layout], "late", "status", "total", "max_total",
            *check_ids, "reason", "reason_ja", "integrity", "file", "sha256"]


def grades_csv_row(entry: GradebookEntry, layout: str, check_ids: Sequence[str]) -> list[str]:
    submission, result = entry.submission, entry.result
    points = _check_points(result)
    return [csv_safe(submission.student_id), csv_safe(submission.name),
            *(csv_safe(submission.lms_ids.get(column, "")) for column in LMS_ID_COLUMNS[layout]),
            "yes" if submission.late else "no", result.status, fmt_number(result.score),
            fmt_number(result.max_score),
            *(fmt_number(points[check_id]) if check_id in points else "" for check_id in check_ids),
            csv_safe(_reason(result, "en")), csv_safe(_reason(result, "ja")), integrity_cell(result),
            csv_safe(entry.file), result.sha256]


def write_grades_csv(path: Path, entries: Sequence[GradebookEntry], layout: str,
                     check_ids: Sequence[str]) -> Path:
    """`grades.csv`: one row per student, sorted by student id; UTF-8 with BOM so Excel reads it."""
    rows = [grades_csv_header(layout, check_ids)]
    rows += [grades_csv_row(entry, layout, check_ids)
             for entry in sorted(entries, key=lambda e: e.submission.student_id)]
    _write_rows(path, rows, bom=True)
    return path


# ---------------------------------------------------------------------------------- Canvas
def canvas_assignment_header(title: str, assignment_id: str | None = None) -> str:
    """The Canvas column title of the assignment: ``title (id)`` when the id is known."""
    return f"{title} ({assignment_id})" if assignment_id else title


def write_canvas_csv(path: Path, entries: Sequence[GradebookEntry], layout: str,
                     assignment_column: str, points_possible: float) -> Path:
    """A gradebook file for Canvas' Grades > Import: one assignment column, scores in points.

    From a Canvas download the student is identified by the Canvas user id; from other layouts
    the student id goes to ``SIS User ID`` (what Canvas matches next).
    """
    rows = [[*CANVAS_STUDENT_COLUMNS, csv_safe(assignment_column)],
            ["    Points Possible", "", "", "", "", fmt_number(points_possible)]]
    for entry in sorted(entries, key=lambda e: e.submission.student_id):
        submission = entry.submission
        canvas_id = submission.lms_ids.get("canvas_user_id", "") if layout == "canvas" else ""
        sis_user_id = "" if layout == "canvas" else submission.student_id
        rows.append([csv_safe(submission.name or submission.student_id), csv_safe(canvas_id),
                     csv_safe(sis_user_id), "", "", _lms_score(entry.result)])
    _write_rows(path, rows, bom=False)
    return path


def _lms_score(result: GradeResult) -> str:
    # A grader fault is no grade: an empty cell leaves the LMS value alone instead of a wrong 0.
    return "" if result.status == GRADER_ERROR else fmt_number(result.score)


# ---------------------------------------------------------------------------------- Moodle
def moodle_identifier(submission: Submission) -> str:
    participant_id = submission.lms_ids.get("moodle_participant_id", submission.student_id)
    return MOODLE_PARTICIPANT_PREFIX + participant_id


def write_moodle_csv(path: Path, entries: Sequence[GradebookEntry], max_grade: float) -> Path:
    """A Moodle grading worksheet for Assignment > "Upload grading worksheet"."""
    rows = [list(MOODLE_COLUMNS)]
    for entry in sorted(entries, key=lambda e: e.submission.student_id):
        submission, result = entry.submission, entry.result
        rows.append([csv_safe(moodle_identifier(submission)), csv_safe(submission.name),
                     "",  # email: not in a Moodle download; the import ignores the column
                     result.status, _lms_score(result), fmt_number(max_grade), "Yes", "",
                     _moodle_time(entry.graded_at), csv_safe(moodle_feedback_comment(result)),
                     integrity_cell(result)])
    _write_rows(path, rows, bom=False)
    return path


def _moodle_time(timestamp: float) -> str:
    # Moodle reads this column with PHP's strtotime(): ISO 8601 with an offset is unambiguous.
    return datetime.datetime.fromtimestamp(timestamp, datetime.timezone.utc).isoformat(timespec="seconds")


def moodle_feedback_comment(result: GradeResult) -> str:
    """A short comment for the worksheet; HTML-escaped because Moodle shows it as HTML."""
    if result.status == GRADED:
        failed = [check.id for check in result.checks if not check.passed]
        text = f"自動採点 / Autograder: {fmt_number(result.score)}/{fmt_number(result.max_score)}."
        if failed:
            text += " 不合格 / Failed: " + ", ".join(failed) + "."
    else:
        text = f"{_reason(result, 'ja')} / {_reason(result, 'en')}".strip(" /")
    if result.integrity:  # the students read this comment: that it is flagged, not why
        note = LABELS["integrity_note"]
        text += f" {note.ja} / {note.en}"
    return html.escape(text)
