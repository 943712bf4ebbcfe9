"""The Gradescope autograder zip: this grader, installed and run inside Gradescope's container.

Gradescope's autograder specification (gradescope-autograders.readthedocs.io, "Autograder
Specifications"): the zip holds `setup.sh` and `run_autograder` at its root; its contents are
extracted to /autograder/source; `setup.sh` runs once as root when the image is built (an Ubuntu
image); for every submission the files are put in /autograder/submission and `run_autograder` runs
with /autograder as working directory and must write /autograder/results/results.json.

The zip written here holds:
  setup.sh          installs Python >= 3.11, a venv with this project (editable install, so the
                    rubric in assignment/ is found next to the grader package), and the datasets
  run_autograder    grades the newest .ipynb / .py of the submission with `grade SUBMISSION
                    --gradescope /autograder/results/results.json`
  cnn1-grader/      the project source (pyproject.toml, grader/, assignment/)
  data/             optional: mnist.npz and cifar10.npz (else setup.sh downloads them with Keras)

`python -m grader.gradescope_bundle` also holds the small helpers `run_autograder` calls.
"""

from __future__ import annotations

import json
import stat
import sys
import time
import zipfile
from pathlib import Path

from grader import datasets
from grader.lms import newest_submission_file
from grader.rubric import PROJECT_ROOT
from grader.secret import SALT_FILE, salt_in_force

PROJECT_FOLDER = "cnn1-grader"
PROJECT_ENTRIES = ("pyproject.toml", "README.md", "LICENSE", "grader", "assignment")
SKIPPED_PARTS = {"__pycache__", ".ipynb_checkpoints", ".pytest_cache", ".mypy_cache"}
DATASET_FILES = ("mnist.npz", "cifar10.npz")
EXECUTABLE = 0o755
README_STUB = "# cnn1-grader\n\nAutograder for the chapter 深層学習③ CNN I (Gradescope bundle).\n"

SETUP_SH = r"""#!/usr/bin/env bash
# Gradescope runs this once, as root, while it builds the autograder image.
set -euxo pipefail
ROOT="${AUTOGRADER_ROOT:-/autograder}"
SOURCE="$ROOT/source"
export DEBIAN_FRONTEND=noninteractive

apt-get update
# prlimit and setpriv (util-linux) and bubblewrap isolate the student's code in the grader.
apt-get install -y --no-install-recommends python3 python3-venv python3-pip util-linux bubblewrap ca-certificates
PYTHON=python3
if ! python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
    # The project needs Python >= 3.11; older Ubuntu images have it as a separate package.
    apt-get install -y --no-install-recommends python3.11 python3.11-venv
    PYTHON=python3.11
fi
"$PYTHON" -m venv "$ROOT/venv"
"$ROOT/venv/bin/pip" install --upgrade pip
# Editable: the grader finds assignment/rubric.toml next to its package, as in the repository.
"$ROOT/venv/bin/pip" install -e "$SOURCE/cnn1-grader"

mkdir -p "$ROOT/data"
if [ -f "$SOURCE/data/mnist.npz" ] && [ -f "$SOURCE/data/cifar10.npz" ]; then
    cp "$SOURCE/data/mnist.npz" "$SOURCE/data/cifar10.npz" "$ROOT/data/"
else
    # Download once now (the image build has network), stored in the layout the grader reads.
    "$ROOT/venv/bin/python" - "$ROOT/data" <<'PYTHON'
import sys
from pathlib import Path

import keras
import numpy as np

folder = Path(sys.argv[1])
for name, loader in (("mnist", keras.datasets.mnist), ("cifar10", keras.datasets.cifar10)):
    (x_train, y_train), (x_test, y_test) = loader.load_data()
    np.savez_compressed(folder / f"{name}.npz", x_train=x_train, y_train=y_train.reshape(-1),
                        x_test=x_test, y_test=y_test.reshape(-1))
PYTHON
fi
# The instructor's secret salt: the same probe inputs and training seeds as on the instructor's machine.
install -m 600 "$SOURCE/data/grader-salt" "$ROOT/data/grader-salt"
"""

