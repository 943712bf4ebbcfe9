"""Tests of the report writers (terminal, Gradescope, HTML, JSON) on hand-built results; no TensorFlow."""

from __future__ import annotations

import io
import json
from html.parser import HTMLParser

import pytest
from rich.console import Console

from grader.reports import for_students
from grader.reports.gradescope import gradescope_results, write_gradescope_results
from grader.reports.html import render_feedback_html, write_feedback_html
from grader.reports.json_report import write_json
from grader.reports.terminal import render_terminal
from grader.results import (FAILED, GRADED, INVALID_SUBMISSION, PASSED, CellError, CheckResult, Deliverable,
                            Feedback, Figure, GradeResult, Text, result_from_dict)

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
        timings={"execute": 12.34, "checks": 3.5},
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
    # The instructor's result is untouched.
    assert len(original.checks) == 4
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
