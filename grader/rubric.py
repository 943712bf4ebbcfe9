"""The rubric (`assignment/rubric.toml`): checks with points and visibility, hand-graded deliverables,
and the training budget of the accuracy checks."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

from grader.results import Text

PROJECT_ROOT = Path(__file__).resolve().parent.parent
RUBRIC_PATH = PROJECT_ROOT / "assignment" / "rubric.toml"
RUBRIC_FREE_PATH = PROJECT_ROOT / "assignment" / "rubric_free.toml"  # free-form mode (grader/free_checks/)
VISIBILITIES = ("visible", "hidden", "after_due_date")


class RubricError(Exception):
    """The rubric file is inconsistent; str() names the problem."""


@dataclass(frozen=True)
class RubricCheck:
    id: str
    part: str
    points: float
    visibility: str
    title: Text
    function: str  # the contract function the check judges ("" in free-form mode)


@dataclass(frozen=True)
class RubricDeliverable:
    id: str
    title: Text


@dataclass(frozen=True)
class Rubric:
    checks: tuple[RubricCheck, ...]
    deliverables: tuple[RubricDeliverable, ...]
    budget: dict[str, dict]
    total_points: float

    def check(self, check_id: str) -> RubricCheck:
        return next(c for c in self.checks if c.id == check_id)


def load_rubric(path: Path = RUBRIC_PATH) -> Rubric:
    """Read and validate the rubric."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise RubricError(f"{path}: {exc}") from None
    checks = tuple(RubricCheck(c["id"], c["part"], float(c["points"]), c["visibility"],
                               Text(c["title_ja"], c["title_en"]), c.get("function", "")) for c in data["check"])
    deliverables = tuple(RubricDeliverable(d["id"], Text(d["title_ja"], d["title_en"]))
                         for d in data.get("deliverable", []))
    rubric = Rubric(checks, deliverables, data["budget"], float(data["total_points"]))
    problems = rubric_problems(rubric)
    if problems:
        raise RubricError(f"{path}: " + "; ".join(problems))
    return rubric


def rubric_problems(rubric: Rubric) -> list[str]:
    """What is wrong with a rubric: duplicate ids, bad visibility, points not adding up."""
    problems = []
    ids = [c.id for c in rubric.checks]
    problems += [f"check id {i!r} appears twice" for i in sorted({i for i in ids if ids.count(i) > 1})]
    problems += [f"check {c.id!r}: visibility {c.visibility!r} is not one of {VISIBILITIES}"
                 for c in rubric.checks if c.visibility not in VISIBILITIES]
    total = sum(c.points for c in rubric.checks)
    if abs(total - rubric.total_points) > 1e-9:
        problems.append(f"points add up to {total:g}, not total_points = {rubric.total_points:g}")
    return problems
