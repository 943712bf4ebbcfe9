"""Report writers: every one reads a `GradeResult` (terminal, JSON, Gradescope, HTML).

`for_students` makes the view a student may see; the writers themselves never filter.
"""

from __future__ import annotations

import dataclasses

from grader.results import GradeResult


def for_students(result: GradeResult) -> GradeResult:
    """The student view: only "visible" checks, score and max_score over those, no worker output.

    Cell errors, deliverables, figures and the reason stay: they describe the student's own notebook.
    """
    visible = [check for check in result.checks if check.visibility == "visible"]
    return dataclasses.replace(
        result,
        checks=visible,
        score=sum(check.points for check in visible),
        max_score=sum(check.max_points for check in visible),
        worker_output_tail="",
        # Fresh lists, so that editing the student view never changes the instructor's result.
        deliverables=list(result.deliverables),
        cell_errors=list(result.cell_errors),
        figures=list(result.figures),
        isolation=dict(result.isolation),
        timings=dict(result.timings),
    )


__all__ = ["for_students"]
