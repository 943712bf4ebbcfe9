"""Are the accuracy verdicts stable across installation salts? (issue 9)

    CNN_GRADER_DATA_DIR=... .venv/bin/python benchmarks/salt_stability.py [--salts 50] [--parts cifar]
        [--models reference,no-learning,borderline,hostile-file] [--seeds N] [--recheck-within X]
        [--setting SEEDS:WITHIN ...] [--json PATH] [--project 1,3,5,7,9,15,25] [--project-within X]
    .venv/bin/python benchmarks/salt_stability.py --from-json PATH [--project ...]   # a saved run, no training

The grader trains a submission's accuracy model itself, with seeds from the installation's secret
salt, and measures it again with further seeds when the first accuracy lies near the threshold
(grader.checks.hidden.test_part_a.check_accuracy). A verdict must not depend on the salt an installation
happened to draw. For N salts this script builds the probe plan of one fixed submission hash with
grader.probes.build_plan, and decides each accuracy check exactly as the check does
(grader.training.decided_accuracy over grader.training.measured_accuracy with
plan.training_seeds(budget["seeds"]) and the part's budget), for these models per part:

* reference    the reference solution's model (reference_solution/cnn_assignment_solution.py);
* no-learning  the reference architecture compiled with Adam(learning_rate=0.0): learns nothing;
* borderline   one fixed weak model near the threshold: for CIFAR-10 Conv2D(4), MaxPooling2D(4),
               Dense(8), Adam 3e-4 (the build_cifar_model of the hostile case
               tests/corpus/hostile/integrity_predict_the_seed.py as issue 9 introduced it; kept
               here so that the benchmark does not move with the corpus); for MNIST a small model
               picked to sit near 0.80;
* hostile-file CIFAR-10 only: the build_cifar_model that hostile case holds now (read from the file,
               imports and function definitions only).

Targets: the reference passes for every salt, the no-learning model fails for every salt, the
borderline models get the same verdict for at least 98% of the salts.

Settings. The rubric's `seeds` and `recheck_within` of each part are the first setting (--seeds and
--recheck-within replace them for every part); each --setting SEEDS:WITHIN adds another. All
settings are decided on the same trainings, remembered as a grading remembers them
(grader.training.measured_accuracy): plan.training_seeds(n) is a prefix of
plan.training_seeds(n + 1), so a training the grader would make under two settings is made once here, and every setting reports the trainings the grader
itself would make. The trainings are deterministic (the same salt gives the same accuracies in
another process, on a busy machine), so runs with different settings agree on their common seeds.

Printed per part, model and setting: the share of salts that pass, the majority verdict's share
(stability), the mean and range of the decided accuracy, how many salts were measured again, the
trainings the grader makes, and the stability of the verdict of the first training alone (what
grading without re-measuring would give). Then, for the reference, the extra trainings per grading
that re-measuring costs and their seconds against a grading's time (--grading-seconds). Last, a
projection to other seed counts (--project, --project-within), estimated by resampling each
model's trainings: it shows how many seeds a model at a given distance from the threshold needs,
and costs no training.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

PROJECT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT))

# The grader package first: it sets TensorFlow's thread pools before TensorFlow starts.
from grader import training  # noqa: E402
from grader.probes import build_plan  # noqa: E402
from grader.rubric import load_rubric  # noqa: E402
from grader.training import ACCURACY_PARTS  # noqa: E402

from benchmarks.calibrate_thresholds import definitions, export, no_learning, reference_functions  # noqa: E402

HOSTILE_BORDERLINE = PROJECT / "tests" / "corpus" / "hostile" / "integrity_predict_the_seed.py"
DEFAULT_SUBMISSION = PROJECT / "reference_solution" / "cnn_assignment_solution.ipynb"
GRADING_SECONDS = 25.0  # the README's grading time of the reference on an idle 2-core machine
TARGET_STABILITY = 0.98
MODELS = ("reference", "no-learning", "borderline", "hostile-file")


# ------------------------------------------------------------------ the models
def borderline_cifar(input_shape=(32, 32, 3), num_classes=10):
    """The borderline CIFAR-10 model of issue 9 (integrity_predict_the_seed.py at commit 4c8a5e5)."""
    import keras
    from keras import layers
    model = keras.Sequential([
        keras.Input(shape=input_shape),
        layers.Conv2D(4, (3, 3), activation='relu'),
        layers.MaxPooling2D((4, 4)),
        layers.Flatten(),
        layers.Dense(8, activation='relu'),
        layers.Dense(num_classes, activation='softmax'),
    ])
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=3e-4), loss='sparse_categorical_crossentropy',
                  metrics=['accuracy'])
    return model


def borderline_mnist(part: str):
    """A small MNIST model whose accuracy under the rubric's budget sits near 0.80: Dense(16) for the
    Dense part (about 0.82 in a 4-seed pilot), Conv2D(8) with MaxPooling2D(4) for the CNN part
    (about 0.78), both Adam 1e-3 and the part's loss."""
    import keras
    from keras import layers
    if part == "dense":
        model = keras.Sequential([keras.Input(shape=(784,)), layers.Dense(16, activation="relu"),
                                  layers.Dense(10, activation="softmax")])
        loss = "categorical_crossentropy"
    else:
        model = keras.Sequential([keras.Input(shape=(28, 28, 1)), layers.Conv2D(8, (3, 3), activation="relu"),
                                  layers.MaxPooling2D((4, 4)), layers.Flatten(),
                                  layers.Dense(10, activation="softmax")])
        loss = "sparse_categorical_crossentropy"
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=1e-3), loss=loss, metrics=["accuracy"])
    return model