RUN_AUTOGRADER = r"""#!/usr/bin/env bash
# Gradescope runs this for every submission, in /autograder.
set -u
ROOT="${AUTOGRADER_ROOT:-/autograder}"
PYTHON="$ROOT/venv/bin/python"
RESULTS="$ROOT/results/results.json"
mkdir -p "$ROOT/results"
export CNN_GRADER_DATA_DIR="$ROOT/data"

SUBMISSION="$("$PYTHON" -m grader.gradescope_bundle pick "$ROOT/submission")"
if [ -z "$SUBMISSION" ]; then
    "$PYTHON" -m grader.gradescope_bundle no-submission "$RESULTS"
    exit 0
fi
"$ROOT/venv/bin/grade" "$SUBMISSION" --gradescope "$RESULTS"
STATUS=$?
if [ ! -s "$RESULTS" ]; then
    # The grader itself failed: the student still gets a result that says so.
    "$PYTHON" -m grader.gradescope_bundle grader-failed "$RESULTS" "$STATUS"
fi
exit 0
"""

NO_SUBMISSION_OUTPUT = ("提出物に .ipynb または .py ファイルが見つかりません。ノートブックを提出してください。\n"
                        "No .ipynb or .py file was found in your submission. Please submit your notebook.")
GRADER_FAILED_OUTPUT = ("採点システムのエラーで採点できませんでした（あなたの提出物の問題ではない可能性があります）。"
                        "担当教員に連絡してください。\n"
                        "The autograder failed (this may not be a problem of your submission). "
                        "Please tell your instructor.")


def write_bundle(out_zip: Path, *, project_root: Path = PROJECT_ROOT, data_dir: Path | None = None,
                 salt: str | None = None) -> Path:
    """Write the Gradescope autograder zip to `out_zip`; with `data_dir`, the datasets go in too.
    The installation's secret salt (`salt`, else the one of the data directory in force) always
    does, so that Gradescope grades exactly as the instructor's own machine."""
    salt = salt_in_force(salt, datasets.data_dir(data_dir))
    out_zip = Path(out_zip)
    out_zip.parent.mkdir(parents=True, exist_ok=True)
    temp = out_zip.with_name(f".{out_zip.name}.tmp")
    with zipfile.ZipFile(temp, "w", zipfile.ZIP_DEFLATED) as archive:
        _add_text(archive, "setup.sh", SETUP_SH, EXECUTABLE)
        _add_text(archive, "run_autograder", RUN_AUTOGRADER, EXECUTABLE)
        for path in project_files(project_root):
            archive.write(path, f"{PROJECT_FOLDER}/{path.relative_to(project_root).as_posix()}")
        if not (project_root / "README.md").is_file():
            # pyproject.toml names README.md as the readme; without it the install fails.
            _add_text(archive, f"{PROJECT_FOLDER}/README.md", README_STUB, 0o644)
        _add_text(archive, f"data/{SALT_FILE}", salt + "\n", 0o600)
        if data_dir is not None:
            for name in DATASET_FILES:
                dataset = Path(data_dir) / name
                if not dataset.is_file():
                    raise FileNotFoundError(f"{dataset}: needed to bundle the datasets")
                # Already compressed by numpy or incompressible: stored, not deflated again.
                archive.write(dataset, f"data/{name}", compress_type=zipfile.ZIP_STORED)
    temp.replace(out_zip)
    return out_zip


def project_files(project_root: Path) -> list[Path]:
    """The project files the grader needs at run time (no tests, solutions or caches)."""
    files = []
    for entry in PROJECT_ENTRIES:
        path = project_root / entry
        if path.is_file():
            files.append(path)
        elif path.is_dir():
            files += sorted(p for p in path.rglob("*")
                            if p.is_file() and not SKIPPED_PARTS & set(p.relative_to(project_root).parts)
                            and p.suffix != ".pyc")
    return files


def _add_text(archive: zipfile.ZipFile, name: str, text: str, mode: int) -> None:
    info = zipfile.ZipInfo(name, date_time=time.localtime()[:6])
    info.external_attr = (stat.S_IFREG | mode) << 16
    info.compress_type = zipfile.ZIP_DEFLATED
    archive.writestr(info, text)


# ---------------------------------------------------------------------------------- run time helpers
def _write_results(path: Path, output: str) -> None:
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(json.dumps({"score": 0.0, "output": output}, ensure_ascii=False, indent=2) + "\n",
                          encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    """`pick FOLDER` | `no-submission RESULTS` | `grader-failed RESULTS STATUS` (for run_autograder)."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) == 2 and args[0] == "pick":
        chosen = newest_submission_file(Path(args[1])) if Path(args[1]).is_dir() else None
        print(chosen if chosen else "")
        return 0
    if len(args) == 2 and args[0] == "no-submission":
        _write_results(Path(args[1]), NO_SUBMISSION_OUTPUT)
        return 0
    if len(args) == 3 and args[0] == "grader-failed":
        _write_results(Path(args[1]), f"{GRADER_FAILED_OUTPUT}\n(exit status {args[2]})")
        return 0
    print(main.__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
