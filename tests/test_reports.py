"""Tests of the report writers (terminal, Gradescope, HTML, JSON, gradebooks, class summary) on
hand-built results; no TensorFlow."""

from __future__ import annotations

import csv
import dataclasses
import io
import json
from html.parser import HTMLParser
from pathlib import Path

import pytest
from rich.console import Console

from grader.lms import Submission
from grader.reports import for_students
from grader.reports.framework_noise import without_noise
from grader.reports.gradebook import GradebookEntry, write_canvas_csv, write_grades_csv, write_moodle_csv
from grader.reports.gradescope import gradescope_results, write_gradescope_results
from grader.reports.html import render_feedback_html, write_feedback_html
from grader.reports.json_report import render_json, write_json
from grader.reports.safe_text import clean, clean_line, json_escape_unsafe
from grader.reports.summary_html import CheckInfo, ClassSummary, render_summary_html
from grader.reports.terminal import render_terminal
from grader.results import (FAILED, GRADED, INVALID_SUBMISSION, PASSED, TAMPERING, UNVERIFIED, CellError,
                            CheckResult, Deliverable, Feedback, Figure, GradeResult, IntegrityFlag, Text,
                            result_from_dict)

# A real 1x1 PNG.
PNG_1X1 = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
GOT_INJECTION = "<script>alert(1)</script> [bold red]x[/]"
CELL_INJECTION = "<img src=x onerror=alert(2)> [link=http://evil]click[/link]"
EXCERPT_INJECTION = "<b>畳み込み層</b> [i]3 層[/i]"
ATTRIBUTE_INJECTION = '" onerror="alert(3)'


def _check(id_: str, part: str, points: float, max_points: float, visibility: str,
           feedback: list[Feedback] | None = None, measured: str = "") -> CheckResult:
    return CheckResult(
        id=id_, part=part, title=Text(ja=f"{id_}: 日本語の題", en=f"{id_}: English title"),
        max_points=max_points, visibility=visibility, status=PASSED if points == max_points else FAILED,
        points=points, feedback=feedback or [], measured=measured)


def full_score_result() -> GradeResult:
    return GradeResult(
        submission="alice.ipynb", sha256="a" * 64, status=GRADED, score=16.0, max_score=16.0,
        checks=[_check("preprocess_dense", "A", 5, 5, "visible"),
                _check("to_one_hot", "A", 4, 4, "visible"),
                _check("dense_accuracy", "A", 7, 7, "hidden", measured="test accuracy 0.912")],
        deliverables=[Deliverable(id="architecture_explanation", title=Text(ja="モデルアーキテクチャの説明",
                                  en="Explanation of the model architecture"), status="present",
                                  excerpt="Conv2D を 2 層")],
        isolation={"network_blocked": True}, timings={"total": 20.0})


def failing_result() -> GradeResult:
    one_hot_feedback = Feedback(
        expected=Text(ja="形状 (3, 10) の One-hot 行列", en="a one-hot matrix of shape (3, 10)"),
        got=GOT_INJECTION,
        hint=Text(ja="np.eye(10)[labels] を使う", en="use np.eye(10)[labels]"))
    accuracy_feedback = Feedback(expected=Text(ja="精度 0.80 以上", en="accuracy of at least 0.80"),
                                 got="0.42", hint=Text(ja="エポック数を確認", en="check the epochs"))
    return GradeResult(
        submission="bob.ipynb", sha256="b" * 64, status=GRADED, score=10.0, max_score=21.0,
        checks=[_check("preprocess_dense", "A", 5, 5, "visible"),
                _check("to_one_hot", "A", 0, 4, "visible", [one_hot_feedback]),
                _check("dense_accuracy", "A", 0, 7, "hidden", [accuracy_feedback]),
                _check("cifar_accuracy", "C", 5, 5, "after_due_date")],
        deliverables=[
            Deliverable(id="architecture_explanation", title=Text(ja="モデルアーキテクチャの説明",
                        en="Explanation of the model architecture"), status="present", excerpt=EXCERPT_INJECTION),
            Deliverable(id="cross_validation_discussion", title=Text(ja="交差検証の考察",
                        en="Discussion of the cross-validation"), status="placeholder"),
            Deliverable(id="misclassification_analysis", title=Text(ja="誤分類の分析",
                        en="Analysis of misclassified images"), status="missing")],
        cell_errors=[CellError(cell=7, error_type="ValueError", message=CELL_INJECTION)],
        isolation={"network_blocked": True, "filesystem_readonly": False},
        timings={"worker": 12.34, "checks": 3.5},
        figures=[Figure(id="learning_curves", png_base64=PNG_1X1),
                 Figure(id="evil", png_base64=ATTRIBUTE_INJECTION),
                 Figure(id="gif_not_png", png_base64="R0lGODlhAQABAAAAACw="),
                 Figure(id="misclassified", png_base64=PNG_1X1[:40] + "\n" + PNG_1X1[40:])],
        worker_output_tail="[red]worker tail[/red]",
        student_id="s123", student_name="Bob")


