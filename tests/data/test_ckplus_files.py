"""Malformed CK+ text files (Emotion, FACS, subjects.csv) and FACS files for frames the tree
does not hold are CKPlusFormatErrors naming the file and the problem."""
import shutil
from pathlib import Path

import pytest

from ferkit.data.sources.ckplus import load_ckplus, parse_emotion_file, parse_facs_file
from ferkit.errors import CKPlusFormatError


@pytest.mark.parametrize("content, problem", [
    (b"", "expected one number, got 0 tokens"),
    (b"   \n", "expected one number, got 0 tokens"),
    (b"three", "'three' is not a number"),
    (b"3.0 4.0", "expected one number, got 2 tokens"),
    (b"9.0000000e+00", "code 9.0000000e\\+00 is not an integer 0..7"),
    (b"\xff\xfe3\x00", "not UTF-8 text \\(byte 0xff at position 0\\)"),
])
def test_malformed_emotion_file_names_file_and_problem(tmp_path, content, problem):
    path = tmp_path / "S005_001_00000011_emotion.txt"
    path.write_bytes(content)
    with pytest.raises(CKPlusFormatError, match=f"CK\\+ emotion file .*{path.name}.*{problem}"):
        parse_emotion_file(path)


@pytest.mark.parametrize("content, problem, warned", [
    (b"", "is empty", {}),
    (b"\n  \n", "is empty", {}),
    (b"1.0 two\n", "line 1: non-numeric value", {}),
    (b"1.0 0.0\n12.0\n", "line 2: expected 'AU intensity', got 1 values", {1: 0.0}),
    (b"1.0 0.0\n\xe9\n", "not UTF-8 text \\(byte 0xe9 at position 8\\)", {}),
])
def test_malformed_facs_file_names_file_and_problem(tmp_path, content, problem, warned):
    path = tmp_path / "S005_001_00000011_facs.txt"
    path.write_bytes(content)
    with pytest.raises(CKPlusFormatError, match=f"CK\\+ FACS file .*{path.name}.*{problem}"):
        parse_facs_file(path)
    with pytest.warns(UserWarning, match=problem):
        assert parse_facs_file(path, on_error="warn") == warned


def test_a_well_formed_facs_file_still_reads(tmp_path):
    path = tmp_path / "ok_facs.txt"
    path.write_text("   1.0000000e+00   0.0000000e+00\n\n   1.2000000e+01   3.0000000e+00\n")
    assert parse_facs_file(path) == {1: 0.0, 12: 3.0}


def _copy(tree: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "copy"
    shutil.copytree(tree, copy)
    return copy


@pytest.mark.parametrize("layout", ["full", "ck48"])
def test_facs_file_for_a_frame_that_does_not_exist_is_named(tmp_path, layout, ckplus_full,
                                                            ckplus_48):
    root = _copy(ckplus_full if layout == "full" else ckplus_48, tmp_path)
    facs = sorted((root / "FACS").glob("S*/*/*_facs.txt"))[0]
    orphan = facs.with_name(facs.name.replace("_0000", "_9999"))
    shutil.copy(facs, orphan)
    with pytest.raises(CKPlusFormatError, match=f"FACS file .*{orphan.name} codes frame "
                                                f"{orphan.name[:-9]}, but"):
        load_ckplus(root, min_au_count=2)
    with pytest.warns(UserWarning, match=orphan.name):
        assert len(load_ckplus(root, min_au_count=2, on_error="warn")) > 0


def test_facs_of_a_sequence_without_images_is_named(tmp_path, ckplus_full):
    root = _copy(ckplus_full, tmp_path)
    stray = root / "FACS" / "S998" / "001" / "S998_001_00000004_facs.txt"
    stray.parent.mkdir(parents=True)
    stray.write_text("1.0 0.0\n")
    with pytest.raises(CKPlusFormatError, match="S998_001_00000004.png does not exist"):
        load_ckplus(root, min_au_count=2)


def test_malformed_emotion_file_in_a_tree_stops_the_load(tmp_path, ckplus_full):
    root = _copy(ckplus_full, tmp_path)
    emotion = sorted((root / "Emotion").glob("S*/*/*_emotion.txt"))[0]
    emotion.write_bytes(b"\x80\x81")
    with pytest.raises(CKPlusFormatError, match=f"{emotion.name}: not UTF-8"):
        load_ckplus(root)


def test_unreadable_subjects_table_is_named(tmp_path, ckplus_48):
    root = _copy(ckplus_48, tmp_path)
    (root / "subjects.csv").write_bytes(b"")
    with pytest.raises(CKPlusFormatError, match="subjects.csv: not a readable CSV table"):
        load_ckplus(root, min_au_count=2)
