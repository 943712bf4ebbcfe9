"""Mutation benchmark: how many plausible wrong versions of the reference do the hidden checks catch?

Every contract function of the reference solution (and the constant CLASS_NAMES) is mutated with
Python's `ast`, one small change per mutant: constants (numbers +-1, True/False), axes, comparison,
arithmetic and boolean operators, dropped statements, calls and keyword arguments, swapped call
arguments, loss / activation / optimizer / padding names, layer sizes, slices and indices, a
parameter hard-coded to its default, a variable read in place of another, a return value replaced
by an input, list elements swapped or dropped. Messages (print calls, f-strings) and purely
cosmetic arguments (figsize, color, fontsize, ...) are never mutated: they cannot change a grade.

Each mutant is graded FAST and for real: the submission is the reference's imports, UPPER_CASE
constants and function definitions only (the notebook's demo statements are dropped), with the one
mutated function, graded by `grader.grade.grade_submission` (the real pipeline and sandbox). The
unmutated function-only reference is graded first and must score full marks.

A mutant is KILLED when it loses points (the checks that failed are recorded); it SURVIVES with
full marks. Mutants whose code does not compile, or whose grading did not complete (status other
than "graded"), are counted apart.

The generator is deterministic (a fixed seed orders the candidates): the same reference gives the
same mutants, and the grader derives its probe inputs from each file's content, so the same mutant
gets the same verdict.

usage:
  python benchmarks/mutation_kill_rate.py [--per-function 5] [--functions a,b] [--jobs 2]
                                          [--json PATH] [--data-dir DIR] [--list] [--seed 0]

Set CNN_GRADER_DATA_DIR (or --data-dir) and, for reproducible verdicts, CNN_GRADER_SALT.
"""

from __future__ import annotations

import argparse
import ast
import copy
import hashlib
import json
import os
import random
import sys
import tempfile
import time
import warnings
from collections import Counter, defaultdict
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import asdict, dataclass, field
from multiprocessing import get_context
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent
if str(PROJECT) not in sys.path:
    sys.path.insert(0, str(PROJECT))

REFERENCE_PY = PROJECT / "reference_solution" / "cnn_assignment_solution.py"
CONTRACT_FUNCTIONS = (
    "preprocess_dense", "to_one_hot", "build_dense_model", "train_model", "preprocess_cnn",
    "build_cnn_model", "choose_loss", "predict_labels", "find_misclassified", "plot_misclassified",
    "load_cifar10", "preprocess_cifar", "build_cifar_model", "cross_validate", "plot_learning_curves",
    "confusion_matrix_of", "most_confused_pairs",
)
CONSTANTS = ("CLASS_NAMES",)
TARGETS = CONTRACT_FUNCTIONS + CONSTANTS
DEFAULT_PER_FUNCTION = 5
GRADED = "graded"

# The checks that are meant to catch mistakes in each target (for the per-check kill rate).
# A check missing here (a rubric entry added later) is still counted, just without a rate.
CHECK_TARGETS = {
    "preprocess_dense": ("preprocess_dense",),
    "to_one_hot": ("to_one_hot",),
    "dense_architecture": ("build_dense_model",),
    "dense_compile": ("build_dense_model",),
    "dense_accuracy": ("build_dense_model",),
    "preprocess_cnn": ("preprocess_cnn",),
    "cnn_architecture": ("build_cnn_model",),
    "cnn_compile": ("build_cnn_model",),
    "cnn_accuracy": ("build_cnn_model",),
    "choose_loss": ("choose_loss",),
    "train_model": ("train_model",),
    "predict_labels": ("predict_labels",),
    "find_misclassified": ("find_misclassified",),
    "plot_misclassified": ("plot_misclassified",),
    "cifar_data": ("load_cifar10", "CLASS_NAMES"),
    "preprocess_cifar": ("preprocess_cifar",),
    "cifar_model_structure": ("build_cifar_model",),
    "cifar_accuracy": ("build_cifar_model",),
    "cross_validation_folds": ("cross_validate",),
    "cross_validation_fresh_model": ("cross_validate",),
    "cross_validation_summary": ("cross_validate",),
    "learning_curves_plot": ("plot_learning_curves",),
    "confusion_matrix": ("confusion_matrix_of",),
    "most_confused_pairs": ("most_confused_pairs",),
}

# ------------------------------------------------------------------ mutation vocabulary
STRING_SWAPS = {
    "softmax": ("relu",),
    "relu": ("linear",),
    "sparse_categorical_crossentropy": ("categorical_crossentropy",),
    "categorical_crossentropy": ("sparse_categorical_crossentropy",),
    "binary_crossentropy": ("categorical_crossentropy",),
    "adam": ("sgd",),
    "same": ("valid",),
    "valid": ("same",),
    "accuracy": ("mae",),
    "val_accuracy": ("accuracy",),
    "val_loss": ("loss",),
    "loss": ("val_loss",),
    "float32": ("float16",),
    "int64": ("float32",),
}
COMPARE_SWAPS = {ast.Eq: ast.NotEq, ast.NotEq: ast.Eq, ast.Lt: ast.LtE, ast.LtE: ast.Lt,
                 ast.Gt: ast.GtE, ast.GtE: ast.Gt, ast.In: ast.NotIn, ast.NotIn: ast.In,
                 ast.Is: ast.IsNot, ast.IsNot: ast.Is}
