"""Part C, the CIFAR-10 homework (課題): the hidden checks."""

import numpy as np

from grader.artifacts import HistoryArtifact
from grader.checks.hidden.test_part_a import check_accuracy
from grader.checks.hidden.test_part_b import recorded_fits
from grader.checks.support import as_array, call_outcomes, calls_with_outcomes, check, fail, returned
from grader.probe_inputs import fixed_model_predictions
from grader.results import Text
from grader.training import same_history

CV_HINT = Text("KFold(n_splits, shuffle=True, random_state=seed).split(images) の各 fold で、残りで学習し "
               "validation_data=(検証 fold) を渡します。",
               "For each fold of KFold(n_splits, shuffle=True, random_state=seed).split(images), train on the "
               "other folds and pass validation_data=(the held-out fold).")

def test_cifar_accuracy(ctx):
    check_accuracy(ctx, "cifar")

def cross_validation(ctx) -> list[tuple[dict, dict, list]]:
    """Each call of cross_validate as (outcome, its arguments, its fits replayed by the grader)."""
    probe = ctx.plan.probe("cross_validate")
    calls = []
    for outcome, call in zip(call_outcomes(ctx, "cross_validate", "cross_validate"), probe["calls"]):
        if "raised" in outcome:
            returned(outcome, "cross_validate", ", ".join(f"{k}={v}" for k, v in call["kwargs"].items()))
        fits = recorded_fits(ctx, "cross_validate", outcome, ctx.input(call["images"]), ctx.input(call["labels"]))
        calls.append((outcome, call, fits))
    return calls

def test_cross_validation_folds(ctx):
    for outcome, call, fits in cross_validation(ctx):
        n_splits, epochs, batch_size = (call["kwargs"][k] for k in ("n_splits", "epochs", "batch_size"))
        samples = len(ctx.input(call["images"]))
        check(len(fits) == n_splits,
              Text(f"n_splits={n_splits} → fold ごとに 1 回、計 {n_splits} 回の fit", f"n_splits={n_splits} -> {n_splits} fits, one per fold"),
              f"{len(fits)} fits", CV_HINT)
        everything = set(range(samples))
        seen_validation: set[int] = set()
        for fold, fit in enumerate(fits, start=1):
            record = fit.record
            check(fit.verified, Text("渡された images・labels と build_fn のモデルで各 fold を学習すること",
                                     "each fold trained on the images and labels given, with a model from build_fn"),
                  f"fold {fold}: {fit.problem or 'the training could not be reproduced'}", CV_HINT)
            check((record["epochs"], record["batch_size"]) == (epochs, batch_size),
                  Text(f"各 fold を epochs={epochs}, batch_size={batch_size} で学習（引数をそのまま渡す）",
                       f"each fold trained with epochs={epochs}, batch_size={batch_size} (the arguments passed through)"),
                  f"fold {fold}: fit(epochs={record['epochs']}, batch_size={record['batch_size']})",
                  Text("epochs と batch_size の値を固定せず、引数を fit に渡してください。",
                       "Do not hard-code epochs and batch_size; pass the arguments on to fit."))
            train, validation = record["train_rows"], record["val_rows"]
            check(bool(validation), Text("validation_data に検証 fold を渡すこと", "the held-out fold passed as validation_data"),
                  f"fold {fold} had no validation data", CV_HINT)
            check(set(train) | set(validation) == everything and not set(train) & set(validation),
                  Text("各 fold: 検証 fold 以外の全サンプルで学習", "each fold trains on every sample outside its validation fold"),
                  f"fold {fold}: {len(set(train))} training and {len(set(validation))} validation samples, "
                  f"{len(set(train) & set(validation))} in both", CV_HINT)
            check(not seen_validation & set(validation), Text("検証 fold が互いに重ならないこと", "validation folds that do not overlap"),
                  f"fold {fold} repeats {len(seen_validation & set(validation))} validation samples", CV_HINT)
            seen_validation |= set(validation)
        check(seen_validation == everything, Text("検証 fold が全サンプルを覆うこと", "validation folds that cover every sample"),
              f"{len(seen_validation)} of {samples} samples validated", CV_HINT)
        check(not outcome.get("dataset_loads"), Text("cross_validate の中でデータセットを読み込まないこと", "no dataset loading inside cross_validate"),
              f"called load_data for {outcome.get('dataset_loads')}",
              Text("引数の images, labels だけを使ってください。", "Use only the images and labels passed in."))

