"""Scoring from artifacts, without a worker: outcomes are matched to calls by index, and a result
whose outcomes are missing, extra or out of order is never a pass, never a grader error, and always
flagged; a flagged check earns nothing."""

from __future__ import annotations

import copy
import os

import pytest

from grader import protocol
from grader.artifacts import ProbeResult, WorkerArtifacts
from grader.checks.support import CheckContext
from grader.probes import build_plan
from grader.results import FAILED, PASSED, TAMPERING
from grader.rubric import load_rubric
from grader.score import run_checks, score_checks


@pytest.fixture(scope="module")
def plan():
    return build_plan("0" * 64, "test-salt", load_rubric(), None, [], {"cell_seconds": 1, "probe_seconds": 1})


def honest_outcomes(plan) -> list[dict]:
    """What a correct preprocess_dense returns for each call of its probe."""
    return [{protocol.OUTCOME_CALL: index, "returned": (images.reshape(len(images), 784) / 255.0).astype("float32"),
             "mutated_args": []}
            for index, ((images,), _) in enumerate(plan.calls("preprocess_dense"))]


def grade_preprocess_dense(plan, outcomes, tampering=()):
    rubric = load_rubric()
    artifacts = WorkerArtifacts(probes={"preprocess_dense": ProbeResult(protocol.STATUS_OK, value=outcomes,
                                                                        tampering=list(tampering))})
    outcomes = run_checks(CheckContext(plan, artifacts, rubric), rubric)
    results = {c.id: c for c in score_checks(rubric, outcomes)}
    return results["preprocess_dense"], outcomes


def test_the_honest_outcomes_pass(plan):
    result, outcomes = grade_preprocess_dense(plan, honest_outcomes(plan))
    assert result.status == PASSED and result.points == 5
    assert not outcomes.flags


def test_pytest_options_and_plugins_in_the_environment_do_not_reach_the_checks(plan, monkeypatch):
    monkeypatch.setenv("PYTEST_ADDOPTS", "--collect-only")    # would run no check: every one failed
    monkeypatch.setenv("PYTEST_PLUGINS", "no_such_plugin")    # would stop pytest before it starts
    result, _ = grade_preprocess_dense(plan, honest_outcomes(plan))
    assert result.status == PASSED and result.points == 5
    assert os.environ["PYTEST_ADDOPTS"] == "--collect-only", "the grader's environment is given back"


@pytest.mark.parametrize("edit", ["none", "missing", "extra", "reordered", "renumbered"])
def test_outcomes_that_do_not_match_the_calls_fail_and_are_flagged(plan, edit):
    outcomes = honest_outcomes(plan)
    edited = {"none": [],
              "missing": outcomes[:1],
              "extra": outcomes + [copy.deepcopy(outcomes[0])],
              "reordered": outcomes[::-1],
              "renumbered": [{**o, protocol.OUTCOME_CALL: 0} for o in outcomes]}[edit]
    result, scored = grade_preprocess_dense(plan, edited)
    assert result.status == FAILED and result.points == 0
    assert "preprocess_dense" not in scored.grader_faults
    assert [flag.kind for flag in scored.flags] == [TAMPERING]
    assert scored.flags[0].checks == ("preprocess_dense",)


def test_a_tampering_note_does_not_void_a_value_the_grader_checked_itself(plan):
    """The note matters for the checks that rely on the harness's instruments (train_model,
    cross-validation; see tests/corpus/hostile/tamper_keras.py); a value check stands on its own."""
    result, scored = grade_preprocess_dense(plan, honest_outcomes(plan), tampering=["keras.Model.fit was replaced"])
    assert result.status == PASSED
    assert not scored.flags


def test_each_call_is_judged_on_its_own_inputs(plan):
    """The answers of the two calls swapped (indices kept) fail: nothing is matched by position alone."""
    outcomes = honest_outcomes(plan)
    outcomes[0]["returned"], outcomes[1]["returned"] = outcomes[1]["returned"], outcomes[0]["returned"]
    result, scored = grade_preprocess_dense(plan, outcomes)
    assert result.status == FAILED and "shape" in result.feedback[0].got
    assert not scored.flags
