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
# The worker sees a seed derived from the salt: a short salt ("cs101", a course code) can be found by
# trying guesses offline against it. 16 characters is a floor, not a measure of secrecy: the made
# salt is 64 random hex digits.
MIN_SALT_CHARS = 16
NEW_SALT_COMMAND = "python -c 'import secrets; print(secrets.token_hex(32))'"


class SaltUnavailable(Exception):
    """No salt is set and none can be created in the data directory; str() says what to do."""


def installation_salt(data_dir: Path) -> str:
    """The salt in force: the environment variable, else the data directory's secret (made once)."""
    if os.environ.get(SALT_VARIABLE):
        return checked_salt(os.environ[SALT_VARIABLE], f"the environment variable {SALT_VARIABLE}")
    path = Path(data_dir) / SALT_FILE
    try:
        salt = _read_or_create(path)
    except OSError as exc:
        raise SaltUnavailable(
            f"{path}: the grader's secret salt cannot be read or created ({exc.strerror}). Make the "
            f"data directory writable once, or set the environment variable {SALT_VARIABLE} to a "
            f"long random string known only to the instructors ({NEW_SALT_COMMAND}).") from None
    return checked_salt(salt, str(path))


def salt_in_force(given: str | None, data_dir: Path) -> str:
    """The salt a grading, batch, validation or bundle uses: the one given (checked), else the
    installation's."""
    return checked_salt(given, "the salt given (GradeOptions.salt)") if given else installation_salt(data_dir)


def checked_salt(salt: str, source: str) -> str:
    """`salt` when it is long enough not to be guessed and has no white space at its ends (which
    the salt file, the bundle's included, does not keep); else SaltUnavailable naming its source."""
    if salt != salt.strip():
        raise SaltUnavailable(f"{source}: the secret salt starts or ends with white space; the salt "
                              f"file does not keep it, so a Gradescope bundle would grade with another "
                              f"salt. Remove it ({NEW_SALT_COMMAND} makes a good one).")
    if len(salt) < MIN_SALT_CHARS:
        raise SaltUnavailable(
            f"{source}: the secret salt has {len(salt)} characters, fewer than {MIN_SALT_CHARS}; a short "
            f"salt can be guessed and every probe input and training seed predicted. Set a long random "
            f"one ({NEW_SALT_COMMAND}), the same on every machine of a class.")
    return salt


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
