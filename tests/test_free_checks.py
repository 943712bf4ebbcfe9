"""grader/free_checks/: the free-form judgements on recorded evidence (fold structure, label
counts, choice of mode). Whole notebooks are graded in tests/test_free_mode.py."""

from __future__ import annotations

import numpy as np

from grader.free_checks.evidence import Fit, Trace
from grader.free_checks.test_free_form import fold_problems, label_count


def fold_fit(index: int, model: int, train: list[int], val: list[int], fresh: bool = True) -> Fit:
    return Fit(index=index, cell=7, model=model, fresh=fresh, split="cifar10:train", rows=np.array(train),
               rows_given=len(train), scale=(1 / 255, 0.0), labels={"format": "integer", "matches": True},
               validation_split="cifar10:train", validation_rows=np.array(val), validation_kind="data", history={})


def kfold(k: int, n: int = 30) -> list[tuple[list[int], list[int]]]:
    folds = np.array_split(np.random.default_rng(0).permutation(n), k)
    return [(sorted(set(range(n)) - set(f.tolist())), sorted(f.tolist())) for f in folds]


def test_five_folds_on_fresh_models_are_cross_validation():
    fits = [fold_fit(i, i, train, val) for i, (train, val) in enumerate(kfold(5))]
    assert fold_problems(Trace(), fits) == []


def test_two_folds_are_too_few():
    fits = [fold_fit(i, i, train, val) for i, (train, val) in enumerate(kfold(2))]
    assert any("k >= 3" in p for p in fold_problems(Trace(), fits))


def test_one_model_trained_in_every_fold_is_not_fresh():
    fits = [fold_fit(i, 0, train, val, fresh=i == 0) for i, (train, val) in enumerate(kfold(3))]
    assert any("build a new model" in p for p in fold_problems(Trace(), fits))


def test_swapped_indices_train_on_the_fold_and_validate_on_the_rest():
    fits = [fold_fit(i, i, val, train) for i, (train, val) in enumerate(kfold(4))]
    problems = fold_problems(Trace(), fits)
    assert any("overlap" in p for p in problems)


def test_validation_rows_inside_the_training_rows_are_caught():
    fits = [fold_fit(i, i, list(range(30)), val) for i, (_, val) in enumerate(kfold(3))]
    assert any("also among its training rows" in p for p in fold_problems(Trace(), fits))


def test_folds_that_leave_rows_out_do_not_cover():
    fits = [fold_fit(i, i, train, val[:-2]) for i, (train, val) in enumerate(kfold(3))]
    assert any("cover" in p for p in fold_problems(Trace(), fits))


def test_a_fold_without_validation_data_has_no_score():
    fits = [fold_fit(i, i, train, val) for i, (train, val) in enumerate(kfold(3))]
    fits[1].validation_rows, fits[1].validation_kind = None, None
    assert any("no validation data" in p for p in fold_problems(Trace(), fits))


def test_titles_with_two_labels():
    assert label_count("pred: 3 / true: 5") == 2
    assert label_count("予測: cat, 正解: dog") == 2
    assert label_count("True: airplane (pred automobile)") == 2
    assert label_count("label 7") == 1
    assert label_count("image 12") == 0


def test_every_free_rubric_entry_has_exactly_one_check_and_no_check_is_stray():
    import tomllib
    from pathlib import Path
    from grader.validate import check_test_functions
    root = Path(__file__).resolve().parent.parent
    rubric = tomllib.loads((root / "assignment" / "rubric_free.toml").read_text(encoding="utf-8"))
    found = check_test_functions(root / "grader" / "free_checks")
    assert sorted(found) == sorted(f"test_{c['id']}" for c in rubric["check"])
    assert all(len(files) == 1 for files in found.values())
    assert sum(c["points"] for c in rubric["check"]) == rubric["total_points"] == 100


def test_a_forged_figure_description_is_cut_to_the_protocols_limits():
    """A trace is written in the student's process: one figure of 750,000 two-point lines (15 MB, within
    the JSON limit) made the learning-curve check compare each with every History for 4 minutes."""
    import json

    from grader import protocol
    from grader.free_checks.evidence import bounded_figures
    curve = {"label": "loss", "x": [0, 1], "y": [0.9, 0.5]}
    honest = {"cell": 3, "axes": [{"xlabel": "epoch", "lines": [curve, {"y": ["0.9", "x"]}, {"y": "0.9"}]}]}
    bomb = {"cell": 4, "axes": [{"lines": [curve] * 750_000}] * 3}
    figures = bounded_figures(json.dumps([honest, bomb, *[{"cell": 5, "axes": [{}] * 500}] * 100]))
    assert len(figures) == protocol.MAX_TRACED_FIGURES
    assert figures[0]["axes"][0]["lines"] == [curve]   # lines whose y is not a list of numbers are left out
    assert sum(len(ax["lines"]) for f in figures for ax in f["axes"]) <= protocol.MAX_TRACED_LINES
    assert max(len(f["axes"]) for f in figures) == protocol.MAX_FIGURE_AXES
    assert bounded_figures("not json") == bounded_figures(None) == bounded_figures('{"a": 1}') == []


def test_a_drawn_10x10_image_is_a_confusion_matrix_only_if_its_values_can_be_one():
    """Before, any 10×10 image passed error_analysis: `plt.imshow(np.zeros((10, 10)))` alone scored 10."""
    from grader.free_checks.test_free_form import confusion_like
    rng = np.random.default_rng(3)
    counts = rng.integers(0, 50, size=(10, 10)) + np.diag(np.full(10, 900))
    shares = counts / counts.sum(axis=1, keepdims=True)
    shares[4] = 0                                        # a class never seen: an empty row
    assert confusion_like(counts.ravel().tolist())
    assert confusion_like(np.round(shares, 2).ravel().tolist())                 # as printed, rounded
    assert confusion_like(np.round(100 * counts / counts.sum(), 1).ravel().tolist())  # percent of all
    assert not confusion_like(np.zeros(100).tolist())
    assert not confusion_like(rng.random(100).tolist())
    assert not confusion_like((-counts).ravel().tolist())
    assert not confusion_like(counts.ravel().tolist()[:99])
    assert not confusion_like(["1"] * 100) and not confusion_like(None)