def test_cross_validation_fresh_model(ctx):
    for outcome, call, fits in cross_validation(ctx):
        n_splits = call["kwargs"]["n_splits"]
        models = [fit.record["model"] for fit in fits]
        built = set(outcome.get("built_models") or [])
        check(len(fits) == n_splits and len(set(models)) == n_splits and set(models) <= built,
              Text(f"fold ごとに build_fn() で作った新しいモデル（{n_splits} 個）", f"a new model from build_fn() for each of the {n_splits} folds"),
              f"{len(set(models))} distinct models over {len(fits)} fits, {len(built)} built by build_fn",
              Text("for ループの中で model = build_fn() を呼んでください。前の fold の重みを引き継ぐと検証が不公平になります。",
                   "Call model = build_fn() inside the loop; weights carried over from a previous fold make validation unfair."))
        for fold, fit in enumerate(fits, start=1):
            check(fit.fresh, Text("各 fold を build_fn() が返したままの重みから学習すること",
                                  "each fold trained from the weights build_fn() returned"),
                  f"fold {fold} started from other weights (e.g. a previous fold's trained weights)",
                  Text("fold ごとに新しいモデルを作ってください。", "Build a fresh model for each fold."))

def test_cross_validation_summary(ctx):
    for outcome, call, fits in cross_validation(ctx):
        n_splits, epochs = call["kwargs"]["n_splits"], call["kwargs"]["epochs"]
        summary = outcome.get("returned")
        keys = {"histories", "val_accuracy", "val_loss", "mean_accuracy", "std_accuracy"}
        check(isinstance(summary, dict) and keys <= set(summary), Text(f"キー {sorted(keys)} を持つ dict", f"a dict with keys {sorted(keys)}"),
              f"{sorted(summary) if isinstance(summary, dict) else type(summary).__name__}",
              Text("課題の仕様どおりの dict を返してください。", "Return the dict of the contract."))
        histories = [h.history if isinstance(h, HistoryArtifact) else h for h in summary["histories"]] \
            if isinstance(summary["histories"], list) else []
        check(len(histories) == n_splits and all(isinstance(h, dict) and len(h.get("val_accuracy", [])) == epochs
                                                 and len(h.get("val_loss", [])) == epochs for h in histories),
              Text(f"fold ごとの History.history（{n_splits} 個、各 {epochs} エポック分の val_loss・val_accuracy）",
                   f"one History.history per fold ({n_splits}), each with {epochs} epochs of val_loss and val_accuracy"),
              f"{len(histories)} histories", Text("histories には history.history を fold ごとに入れます。",
                                                  "Put history.history of each fold into histories."))
        for fold, (fit, history) in enumerate(zip(fits, histories), start=1):
            check(fit.verified and same_history(fit.replay.history, history),
                  Text(f"histories[{fold - 1}] = fold {fold} の学習の History.history", f"histories[{fold - 1}] = the History.history of fold {fold}'s training"),
                  f"fold {fold}: the history does not match that fold's training",
                  Text("fold ごとに、その fold の model.fit が返した history.history を入れてください。",
                       "For each fold, store the history.history returned by that fold's model.fit."))
        final_accuracy = [float(np.asarray(h["val_accuracy"])[-1]) for h in histories]
        final_loss = [float(np.asarray(h["val_loss"])[-1]) for h in histories]
        reported = np.asarray(summary["val_accuracy"], dtype=float).reshape(-1)
        check(reported.shape == (n_splits,) and np.allclose(reported, final_accuracy, atol=1e-6)
              and np.allclose(np.asarray(summary["val_loss"], dtype=float).reshape(-1), final_loss, atol=1e-6),
              Text("val_accuracy / val_loss = 各 fold の最終エポックの値", "val_accuracy / val_loss = each fold's final-epoch value"),
              f"val_accuracy {reported.round(4).tolist()} vs histories {np.round(final_accuracy, 4).tolist()}",
              Text("history['val_accuracy'][-1] を fold ごとに集めてください。", "Collect history['val_accuracy'][-1] of each fold."))
        mean, std = float(summary["mean_accuracy"]), float(summary["std_accuracy"])
        check(abs(mean - np.mean(final_accuracy)) < 1e-6 and min(abs(std - np.std(final_accuracy, ddof=d)) for d in (0, 1)) < 1e-6,
              Text("mean_accuracy・std_accuracy = fold の精度の平均・標準偏差", "mean_accuracy, std_accuracy = mean and std of the fold accuracies"),
              f"mean {mean:.4f}, std {std:.4f} for fold accuracies {np.round(final_accuracy, 4).tolist()}",
              Text("np.mean と np.std を val_accuracy に使います。", "Apply np.mean and np.std to val_accuracy."))

