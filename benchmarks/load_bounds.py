"""Time and peak memory of LOADING adversarial submissions (grader/load.py), one process per file.

    .venv/bin/python benchmarks/load_bounds.py [--before REV] [--timeout S] [--only NAME ...]

Builds files that attack the loader (IPython syntax that made the old conversion superlinear, code up
to the 5 MB cap, deep nesting, 100,000 cells, 190 MB of outputs, JSON made of millions of tiny values)
in a temporary folder, then loads each one with `load_submission` in a fresh Python process and prints
the wall and CPU time of the call (on a shared machine the CPU time is the steadier one), the peak
resident memory of that process, its growth over the process right after the imports, and the
verdict. The reference notebook is measured the same way for comparison.

With --before REV the same files are also loaded with grader/load.py as it was at git revision REV,
in the same run, side by side. A load that runs past --timeout seconds is stopped; every process may
use at most --memory-mb of address space (the machine is shared).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import psutil

PROJECT = Path(__file__).resolve().parent.parent
REFERENCE = PROJECT / "reference_solution" / "cnn_assignment_solution.ipynb"
MB = 1024 * 1024
CODE_CAP = 5 * MB - 64 * 1024      # just under the loader's code cap (5 MB), so the code is converted
LINES = 99_000                     # just under its line cap (100,000)

# The child imports what either version of the loader uses before the clock starts, so the time and
# memory measured are the load's own, not first imports.
CHILD = r"""
import importlib.util, json, resource, sys, time
from pathlib import Path
sys.setrecursionlimit(1000)
import nbformat, nbconvert.filters, IPython.core.inputtransformer2
module_file, path = sys.argv[1], Path(sys.argv[2])
if module_file:
    spec = importlib.util.spec_from_file_location("load_under_test", module_file)
    load = sys.modules[spec.name] = importlib.util.module_from_spec(spec)  # dataclasses look it up
    spec.loader.exec_module(load)
else:
    import grader.load as load
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
started, cpu_started = time.monotonic(), time.process_time()
try:
    submission = load.load_submission(path)
    verdict = f"{len(submission.cells)} cells"
except load.SubmissionUnreadable as exc:
    verdict = f"unreadable: {exc}"
except BaseException as exc:
    verdict = f"CRASH {type(exc).__name__}"
seconds, cpu = time.monotonic() - started, time.process_time() - cpu_started
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"seconds": seconds, "cpu": cpu, "peak_mb": peak / 1024, "growth_mb": (peak - base) / 1024,
                  "verdict": verdict}))