def build_model(part: str, kind: str, reference: dict):
    builder = ACCURACY_PARTS[part][0]
    if kind == "reference":
        return reference[builder]()
    if kind == "no-learning":
        return no_learning(reference[builder]())
    if kind == "hostile-file":
        return definitions(HOSTILE_BORDERLINE)["build_cifar_model"]()
    return borderline_cifar() if part == "cifar" else borderline_mnist(part)


def models_of(part: str, chosen: list[str]) -> list[str]:
    return [kind for kind in chosen if kind != "hostile-file" or part == "cifar"]


@dataclass
class Exported:
    """A model as the grader gets it from the worker (see calibrate_thresholds.export)."""

    architecture: dict
    settings: training.CompileSettings
    parameters: int


def exported_model(model) -> Exported:
    return Exported(*export(model), model.count_params())


# ------------------------------------------------------------------ measuring
@dataclass
class Setting:
    seeds: int
    recheck_within: float

    @property
    def name(self) -> str:
        return f"seeds={self.seeds} recheck_within={self.recheck_within:g}"


@dataclass
class Decision:
    salt: str
    first: float
    accuracies: list[float]
    seconds: list[float]               # of each training the grader makes for this decision

    @property
    def accuracy(self) -> float:
        return sum(self.accuracies) / len(self.accuracies)


@dataclass
class Series:
    part: str
    model: str
    setting: Setting
    threshold: float
    decisions: list[Decision] = field(default_factory=list)
    position: int = 0                  # the setting's place in its part's list (0: the rubric's)

    def summary(self) -> dict:
        n = len(self.decisions)
        passed = sum(d.accuracy >= self.threshold for d in self.decisions)
        first_passed = sum(d.first >= self.threshold for d in self.decisions)
        accuracies = [d.accuracy for d in self.decisions]
        trainings = [len(d.accuracies) for d in self.decisions]
        return {"part": self.part, "model": self.model, "setting": self.setting.name,
                "seeds": self.setting.seeds, "recheck_within": self.setting.recheck_within,
                "position": self.position, "threshold": self.threshold, "salts": n, "pass_rate": passed / n,
                "stability": max(passed, n - passed) / n, "majority": "pass" if passed * 2 >= n else "fail",
                "first_pass_rate": first_passed / n,
                "first_stability": max(first_passed, n - first_passed) / n,
                "accuracy_mean": statistics.fmean(accuracies), "accuracy_min": min(accuracies),
                "accuracy_max": max(accuracies), "first_accuracy_mean": statistics.fmean(d.first for d in self.decisions),
                "first_accuracy_min": min(d.first for d in self.decisions),
                "first_accuracy_max": max(d.first for d in self.decisions),
                "remeasured": sum(t > 1 for t in trainings), "trainings": sum(trainings),
                "extra_trainings_mean": statistics.fmean(t - 1 for t in trainings),
                "extra_trainings_median": statistics.median(t - 1 for t in trainings),
                "training_seconds_mean": statistics.fmean(sum(d.seconds) for d in self.decisions),
                "training_seconds_median": statistics.median(sum(d.seconds) for d in self.decisions)}


