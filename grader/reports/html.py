"""The result as one self-contained bilingual HTML page (Japanese first, English under it).

The page loads nothing: styles are inline and figures are data URIs, so it can be mailed or opened
offline. Almost every string in a result can come from the student's notebook, so every one goes
through `_e`: control and invisible format characters made visible (`safe_text.clean`: a bidi
override would reorder what the instructor reads), then `html.escape`. Figures are embedded only
when they are plain base64 of a PNG.
"""

from __future__ import annotations

import base64
import binascii
import os
import re
from html import escape

from grader.reports.common import (COURSE_TITLE, LABELS, VISIBILITY_LABELS, atomic_write_text, deliverable_label,
                                   fmt_score, integrity_kind_label, mode_label, status_label)
from grader.reports.safe_text import clean
from grader.results import GRADED, CheckResult, Feedback, GradeResult, IntegrityFlag, Text

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_BASE64 = re.compile(r"[A-Za-z0-9+/]+={0,2}")
_WHITESPACE = re.compile(r"\s+")

STYLE = """
:root { --ok: #1a7f37; --ng: #c62828; --warn: #9a6700; --line: #d0d7de; --muted: #57606a;
        --bg-soft: #f6f8fa; }
* { box-sizing: border-box; }
body { margin: 0; background: #fff; color: #1f2328; line-height: 1.6;
       font-family: "Hiragino Sans", "Hiragino Kaku Gothic ProN", "Noto Sans CJK JP", "Noto Sans JP",
                    "Yu Gothic", Meiryo, "IPAPGothic", system-ui, sans-serif; }
main { max-width: 960px; margin: 0 auto; padding: 24px 20px 48px; }
h1 { font-size: 1.6em; margin: 0 0 4px; }
h2 { font-size: 1.25em; border-bottom: 2px solid var(--line); padding-bottom: 4px; margin-top: 36px; }
h3 { font-size: 1.05em; margin: 0 0 8px; }
.en { color: var(--muted); font-weight: normal; }
h1 .en, h2 .en { font-size: 0.75em; margin-left: 0.5em; }
.course { color: var(--muted); margin: 0; }
header { display: flex; justify-content: space-between; align-items: flex-start; gap: 24px; flex-wrap: wrap;
         border-bottom: 1px solid var(--line); padding-bottom: 16px; }
.meta { display: grid; grid-template-columns: max-content 1fr; gap: 2px 12px; margin: 12px 0 0; }
.meta dt { font-weight: bold; }
.meta dd { margin: 0; overflow-wrap: anywhere; }
.score { text-align: right; white-space: nowrap; }
.score .value { font-size: 3.4em; font-weight: bold; line-height: 1; }
.score .max { font-size: 1.6em; color: var(--muted); }
.score .caption { display: block; color: var(--muted); }
.status-ok { color: var(--ok); font-weight: bold; }
.status-ng { color: var(--ng); font-weight: bold; }
.reason { border: 2px solid var(--ng); background: #ffebe9; border-radius: 6px; padding: 12px 16px;
          margin-top: 20px; }
.reason h2 { border: none; margin: 0 0 6px; color: var(--ng); }
.integrity { border: 3px solid var(--ng); background: #ffebe9; border-radius: 6px; padding: 12px 16px;
             margin: 0 0 20px; }
.integrity h2 { border: none; margin: 0 0 6px; color: var(--ng); }
.integrity ul { margin: 8px 0 0; padding-left: 1.2em; }
.integrity .checks { font-family: monospace; }
table { border-collapse: collapse; width: 100%; }
th, td { border-bottom: 1px solid var(--line); padding: 6px 8px; text-align: left; vertical-align: top; }
th { background: var(--bg-soft); font-size: 0.9em; }
td.num, th.num { text-align: right; white-space: nowrap; }
td.center, th.center { text-align: center; white-space: nowrap; }
.pass { color: var(--ok); font-weight: bold; }
.fail { color: var(--ng); font-weight: bold; }
.tag { display: inline-block; font-size: 0.75em; color: var(--muted); border: 1px solid var(--line);
       border-radius: 10px; padding: 0 6px; margin-left: 6px; white-space: nowrap; }
.title-en { display: block; color: var(--muted); font-size: 0.9em; }
.measured { display: block; font-family: monospace; font-size: 0.9em; }
.feedback { border: 1px solid var(--line); border-left: 4px solid var(--ng); border-radius: 6px;
            padding: 12px 16px; margin: 12px 0; }
.feedback .lang + .lang { border-top: 1px dashed var(--line); margin-top: 10px; padding-top: 10px; }
.feedback dl { display: grid; grid-template-columns: max-content 1fr; gap: 4px 12px; margin: 0; }
.feedback dt { font-weight: bold; }
.feedback dd { margin: 0; min-width: 0; }
.feedback p { margin: 0; }
pre { margin: 0; white-space: pre-wrap; overflow-wrap: anywhere; font-family: ui-monospace, "SFMono-Regular",
      Menlo, Consolas, "Noto Sans Mono CJK JP", monospace; font-size: 0.9em; background: var(--bg-soft);
      border-radius: 4px; padding: 4px 6px; }
.ok-box { color: var(--ok); }
.muted { color: var(--muted); }
.deliverable-present { color: var(--ok); }
.deliverable-placeholder { color: var(--warn); }
.deliverable-missing { color: var(--ng); }
blockquote { margin: 6px 0 0; padding: 4px 10px; border-left: 3px solid var(--line); color: var(--muted);
             white-space: pre-wrap; overflow-wrap: anywhere; }
.figures { display: flex; flex-wrap: wrap; gap: 16px; align-items: flex-start; }
figure { margin: 0; border: 1px solid var(--line); border-radius: 6px; padding: 8px; max-width: 100%; }
figure img { display: block; max-width: 100%; height: auto; }
figcaption { color: var(--muted); font-size: 0.9em; margin-top: 4px; text-align: center; }
.columns { display: flex; gap: 32px; flex-wrap: wrap; }
.columns > section { flex: 1 1 280px; }
ul.plain { list-style: none; padding: 0; margin: 0; }
footer { margin-top: 40px; color: var(--muted); font-size: 0.85em; }
"""


