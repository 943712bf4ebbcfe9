"""Find the submissions in an LMS export: a folder or a `.zip` of a whole class.

Layouts (what each LMS writes, checked against the LMS sources):

* ``plain``: ``<student id>.ipynb`` files, or one folder per student (``<student id>/…``).
* ``canvas``: "Download Submissions" of Canvas (``lib/content_zipper.rb``): flat files named
  ``<sortable name, lower case, non-word characters removed>[_LATE]_<user id>_<attachment id>_<file>``;
  with anonymous grading the name is left out and the id is ``anon_<anonymous id>``.
* ``moodle``: "Download all submissions" of Moodle's assignment module (``mod/assign/locallib.php``):
  folders ``<Full Name>_<participant id>_assignsubmission_file_/<file>`` (Moodle >= 3.1), or flat
  files ``<Full Name>_<participant id>_assignsubmission_file_<file>`` (older, or "download as folders"
  switched off). The participant id is the one the grading worksheet calls "Participant <id>".
* ``gradescope``: "Export Submissions" of Gradescope: ``submission_metadata.yml`` (keys
  ``submission_<id>`` with ``:submitters:`` entries ``:name:``, ``:sid:``, ``:email:``) next to one
  ``submission_<id>/`` folder per submission.

Only ``.ipynb`` and ``.py`` files are submissions. When a student has several, the newest (by the
modification time on disk, or the time stored in the zip) wins, and the choice is reported.
A zip is extracted into a fresh folder, refusing entries that would land outside it (``../``,
absolute paths), links and device files, and stopping at a size and file-count cap; each refused
entry becomes a `Problem`, never an exception.
"""

from __future__ import annotations

import os
import re
import shutil
import stat
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

LAYOUTS = ("plain", "canvas", "moodle", "gradescope")
SUBMISSION_SUFFIXES = (".ipynb", ".py")
GRADESCOPE_METADATA = "submission_metadata.yml"

# Far beyond a class of 500 notebooks with outputs, far below what fills a disk.
MAX_ZIP_TOTAL_BYTES = 4 * 1024**3
MAX_ZIP_FILES = 20_000
MAX_ZIP_FILE_BYTES = 200 * 1024**2   # the grader refuses larger submissions anyway (grader.load)
COPY_CHUNK = 1024**2

# Operating-system and editor litter: never a submission, not worth a problem line either.
NOISE_NAMES = {".DS_Store", "Thumbs.db", "desktop.ini", "__MACOSX", ".ipynb_checkpoints", "__pycache__"}

# Canvas: the name part has no "_<digits>_" (Canvas removes that pattern from names on purpose).
CANVAS_NAMED = re.compile(
    r"^(?P<name>.+?)(?P<late>_LATE)?_(?P<user_id>\d+)_(?P<attachment_id>\d+)_(?P<file>.+)$", re.S)
CANVAS_ANONYMOUS = re.compile(
    r"^(?P<late>LATE_)?(?P<user_id>anon_[A-Za-z0-9]+)_(?P<attachment_id>\d+)_(?P<file>.+)$", re.S)
# Moodle: underscores in names are replaced by spaces, so the first "_<digits>_assignsubmission_"
# ends the name.
MOODLE_ENTRY = re.compile(
    r"^(?P<name>.+?)_(?P<participant_id>\d+)_assignsubmission_(?P<plugin>[a-z0-9]+)_(?P<rest>.*)$",
    re.S)


class LayoutError(ValueError):
    """The layout asked for is unknown, or the input cannot be read at all."""


@dataclass(frozen=True)
class Submission:
    """The one file graded for a student, and where it came from."""

    student_id: str
    name: str
    path: Path
    late: bool
    chosen_from: list[Path]          # every candidate file, newest (the chosen one) first
    lms_ids: dict[str, str] = field(default_factory=dict)  # layout-specific ids for the gradebooks

    @property
    def had_choice(self) -> bool:
        return len(self.chosen_from) > 1


@dataclass(frozen=True)
class Problem:
    """An input entry that was refused or could not be read, with the reason."""

    entry: str
    reason: str


@dataclass
class Collection:
    """What `collect_submissions` found; `close()` removes the folder a zip was extracted to."""

    layout: str
    detected: bool                   # False when the layout was forced by the caller
    root: Path                       # folder the submissions were found in
    submissions: list[Submission]
    problems: list[Problem] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)   # files that are not .ipynb / .py
    extracted_to: Path | None = None

    def close(self) -> None:
        if self.extracted_to is not None:
            shutil.rmtree(self.extracted_to, ignore_errors=True)
            self.extracted_to = None

    def __enter__(self) -> Collection:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


