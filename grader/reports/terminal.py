"""The result on a terminal, in one language, with `rich`.

Every string of the result goes through `_text` / `_field`: `clean` makes control characters and
escape sequences visible (a notebook cannot clear the screen or paint a score), and the cleaned text
is only ever wrapped in `rich.text.Text`, never passed as a markup string, so a notebook that prints
"[bold red]x[/]" shows exactly that. Markup strings appear only for the report's own labels.
"""

from __future__ import annotations

from rich.console import Console, Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text as RichText

from grader.reports.common import (LABELS, VISIBILITY_LABELS, check_lang, deliverable_label, fmt_score,
                                   integrity_kind_label, mode_label, status_label)
from grader.reports.framework_noise import without_noise
from grader.reports.safe_text import clean, clean_line
from grader.results import GRADED, CheckResult, GradeResult, IntegrityFlag

PASS_MARK = "✓"
FAIL_MARK = "✗"
DELIVERABLE_MARKS = {"present": "✓", "placeholder": "△", "missing": "✗"}


def _label(key: str, lang: str) -> str:
    return LABELS[key].in_lang(lang)


def _heading(key: str, lang: str) -> RichText:
    return RichText(_label(key, lang), style="bold underline")


def _text(value: str, style: str = "", *, multiline: bool = True) -> RichText:
    """`value` shown literally: cleaned of control characters, never read as markup."""
    return RichText(clean(value) if multiline else clean_line(value), style=style)


def _field(label: str, value: str, value_style: str = "", *, multiline: bool = True) -> RichText:
    """"label: value", the value shown literally."""
    return RichText.assemble((f"{label}: ", "bold"), _text(value, value_style, multiline=multiline))


def _header(result: GradeResult, lang: str) -> Panel:
    status_style = "green" if result.status == GRADED else "bold red"
    lines = [_field(_label("submission", lang), result.submission, multiline=False)]
    if result.student_id or result.student_name:
        student = " ".join(part for part in (result.student_id, result.student_name) if part)
        lines.append(_field(_label("student", lang), student, multiline=False))
    lines.append(_field(_label("status", lang), status_label(result.status).in_lang(lang), status_style))
    lines.append(_field(_label("mode", lang), mode_label(result.mode).in_lang(lang), multiline=False))
    lines.append(_field(_label("score", lang), fmt_score(result.score, result.max_score), "bold"))
    return Panel(Group(*lines), title=_label("report", lang), title_align="left", expand=False)


def _reason_panel(result: GradeResult, lang: str) -> Panel:
    """The reason a grading failed, boxed in red so it is the first thing read."""
    reason = result.reason.in_lang(lang) if result.reason else status_label(result.status).in_lang(lang)
    return Panel(_text(reason), title=_label("reason", lang), title_align="left",
                 border_style="bold red", expand=False)


def _integrity_flag(flag: IntegrityFlag, lang: str) -> list[RichText]:
    """A flag's kind and checks on one line, its detail (instructors only) indented under it."""
    kind = integrity_kind_label(flag.kind)
    parts = [_text(kind.in_lang(lang), "bold", multiline=False)] if kind is not None else []
    if flag.checks:
        parts.append(_field(_label("integrity_checks", lang), ", ".join(flag.checks), multiline=False))
    lines = [RichText("• ", style="bold red") + RichText("  ").join(parts)] if parts else []
    if flag.detail:
        lines.append(RichText("  ") + _text(flag.detail))
    return lines


def _integrity_panel(result: GradeResult, lang: str) -> Panel:
    """The integrity flags, boxed in red above everything else: the score may not mean what it says."""
    lines = [RichText(_label("integrity_note", lang), style="bold")]
    for flag in result.integrity:
        lines.extend(_integrity_flag(flag, lang))
    return Panel(Group(*lines), title=_label("integrity", lang), title_align="left",
                 border_style="bold red", expand=False)


def _check_title(check: CheckResult, lang: str) -> RichText:
    title = _text(check.title.in_lang(lang))
    # Instructors see every check; mark the ones students do not see so nobody quotes them by mistake.
    if check.visibility in VISIBILITY_LABELS:
        title.append(f" ({VISIBILITY_LABELS[check.visibility].in_lang(lang)})", style="dim")
    if check.measured:
        title.append_text(_text(f" [{check.measured}]", "cyan", multiline=False))
    return title


def _checks_table(result: GradeResult, lang: str) -> Table:
    table = Table(title=_label("checks", lang), title_justify="left", show_lines=False)
    table.add_column(_label("part", lang), justify="center", no_wrap=True)
    table.add_column(_label("check", lang), ratio=1)
    table.add_column(_label("points", lang), justify="right", no_wrap=True)
    table.add_column(_label("result", lang), justify="center", no_wrap=True)
    for check in result.checks:
        mark = RichText(PASS_MARK, style="green") if check.passed else RichText(FAIL_MARK, style="bold red")
        table.add_row(_text(check.part, multiline=False), _check_title(check, lang),
                      RichText(fmt_score(check.points, check.max_points)), mark)
    return table


