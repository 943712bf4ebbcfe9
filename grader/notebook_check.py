"""check(): the visible checks, run in the student's notebook on the functions of the live kernel.

The student kit (grader/student_kit.py) ships this module with the visible checks. The checks are
the grader's own code (checks/visible/) fed by a second transport: instead of reading what the
sandboxed worker wrote, the kit calls the kernel's functions itself with export.py (as the worker's
harness does), writes what they return into a scratch folder and reads it back with artifacts.py,
so a check sees exactly the values it would see in the grader. There is no sandbox and no time
limit: it is the student's own machine, and the result is advice, not a grade. The probe inputs
come from a fixed public seed (the grader draws its own per submission).

Relative imports only: in the kit this is `cnn1_check.notebook_check`.
"""

from __future__ import annotations

import contextlib
import html
import json
import os
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import export, protocol
from .artifacts import ReadBudget, WorkerArtifacts, read_probe
from .checks.support import CheckContext, CheckFailed
from .checks.visible import test_part_a, test_part_b, test_part_c
from .probe_inputs import ProbePlan, random_images, visible_probes
from .results import Feedback, Text

PUBLIC_SEED = 31_762
VISIBLE_RUBRIC_FILE = "visible_rubric.json"  # written into the kit by grader/student_kit.py
CHECK_MODULES = (test_part_a, test_part_b, test_part_c)
NOT_A_CHECK = Feedback(
    expected=Text("チェックが最後まで動くこと", "the check to run to the end"),
    got="the check itself stopped with an error",
    hint=Text("採点システムの不具合の可能性があります。講師に知らせてください。",
              "This may be a fault of the checker; please tell your instructor."))


@dataclass(frozen=True)
class VisibleCheck:
    """A visible rubric entry, as the kit ships it."""

    id: str
    function: str
    part: str
    points: float
    title: Text


@dataclass
class Verdict:
    check: VisibleCheck
    passed: bool
    feedback: Feedback | None
    seconds: float


# ------------------------------------------------------------------ what the kit checks
def visible_checks(rubric=None) -> list[VisibleCheck]:
    """The visible entries of the rubric: from the kit's file, or in the grader's source tree from
    `rubric` (a grader.rubric.Rubric)."""
    if rubric is not None:
        return [VisibleCheck(c.id, c.function, c.part, c.points, c.title)
                for c in rubric.checks if c.visibility == "visible"]
    entries = json.loads(Path(__file__).with_name(VISIBLE_RUBRIC_FILE).read_text(encoding="utf-8"))
    return [VisibleCheck(e["id"], e["function"], e["part"], float(e["points"]), Text(e["title_ja"], e["title_en"]))
            for e in entries]


def rubric_entries(checks: list[VisibleCheck]) -> list[dict]:
    """The JSON the kit ships (the inverse of visible_checks)."""
    return [{"id": c.id, "function": c.function, "part": c.part, "points": c.points,
             "title_ja": c.title.ja, "title_en": c.title.en} for c in checks]


def check_function(check_id: str):
    """The test_<id> function of a visible check."""
    for module in CHECK_MODULES:
        function = getattr(module, f"test_{check_id}", None)
        if function is not None:
            return function
    raise LookupError(check_id)


def kit_plan(seed: int = PUBLIC_SEED) -> ProbePlan:
    """The visible probes with inputs from a public seed, and small synthetic datasets that
    mnist/cifar10.load_data() return while the kit runs (nothing downloads)."""
    rng = np.random.default_rng(seed)
    inputs: dict[str, np.ndarray] = {}

    def put(name: str, array: np.ndarray) -> dict:
        inputs[name] = array
        return {"npy": name}

    probes = visible_probes(rng, put)
    notebook_data = {"mnist": _synthetic_dataset(rng, (28, 28), column_labels=False),
                     "cifar10": _synthetic_dataset(rng, (32, 32, 3), column_labels=True)}
    return ProbePlan(seed, {"seed": seed, "probes": probes}, inputs, notebook_data)


def _synthetic_dataset(rng, shape: tuple, column_labels: bool) -> dict[str, np.ndarray]:
    """Random images shaped as Keras' load_data() returns them (CIFAR labels are (N, 1))."""
    def labels(count: int) -> np.ndarray:
        y = rng.integers(0, 10, size=count).astype(np.uint8)
        return y.reshape(-1, 1) if column_labels else y
    return {"x_train": random_images(rng, 24, shape), "y_train": labels(24),
            "x_test": random_images(rng, 8, shape), "y_test": labels(8)}


