"""Tests of reading LMS exports (grader.lms): layouts, newest wins, late marker, safe zip extraction."""

from __future__ import annotations

import datetime
import stat
import zipfile
from pathlib import Path

import pytest

from fake_grading import notebook, write
from grader.lms import (LayoutError, _parse_gradescope_metadata_lines, collect_submissions,
                        detect_layout, extract_zip_safely, newest_submission_file,
                        parse_gradescope_metadata)

OLD, NEW = 1_700_000_000, 1_700_100_000


def zip_folder(folder: Path, zip_path: Path) -> Path:
    """Zip `folder`'s contents (not the folder itself), keeping each file's mtime in the entry."""
    with zipfile.ZipFile(zip_path, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                archive.write(path, path.relative_to(folder).as_posix())
    return zip_path


def by_id(collection) -> dict:
    return {s.student_id: s for s in collection.submissions}


# ---------------------------------------------------------------------------------- plain
def test_plain_files_are_named_by_student_id_with_spaces_and_japanese(tmp_path):
    write(tmp_path / "alice.ipynb", notebook())
    write(tmp_path / "bob.py", "print(1)\n")
    write(tmp_path / "山田 太郎.ipynb", notebook())
    write(tmp_path / "notes.txt", "not a submission")
    collection = collect_submissions(tmp_path)
    assert collection.layout == "plain" and collection.detected
    assert set(by_id(collection)) == {"alice", "bob", "山田 太郎"}
    assert by_id(collection)["山田 太郎"].path.name == "山田 太郎.ipynb"
    assert collection.ignored == ["notes.txt"]
    assert not any(s.late for s in collection.submissions)


def test_plain_folder_per_student_newest_notebook_wins_and_choice_is_reported(tmp_path):
    write(tmp_path / "carol" / "draft.ipynb", notebook(), mtime=OLD)
    write(tmp_path / "carol" / "final.ipynb", notebook(), mtime=NEW)
    write(tmp_path / "carol" / ".ipynb_checkpoints" / "final-checkpoint.ipynb", notebook(), mtime=NEW + 10)
    write(tmp_path / "dave" / "work.py", "x = 1\n")
    submissions = by_id(collect_submissions(tmp_path))
    assert set(submissions) == {"carol", "dave"}
    carol = submissions["carol"]
    assert carol.path.name == "final.ipynb"
    assert [p.name for p in carol.chosen_from] == ["final.ipynb", "draft.ipynb"]
    assert carol.had_choice and not submissions["dave"].had_choice


# ---------------------------------------------------------------------------------- Canvas
def make_canvas_export(folder: Path) -> Path:
    write(folder / "smithjohn_1234_5001_cnn_assignment.ipynb", notebook(), mtime=OLD)
    write(folder / "smithjohn_1234_5002_cnn_assignment-1.ipynb", notebook(), mtime=NEW)
    write(folder / "doejane_LATE_1235_5003_my notebook.ipynb", notebook(), mtime=OLD)
    write(folder / "やまだたろう_1236_5004_課題 提出.py", "x = 1\n", mtime=OLD)
    write(folder / "anon_Xy12Z_5005_cnn.ipynb", notebook(), mtime=OLD)
    write(folder / "leebob_1237_5006_report.pdf", "%PDF", mtime=OLD)
    return folder


def test_canvas_layout_ids_names_late_marker_and_newest_upload(tmp_path):
    collection = collect_submissions(make_canvas_export(tmp_path))
    assert collection.layout == "canvas"
    submissions = by_id(collection)
    assert set(submissions) == {"1234", "1235", "1236", "anon_Xy12Z"}
    assert submissions["1234"].path.name == "smithjohn_1234_5002_cnn_assignment-1.ipynb"
    assert submissions["1234"].lms_ids == {"canvas_user_id": "1234", "canvas_attachment_id": "5002"}
    assert submissions["1234"].name == "smithjohn"
    assert submissions["1235"].late is True and submissions["1235"].name == "doejane"
    assert submissions["1234"].late is False
    assert submissions["1236"].name == "やまだたろう"
    assert submissions["anon_Xy12Z"].name == ""
    assert collection.ignored == ["leebob_1237_5006_report.pdf"]


def test_canvas_same_time_in_zip_later_attachment_wins(tmp_path):
    # Canvas writes every entry of its zip with the same time: the attachment id decides.
    write(tmp_path / "smithjohn_1234_5010_v2.ipynb", notebook(), mtime=OLD)
    write(tmp_path / "smithjohn_1234_5009_v1.ipynb", notebook(), mtime=OLD)
    submission = by_id(collect_submissions(tmp_path))["1234"]
    assert submission.path.name == "smithjohn_1234_5010_v2.ipynb"


def test_canvas_zip_gives_the_same_students(tmp_path):
    export = make_canvas_export(tmp_path / "export")
    with collect_submissions(zip_folder(export, tmp_path / "submissions.zip")) as collection:
        assert collection.layout == "canvas"
        assert set(by_id(collection)) == {"1234", "1235", "1236", "anon_Xy12Z"}
        # The newest-wins choice uses the time stored in the zip.
        assert by_id(collection)["1234"].path.name.endswith("-1.ipynb")
        assert by_id(collection)["1235"].late
        extracted = collection.extracted_to
        assert extracted is not None and extracted.is_dir()
    assert not extracted.exists()


# ---------------------------------------------------------------------------------- Moodle
def make_moodle_export(folder: Path) -> Path:
    write(folder / "Taro Yamada_1001_assignsubmission_file_" / "cnn_assignment.ipynb", notebook(), mtime=OLD)
    write(folder / "山田 花子_1002_assignsubmission_file_" / "old.ipynb", notebook(), mtime=OLD)
    write(folder / "山田 花子_1002_assignsubmission_file_" / "sub dir" / "new.ipynb", notebook(), mtime=NEW)
    write(folder / "Taro Yamada_1001_assignsubmission_onlinetext_" / "onlinetext.html", "<p>hi</p>")
    return folder


def test_moodle_folders_participant_id_and_full_name(tmp_path):
    collection = collect_submissions(make_moodle_export(tmp_path))
    assert collection.layout == "moodle"
    submissions = by_id(collection)
    assert set(submissions) == {"1001", "1002"}
    assert submissions["1001"].name == "Taro Yamada"
    assert submissions["1002"].name == "山田 花子"
    assert submissions["1002"].path.name == "new.ipynb" and submissions["1002"].had_choice
    assert submissions["1001"].lms_ids == {"moodle_participant_id": "1001"}
    assert collection.ignored == ["Taro Yamada_1001_assignsubmission_onlinetext_/onlinetext.html"]


def test_moodle_flat_file_names(tmp_path):
    write(tmp_path / "Ann Lee_2001_assignsubmission_file_cnn.ipynb", notebook())
    write(tmp_path / "Ken Ito_2002_assignsubmission_file_my_cnn.py", "x = 1\n")
    collection = collect_submissions(tmp_path)
    assert collection.layout == "moodle"
    assert {s.student_id: s.name for s in collection.submissions} == {"2001": "Ann Lee", "2002": "Ken Ito"}


def test_moodle_zip(tmp_path):
    export = make_moodle_export(tmp_path / "export")
    with collect_submissions(zip_folder(export, tmp_path / "moodle.zip")) as collection:
        assert collection.layout == "moodle"
        assert by_id(collection)["1002"].path.name == "new.ipynb"


# ---------------------------------------------------------------------------------- Gradescope
GRADESCOPE_METADATA = """---
submission_101:
  :submitters:
  - :name: Alice Sun
    :sid: '0675'
    :email: alice@example.edu
  :created_at: 2023-12-02 02:52:07.938335000 Z
  :score: 0.0
  :status: processed
  :history:
  - :submitters: []
    :created_at: 2023-12-01 02:52:07.938335000 Z
submission_102:
  :submitters:
  - :name: Bo Wun
    :sid: ''
    :email: bo@example.edu
  - :name: "O'Neil: Pat"
    :sid: '0999'
    :email: pat@example.edu
  :created_at: 2023-12-02 04:04:59.089605000 Z
  :score: 0.0
"""


def make_gradescope_export(folder: Path) -> Path:
    write(folder / "submission_metadata.yml", GRADESCOPE_METADATA)
    write(folder / "submission_101" / "cnn_assignment.ipynb", notebook())
    write(folder / "submission_102" / "cnn.py", "x = 1\n")
    return folder


def test_gradescope_export_with_group_submission(tmp_path):
    collection = collect_submissions(make_gradescope_export(tmp_path))
    assert collection.layout == "gradescope"
    submissions = by_id(collection)
    # The student without an sid is known by email; both members of the group get the file.
    assert set(submissions) == {"0675", "bo@example.edu", "0999"}
    assert submissions["0675"].name == "Alice Sun"
    assert submissions["0999"].name == "O'Neil: Pat"
    assert submissions["0999"].path == submissions["bo@example.edu"].path
    assert submissions["0675"].lms_ids["gradescope_submission_id"] == "101"


def test_gradescope_export_zipped_inside_a_wrapper_folder(tmp_path):
    make_gradescope_export(tmp_path / "export" / "assignment_42_export")
    with collect_submissions(zip_folder(tmp_path / "export", tmp_path / "gs.zip")) as collection:
        assert collection.layout == "gradescope"
        assert set(by_id(collection)) == {"0675", "bo@example.edu", "0999"}


def test_gradescope_metadata_fallback_reader_agrees_with_yaml():
    expected = {
        "submission_101": {"submitters": [{"name": "Alice Sun", "sid": "0675", "email": "alice@example.edu"}],
                           "created_at": "2023-12-02 02:52:07.938335000 Z"},
        "submission_102": {"submitters": [{"name": "Bo Wun", "sid": "", "email": "bo@example.edu"},
                                          {"name": "O'Neil: Pat", "sid": "0999", "email": "pat@example.edu"}],
                           "created_at": "2023-12-02 04:04:59.089605000 Z"},
    }
    assert _parse_gradescope_metadata_lines(GRADESCOPE_METADATA) == expected
    parsed = parse_gradescope_metadata(GRADESCOPE_METADATA)
    assert {k: v["submitters"] for k, v in parsed.items()} == {k: v["submitters"] for k, v in expected.items()}


# ---------------------------------------------------------------------------------- detection
def test_detection_and_forced_layout(tmp_path):
    make_canvas_export(tmp_path / "canvas")
    make_moodle_export(tmp_path / "moodle")
    write(tmp_path / "plain" / "s001.ipynb", notebook())
    assert detect_layout(tmp_path / "canvas") == "canvas"
    assert detect_layout(tmp_path / "moodle") == "moodle"
    assert detect_layout(tmp_path / "plain") == "plain"
    forced = collect_submissions(tmp_path / "plain", layout="canvas")
    assert forced.layout == "canvas" and not forced.detected
    assert forced.submissions == []
    assert [p.entry for p in forced.problems] == ["s001.ipynb"]
    with pytest.raises(LayoutError):
        collect_submissions(tmp_path / "plain", layout="blackboard")
    with pytest.raises(LayoutError):
        collect_submissions(tmp_path / "missing")


# ---------------------------------------------------------------------------------- zip safety
def _add_symlink(archive: zipfile.ZipFile, name: str, target: str) -> None:
    info = zipfile.ZipInfo(name)
    info.create_system = 3
    info.external_attr = (stat.S_IFLNK | 0o777) << 16
    archive.writestr(info, target)


def test_zip_traversal_absolute_and_symlink_entries_are_refused_and_reported(tmp_path):
    zip_path = tmp_path / "evil.zip"
    with zipfile.ZipFile(zip_path, "w") as archive:
        archive.writestr("alice.ipynb", notebook())
        archive.writestr("../escaped.ipynb", notebook())
        archive.writestr("sub/../../escaped2.ipynb", notebook())
        archive.writestr("/tmp/absolute.ipynb", notebook())
        archive.writestr("..\\windows.ipynb", notebook())
        _add_symlink(archive, "link.ipynb", "/etc/passwd")
    destination = tmp_path / "work" / "dest"
    destination.mkdir(parents=True)
    with collect_submissions(zip_path, extract_to=destination) as collection:
        assert set(by_id(collection)) == {"alice"}
        refused = {p.entry: p.reason for p in collection.problems}
    assert set(refused) == {"../escaped.ipynb", "sub/../../escaped2.ipynb", "/tmp/absolute.ipynb",
                            "..\\windows.ipynb", "link.ipynb"}
    assert "traversal" in refused["../escaped.ipynb"]
    assert "absolute" in refused["/tmp/absolute.ipynb"]
    assert "link" in refused["link.ipynb"]
    assert not (tmp_path / "work" / "escaped.ipynb").exists()
    assert not (tmp_path / "escaped2.ipynb").exists()
    assert not Path("/tmp/absolute.ipynb").exists()


def test_zip_size_and_file_count_caps(tmp_path):
    zip_path = tmp_path / "big.zip"
    with zipfile.ZipFile(zip_path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("a.ipynb", notebook())
        archive.writestr("b.ipynb", notebook())
        archive.writestr("bomb.ipynb", b"0" * 5_000_000)   # compresses to a few KB
    dest = tmp_path / "dest"
    dest.mkdir()
    problems = extract_zip_safely(zip_path, dest, max_total_bytes=1_000_000, max_files=10)
    assert [p.entry for p in problems] == ["bomb.ipynb"]
    assert sorted(p.name for p in dest.iterdir()) == ["a.ipynb", "b.ipynb"]
    dest2 = tmp_path / "dest2"
    dest2.mkdir()
    problems = extract_zip_safely(zip_path, dest2, max_files=1)
    assert [p.entry for p in problems] == ["b.ipynb", "bomb.ipynb"]
    assert [p.name for p in dest2.iterdir()] == ["a.ipynb"]


def test_zip_header_lying_about_size_is_caught_while_copying(tmp_path):
    zip_path = tmp_path / "liar.zip"
    with zipfile.ZipFile(zip_path, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr("liar.ipynb", b"x" * 4000)
    data = bytearray(zip_path.read_bytes())
    # Patch the central directory's uncompressed size (offset 24 in the entry) to claim 10 bytes.
    central = data.rfind(b"PK\x01\x02")
    data[central + 24:central + 28] = (10).to_bytes(4, "little")
    zip_path.write_bytes(bytes(data))
    dest = tmp_path / "dest"
    dest.mkdir()
    problems = extract_zip_safely(zip_path, dest, max_total_bytes=1000)
    assert [p.entry for p in problems] == ["liar.ipynb"]
    assert not (dest / "liar.ipynb").exists()


def test_zip_with_japanese_windows_names_in_cp932(tmp_path):
    name = "山田_1001_assignsubmission_file_課題.ipynb"
    encoded = name.encode("cp932")
    placeholder = "x" * (len(encoded) - len(".ipynb")) + ".ipynb"
    zip_path = tmp_path / "sjis.zip"
    with zipfile.ZipFile(zip_path, "w") as archive:
        archive.writestr(placeholder, notebook())
    # Put the CP932 bytes where the ASCII placeholder is, without the UTF-8 flag: what old
    # Windows zip tools write.
    zip_path.write_bytes(zip_path.read_bytes().replace(placeholder.encode("ascii"), encoded))
    with collect_submissions(zip_path) as collection:
        assert collection.layout == "moodle"
        assert [(s.student_id, s.name, s.path.name) for s in collection.submissions] == \
            [("1001", "山田", name)]


def test_not_a_zip_and_unreadable_inputs(tmp_path):
    bad = write(tmp_path / "class.zip", "this is not a zip")
    with pytest.raises(LayoutError):
        collect_submissions(bad)


def test_newest_submission_file_for_the_gradescope_autograder(tmp_path):
    write(tmp_path / "a" / "old.ipynb", notebook(), mtime=OLD)
    write(tmp_path / "new.py", "x = 1\n", mtime=NEW)
    write(tmp_path / "newest.pdf", "%PDF", mtime=NEW + 5)
    assert newest_submission_file(tmp_path).name == "new.py"
    assert newest_submission_file(tmp_path / "a").name == "old.ipynb"
    (tmp_path / "empty").mkdir()
    assert newest_submission_file(tmp_path / "empty") is None


def test_mtime_from_zip_entry_is_restored(tmp_path):
    zip_path = tmp_path / "times.zip"
    with zipfile.ZipFile(zip_path, "w") as archive:
        archive.writestr(zipfile.ZipInfo("s1/a.ipynb", date_time=(2024, 1, 1, 10, 0, 0)), notebook())
        archive.writestr(zipfile.ZipInfo("s1/b.ipynb", date_time=(2023, 1, 1, 10, 0, 0)), notebook())
        archive.writestr(zipfile.ZipInfo("s2/c.ipynb", date_time=(2023, 1, 1, 10, 0, 0)), notebook())
    with collect_submissions(zip_path) as collection:
        s1 = by_id(collection)["s1"]
        assert s1.path.name == "a.ipynb"
        assert datetime.datetime.fromtimestamp(s1.path.stat().st_mtime).year == 2024