def invalid_result() -> GradeResult:
    reason = Text(ja="ノートブックを JSON として読み込めません", en="The notebook is not valid JSON")
    return GradeResult(
        submission="broken.ipynb", sha256="c" * 64, status=INVALID_SUBMISSION, score=0.0, max_score=9.0,
        checks=[_check("preprocess_dense", "A", 0, 5, "visible"), _check("to_one_hot", "A", 0, 4, "visible")],
        reason=reason)


def terminal_text(result: GradeResult, lang: str) -> str:
    console = Console(record=True, width=120, file=io.StringIO())
    render_terminal(result, lang=lang, console=console)
    return console.export_text()


# ---- terminal ---------------------------------------------------------------------------------

def test_terminal_full_score_shows_score_and_all_passed() -> None:
    text = terminal_text(full_score_result(), "ja")
    assert "16/16" in text
    assert "alice.ipynb" in text
    assert "採点済み" in text
    assert "すべての項目に合格しました。" in text
    assert "✗" not in text


def test_terminal_shows_what_was_measured_for_a_passed_check() -> None:
    text = terminal_text(full_score_result(), "en")
    row = next(line for line in text.splitlines() if "dense_accuracy" in line)
    assert "test accuracy 0.912" in row and "✓" in row


def test_terminal_failing_japanese_feedback_and_literal_injection() -> None:
    text = terminal_text(failing_result(), "ja")
    assert "10/21" in text
    assert "0/4" in text
    assert "期待: 形状 (3, 10) の One-hot 行列" in text
    assert f"実際: {GOT_INJECTION}" in text
    assert "ヒント: np.eye(10)[labels] を使う" in text
    assert "Expected" not in text
    # Checks students do not see are marked for the instructor.
    assert "dense_accuracy: 日本語の題 (非公開)" in text
    assert "cifar_accuracy: 日本語の題 (締切後に公開)" in text
    assert "preprocess_dense: 日本語の題 (" not in text


def test_terminal_failing_english_feedback() -> None:
    text = terminal_text(failing_result(), "en")
    assert "Expected: a one-hot matrix of shape (3, 10)" in text
    assert f"Got: {GOT_INJECTION}" in text
    assert "Hint: use np.eye(10)[labels]" in text
    assert "to_one_hot: English title" in text
    assert "期待" not in text


def test_terminal_sections_cell_errors_deliverables_isolation_timings() -> None:
    text = terminal_text(failing_result(), "ja")
    assert "ValueError" in text
    assert CELL_INJECTION in text
    assert EXCERPT_INJECTION in text
    assert "[red]worker tail[/red]" in text
    assert "提出あり" in text
    assert "未記入（テンプレートのまま）" in text
    assert "見つかりません" in text
    assert "✓ network_blocked" in text
    assert "✗ filesystem_readonly" in text
    assert "12.3 s" in text
    assert "s123 Bob" in text


def test_terminal_invalid_submission_shows_reason() -> None:
    text = terminal_text(invalid_result(), "ja")
    assert "採点できませんでした" in text
    assert "ノートブックを JSON として読み込めません" in text
    assert "提出物を読み込めません" in text
    assert "0/9" in text
    text_en = terminal_text(invalid_result(), "en")
    # Once, in the reason panel: the checks it failed are not each repeating it.
    assert text_en.count("The notebook is not valid JSON") == 1


def test_terminal_without_colour_has_no_escape_codes() -> None:
    buffer = io.StringIO()  # not a TTY: what a pipe gets
    render_terminal(failing_result(), lang="en", console=Console(file=buffer, width=120))
    assert "\x1b[" not in buffer.getvalue()
    assert "10/21" in buffer.getvalue()


def test_terminal_rejects_unknown_language() -> None:
    with pytest.raises(ValueError):
        render_terminal(full_score_result(), lang="jp", console=Console(file=io.StringIO()))


# ---- student view -----------------------------------------------------------------------------

def test_for_students_keeps_only_visible_checks() -> None:
    original = failing_result()
    view = for_students(original)
    assert [check.id for check in view.checks] == ["preprocess_dense", "to_one_hot"]
    assert view.score == 5
    assert view.max_score == 9
    assert view.worker_output_tail == ""
    assert view.cell_errors == [CellError(cell=7, error_type="ValueError", message=CELL_INJECTION)]
    assert [d.status for d in view.deliverables] == ["present", "placeholder", "missing"]
    assert view.timings == {"worker": 12.34}  # the grader's own steps would tell of hidden checks
    # The instructor's result is untouched.
    assert len(original.checks) == 4
    assert original.timings == {"worker": 12.34, "checks": 3.5}
    assert original.max_score == 21.0
    assert original.worker_output_tail == "[red]worker tail[/red]"


# ---- Gradescope -------------------------------------------------------------------------------