def test_confusion_matrix(ctx):
    from sklearn.metrics import confusion_matrix
    for outcome, (_, images, labels), kwargs in calls_with_outcomes(ctx, "confusion_matrix_of", "confusion_matrix_of"):
        classes = kwargs["num_classes"]
        matrix = as_array(returned(outcome, "confusion_matrix_of", f"model, images, labels, num_classes={classes}"),
                          "confusion_matrix_of")
        predicted = fixed_model_predictions(ctx.plan, "fixed_cifar", images)
        expected = confusion_matrix(labels.reshape(-1), predicted, labels=list(range(classes)))
        check(matrix.shape == (classes, classes) and bool(np.array_equal(matrix, expected)),
              Text(f"行 = 正解クラス、列 = 予測クラスの ({classes}, {classes}) 行列（scikit-learn と同じ）",
                   f"a ({classes}, {classes}) matrix, rows = true class, columns = predicted (as scikit-learn)"),
              f"shape {matrix.shape}" + ("" if matrix.shape != (classes, classes) else
                                         f", transposed: {bool(np.array_equal(matrix, expected.T))}"),
              Text("confusion_matrix(labels, predicted, labels=range(num_classes)) の引数の順に注意してください。",
                   "Mind the argument order: confusion_matrix(labels, predicted, labels=range(num_classes))."))

def test_most_confused_pairs(ctx):
    for outcome, (matrix,), kwargs in calls_with_outcomes(ctx, "most_confused_pairs", "most_confused_pairs"):
        k = kwargs["k"]
        size = len(matrix)
        off_diagonal = sorted(((int(matrix[t, p]), t, p) for t in range(size) for p in range(size) if t != p), reverse=True)
        pairs = returned(outcome, "most_confused_pairs", f"cm, k={k}")
        expected = [(t, p, c) for c, t, p in off_diagonal[:k]]
        try:
            got = [tuple(int(v) for v in pair) for pair in pairs]
        except (TypeError, ValueError):
            fail(Text("(正解, 予測, 件数) のリスト", "a list of (true, predicted, count)"), f"{pairs!r}"[:200],
                 Text("[(t, p, int(cm[t, p])), ...] の形で返してください。", "Return [(t, p, int(cm[t, p])), ...]."))
        check(got == expected, Text(f"k={k}: {expected}", f"k={k}: {expected}"), f"{got}"[:300],
              Text("対角成分（正解）を除き、件数の多い順に k 個選びます。",
                   "Leave out the diagonal (correct predictions) and take the k largest counts."))
