"""Labels, number formatting and the atomic file write shared by the report writers."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from grader.results import (GRADED, GRADER_ERROR, INVALID_SUBMISSION, TAMPERING, UNVERIFIED, IntegrityFlag,
                            Text)

LANGS = ("ja", "en")

COURSE_TITLE = Text(ja="深層学習③ CNN I 課題", en="Deep Learning 3: CNN I assignment")

STATUS_LABELS = {
    GRADED: Text(ja="採点済み", en="Graded"),
    INVALID_SUBMISSION: Text(ja="提出物を読み込めません", en="Invalid submission"),
    GRADER_ERROR: Text(ja="採点システムのエラー", en="Grader error"),
}

DELIVERABLE_LABELS = {
    "present": Text(ja="提出あり", en="present"),
    "placeholder": Text(ja="未記入（テンプレートのまま）", en="placeholder (template text unchanged)"),
    "missing": Text(ja="見つかりません", en="missing"),
}

# How a check that students do not see right away is marked in the instructor's reports.
VISIBILITY_LABELS = {
    "hidden": Text(ja="非公開", en="hidden"),
    "after_due_date": Text(ja="締切後に公開", en="shown after the due date"),
    "after_published": Text(ja="成績公開後に公開", en="shown once grades are published"),
}

# How each grading mode is named in the reports (GradeResult.mode).
MODE_LABELS = {
    "contract": Text(ja="テンプレート（関数の仕様どおり）", en="template (the function contract)"),
    "free": Text(ja="自由形式（ノートブックの処理を追跡）", en="free-form (the notebook's work, traced)"),
}


def mode_label(mode: str) -> Text:
    return MODE_LABELS.get(mode, Text(ja=mode, en=mode))


# Labels of the report sections, one place so the terminal, HTML and Gradescope texts agree.
LABELS = {
    "report": Text(ja="採点結果", en="Grading report"),
    "submission": Text(ja="提出物", en="Submission"),
    "student": Text(ja="学生", en="Student"),
    "status": Text(ja="状態", en="Status"),
    "mode": Text(ja="採点モード", en="Mode"),
    "score": Text(ja="得点", en="Score"),
    "checks": Text(ja="自動採点の項目", en="Automatic checks"),
    "part": Text(ja="パート", en="Part"),
    "check": Text(ja="項目", en="Check"),
    "points": Text(ja="点数", en="Points"),
    "result": Text(ja="結果", en="Result"),
    "passed": Text(ja="合格", en="passed"),
    "failed": Text(ja="不合格", en="failed"),
    "feedback": Text(ja="フィードバック", en="Feedback"),
    "expected": Text(ja="期待", en="Expected"),
    "got": Text(ja="実際", en="Got"),
    "hint": Text(ja="ヒント", en="Hint"),
    "no_detail": Text(ja="詳細はありません。", en="No details."),
    "all_passed": Text(ja="すべての項目に合格しました。", en="All checks passed."),
    "cell_errors": Text(ja="ノートブックのセルのエラー", en="Errors in notebook cells"),
    "cell": Text(ja="セル", en="Cell"),
    "error_type": Text(ja="エラーの種類", en="Error type"),
    "message": Text(ja="メッセージ", en="Message"),
    "no_cell_errors": Text(ja="エラーはありません。", en="No errors."),
    "deliverables": Text(ja="手動採点の成果物", en="Hand-graded deliverables"),
    "deliverables_note": Text(ja="これらは教員が採点します（自動採点の点数には含まれません）。",
                              en="The instructor grades these by hand (not part of the automatic score)."),
    "figures": Text(ja="図", en="Figures"),
    "isolation": Text(ja="隔離措置", en="Isolation measures"),
    "timings": Text(ja="所要時間", en="Timings"),
    "reason": Text(ja="採点できませんでした", en="The submission could not be graded"),
    "worker_output": Text(ja="ワーカー出力（末尾）", en="Worker output (tail)"),
    "integrity": Text(ja="教員の確認が必要です", en="Flagged for the instructor's review"),
    "integrity_note": Text(ja="この提出物には教員が確認するためのフラグが付いています。",
                           en="This submission was flagged for the instructor's review."),
    "integrity_check_note": Text(ja="この項目には教員が確認するためのフラグが付いています。",
                                 en="This check was flagged for the instructor's review."),
    "integrity_checks": Text(ja="対象の項目", en="Checks affected"),
    "integrity_detail": Text(ja="詳細（英語）", en="Detail"),
}

# What each kind of integrity flag means, for the instructor (students never see the kind).
INTEGRITY_KIND_LABELS = {
    TAMPERING: Text(ja="採点の計測・記録の改ざん", en="tampering with the grader's instruments or records"),
    UNVERIFIED: Text(ja="採点システムが確認できない結果", en="a result the grader could not confirm"),
}


def check_lang(lang: str) -> str:
    """Return `lang` if it is a course language; a typo would otherwise silently mean English."""
    if lang not in LANGS:
        raise ValueError(f"lang must be one of {LANGS}, not {lang!r}")
    return lang


def fmt_points(value: float) -> str:
    """Points without a useless ".0": 5.0 -> "5", 2.5 -> "2.5"."""
    if float(value).is_integer():
        return str(int(value))
    return f"{value:.2f}".rstrip("0").rstrip(".")


def fmt_score(points: float, max_points: float) -> str:
    """A score as "87/100"."""
    return f"{fmt_points(points)}/{fmt_points(max_points)}"


def status_label(status: str) -> Text:
    """The translated label of a grading status (an unknown one is shown as is)."""
    return STATUS_LABELS.get(status, Text(ja=status, en=status))


def deliverable_label(status: str) -> Text:
    """The translated label of a deliverable status (an unknown one is shown as is)."""
    return DELIVERABLE_LABELS.get(status, Text(ja=status, en=status))


def integrity_kind_label(kind: str) -> Text | None:
    """The translated meaning of a flag's kind; None for the student view's flag, which has no kind."""
    if not kind:
        return None
    return INTEGRITY_KIND_LABELS.get(kind, Text(ja=kind, en=kind))


def integrity_summary(flag: IntegrityFlag) -> str:
    """One flag in one line of English, for gradebooks: "tampering [check_a, check_b]: detail".

    The detail may quote the submission: writers still clean and quote the line.
    """
    kind = flag.kind or "flagged"
    checks = f" [{', '.join(flag.checks)}]" if flag.checks else ""
    return f"{kind}{checks}: {flag.detail}" if flag.detail else f"{kind}{checks}"


def atomic_write_text(path: str | os.PathLike[str], text: str) -> None:
    """Write UTF-8 text so that readers see either the old file or the whole new one."""
    target = Path(path)
    # The temporary file must be in the same directory: os.replace is atomic only within one filesystem.
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent or ".")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        # mkstemp makes the file private (0600); a report is meant to be read by others too.
        os.chmod(tmp_name, 0o644)
        os.replace(tmp_name, target)
    except BaseException:
        try:
            os.unlink(tmp_name)
        except FileNotFoundError:
            pass
        raise
