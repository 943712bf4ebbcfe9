"""Run the hidden checks (pytest, in the grader's process) and turn their outcomes into scores."""

from __future__ import annotations

import contextlib
import io
import os
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from grader.checks.support import FLAGGED, CheckContext, CheckFailed
from grader.results import FAILED, PASSED, CheckResult, Feedback, IntegrityFlag, Text
from grader.rubric import Rubric

CHECKS_DIR = Path(__file__).with_name("checks")
FREE_CHECKS_DIR = Path(__file__).with_name("free_checks")  # free-form mode (assignment/rubric_free.toml)
GRADER_FAULT = Feedback(
    expected=Text("採点が完了すること", "the check to complete"),
    got="the check itself failed (a grader error, not your fault)",
    hint=Text("講師に連絡してください。", "Please tell your instructor."))


@dataclass
class CheckOutcomes:
    """What pytest reported, keyed by rubric id; `unknown` holds tests that match no rubric entry."""

    passed: set[str] = field(default_factory=set)
    feedback: dict[str, Feedback] = field(default_factory=dict)
    grader_faults: dict[str, str] = field(default_factory=dict)
    unknown: list[str] = field(default_factory=list)
    measured: dict[str, str] = field(default_factory=dict)
    flags: list[IntegrityFlag] = field(default_factory=list)


class _ContextPlugin:
    """Gives the checks their `ctx` fixture and collects each test's outcome."""

    def __init__(self, context: CheckContext, rubric_ids: set[str]) -> None:
        self.context = context
        self.rubric_ids = rubric_ids
        self.outcomes = CheckOutcomes()

    @pytest.fixture
    def ctx(self) -> CheckContext:
        return self.context

    def pytest_runtest_setup(self, item):
        self.context.current_check = item.name.removeprefix("test_")

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(self, item, call):
        report = (yield).get_result()
        check_id = item.name.removeprefix("test_")
        if check_id not in self.rubric_ids:
            if report.when == "call":
                self.outcomes.unknown.append(item.name)
            return
        if report.when == "call" and report.passed:
            self.outcomes.passed.add(check_id)
        elif report.failed and call.excinfo is not None:
            error = call.excinfo.value
            if isinstance(error, CheckFailed):
                self.outcomes.feedback[check_id] = error.feedback
            else:
                self.outcomes.grader_faults[check_id] = f"{type(error).__name__}: {error}"[:500]


def run_checks(context: CheckContext, rubric: Rubric, checks_dir: Path = CHECKS_DIR) -> CheckOutcomes:
    """Run every check test against `context`; quiet, no cache, no plugins from the environment."""
    plugin = _ContextPlugin(context, {c.id for c in rubric.checks})
    # The grader reads each failed check's exception, never pytest's report of it: native tracebacks
    # spare pytest parsing every frame's source and printing its arguments. Without the unraisable-
    # and thread-exception plugins: each ends the session with a gc.collect() over the grader's
    # whole heap (0.2 s with Keras loaded), and neither changes an outcome.
    arguments = [str(checks_dir), "-q", "-p", "no:cacheprovider", "-p", "no:unraisableexception",
                 "-p", "no:threadexception", "--tb=native", "--import-mode=importlib",
                 "-o", "python_files=test_*.py", "-o", "addopts=", "--rootdir", str(checks_dir)]
    with (contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()),
          _without_pytest_environment()):
        pytest.main(arguments, plugins=[plugin])
    plugin.outcomes.measured = dict(context.measured)
    plugin.outcomes.flags = list(context.flags)
    return plugin.outcomes


# What pytest reads from the environment: options (an instructor's PYTEST_ADDOPTS="-x" or "-n 4" would
# stop or spread the checks) and plugins, named or installed, that could change their outcomes.
PYTEST_ENVIRONMENT = {"PYTEST_ADDOPTS": None, "PYTEST_PLUGINS": None, "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}


@contextlib.contextmanager
def _without_pytest_environment():
    """The checks' pytest run sees none of PYTEST_ENVIRONMENT's variables but its own values."""
    saved = {name: os.environ.get(name) for name in PYTEST_ENVIRONMENT}
    try:
        for name, value in PYTEST_ENVIRONMENT.items():
            _set_environment(name, value)
        yield
    finally:
        for name, value in saved.items():
            _set_environment(name, value)


def _set_environment(name: str, value: str | None) -> None:
    if value is None:
        os.environ.pop(name, None)
    else:
        os.environ[name] = value


def score_checks(rubric: Rubric, outcomes: CheckOutcomes) -> list[CheckResult]:
    """One CheckResult per rubric entry: full points if its test passed, else none, with feedback.
    A check named by an integrity flag earns nothing, whatever its test said."""
    voided = {check for flag in outcomes.flags for check in flag.checks}
    results = []
    for entry in rubric.checks:
        passed = entry.id in outcomes.passed and entry.id not in voided
        feedback = [] if passed else [outcomes.feedback.get(entry.id, FLAGGED if entry.id in voided else GRADER_FAULT)]
        results.append(CheckResult(id=entry.id, part=entry.part, title=entry.title, max_points=entry.points,
                                   visibility=entry.visibility, status=PASSED if passed else FAILED,
                                   points=entry.points if passed else 0.0, feedback=feedback,
                                   measured=outcomes.measured.get(entry.id, "")))
    return results