@dataclass(frozen=True)
class _Candidate:
    """One submission file of one student, before the newest-wins choice."""

    student_id: str
    name: str
    path: Path
    late: bool
    lms_ids: dict[str, str]
    tiebreak: int = 0               # e.g. Canvas attachment id: a later upload has a larger one


# ---------------------------------------------------------------------------------- entry point
def collect_submissions(input_path: Path, layout: str = "auto",
                        extract_to: Path | None = None) -> Collection:
    """Find every student's submission in a folder or `.zip` export; detect the layout unless given.

    `extract_to` is the (new or empty) folder a zip is extracted into; by default a temporary folder
    that `Collection.close()` removes.
    """
    if layout != "auto" and layout not in LAYOUTS:
        raise LayoutError(f"unknown layout {layout!r}; expected auto or one of {', '.join(LAYOUTS)}")
    input_path = Path(input_path)
    problems: list[Problem] = []
    extracted_to = None
    if input_path.is_file() and zipfile.is_zipfile(input_path):
        extracted_to = _new_extract_folder(extract_to)
        problems += extract_zip_safely(input_path, extracted_to)
        root = extracted_to
    elif input_path.is_dir():
        root = input_path
    elif input_path.exists():
        raise LayoutError(f"{input_path}: neither a folder nor a .zip file")
    else:
        raise LayoutError(f"{input_path}: does not exist")
    root = _unwrap_single_folder(root)
    chosen = detect_layout(root) if layout == "auto" else layout
    candidates, ignored, layout_problems = _READERS[chosen](root)
    return Collection(layout=chosen, detected=layout == "auto", root=root,
                      submissions=choose_newest(candidates), problems=problems + layout_problems,
                      ignored=ignored, extracted_to=extracted_to)


def detect_layout(root: Path) -> str:
    """The layout of the export in `root`: the LMS whose naming most top-level entries follow."""
    if (root / GRADESCOPE_METADATA).is_file():
        return "gradescope"
    names = [entry.name for entry in _entries(root)]
    moodle = sum(1 for name in names if MOODLE_ENTRY.match(name))
    canvas = sum(1 for name in names if _canvas_match(name))
    best, count = max((("moodle", moodle), ("canvas", canvas)), key=lambda pair: pair[1])
    # Half the entries is enough: an instructor's notes or a stray file should not flip the layout.
    return best if count and count * 2 >= len(names) else "plain"


def newest_submission_file(folder: Path) -> Path | None:
    """The newest .ipynb / .py file anywhere under `folder` (the Gradescope autograder's pick)."""
    files = [path for path in _files_under(folder) if _is_submission_name(path.name)]
    return max(files, key=lambda path: (path.stat().st_mtime, str(path)), default=None)


# ---------------------------------------------------------------------------------- zip
def extract_zip_safely(zip_path: Path, destination: Path, *, max_total_bytes: int = MAX_ZIP_TOTAL_BYTES,
                       max_files: int = MAX_ZIP_FILES,
                       max_file_bytes: int = MAX_ZIP_FILE_BYTES) -> list[Problem]:
    """Extract regular files of `zip_path` below `destination`; return the entries refused."""
    problems: list[Problem] = []
    budget = [max_total_bytes]
    try:
        archive = zipfile.ZipFile(zip_path)
    except (OSError, zipfile.BadZipFile) as exc:
        return [Problem(str(zip_path), f"not a readable zip file ({exc})")]
    with archive:
        files_written = 0
        for info in archive.infolist():
            info.filename = _decoded_entry_name(info)
            reason = _unsafe_entry_reason(info)
            if reason is None and not info.is_dir() and files_written >= max_files:
                reason = f"more than {max_files} files in the zip; the rest is not extracted"
            if reason is not None:
                problems.append(Problem(info.filename, reason))
                continue
            target = destination.joinpath(*_entry_parts(info.filename))
            if info.is_dir():
                target.mkdir(parents=True, exist_ok=True)
                continue
            reason = _extract_member(archive, info, target, budget, max_file_bytes)
            if reason is not None:
                problems.append(Problem(info.filename, reason))
                continue
            files_written += 1
    return problems


