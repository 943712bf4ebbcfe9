"""What the hostile-corpus tests share: the header grammar, a recording grading function, and
snapshots of the file system.

Header of every case (``tests/corpus/hostile/README.md`` has the full vocabulary)::

    # hostile: <what the submission tries, one line>
    # expect: status=graded; max_score=9; passed=preprocess_dense,to_one_hot; cell_error=SystemExit

`record_grade` has the signature of `grader.grade.grade_submission` so that `grader.batch.run_batch`
can run it in its spawned pool: it grades, then writes the facts the tests need about that one
grading (its wall time, the processes of the submission still alive right after it) to
``$HOSTILE_FACTS_DIR/<sha of the file name>.json``.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import stat
import time
from dataclasses import dataclass, field
from pathlib import Path

import psutil

from grader.grade import GradeOptions, grade_submission
from grader.results import GradeResult

FACTS_VARIABLE = "HOSTILE_FACTS_DIR"
MARKER_PREFIX = "cnn1-hostile-"    # every process a case starts and every file it writes carries it
FORK_NAME = "hostile-fork"         # the process name (comm) of forked children that never exec
NOBODY_UID = 65534
CLAUSE = re.compile(r"^(?P<key>[a-z_]+)\s*(?P<op>=|~)\s*(?P<value>.*)$")
KEYS = {"status", "max_score", "passed", "failed", "cell_error", "cell_errors", "error", "reason",
        "feedback", "requires", "seconds", "flagged", "measured"}


# ------------------------------------------------------------------------------ header grammar
class HeaderError(ValueError):
    """A case's header is missing or does not follow the grammar; str() says where."""


@dataclass
class Expectation:
    """The verdict a case must get (see tests/corpus/hostile/README.md)."""

    hostile: str
    status: str
    max_score: float
    passed: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    cell_errors: list[str] = field(default_factory=list)   # cell_error=Type (each must occur)
    no_cell_errors: bool = False                           # cell_errors=none
    errors: list[str] = field(default_factory=list)        # error~text in some "type: message"
    reasons: list[str] = field(default_factory=list)       # reason~text in the result's reason
    no_reason: bool = False                                # reason=none
    feedback: list[str] = field(default_factory=list)      # feedback~text in a failed check's feedback
    requires: list[list[str]] = field(default_factory=list)  # requires=a|b: one of them in force
    seconds: float | None = None                           # bound on the grading's wall time
    flagged: list[str] = field(default_factory=list)       # flagged=kind: an integrity flag of that kind
    not_flagged: bool = False                              # flagged=none: no integrity flag at all
    measured: list[str] = field(default_factory=list)      # measured~text in some check's measured value


def header_lines(raw: bytes) -> list[str]:
    """The `# hostile:` / `# expect:` lines of a case: from the text, or from the strings of a notebook."""
    text = raw.decode("utf-8", errors="replace")
    lines = text.splitlines()
    try:
        document = json.loads(text)
    except ValueError:
        document = None
    if document is not None:
        lines = [line for string in _strings(document) for line in string.splitlines()]
    return [line.strip() for line in lines if re.match(r"^\s*#\s*(hostile|expect):", line)]


def _strings(node) -> list[str]:
    if isinstance(node, str):
        return [node]
    if isinstance(node, list):
        # nbformat keeps a source as a list of lines: join them back first
        if node and all(isinstance(item, str) for item in node):
            return ["".join(node)]
        return [s for item in node for s in _strings(item)]
    if isinstance(node, dict):
        return [s for value in node.values() for s in _strings(value)]
    return []


def parse_header(raw: bytes, name: str = "case") -> Expectation:
    """The expectation written in a case's header."""
    hostile, clauses = None, []
    for line in header_lines(raw):
        kind, _, rest = line.lstrip("#").strip().partition(":")
        if kind == "hostile":
            hostile = rest.strip()
        else:
            clauses += [c.strip() for c in rest.split(";") if c.strip()]
    if not hostile:
        raise HeaderError(f"{name}: no '# hostile:' line")
    values: dict[str, object] = {"hostile": hostile}
    for clause in clauses:
        match = CLAUSE.match(clause)
        if not match or match["key"] not in KEYS:
            raise HeaderError(f"{name}: cannot read the clause {clause!r}")
        _apply(values, match["key"], match["op"], match["value"].strip(), name)
    if "status" not in values or "max_score" not in values:
        raise HeaderError(f"{name}: 'status=' and 'max_score=' are required")
    return Expectation(**values)