def salts(count: int, prefix: str) -> list[str]:
    """Reproducible stand-ins for installation salts (the same form as grader.secret's: 64 hex)."""
    return [hashlib.sha256(f"{prefix}:{i}".encode()).hexdigest() for i in range(count)]


def run(parts: list[str], kinds: list[str], salt_list: list[str], sha256: str, settings_of: dict,
        data_dir: Path | None, checkpoint) -> tuple[list[Series], dict]:
    rubric = load_rubric()
    reference = reference_functions()
    series: list[Series] = []
    made = {"trainings": 0, "seconds": 0.0}
    for part in parts:
        exported = {kind: exported_model(build_model(part, kind, reference)) for kind in models_of(part, kinds)}
        for kind, model in exported.items():
            print(f"{part:5s} {kind:11s} {model.parameters:,} parameters, {model.settings.optimizer['class_name']} "
                  f"{model.settings.optimizer['config'].get('learning_rate')}, {model.settings.loss}", flush=True)
        part_series = {(kind, s.name): Series(part, kind, s, rubric.budget[part]["min_accuracy"], position=k)
                       for kind in exported for k, s in enumerate(settings_of[part])}
        series += part_series.values()
        for index, salt in enumerate(salt_list):
            plan = build_plan(sha256, salt, rubric, data_dir, [], {})
            line = []
            for kind, model in exported.items():
                seconds: dict[int, float] = {}

                def measure(seed: int, budget: dict, model=model, seconds=seconds) -> float:
                    """check_accuracy's measure(seed), timing each training it makes."""
                    started = time.monotonic()
                    accuracy = training.measured_accuracy(plan, budget, part, model.architecture,
                                                          model.settings, seed)
                    if seed not in seconds:  # the first time: a training (then it is remembered)
                        seconds[seed] = time.monotonic() - started
                        made["trainings"] += 1
                        made["seconds"] += seconds[seed]
                    return accuracy

                for setting in settings_of[part]:
                    budget = dict(rubric.budget[part], seeds=setting.seeds, recheck_within=setting.recheck_within)
                    seeds = plan.training_seeds(budget["seeds"])
                    accuracies = training.decided_accuracy(lambda seed: measure(seed, budget), seeds,
                                                           budget["min_accuracy"], budget["recheck_within"])
                    part_series[(kind, setting.name)].decisions.append(
                        Decision(salt, accuracies[0], accuracies, [seconds[seed] for seed in seeds[:len(accuracies)]]))
                line.append(f"{kind} {part_series[(kind, settings_of[part][0].name)].decisions[-1].first:.3f}"
                            f"/{len(seconds)}")
            print(f"{part:5s} salt {index + 1:3d}/{len(salt_list)}  " + "  ".join(line)
                  + f"  ({made['trainings']} trainings, {made['seconds']:.0f} s)", flush=True)
            checkpoint(series, made)
    return series, made


# ------------------------------------------------------------------ report
def targets(summary: dict) -> tuple[str, bool]:
    if summary["model"] == "reference":
        return "always passes", summary["pass_rate"] == 1.0
    if summary["model"] == "no-learning":
        return "always fails", summary["pass_rate"] == 0.0
    return f"same verdict >= {TARGET_STABILITY:.0%}", summary["stability"] >= TARGET_STABILITY