ARITH_SWAPS = {ast.Div: ast.Mult, ast.Mult: ast.Div, ast.FloorDiv: ast.Div, ast.Add: ast.Sub,
               ast.Sub: ast.Add, ast.Mod: ast.FloorDiv, ast.Pow: ast.Mult}
OPERATOR_TEXT = {ast.Eq: "==", ast.NotEq: "!=", ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">=",
                 ast.In: "in", ast.NotIn: "not in", ast.Is: "is", ast.IsNot: "is not", ast.Div: "/",
                 ast.Mult: "*", ast.FloorDiv: "//", ast.Add: "+", ast.Sub: "-", ast.Mod: "%", ast.Pow: "**",
                 ast.And: "and", ast.Or: "or"}
LAYER_CALLS = {"Dense", "Conv2D"}
POOLING_CALLS = {"Conv2D", "MaxPooling2D", "MaxPool2D"}
# Arguments that only change how something looks or how much is printed: never mutated.
COSMETIC_KEYWORDS = {"figsize", "fontsize", "color", "ncol", "linestyle", "cmap", "verbose",
                     "xticks_rotation", "colorbar"}
MESSAGE_CALLS = {"print"}
# The order of the kinds, before each target shuffles it (see select_mutants).
KINDS = ("string", "layer_size", "padding", "axis", "compare", "arith", "hardcode_param", "slice",
         "drop_keyword", "drop_statement", "drop_call", "swap_args", "return_input", "number", "bool",
         "boolop", "not", "swap_name", "list_element")


@dataclass(frozen=True)
class Candidate:
    """One possible mutation of a target: the node (by its index in ast.walk order) and the change."""

    kind: str
    node_index: int
    change: tuple          # operator-specific, hashable
    description: str


@dataclass
class Mutant:
    id: str
    target: str
    kind: str
    description: str
    original_line: str     # the first line that differs, before ...
    mutated_line: str      # ... and after ("" when a statement was removed)
    source: str            # the mutated function (or constant), as it is graded
    compiles: bool = True
    compile_error: str = ""


@dataclass
class Outcome:
    """What grading one submission gave."""

    status: str
    score: float | None = None
    max_score: float | None = None
    failed: dict[str, str] = field(default_factory=dict)   # check id -> first feedback line
    flags: list[str] = field(default_factory=list)
    cell_errors: list[str] = field(default_factory=list)
    reason: str = ""
    seconds: float = 0.0


# ------------------------------------------------------------------ the function-only reference
def is_constant_assignment(node: ast.stmt) -> bool:
    """A module-level assignment of UPPER_CASE names (CLASS_NAMES = [...], X: list = ...)."""
    def upper(target) -> bool:
        return isinstance(target, ast.Name) and target.id.isupper()
    if isinstance(node, ast.Assign):
        return all(upper(t) for t in node.targets)
    if isinstance(node, ast.AnnAssign):
        return node.value is not None and upper(node.target)
    return False


def reference_parts(path: Path = REFERENCE_PY) -> list[ast.stmt]:
    """The reference's imports, classes, functions and UPPER_CASE constants, in file order."""
    tree = ast.parse(Path(path).read_text(encoding="utf-8"), filename=str(path))
    kept = (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
    return [node for node in tree.body if isinstance(node, kept) or is_constant_assignment(node)]


def target_name(node: ast.stmt) -> str | None:
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return node.name
    if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
        return node.targets[0].id
    if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
        return node.target.id
    return None


def target_nodes(parts: list[ast.stmt]) -> dict[str, ast.stmt]:
    return {name: node for node in parts if (name := target_name(node)) in TARGETS}


def submission_source(parts: list[ast.stmt], replacement: tuple[str, str] | None = None) -> str:
    """The function-only submission, one `# %%` cell per statement; `replacement` is (target,
    source) of the mutated target."""
    cells = []
    for node in parts:
        if replacement and target_name(node) == replacement[0]:
            cells.append(replacement[1])
        else:
            cells.append(ast.unparse(node))
    return "".join(f"# %%\n{cell}\n\n\n" for cell in cells).rstrip("\n") + "\n"


# ------------------------------------------------------------------ finding mutation sites
def _parents(root: ast.AST) -> dict[int, tuple[ast.AST, str, int | None]]:
    """id(child) -> (parent, field, index in the field's list or None)."""
    parents = {}
    for parent in ast.walk(root):
        for name, value in ast.iter_fields(parent):
            if isinstance(value, list):
                for index, child in enumerate(value):
                    if isinstance(child, ast.AST):
                        parents[id(child)] = (parent, name, index)
            elif isinstance(value, ast.AST):
                parents[id(value)] = (parent, name, None)
    return parents


def _call_name(call: ast.Call) -> str:
    func = call.func
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return ""


def _is_docstring(node: ast.AST, parents) -> bool:
    entry = parents.get(id(node))
    if not (isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str)):
        return False
    return entry is not None and entry[1] == "body" and entry[2] == 0


def _in_message(node: ast.AST, parents) -> bool:
    """Inside a print call, an f-string, a cosmetic keyword, or a docstring: never mutated."""
    current = node
    while id(current) in parents:
        parent, name, _ = parents[id(current)]
        if isinstance(current, ast.JoinedStr):
            return True
        if isinstance(current, ast.keyword) and current.arg in COSMETIC_KEYWORDS:
            return True
        if isinstance(current, ast.Call) and _call_name(current) in MESSAGE_CALLS:
            return True
        if _is_docstring(current, parents):
            return True
        current = parent
    return False


