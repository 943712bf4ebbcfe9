"""The installation's secret salt: what makes every grading's probe inputs and training seeds
unpredictable to students, who have the grader's source.

The salt is, in order: the `salt` of `GradeOptions`, the environment variable `CNN_GRADER_SALT`
(set by the instructor, e.g. the same on every machine of a batch), or a random secret created on
first use in the data directory (`grader-salt`, mode 0600), kept with the datasets the worker never
sees. Batch gradings and the Gradescope bundle carry the salt they were started with.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

SALT_VARIABLE = "CNN_GRADER_SALT"
SALT_FILE = "grader-salt"


class SaltUnavailable(Exception):
    """No salt is set and none can be created in the data directory; str() says what to do."""


def installation_salt(data_dir: Path) -> str:
    """The salt in force: the environment variable, else the data directory's secret (made once)."""
    if os.environ.get(SALT_VARIABLE):
        return os.environ[SALT_VARIABLE]
    path = Path(data_dir) / SALT_FILE
    try:
        return _read_or_create(path)
    except OSError as exc:
        raise SaltUnavailable(
            f"{path}: the grader's secret salt cannot be read or created ({exc.strerror}). Make the "
            f"data directory writable once, or set the environment variable {SALT_VARIABLE} to a "
            f"long random string known only to the instructors.") from None


def _read_or_create(path: Path) -> str:
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        draft = path.with_name(f".{SALT_FILE}.{os.getpid()}")
        fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
        with os.fdopen(fd, "w", encoding="ascii") as handle:
            handle.write(secrets.token_hex(32) + "\n")
        try:
            # A link appears whole or not at all, and never replaces: two graders starting at once
            # agree on the first salt, and nobody reads a half-written one.
            os.link(draft, path)
        except FileExistsError:
            pass
        finally:
            draft.unlink()
    text = path.read_text(encoding="ascii").strip()
    if not text:
        raise OSError(0, "the salt file is empty")
    return text