def report(series: list[Series], made: dict, wall: float, grading_seconds: float) -> dict:
    summaries = [s.summary() for s in series]
    print()
    print(f"{'part':5s} {'model':11s} {'setting':30s} {'pass':>6s} {'stable':>7s} {'1st-only':>9s} "
          f"{'mean acc':>8s} {'min-max':>13s} {'rechecked':>9s} {'trainings':>9s}  target")
    for s in summaries:
        goal, held = targets(s)
        print(f"{s['part']:5s} {s['model']:11s} {s['setting']:30s} {s['pass_rate']:6.0%} {s['stability']:7.0%} "
              f"{s['first_stability']:9.0%} {s['accuracy_mean']:8.3f} "
              f"{s['accuracy_min']:.3f}-{s['accuracy_max']:.3f} {s['remeasured']:9d} {s['trainings']:9d}  "
              f"{goal}: {'holds' if held else 'FAILS'}")
        s["target"], s["target_holds"] = goal, held
    print()
    print("Cost of re-measuring for the reference, per grading (the parts run; the k-th setting of every part):")
    cost = {}
    for position in sorted({x.position for x in series if x.model == "reference"}):
        group = [x for x in series if x.model == "reference" and x.position == position]
        name = "; ".join(f"{x.part} {x.setting.seeds}:{x.setting.recheck_within:g}" for x in group)
        salts_run = range(len(group[0].decisions))
        per_salt_extra = [sum(len(x.decisions[i].accuracies) - 1 for x in group) for i in salts_run]
        extra_seconds = [sum(sum(x.decisions[i].seconds[1:]) for x in group) for i in salts_run]
        cost[name] = {"parts": [x.part for x in group],
                      "settings": {x.part: x.setting.name for x in group},
                      "gradings_rechecked": sum(e > 0 for e in per_salt_extra),
                      "extra_trainings_mean": statistics.fmean(per_salt_extra),
                      "extra_trainings_median": statistics.median(per_salt_extra),
                      "extra_trainings_max": max(per_salt_extra),
                      "extra_seconds_mean": statistics.fmean(extra_seconds),
                      "extra_seconds_median": statistics.median(extra_seconds),
                      "extra_seconds_max": max(extra_seconds),
                      "one_training_seconds": {x.part: statistics.fmean(d.seconds[0] for d in x.decisions)
                                               for x in group},
                      "median_grading_growth": statistics.median(extra_seconds) / grading_seconds,
                      "mean_grading_growth": statistics.fmean(extra_seconds) / grading_seconds}
        c = cost[name]
        print(f"  {name}: {c['gradings_rechecked']}/{len(salts_run)} gradings re-measure; extra trainings mean "
              f"{c['extra_trainings_mean']:.2f}, median {c['extra_trainings_median']:g}, max "
              f"{c['extra_trainings_max']}; extra seconds mean {c['extra_seconds_mean']:.1f}, median "
              f"{c['extra_seconds_median']:.1f}, max {c['extra_seconds_max']:.1f} (one training: "
              + ", ".join(f"{p} {v:.2f} s" for p, v in c["one_training_seconds"].items())
              + f"); median grading time +{c['median_grading_growth']:.0%}, mean "
              f"+{c['mean_grading_growth']:.0%} of {grading_seconds:g} s")
    print()
    print(f"Timing: {made['trainings']} trainings made ({made['seconds']:.0f} s of training, "
          f"{made['seconds'] / max(made['trainings'], 1):.2f} s each), wall {wall:.0f} s")
    return {"summaries": summaries, "reference_cost": cost, "trainings_made": made["trainings"],
            "training_seconds": made["seconds"], "wall_seconds": wall, "grading_seconds": grading_seconds}