def _unsafe_entry_reason(info: zipfile.ZipInfo) -> str | None:
    """Why a zip entry must not be extracted, or None when it is an ordinary file or folder."""
    name = info.filename
    if "\x00" in name:
        return "refused: NUL character in the entry name"
    normalized = name.replace("\\", "/")
    if normalized.startswith("/") or re.match(r"^[A-Za-z]:", normalized):
        return "refused: absolute path"
    if ".." in normalized.split("/"):
        return "refused: path traversal ('..')"
    file_type = stat.S_IFMT(info.external_attr >> 16)  # 0 when the zip tool stored no Unix mode
    if file_type == stat.S_IFLNK:
        return "refused: symbolic link"
    if file_type not in (0, stat.S_IFREG, stat.S_IFDIR):
        return "refused: not a regular file"
    if info.flag_bits & 0x1:
        return "refused: encrypted entry"
    if not _entry_parts(name):
        return "refused: empty entry name"
    return None


def _decoded_entry_name(info: zipfile.ZipInfo) -> str:
    """The entry name as written: zips made on Japanese Windows store CP932 without saying so."""
    if info.flag_bits & 0x800:          # the zip says the name is UTF-8: zipfile decoded it right
        return info.filename
    try:
        raw = info.filename.encode("cp437")   # undo zipfile's default decoding
    except UnicodeEncodeError:
        return info.filename
    for encoding in ("utf-8", "cp932"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    return info.filename


def _entry_parts(name: str) -> list[str]:
    return [part for part in name.replace("\\", "/").split("/") if part not in ("", ".")]


def _extract_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, target: Path,
                    budget: list[int], max_file_bytes: int) -> str | None:
    """Copy one entry, counting real bytes (the sizes in the zip header may lie)."""
    if info.file_size > max_file_bytes:
        return f"refused: {info.file_size} bytes, more than the {max_file_bytes} bytes allowed per file"
    if info.file_size > budget[0]:
        return "refused: the zip's total uncompressed size is over the limit"
    if target.exists():
        return "refused: the same name appears twice in the zip"
    target.parent.mkdir(parents=True, exist_ok=True)
    written = 0
    try:
        with archive.open(info) as source, open(target, "xb") as sink:
            while chunk := source.read(COPY_CHUNK):
                written += len(chunk)
                if written > max_file_bytes or written > budget[0]:
                    raise _TooLarge()
                sink.write(chunk)
    except _TooLarge:
        target.unlink(missing_ok=True)
        return "refused: uncompressed data exceeds the size limit"
    except (OSError, zipfile.BadZipFile, EOFError, RuntimeError, NotImplementedError) as exc:
        target.unlink(missing_ok=True)
        return f"unreadable: {type(exc).__name__}: {exc}"
    budget[0] -= written
    _restore_mtime(target, info)
    return None


class _TooLarge(Exception):
    pass


def _restore_mtime(target: Path, info: zipfile.ZipInfo) -> None:
    # The time stored in the zip decides "newest wins", exactly as the mtime does for a folder.
    try:
        import datetime
        stamp = datetime.datetime(*info.date_time).timestamp()
        os.utime(target, (stamp, stamp))
    except (ValueError, OverflowError, OSError):
        pass


def _new_extract_folder(extract_to: Path | None) -> Path:
    if extract_to is None:
        return Path(tempfile.mkdtemp(prefix="cnn1-batch-input-"))
    extract_to = Path(extract_to)
    extract_to.mkdir(parents=True, exist_ok=True)
    if any(extract_to.iterdir()):
        raise LayoutError(f"{extract_to}: the folder to extract the zip into is not empty")
    return extract_to


# ---------------------------------------------------------------------------------- readers
def _read_plain(root: Path) -> tuple[list[_Candidate], list[str], list[Problem]]:
    """Top-level files are named by student id; top-level folders are one student each."""
    candidates, ignored = [], []
    for entry in _entries(root):
        if entry.is_dir():
            files = _files_under(entry)
            found = [f for f in files if _is_submission_name(f.name)]
            ignored += [_relative(f, root) for f in files if not _is_submission_name(f.name)]
            candidates += [_Candidate(entry.name, "", f, False, {}) for f in found]
        elif _is_submission_name(entry.name):
            candidates.append(_Candidate(Path(entry.name).stem, "", entry, False, {}))
        else:
            ignored.append(entry.name)
    return candidates, ignored, []


