"""TensorFlow's start-up noise, recognised line by line so that reports can leave it out.

Every TensorFlow process (the worker, the grader, a batch's pool processes) writes lines like these
to stderr when TensorFlow loads, before any of its log settings apply (TF_CPP_MIN_LOG_LEVEL does not
reach the messages logged "before absl::InitializeLog()"), and twice, once per shared library:

    WARNING: All log messages before absl::InitializeLog() is called are written to STDERR
    I0000 00:00:1796312240.171559    6065 port.cc:153] oneDNN custom operations are on. ...
    I0000 00:00:1796312240.172473    6065 cudart_stub.cc:31] Could not find cuda drivers on your machine, ...

They say nothing about the submission, yet filled most of the worker-output panel. The reports show
the worker's output without them; the JSON result keeps it unfiltered.
"""

from __future__ import annotations

import re
import sys
from typing import BinaryIO

NOISE_LINES = [
    re.compile(r"WARNING: All log messages before absl::InitializeLog\(\) is called are written to STDERR"),
    # absl / glog format: severity + MMDD, time, thread id, file:line] message
    re.compile(r"[IWEF]\d{4} [\d:.]+ +\d+ [\w.+-]+:\d+\] .*"),
    # TensorFlow before absl: "2024-01-01 12:00:00.000000: I tensorflow/core/...cc:182] message"
    re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+: [IWEF] [\w/.+-]+:\d+\] .*"),
    # The second line of cpu_feature_guard's message.
    re.compile(r"To enable the following instructions: .* in other operations, rebuild TensorFlow "
               r"with the appropriate compiler flags\."),
    # Inside the sandbox /dev/shm is not shared, so scikit-learn's joblib says so on import.
    re.compile(r"\S*/joblib/_multiprocessing_helpers\.py:\d+: UserWarning: .*joblib will operate in serial mode"),
]

# Python prints the source line of a warning, indented, under it.
_WARNING = re.compile(r"\S+\.py:\d+: \w*Warning: ")


def is_noise(line: str) -> bool:
    """Whether `line` (without its newline) is a start-up message of TensorFlow and its libraries."""
    return any(pattern.fullmatch(line.rstrip("\r")) for pattern in NOISE_LINES)


class NoiseFilter:
    """Decides line after line what to keep; remembers that a noisy warning's source line comes next."""

    def __init__(self) -> None:
        self._skip_source_line = False

    def keep(self, line: str) -> bool:
        """Whether to keep `line` (without its line end)."""
        if self._skip_source_line and line.startswith((" ", "\t")):
            self._skip_source_line = False
            return False
        self._skip_source_line = False
        if is_noise(line):
            self._skip_source_line = bool(_WARNING.match(line))
            return False
        return True


def without_noise(text: str) -> str:
    """`text` without the lines `is_noise` recognises (and the source line under a noisy warning)."""
    noise_filter = NoiseFilter()
    return "".join(line for line in text.splitlines(keepends=True) if noise_filter.keep(line.rstrip("\r\n")))


def filter_stream(source: BinaryIO, sink: BinaryIO) -> None:
    """Copy `source` to `sink` line by line, leaving out noise; each kept line is flushed at once."""
    noise_filter = NoiseFilter()
    for raw in iter(source.readline, b""):
        if not noise_filter.keep(raw.decode("utf-8", "replace").rstrip("\r\n")):
            continue
        try:
            sink.write(raw)
            sink.flush()
        except OSError:  # the terminal is gone: keep reading, or the writers would block on a full pipe
            pass


if __name__ == "__main__":
    # The stderr filter of the `grade` command (grader/cli.py) runs this as its own small process.
    filter_stream(sys.stdin.buffer, sys.stdout.buffer)