def test_gradescope_keys_scores_statuses_visibilities() -> None:
    data = gradescope_results(failing_result())
    assert set(data) == {"score", "output", "output_format", "test_output_format", "test_name_format",
                         "visibility", "stdout_visibility", "tests"}
    assert data["score"] == 10.0
    assert data["visibility"] == "visible"
    assert data["stdout_visibility"] == "hidden"
    assert (data["output_format"], data["test_output_format"], data["test_name_format"]) == ("text", "text", "text")
    for test in data["tests"]:
        assert set(test) == {"name", "score", "max_score", "status", "output", "visibility"}
    assert sum(test["max_score"] for test in data["tests"]) == 21
    assert [test["score"] for test in data["tests"]] == [5, 0, 0, 5]
    assert [test["status"] for test in data["tests"]] == ["passed", "failed", "failed", "passed"]
    assert [test["visibility"] for test in data["tests"]] == ["visible", "visible", "hidden", "after_due_date"]
    json.loads(json.dumps(data))


def test_gradescope_test_output_japanese_first_then_english() -> None:
    test = gradescope_results(failing_result())["tests"][1]
    assert test["name"] == "to_one_hot: 日本語の題 / to_one_hot: English title"
    output = test["output"]
    assert "期待: 形状 (3, 10) の One-hot 行列" in output
    assert "Expected: a one-hot matrix of shape (3, 10)" in output
    assert output.index("期待") < output.index("Expected")
    assert f"実際: {GOT_INJECTION}" in output
    assert "Hint: use np.eye(10)[labels]" in output


def test_gradescope_passed_test_shows_what_was_measured() -> None:
    tests = {t["name"].split(":")[0]: t for t in gradescope_results(full_score_result())["tests"]}
    assert "(test accuracy 0.912)" in tests["dense_accuracy"]["output"]
    assert "(" not in tests["to_one_hot"]["output"]


def test_gradescope_deliverables_are_information_not_tests() -> None:
    data = gradescope_results(failing_result())
    assert len(data["tests"]) == 4
    assert "モデルアーキテクチャの説明: 提出あり" in data["output"]
    assert "誤分類の分析: 見つかりません" in data["output"]
    assert "セル 7: ValueError" in data["output"]
    assert "Analysis of misclassified images: missing" in gradescope_results(failing_result(), lang="en")["output"]


def test_gradescope_failed_grading_has_reason_in_both_languages() -> None:
    data = gradescope_results(invalid_result())
    assert data["score"] == 0.0
    assert "ノートブックを JSON として読み込めません" in data["output"]
    assert "The notebook is not valid JSON" in data["output"]
    assert [test["status"] for test in data["tests"]] == ["failed", "failed"]
    assert sum(test["max_score"] for test in data["tests"]) == 9
    # Checks failed by the failed grading explain themselves with the reason.
    assert "The notebook is not valid JSON" in data["tests"][0]["output"]


def test_gradescope_unknown_visibility_becomes_hidden() -> None:
    result = full_score_result()
    result.checks = [_check("typo", "A", 5, 5, "hiden")]
    assert gradescope_results(result)["tests"][0]["visibility"] == "hidden"


def test_write_gradescope_results_writes_utf8_json(tmp_path) -> None:
    path = tmp_path / "results.json"
    path.write_text("old", encoding="utf-8")
    write_gradescope_results(failing_result(), path)
    data = json.loads(path.read_text(encoding="utf-8"))
    assert data["tests"][1]["name"] == "to_one_hot: 日本語の題 / to_one_hot: English title"
    assert "日本語の題" in path.read_text(encoding="utf-8")  # not \u-escaped
    assert sorted(p.name for p in tmp_path.iterdir()) == ["results.json"]


# ---- HTML -------------------------------------------------------------------------------------

VOID_ELEMENTS = {"meta", "img", "br", "hr", "link", "input", "source", "wbr", "col", "area", "base"}