def _e(value: str) -> str:
    """`value` safe as HTML text or attribute: cleaned of control characters, then escaped."""
    return escape(clean(value))


def _bi(text: Text) -> str:
    """Escaped Japanese text followed by its English in grey, for headings and labels."""
    return f'{_e(text.ja)} <span class="en" lang="en">{_e(text.en)}</span>'


def _label(key: str) -> str:
    return _bi(LABELS[key])


def _plain_label(key: str) -> str:
    """Escaped "日本語 / English", for places that take no markup (the <title>)."""
    return _e(f"{LABELS[key].ja} / {LABELS[key].en}")


def png_data_uri(png_base64: str) -> str | None:
    """A data URI of the PNG, or None when the string is not plain base64 of a PNG."""
    # Notebook outputs wrap base64 over lines; the whitespace carries no data.
    compact = _WHITESPACE.sub("", png_base64)
    if not compact or len(compact) % 4 or not _BASE64.fullmatch(compact):
        return None
    try:
        head = base64.b64decode(compact[:16], validate=True)
    except (binascii.Error, ValueError):
        return None
    if not head.startswith(PNG_SIGNATURE):
        return None
    return f"data:image/png;base64,{compact}"


def _header(result: GradeResult) -> str:
    status_class = "status-ok" if result.status == GRADED else "status-ng"
    rows = [(LABELS["submission"], _e(result.submission))]
    student = " ".join(part for part in (result.student_id, result.student_name) if part)
    if student:
        rows.append((LABELS["student"], _e(student)))
    rows.append((LABELS["status"], f'<span class="{status_class}">{_bi(status_label(result.status))}</span>'))
    rows.append((LABELS["mode"], _bi(mode_label(result.mode))))
    meta = "".join(f"<dt>{_bi(label)}</dt><dd>{value}</dd>" for label, value in rows)
    score, max_score = fmt_score(result.score, result.max_score).split("/")
    return f"""<header>
<div>
<p class="course">{_bi(COURSE_TITLE)}</p>
<h1>{_label("report")}</h1>
<dl class="meta">{meta}</dl>
</div>
<div class="score"><span class="value">{_e(score)}</span><span class="max">/{_e(max_score)}</span>
<span class="caption">{_label("score")}</span></div>
</header>"""


def _reason(result: GradeResult) -> str:
    if result.status == GRADED:
        return ""
    reason = result.reason or status_label(result.status)
    return f"""<section class="reason" role="alert">
<h2>{_label("reason")}</h2>
<p lang="ja">{_e(reason.ja)}</p>
<p lang="en" class="en">{_e(reason.en)}</p>
</section>"""


