"""What the checks share: the context they read, and failures that explain themselves."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from grader.artifacts import ArtifactError, ModelArtifact, ProbeResult, WorkerArtifacts
from grader.probes import ProbePlan
from grader.results import Feedback, Text
from grader.rubric import Rubric


@dataclass
class CheckContext:
    plan: ProbePlan
    artifacts: WorkerArtifacts
    rubric: Rubric
    measured: dict[str, str] = field(default_factory=dict)  # check id -> value, shown with the verdict

    def probe(self, probe_id: str) -> ProbeResult:
        return self.artifacts.probes.get(probe_id, ProbeResult("crashed", error_type="not run"))

    def input(self, name: str) -> np.ndarray:
        return self.plan.inputs[name]


class CheckFailed(Exception):
    """A rubric entry is not met; carries the bilingual feedback for the student."""

    def __init__(self, feedback: Feedback) -> None:
        super().__init__(feedback.got)
        self.feedback = feedback


def fail(expected: Text, got: str, hint: Text) -> None:
    raise CheckFailed(Feedback(expected=expected, got=got, hint=hint))


def check(condition: bool, expected: Text, got: str, hint: Text) -> None:
    """Fail with expected / got / hint unless `condition` holds."""
    if not condition:
        fail(expected, got, hint)


CRASH_REASONS = {
    "timeout": Text("時間制限を超えたため停止されました", "stopped: it ran past its time limit"),
    "total_timeout": Text("提出物全体の時間制限を超えました", "the submission ran past its total time limit"),
    "memory": Text("メモリ上限を超えたため停止されました", "stopped: it used more memory than allowed"),
    "disk": Text("作業フォルダへの書き込みが上限を超えたため停止されました",
                 "stopped: it wrote more to its scratch folder than allowed"),
}


def value_of(ctx: CheckContext, probe_id: str, function: str) -> Any:
    """The value a probe returned, or a failure that says why there is none."""
    result = ctx.probe(probe_id)
    if result.status == "ok":
        return result.value
    if result.status == "missing":
        fail(Text(f"関数 {function} が定義されていること", f"a function named {function}"),
             f"{function} is not defined",
             Text("関数名とシグネチャが課題の仕様どおりか確認してください。",
                  "Check that the function name and signature match the assignment's contract."))
    if result.status == "error" and result.error_type == "NotImplementedError":
        fail(Text(f"{function} が実装されていること", f"{function} to be implemented"),
             f"{function} raised NotImplementedError",
             Text(f"{function} のスタブ（raise NotImplementedError）を実装に置き換えてください。",
                  f"Replace the stub (raise NotImplementedError) of {function} with your implementation."))
    if result.status == "error":
        fail(Text(f"{function} がエラーなく終わること", f"{function} to run without an error"),
             f"{result.error_type}: {result.error_message}",
             Text("エラーメッセージを読み、課題の入力（形状・dtype）で関数を試してください。",
                  "Read the error message and try the function on inputs of the contract's shapes and dtypes."))
    if result.status == "crashed":
        reason = CRASH_REASONS.get(result.error_type)
        fail(Text(f"{function} が制限内で終わること", f"{function} to finish within the limits"),
             reason.en if reason else f"the worker process ended ({result.error_type})",
             Text("無限ループ、sys.exit/os._exit、巨大なメモリ確保がないか確認してください。",
                  "Look for endless loops, sys.exit/os._exit, or huge memory allocations."))
    fail(Text(f"{function} の結果を読み取れること", f"a readable result from {function}"),
         result.error_message or "unreadable result",
         Text("numpy 配列・数値・文字列・Keras モデル・matplotlib の Figure を返してください。",
              "Return numpy arrays, numbers, strings, Keras models or matplotlib Figures."))


def call_outcomes(ctx: CheckContext, probe_id: str, function: str) -> list[dict]:
    """The outcome of each call of a `calls` probe; a NotImplementedError anywhere fails at once."""
    outcomes = value_of(ctx, probe_id, function)
    if not isinstance(outcomes, list) or not all(isinstance(o, dict) for o in outcomes):
        fail(Text("呼び出しごとの結果", "one outcome per call"), "malformed probe result",
             Text("", ""))
    for outcome in outcomes:
        if outcome.get("raised") == "NotImplementedError":
            ctx.artifacts.probes[probe_id] = ProbeResult("error", error_type="NotImplementedError")
            value_of(ctx, probe_id, function)
    return outcomes


def returned(outcome: dict, function: str, description: str) -> Any:
    """The value one call returned, or a failure naming the exception it raised."""
    if "raised" in outcome:
        fail(Text(f"{function}({description}) が値を返すこと", f"{function}({description}) to return a value"),
             f"raised {outcome['raised']}: {outcome.get('message', '')}",
             Text("この入力でも動くか確認してください（N=1 のような端のケースも）。",
                  "Make sure it works for this input too (edge cases such as N=1 included)."))
    if outcome.get("mutated_args"):
        fail(Text(f"{function} が入力配列を書き換えないこと", f"{function} not to modify its input arrays"),
             f"argument(s) {outcome['mutated_args']} changed during the call",
             Text("入力を直接変更せず、x = images / 255.0 のように新しい配列を作ってください。",
                  "Do not modify the input in place; create a new array, e.g. x = images / 255.0."))
    return outcome.get("returned")


def as_array(value: Any, what: str) -> np.ndarray:
    check(isinstance(value, np.ndarray), Text(f"{what} が numpy 配列であること", f"{what} to be a numpy array"),
          f"{type(value).__name__}",
          Text("np.asarray(...) で numpy 配列にして返してください。", "Return a numpy array (np.asarray(...))."))
    return value


def built_model(value: Any, function: str):
    """Rebuild a model the worker exported, in the grader (allow-listed layers only)."""
    check(isinstance(value, ModelArtifact),
          Text(f"{function} が Keras モデルを返すこと", f"{function} to return a Keras model"),
          f"returned {type(value).__name__}",
          Text("Sequential モデルを作り、compile してから return してください。",
               "Build a Sequential model, compile it, and return it."))
    try:
        return value.build()
    except ArtifactError as exc:
        fail(Text("Keras の標準レイヤーだけでできたモデル", "a model made of built-in Keras layers"),
             str(exc),
             Text("keras.Sequential と Conv2D/MaxPooling2D/Flatten/Dense などの標準レイヤーを使ってください。",
                  "Use keras.Sequential with built-in layers such as Conv2D, MaxPooling2D, Flatten, Dense."))


def shape_text(shape) -> str:
    return "(" + ", ".join("N" if d is None else str(d) for d in shape) + ")"