# ------------------------------------------------------------------ the live transport
@dataclass
class LiveContext(CheckContext):
    """A CheckContext whose probes run on demand: the first time a check asks for one, the kernel's
    function is called on the probe's inputs and its values go through export.py and artifacts.py,
    as they would from the worker."""

    namespace: dict = field(default_factory=dict)
    folder: Path = Path(".")
    loads: list = field(default_factory=list)        # datasets the served loaders handed out
    real_loaders: dict = field(default_factory=dict)  # dataset -> the kernel's own load_data

    def probe(self, probe_id: str):
        if probe_id not in self.artifacts.probes:
            self.artifacts.probes[probe_id] = self.run_probe(probe_id)
        return self.artifacts.probes[probe_id]

    def run_probe(self, probe_id: str):
        probe = self.plan.probe(probe_id)
        folder = self.folder / probe_id
        folder.mkdir(parents=True, exist_ok=True)
        name = probe.get("function") or probe.get("name")
        if name not in self.namespace:
            result = {"status": protocol.STATUS_MISSING, "error": {"type": "FunctionMissing", "message": name}}
        else:
            loads_before = len(self.loads)
            result = self.call_live(probe, name, folder)
            if probe_id == "load_cifar10" and "cifar10" not in self.loads[loads_before:]:
                self.use_data_loaded_before("cifar10")
        export.write_result(str(folder), result)
        return read_probe(folder, ReadBudget())

    def call_live(self, probe: dict, name: str, folder: Path) -> dict:
        """The kernel's function called on the probe's inputs, on a figure of its own (the student's
        figures stay as they were, and plt.show() shows nothing)."""
        import keras
        import matplotlib.pyplot as plt
        current = plt.gcf() if plt.get_fignums() else None
        figures_before = set(plt.get_fignums())
        show, plt.show = plt.show, lambda *args, **kwargs: None
        plt.figure()
        inputs = export.ProbeInputs(lambda input_name: self.plan.inputs[input_name].copy(), keras)
        try:
            if probe["kind"] == protocol.PROBE_ATTRIBUTE:
                value = self.namespace[name]
            else:
                value = export.call_each(self.namespace[name], probe["calls"], inputs)
            return {"status": protocol.STATUS_OK, "value": export.Exporter(str(folder), keras, plt).encode(value)}
        except KeyboardInterrupt:
            raise
        except BaseException as exc:  # SystemExit too: the worker reports it as an error, so does the kit
            return {"status": protocol.STATUS_ERROR, "error": {"type": type(exc).__name__, "message": str(exc)[:500]}}
        finally:
            plt.show = show
            for number in set(plt.get_fignums()) - figures_before:
                plt.close(number)
            if current is not None and plt.fignum_exists(current.number):
                plt.figure(current.number)

    def use_data_loaded_before(self, dataset: str) -> None:
        """The function returned data without calling load_data while the kit served its own: in the
        worker every load serves the grader's subset, so the data the kernel loaded earlier is what
        the worker's would be. Compared with the real dataset when Keras has it cached (no download)."""
        loader = self.real_loaders.get(dataset)
        if loader is None or not keras_cache_has(dataset):
            return
        (x_train, y_train), (x_test, y_test) = loader()
        self.plan.notebook_data[dataset] = {"x_train": x_train, "y_train": y_train, "x_test": x_test, "y_test": y_test}


def keras_cache_has(dataset: str) -> bool:
    """Whether Keras' cache (~/.keras or $KERAS_HOME) holds the dataset, so loading it downloads nothing."""
    folder = Path(os.environ.get("KERAS_HOME", Path.home() / ".keras")) / "datasets"
    pattern = {"cifar10": "cifar-10-batches-py*", "mnist": "mnist.npz"}[dataset]
    return any(folder.glob(pattern))


@contextlib.contextmanager
def offline_datasets(plan: ProbePlan, folder: Path, namespace: dict):
    """mnist/cifar10.load_data() return the plan's small synthetic datasets while the checks run,
    also where the notebook bound the function to a name of its own (`from ... import load_data`).
    Yields the served loads and the kernel's own loaders by dataset."""
    data = folder / protocol.DATA_DIR
    data.mkdir(parents=True, exist_ok=True)
    for name, arrays in plan.notebook_data.items():
        np.savez(data / f"{name}.npz", **arrays)
    loads: list[str] = []
    replaced = export.install_dataset_loaders(str(data), loads)
    served = {id(original): module.load_data for module, original in replaced}
    rebound = {key: value for key, value in namespace.items() if id(value) in served}
    namespace.update({key: served[id(value)] for key, value in rebound.items()})
    real = {module.__name__.rsplit(".", 1)[-1]: original for module, original in replaced}
    try:
        yield loads, real
    finally:
        for module, original in replaced:
            module.load_data = original
        namespace.update(rebound)


