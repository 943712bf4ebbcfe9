"""The class summary page of a batch: score histogram, pass rate of each check, the numbers behind
them, and what the batch found in the export (layout, refused entries, choices between files).

The page is one self-contained HTML file (plots are PNGs embedded as base64, no script, no network),
readable offline. Every string that comes from the export or a result (names, ids, file names,
messages, integrity details) is cleaned of control and invisible format characters and HTML-escaped
(`_e`). Submissions with integrity flags are counted in the overview, marked in the students'
table and listed with their details in a section of their own.
"""

from __future__ import annotations

import base64
import html
import io
import statistics
import urllib.parse
from collections.abc import Sequence
from dataclasses import dataclass, field

from grader.lms import Problem
from grader.reports.common import atomic_write_text, integrity_kind_label
from grader.reports.gradebook import GradebookEntry, fmt_number
from grader.reports.safe_text import clean
from grader.results import GRADED, GRADER_ERROR, INVALID_SUBMISSION, IntegrityFlag, Text

HISTOGRAM_BINS = 10


@dataclass(frozen=True)
class CheckInfo:
    """A rubric check as the summary shows it."""

    id: str
    title: Text
    max_points: float


@dataclass
class ClassSummary:
    """Everything the summary page shows."""

    title: Text
    layout: str
    layout_detected: bool
    input_name: str
    entries: list[GradebookEntry]
    checks: list[CheckInfo]
    max_score: float
    problems: list[Problem] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)
    feedback_links: dict[str, str] = field(default_factory=dict)  # student id -> relative path
    notes: list[str] = field(default_factory=list)


# ---------------------------------------------------------------------------------- numbers
def pass_rates(entries: Sequence[GradebookEntry], checks: Sequence[CheckInfo]) -> dict[str, tuple[int, int]]:
    """Per check: (passed, out of) over the submissions the grader could grade."""
    graded = [entry.result for entry in entries if entry.result.status == GRADED]
    rates = {}
    for check in checks:
        outcomes = [c.passed for result in graded for c in result.checks if c.id == check.id]
        rates[check.id] = (sum(outcomes), len(outcomes))
    return rates


def score_statistics(scores: Sequence[float]) -> dict[str, float]:
    if not scores:
        return {}
    return {"mean": statistics.fmean(scores), "median": statistics.median(scores),
            "min": min(scores), "max": max(scores)}


def _scores(entries: Sequence[GradebookEntry]) -> list[float]:
    # A grader fault says nothing about the student; it stays out of the distribution.
    return [entry.result.score for entry in entries if entry.result.status != GRADER_ERROR]


# ---------------------------------------------------------------------------------- plots
def _png_base64(figure) -> str:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    buffer = io.BytesIO()
    FigureCanvasAgg(figure).print_png(buffer)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def histogram_png(scores: Sequence[float], max_score: float) -> str:
    """Base64 PNG of the score distribution (bins of max_score / 10)."""
    from matplotlib.figure import Figure  # here, not at the top: pool processes re-import this module
    figure = Figure(figsize=(7, 3.6), dpi=100)
    axes = figure.add_subplot()
    edges = [max_score * i / HISTOGRAM_BINS for i in range(HISTOGRAM_BINS + 1)]
    axes.hist(list(scores), bins=edges, color="#3b6ea8", edgecolor="white")
    axes.set_xlim(0, max_score)
    axes.set_xlabel("Total score")
    axes.set_ylabel("Students")
    axes.set_title(f"Score distribution (n = {len(scores)})")
    axes.yaxis.get_major_locator().set_params(integer=True)
    figure.tight_layout()
    return _png_base64(figure)


def pass_rate_png(rates: dict[str, tuple[int, int]]) -> str:
    """Base64 PNG of the pass rate of each check, one horizontal bar per check, rubric order."""
    ids = list(rates)
    percents = [100.0 * passed / total if total else 0.0 for passed, total in rates.values()]
    from matplotlib.figure import Figure
    figure = Figure(figsize=(7, 0.32 * len(ids) + 1.2), dpi=100)
    axes = figure.add_subplot()
    positions = list(range(len(ids)))[::-1]  # first check on top
    axes.barh(positions, percents, color=["#2e8b57" if p >= 50 else "#c0504d" for p in percents])
    axes.set_yticks(positions, ids, fontsize=8)
    axes.set_xlim(0, 100)
    axes.set_xlabel("Pass rate (%)")
    axes.set_title("Pass rate per check")
    for position, percent in zip(positions, percents):
        axes.text(min(percent + 1, 92), position, f"{percent:.0f}%", va="center", fontsize=7)
    figure.tight_layout()
    return _png_base64(figure)