class _Walker(HTMLParser):
    """Collects tags and attributes and checks that every element is closed in order."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.tags: list[str] = []
        self.attrs: list[tuple[str, str, str | None]] = []
        self.captions: list[str] = []
        self._in_caption = False

    def handle_starttag(self, tag, attrs) -> None:
        self.tags.append(tag)
        self.attrs.extend((tag, name, value) for name, value in attrs)
        if tag not in VOID_ELEMENTS:
            self.stack.append(tag)
        self._in_caption = tag == "figcaption"

    def handle_endtag(self, tag) -> None:
        assert self.stack and self.stack[-1] == tag, f"</{tag}> closes {self.stack[-1:]}"
        self.stack.pop()
        self._in_caption = False

    def handle_data(self, data) -> None:
        if self._in_caption:
            self.captions.append(data)


def walk(page: str) -> _Walker:
    walker = _Walker()
    walker.feed(page)
    walker.close()
    assert walker.stack == []
    return walker


def test_html_escapes_student_strings_and_parses() -> None:
    page = render_feedback_html(failing_result())
    walker = walk(page)
    assert "script" not in walker.tags
    assert "<script" not in page.lower()
    assert "&lt;script&gt;alert(1)&lt;/script&gt; [bold red]x[/]" in page
    assert "&lt;img src=x onerror=alert(2)&gt;" in page
    assert "&lt;b&gt;畳み込み層&lt;/b&gt;" in page
    assert ATTRIBUTE_INJECTION not in page
    assert not any(name.startswith("on") for _, name, _ in walker.attrs)


def test_html_shows_score_checks_feedback_and_sections() -> None:
    page = render_feedback_html(failing_result())
    assert '<html lang="ja">' in page
    assert '<span class="value">10</span><span class="max">/21</span>' in page
    assert "0/4" in page
    assert "形状 (3, 10) の One-hot 行列" in page
    assert "a one-hot matrix of shape (3, 10)" in page
    assert page.index("np.eye(10)[labels] を使う") < page.index("use np.eye(10)[labels]")
    assert "未記入（テンプレートのまま）" in page
    assert page.count('<span class="tag">') == 2
    assert '<span class="tag">非公開 <span class="en" lang="en">hidden</span></span>' in page
    assert "network_blocked" in page and "filesystem_readonly" in page
    assert "12.3 s" in page


def test_html_embeds_only_valid_png_figures_as_data_uris() -> None:
    walker = walk(render_feedback_html(failing_result()))
    sources = [value for tag, name, value in walker.attrs if tag == "img" and name == "src"]
    assert sources == [f"data:image/png;base64,{PNG_1X1}", f"data:image/png;base64,{PNG_1X1}"]
    assert walker.captions == ["learning_curves", "misclassified"]


def test_html_shows_what_was_measured() -> None:
    page = render_feedback_html(full_score_result())
    assert '<span class="measured">test accuracy 0.912</span>' in page


def test_html_is_self_contained() -> None:
    walker = walk(render_feedback_html(failing_result()))
    assert "link" not in walker.tags and "script" not in walker.tags
    for tag, name, value in walker.attrs:
        if name in ("src", "href"):
            assert value is not None and value.startswith("data:"), (tag, name, value)


def test_html_invalid_submission_shows_reason() -> None:
    page = render_feedback_html(invalid_result())
    walk(page)
    assert 'role="alert"' in page
    assert "ノートブックを JSON として読み込めません" in page
    assert page.count("The notebook is not valid JSON") == 1
    assert '<span class="value">0</span><span class="max">/9</span>' in page


def test_write_feedback_html(tmp_path) -> None:
    path = tmp_path / "feedback.html"
    write_feedback_html(full_score_result(), path)
    page = path.read_text(encoding="utf-8")
    assert '<span class="value">16</span><span class="max">/16</span>' in page
    assert sorted(p.name for p in tmp_path.iterdir()) == ["feedback.html"]


# ---- JSON -------------------------------------------------------------------------------------

@pytest.mark.parametrize("make", [full_score_result, failing_result, invalid_result])
def test_json_round_trip(make) -> None:
    result = make()
    assert result_from_dict(json.loads(result.to_json())) == result


def test_json_written_before_measured_existed_still_loads() -> None:
    data = json.loads(full_score_result().to_json())
    for check in data["checks"]:
        del check["measured"]
    assert [c.measured for c in result_from_dict(data).checks] == ["", "", ""]


def test_write_json_round_trip(tmp_path) -> None:
    path = tmp_path / "result.json"
    write_json(failing_result(), path)
    data = json.loads(path.read_text(encoding="utf-8"))
    assert data["checks"][1]["feedback"][0]["got"] == GOT_INJECTION
    assert result_from_dict(data) == failing_result()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["result.json"]


def test_grader_error_still_shows_feedback_of_checks_that_ran() -> None:
    result = invalid_result()
    result.status = "grader_error"
    result.reason = Text(ja="ワーカーが時間切れ", en="The worker timed out")
    result.checks = [_check("preprocess_dense", "A", 0, 5, "visible", [Feedback(
        expected=Text(ja="形状 (N, 784)", en="shape (N, 784)"), got="(N, 28, 28)",
        hint=Text(ja="reshape を使う", en="use reshape"))]), _check("to_one_hot", "A", 0, 4, "visible")]
    text = terminal_text(result, "en")
    assert "Got: (N, 28, 28)" in text
    assert "to_one_hot: English title  (0/4)" not in text
    page = render_feedback_html(result)
    assert "(N, 28, 28)" in page
    assert "採点システムのエラー" in page



# ---- text from a submission never reaches a screen raw ------------------------------------------

# What a notebook printed in the attack that cleared the instructor's terminal and scrollback, set
# the window title and painted a green full score over the real one; plus a carriage return that
# overwrites the line, the 8-bit CSI, a right-to-left override ("exe.png" shown as "gnp.exe"), a
# zero-width space, rich markup and a spreadsheet formula.
HOSTILE = ("\x1b[2J\x1b[3J\x1b[H\x1b]0;owned\x07\x1b[1;32mScore: 100/100\x1b[0m\roverwritten "
           "\x9b2J \u202egnp.exe\u200b [bold green]Score: 100/100[/] ")
FORMULA = '=HYPERLINK("http://evil.example/","click")'
# Each character below lets text act instead of being read; none may reach a report raw.
RAW_CONTROLS = {"ESC": "\x1b", "BEL": "\x07", "CR": "\r", "CSI (8-bit)": "\x9b", "RLO": "\u202e",
                "ZWSP": "\u200b"}
RICH_MARKUP = "[bold green]Score: 100/100[/]"


def hostile(tag: str) -> str:
    """A hostile string naming where it was put, so a failing assertion says which field leaked."""
    return f"{tag}: {HOSTILE}"


def hostile_result() -> GradeResult:
    """A result in which every string a submission or an LMS export can influence is hostile."""
    feedback = Feedback(expected=Text(ja="形状 (3, 10)", en="shape (3, 10)"), got=hostile("got"),
                        hint=Text(ja="np.eye を使う", en="use np.eye"))
    return GradeResult(
        submission=f"{FORMULA}{hostile('submission')}.ipynb", sha256="d" * 64, status=GRADED, score=5.0,
        max_score=16.0,
        checks=[_check("preprocess_dense", "A", 5, 5, "visible", measured=hostile("measured")),
                _check("to_one_hot", "A", 0, 4, "visible", [feedback]),
                _check("dense_accuracy", "A", 0, 7, "hidden", [feedback])],
        deliverables=[Deliverable(id="architecture_explanation", title=Text(ja="説明", en="Explanation"),
                                  status="present", excerpt=hostile("excerpt"))],
        cell_errors=[CellError(cell=3, error_type=hostile("error_type"), message=hostile("message"))],
        figures=[Figure(id=hostile("figure"), png_base64=PNG_1X1)],
        reason=None, worker_output_tail=hostile("worker output"),
        student_id=f"{FORMULA}{hostile('student_id')}", student_name=f"+{hostile('student_name')}",
        integrity=[IntegrityFlag(TAMPERING, ("to_one_hot",), hostile("integrity detail"))])


def hostile_entry(result: GradeResult) -> GradebookEntry:
    submission = Submission(student_id=result.student_id, name=result.student_name,
                            path=Path(f"/export/{FORMULA}\x1b[2J.ipynb"), late=False,
                            chosen_from=[Path(f"/export/{FORMULA}\x1b[2J.ipynb"), Path("/export/\u202eold.ipynb")],
                            lms_ids={"canvas_user_id": f"@{HOSTILE}", "canvas_attachment_id": "-1",
                                     "moodle_participant_id": f"1\x9b{HOSTILE}"})
    return GradebookEntry(submission=submission, result=result, file=f"-{hostile('file')}", graded_at=0.0)


def assert_no_raw_controls(text: str, where: str) -> None:
    for name, char in RAW_CONTROLS.items():
        assert char not in text, f"{name} reached the {where} raw"


def all_strings(value) -> list[str]:
    """Every string inside a JSON-like value (dict keys included)."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for key, item in value.items() for s in (*all_strings(key), *all_strings(item))]
    if isinstance(value, (list, tuple)):
        return [s for item in value for s in all_strings(item)]
    return []