def _integrity_flag(flag: IntegrityFlag) -> str:
    """One flag as a list item: its kind and checks; its detail (instructors only) preformatted."""
    parts = []
    kind = integrity_kind_label(flag.kind)
    if kind is not None:
        parts.append(f"<b>{_bi(kind)}</b>")
    if flag.checks:
        parts.append(f'{_label("integrity_checks")}: <span class="checks">{_e(", ".join(flag.checks))}</span>')
    if flag.detail:
        parts.append(f'{_label("integrity_detail")}: <pre lang="en">{_e(flag.detail)}</pre>')
    return f"<li>{'<br>'.join(parts)}</li>" if parts else ""


def _integrity(result: GradeResult) -> str:
    """The integrity flags in a red box at the top of the page: the score may not mean what it says."""
    if not result.integrity:
        return ""
    note = LABELS["integrity_note"]
    items = "".join(_integrity_flag(flag) for flag in result.integrity)
    return f"""<section class="integrity" role="alert">
<h2>⚠ {_label("integrity")}</h2>
<p lang="ja">{_e(note.ja)}</p>
<p lang="en" class="en">{_e(note.en)}</p>
{f"<ul>{items}</ul>" if items else ""}
</section>"""


def _visibility_tag(check: CheckResult) -> str:
    # Instructors see every check; mark the ones students do not see.
    if check.visibility not in VISIBILITY_LABELS:
        return ""
    return f'<span class="tag">{_bi(VISIBILITY_LABELS[check.visibility])}</span>'


def _measured(check: CheckResult) -> str:
    return f'<span class="measured">{_e(check.measured)}</span>' if check.measured else ""


def _check_row(check: CheckResult) -> str:
    mark = ('<span class="pass">✓ ' + _label("passed") + "</span>" if check.passed
            else '<span class="fail">✗ ' + _label("failed") + "</span>")
    return (f'<tr><td class="center">{_e(check.part)}</td>'
            f'<td>{_e(check.title.ja)}{_visibility_tag(check)}'
            f'<span class="title-en" lang="en">{_e(check.title.en)}</span>{_measured(check)}</td>'
            f'<td class="num">{_e(fmt_score(check.points, check.max_points))}</td>'
            f'<td class="center">{mark}</td></tr>')


def _checks(result: GradeResult) -> str:
    if not result.checks:
        return ""
    rows = "\n".join(_check_row(check) for check in result.checks)
    return f"""<section>
<h2>{_label("checks")}</h2>
<table>
<thead><tr><th class="center">{_label("part")}</th><th>{_label("check")}</th>
<th class="num">{_label("points")}</th><th class="center">{_label("result")}</th></tr></thead>
<tbody>
{rows}
</tbody>
</table>
</section>"""


def _feedback_items(items: list[Feedback], lang: str) -> str:
    """Expected / got / hint in one language; "got" is the student's value, shown as preformatted text."""
    def row(key: str, value_html: str) -> str:
        return f"<dt>{_e(LABELS[key].in_lang(lang))}</dt><dd>{value_html}</dd>"

    parts = []
    for item in items:
        parts.append(row("expected", _e(item.expected.in_lang(lang)))
                     + row("got", f"<pre>{_e(item.got)}</pre>")
                     + row("hint", _e(item.hint.in_lang(lang))))
    return f'<div class="lang" lang="{lang}"><dl>{"".join(parts)}</dl></div>'


def _failed_with_something_to_say(result: GradeResult) -> list[CheckResult]:
    """Failed checks to explain: after a failed grading only those with feedback (the reason box covers the rest)."""
    failed = [check for check in result.checks if not check.passed]
    if result.status != GRADED:
        return [check for check in failed if check.feedback]
    return failed


def _feedback_block(check: CheckResult) -> str:
    if check.feedback:
        body = _feedback_items(check.feedback, "ja") + _feedback_items(check.feedback, "en")
    else:
        body = f'<p class="muted">{_label("no_detail")}</p>'
    points = fmt_score(check.points, check.max_points)
    return f"""<article class="feedback">
<h3><span class="fail">✗</span> [{_e(check.part)}] {_e(check.title.ja)}
<span class="title-en" lang="en">{_e(check.title.en)} — {_e(points)}</span></h3>
{body}
</article>"""