def projection(series: list[Series], counts: list[int], within: float | None = None,
               draws: int = 20_000) -> list[dict]:
    """What other seed counts would give, estimated without training: every training made for a
    model (with all salts) is one draw of its accuracy under a grader's seed, so a grading under
    `seeds`=n is simulated by grader.training.decided_accuracy over accuracies drawn from that pool
    (with `within`, else the recheck_within of the model's first setting). An estimate; the table
    above is measured."""
    import numpy as np
    rng = np.random.default_rng(0)
    rows = []
    for key in dict.fromkeys((s.part, s.model) for s in series):
        group = [s for s in series if (s.part, s.model) == key]
        pool = np.array([a for i in range(len(group[0].decisions))
                         for a in max((s.decisions[i].accuracies for s in group), key=len)])
        threshold = group[0].threshold
        window = group[0].setting.recheck_within if within is None else within
        for n in counts:
            trainings, passed = 0, 0
            for drawn in pool[rng.integers(len(pool), size=(draws, n))].tolist():
                accuracies = training.decided_accuracy(drawn.__getitem__, list(range(n)), threshold, window)
                trainings += len(accuracies)
                passed += sum(accuracies) / len(accuracies) >= threshold
            share = passed / draws
            rows.append({"part": key[0], "model": key[1], "seeds": n, "recheck_within": window,
                         "pool": len(pool), "pool_mean": float(pool.mean()), "pool_sd": float(pool.std()),
                         "pass_rate": share, "stability": max(share, 1 - share),
                         "trainings_per_grading": trainings / draws})
    print()
    print(f"Projection from the trainings made (each model's pooled accuracies, {draws:,} simulated "
          f"gradings per row):")
    for r in rows:
        print(f"  {r['part']:5s} {r['model']:12s} pool {r['pool']:4d} mean {r['pool_mean']:.3f} sd "
              f"{r['pool_sd']:.3f}   seeds={r['seeds']:<3d} recheck_within={r['recheck_within']:<5g} pass {r['pass_rate']:6.1%}  stable "
              f"{r['stability']:6.1%}  trainings/grading {r['trainings_per_grading']:.2f}")
    return rows


def series_from_json(data: dict) -> list[Series]:
    """The series of a saved run (--json), to report again without training."""
    rubric = load_rubric()
    series = []
    positions: dict[tuple[str, str], int] = {}
    for item in data["decisions"]:
        if "seeds" in item:
            setting = Setting(int(item["seeds"]), float(item["recheck_within"]))
        else:  # files written before the settings were stored: "seeds=5 recheck_within=0.06"
            fields = dict(part.split("=") for part in item["setting"].split())
            setting = Setting(int(fields["seeds"]), float(fields["recheck_within"]))
        threshold = item.get("threshold", rubric.budget[item["part"]]["min_accuracy"])
        position = positions[(item["part"], item["model"])] = positions.get((item["part"], item["model"]), -1) + 1
        series.append(Series(item["part"], item["model"], setting, threshold,
                             [Decision(d["salt"], d["accuracies"][0], d["accuracies"], d["seconds"])
                              for d in item["decisions"]], position))
    return series


def decisions_json(series: list[Series]) -> list[dict]:
    return [{"part": s.part, "model": s.model, "setting": s.setting.name, "seeds": s.setting.seeds,
             "recheck_within": s.setting.recheck_within, "threshold": s.threshold,
             "decisions": [{"salt": d.salt, "accuracies": d.accuracies, "accuracy": d.accuracy,
                            "seconds": d.seconds} for d in s.decisions]} for s in series]


