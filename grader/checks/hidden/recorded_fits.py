"""Evidence for the train_model and cross-validation checks: the worker's fit records, replayed.

The worker records each `fit` on the probe model (rows, epochs, batch size, weights before and
after) and reports each model's final weights. All of that is written inside the student's process,
so none of it is believed as such: the grader knows the probe model's initial weights (it chose
them) and repeats every recorded fit itself. A record is evidence only when the replay arrives at
the weights the worker reported; a record whose replay does not is flagged for the instructor.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from grader import protocol
from grader.training import Replay, replay_fit, same_weights


@dataclass
class CheckedFit:
    """One recorded fit and what the grader could establish about it."""

    record: dict
    fresh: bool = False          # started from the probe model's initial weights
    replay: Replay | None = None
    problem: str = ""            # why it could not be replayed (an honest mistake, explained)
    contradicted: bool = False   # replayed, but the worker reported other weights: not believable

    @property
    def verified(self) -> bool:
        return self.replay is not None and not self.contradicted and not self.problem


@dataclass
class _ModelState:
    replay: Replay | None        # the grader's copy of the model after its latest fit
    reported_digest: str         # the worker's digest of the model's weights after that fit
    fits: list[CheckedFit] = field(default_factory=list)


def well_formed(record) -> bool:
    """Whether a fit record has the fields and types the harness writes."""
    if not isinstance(record, dict):
        return False
    rows = [record.get("train_rows"), record.get("val_rows")]
    return (all(isinstance(r, list) and all(isinstance(i, int) for i in r) for r in rows)
            and isinstance(record.get("model"), int) and isinstance(record.get("epochs"), int)
            and (record.get("batch_size") is None or isinstance(record.get("batch_size"), int))
            and isinstance(record.get("scale"), list) and len(record["scale"]) == 2
            and all(isinstance(v, (int, float)) for v in record["scale"])
            and isinstance(record.get("weights_before"), str) and isinstance(record.get("weights_after"), str)
            and isinstance(record.get("other_arguments"), list))


def check_fits(model_spec: dict, initial: list[np.ndarray], x: np.ndarray, y: np.ndarray,
               records: list[dict], final_weights: dict) -> list[CheckedFit]:
    """Replay every record in order from the weights it started from; compare with the final weights."""
    initial_digest = protocol.weights_digest(initial)
    states: dict[int, _ModelState] = {}
    checked = []
    for record in records:
        fit = CheckedFit(record)
        checked.append(fit)
        same_model = states.get(record["model"])
        if same_model is not None and same_model.reported_digest == record["weights_before"]:
            start, model = None, same_model.replay.model  # trained on: its optimizer state goes on too
        else:
            start, model = _start_weights(record, initial, initial_digest, states), None
            fit.fresh = record["weights_before"] == initial_digest and same_model is None
        fit.problem = _problem(record, len(x), model is not None or start is not None)
        if fit.problem:
            # The model's earlier fits can no longer be confirmed by its final weights either.
            for earlier in states.pop(record["model"], _ModelState(None, "")).fits:
                earlier.problem = "a later fit of the same model could not be replayed"
            continue
        fit.replay = replay_fit(model_spec, start, x, y, record, model)
        state = states.setdefault(record["model"], _ModelState(fit.replay, record["weights_after"]))
        state.replay, state.reported_digest = fit.replay, record["weights_after"]
        state.fits.append(fit)
    for model, state in states.items():
        if not same_weights(state.replay.weights, final_weights.get(str(model))):
            for fit in state.fits:
                fit.contradicted = True
    return checked


def _start_weights(record: dict, initial: list[np.ndarray], initial_digest: str,
                   states: dict[int, _ModelState]) -> list[np.ndarray] | None:
    """The weights a new model's first recorded fit started from, when the grader knows them: the
    probe model's initial weights, or weights copied from where an earlier replayed fit ended."""
    if record["weights_before"] == initial_digest:
        return initial
    for state in states.values():
        if state.reported_digest == record["weights_before"]:
            return state.replay.weights
    return None


def _problem(record: dict, samples: int, start_known: bool) -> str:
    """Why the grader cannot replay a recorded fit (an honest mistake, explained), or ""."""
    if not start_known:
        return "it trained a model that did not come from the model it was given (or from build_fn)"
    if record["other_arguments"]:
        return "fit was called with arguments the grader does not replay: " + ", ".join(map(str, record["other_arguments"][:5]))
    rows = record["train_rows"] + record["val_rows"]
    if not record["train_rows"] or any(not 0 <= row < samples for row in rows):
        return "it trained or validated on samples that are not among the ones it was given"
    return ""