def _feedback(result: GradeResult) -> str:
    if not result.checks:
        return ""
    failed = _failed_with_something_to_say(result)
    if result.status != GRADED and not failed:
        return ""
    if not failed:
        body = f'<p class="ok-box">{_label("all_passed")}</p>'
    else:
        body = "\n".join(_feedback_block(check) for check in failed)
    return f'<section>\n<h2>{_label("feedback")}</h2>\n{body}\n</section>'


def _cell_errors(result: GradeResult) -> str:
    if not result.cell_errors:
        return f"""<section>
<h2>{_label("cell_errors")}</h2>
<p class="muted">{_label("no_cell_errors")}</p>
</section>"""
    rows = "\n".join(f'<tr><td class="num">{_e(str(e.cell))}</td>'
                     f'<td class="fail">{_e(e.error_type)}</td>'
                     f"<td><pre>{_e(e.message)}</pre></td></tr>" for e in result.cell_errors)
    return f"""<section>
<h2>{_label("cell_errors")}</h2>
<table>
<thead><tr><th class="num">{_label("cell")}</th><th>{_label("error_type")}</th>
<th>{_label("message")}</th></tr></thead>
<tbody>
{rows}
</tbody>
</table>
</section>"""


def _deliverables(result: GradeResult) -> str:
    if not result.deliverables:
        return ""
    items = []
    for d in result.deliverables:
        # The status goes into a class name, so only the three known values may.
        css = f"deliverable-{d.status}" if d.status in ("present", "placeholder") else "deliverable-missing"
        excerpt = f"<blockquote>{_e(d.excerpt)}</blockquote>" if d.excerpt else ""
        items.append(f'<tr><td>{_bi(d.title)}</td>'
                     f'<td class="{css}">{_bi(deliverable_label(d.status))}{excerpt}</td></tr>')
    rows = "\n".join(items)
    return f"""<section>
<h2>{_label("deliverables")}</h2>
<p class="muted">{_label("deliverables_note")}</p>
<table>
<tbody>
{rows}
</tbody>
</table>
</section>"""


def _figures(result: GradeResult) -> str:
    figures = []
    for figure in result.figures:
        uri = png_data_uri(figure.png_base64)
        if uri is None:
            continue  # not a PNG in plain base64: embedding it could break out of the attribute
        figures.append(f'<figure><img src="{uri}" alt="{_e(figure.id)}">'
                       f"<figcaption>{_e(figure.id)}</figcaption></figure>")
    if not figures:
        return ""
    joined = "\n".join(figures)
    return f'<section>\n<h2>{_label("figures")}</h2>\n<div class="figures">\n{joined}\n</div>\n</section>'


def _isolation(result: GradeResult) -> str:
    if not result.isolation:
        return ""
    items = "".join(
        f'<li><span class="pass">✓</span> {_e(name)}</li>' if active
        else f'<li><span class="fail">✗</span> {_e(name)}</li>'
        for name, active in result.isolation.items())
    return f'<section>\n<h2>{_label("isolation")}</h2>\n<ul class="plain">{items}</ul>\n</section>'


def _timings(result: GradeResult) -> str:
    if not result.timings:
        return ""
    rows = "".join(f'<tr><td>{_e(name)}</td><td class="num">{seconds:.1f} s</td></tr>'
                   for name, seconds in result.timings.items())
    return f'<section>\n<h2>{_label("timings")}</h2>\n<table><tbody>{rows}</tbody></table>\n</section>'


def render_feedback_html(result: GradeResult) -> str:
    """The whole feedback page of `result` as an HTML document."""
    machine = "\n".join(part for part in (_isolation(result), _timings(result)) if part)
    body = "\n".join(part for part in (
        _integrity(result), _header(result), _reason(result), _checks(result), _feedback(result),
        _cell_errors(result), _deliverables(result), _figures(result),
        f'<div class="columns">\n{machine}\n</div>' if machine else "") if part)
    return f"""<!DOCTYPE html>
<html lang="ja">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{_plain_label("report")}: {_e(result.submission)}</title>
<style>{STYLE}</style>
</head>
<body>
<main>
{body}
<footer>sha256 {_e(result.sha256)}</footer>
</main>
</body>
</html>
"""


def write_feedback_html(result: GradeResult, path: str | os.PathLike[str]) -> None:
    """Write `render_feedback_html(result)` to `path` atomically (UTF-8)."""
    atomic_write_text(path, render_feedback_html(result))
