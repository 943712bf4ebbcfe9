"""grader/rubric.py: the rubric file is read and checked for consistency."""

from dataclasses import replace

import pytest

from grader.rubric import RubricError, load_rubric, rubric_problems


def test_real_rubric_has_24_checks_worth_100_points():
    rubric = load_rubric()
    assert len(rubric.checks) == 24
    assert sum(c.points for c in rubric.checks) == 100
    assert {c.part for c in rubric.checks} == {"A", "B", "C"}
    assert [d.id for d in rubric.deliverables] == ["architecture_explanation", "cross_validation_discussion",
                                                   "misclassification_analysis"]


def test_problems_are_named():
    rubric = load_rubric()
    broken = replace(rubric, checks=rubric.checks + (replace(rubric.checks[0], visibility="secret"),))
    problems = rubric_problems(broken)
    assert "check id 'preprocess_dense' appears twice" in problems
    assert any("'secret'" in p for p in problems)
    assert any("not total_points = 100" in p for p in problems)


def test_unreadable_rubric_file(tmp_path):
    path = tmp_path / "rubric.toml"
    path.write_text("this is = = not toml")
    with pytest.raises(RubricError, match="rubric.toml"):
        load_rubric(path)
