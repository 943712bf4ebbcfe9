"""The `grade` command line: a thin layer over grade_submission, validate, run_batch, write_bundle.

    grade SUBMISSION [--lang ja|en] [--student] [--json PATH|-] [--gradescope PATH] [--html PATH]
    grade validate [--jobs N]
    grade batch INPUT --out DIR [--jobs N] [--layout ...] [--scheduler ADDR] [--canvas-csv] [--moodle-csv]
    grade gradescope-bundle OUT.zip [--with-data]

Exit codes: 0 graded (whatever the score) / validation passed; 1 validation found problems;
2 wrong command line; 3 the submission or batch input cannot be read; 4 the grader failed;
5 the installation is incomplete (datasets missing, rubric broken).

TensorFlow's start-up messages stay off the instructor's screen: they are logged before any of
TensorFlow's settings apply, so every command runs with its stderr (inherited by a batch's pool
processes) passing through a filter that drops them (grader/reports/framework_noise.py). With
`--json -` stdout carries only the JSON: whatever prints while grading goes to stderr.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TextIO

EXIT_OK = 0
EXIT_VALIDATION_FAILED = 1
EXIT_USAGE = 2
EXIT_BAD_INPUT = 3
EXIT_GRADER_ERROR = 4
EXIT_SETUP = 5
SUBCOMMANDS = ("validate", "batch", "gradescope-bundle", "student-kit")


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `grade` console script."""
    # Hides TensorFlow's log messages after its start-up (CPU instruction notes, warnings); those
    # before it are left to the stderr filter.
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] in SUBCOMMANDS:
        command, rest = argv[0], argv[1:]
    else:
        command, rest = "grade", argv
    parser = PARSERS[command]()
    args = parser.parse_args(rest)
    from grader.datasets import DatasetUnavailable
    from grader.rubric import RubricError
    from grader.secret import SaltUnavailable
    with stderr_without_framework_noise() as unfiltered_stderr:
        args.unfiltered_stderr = unfiltered_stderr
        try:
            return COMMANDS[command](args)
        except (DatasetUnavailable, RubricError, SaltUnavailable) as problem:
            print(f"grade: {clean_line(problem)}", file=sys.stderr)
            return EXIT_SETUP


def clean_line(value: object) -> str:
    """`value` without control characters, for messages that may quote a submission or a file name."""
    from grader.reports.safe_text import clean_line as clean
    return clean(value)


# ------------------------------------------------------------------ what reaches the terminal
@contextlib.contextmanager
def stderr_without_framework_noise() -> Iterator[TextIO]:
    """Run the block with file descriptor 2 going through a filter of TensorFlow's start-up noise.

    The filter is a small process of its own, not a thread: when the grader crashes (a fault in
    TensorFlow), the last lines it wrote, the ones worth reading, still get through. Child processes
    inherit the filtered stderr. Yields a stream on the unfiltered stderr, for live displays that
    redraw a line without ending it (a line filter would hold them back).
    """
    from grader.reports import framework_noise
    sys.stderr.flush()
    original = os.dup(2)
    try:
        # Run as a file in isolated mode: it imports nothing of the project (grader/reports/html.py
        # would shadow the standard library's html). A session of its own keeps Ctrl-C, meant for the
        # grader, from ending the filter first, and with it the grader's last words.
        noise_filter = subprocess.Popen([sys.executable, "-I", framework_noise.__file__], stdin=subprocess.PIPE,
                                        stdout=original, close_fds=True, start_new_session=True)
    except OSError:  # no filter is better than no grading
        os.close(original)
        yield sys.stderr
        return
    os.dup2(noise_filter.stdin.fileno(), 2)
    noise_filter.stdin.close()
    terminal = open(os.dup(original), "w", encoding="utf-8", errors="backslashreplace", buffering=1)
    try:
        yield terminal
    finally:
        terminal.close()
        sys.stderr.flush()
        os.dup2(original, 2)  # our last end of the pipe: the filter reads to its end and exits
        os.close(original)
        with contextlib.suppress(subprocess.TimeoutExpired):
            noise_filter.wait(timeout=5)  # a process still holding the pipe keeps it; it exits after


@contextlib.contextmanager
def stdout_into_stderr() -> Iterator[None]:
    """Run the block with file descriptor 1 pointing at stderr, so that stdout stays clean.

    For `--json -`: Keras' "Downloading data from …", a library's print or a child process writing
    to its inherited stdout would otherwise end up inside the JSON.
    """
    sys.stdout.flush()
    saved = os.dup(1)
    os.dup2(2, 1)
    try:
        yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)


