"""The probe plan's seeds: probes differ per submission, the grader's training seeds per class only,
and neither the salt nor the training seeds reach the worker."""

from __future__ import annotations

import hashlib

from grader.probes import build_free_plan, build_plan, write_worker_inputs
from grader.rubric import load_rubric


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def test_every_submission_of_a_class_is_trained_with_the_same_secret_seeds():
    rubric = load_rubric()
    alice = build_plan(sha("alice"), "salt-one", rubric, None, [], {})
    bob = build_plan(sha("bob"), "salt-one", rubric, None, [], {})
    bob_free = build_free_plan(sha("bob"), "salt-one", rubric, None, [], {})
    other_class = build_plan(sha("alice"), "salt-two", rubric, None, [], {})
    assert alice.seed != bob.seed  # the probes are still the submission's own
    assert alice.training_seeds(3) == bob.training_seeds(3) == bob_free.training_seeds(3)
    assert len(set(alice.training_seeds(3))) == 3
    assert not set(alice.training_seeds(3)) & set(other_class.training_seeds(3))


def test_the_training_seeds_and_the_salt_are_never_written_for_the_worker(tmp_path):
    plan = build_plan(sha("alice"), "salt-one", load_rubric(), None, [], {})
    write_worker_inputs(plan, tmp_path)
    written = b"".join(path.read_bytes() for path in sorted(tmp_path.rglob("*")) if path.is_file())
    secrets = [plan.training_key, "salt-one", *map(str, plan.training_seeds(3))]
    assert plan.training_key and all(secret.encode() not in written for secret in secrets)
    assert str(plan.seed).encode() in written  # the probes' seed is the worker's: the check above can fail
