"""``ferkit synth`` writes every synthetic format, and each one is read by its real loader."""
from pathlib import Path

import pytest

from ferkit.cli import main
from ferkit.data import synthetic
from ferkit.data import (load_ckplus, load_class_folders, load_fer2013, load_ferplus,
                         load_filename_dataset)
from ferkit.data.images import read_image


def synth(tmp_path: Path, *options: str) -> Path:
    out = tmp_path / "out"
    assert main(["synth", str(out), "--subjects", "2", *options]) == 0
    return out


def files_under(root: Path) -> list[str]:
    return sorted(str(path.relative_to(root)) for path in root.rglob("*") if path.is_file())


def test_default_format_is_the_full_ckplus_tree_that_load_ckplus_reads(tmp_path):
    root = synth(tmp_path, "--sequences", "7", "--frames", "4")
    samples = load_ckplus(root, min_au_count=1, n_peak=1)
    assert (root / "cohn-kanade-images").is_dir() and (root / "Emotion").is_dir()
    assert len(samples) == 14 and samples.frame["subject"].nunique() == 2


def test_ck48_format_writes_class_folders_that_load_ckplus_reads(tmp_path):
    root = synth(tmp_path, "--format", "ck48", "--frames", "4")
    samples = load_ckplus(root, min_au_count=1)
    assert (root / "CK+48").is_dir() and not (root / "cohn-kanade-images").exists()
    assert len(samples) == 2 * 7 * 3  # the last three frames of each sequence
    assert set(samples.classes) <= set(synthetic.CK48_FOLDERS)


def test_old_layout_option_still_picks_the_format(tmp_path):
    by_layout = synth(tmp_path / "a", "--layout", "ck48", "--frames", "3")
    by_format = synth(tmp_path / "b", "--format", "ck48", "--frames", "3")
    assert files_under(by_layout) == files_under(by_format)


def test_layout_that_contradicts_format_is_an_error(tmp_path, capsys):
    args = ["synth", str(tmp_path), "--format", "fer2013", "--layout", "ck48"]
    assert main(args) == 2
    assert "--format fer2013 and --layout ck48 disagree" in capsys.readouterr().err


def test_fer2013_format_writes_the_csv_and_votes_the_loaders_read(tmp_path):
    folder = synth(tmp_path, "--format", "fer2013", "--images", "24")
    samples = load_fer2013(folder / "fer2013.csv.gz")
    plus = load_ferplus(folder / "fer2013.csv.gz", folder / "fer2013new.csv")
    assert len(samples) == 24 and samples.images.shape[1:3] == (48, 48)
    assert set(samples.frame["split"]) <= {"train", "val", "test"}
    assert 0 < len(plus) <= 24  # rows whose votes have no majority may drop out


def test_fer2013_without_ferplus_writes_no_vote_file(tmp_path):
    folder = synth(tmp_path, "--format", "fer2013", "--images", "8", "--no-ferplus")
    assert files_under(folder) == ["fer2013.csv.gz"]


def test_fer2013_refuses_another_image_size(tmp_path, capsys):
    assert main(["synth", str(tmp_path), "--format", "fer2013", "--size", "32"]) == 2
    assert "FER2013 images are always 48x48" in capsys.readouterr().err


def test_folders_format_has_one_folder_per_emotion_by_default(tmp_path):
    root = synth(tmp_path, "--format", "folders", "--images", "16")
    samples = load_class_folders(root)
    expected = sorted(emotion.title() for emotion in synthetic.EMOTION_PROTOTYPES)
    assert sorted(samples.classes) == expected
    assert samples.class_counts().to_dict() == {name: 2 for name in expected}


def test_folders_format_uses_the_given_classes_size_and_fane_names(tmp_path):
    root = synth(tmp_path, "--format", "folders", "--images", "4", "--size", "32",
                 "--classes", "Angry=anger", "Joy=happy")
    samples = load_filename_dataset(root)
    assert sorted(samples.classes) == ["Angry", "Joy"] and len(samples) == 4
    assert (samples.frame["expression"] == samples.frame["path"].map(
        lambda p: Path(p).parent.name)).all()
    assert read_image(samples.frame["path"].iloc[0]).shape[:2] == (32, 32)


def test_folders_format_names_an_unknown_emotion(tmp_path, capsys):
    assert main(["synth", str(tmp_path), "--format", "folders", "--classes", "Angry=angr"]) == 2
    assert "unknown synthetic emotion(s) angr" in capsys.readouterr().err


@pytest.mark.parametrize("bad", ["Angry", "=anger", "a/b=anger"])
def test_classes_option_rejects_a_value_that_is_not_folder_equals_emotion(tmp_path, bad, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["synth", str(tmp_path), "--format", "folders", "--classes", bad])
    assert exit_info.value.code == 2 and "is not FOLDER=EMOTION" in capsys.readouterr().err