# ---------------------------------------------------------------------------------- HTML
STYLE = """
body{font-family:system-ui,"Noto Sans CJK JP","Hiragino Sans",sans-serif;margin:2em;color:#222;max-width:72em}
h1{font-size:1.5em} h2{font-size:1.2em;margin-top:1.6em;border-bottom:1px solid #ccc}
table{border-collapse:collapse;margin:.5em 0} td,th{border:1px solid #ccc;padding:.25em .6em;text-align:left}
th{background:#f2f2f2} td.num{text-align:right;font-variant-numeric:tabular-nums}
.graded{color:#1d6b35} .invalid_submission{color:#a25a00} .grader_error{color:#b00020}
img{max-width:100%;border:1px solid #ddd} .muted{color:#666}
.flagged{color:#b00020;font-weight:bold} pre{white-space:pre-wrap;overflow-wrap:anywhere;margin:0}
"""


def _e(value: object) -> str:
    """`value` safe as HTML text or attribute: cleaned of control characters, then escaped."""
    return html.escape(clean(value), quote=True)


def _flagged(entries: Sequence[GradebookEntry]) -> list[GradebookEntry]:
    return [entry for entry in entries if entry.result.integrity]


def _bi(text: Text) -> str:
    return f"{_e(text.ja)}<br><span class='muted'>{_e(text.en)}</span>"


def _overview(summary: ClassSummary, scores: list[float]) -> str:
    counts = {status: sum(1 for e in summary.entries if e.result.status == status)
              for status in (GRADED, INVALID_SUBMISSION, GRADER_ERROR)}
    late = sum(1 for e in summary.entries if e.submission.late)
    flagged = len(_flagged(summary.entries))
    stats = score_statistics(scores)
    detected = "detected / 自動判定" if summary.layout_detected else "forced / 指定"
    rows = [("Input / 入力", _e(summary.input_name)),
            ("Layout / 形式", f"<b>{_e(summary.layout)}</b> ({detected})"),
            ("Students / 学生数", str(len(summary.entries))),
            ("Graded / 採点済み", str(counts[GRADED])),
            ("Invalid submissions / 読み込めない提出物", str(counts[INVALID_SUBMISSION])),
            ("Grader errors / 採点エラー", str(counts[GRADER_ERROR])),
            ("Late / 遅延提出", str(late)),
            ("Template mode / テンプレート形式", str(sum(1 for e in summary.entries if e.result.mode != "free"))),
            ("Free-form mode / 自由形式", str(sum(1 for e in summary.entries if e.result.mode == "free"))),
            ("Flagged for review / 要確認（整合性）", f"<span class='flagged'>{flagged}</span>" if flagged else "0"),
            ("Refused or unreadable entries / 除外した項目", str(len(summary.problems)))]
    for name, label in (("mean", "Mean / 平均"), ("median", "Median / 中央値"),
                        ("min", "Min / 最低"), ("max", "Max / 最高")):
        if name in stats:
            rows.append((label, f"{stats[name]:.1f} / {fmt_number(summary.max_score)}"))
    body = "".join(f"<tr><th>{label}</th><td>{value}</td></tr>" for label, value in rows)
    return f"<h2>Overview / 概要</h2><table id='overview'>{body}</table>"


def _checks_table(summary: ClassSummary, rates: dict[str, tuple[int, int]]) -> str:
    rows = []
    for check in summary.checks:
        passed, total = rates[check.id]
        percent = f"{100.0 * passed / total:.0f}%" if total else "–"
        rows.append(f"<tr><td><code>{_e(check.id)}</code></td><td>{_bi(check.title)}</td>"
                    f"<td class='num'>{fmt_number(check.max_points)}</td>"
                    f"<td class='num'>{passed} / {total}</td><td class='num'>{percent}</td></tr>")
    header = ("<tr><th>Check</th><th>Title / 項目</th><th>Points</th><th>Passed / 合格</th>"
              "<th>Rate</th></tr>")
    return f"<table id='checks'>{header}{''.join(rows)}</table>"


def _students_table(summary: ClassSummary) -> str:
    rows = []
    for entry in sorted(summary.entries, key=lambda e: e.submission.student_id):
        submission, result = entry.submission, entry.result
        link = summary.feedback_links.get(submission.student_id)
        feedback = (f"<a href='{_e(urllib.parse.quote(link))}'>feedback</a>" if link else "–")
        reason = result.reason.en if result.reason else ""
        flags = ", ".join(dict.fromkeys(flag.kind for flag in result.integrity))
        rows.append(
            f"<tr><td>{_e(submission.student_id)}</td><td>{_e(submission.name)}</td>"
            f"<td>{'yes' if submission.late else ''}</td>"
            f"<td class='{_e(result.status)}'>{_e(result.status)}</td>"
            f"<td class='num'>{fmt_number(result.score)}</td>"
            f"<td class='flagged'>{_e(flags)}</td><td>{_e(entry.file)}</td>"
            f"<td>{_e(reason)}</td><td>{feedback}</td></tr>")
    header = ("<tr><th>Student id</th><th>Name</th><th>Late</th><th>Status</th><th>Total</th>"
              "<th>Integrity</th><th>File</th><th>Reason</th><th>Feedback</th></tr>")
    return f"<h2>Students / 学生</h2><table id='students'>{header}{''.join(rows)}</table>"