def _apply(values: dict, key: str, op: str, value: str, name: str) -> None:
    single = {"status": str, "max_score": float, "seconds": float}
    listed = {("passed", "="): "passed", ("failed", "="): "failed", ("cell_error", "="): "cell_errors",
              ("error", "~"): "errors", ("reason", "~"): "reasons", ("feedback", "~"): "feedback",
              ("measured", "~"): "measured"}
    if key in single and op == "=":
        values[key] = single[key](value)
    elif (key, op) in listed:
        target = listed[(key, op)]
        items = [v.strip() for v in value.split(",")] if key in ("passed", "failed") else [value]
        values.setdefault(target, []).extend(v for v in items if v)
    elif (key, op, value) == ("cell_errors", "=", "none"):
        values["no_cell_errors"] = True
    elif (key, op, value) == ("reason", "=", "none"):
        values["no_reason"] = True
    elif (key, op, value) == ("flagged", "=", "none"):
        values["not_flagged"] = True
    elif (key, op) == ("flagged", "="):
        values.setdefault("flagged", []).extend(v.strip() for v in value.split(",") if v.strip())
    elif key == "requires" and op == "=":
        values.setdefault("requires", []).append([v.strip() for v in value.split("|") if v.strip()])
    else:
        raise HeaderError(f"{name}: '{key}{op}{value}' is not part of the vocabulary")


def verdict_problems(expect: Expectation, result: GradeResult) -> list[str]:
    """Every way `result` differs from `expect` (empty when the verdict is right)."""
    problems = []
    if result.status != expect.status:
        problems.append(f"status {result.status!r}, expected {expect.status!r} (reason: {_reason(result)})")
    if result.score > expect.max_score + 1e-9:
        problems.append(f"score {result.score:g} is above what the correct parts earn ({expect.max_score:g})")
    points = {c.id: c for c in result.checks}
    for check_id in expect.passed:
        if check_id not in points or not points[check_id].passed:
            got = points[check_id].feedback[0].got if check_id in points and points[check_id].feedback else "?"
            problems.append(f"check {check_id} should pass (the correct part), got: {got}")
    for check_id in expect.failed:
        if check_id not in points or points[check_id].passed:
            problems.append(f"check {check_id} should fail (the hostile part must earn nothing)")
    errors = [f"{e.error_type}: {e.message}" for e in result.cell_errors]
    for error_type in expect.cell_errors:
        if not any(e.error_type == error_type for e in result.cell_errors):
            problems.append(f"no cell error of type {error_type}; cell errors: {errors}")
    if expect.no_cell_errors and result.cell_errors:
        problems.append(f"expected no cell errors, got {errors}")
    for text in expect.errors:
        if not any(text.lower() in e.lower() for e in errors):
            problems.append(f"no cell error mentions {text!r}; cell errors: {errors}")
    for text in expect.reasons:
        if text.lower() not in _reason(result).lower():
            problems.append(f"the reason does not mention {text!r}: {_reason(result)!r}")
    if expect.no_reason and result.reason is not None:
        problems.append(f"expected no reason, got {_reason(result)!r}")
    got = [f.got for c in result.checks if not c.passed for f in c.feedback]
    for text in expect.feedback:
        if not any(text.lower() in g.lower() for g in got):
            problems.append(f"no feedback mentions {text!r}; feedback: {sorted(set(got))[:12]}")
    kinds = sorted({flag.kind for flag in result.integrity})
    for kind in expect.flagged:
        if kind not in kinds:
            problems.append(f"no integrity flag of kind {kind!r}; flags: {[(f.kind, f.detail) for f in result.integrity]}")
    if expect.not_flagged and result.integrity:
        problems.append(f"expected no integrity flag, got {[(f.kind, f.detail) for f in result.integrity]}")
    measured = [c.measured for c in result.checks if c.measured]
    for text in expect.measured:
        if not any(text.lower() in m.lower() for m in measured):
            problems.append(f"no measured value mentions {text!r}; measured: {measured}")
    return problems


def missing_measures(expect: Expectation, isolation: dict[str, bool]) -> list[str]:
    """The `requires=` alternatives of which no measure was in force for this grading."""
    return ["|".join(choice) for choice in expect.requires if not any(isolation.get(m) for m in choice)]


def _reason(result: GradeResult) -> str:
    return result.reason.en if result.reason else ""