def class_summary(entries: list[GradebookEntry]) -> ClassSummary:
    return ClassSummary(
        title=Text(ja="課題", en="Assignment"), layout="plain", layout_detected=True,
        input_name=f"{HOSTILE}.zip", entries=entries,
        checks=[CheckInfo("preprocess_dense", Text(ja="前処理", en="preprocessing"), 5),
                CheckInfo("to_one_hot", Text(ja="One-hot", en="one-hot"), 4),
                CheckInfo("dense_accuracy", Text(ja="精度", en="accuracy"), 7)],
        max_score=16, feedback_links={})


def test_clean_writes_every_acting_character_as_its_escape() -> None:
    assert clean("a\x1b[2Jb") == "a\\x1b[2Jb"
    assert clean("\x9b31m") == "\\x9b31m"
    assert clean("\u202egnp.exe") == "\\u202egnp.exe"
    assert clean("x\u200by\ufeffz\u2028") == "x\\u200by\\ufeffz\\u2028"
    assert clean("\x07\x00\x7f") == "\\x07\\x00\\x7f"
    assert clean("tag \U000e0041") == "tag \\U000e0041"
    assert clean("a\rb") == "a\\rb"
    assert clean("lone \udc80 surrogate") == "lone \\udc80 surrogate"


def test_clean_keeps_layout_only_where_the_text_may_span_lines() -> None:
    assert clean("line 1\r\nline 2\n\tindented") == "line 1\nline 2\n\tindented"
    assert clean_line("line 1\r\nline 2\n\tindented") == "line 1\\r\\nline 2\\n\\tindented"
    text = "精度: 0.91 — [bold]x[/] <b>&amp; 'quoted' ✓ 😀"
    assert clean(text) == text and clean_line(text) == text


def test_json_escapes_keep_the_data_and_hide_the_characters() -> None:
    data = {"tail": HOSTILE + "\u2029日本語"}
    raw = json.dumps(data, ensure_ascii=False)
    assert "\u202e" in raw and "\x9b" in raw  # what json.dumps leaves raw, and must not
    escaped = json_escape_unsafe(raw)
    assert_no_raw_controls(escaped, "JSON")
    assert "\u2029" not in escaped and "日本語" in escaped
    assert json.loads(escaped) == data