def _flag_row(entry: GradebookEntry, flag: IntegrityFlag) -> str:
    kind = integrity_kind_label(flag.kind)
    return (f"<tr><td>{_e(entry.submission.student_id)}</td><td>{_e(entry.submission.name)}</td>"
            f"<td>{_bi(kind) if kind else ''}</td><td><code>{_e(', '.join(flag.checks))}</code></td>"
            f"<td><pre>{_e(flag.detail)}</pre></td></tr>")


def _integrity(summary: ClassSummary) -> str:
    """Every integrity flag of the class, one row each: the submissions to look at before publishing."""
    flagged = _flagged(sorted(summary.entries, key=lambda e: e.submission.student_id))
    if not flagged:
        return ""
    rows = "".join(_flag_row(entry, flag) for entry in flagged for flag in entry.result.integrity)
    header = "<tr><th>Student id</th><th>Name</th><th>Kind / 種類</th><th>Checks / 項目</th><th>Detail</th></tr>"
    return ("<h2 class='flagged'>Flagged for review / 要確認（整合性）</h2>"
            f"<p>{len(flagged)} submission(s): their flagged checks scored 0; look at them before publishing "
            "grades. / 対象の項目は 0 点です。成績を公開する前に確認してください。</p>"
            f"<table id='integrity'>{header}{rows}</table>")


def _choices(summary: ClassSummary) -> str:
    chosen = [e.submission for e in summary.entries if e.submission.had_choice]
    if not chosen:
        return ""
    items = "".join(f"<li>{_e(s.student_id)}: {_e(s.path.name)} (newest of {len(s.chosen_from)}: "
                    f"{_e(', '.join(p.name for p in s.chosen_from))})</li>" for s in chosen)
    return ("<h2>Several files from one student / 複数ファイルの提出</h2>"
            f"<p>The newest file was graded. / 最新のファイルを採点しました。</p><ul>{items}</ul>")


def _problems(summary: ClassSummary) -> str:
    parts = []
    if summary.problems:
        items = "".join(f"<li><code>{_e(p.entry)}</code>: {_e(p.reason)}</li>" for p in summary.problems)
        parts.append("<h2>Refused or unreadable entries / 除外した項目</h2>"
                     f"<ul id='problems'>{items}</ul>")
    if summary.ignored:
        items = "".join(f"<li><code>{_e(name)}</code></li>" for name in summary.ignored)
        parts.append(f"<details><summary>Files that are not .ipynb / .py ({len(summary.ignored)}) "
                     f"/ 採点対象外のファイル</summary><ul>{items}</ul></details>")
    if summary.notes:
        parts.append("<ul>" + "".join(f"<li>{_e(note)}</li>" for note in summary.notes) + "</ul>")
    return "".join(parts)


def render_summary_html(summary: ClassSummary) -> str:
    """The whole summary page as one HTML string."""
    scores = _scores(summary.entries)
    rates = pass_rates(summary.entries, summary.checks)
    histogram = histogram_png(scores, summary.max_score)
    pass_plot = pass_rate_png(rates)
    return (
        "<!DOCTYPE html><html lang='ja'><head><meta charset='utf-8'>"
        "<meta http-equiv='Content-Security-Policy' content=\"default-src 'none'; img-src data:; "
        "style-src 'unsafe-inline'\">"
        f"<title>{_e(summary.title.ja)} — class summary</title><style>{STYLE}</style></head><body>"
        f"<h1>{_e(summary.title.ja)}<br><span class='muted'>{_e(summary.title.en)} — "
        "class summary / クラス集計</span></h1>"
        f"{_overview(summary, scores)}{_integrity(summary)}"
        "<h2>Score distribution / 得点分布</h2>"
        f"<img id='histogram' alt='Score histogram' src='data:image/png;base64,{histogram}'>"
        "<h2>Pass rate per check / 項目ごとの合格率</h2>"
        f"<img id='pass-rates' alt='Pass rate per check' src='data:image/png;base64,{pass_plot}'>"
        f"{_checks_table(summary, rates)}"
        f"{_students_table(summary)}{_choices(summary)}{_problems(summary)}"
        "</body></html>\n")


def write_summary_html(summary: ClassSummary, path) -> None:
    atomic_write_text(path, render_summary_html(summary))