# ------------------------------------------------------------------ options shared by the commands
def add_grading_options(parser: argparse.ArgumentParser) -> None:
    limits = parser.add_argument_group("grading limits and data")
    limits.add_argument("--data-dir", type=Path, help="folder with mnist.npz and cifar10.npz "
                        "(default: $CNN_GRADER_DATA_DIR, else ~/.keras/datasets)")
    limits.add_argument("--cell-timeout", type=float, default=60.0, help="seconds per notebook cell (60)")
    limits.add_argument("--probe-timeout", type=float, default=120.0, help="seconds per function call (120)")
    limits.add_argument("--timeout", type=float, default=600.0, help="seconds per submission (600)")
    limits.add_argument("--memory-mb", type=int, default=4096, help="memory cap of the worker (4096)")
    limits.add_argument("--sandbox", choices=("auto", "bwrap", "process"), default="auto",
                        help="auto: bubblewrap when it works here, else a plain process")
    from grader.grade import MODES, GradeOptions
    limits.add_argument("--mode", choices=MODES, default=GradeOptions.mode,
                        help="contract: the template's functions; free: a chapter-style notebook, traced "
                             "(assignment/rubric_free.toml); auto: free when no contract function is defined")


def grading_options(args: argparse.Namespace):
    from grader.grade import GradeOptions
    return GradeOptions(data_dir=args.data_dir, cell_seconds=args.cell_timeout, probe_seconds=args.probe_timeout,
                        total_seconds=args.timeout, memory_mb=args.memory_mb, sandbox=args.sandbox, mode=args.mode)


# ------------------------------------------------------------------ grade SUBMISSION
def grade_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="grade", description="Grade one submission (.ipynb or .py) of the "
                                     "CNN I assignment. Subcommands: " + ", ".join(SUBCOMMANDS) + ".")
    parser.add_argument("submission", type=Path, help="the student's notebook or Python file")
    parser.add_argument("--lang", choices=("ja", "en"), default="ja", help="language of the terminal report")
    parser.add_argument("--student", action="store_true",
                        help="student view: only the checks the rubric marks visible")
    parser.add_argument("--json", metavar="PATH", help="write the result as JSON to PATH ('-' for stdout)")
    parser.add_argument("--gradescope", type=Path, metavar="PATH", help="write Gradescope's results.json to PATH")
    parser.add_argument("--html", type=Path, metavar="PATH", help="write the feedback page to PATH")
    add_grading_options(parser)
    return parser


def run_grade(args: argparse.Namespace) -> int:
    from rich.console import Console

    from grader.reports.json_report import render_json
    from grader.results import GRADED, INVALID_SUBMISSION

    json_to_stdout = args.json == "-"
    with stdout_into_stderr() if json_to_stdout else contextlib.nullcontext():
        try:
            result = grade_and_write(args)
        except RuntimeError as problem:  # e.g. --sandbox bwrap where bubblewrap cannot run
            print(f"grade: {clean_line(problem)}", file=sys.stderr)
            return EXIT_USAGE
    shown = shown_result(result, args)
    if json_to_stdout:
        print(render_json(shown))
    else:
        from grader.reports.terminal import render_terminal
        render_terminal(shown, lang=args.lang, console=Console())
    if result.status == INVALID_SUBMISSION:
        print(f"grade: {clean_line(result.reason.en if result.reason else args.submission)}", file=sys.stderr)
        return EXIT_BAD_INPUT
    return EXIT_OK if result.status == GRADED else EXIT_GRADER_ERROR


def shown_result(result, args: argparse.Namespace):
    """The result as the reports of this command show it: the student view with --student."""
    from grader.reports import for_students
    return for_students(result) if args.student else result


def grade_and_write(args: argparse.Namespace):
    """Grade the submission and write the report files asked for (Gradescope, HTML, JSON file)."""
    from grader.grade import grade_submission
    from grader.reports.gradescope import write_gradescope_results
    from grader.reports.html import write_feedback_html
    from grader.reports.json_report import write_json

    result = grade_submission(args.submission, grading_options(args))
    shown = shown_result(result, args)
    if args.gradescope:
        write_gradescope_results(result, args.gradescope)  # it makes its own student-safe texts
    if args.html:
        write_feedback_html(shown, args.html)
    if args.json and args.json != "-":
        write_json(shown, Path(args.json))
    return result


