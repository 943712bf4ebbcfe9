"""Report writers: every one reads a `GradeResult` (terminal, JSON, Gradescope, HTML).

`for_students` makes the view a student may see; the writers themselves never filter.
"""

from __future__ import annotations

import dataclasses

from grader.results import GradeResult, IntegrityFlag


def student_integrity(result: GradeResult, visible_checks: set[str]) -> list[IntegrityFlag]:
    """What a student may know of the integrity flags: one flag, no kind, no detail.

    The student learns that the submission is flagged and which of the checks they can see it
    concerns, not what the grader looked at nor how many findings there were: that would teach the
    next submission what to avoid.
    """
    if not result.integrity:
        return []
    checks = dict.fromkeys(check for flag in result.integrity for check in flag.checks if check in visible_checks)
    return [IntegrityFlag(kind="", checks=tuple(checks), detail="")]


# The timings a student sees: their own notebook's run. The grader's own steps are left out: how
# long the checks took tells whether a hidden accuracy was measured again near its threshold, or
# whether an identical model was graded earlier in the same process (grader/training.py).
STUDENT_TIMINGS = ("worker",)


def for_students(result: GradeResult) -> GradeResult:
    """The student view: only "visible" checks, score and max_score over those, no worker output,
    integrity flags reduced to `student_integrity`, only STUDENT_TIMINGS.

    Cell errors, deliverables, figures and the reason stay: they describe the student's own notebook.
    """
    visible = [check for check in result.checks if check.visibility == "visible"]
    return dataclasses.replace(
        result,
        checks=visible,
        score=sum(check.points for check in visible),
        max_score=sum(check.max_points for check in visible),
        worker_output_tail="",
        integrity=student_integrity(result, {check.id for check in visible}),
        # Fresh lists, so that editing the student view never changes the instructor's result.
        deliverables=list(result.deliverables),
        cell_errors=list(result.cell_errors),
        figures=list(result.figures),
        isolation=dict(result.isolation),
        timings={name: seconds for name, seconds in result.timings.items() if name in STUDENT_TIMINGS},
    )


__all__ = ["for_students", "student_integrity"]