@pytest.mark.parametrize("lang", ["ja", "en"])
@pytest.mark.parametrize("view", ["instructor", "student"])
def test_terminal_shows_hostile_text_inert(lang: str, view: str) -> None:
    result = hostile_result() if view == "instructor" else for_students(hostile_result())
    # A real terminal: rich writes its own colour codes, so look for the hostile sequences themselves.
    tty = io.StringIO()
    render_terminal(result, lang=lang, console=Console(file=tty, width=200, force_terminal=True,
                                                       color_system="truecolor"))
    for sequence in ("\x1b[2J", "\x1b[3J", "\x1b[H", "\x1b]0;", "\x1b[1;32m"):
        assert sequence not in tty.getvalue()
    for name in ("BEL", "CR", "CSI (8-bit)", "RLO", "ZWSP"):
        assert RAW_CONTROLS[name] not in tty.getvalue(), name
    # A pipe: no escape at all, and the markup shown as the characters it is made of.
    pipe = Console(file=io.StringIO(), width=500, record=True)  # wide enough that no field wraps
    render_terminal(result, lang=lang, console=pipe)
    text = pipe.export_text()
    assert_no_raw_controls(text, "terminal")
    assert RICH_MARKUP in text
    assert "\\x1b[2J" in text and "\\u202egnp.exe" in text  # shown, not dropped: the instructor sees the attempt
    for tag in ("submission", "got", "message", "error_type", "excerpt", "student_name"):
        assert f"{tag}: \\x1b[2J" in text, tag


def test_terminal_worker_output_and_integrity_detail_are_inert() -> None:
    text = terminal_text(hostile_result(), "en")
    assert "worker output: \\x1b[2J" in text
    assert "integrity detail: \\x1b[2J" in text


def test_html_pages_show_hostile_text_inert() -> None:
    for view in (hostile_result(), for_students(hostile_result())):
        page = render_feedback_html(view)
        walk(page)
        assert_no_raw_controls(page, "feedback page")
        assert "got: \\x1b[2J" in page and "\\u202egnp.exe" in page
    summary = render_summary_html(class_summary([hostile_entry(hostile_result())]))
    walk(summary)
    assert_no_raw_controls(summary, "class summary")
    assert "integrity detail: \\x1b[2J" in summary


def test_gradescope_strings_are_inert() -> None:
    data = gradescope_results(hostile_result())
    for text in all_strings(data):
        assert_no_raw_controls(text, "Gradescope results")
    assert any("got: \\x1b[2J" in test["output"] for test in data["tests"])
    assert "message: \\x1b[2J" in data["output"]


def test_gradescope_cell_error_lines_cannot_pass_for_summary_lines() -> None:
    result = hostile_result()
    result.cell_errors = [CellError(cell=1, error_type="ValueError", message="bad\nStatus: all passed")]
    output = gradescope_results(result, lang="en")["output"]
    assert "\nStatus: all passed" not in output
    assert "\n    Status: all passed" in output


def test_json_outputs_are_inert_and_lossless(tmp_path) -> None:
    result = hostile_result()
    text = render_json(result)
    assert_no_raw_controls(text, "JSON")
    assert result_from_dict(json.loads(text)) == result
    path = tmp_path / "result.json"
    write_json(result, path)
    written = path.read_text(encoding="utf-8")
    assert_no_raw_controls(written, "JSON file")
    # The worker output stays complete in the JSON: the raw material for an investigation.
    assert json.loads(written)["worker_output_tail"] == hostile("worker output")


def test_gradebooks_are_inert_and_run_no_formula(tmp_path) -> None:
    entries = [hostile_entry(hostile_result())]
    files = [write_grades_csv(tmp_path / "grades.csv", entries, "canvas", ["preprocess_dense", "to_one_hot"]),
             write_canvas_csv(tmp_path / "canvas.csv", entries, "canvas", "CNN I", 16),
             write_moodle_csv(tmp_path / "moodle.csv", entries, 16)]
    for path in files:
        raw = path.read_text(encoding="utf-8-sig")
        assert_no_raw_controls(raw.replace("\r\n", "\n"), path.name)
        rows = list(csv.reader(io.StringIO(raw, newline="")))
        cells = [cell for row in rows[1:] for cell in row]
        assert not any(cell.startswith(("=", "+", "-", "@")) for cell in cells), (path.name, cells)
        assert all("\n" not in cell for cell in cells), path.name
    grades = list(csv.DictReader(open(files[0], encoding="utf-8-sig", newline="")))
    assert grades[0]["student_id"].startswith("'=HYPERLINK(")
    assert grades[0]["file"].startswith("'-file: \\x1b[2J")