# ------------------------------------------------------------------------------ recording grader
def marker_of(path: Path) -> str:
    return MARKER_PREFIX + Path(path).stem


def facts_file(folder: Path, name: str) -> Path:
    return folder / (hashlib.sha256(name.encode("utf-8")).hexdigest()[:16] + ".json")


def record_grade(path: Path, options: GradeOptions) -> GradeResult:
    """`grade_submission`, plus the facts of this grading in $HOSTILE_FACTS_DIR."""
    started = time.monotonic()
    result = grade_submission(path, options)
    seconds = time.monotonic() - started
    facts = {"file": Path(path).name, "seconds": round(seconds, 2),
             "survivors": processes_with(marker_of(path))}
    folder = os.environ.get(FACTS_VARIABLE)
    if folder:
        facts_file(Path(folder), Path(path).name).write_text(json.dumps(facts), encoding="utf-8")
    return result


def processes_with(marker: str) -> list[str]:
    """Live processes whose command line holds `marker`, or named FORK_NAME when marker is the prefix."""
    found = []
    for process in psutil.process_iter(["pid", "name", "cmdline", "status"]):
        info = process.info
        if info["status"] == psutil.STATUS_ZOMBIE:
            continue
        cmdline = " ".join(info["cmdline"] or [])
        if marker in cmdline or (marker == MARKER_PREFIX and info["name"] == FORK_NAME):
            found.append(f"{info['pid']} {info['name']} {cmdline[:120]}")
    return found


# ------------------------------------------------------------------------------ file snapshots
Entry = tuple[int, int, int, int, int, int]   # type bits, size, mtime_ns, mode, uid, gid


def snapshot(roots: list[Path], skip: set[Path] = frozenset(), skip_names: tuple[str, ...] = ()) -> dict[str, Entry]:
    """lstat of every file and folder below `roots` (links not followed), minus `skip`."""
    entries: dict[str, Entry] = {}
    for root in roots:
        if not root.exists():
            continue
        for folder, dirs, files in os.walk(root):
            dirs[:] = [d for d in dirs if Path(folder, d) not in skip
                       and not any(d.startswith(prefix) for prefix in skip_names)]
            for name in [*dirs, *files, ""] if folder == str(root) else [*dirs, *files]:
                path = os.path.join(folder, name) if name else folder
                try:
                    info = os.lstat(path)
                except OSError:
                    continue
                entries[path] = (stat.S_IFMT(info.st_mode), info.st_size, info.st_mtime_ns,
                                 stat.S_IMODE(info.st_mode), info.st_uid, info.st_gid)
    return entries


def changes(before: dict[str, Entry], after: dict[str, Entry], strict: list[Path]) -> list[str]:
    """What changed that the submissions may have caused.

    Under `strict` roots every new, deleted or modified entry counts. Elsewhere (shared folders
    such as /tmp and the project, where other programs work at the same time) an entry counts
    when it is new or modified and its content carries MARKER_PREFIX (every write of the corpus
    does), when it belongs to the worker's user, or when the mode or owner of an existing entry
    changed (what a grader tricked into following a link would do).
    """
    found = []
    strict_roots = [str(p) for p in strict]

    def is_strict(path: str) -> bool:
        return any(path == r or path.startswith(r + os.sep) for r in strict_roots) and "__pycache__" not in path

    for path, entry in after.items():
        old = before.get(path)
        if old == entry:
            continue
        if is_strict(path):
            found.append(f"{'new' if old is None else 'modified'}: {path}")
            continue
        if old is not None and (old[0], old[3], old[4], old[5]) != (entry[0], entry[3], entry[4], entry[5]):
            found.append(f"mode/owner changed: {path} {oct(old[3])} uid {old[4]} -> {oct(entry[3])} uid {entry[4]}")
        elif entry[4] == NOBODY_UID and os.geteuid() == 0:
            found.append(f"{'new' if old is None else 'modified'} file of the worker's user: {path}")
        elif stat.S_ISREG(entry[0]) and _mentions_marker(path):
            found.append(f"{'new' if old is None else 'modified'} with a hostile marker: {path}")
    found += [f"deleted: {path}" for path in before if path not in after and is_strict(path)]
    return sorted(found)


def _mentions_marker(path: str, limit: int = 4 * 2**20) -> bool:
    try:
        with open(path, "rb") as handle:
            return MARKER_PREFIX.encode() in handle.read(limit)
    except OSError:
        return False
