"""The result as Gradescope's autograder `results.json`.

Format (Gradescope autograder specifications, docs/specs.md of gradescope/autograder_samples,
published at gradescope-autograders.readthedocs.io/en/latest/specs/): top-level "score" (overrides the
sum of the tests), "output", "output_format", "test_output_format", "test_name_format", "visibility",
"stdout_visibility", "tests"; each test "name", "score", "max_score", "status" ("passed" | "failed"),
"output", "visibility". Visibility values: "visible" (default), "hidden", "after_due_date",
"after_published".

The top-level output defaults to "simple_format", which Gradescope renders as (sanitised) HTML; all
outputs here carry student-controlled text, so every format is set to "text" explicitly, and every
string is cleaned of control and invisible format characters (`safe_text.clean`).

Students see the top-level output and the visible tests. An integrity flag shows there only as "flagged
for the instructor's review" (top-level, and in the output of each check it concerns); its kind and
detail go to one extra test of 0 points that is always hidden, which only instructors see.
"""

from __future__ import annotations

import json
import os
from typing import Any

from grader.reports.common import (LABELS, atomic_write_text, check_lang, deliverable_label, integrity_kind_label,
                                   mode_label, status_label)
from grader.reports.safe_text import clean, clean_line
from grader.results import GRADED, CheckResult, GradeResult, IntegrityFlag

GRADESCOPE_VISIBILITIES = ("visible", "hidden", "after_due_date", "after_published")

# Grader logs may quote hidden tests; the worker output is for instructors only.
STDOUT_VISIBILITY = "hidden"


def _visibility(check: CheckResult) -> str:
    """The rubric's visibility; an unknown one becomes "hidden" (showing a hidden test is the worse mistake)."""
    return check.visibility if check.visibility in GRADESCOPE_VISIBILITIES else "hidden"


def _test_name(check: CheckResult) -> str:
    return f"{check.title.ja} / {check.title.en}"


def _feedback_text(check: CheckResult, result: GradeResult, lang: str) -> str:
    """The feedback of one check in one language."""
    if check.passed:
        passed = LABELS["passed"].in_lang(lang)
        return f"{passed} ({check.measured})" if check.measured else passed
    if not check.feedback:
        # A check failed by a failed grading has no feedback of its own; the reason explains it.
        return result.reason.in_lang(lang) if result.reason else LABELS["no_detail"].in_lang(lang)
    blocks = []
    for item in check.feedback:
        blocks.append("\n".join([
            f"{LABELS['expected'].in_lang(lang)}: {item.expected.in_lang(lang)}",
            f"{LABELS['got'].in_lang(lang)}: {item.got}",
            f"{LABELS['hint'].in_lang(lang)}: {item.hint.in_lang(lang)}",
        ]))
    return "\n\n".join(blocks)


def _bilingual(key: str) -> str:
    return f"{LABELS[key].ja} / {LABELS[key].en}"


def _indented(text: str, prefix: str = "    ") -> str:
    """`text` with every line after the first indented by `prefix`."""
    return clean(text).replace("\n", "\n" + prefix)


def _flagged_checks(result: GradeResult) -> set[str]:
    return {check for flag in result.integrity for check in flag.checks}


def _test(check: CheckResult, result: GradeResult) -> dict[str, Any]:
    """One Gradescope test for one rubric check; its output in Japanese, then in English."""
    output = _feedback_text(check, result, "ja") + "\n\n---\n\n" + _feedback_text(check, result, "en")
    if check.id in _flagged_checks(result):
        output = f"⚠ {_bilingual('integrity_check_note')}\n\n{output}"
    return {
        "name": clean_line(_test_name(check)),
        "score": check.points,
        "max_score": check.max_points,
        "status": "passed" if check.passed else "failed",
        "output": clean(output),
        "visibility": _visibility(check),
    }


def _integrity_flag_text(flag: IntegrityFlag) -> str:
    kind = integrity_kind_label(flag.kind)
    lines = [f"- {kind.ja} / {kind.en}" if kind else "-"]
    if flag.checks:
        lines.append(f"  {_bilingual('integrity_checks')}: {', '.join(flag.checks)}")
    if flag.detail:
        lines.append(f"  {_bilingual('integrity_detail')}: {flag.detail}")
    return "\n".join(lines)


def _integrity_test(result: GradeResult) -> dict[str, Any]:
    """The flags in full for the instructor, as a hidden test worth nothing (students never see it)."""
    output = "\n".join([_bilingual("integrity_note"), *(_integrity_flag_text(flag) for flag in result.integrity)])
    return {
        "name": f"{_bilingual('integrity')} (教員のみ / instructor only)",
        "score": 0,
        "max_score": 0,
        "status": "failed",
        "output": clean(output),
        "visibility": "hidden",
    }


def _summary(result: GradeResult, lang: str) -> str:
    """The top-level output: status, why grading failed, cell errors and the hand-graded deliverables.

    The total score is left out on purpose: Gradescope hides it while hidden tests exist, and this
    text is shown to students.
    """
    def label(key: str) -> str:
        return LABELS[key].in_lang(lang)

    other = "en" if lang == "ja" else "ja"
    lines = [f"⚠ {_bilingual('integrity_note')}", ""] if result.integrity else []
    lines += [f"{label('submission')}: {clean_line(result.submission)}",
              f"{label('status')}: {status_label(result.status).in_lang(lang)}",
              f"{label('mode')}: {mode_label(result.mode).in_lang(lang)}"]
    if result.status != GRADED:
        lines.append("")
        lines.append(f"{label('reason')}:")
        if result.reason:
            lines.append(result.reason.in_lang(lang))
            lines.append(result.reason.in_lang(other))
    if result.cell_errors:
        lines.append("")
        lines.append(f"{label('cell_errors')}:")
        # A message's own lines stay indented under it: they cannot pass for lines of this summary.
        lines.extend(f"  {label('cell')} {e.cell}: {clean_line(e.error_type)}: {_indented(e.message)}"
                     for e in result.cell_errors)
    if result.deliverables:
        lines.append("")
        lines.append(f"{label('deliverables')}: {label('deliverables_note')}")
        lines.extend(f"  - {d.title.in_lang(lang)}: {deliverable_label(d.status).in_lang(lang)}"
                     for d in result.deliverables)
    return clean("\n".join(lines))


def gradescope_results(result: GradeResult, lang: str = "ja") -> dict[str, Any]:
    """The `results.json` dict of `result`; `lang` is the language of the top-level summary."""
    check_lang(lang)
    return {
        "score": result.score,
        "output": _summary(result, lang),
        "output_format": "text",
        "test_output_format": "text",
        "test_name_format": "text",
        "visibility": "visible",
        "stdout_visibility": STDOUT_VISIBILITY,
        "tests": [_test(check, result) for check in result.checks]
                 + ([_integrity_test(result)] if result.integrity else []),
    }


def write_gradescope_results(result: GradeResult, path: str | os.PathLike[str], lang: str = "ja") -> None:
    """Write `gradescope_results(result)` to `path` (normally /autograder/results/results.json) atomically."""
    atomic_write_text(path, json.dumps(gradescope_results(result, lang), ensure_ascii=False, indent=2) + "\n")