def test_csv_full_width_formula_signs_are_quoted_too(tmp_path) -> None:
    result = dataclasses.replace(hostile_result(), integrity=[])
    entry = hostile_entry(result)
    entry = dataclasses.replace(entry, submission=dataclasses.replace(entry.submission, name="＝1+1"))
    path = write_grades_csv(tmp_path / "grades.csv", [entry], "plain", [])
    [row] = list(csv.DictReader(open(path, encoding="utf-8-sig", newline="")))
    assert row["name"] == "'＝1+1"


# ---- TensorFlow's start-up noise ----------------------------------------------------------------

# Copied from a real worker's output (TensorFlow 2.21 on a machine without a GPU).
TF_START_UP = """\
WARNING: All log messages before absl::InitializeLog() is called are written to STDERR
I0000 00:00:1796312451.482582       2 port.cc:153] oneDNN custom operations are on. You may see slightly \
different numerical results due to floating-point round-off errors from different computation orders. To turn \
them off, set the environment variable `TF_ENABLE_ONEDNN_OPTS=0`.
I0000 00:00:1796312451.482884       2 cudart_stub.cc:31] Could not find cuda drivers on your machine, GPU will \
not be used.
/work/main/.venv/lib/python3.11/site-packages/joblib/_multiprocessing_helpers.py:44: UserWarning: [Errno 13] \
Permission denied.  joblib will operate in serial mode
  warnings.warn("%s.  joblib will operate in serial mode" % (e,))
I0000 00:00:1796312282.796730    6714 cpu_feature_guard.cc:227] This TensorFlow binary is optimized to use \
available CPU instructions in performance-critical operations.
To enable the following instructions: AVX2 AVX512F FMA, in other operations, rebuild TensorFlow with the \
appropriate compiler flags.
2024-03-01 10:00:00.123456: E external/local_xla/xla/stream_executor/cuda/cuda_dnn.cc:9261] Unable to register \
cuDNN factory
"""
STUDENT_OUTPUT = """\
x_train: (500, 784) float32
/tmp/work/notebook.py:3: UserWarning: my own warning
  warnings.warn("my own warning")
I love CNNs: 0.91
"""


def test_without_noise_keeps_only_what_the_notebook_printed() -> None:
    assert without_noise(TF_START_UP + STUDENT_OUTPUT + TF_START_UP) == STUDENT_OUTPUT


def test_terminal_worker_output_leaves_the_noise_out_and_json_keeps_it() -> None:
    result = dataclasses.replace(failing_result(), worker_output_tail=TF_START_UP + STUDENT_OUTPUT)
    text = terminal_text(result, "en")
    for marker in ("absl::InitializeLog", "oneDNN", "cudart_stub", "cuda drivers", "joblib", "cpu_feature_guard",
                   "rebuild TensorFlow", "cuDNN"):
        assert marker not in text, marker
    assert "x_train: (500, 784) float32" in text and "I love CNNs: 0.91" in text
    assert "my own warning" in text
    assert json.loads(render_json(result))["worker_output_tail"] == TF_START_UP + STUDENT_OUTPUT


def test_terminal_has_no_worker_panel_when_the_output_was_only_noise() -> None:
    result = dataclasses.replace(failing_result(), worker_output_tail=TF_START_UP)
    assert "Worker output" not in terminal_text(result, "en")


# ---- integrity flags in every report ------------------------------------------------------------

TAMPERING_DETAIL = "the fit records in out/ were rewritten after training"
UNVERIFIED_DETAIL = "dense_accuracy: the returned weights could not be reproduced"


def flagged_result() -> GradeResult:
    return dataclasses.replace(failing_result(), integrity=[
        IntegrityFlag(TAMPERING, ("to_one_hot",), TAMPERING_DETAIL),
        IntegrityFlag(UNVERIFIED, ("dense_accuracy",), UNVERIFIED_DETAIL)])


def test_terminal_shows_flags_in_a_panel_above_the_score() -> None:
    text = terminal_text(flagged_result(), "en")
    assert text.index("Flagged for the instructor's review") < text.index("Score: 10/21")
    assert TAMPERING_DETAIL in text and UNVERIFIED_DETAIL in text
    assert "tampering with the grader's instruments or records" in text
    assert "Checks affected: to_one_hot" in text
    japanese = terminal_text(flagged_result(), "ja")
    assert japanese.index("教員の確認が必要です") < japanese.index("得点: 10/21")


def test_terminal_without_flags_has_no_integrity_panel() -> None:
    assert "review" not in terminal_text(failing_result(), "en")


def test_student_view_says_flagged_but_not_how() -> None:
    view = for_students(flagged_result())
    text = terminal_text(view, "en")
    assert "This submission was flagged for the instructor's review." in text
    assert "Checks affected: to_one_hot" in text
    for secret in (TAMPERING_DETAIL, UNVERIFIED_DETAIL, "tampering", "could not confirm", "dense_accuracy"):
        assert secret not in text, secret
    as_json = render_json(view)
    for secret in (TAMPERING_DETAIL, UNVERIFIED_DETAIL, "tampering", "unverified", "dense_accuracy"):
        assert secret not in as_json, secret
    # The instructor's result keeps its flags.
    assert len(flagged_result().integrity) == 2