def _local_names(function: ast.AST) -> dict[str, int]:
    """Names a function binds (parameters at line 0) -> the first line binding them."""
    names: dict[str, int] = {}
    if isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)):
        args = function.args
        for arg in [*args.posonlyargs, *args.args, *args.kwonlyargs]:
            names[arg.arg] = 0
    for node in ast.walk(function):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names[node.id] = min(names.get(node.id, node.lineno), node.lineno)
    return names


def _defaults(function: ast.AST) -> dict[str, ast.expr]:
    """Parameters whose default is a literal -> that default."""
    if not isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)):
        return {}
    args = function.args
    positional = [*args.posonlyargs, *args.args]
    pairs = list(zip(positional[len(positional) - len(args.defaults):], args.defaults))
    pairs += [(a, d) for a, d in zip(args.kwonlyargs, args.kw_defaults) if d is not None]
    found = {}
    for arg, default in pairs:
        try:
            ast.literal_eval(default)
        except ValueError:
            continue
        found[arg.arg] = default
    return found


def _parameters(function: ast.AST) -> list[str]:
    if not isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)):
        return []
    args = function.args
    return [a.arg for a in [*args.posonlyargs, *args.args, *args.kwonlyargs]]


def _text(node: ast.AST, limit: int = 60) -> str:
    text = ast.unparse(node).replace("\n", " ")
    return text if len(text) <= limit else text[:limit - 3] + "..."


def _is_text(node: ast.AST) -> bool:
    """String concatenation ('val_' + key): arithmetic swaps there only raise TypeError."""
    sides = [node.left, node.right] if isinstance(node, ast.BinOp) else [node.target, node.value]
    return any(isinstance(s, ast.JoinedStr) or (isinstance(s, ast.Constant) and isinstance(s.value, str))
               for s in sides)


def _module_path(node: ast.AST, modules: set[str]) -> bool:
    """Whether `node` is a module or a name imported at module level (np, keras.utils, layers)."""
    while isinstance(node, ast.Attribute):
        node = node.value
    return isinstance(node, ast.Name) and node.id in modules


def imported_names(parts: list[ast.stmt]) -> set[str]:
    names = set()
    for node in parts:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            names |= {(alias.asname or alias.name).split(".")[0] for alias in node.names}
    return names


