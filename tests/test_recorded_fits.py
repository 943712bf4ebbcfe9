"""grader/checks/hidden/recorded_fits.py: a fit record is evidence only when the grader's replay reproduces
the weights the worker reported; made-up records are contradicted, unreplayable ones explained."""

from __future__ import annotations

import numpy as np
import pytest

from grader import protocol
from grader.checks.hidden.recorded_fits import check_fits


@pytest.fixture(scope="module")
def setting():
    rng = np.random.default_rng(3)
    x = rng.normal(size=(20, 6)).astype("float32")
    y = rng.integers(0, 3, size=20)
    initial = [rng.normal(scale=0.3, size=shape).astype("float32")
               for shape in [(6, protocol.PROBE_MODEL_UNITS), (protocol.PROBE_MODEL_UNITS,),
                             (protocol.PROBE_MODEL_UNITS, 3), (3,)]]
    return {"input_shape": [6], "num_classes": 3}, initial, x, y


def worker_fit(x, y, initial, train, val, model=None):
    """What the harness does for one recorded fit: the record, the model, its weights after."""
    import keras
    model = model or protocol.build_probe_model(keras, (6,), 3, [w.copy() for w in initial])
    before = protocol.weights_digest([np.array(w) for w in model.get_weights()])
    model.fit(x[train], y[train], epochs=2, batch_size=4, shuffle=False, validation_data=(x[val], y[val]), verbose=0)
    after = [np.array(w) for w in model.get_weights()]
    record = {"model": 0, "epochs": 2, "batch_size": 4, "validation_split": 0.0, "train_rows": train,
              "val_rows": val, "scale": [1.0, 0.0], "other_arguments": [], "weights_before": before,
              "weights_after": protocol.weights_digest(after)}
    return record, model, after


def test_an_honest_fit_is_verified_and_fresh(setting):
    spec, initial, x, y = setting
    record, _, after = worker_fit(x, y, initial, list(range(15)), list(range(15, 20)))
    [fit] = check_fits(spec, initial, x, y, [record], {"0": after})
    assert fit.verified and fit.fresh


def test_a_model_trained_on_across_two_fits_is_verified_but_not_fresh(setting):
    spec, initial, x, y = setting
    first, model, _ = worker_fit(x, y, initial, list(range(10)), list(range(10, 20)))
    second, _, after = worker_fit(x, y, initial, list(range(10, 20)), list(range(10)), model=model)
    fits = check_fits(spec, initial, x, y, [first, second], {"0": after})
    assert all(fit.verified for fit in fits)
    assert [fit.fresh for fit in fits] == [True, False]


def test_a_made_up_record_is_contradicted(setting):
    spec, initial, x, y = setting
    record, _, _ = worker_fit(x, y, initial, list(range(15)), list(range(15, 20)))
    [fit] = check_fits(spec, initial, x, y, [record], {"0": [w.copy() for w in initial]})  # no training
    assert fit.contradicted and not fit.verified


def test_an_unreplayable_later_fit_leaves_the_earlier_one_unconfirmed(setting):
    spec, initial, x, y = setting
    first, model, _ = worker_fit(x, y, initial, list(range(15)), list(range(15, 20)))
    second = {**first, "other_arguments": ["callbacks"], "weights_before": first["weights_after"]}
    fits = check_fits(spec, initial, x, y, [first, second], {"0": [w.copy() for w in initial]})
    assert not any(fit.verified for fit in fits)
    assert "callbacks" in fits[1].problem and fits[0].problem


def test_samples_that_were_not_given_are_explained(setting):
    spec, initial, x, y = setting
    record, _, after = worker_fit(x, y, initial, list(range(15)), list(range(15, 20)))
    [fit] = check_fits(spec, initial, x, y, [{**record, "train_rows": [0, -1]}], {"0": after})
    assert "not among the ones it was given" in fit.problem
