"""The one results model of the grader.

Every writer (terminal, JSON, Gradescope, CSV, HTML) reads a `GradeResult`; nothing else carries
grading outcomes. A result is always complete and valid, also when grading failed: then `status`
says why and every check is marked failed with that reason, so a gradebook row can still be written.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from typing import Any

RESULT_FORMAT_VERSION = 1

# Status of a whole grading.
GRADED = "graded"                  # the pipeline ran; the score reflects the checks
INVALID_SUBMISSION = "invalid_submission"  # the file could not be read as a notebook / Python
GRADER_ERROR = "grader_error"      # a fault of the grader or the machine, not of the student

# Status of one check.
PASSED = "passed"
FAILED = "failed"


@dataclass(frozen=True)
class Text:
    """A message in both languages of the course."""

    ja: str
    en: str

    def in_lang(self, lang: str) -> str:
        """The message in `lang` ("ja" or "en")."""
        return self.ja if lang == "ja" else self.en


@dataclass(frozen=True)
class Feedback:
    """Why a check failed: what was expected, what was found, and what to try."""

    expected: Text
    got: str
    hint: Text


@dataclass(frozen=True)
class CheckResult:
    """The outcome of one rubric entry."""

    id: str
    part: str
    title: Text
    max_points: float
    visibility: str
    status: str
    points: float
    feedback: list[Feedback] = field(default_factory=list)
    measured: str = ""  # what the grader measured, also when the check passed (e.g. the test accuracy)

    @property
    def passed(self) -> bool:
        return self.status == PASSED


@dataclass(frozen=True)
class CellError:
    """A notebook cell (or `.py` block) that raised while the submission ran."""

    cell: int
    error_type: str
    message: str


@dataclass(frozen=True)
class Deliverable:
    """A hand-graded answer: present, still the template placeholder, or missing."""

    id: str
    title: Text
    status: str  # "present" | "placeholder" | "missing"
    excerpt: str = ""


@dataclass(frozen=True)
class Figure:
    """A PNG the submission drew (learning curves, misclassified images), already validated."""

    id: str
    png_base64: str


# Kind of an integrity flag.
TAMPERING = "tampering"    # the grader found its instruments or records altered by the submission
UNVERIFIED = "unverified"  # a claim of the worker that the grader could not reproduce or confirm


@dataclass(frozen=True)
class IntegrityFlag:
    """A finding for the instructor: the checks named lose their points, and every report shows it."""

    kind: str                  # TAMPERING or UNVERIFIED
    checks: tuple[str, ...]    # the rubric entries it voids
    detail: str                # what the grader saw, in English (may quote untrusted text: escape it)


@dataclass
class GradeResult:
    """Everything known about the grading of one submission."""

    submission: str
    sha256: str
    status: str
    score: float
    max_score: float
    checks: list[CheckResult] = field(default_factory=list)
    deliverables: list[Deliverable] = field(default_factory=list)
    cell_errors: list[CellError] = field(default_factory=list)
    isolation: dict[str, bool] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    figures: list[Figure] = field(default_factory=list)
    reason: Text | None = None
    worker_output_tail: str = ""
    student_id: str = ""
    student_name: str = ""
    integrity: list[IntegrityFlag] = field(default_factory=list)
    mode: str = "contract"  # "contract" (the template's functions) or "free" (a chapter-style notebook, traced)
    format_version: int = RESULT_FORMAT_VERSION

    @property
    def flagged(self) -> bool:
        """Whether the instructor should look at this submission (tampering or unverified claims)."""
        return bool(self.integrity)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict of the result (the `--json` output and the batch store)."""
        return dataclasses.asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, indent=2)


def result_from_dict(data: dict[str, Any]) -> GradeResult:
    """Rebuild a `GradeResult` written by `to_dict` (the batch store reads its own files back)."""

    def text(value: dict[str, str] | None) -> Text | None:
        return Text(**value) if value else None

    checks = [
        CheckResult(
            **{**c, "title": Text(**c["title"]),
               "feedback": [Feedback(expected=Text(**f["expected"]), got=f["got"], hint=Text(**f["hint"]))
                            for f in c["feedback"]]})
        for c in data["checks"]
    ]
    deliverables = [Deliverable(**{**d, "title": Text(**d["title"])}) for d in data["deliverables"]]
    return GradeResult(
        **{**data,
           "checks": checks,
           "deliverables": deliverables,
           "cell_errors": [CellError(**e) for e in data["cell_errors"]],
           "figures": [Figure(**f) for f in data["figures"]],
           "integrity": [IntegrityFlag(f["kind"], tuple(f["checks"]), f["detail"])
                         for f in data.get("integrity", [])],
           "reason": text(data.get("reason"))})