def _read_canvas(root: Path) -> tuple[list[_Candidate], list[str], list[Problem]]:
    candidates, ignored, problems = [], [], []
    for path in _files_under(root):
        relative = _relative(path, root)
        if not _is_submission_name(path.name):
            ignored.append(relative)
            continue
        match = _canvas_match(path.name)
        if match is None:
            problems.append(Problem(relative, "name does not follow Canvas' "
                                    "<name>[_LATE]_<user id>_<attachment id>_<file> pattern"))
            continue
        name = match.groupdict().get("name") or ""
        candidates.append(_Candidate(
            match["user_id"], name, path, bool(match["late"]),
            {"canvas_user_id": match["user_id"], "canvas_attachment_id": match["attachment_id"]},
            tiebreak=int(match["attachment_id"])))
    return candidates, ignored, problems


def _read_moodle(root: Path) -> tuple[list[_Candidate], list[str], list[Problem]]:
    candidates, ignored, problems = [], [], []
    for entry in _entries(root):
        match = MOODLE_ENTRY.match(entry.name)
        if match is None:
            problems.append(Problem(entry.name, "name does not follow Moodle's "
                                    "<Full Name>_<participant id>_assignsubmission_<plugin>_ pattern"))
            continue
        files = _files_under(entry) if entry.is_dir() else [entry]
        for path in files:
            if not _is_submission_name(path.name) or match["plugin"] != "file":
                ignored.append(_relative(path, root))
                continue
            candidates.append(_Candidate(
                match["participant_id"], match["name"], path, False,
                {"moodle_participant_id": match["participant_id"]}))
    return candidates, ignored, problems


