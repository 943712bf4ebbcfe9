"""The `grade` command line: a thin layer over grade_submission, validate, run_batch, write_bundle.

    grade SUBMISSION [--lang ja|en] [--student] [--json PATH|-] [--gradescope PATH] [--html PATH]
    grade validate [--jobs N]
    grade batch INPUT --out DIR [--jobs N] [--layout ...] [--scheduler ADDR] [--canvas-csv] [--moodle-csv]
    grade gradescope-bundle OUT.zip [--with-data]

Exit codes: 0 graded (whatever the score) / validation passed; 1 validation found problems;
2 wrong command line; 3 the submission or batch input cannot be read; 4 the grader failed;
5 the installation is incomplete (datasets missing, rubric broken).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

EXIT_OK = 0
EXIT_VALIDATION_FAILED = 1
EXIT_USAGE = 2
EXIT_BAD_INPUT = 3
EXIT_GRADER_ERROR = 4
EXIT_SETUP = 5
SUBCOMMANDS = ("validate", "batch", "gradescope-bundle")


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `grade` console script."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # keep TensorFlow's start-up noise off the terminal
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] in SUBCOMMANDS:
        command, rest = argv[0], argv[1:]
    else:
        command, rest = "grade", argv
    parser = PARSERS[command]()
    args = parser.parse_args(rest)
    from grader.datasets import DatasetUnavailable
    from grader.rubric import RubricError
    try:
        return COMMANDS[command](args)
    except (DatasetUnavailable, RubricError) as problem:
        print(f"grade: {problem}", file=sys.stderr)
        return EXIT_SETUP


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


def grading_options(args: argparse.Namespace):
    from grader.grade import GradeOptions
    return GradeOptions(data_dir=args.data_dir, cell_seconds=args.cell_timeout, probe_seconds=args.probe_timeout,
                        total_seconds=args.timeout, memory_mb=args.memory_mb, sandbox=args.sandbox)


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

    from grader.grade import grade_submission
    from grader.reports import for_students
    from grader.reports.gradescope import write_gradescope_results
    from grader.reports.html import write_feedback_html
    from grader.reports.json_report import write_json
    from grader.reports.terminal import render_terminal
    from grader.results import GRADED, INVALID_SUBMISSION

    try:
        options = grading_options(args)
        result = grade_submission(args.submission, options)
    except RuntimeError as problem:  # e.g. --sandbox bwrap where bubblewrap cannot run
        print(f"grade: {problem}", file=sys.stderr)
        return EXIT_USAGE
    shown = for_students(result) if args.student else result
    if args.gradescope:
        write_gradescope_results(result, args.gradescope)
    if args.html:
        write_feedback_html(shown, args.html)
    if args.json == "-":
        print(shown.to_json())
    else:
        if args.json:
            write_json(shown, Path(args.json))
        render_terminal(shown, lang=args.lang, console=Console())
    if result.status == INVALID_SUBMISSION:
        print(f"grade: {result.reason.en if result.reason else args.submission}", file=sys.stderr)
        return EXIT_BAD_INPUT
    return EXIT_OK if result.status == GRADED else EXIT_GRADER_ERROR


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
    try:
        run_batch(args.input, args.out, jobs=args.jobs, layout=args.layout, options=grading_options(args),
                  scheduler=args.scheduler, canvas_csv=args.canvas_csv, moodle_csv=args.moodle_csv,
                  canvas_assignment=args.canvas_assignment, feedback_view=args.feedback_view)
    except BatchError as problem:
        print(f"grade batch: {problem}", file=sys.stderr)
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
        print(f"grade gradescope-bundle: {problem}", file=sys.stderr)
        return EXIT_BAD_INPUT
    print(f"wrote {path}")
    return EXIT_OK


PARSERS = {"grade": grade_parser, "validate": validate_parser, "batch": batch_parser,
           "gradescope-bundle": bundle_parser}
COMMANDS = {"grade": run_grade, "validate": run_validate, "batch": run_batch_command,
            "gradescope-bundle": run_bundle}


if __name__ == "__main__":
    sys.exit(main())