def candidates_of(target: ast.stmt, modules: set[str] = frozenset()) -> list[Candidate]:
    """Every mutation the operators find in one target (function or constant assignment);
    `modules` are the names the reference imports (a call on them is no method call)."""
    found: list[Candidate] = []
    parents = _parents(target)
    nodes = list(ast.walk(target))
    locals_ = _local_names(target)
    defaults = _defaults(target)
    params = _parameters(target)
    is_function = isinstance(target, (ast.FunctionDef, ast.AsyncFunctionDef))
    default_ids = {id(n) for d in (target.args.defaults + target.args.kw_defaults if is_function else [])
                   if d is not None for n in ast.walk(d)}

    def add(kind: str, index: int, change: tuple, description: str) -> None:
        found.append(Candidate(kind, index, change, description))

    for index, node in enumerate(nodes):
        if node is not target and _in_message(node, parents):
            continue
        entry = parents.get(id(node))
        in_defaults = id(node) in default_ids
        # ---- constants (a negative number is the UnaryOp -n, mutated as a whole)
        negative = (isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub)
                    and isinstance(node.operand, ast.Constant) and type(node.operand.value) in (int, float))
        operand_of_minus = isinstance(node, ast.Constant) and entry is not None and \
            isinstance(entry[0], ast.UnaryOp) and isinstance(entry[0].op, ast.USub)
        if (isinstance(node, ast.Constant) and not operand_of_minus) or negative:
            value = -node.operand.value if negative else node.value
            if isinstance(value, bool):
                add("bool", index, ("set", not value), f"{value} -> {not value}")
            elif isinstance(value, (int, float)):
                parent = entry[0] if entry else None
                is_axis = isinstance(parent, ast.keyword) and parent.arg == "axis"
                is_layer_size = (isinstance(parent, ast.Call) and _call_name(parent) in LAYER_CALLS
                                 and entry[1] == "args" and entry[2] == 0)
                if is_axis:
                    for other in (0, 1, -1):
                        if other != value:
                            add("axis", index, ("set", other), f"axis={value} -> axis={other}")
                elif is_layer_size and isinstance(value, int):
                    for other, how in ((value * 2, "x2"), (value - 1, "-1")):
                        add("layer_size", index, ("set", other),
                            f"{_call_name(parent)} size {value} -> {other} ({how})")
                else:
                    where = " (default argument)" if in_defaults else ""
                    for other in (value + 1, value - 1):
                        add("number", index, ("set", other), f"{value!r} -> {other!r}{where}")
            elif isinstance(value, str) and value in STRING_SWAPS:
                for other in STRING_SWAPS[value]:
                    add("string", index, ("set", other), f"'{value}' -> '{other}'")
        # ---- operators
        elif isinstance(node, ast.Compare):
            for position, op in enumerate(node.ops):
                if type(op) in COMPARE_SWAPS:
                    new = COMPARE_SWAPS[type(op)]
                    add("compare", index, ("compare", position, new.__name__),
                        f"'{OPERATOR_TEXT[type(op)]}' -> '{OPERATOR_TEXT[new]}' in {_text(node)}")
        elif isinstance(node, (ast.BinOp, ast.AugAssign)) and type(node.op) in ARITH_SWAPS and not _is_text(node):
            new = ARITH_SWAPS[type(node.op)]
            shown = _text(node)
            add("arith", index, ("arith", new.__name__),
                f"'{OPERATOR_TEXT[type(node.op)]}' -> '{OPERATOR_TEXT[new]}' in {shown}")
        elif isinstance(node, ast.BoolOp):
            other = ast.Or if isinstance(node.op, ast.And) else ast.And
            add("boolop", index, ("boolop", other.__name__),
                f"'{OPERATOR_TEXT[type(node.op)]}' -> '{OPERATOR_TEXT[other]}' in {_text(node)}")
        elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
            add("not", index, ("unwrap",), f"'not' dropped in {_text(node)}")
        # ---- calls
        if isinstance(node, ast.Call):
            name = _call_name(node)
            method = isinstance(node.func, ast.Attribute) and not _module_path(node.func.value, modules)
            if method:
                add("drop_call", index, ("receiver",), f"method call dropped: {_text(node)}")
            elif node.args and not isinstance(node.args[0], ast.Starred):
                add("drop_call", index, ("first_arg",), f"call replaced by its first argument: {_text(node)}")
            if len(node.args) >= 2 and not any(isinstance(a, ast.Starred) for a in node.args[:2]):
                add("swap_args", index, ("swap",),
                    f"first two arguments swapped: {_text(node)}")
            for position, keyword in enumerate(node.keywords):
                if keyword.arg and keyword.arg not in COSMETIC_KEYWORDS:
                    add("drop_keyword", index, ("drop_keyword", position),
                        f"keyword {keyword.arg}= dropped from {_text(node)}")
            if name in POOLING_CALLS and name.startswith("Conv") and not any(k.arg == "padding" for k in node.keywords):
                add("padding", index, ("add_keyword", "padding", "same"), f"padding='same' added to {_text(node)}")
        # ---- hard-coded parameters, other variables
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load) and is_function:
            if node.id in defaults:
                add("hardcode_param", index, ("hardcode", node.id),
                    f"parameter {node.id} hard-coded to its default {_text(defaults[node.id])}")
            called = entry is not None and isinstance(entry[0], ast.Call) and entry[1] == "func"
            if node.id in locals_ and not called and not in_defaults:
                line = getattr(node, "lineno", 0)
                for other in sorted(locals_):
                    if other != node.id and locals_[other] < line and other not in ("_",):
                        add("swap_name", index, ("rename", other), f"{node.id} -> {other} (reference line {line})")
        # ---- slices and indices
        if isinstance(node, ast.Subscript):
            part = node.slice
            if isinstance(part, ast.Slice):
                for bound in ("upper", "lower"):
                    if getattr(part, bound) is not None:
                        add("slice", index, ("slice_plus", bound),
                            f"slice {bound} bound +1 in {_text(node)}")
            elif isinstance(part, ast.UnaryOp) and isinstance(part.op, ast.USub) and \
                    isinstance(part.operand, ast.Constant) and part.operand.value == 1:
                add("slice", index, ("index", 0), f"[-1] -> [0] in {_text(node)}")
            elif isinstance(part, ast.Constant) and isinstance(part.value, int) and not isinstance(part.value, bool):
                add("slice", index, ("index", -1 if part.value == 0 else 0),
                    f"[{part.value}] -> [{-1 if part.value == 0 else 0}] in {_text(node)}")
        # ---- statements
        if isinstance(node, ast.stmt) and node is not target and entry is not None and \
                entry[1] in ("body", "orelse", "finalbody") and not _is_docstring(node, parents):
            if not (isinstance(node, ast.Expr) and isinstance(node.value, ast.Call)
                    and _call_name(node.value) in MESSAGE_CALLS):
                add("drop_statement", index, ("drop_statement",), f"statement removed: {_text(node)}")
        if isinstance(node, ast.Return) and node.value is not None:
            for param in params:
                if not (isinstance(node.value, ast.Name) and node.value.id == param):
                    add("return_input", index, ("return", param), f"returns its input {param} instead of {_text(node.value)}")
        # ---- list elements (layers of a Sequential, CLASS_NAMES)
        if isinstance(node, ast.List) and len(node.elts) >= 2:
            for position in range(len(node.elts)):
                add("list_element", index, ("drop_element", position),
                    f"element {position} ({_text(node.elts[position], 40)}) dropped from a list")
            for position in range(len(node.elts) - 1):
                add("list_element", index, ("swap_elements", position),
                    f"elements {position} and {position + 1} swapped in a list")
    return found


# ------------------------------------------------------------------ applying one mutation
def _replace(node: ast.AST, new: ast.AST | None, parents) -> None:
    parent, name, position = parents[id(node)]
    if position is None:
        setattr(parent, name, new)
    elif new is None:
        items = getattr(parent, name)
        del items[position]
        if not items and name == "body":
            items.append(ast.Pass())
    else:
        getattr(parent, name)[position] = new