"""


# ------------------------------------------------------------------------------ the files
def notebook_text(cells: list[tuple[str, str]], outputs_json: str = "[]") -> str:
    """A v4 notebook as JSON text; `outputs_json` is spliced into the last code cell as is."""
    parts = []
    for number, (kind, source) in enumerate(cells):
        cell = {"cell_type": kind, "id": f"c{number}", "metadata": {}, "source": source}
        if kind == "code":
            cell.update(execution_count=None, outputs=[])
        parts.append(json.dumps(cell))
    if outputs_json != "[]":
        parts[-1] = parts[-1].replace('"outputs": []', '"outputs": ' + outputs_json)
    return ('{"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [' + ",\n".join(parts) + "]}")


def write_notebook(path: Path, cells: list[tuple[str, str]], outputs_json: str = "[]") -> None:
    path.write_text(notebook_text(cells, outputs_json), encoding="utf-8")


def repeat_to(unit: str, size: int, lines: int | None = None) -> str:
    """`unit` repeated up to `size` characters and, if given, `lines` lines."""
    count = size // len(unit)
    if lines is not None:
        count = min(count, lines // max(1, unit.count("\n")))
    return unit * max(1, count)


def bang_lines(size: int, width: int = 110, lines: int | None = None) -> str:
    line = "!pip install --quiet some-package==1.0 " + "x" * max(0, width - 40) + "\n"
    return repeat_to(line, size, lines)


def mixed_magics(size: int, lines: int | None = None) -> str:
    unit = ("%matplotlib inline\nx = %time f(1)\nfiles = !ls -la /tmp\nnp.mean?\n"
            "if x:\n    %load_ext autoreload\n!!date\n/print 1 2\n,f a b\n;g a b\n??np.add\n")
    return repeat_to(unit, size, lines)


def write_output_notebook(path: Path, opening: str, item: str, closing: str, total: int) -> None:
    """A notebook with one output: `opening`, `total` bytes of `item` repeated, `closing` (JSON text),
    written piece by piece so the parent never holds it."""
    before, after = notebook_text([("code", "x = 1"), ("code", "print('log')")]).rsplit('"outputs": []', 1)
    chunk = item * (MB // len(item))
    with path.open("w", encoding="utf-8") as handle:
        handle.write(before + '"outputs": [' + opening)
        for _ in range(total // len(chunk)):
            handle.write(chunk)
        handle.write(closing + "]" + after)


STREAM = '{"output_type": "stream", "name": "stdout", "text": ['
JSON_DATA = '{"output_type": "display_data", "metadata": {}, "data": {"application/json": ['


CASES: dict[str, Callable[[Path], None]] = {
    "reference.ipynb": lambda p: p.write_bytes(REFERENCE.read_bytes()),
    # IPython syntax: the old conversion re-tokenized the whole cell after each of these
    "bang_lines_50k.ipynb": lambda p: write_notebook(p, [("code", bang_lines(50 * 1024))]),
    "bang_lines_122k.ipynb": lambda p: write_notebook(p, [("code", bang_lines(122 * 1024))]),
    "bang_lines_5mb.ipynb": lambda p: write_notebook(p, [("code", bang_lines(CODE_CAP))]),
    "bang_short_lines_99k.ipynb": lambda p: write_notebook(p, [("code", repeat_to("!a\n", CODE_CAP, LINES))]),
    "magics_mixed_99k_lines.ipynb": lambda p: write_notebook(p, [("code", mixed_magics(CODE_CAP, LINES))]),
    "magics_8k_cells.ipynb": lambda p: write_notebook(p, [("code", mixed_magics(150))] * 8_000),
    "help_long_name_40k.ipynb": lambda p: write_notebook(p, [("code", "a" * 40_000 + " b?")]),
    "help_long_name_5mb.ipynb": lambda p: write_notebook(p, [("code", "a" * (CODE_CAP - 4) + " b?")]),
    "bang_open_brackets_99k.ipynb": lambda p: write_notebook(p, [("code", repeat_to("!echo (\n", CODE_CAP, LINES))]),
    "doctest_triple_quotes_1line.ipynb": lambda p: write_notebook(
        p, [("code", ">>> x = 1\n" + repeat_to('""" """ ', CODE_CAP - 20) + "\n")]),
    # plain code at the caps
    "nested_brackets_5mb.ipynb": lambda p: write_notebook(p, [("code", "(" * (CODE_CAP // 2) + ")" * (CODE_CAP // 2))]),
    "alternating_brackets_5mb.ipynb": lambda p: write_notebook(p, [("code", "x = " + repeat_to("()", CODE_CAP - 8))]),
    "nested_brackets_5mb.py": lambda p: p.write_text("(" * (CODE_CAP // 2) + ")" * (CODE_CAP // 2)),
    "single_line_5mb.ipynb": lambda p: write_notebook(p, [("code", "x = [" + repeat_to("1,", CODE_CAP) + "]")]),
    "unclosed_string_99k_lines.ipynb": lambda p: write_notebook(p, [("code", 's = """\n' + repeat_to("line\n", CODE_CAP, LINES))]),
    "statements_99k_lines.py": lambda p: p.write_text(repeat_to("x=1\n", CODE_CAP, LINES)),
    "deep_unary.py": lambda p: p.write_text("x = " + "-" * 100_000 + "1\n"),
    "deep_attribute.py": lambda p: p.write_text("x = a" + ".a" * 200_000 + "\n"),
    # past the caps
    "bang_short_lines_5mb.ipynb": lambda p: write_notebook(p, [("code", repeat_to("!a\n", CODE_CAP))]),
    "tiny_cells_10k.ipynb": lambda p: write_notebook(p, [("code", "x = 1")] * 10_000),
    "tiny_cells_100k.ipynb": lambda p: write_notebook(p, [("code", "x = 1")] * 100_000),
    "percent_cells_100k.py": lambda p: p.write_text("# %%\nx = 1\n" * 100_000),
    "statements_5mb.py": lambda p: p.write_text(repeat_to("x=1\n", CODE_CAP)),
    "statements_150mb.py": lambda p: p.write_text(repeat_to("x=1\n", 150 * MB)),
    # outputs (dropped, but parsed first)
    "output_190mb_ascii.ipynb": lambda p: write_output_notebook(p, STREAM + '"', "0123456789", '"]}', 190 * MB),
    "output_190mb_one_emoji.ipynb": lambda p: write_output_notebook(p, STREAM + '"', "0123456789", '\U0001F600"]}', 190 * MB),
    "output_100mb_printed_lists.ipynb": lambda p: write_output_notebook(p, STREAM, '"[1, 2, 3, 4, 5, 6, 7]\\n",', '"end"]}', 100 * MB),
    "output_150mb_short_strings.ipynb": lambda p: write_output_notebook(p, STREAM, '"ab",', '"end"]}', 150 * MB),
    "output_150mb_empty_lists.ipynb": lambda p: write_output_notebook(p, JSON_DATA, "[],", "0]}}", 150 * MB),
}


