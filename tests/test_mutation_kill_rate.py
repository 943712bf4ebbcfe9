"""The mutation benchmark's generator (benchmarks/mutation_kill_rate.py), checked without grading."""

import ast
import re
import sys
from pathlib import Path

import pytest

PROJECT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT))

from benchmarks import mutation_kill_rate as mkr  # noqa: E402


@pytest.fixture(scope="module")
def reference():
    parts = mkr.reference_parts()
    return parts, mkr.target_nodes(parts)


@pytest.fixture(scope="module")
def every_mutant(reference):
    parts, nodes = reference
    modules = mkr.imported_names(parts)
    # The first 150 of each target: round-robin over the kinds, so every kind a target offers is in.
    return {target: mkr.all_mutants(target, nodes[target], 0, modules, 150) for target in mkr.TARGETS}


def test_function_only_submission_keeps_definitions_and_drops_demo(reference):
    parts, nodes = reference
    assert set(nodes) == set(mkr.TARGETS)
    source = mkr.submission_source(parts)
    tree = ast.parse(source)
    defined = {mkr.target_name(node) for node in tree.body}
    assert set(mkr.TARGETS) <= defined
    assert all(isinstance(node, (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.ClassDef, ast.Assign, ast.AnnAssign))
               for node in tree.body)
    assert "set_random_seed" not in source and "cv_result" not in source
    assert source.count("# %%") == len(parts)


def test_submission_replaces_only_the_mutated_target(reference, every_mutant):
    parts, _ = reference
    mutant = every_mutant["find_misclassified"][0]
    original, mutated = mkr.submission_source(parts), mkr.submission_source(parts, (mutant.target, mutant.source))
    old_cells, new_cells = original.split("# %%\n"), mutated.split("# %%\n")
    assert len(old_cells) == len(new_cells)
    changed = [new for old, new in zip(old_cells, new_cells) if old != new]
    assert len(changed) == 1 and changed[0].strip() == mutant.source.strip()


def test_every_kind_gives_valid_code_that_differs(reference, every_mutant):
    _, nodes = reference
    kinds = set()
    for target, mutants in every_mutant.items():
        original = ast.unparse(nodes[target])
        sources = [m.source for m in mutants]
        assert len(sources) == len(set(sources)), f"{target}: duplicate mutants"
        for mutant in mutants:
            assert mutant.compiles, f"{mutant.id}: {mutant.compile_error}"
            compile(mutant.source, mutant.id, "exec")
            assert mutant.source != original
            assert mutant.original_line or mutant.mutated_line
            kinds.add(mutant.kind)
    assert kinds == set(mkr.KINDS)


@pytest.mark.parametrize("target, kind, before, after", [
    ("build_dense_model", "string", "activation='softmax'", "activation='relu'"),
    ("build_cnn_model", "string", "loss='sparse_categorical_crossentropy'", "loss='categorical_crossentropy'"),
    ("build_dense_model", "string", "optimizer='adam'", "optimizer='sgd'"),
    ("build_cifar_model", "string", "padding='same'", "padding='valid'"),
    ("build_cnn_model", "padding", "layers.Conv2D(16, (3, 3), activation='relu')",
     "layers.Conv2D(16, (3, 3), activation='relu', padding='same')"),
    ("build_dense_model", "layer_size", "layers.Dense(128,", "layers.Dense(256,"),
    ("build_dense_model", "layer_size", "layers.Dense(128,", "layers.Dense(127,"),
    ("predict_labels", "axis", "axis=1", "axis=0"),
    ("predict_labels", "axis", "axis=1", "axis=-1"),
    ("find_misclassified", "compare", "predicted != actual", "predicted == actual"),
    ("preprocess_dense", "arith", "/ 255", "* 255"),
    ("preprocess_dense", "number", "/ 255", "/ 256"),
    ("cross_validate", "bool", "shuffle=True", "shuffle=False"),
    ("cross_validate", "slice", "h['val_loss'][-1]", "h['val_loss'][0]"),
    ("most_confused_pairs", "slice", "pairs[:k]", "pairs[:k + 1]"),
    ("most_confused_pairs", "hardcode_param", "pairs[:k]", "pairs[:3]"),
    ("train_model", "drop_keyword", "validation_split=validation_split", ""),
    ("train_model", "swap_args", "model.fit(x, y,", "model.fit(y, x,"),
    ("train_model", "return_input", "return history", "return model"),
])
def test_expected_mutations_exist(every_mutant, target, kind, before, after):
    found = [m for m in every_mutant[target] if m.kind == kind and before in m.original_line
             and (after in m.mutated_line if after else before not in m.mutated_line)]
    assert found, f"no {kind} mutant of {target} turning {before!r} into {after!r}"