def _read_gradescope(root: Path) -> tuple[list[_Candidate], list[str], list[Problem]]:
    metadata_path = root / GRADESCOPE_METADATA
    try:
        metadata = parse_gradescope_metadata(metadata_path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise LayoutError(f"{metadata_path}: cannot be read ({exc})") from None
    candidates, ignored, problems = [], [], []
    listed = set()
    for folder_name, entry in metadata.items():
        listed.add(folder_name)
        folder = root / folder_name
        files = _files_under(folder) if folder.is_dir() else []
        found = [f for f in files if _is_submission_name(f.name)]
        ignored += [_relative(f, root) for f in files if not _is_submission_name(f.name)]
        if not found:
            problems.append(Problem(folder_name, "no .ipynb or .py file in this Gradescope submission"))
        submission_id = folder_name.removeprefix("submission_")
        # A group submission is one file for several students: each gets the row of the same file.
        for submitter in entry.get("submitters", []) or [{}]:
            student_id = submitter.get("sid") or submitter.get("email") or f"gradescope_{submission_id}"
            ids = {"gradescope_submission_id": submission_id, "gradescope_sid": submitter.get("sid", ""),
                   "gradescope_email": submitter.get("email", "")}
            candidates += [_Candidate(student_id, submitter.get("name", ""), f, False, ids) for f in found]
    for entry in _entries(root):
        if entry.name != GRADESCOPE_METADATA and entry.name not in listed:
            problems.append(Problem(entry.name, f"not listed in {GRADESCOPE_METADATA}"))
    return candidates, ignored, problems


_READERS = {"plain": _read_plain, "canvas": _read_canvas, "moodle": _read_moodle,
            "gradescope": _read_gradescope}


def parse_gradescope_metadata(text: str) -> dict[str, dict]:
    """`submission_metadata.yml` as {folder: {"submitters": [{"name", "sid", "email"}], "created_at"}}.

    Uses PyYAML when it is installed; otherwise reads the fixed shape Gradescope writes line by line.
    """
    try:
        import yaml
    except ImportError:
        return _parse_gradescope_metadata_lines(text)
    try:
        data = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        raise ValueError(f"not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise ValueError("expected a mapping of submission folders")
    return {str(folder): _gradescope_entry(entry) for folder, entry in data.items()}


def _gradescope_entry(entry: object) -> dict:
    entry = entry if isinstance(entry, dict) else {}
    submitters = []
    for person in entry.get(":submitters") or []:
        if isinstance(person, dict):
            submitters.append({key: str(person.get(f":{key}") or "") for key in ("name", "sid", "email")})
    return {"submitters": submitters, "created_at": str(entry.get(":created_at") or "")}


_YAML_SCALAR = re.compile(r"^\s*(?:- )?:(?P<key>\w+):\s?(?P<value>.*)$")


def _parse_gradescope_metadata_lines(text: str) -> dict[str, dict]:
    """The fallback reader: top-level `submission_<id>:` keys and their own `:submitters:` list."""
    result: dict[str, dict] = {}
    current: dict | None = None
    in_submitters = False
    for line in text.splitlines():
        if not line.strip() or line.startswith("---"):
            continue
        if not line.startswith(" "):
            current = result.setdefault(line.rstrip().rstrip(":"), {"submitters": [], "created_at": ""})
            in_submitters = False
            continue
        indent = len(line) - len(line.lstrip(" "))
        match = _YAML_SCALAR.match(line)
        if current is None or match is None:
            continue
        key, value = match["key"], _yaml_unquote(match["value"])
        list_item = line.lstrip().startswith("- ")
        if indent == 2 and not list_item:
            # Only the submission's own keys; `:history:` entries repeat `:submitters:` deeper down.
            in_submitters = key == "submitters"
            if key == "created_at":
                current["created_at"] = value
        elif in_submitters and key in ("name", "sid", "email"):
            if list_item:
                current["submitters"].append({"name": "", "sid": "", "email": ""})
            if current["submitters"]:
                current["submitters"][-1][key] = value
    return result


def _yaml_unquote(value: str) -> str:
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] == "'":
        return value[1:-1].replace("''", "'")
    if len(value) >= 2 and value[0] == value[-1] == '"':
        return value[1:-1].replace('\\"', '"')
    return value


# ---------------------------------------------------------------------------------- helpers
def choose_newest(candidates: list[_Candidate]) -> list[Submission]:
    """One `Submission` per student: the newest file wins; the others are kept in `chosen_from`."""
    by_student: dict[str, list[_Candidate]] = {}
    for candidate in candidates:
        by_student.setdefault(candidate.student_id, []).append(candidate)
    submissions = []
    for student_id in sorted(by_student):
        ranked = sorted(by_student[student_id], key=_newness, reverse=True)
        newest = ranked[0]
        submissions.append(Submission(
            student_id=student_id, name=newest.name, path=newest.path,
            # Late when the file that is graded was late, not when any earlier upload was.
            late=newest.late, chosen_from=[c.path for c in ranked], lms_ids=dict(newest.lms_ids)))
    return submissions


def _newness(candidate: _Candidate) -> tuple:
    try:
        mtime = candidate.path.stat().st_mtime
    except OSError:
        mtime = float("-inf")
    # Same time (e.g. every file of a Canvas zip): the later upload, then a notebook over a .py.
    return (mtime, candidate.tiebreak, candidate.path.suffix.lower() == ".ipynb", str(candidate.path))


def _canvas_match(name: str) -> re.Match | None:
    return CANVAS_ANONYMOUS.match(name) or CANVAS_NAMED.match(name)


def _is_submission_name(name: str) -> bool:
    return Path(name).suffix.lower() in SUBMISSION_SUFFIXES and not name.startswith(("._", "."))


def _is_noise(name: str) -> bool:
    return name in NOISE_NAMES or name.startswith("._")


def _entries(folder: Path) -> list[Path]:
    """The top-level entries of `folder`, without OS litter, in a stable order."""
    return sorted((entry for entry in folder.iterdir() if not _is_noise(entry.name)),
                  key=lambda entry: entry.name)


def _files_under(folder: Path) -> list[Path]:
    """Regular files below `folder` (no links followed), without OS and editor litter."""
    found = []
    for current, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not _is_noise(d))
        for name in sorted(files):
            path = Path(current) / name
            if not _is_noise(name) and path.is_file() and not path.is_symlink():
                found.append(path)
    return found


def _relative(path: Path, root: Path) -> str:
    try:
        return str(PurePosixPath(*path.relative_to(root).parts))
    except ValueError:
        return str(path)


def _unwrap_single_folder(root: Path) -> Path:
    """Descend into a lone wrapper folder (a zip of the export folder) when it holds the export.

    A lone folder is kept when it looks like one student's folder of a plain export.
    """
    while True:
        entries = _entries(root)
        if len(entries) != 1 or not entries[0].is_dir():
            return root
        inner = entries[0]
        inner_entries = _entries(inner)
        looks_like_export = (
            (inner / GRADESCOPE_METADATA).is_file()
            or any(MOODLE_ENTRY.match(e.name) or _canvas_match(e.name) for e in inner_entries)
            or sum(1 for e in inner_entries if e.is_dir() or _is_submission_name(e.name)) > 1)
        if not looks_like_export:
            return root
        root = inner