def apply(target: ast.stmt, candidate: Candidate) -> ast.stmt:
    """A mutated deep copy of `target`."""
    mutated = copy.deepcopy(target)
    nodes = list(ast.walk(mutated))
    node = nodes[candidate.node_index]
    parents = _parents(mutated)
    operation, *rest = candidate.change
    if operation == "set":
        value = rest[0]
        new = ast.Constant(value) if not (isinstance(value, (int, float)) and value < 0) else \
            ast.UnaryOp(ast.USub(), ast.Constant(-value))
        _replace(node, new, parents)
    elif operation == "compare":
        node.ops[rest[0]] = getattr(ast, rest[1])()
    elif operation == "arith":
        node.op = getattr(ast, rest[0])()
    elif operation == "boolop":
        node.op = getattr(ast, rest[0])()
    elif operation == "unwrap":
        _replace(node, node.operand, parents)
    elif operation == "first_arg":
        _replace(node, node.args[0], parents)
    elif operation == "receiver":
        _replace(node, node.func.value, parents)
    elif operation == "swap":
        node.args[0], node.args[1] = node.args[1], node.args[0]
    elif operation == "drop_keyword":
        del node.keywords[rest[0]]
    elif operation == "add_keyword":
        node.keywords.append(ast.keyword(rest[0], ast.Constant(rest[1])))
    elif operation == "hardcode":
        _replace(node, copy.deepcopy(_defaults(mutated)[rest[0]]), parents)
    elif operation == "rename":
        node.id = rest[0]
    elif operation == "slice_plus":
        bound = getattr(node.slice, rest[0])
        setattr(node.slice, rest[0], ast.BinOp(bound, ast.Add(), ast.Constant(1)))
    elif operation == "index":
        value = rest[0]
        node.slice = ast.Constant(value) if value >= 0 else ast.UnaryOp(ast.USub(), ast.Constant(-value))
    elif operation == "drop_statement":
        _replace(node, None, parents)
    elif operation == "return":
        node.value = ast.Name(rest[0], ast.Load())
    elif operation == "drop_element":
        del node.elts[rest[0]]
    elif operation == "swap_elements":
        i = rest[0]
        node.elts[i], node.elts[i + 1] = node.elts[i + 1], node.elts[i]
    else:
        raise ValueError(f"unknown mutation {operation}")
    return ast.fix_missing_locations(mutated)


def changed_lines(original: str, mutated: str) -> tuple[str, str]:
    """The first line that differs between two sources (stripped), before and after."""
    old, new = original.splitlines(), mutated.splitlines()
    for position in range(max(len(old), len(new))):
        a = old[position] if position < len(old) else ""
        b = new[position] if position < len(new) else ""
        if a != b:
            removed = len(old) - len(new)
            if removed > 0 and old[position + removed:] == new[position:]:
                return a.strip() + (f" (+{removed - 1} more lines)" if removed > 1 else ""), ""  # removed
            return a.strip(), b.strip()
    return "", ""


# ------------------------------------------------------------------ choosing the mutants
def _order_key(seed: int, target: str, candidate: Candidate) -> str:
    text = f"{seed}:{target}:{candidate.kind}:{candidate.node_index}:{candidate.change}"
    return hashlib.sha256(text.encode()).hexdigest()


def all_mutants(target: str, node: ast.stmt, seed: int = 0, modules: set[str] = frozenset(),
                limit: int | None = None) -> list[Mutant]:
    """The distinct mutants of one target (the first `limit`, or all), in the benchmark's order:
    kinds in a per-target shuffled order, taken round-robin, each kind's candidates in a seeded
    pseudo-random order."""
    original = ast.unparse(node)
    by_kind: dict[str, list[Candidate]] = defaultdict(list)
    for candidate in candidates_of(node, modules):
        by_kind[candidate.kind].append(candidate)
    for kind in by_kind:
        by_kind[kind].sort(key=lambda c: _order_key(seed, target, c))
    kinds = [k for k in KINDS if k in by_kind]
    random.Random(f"{seed}:{target}").shuffle(kinds)
    queues = {kind: list(by_kind[kind]) for kind in kinds}
    seen = {original}
    chosen: list[Mutant] = []
    while any(queues.values()) and (limit is None or len(chosen) < limit):
        for kind in kinds:
            if limit is not None and len(chosen) >= limit:
                break
            while queues[kind]:
                candidate = queues[kind].pop(0)
                try:
                    source = ast.unparse(apply(node, candidate))
                except Exception:  # an operator that cannot apply here
                    continue
                if source in seen:
                    continue
                seen.add(source)
                before, after = changed_lines(original, source)
                mutant = Mutant(f"{target}#{len(chosen) + 1:02d}", target, kind, candidate.description,
                                before, after, source)
                try:
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore")
                        compile(source, f"<{mutant.id}>", "exec")
                except SyntaxError as problem:
                    mutant.compiles, mutant.compile_error = False, f"{problem.msg} (line {problem.lineno})"
                chosen.append(mutant)
                break
    return chosen


def generate(per_function: int, targets: tuple[str, ...] = TARGETS, seed: int = 0,
             reference: Path = REFERENCE_PY) -> tuple[list[ast.stmt], list[Mutant]]:
    """The reference's parts and the first `per_function` mutants of each target."""
    parts = reference_parts(reference)
    nodes = target_nodes(parts)
    missing = [t for t in targets if t not in nodes]
    if missing:
        raise SystemExit(f"not in {reference.name}: {', '.join(missing)}")
    mutants = []
    for target in targets:
        mutants += all_mutants(target, nodes[target], seed, imported_names(parts), per_function)
    return parts, mutants


