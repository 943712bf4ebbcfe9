"""The resumable result store of a batch: ``OUT/results/<student>.json``, one file per student.

Each file holds the student id, the sha256 of the graded file's content (together: the key), and
the complete `GradeResult`. A file is written to a temporary name in the same folder, flushed to
disk and renamed over the old one (`os.replace` is atomic), so a run killed at any moment leaves
either the old complete file, the new complete file, or a stray temporary file that is ignored.
A rerun skips every student whose stored sha256 matches the file to grade and regrades the others.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from grader.results import GradeResult, result_from_dict

STORE_FORMAT_VERSION = 1
RESULTS_FOLDER = "results"
TEMP_SUFFIX = ".tmp"
MAX_STEM_CHARS = 80
_SAFE_STEM = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


def safe_file_stem(student_id: str) -> str:
    """A file name for `student_id` that is safe on any file system and unique per id.

    Ids that are already plain ASCII names are kept, so `results/s123.json` is easy to find; any
    other id (spaces, Japanese, slashes) keeps its letters and gets a hash suffix, so two ids that
    clean up to the same text still get different files.
    """
    if _SAFE_STEM.match(student_id) and len(student_id) <= MAX_STEM_CHARS:
        return student_id
    cleaned = re.sub(r"[^\w.-]+", "_", student_id, flags=re.UNICODE).strip("._")[:MAX_STEM_CHARS // 2]
    digest = hashlib.sha256(student_id.encode("utf-8")).hexdigest()[:12]
    return f"{cleaned}-{digest}" if cleaned else f"id-{digest}"


def file_sha256(path: Path) -> str:
    """The sha256 of the file's bytes (what the store keys on), read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1024 * 1024), b""):
            digest.update(chunk)
    return digest.hexdigest()


def result_key(student_id: str, sha256: str) -> str:
    return f"{student_id}:{sha256}"


@dataclass(frozen=True)
class StoredResult:
    """One stored result with the key it was stored under."""

    student_id: str
    sha256: str
    stored_at: float
    result: GradeResult
    path: Path

    @property
    def key(self) -> str:
        return result_key(self.student_id, self.sha256)


class ResultStore:
    """The `results/` folder of a batch output folder."""

    def __init__(self, out_dir: Path) -> None:
        self.folder = Path(out_dir) / RESULTS_FOLDER

    def path_for(self, student_id: str) -> Path:
        return self.folder / f"{safe_file_stem(student_id)}.json"

    def save(self, student_id: str, sha256: str, result: GradeResult) -> Path:
        """Store `result` as the student's result for the content `sha256`, atomically."""
        record = {"store_format": STORE_FORMAT_VERSION, "student_id": student_id, "sha256": sha256,
                  "key": result_key(student_id, sha256), "stored_at": time.time(),
                  "result": result.to_dict()}
        path = self.path_for(student_id)
        _atomic_write(path, json.dumps(record, ensure_ascii=False, indent=1) + "\n")
        return path

    def load_done(self) -> dict[str, StoredResult]:
        """Every complete stored result by student id; temporary and unreadable files are skipped."""
        done: dict[str, StoredResult] = {}
        if not self.folder.is_dir():
            return done
        for path in sorted(self.folder.glob("*.json")):
            stored = self._read(path)
            if stored is not None:
                done[stored.student_id] = stored
        return done

    def is_current(self, stored: StoredResult | None, sha256: str) -> bool:
        """Whether `stored` is a result of exactly this content."""
        return stored is not None and stored.sha256 == sha256

    def remove_stray_temp_files(self) -> list[Path]:
        """Delete the temporary files a killed run left behind; return what was removed."""
        removed = []
        if self.folder.is_dir():
            for path in self.folder.glob(f".*{TEMP_SUFFIX}"):
                path.unlink(missing_ok=True)
                removed.append(path)
        return removed

    def _read(self, path: Path) -> StoredResult | None:
        try:
            record = json.loads(path.read_text(encoding="utf-8"))
            if record.get("store_format") != STORE_FORMAT_VERSION:
                return None
            student_id, sha256 = record["student_id"], record["sha256"]
            if path.name != f"{safe_file_stem(student_id)}.json":
                return None  # copied or renamed by hand: not a file this store wrote
            return StoredResult(student_id, sha256, float(record["stored_at"]),
                                result_from_dict(record["result"]), path)
        except (OSError, ValueError, KeyError, TypeError):
            # Cannot come from an interrupted write (those stay temporary files); a hand-edited
            # or foreign file simply counts as "not graded yet" and is overwritten by the regrade.
            return None


def _atomic_write(path: Path, text: str) -> None:
    """Write `text` to `path` via a temporary file in the same folder, fsync'ed, then rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temp_name = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=TEMP_SUFFIX, dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as temp_file:
            temp_file.write(text)
            temp_file.flush()
            os.fsync(temp_file.fileno())
        os.replace(temp_name, path)
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise
    _fsync_folder(path.parent)


def _fsync_folder(folder: Path) -> None:
    # The rename itself survives a power cut only once the folder entry is on disk.
    try:
        descriptor = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass
    finally:
        os.close(descriptor)