def test_dropped_statement_and_call(every_mutant):
    dropped = [m for m in every_mutant["build_cnn_model"] if m.kind == "drop_statement"
               and "model.compile(" in m.original_line]
    assert dropped and "compile(" not in dropped[0].source
    calls = [m for m in every_mutant["preprocess_cifar"] if m.kind == "drop_call"
             and "np.asarray(labels).reshape(-1)" in m.original_line and ".reshape(" not in m.mutated_line]
    assert calls


def test_messages_and_cosmetics_are_never_mutated(every_mutant):
    for mutants in every_mutant.values():
        for mutant in mutants:
            assert not mutant.original_line.startswith("print("), mutant.id
            for keyword in ("figsize", "fontsize", "color"):
                before = re.findall(keyword + r"=[^,)]*(?:\([^)]*\))?", mutant.original_line)
                after = re.findall(keyword + r"=[^,)]*(?:\([^)]*\))?", mutant.mutated_line)
                if after:  # (a call dropped as a whole takes its keywords along)
                    assert before == after, mutant.id


def test_generation_is_deterministic_and_capped():
    _, first = mkr.generate(3)
    _, second = mkr.generate(3)
    assert [(m.id, m.source) for m in first] == [(m.id, m.source) for m in second]
    counts = {t: sum(m.target == t for m in first) for t in mkr.TARGETS}
    assert all(1 <= n <= 3 for n in counts.values())
    _, some = mkr.generate(2, ("to_one_hot", "CLASS_NAMES"))
    assert {m.target for m in some} == {"to_one_hot", "CLASS_NAMES"} and len(some) == 4
    _, other_seed = mkr.generate(3, seed=1)
    assert [m.source for m in other_seed] != [m.source for m in first]


def test_changed_lines():
    assert mkr.changed_lines("a\nb\nc", "a\nB\nc") == ("b", "B")
    assert mkr.changed_lines("a\nb\nc", "a\nc") == ("b", "")
    assert mkr.changed_lines("a\nb\nc\nd", "a\nd") == ("b (+1 more lines)", "")


def test_verdicts_and_summary():
    mutants = [mkr.Mutant("f#01", "to_one_hot", "number", "", "", "", "x"),
               mkr.Mutant("f#02", "to_one_hot", "number", "", "", "", "x"),
               mkr.Mutant("f#03", "to_one_hot", "number", "", "", "", "x", compiles=False),
               mkr.Mutant("f#04", "to_one_hot", "number", "", "", "", "x")]
    outcomes = {"f#01": mkr.Outcome("graded", 96.0, 100.0, {"to_one_hot": "shape"}),
                "f#02": mkr.Outcome("graded", 100.0, 100.0),
                "f#04": mkr.Outcome("grader_error", 0.0, 100.0)}
    assert [mkr.verdict(m, outcomes.get(m.id)) for m in mutants] == ["killed", "survived", "uncompilable", "not_graded"]
    summary = mkr.summarise(mutants, outcomes)
    assert summary["kill_rate"] == 0.5
    assert summary["per_target"]["to_one_hot"]["killed_by"] == {"to_one_hot": 1}
    assert summary["per_check"]["to_one_hot"]["own_rate"] == 0.5