def _feedback_block(check: CheckResult, lang: str) -> Group:
    """Expected / got / hint of one failed check."""
    lines = [RichText.assemble((f"{FAIL_MARK} ", "bold red"), _text(f"[{check.part}] ", "bold", multiline=False),
                               _text(check.title.in_lang(lang), "bold", multiline=False),
                               (f"  ({fmt_score(check.points, check.max_points)})", "dim"))]
    for item in check.feedback:
        lines.append(RichText("  ") + _field(_label("expected", lang), item.expected.in_lang(lang)))
        lines.append(RichText("  ") + _field(_label("got", lang), item.got, "yellow"))
        lines.append(RichText("  ") + _field(_label("hint", lang), item.hint.in_lang(lang), "cyan"))
    if not check.feedback:
        lines.append(RichText("  " + _label("no_detail", lang)))
    return Group(*lines)


def _failed_with_something_to_say(result: GradeResult) -> list[CheckResult]:
    """Failed checks to explain: after a failed grading only those with feedback (the reason panel covers the rest)."""
    failed = [check for check in result.checks if not check.passed]
    if result.status != GRADED:
        return [check for check in failed if check.feedback]
    return failed


def _feedback(result: GradeResult, lang: str) -> Group | None:
    failed = _failed_with_something_to_say(result)
    if result.status != GRADED and not failed:
        return None
    if not failed:
        return Group(_heading("feedback", lang), RichText(_label("all_passed", lang), style="green"))
    return Group(_heading("feedback", lang), *(_feedback_block(check, lang) for check in failed))


def _cell_errors(result: GradeResult, lang: str) -> Group:
    if not result.cell_errors:
        return Group(_heading("cell_errors", lang), RichText(_label("no_cell_errors", lang)))
    table = Table(show_header=True, box=None, padding=(0, 2, 0, 0))
    table.add_column(_label("cell", lang), justify="right", no_wrap=True)
    table.add_column(_label("error_type", lang), no_wrap=True, style="red")
    table.add_column(_label("message", lang), ratio=1)
    for error in result.cell_errors:
        table.add_row(RichText(str(error.cell)), _text(error.error_type, multiline=False), _text(error.message))
    return Group(_heading("cell_errors", lang), table)


def _deliverables(result: GradeResult, lang: str) -> Group:
    lines = [_heading("deliverables", lang), RichText(_label("deliverables_note", lang), style="dim")]
    for item in result.deliverables:
        mark = DELIVERABLE_MARKS.get(item.status, "?")
        style = {"present": "green", "placeholder": "yellow"}.get(item.status, "red")
        lines.append(RichText.assemble((f"{mark} ", style), _text(item.title.in_lang(lang), "bold"), ": ",
                                       _text(deliverable_label(item.status).in_lang(lang), style)))
        if item.excerpt:
            lines.append(RichText("    ") + _text(item.excerpt, "dim"))
    return Group(*lines)


def _isolation(result: GradeResult, lang: str) -> Group:
    marks = RichText()
    for name, active in result.isolation.items():
        if marks:
            marks.append("   ")
        marks.append(PASS_MARK if active else FAIL_MARK, style="green" if active else "bold red")
        marks.append_text(_text(f" {name}", multiline=False))
    return Group(_heading("isolation", lang), marks)


def _timings(result: GradeResult, lang: str) -> Group:
    table = Table(show_header=False, box=None, padding=(0, 2, 0, 0))
    table.add_column(no_wrap=True)
    table.add_column(justify="right", no_wrap=True)
    for name, seconds in result.timings.items():
        table.add_row(_text(name, multiline=False), RichText(f"{seconds:.1f} s"))
    return Group(_heading("timings", lang), table)


def render_terminal(result: GradeResult, lang: str = "ja", console: Console | None = None) -> None:
    """Print the report of `result` in `lang` ("ja" or "en") on `console` (stdout by default)."""
    check_lang(lang)
    console = console or Console()
    if result.integrity:
        console.print(_integrity_panel(result, lang))
    console.print(_header(result, lang))
    if result.status != GRADED:
        console.print(_reason_panel(result, lang))
    if result.checks:
        console.print(_checks_table(result, lang))
        feedback = _feedback(result, lang)
        if feedback is not None:
            console.print()
            console.print(feedback)
    console.print()
    console.print(_cell_errors(result, lang))
    if result.deliverables:
        console.print()
        console.print(_deliverables(result, lang))
    if result.isolation:
        console.print()
        console.print(_isolation(result, lang))
    if result.timings:
        console.print()
        console.print(_timings(result, lang))
    output = without_noise(result.worker_output_tail).strip("\n")
    if output:
        console.print()
        console.print(Panel(_text(output), title=_label("worker_output", lang),
                            title_align="left", border_style="dim"))