# ------------------------------------------------------------------ grade validate
def validate_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="grade validate", description="Prove the checks: reference 100, "
                                     "template 0, rubric consistent, each faulty variant fails its check.")
    parser.add_argument("--jobs", type=int, default=1, help="gradings in parallel (1)")
    add_grading_options(parser)
    return parser


def run_validate(args: argparse.Namespace) -> int:
    from rich.console import Console

    from grader.validate import validate
    report = validate(jobs=args.jobs, options=grading_options(args), console=Console())
    return EXIT_OK if report.ok else EXIT_VALIDATION_FAILED


# ------------------------------------------------------------------ grade batch
def batch_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="grade batch", description="Grade a whole class from an LMS export "
                                     "(folder or .zip): grades.csv, feedback pages, summary page. Resumable.")
    parser.add_argument("input", type=Path, help="folder or .zip of submissions")
    parser.add_argument("--out", type=Path, required=True, help="output folder (reused to resume)")
    parser.add_argument("--jobs", type=int, help="gradings in parallel (default: what cores and memory allow)")
    parser.add_argument("--layout", choices=("auto", "plain", "canvas", "moodle", "gradescope"), default="auto")
    parser.add_argument("--scheduler", help="Dask scheduler address tcp://host:port, or local:N")
    parser.add_argument("--canvas-csv", action="store_true", help="also write a Canvas gradebook import CSV")
    parser.add_argument("--canvas-assignment", help="assignment column title for the Canvas CSV")
    parser.add_argument("--moodle-csv", action="store_true", help="also write a Moodle grading worksheet CSV")
    parser.add_argument("--feedback-view", choices=("student", "instructor"), default="student",
                        help="feedback pages show only visible checks (student) or all (instructor)")
    add_grading_options(parser)
    return parser


def run_batch_command(args: argparse.Namespace) -> int:
    from grader.batch import BatchError, run_batch
    from rich.console import Console
    try:
        run_batch(args.input, args.out, jobs=args.jobs, layout=args.layout, options=grading_options(args),
                  scheduler=args.scheduler, canvas_csv=args.canvas_csv, moodle_csv=args.moodle_csv,
                  canvas_assignment=args.canvas_assignment, feedback_view=args.feedback_view,
                  console=Console(file=args.unfiltered_stderr))  # its live progress redraws lines: unfiltered
    except BatchError as problem:
        print(f"grade batch: {clean_line(problem)}", file=sys.stderr)
        return EXIT_BAD_INPUT
    return EXIT_OK


# ------------------------------------------------------------------ grade gradescope-bundle
def bundle_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="grade gradescope-bundle",
                                     description="Write the Gradescope autograder zip (setup.sh + run_autograder).")
    parser.add_argument("out", type=Path, help="the zip to write")
    parser.add_argument("--with-data", type=Path, metavar="DATA_DIR",
                        help="put mnist.npz and cifar10.npz from DATA_DIR into the zip (no network on Gradescope)")
    return parser


def run_bundle(args: argparse.Namespace) -> int:
    from grader.gradescope_bundle import write_bundle
    try:
        path = write_bundle(args.out, data_dir=args.with_data)
    except FileNotFoundError as problem:
        print(f"grade gradescope-bundle: {clean_line(problem)}", file=sys.stderr)
        return EXIT_BAD_INPUT
    print(f"wrote {path}")
    return EXIT_OK


# ------------------------------------------------------------------ grade student-kit
def student_kit_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="grade student-kit",
                                     description="Write what students get: the template (.ipynb, .py) and the "
                                                 "checker's wheel, which holds the visible checks only.")
    parser.add_argument("out", type=Path, help="the folder to write into")
    return parser


def run_student_kit(args: argparse.Namespace) -> int:
    from grader.student_kit import KitError, build_student_kit
    try:
        kit = build_student_kit(args.out)
    except (KitError, OSError) as problem:
        print(f"grade student-kit: {clean_line(problem)}", file=sys.stderr)
        return EXIT_BAD_INPUT
    print(f"wrote {kit.notebook}, {kit.script} and {kit.wheel} ({kit.wheel.stat().st_size / 1024:.0f} KiB)")
    return EXIT_OK


PARSERS = {"grade": grade_parser, "validate": validate_parser, "batch": batch_parser,
           "gradescope-bundle": bundle_parser, "student-kit": student_kit_parser}
COMMANDS = {"grade": run_grade, "validate": run_validate, "batch": run_batch_command,
            "gradescope-bundle": run_bundle, "student-kit": run_student_kit}


if __name__ == "__main__":
    sys.exit(main())