def parse_setting(text: str) -> Setting:
    try:
        seeds, within = text.split(":")
        return Setting(int(seeds), float(within))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not SEEDS:WITHIN (e.g. 7:0.08)") from None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--salts", type=int, default=50, help="number of salts (default 50)")
    parser.add_argument("--parts", default="cifar", help="comma-separated: dense,cnn,cifar (default cifar)")
    parser.add_argument("--models", default=",".join(MODELS),
                        help=f"comma-separated, of {','.join(MODELS)} (default all; hostile-file is CIFAR-10's only)")
    parser.add_argument("--seeds", type=int, help="replaces the rubric's `seeds` of every part")
    parser.add_argument("--recheck-within", type=float, help="replaces the rubric's `recheck_within` of every part")
    parser.add_argument("--setting", type=parse_setting, action="append", default=[], metavar="SEEDS:WITHIN",
                        help="a further setting decided on the same trainings (repeatable)")
    parser.add_argument("--submission", type=Path, default=DEFAULT_SUBMISSION,
                        help="the file whose sha256 is the fixed submission hash (default: the reference notebook)")
    parser.add_argument("--salt-prefix", default="salt-stability", help="salts are sha256(PREFIX:i)")
    parser.add_argument("--grading-seconds", type=float, default=GRADING_SECONDS,
                        help="a grading's time, to put the reference's extra trainings in proportion (default 25)")
    parser.add_argument("--data-dir", type=Path, help="else $CNN_GRADER_DATA_DIR")
    parser.add_argument("--json", type=Path, help="write every figure and decision here (also as it runs)")
    parser.add_argument("--project", default="1,3,5,7,9,15,25",
                        help="seed counts to project from the trainings made (default 1,3,5,7,9,15,25; '' for none)")
    parser.add_argument("--project-within", type=float,
                        help="recheck_within of the projection (default: each model's first setting)")
    parser.add_argument("--from-json", type=Path, metavar="PATH",
                        help="no training: report again from the file a finished run wrote with --json")
    args = parser.parse_args(argv)
    counts = [int(n) for n in args.project.split(",") if n.strip()]
    if args.from_json:
        data = json.loads(args.from_json.read_text(encoding="utf-8"))
        series = series_from_json(data)
        report(series, {"trainings": data.get("trainings_made", 0), "seconds": data.get("training_seconds", 0.0)},
               data.get("wall_seconds", 0.0), args.grading_seconds)
        if counts:
            projection(series, counts, args.project_within)
        return 0
    parts = [p.strip() for p in args.parts.split(",") if p.strip()]
    kinds = [m.strip() for m in args.models.split(",") if m.strip()]
    unknown = [p for p in parts if p not in ACCURACY_PARTS] + [m for m in kinds if m not in MODELS]
    if unknown or args.salts < 1:
        parser.error(f"unknown part(s) or model(s) {unknown}" if unknown else "--salts must be at least 1")
    rubric = load_rubric()
    settings_of = {}
    for part in parts:
        first = Setting(args.seeds or rubric.budget[part]["seeds"],
                        args.recheck_within if args.recheck_within is not None else rubric.budget[part]["recheck_within"])
        settings_of[part] = [first] + [s for s in args.setting if s != first]
    sha256 = hashlib.sha256(args.submission.read_bytes()).hexdigest()
    salt_list = salts(args.salts, args.salt_prefix)
    header = {"command": sys.argv, "salts": args.salts, "parts": parts, "models": kinds,
              "submission": str(args.submission), "sha256": sha256,
              "hostile_file_sha256": hashlib.sha256(HOSTILE_BORDERLINE.read_bytes()).hexdigest(), "salt_prefix": args.salt_prefix,
              "settings": {p: [s.name for s in v] for p, v in settings_of.items()}}
    print(f"{args.salts} salts, submission hash {sha256[:12]}, parts {', '.join(parts)}; settings "
          + "; ".join(f"{p}: " + ", ".join(s.name for s in v) for p, v in settings_of.items()), flush=True)
    started = time.monotonic()

    def checkpoint(series, made):
        if args.json:
            args.json.write_text(json.dumps({**header, "complete": False, "trainings_made": made["trainings"],
                                             "decisions": decisions_json(series)}, indent=1), encoding="utf-8")

    training.pin_threads()
    series, made = run(parts, kinds, salt_list, sha256, settings_of, args.data_dir, checkpoint)
    result = report(series, made, time.monotonic() - started, args.grading_seconds)
    if counts:
        result["projection"] = projection(series, counts, args.project_within)
    if args.json:
        args.json.write_text(json.dumps({**header, "complete": True, **result, "decisions": decisions_json(series)},
                                        indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