# ------------------------------------------------------------------ grading
def grade_source(source: str, name: str, data_dir: str | None) -> Outcome:
    """Grade one submission source with the real pipeline (in a pool process)."""
    from grader.grade import GradeOptions, grade_submission
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="mutant-") as folder:
        path = Path(folder) / f"{name}.py"
        path.write_text(source, encoding="utf-8")
        result = grade_submission(path, GradeOptions(data_dir=Path(data_dir) if data_dir else None))
    failed = {c.id: (c.feedback[0].got if c.feedback else c.status)[:200]
              for c in result.checks if c.points < c.max_points}
    return Outcome(status=result.status, score=result.score, max_score=result.max_score, failed=failed,
                   flags=[f"{f.kind}: {f.detail}"[:200] for f in result.integrity],
                   cell_errors=[f"cell {e.cell} {e.error_type}: {e.message[:120]}" for e in result.cell_errors],
                   reason=(result.reason.en if result.reason else "")[:300],
                   seconds=round(time.monotonic() - started, 1))


def _safe_name(mutant_id: str) -> str:
    return mutant_id.replace("#", "_m")


def grade_all(jobs: list[tuple[str, str]], workers: int, data_dir: str | None, on_done) -> dict[str, Outcome]:
    """Grade every (name, source) in a spawn pool; a pool broken by a dying grading is rebuilt and
    its unfinished gradings retried one at a time."""
    results: dict[str, Outcome] = {}

    def run(batch: list[tuple[str, str]], size: int) -> list[tuple[str, str]]:
        unfinished = []
        with ProcessPoolExecutor(max_workers=size, mp_context=get_context("spawn")) as pool:
            futures = {pool.submit(grade_source, source, _safe_name(name), data_dir): (name, source)
                       for name, source in batch}
            for future in as_completed(futures):
                name, source = futures[future]
                try:
                    results[name] = future.result()
                except BrokenProcessPool:
                    unfinished.append((name, source))
                    continue
                except Exception as exc:  # the benchmark's own fault for this one grading
                    results[name] = Outcome(status="benchmark_error", reason=f"{type(exc).__name__}: {exc}"[:300])
                on_done(name, results[name])
        return unfinished

    for name, source in run(jobs, workers):
        for retry_name, retry_source in run([(name, source)], 1):
            results[retry_name] = Outcome(status="worker_died", reason="the grading process died twice")
            on_done(retry_name, results[retry_name])
    return results


def source_key(source: str) -> str:
    """Identifies a mutant's graded code across runs (the reference the rest of the file comes from
    is part of it)."""
    reference = REFERENCE_PY.read_bytes()
    return hashlib.sha256(reference + b"\0" + source.encode("utf-8")).hexdigest()


def read_journal(path: Path) -> dict[str, Outcome]:
    """Gradings an earlier run wrote, one JSON line each (a torn last line is ignored)."""
    found = {}
    if path and path.is_file():
        for line in path.read_text(encoding="utf-8").splitlines():
            try:
                entry = json.loads(line)
                found[entry["key"]] = Outcome(**entry["outcome"])
            except (ValueError, KeyError, TypeError):
                continue
    return found


# ------------------------------------------------------------------ the report
def verdict(mutant: Mutant, outcome: Outcome | None) -> str:
    if not mutant.compiles:
        return "uncompilable"
    if outcome is None:
        return "not_run"
    if outcome.status != GRADED:
        return "not_graded"
    return "killed" if outcome.score < outcome.max_score else "survived"


def summarise(mutants: list[Mutant], outcomes: dict[str, Outcome]) -> dict:
    """Per target, per check and overall counts (the JSON's `summary`)."""
    per_target: dict[str, dict] = {}
    per_check: dict[str, dict] = defaultdict(lambda: {"killed": 0, "by_target": Counter(), "sole": 0})
    verdicts = Counter()
    for mutant in mutants:
        outcome = outcomes.get(mutant.id)
        result = verdict(mutant, outcome)
        verdicts[result] += 1
        row = per_target.setdefault(mutant.target, {"mutants": 0, "killed": 0, "survived": 0, "uncompilable": 0,
                                                    "not_graded": 0, "not_run": 0, "killed_by": Counter()})
        row["mutants"] += 1
        row[result] += 1
        if result == "killed":
            for check_id in outcome.failed:
                row["killed_by"][check_id] += 1
                per_check[check_id]["killed"] += 1
                per_check[check_id]["by_target"][mutant.target] += 1
            if len(outcome.failed) == 1:
                per_check[next(iter(outcome.failed))]["sole"] += 1
    for check_id, targets in CHECK_TARGETS.items():
        entry = per_check[check_id]
        own = [m for m in mutants if m.target in targets and verdict(m, outcomes.get(m.id)) in ("killed", "survived")]
        entry["own_mutants"] = len(own)
        entry["own_killed"] = sum(1 for m in own if check_id in outcomes[m.id].failed)
        entry["own_rate"] = entry["own_killed"] / len(own) if own else None
    decided = verdicts["killed"] + verdicts["survived"]
    for row in per_target.values():
        judged = row["killed"] + row["survived"]
        row["kill_rate"] = row["killed"] / judged if judged else None
        row["killed_by"] = dict(row["killed_by"].most_common())
    return {
        "mutants": len(mutants), "verdicts": dict(verdicts),
        "kill_rate": verdicts["killed"] / decided if decided else None,
        "per_target": per_target,
        "per_check": {k: {**v, "by_target": dict(v["by_target"].most_common())} for k, v in sorted(per_check.items())},
    }


