"""Part A, MNIST with Dense layers (実習①): the hidden checks."""

import numpy as np

from grader.checks.support import call_outcomes, check, compile_settings_of, fail, returned, built_model, shape_text
from grader.compile_config import TrainingRefused
from grader.results import Text
from grader.training import ACCURACY_PARTS, decided_accuracy, measured_accuracy

def check_accuracy(ctx, part: str) -> None:
    """The grader trains a fresh copy of the submission's model (its architecture and compile
    settings, the grader's seed and budget) and measures it on held-out images the worker never saw."""
    budget = ctx.rubric.budget[part]
    function, _, shape = ACCURACY_PARTS[part]
    outcome = call_outcomes(ctx, function, function)[0]
    artifact = returned(outcome, function, "")
    built_model(artifact, function)
    settings = compile_settings_of(ctx, artifact, function)

    def measure(seed: int) -> float:
        return measured_accuracy(ctx.plan, budget, part, artifact.architecture, settings, seed)

    try:
        accuracies = decided_accuracy(measure, ctx.plan.training_seeds(budget["seeds"]), budget["min_accuracy"],
                                      budget["recheck_within"])
    except TrainingRefused as exc:
        fail(Text("採点システムが学習できるモデル", "a model the grader can train"), str(exc),
             Text("章の規模のモデルにしてください。", "Keep the model at the chapter's scale."))
    except Exception as exc:  # Keras refuses to train it (e.g. an input shape that does not fit the data)
        fail(Text(f"入力 {shape_text((None, *shape))} のデータで学習できるモデル",
                  f"a model that trains on inputs of shape {shape_text((None, *shape))}"),
             f"training failed: {type(exc).__name__}: {str(exc)[:200]}",
             Text("入力形状と出力層（クラス数 10、softmax）を確認してください。",
                  "Check the input shape and the output layer (10 classes, softmax)."))
    accuracy = float(np.mean(accuracies))
    seeds = "" if len(accuracies) == 1 else f" (mean of {len(accuracies)} trainings: " \
        + ", ".join(f"{a:.3f}" for a in accuracies) + ")"
    ctx.measured[ctx.current_check] = f"test accuracy {accuracy:.3f}{seeds}, minimum {budget['min_accuracy']:.2f}"
    check(accuracy >= budget["min_accuracy"],
          Text(f"テスト精度 {budget['min_accuracy']:.2f} 以上（{budget['train_samples']} 枚・{budget['epochs']} エポックで学習）",
               f"test accuracy >= {budget['min_accuracy']:.2f} (trained on {budget['train_samples']} images for {budget['epochs']} epochs)"),
          f"test accuracy {accuracy:.3f}{seeds}",
          Text("出力層の活性化関数（softmax）、損失関数、正規化（/255）を確認してください。",
               "Check the output activation (softmax), the loss, and the scaling (/255)."))

def test_dense_accuracy(ctx):
    check_accuracy(ctx, "dense")