# ------------------------------------------------------------------------------ measuring
def limit_memory(megabytes: int) -> Callable[[], None]:
    def apply() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (megabytes * MB, megabytes * MB))
    return apply


def measure(path: Path, module_file: str, timeout: float, memory_mb: int) -> dict:
    """Load `path` in a fresh process; its own report, or the sampled peak when it had to be stopped."""
    started = time.monotonic()
    process = subprocess.Popen([sys.executable, "-c", CHILD, module_file, str(path)], cwd=PROJECT,
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                               preexec_fn=limit_memory(memory_mb))
    watched = psutil.Process(process.pid)
    sampled_peak = 0.0
    try:
        while process.poll() is None:
            try:
                sampled_peak = max(sampled_peak, watched.memory_info().rss / MB)
            except psutil.Error:
                pass
            if time.monotonic() - started > timeout:
                return {"seconds": None, "cpu": None, "peak_mb": sampled_peak, "growth_mb": None,
                        "verdict": f"stopped after {timeout:.0f} s"}
            time.sleep(0.05)
    finally:  # also when the benchmark itself is interrupted
        if process.poll() is None:
            process.kill()
            process.wait()
    output = process.stdout.read().strip().splitlines()
    if process.returncode != 0 or not output:
        return {"seconds": None, "cpu": None, "peak_mb": sampled_peak, "growth_mb": None,
                "verdict": f"process died (exit {process.returncode})"}
    return json.loads(output[-1])


def cell(result: dict) -> str:
    seconds = "     —  " if result["seconds"] is None else f"{result['seconds']:7.2f}s"
    cpu = "     —  " if result["cpu"] is None else f"{result['cpu']:7.2f}s"
    growth = "    —" if result["growth_mb"] is None else f"{result['growth_mb']:5.0f}"
    return f"{seconds} {cpu} {result['peak_mb']:6.0f} {growth}  {result['verdict'][:64]}"


def module_at(revision: str, folder: Path) -> str:
    text = subprocess.run(["git", "show", f"{revision}:grader/load.py"], cwd=PROJECT, check=True,
                          capture_output=True, text=True).stdout
    path = folder / "load_before.py"
    path.write_text(text, encoding="utf-8")
    return str(path)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--before", metavar="REV", help="also measure grader/load.py at this git revision")
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds before a load is stopped")
    parser.add_argument("--memory-mb", type=int, default=6144, help="address-space limit of each process")
    parser.add_argument("--only", nargs="*", metavar="NAME", help="only these cases")
    args = parser.parse_args()
    names = [n for n in CASES if not args.only or n in args.only]
    with tempfile.TemporaryDirectory(prefix="load-bounds-") as tmp:
        folder = Path(tmp)
        versions = [("now", "")]
        if args.before:
            versions.insert(0, (args.before, module_at(args.before, folder)))
        print(f"wall, cpu = load_submission's wall and CPU time; peak = peak RSS of the loading process "
              f"(MB); growth = peak minus RSS after imports (MB); limits {args.timeout:.0f} s, "
              f"{args.memory_mb} MB; load average at start {os.getloadavg()[0]:.1f}")
        print(f"  {'version':10s} {'wall':>8s} {'cpu':>8s} {'peak':>6s} {'growth':>5s}  verdict")
        for name in names:
            path = folder / name
            CASES[name](path)
            print(f"{name}  ({path.stat().st_size / MB:.1f} MB)", flush=True)
            for label, module_file in versions:
                result = measure(path, module_file, args.timeout, args.memory_mb)
                print(f"  {label[:10]:10s} {cell(result)}", flush=True)
            path.unlink()
    return 0


if __name__ == "__main__":
    sys.exit(main())
