"""What the checks share: the context they read, and failures that explain themselves."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

# Relative imports: the student kit ships this module with the visible checks (grader/student_kit.py).
from .. import protocol
from ..artifacts import ArtifactError, ModelArtifact, ProbeResult, WorkerArtifacts
from ..compile_config import CompileSettings, TrainingRefused, compile_settings
from ..probe_inputs import ProbePlan
from ..results import TAMPERING, Feedback, IntegrityFlag, Text

if TYPE_CHECKING:
    from ..rubric import Rubric


@dataclass
class CheckContext:
    plan: ProbePlan
    artifacts: WorkerArtifacts
    rubric: Rubric
    measured: dict[str, str] = field(default_factory=dict)  # check id -> value, shown with the verdict
    flags: list[IntegrityFlag] = field(default_factory=list)
    current_check: str = ""  # set by grader.score before each check runs
    memo: dict = field(default_factory=dict)  # computations several checks share (replays)

    def probe(self, probe_id: str) -> ProbeResult:
        return self.artifacts.probes.get(probe_id, ProbeResult(protocol.STATUS_CRASHED, error_type="not run"))

    def input(self, name: str) -> np.ndarray:
        return self.plan.inputs[name]

    def flag(self, kind: str, detail: str) -> None:
        """Record an integrity finding against the running check (its points are then void)."""
        for index, known in enumerate(self.flags):
            if known.kind == kind and known.detail == detail:
                if self.current_check not in known.checks:
                    self.flags[index] = IntegrityFlag(kind, (*known.checks, self.current_check), detail)
                return
        self.flags.append(IntegrityFlag(kind, (self.current_check,), detail))


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


# Probes whose evidence the harness's instruments (the fit recorder) collect: a note of tampering
# from the harness voids the checks that read them. Other probes return plain values the grader
# checks itself; for them the note only flags the submission.
INSTRUMENTED_PROBES = (protocol.PROBE_TRAIN_MODEL, protocol.PROBE_CROSS_VALIDATE)

FLAGGED = Feedback(
    expected=Text("採点用の記録が改ざんされていないこと", "the grader's records left as they were"),
    got="the grader's records of this check were altered or do not match what it recomputed",
    hint=Text("この提出物は講師の確認対象になりました。", "This submission was flagged for your instructor's review."))


def flagged(ctx: CheckContext, kind: str, detail: str) -> None:
    """Record an integrity finding and fail the running check."""
    ctx.flag(kind, detail)
    raise CheckFailed(FLAGGED)


def value_of(ctx: CheckContext, probe_id: str, function: str) -> Any:
    """The value a probe returned, or a failure that says why there is none."""
    result = ctx.probe(probe_id)
    if result.tampering and ctx.plan.probe(probe_id)["kind"] in INSTRUMENTED_PROBES:
        flagged(ctx, TAMPERING, f"{probe_id}: " + "; ".join(result.tampering))
    if result.status == protocol.STATUS_OK:
        return result.value
    if result.status == protocol.STATUS_MISSING:
        fail(Text(f"関数 {function} が定義されていること", f"a function named {function}"),
             f"{function} is not defined",
             Text(f"関数 {function} がまだ定義されていません。関数名が課題の仕様どおりか、そのセルを実行したか確認してください。",
                  f"The function {function} is not defined yet: check its name against the assignment and run its cell."))
    if result.status == protocol.STATUS_ERROR and result.error_type == "NotImplementedError":
        fail(Text(f"{function} が実装されていること", f"{function} to be implemented"),
             f"{function} raised NotImplementedError",
             Text(f"関数 {function} はまだ実装されていません。スタブ（raise NotImplementedError）をあなたのコードに置き換えてください。",
                  f"The function {function} is not implemented yet: replace its stub (raise NotImplementedError) with your code."))
    if result.status == protocol.STATUS_ERROR:
        fail(Text(f"{function} がエラーなく終わること", f"{function} to run without an error"),
             f"{result.error_type}: {result.error_message}",
             Text("エラーメッセージを読み、課題の入力（形状・dtype）で関数を試してください。",
                  "Read the error message and try the function on inputs of the contract's shapes and dtypes."))
    if result.status == protocol.STATUS_CRASHED:
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
    """The outcome of each call of a probe, in the order of the calls; a NotImplementedError anywhere
    fails at once. An outcome missing, extra or out of place is never a pass: the harness writes one
    per call, so anything else means its result was rewritten inside the worker."""
    outcomes = value_of(ctx, probe_id, function)
    calls = ctx.plan.probe(probe_id).get("calls", [])
    if not isinstance(outcomes, list) or not all(isinstance(o, dict) for o in outcomes):
        flagged(ctx, TAMPERING, f"{probe_id}: the result is not a list of call outcomes")
    if [o.get(protocol.OUTCOME_CALL) for o in outcomes] != list(range(len(calls))):
        flagged(ctx, TAMPERING, f"{probe_id}: {len(outcomes)} outcomes for {len(calls)} calls, "
                                f"indices {[o.get(protocol.OUTCOME_CALL) for o in outcomes][:10]}")
    for outcome in outcomes:
        if outcome.get("raised") == "NotImplementedError":
            ctx.artifacts.probes[probe_id] = ProbeResult(protocol.STATUS_ERROR, error_type="NotImplementedError")
            value_of(ctx, probe_id, function)
    return outcomes


def calls_with_outcomes(ctx: CheckContext, probe_id: str, function: str) -> list[tuple[dict, list, dict]]:
    """Each call of a probe as (outcome, args, kwargs): what the worker was given, what came back."""
    outcomes = call_outcomes(ctx, probe_id, function)
    return [(outcome, args, kwargs) for outcome, (args, kwargs) in zip(outcomes, ctx.plan.calls(probe_id))]


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
        model = value.build()
    except ArtifactError as exc:
        fail(Text("Keras の標準レイヤーだけでできたモデル", "a model made of built-in Keras layers"),
             str(exc),
             Text("keras.Sequential と Conv2D/MaxPooling2D/Flatten/Dense などの標準レイヤーを使ってください。",
                  "Use keras.Sequential with built-in layers such as Conv2D, MaxPooling2D, Flatten, Dense."))
    try:  # a Sequential without an input shape has none until it sees data
        model.input_shape
    except (AttributeError, ValueError):
        fail(Text(f"{function} が入力形状の決まったモデルを返すこと", f"{function} to return a model with a known input shape"),
             "the model has no input shape (it was never built)",
             Text("keras.Input(shape=...) を最初に置くか、最初の層に input_shape=... を指定してください。",
                  "Start with keras.Input(shape=...) or give the first layer input_shape=...."))
    return model


def shape_text(shape) -> str:
    return "(" + ", ".join("N" if d is None else str(d) for d in shape) + ")"


def compile_settings_of(ctx: CheckContext, artifact: ModelArtifact, function: str) -> CompileSettings:
    """The validated compile settings of an exported model, cross-checked with the optimizer and loss
    the model held: the two disagree only when something edited the model after compile."""
    try:
        settings = compile_settings(artifact.compile)
    except TrainingRefused as exc:
        fail(Text(f"{function} が標準の設定で compile 済みのモデルを返すこと",
                  f"{function} to return a model compiled with built-in settings"), str(exc),
             Text("model.compile(optimizer='adam', loss='...', metrics=['accuracy']) を呼んでから return してください。",
                  "Call model.compile(optimizer='adam', loss='...', metrics=['accuracy']) before returning the model."))
    held = artifact.compiled_objects
    try:
        held_loss = compile_settings({"optimizer": settings.optimizer, "loss": held.get("loss")}).loss
    except TrainingRefused:
        held_loss = str(held.get("loss"))
    if held and (held.get("optimizer") != settings.optimizer["class_name"] or held_loss != settings.loss):
        flagged(ctx, TAMPERING, f"{function}: compiled with {settings.optimizer['class_name']}/{settings.loss}, "
                                f"but the model holds {held.get('optimizer')}/{held.get('loss')}")
    return settings
