"""The installation's secret salt: made once, private, shared by every grading of the installation."""

from __future__ import annotations

import stat

import pytest

from grader.secret import SALT_FILE, SALT_VARIABLE, SaltUnavailable, installation_salt


@pytest.fixture
def no_salt_variable(monkeypatch):
    monkeypatch.delenv(SALT_VARIABLE, raising=False)


def test_a_salt_is_made_on_first_use_readable_by_its_owner_only(tmp_path, no_salt_variable):
    salt = installation_salt(tmp_path)
    path = tmp_path / SALT_FILE
    assert len(salt) == 64 and path.read_text().strip() == salt
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_the_salt_stays_the_same_once_made(tmp_path, no_salt_variable):
    assert installation_salt(tmp_path) == installation_salt(tmp_path)


def test_two_installations_get_different_salts(tmp_path, no_salt_variable):
    assert installation_salt(tmp_path / "a") != installation_salt(tmp_path / "b")


def test_the_instructors_variable_wins(tmp_path, monkeypatch):
    monkeypatch.setenv(SALT_VARIABLE, "set-by-the-instructor")
    assert installation_salt(tmp_path) == "set-by-the-instructor"
    assert not (tmp_path / SALT_FILE).exists()


def test_a_data_directory_that_cannot_hold_the_salt_says_what_to_do(tmp_path, no_salt_variable):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    with pytest.raises(SaltUnavailable, match=SALT_VARIABLE):
        installation_salt(blocker / "data")


def test_an_empty_salt_file_is_refused(tmp_path, no_salt_variable):
    (tmp_path / SALT_FILE).write_text("")
    with pytest.raises(SaltUnavailable, match="empty"):
        installation_salt(tmp_path)


def test_a_short_salt_in_the_variable_is_refused_naming_the_variable(tmp_path, monkeypatch):
    monkeypatch.setenv(SALT_VARIABLE, "cs101-2026")
    with pytest.raises(SaltUnavailable, match=f"{SALT_VARIABLE}.*10 characters, fewer than 16"):
        installation_salt(tmp_path)


def test_a_salt_of_sixteen_characters_is_taken(tmp_path, monkeypatch):
    monkeypatch.setenv(SALT_VARIABLE, "x" * 16)
    assert installation_salt(tmp_path) == "x" * 16


def test_a_short_salt_file_is_refused_naming_the_file(tmp_path, no_salt_variable):
    (tmp_path / SALT_FILE).write_text("secret\n")
    with pytest.raises(SaltUnavailable, match=f"{SALT_FILE}: .*6 characters"):
        installation_salt(tmp_path)


def test_a_short_salt_given_to_a_grading_is_refused_before_anything_runs(tmp_path):
    from grader.grade import GradeOptions, grade_submission
    submission = tmp_path / "s.py"
    submission.write_text("x = 1\n")
    with pytest.raises(SaltUnavailable, match="GradeOptions.salt"):
        grade_submission(submission, GradeOptions(salt="cs101"))


def test_a_salt_with_white_space_at_its_ends_is_refused_as_the_file_would_lose_it(tmp_path, monkeypatch):
    monkeypatch.setenv(SALT_VARIABLE, "0123456789abcdef0123 \n")
    with pytest.raises(SaltUnavailable, match="white space"):
        installation_salt(tmp_path)