def run_checks(names: list[str] | None = None, namespace: dict | None = None,
               checks: list[VisibleCheck] | None = None) -> list[Verdict]:
    """The verdicts of the visible checks named (check ids or contract function names; all when
    None) on the functions in `namespace` (the notebook's: __main__)."""
    checks = visible_checks() if checks is None else checks
    chosen = [c for c in checks if names is None or c.id in names or c.function in names]
    namespace = sys.modules["__main__"].__dict__ if namespace is None else namespace
    plan = kit_plan()
    verdicts = []
    with tempfile.TemporaryDirectory(prefix="cnn1_check_") as scratch, \
            offline_datasets(plan, Path(scratch), namespace) as (loads, real_loaders):
        context = LiveContext(plan=plan, artifacts=WorkerArtifacts(probes={}), rubric=None, namespace=namespace,
                              folder=Path(scratch), loads=loads, real_loaders=real_loaders)
        for entry in chosen:
            context.current_check = entry.id
            started = time.perf_counter()
            try:
                check_function(entry.id)(context)
                passed, feedback = True, None
            except CheckFailed as failure:
                passed, feedback = False, failure.feedback
            except Exception:  # a fault of the checker, never the student's: say so
                passed, feedback = False, NOT_A_CHECK
            verdicts.append(Verdict(entry, passed, feedback, time.perf_counter() - started))
    return verdicts


# ------------------------------------------------------------------ what the student sees
LABELS = {"ja": {"expected": "期待", "got": "結果", "hint": "ヒント", "passed": "合格", "failed": "要修正",
                 "summary": "公開チェック {passed}/{total} 件合格（提出後の採点には非公開のチェックもあります）。"
                            "提出前に、カーネルを再起動してすべてのセルを実行してから check() してください。",
                 "unknown": "{name!r} という関数・チェックはありません。次のどれかを指定してください: {known}",
                 "points": "点"},
          "en": {"expected": "expected", "got": "got", "hint": "hint", "passed": "passed", "failed": "to fix",
                 "summary": "{passed}/{total} visible checks passed (the grade after submission also has hidden "
                            "checks). Before submitting, restart the kernel, run all cells, then check().",
                 "unknown": "There is no function or check named {name!r}. Use one of: {known}",
                 "points": "points"}}


@dataclass
class CheckReport:
    """The verdicts as Jupyter, Colab and VS Code show them (HTML) or a terminal prints them (text)."""

    verdicts: list[Verdict]
    lang: str = "ja"
    problem: str = ""

    @property
    def passed(self) -> bool:
        return not self.problem and all(v.passed for v in self.verdicts)

    def _labels(self) -> dict:
        return LABELS["en" if self.lang == "en" else "ja"]

    def summary(self) -> str:
        return self.problem or self._labels()["summary"].format(
            passed=sum(v.passed for v in self.verdicts), total=len(self.verdicts))

    def __str__(self) -> str:
        labels, lines = self._labels(), []
        for verdict in self.verdicts:
            mark = "✔" if verdict.passed else "✘"
            lines.append(f"{mark} [{labels['passed'] if verdict.passed else labels['failed']}] "
                         f"{verdict.check.title.in_lang(self.lang)} ({verdict.check.points:g} {labels['points']})")
            if verdict.feedback is not None:
                lines += [f"    {labels['expected']}: {verdict.feedback.expected.in_lang(self.lang)}",
                          f"    {labels['got']}: {verdict.feedback.got}",
                          f"    {labels['hint']}: {verdict.feedback.hint.in_lang(self.lang)}"]
        return "\n".join([*lines, self.summary()])

    __repr__ = __str__

    def _repr_html_(self) -> str:
        labels, rows = self._labels(), []
        for verdict in self.verdicts:
            colour = "#1a7f37" if verdict.passed else "#cf222e"
            status = labels["passed"] if verdict.passed else labels["failed"]
            detail = ""
            if verdict.feedback is not None:
                detail = "<ul style='margin:2px 0'>" + "".join(
                    f"<li><b>{html.escape(label)}</b>: {html.escape(text)}</li>" for label, text in (
                        (labels["expected"], verdict.feedback.expected.in_lang(self.lang)),
                        (labels["got"], verdict.feedback.got),
                        (labels["hint"], verdict.feedback.hint.in_lang(self.lang)))) + "</ul>"
            rows.append(f"<div style='margin:4px 0'><span style='color:{colour};font-weight:bold'>"
                        f"{'✔' if verdict.passed else '✘'} {html.escape(status)}</span> "
                        f"{html.escape(verdict.check.title.in_lang(self.lang))} "
                        f"({verdict.check.points:g} {html.escape(labels['points'])}){detail}</div>")
        return "<div>" + "".join(rows) + f"<p><i>{html.escape(self.summary())}</i></p></div>"


def check(name: str | None = None, lang: str = "ja", namespace: dict | None = None) -> CheckReport:
    """Run the visible checks of one contract function or check id (all of them when `name` is
    None) on the notebook's functions; the report shows itself as the cell's output."""
    lang = "en" if str(lang).lower().startswith("en") else "ja"
    checks = visible_checks()
    known = sorted({c.function for c in checks} | {c.id for c in checks})
    if name is not None and name not in known:
        return CheckReport([], lang, LABELS["en" if lang == "en" else "ja"]["unknown"].format(
            name=name, known=", ".join(known)))
    return CheckReport(run_checks(None if name is None else [name], namespace, checks), lang)