def test_html_shows_flags_first_and_only_the_note_to_students() -> None:
    page = render_feedback_html(flagged_result())
    walk(page)
    assert 'class="integrity" role="alert"' in page
    assert page.index("class=\"integrity\"") < page.index("<header>")
    assert TAMPERING_DETAIL in page and UNVERIFIED_DETAIL in page
    student_page = render_feedback_html(for_students(flagged_result()))
    assert "This submission was flagged for the instructor&#x27;s review." in student_page
    assert TAMPERING_DETAIL not in student_page and "tampering" not in student_page
    assert 'class="integrity"' not in render_feedback_html(failing_result())


def test_gradescope_tells_students_and_keeps_the_detail_for_instructors() -> None:
    data = gradescope_results(flagged_result(), lang="en")
    assert data["output"].startswith("⚠")
    assert "This submission was flagged for the instructor's review." in data["output"]
    tests = {test["name"].split(":")[0]: test for test in data["tests"]}
    assert "This check was flagged for the instructor's review." in tests["to_one_hot"]["output"]
    assert "flagged" not in tests["preprocess_dense"]["output"]
    [review] = [test for test in data["tests"] if "instructor only" in test["name"]]
    assert review["visibility"] == "hidden" and review["max_score"] == 0 and review["score"] == 0
    assert TAMPERING_DETAIL in review["output"] and UNVERIFIED_DETAIL in review["output"]
    shown_to_students = [data["output"]] + [t["output"] for t in data["tests"] if t["visibility"] != "hidden"]
    for text in shown_to_students:
        assert TAMPERING_DETAIL not in text and "tampering" not in text
    assert sum(test["max_score"] for test in data["tests"]) == 21
    assert "instructor only" not in json.dumps(gradescope_results(failing_result()))


def flagged_entries() -> list[GradebookEntry]:
    def entry(student_id: str, result: GradeResult) -> GradebookEntry:
        submission = Submission(student_id=student_id, name=f"name {student_id}", path=Path(f"/x/{student_id}.ipynb"),
                                late=False, chosen_from=[Path(f"/x/{student_id}.ipynb")],
                                lms_ids={"moodle_participant_id": student_id})
        return GradebookEntry(submission=submission, result=result, file=f"{student_id}.ipynb", graded_at=0.0)
    return [entry("1001", flagged_result()), entry("1002", failing_result())]


def test_grades_csv_has_an_integrity_column(tmp_path) -> None:
    path = write_grades_csv(tmp_path / "grades.csv", flagged_entries(), "plain", ["to_one_hot"])
    rows = {row["student_id"]: row for row in csv.DictReader(open(path, encoding="utf-8-sig", newline=""))}
    assert rows["1002"]["integrity"] == ""
    flag = rows["1001"]["integrity"]
    assert "tampering" in flag and "to_one_hot" in flag and TAMPERING_DETAIL in flag
    assert "unverified" in flag and UNVERIFIED_DETAIL in flag


def test_canvas_csv_stays_an_importable_gradebook(tmp_path) -> None:
    path = write_canvas_csv(tmp_path / "canvas.csv", flagged_entries(), "moodle", "CNN I (42)", 21)
    rows = list(csv.reader(open(path, encoding="utf-8", newline="")))
    assert rows[0] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "CNN I (42)"]
    assert all(len(row) == 6 for row in rows)
    assert TAMPERING_DETAIL not in path.read_text(encoding="utf-8")


def test_moodle_worksheet_has_a_flag_column_and_tells_the_student(tmp_path) -> None:
    path = write_moodle_csv(tmp_path / "moodle.csv", flagged_entries(), 21)
    rows = list(csv.reader(open(path, encoding="utf-8", newline="")))
    header = rows[0]
    # The columns Moodle's importer looks for are still there, by name.
    assert {"Identifier", "Grade", "Last modified (grade)", "Feedback comments"} <= set(header)
    by_id = {row[0]: dict(zip(header, row)) for row in rows[1:]}
    assert TAMPERING_DETAIL in by_id["Participant 1001"]["Autograder integrity flag"]
    assert by_id["Participant 1002"]["Autograder integrity flag"] == ""
    comment = by_id["Participant 1001"]["Feedback comments"]
    assert "flagged for the instructor" in comment and TAMPERING_DETAIL not in comment
    assert "flagged" not in by_id["Participant 1002"]["Feedback comments"]


def test_summary_page_counts_and_lists_flagged_students() -> None:
    page = render_summary_html(class_summary(flagged_entries()))
    walk(page)
    overview = page[page.index("id='overview'"):page.index("</table>", page.index("id='overview'"))]
    flagged_row = overview[overview.index("Flagged for review"):]
    assert ">1<" in flagged_row[:120]
    flags = page[page.index("id='integrity'"):]
    flags = flags[:flags.index("</table>")]
    assert "1001" in flags and "1002" not in flags
    assert TAMPERING_DETAIL in flags and UNVERIFIED_DETAIL in flags
    assert "id='integrity'" not in render_summary_html(class_summary(flagged_entries()[1:]))