def shown_lines(before: str, after: str, width: int = 110) -> tuple[str, str]:
    """The changed line before and after, cut to a window around the first difference when long."""
    if max(len(before), len(after)) <= width or not after:
        return before if len(before) <= width or after else before[:width - 3] + "...", after
    start = next((i for i, (a, b) in enumerate(zip(before, after)) if a != b), min(len(before), len(after)))
    left = max(0, start - width // 3)

    def cut(text: str) -> str:
        piece = text[left:left + width]
        return ("..." if left else "") + piece + ("..." if left + width < len(text) else "")
    return cut(before), cut(after)


def _percent(value: float | None) -> str:
    return "   -  " if value is None else f"{100 * value:5.1f}%"


def text_report(summary: dict, mutants: list[Mutant], outcomes: dict[str, Outcome], baseline: Outcome,
                seconds: float, settings: dict) -> str:
    lines = [f"Mutation benchmark of the hidden checks ({settings['per_function']} mutants per target at most, "
             f"seed {settings['seed']}, {settings['jobs']} jobs)",
             f"Reference (function-only): {baseline.score:g}/{baseline.max_score:g} in {baseline.seconds:.0f} s",
             f"Total time {seconds / 60:.1f} min for {len(outcomes) - settings.get('reused_gradings', 0)} gradings"
             + (f" ({settings['reused_gradings']} more taken from an earlier run)" if settings.get("reused_gradings") else "")
             + f" (mean {sum(o.seconds for o in outcomes.values()) / max(1, len(outcomes)):.0f} s per grading)",
             f"Grader at commit {settings.get('grader_commit') or 'unknown'}", ""]
    v = summary["verdicts"]
    lines.append(f"Mutants {summary['mutants']}: killed {v.get('killed', 0)}, survived {v.get('survived', 0)}, "
                 f"uncompilable {v.get('uncompilable', 0)}, not graded {v.get('not_graded', 0)}"
                 + (f", not run {v['not_run']}" if v.get("not_run") else ""))
    lines.append(f"Overall kill rate: {_percent(summary['kill_rate']).strip()} (killed / (killed + survived))")
    lines += ["", "Per function", f"{'function':<22}{'mutants':>8}{'killed':>8}{'survived':>9}{'apart':>7}{'rate':>8}  killed by"]
    for target in TARGETS:
        row = summary["per_target"].get(target)
        if not row:
            continue
        apart = row["uncompilable"] + row["not_graded"] + row["not_run"]
        by = ", ".join(f"{k} {n}" for k, n in row["killed_by"].items())
        lines.append(f"{target:<22}{row['mutants']:>8}{row['killed']:>8}{row['survived']:>9}{apart:>7}"
                     f"{_percent(row['kill_rate']):>8}  {by}")
    lines += ["", "Per check (own = mutants of the functions the check is meant for; sole = mutants only it killed)",
              f"{'check':<30}{'own killed':>12}{'own rate':>9}{'all kills':>10}{'sole':>6}  kills by function"]
    for check_id, entry in summary["per_check"].items():
        if not entry.get("own_mutants") and not entry["killed"]:
            continue
        own = f"{entry.get('own_killed', 0)}/{entry.get('own_mutants', 0)}" if "own_mutants" in entry else "-"
        by = ", ".join(f"{k} {n}" for k, n in entry["by_target"].items())
        lines.append(f"{check_id:<30}{own:>12}{_percent(entry.get('own_rate')):>9}{entry['killed']:>10}"
                     f"{entry['sole']:>6}  {by}")
    survivors = [m for m in mutants if verdict(m, outcomes.get(m.id)) == "survived"]
    lines += ["", f"Surviving mutants ({len(survivors)})"]
    for mutant in survivors:
        before, after = shown_lines(mutant.original_line, mutant.mutated_line)
        lines.append(f"  {mutant.id:<26} [{mutant.kind}] {mutant.description}")
        lines.append(f"      - {before}")
        lines.append(f"      + {after or '(line removed)'}")
    apart = [m for m in mutants if verdict(m, outcomes.get(m.id)) in ("uncompilable", "not_graded", "not_run")]
    if apart:
        lines += ["", f"Counted apart ({len(apart)})"]
        for mutant in apart:
            outcome = outcomes.get(mutant.id)
            why = mutant.compile_error or (f"status {outcome.status}: {outcome.reason}" if outcome else "not run")
            lines.append(f"  {mutant.id:<26} [{mutant.kind}] {mutant.description} -- {why}")
    return "\n".join(lines)


def _commit() -> str:
    """The checkout's commit (the checks change with it), '+' when the working tree differs."""
    import subprocess
    try:
        head = subprocess.run(["git", "-C", str(PROJECT), "rev-parse", "--short", "HEAD"], capture_output=True,
                              text=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(PROJECT), "status", "--porcelain", "--", "grader"],
                               capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""
    return head + ("+" if dirty else "")


# ------------------------------------------------------------------ command line
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--per-function", type=int, default=DEFAULT_PER_FUNCTION,
                        help=f"mutants per function or constant at most (default {DEFAULT_PER_FUNCTION})")
    parser.add_argument("--functions", default="", help="comma-separated targets (default: all contract functions and CLASS_NAMES)")
    parser.add_argument("--jobs", type=int, default=2, help="gradings in parallel (default 2)")
    parser.add_argument("--seed", type=int, default=0, help="orders the candidates (default 0)")
    parser.add_argument("--json", type=Path, default=None, help="write the full data as JSON here")
    parser.add_argument("--data-dir", type=Path, default=None, help="datasets (default: $CNN_GRADER_DATA_DIR)")
    parser.add_argument("--list", action="store_true", help="only list the mutants, grade nothing")
    parser.add_argument("--resume", action="store_true",
                        help="reuse the gradings of an interrupted run (JSON PATH.partial.jsonl, needs --json)")
    args = parser.parse_args(argv)

    targets = tuple(t.strip() for t in args.functions.split(",") if t.strip()) or TARGETS
    if args.resume and not args.json:
        parser.error("--resume needs --json PATH (the gradings are kept next to it)")
    unknown = [t for t in targets if t not in TARGETS]
    if unknown:
        parser.error(f"unknown target(s) {', '.join(unknown)}; choose from {', '.join(TARGETS)}")
    parts, mutants = generate(args.per_function, targets, args.seed)
    if args.list:
        for mutant in mutants:
            print(f"{mutant.id:<26} [{mutant.kind}] {mutant.description}"
                  + ("" if mutant.compiles else f"  (does not compile: {mutant.compile_error})"))
            before, after = shown_lines(mutant.original_line, mutant.mutated_line)
            print(f"      - {before}\n      + {after or '(line removed)'}")
        print(f"{len(mutants)} mutants")
        return 0
    data_dir = args.data_dir or (Path(os.environ["CNN_GRADER_DATA_DIR"]) if os.environ.get("CNN_GRADER_DATA_DIR") else None)
    data = str(data_dir) if data_dir else None
    started = time.monotonic()
    log = lambda text: print(text, file=sys.stderr, flush=True)  # noqa: E731

    commit_at_start = _commit()
    log(f"grading the function-only reference ({len(mutants)} mutants to follow)")
    baseline = grade_all([("reference", submission_source(parts))], 1, data, lambda *_: None)["reference"]
    if baseline.status != GRADED or baseline.score != baseline.max_score:
        log(f"the function-only reference did not score full marks: status {baseline.status}, score "
            f"{baseline.score}, failed {baseline.failed}, cell errors {baseline.cell_errors}, {baseline.reason}")
        return 1
    log(f"reference: {baseline.score:g}/{baseline.max_score:g} in {baseline.seconds:.0f} s")

    gradable = [m for m in mutants if m.compiles]
    journal = args.json.with_name(args.json.name + ".partial.jsonl") if args.json else None
    earlier = read_journal(journal) if journal and args.resume else {}
    outcomes: dict[str, Outcome] = {}
    for mutant in gradable:
        known = earlier.get(source_key(mutant.source))
        if known is not None:
            outcomes[mutant.id] = known
    reused = len(outcomes)
    if reused:
        log(f"resuming: {reused} gradings taken from {journal}")
    done = [len(outcomes)]

    def on_done(name: str, outcome: Outcome) -> None:
        done[0] += 1
        mutant = next(m for m in mutants if m.id == name)
        result = verdict(mutant, outcome)
        failed = ", ".join(outcome.failed) if result == "killed" else ""
        log(f"[{done[0]}/{len(gradable)} {time.monotonic() - started:6.0f}s] {name:<26} {result:<10} "
            f"{outcome.seconds:5.1f}s {mutant.description[:70]}" + (f" | {failed}" if failed else ""))
        if journal:
            with journal.open("a", encoding="utf-8") as handle:
                handle.write(json.dumps({"key": source_key(mutant.source), "id": name,
                                         "outcome": asdict(outcome)}, ensure_ascii=False) + "\n")

    if journal:
        journal.parent.mkdir(parents=True, exist_ok=True)
        if not args.resume:
            journal.write_text("", encoding="utf-8")
    todo = [m for m in gradable if m.id not in outcomes]
    outcomes.update(grade_all([(m.id, submission_source(parts, (m.target, m.source))) for m in todo],
                              max(1, args.jobs), data, on_done))
    seconds = time.monotonic() - started
    summary = summarise(mutants, outcomes)
    settings = {"per_function": args.per_function, "seed": args.seed, "jobs": args.jobs, "targets": list(targets),
                "reused_gradings": reused,
                "grader_commit": commit_at_start + ("" if _commit() == commit_at_start else f" .. {_commit()}")}
    print(text_report(summary, mutants, outcomes, baseline, seconds, settings))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({
            "settings": settings, "seconds": round(seconds, 1), "baseline": asdict(baseline), "summary": summary,
            "mutants": [{**asdict(m), "verdict": verdict(m, outcomes.get(m.id)),
                         "outcome": asdict(outcomes[m.id]) if m.id in outcomes else None} for m in mutants],
        }, indent=2, ensure_ascii=False), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
