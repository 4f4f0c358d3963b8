import shutil

import numpy as np
import pytest

from ferkit.data import CKPLUS7, HIGH_LEVEL, CKPlusFormatError, load_ckplus, read_images, synthetic
from ferkit.data.sources.ckplus import parse_emotion_file, parse_facs_file
from conftest import TREE


def _truth():
    """Emotion and AU set of each (subject, sequence), regenerated from the same seed."""
    config = synthetic.SyntheticConfig(n_subjects=TREE["n_subjects"])
    faces = synthetic.SyntheticFaces(config, TREE["seed"])
    truth = {}
    for identity, number, expression, frames in faces.sequences(
            TREE["sequences_per_subject"], TREE["frames_per_sequence"]):
        aus = {au for au, value in expression.intensities.items() if value > 0}
        truth[(identity.subject, f"{number:03d}")] = (expression.emotion, aus, frames[-1])
    return truth


@pytest.mark.parametrize("layout", ["full", "ck48"])
def test_synthetic_tree_round_trips_through_the_loader(layout, ckplus_full, ckplus_48):
    root = ckplus_full if layout == "full" else ckplus_48
    samples = load_ckplus(root, aus=synthetic.AUS)
    truth = _truth()
    assert len(samples) == 3 * len(truth)  # last three frames of every sequence
    for row in samples.frame.itertuples():
        emotion, aus, _ = truth[(row.subject, row.sequence)]
        assert samples.classes[row.label] == emotion == row.emotion
        loaded = {au for au in synthetic.AUS if getattr(row, f"AU{au}") == 1}
        assert loaded == aus, f"{row.path}: AUs {sorted(loaded)} != drawn {sorted(aus)}"


def test_peak_frame_pixels_are_the_generated_ones(ckplus_full):
    samples = read_images(load_ckplus(ckplus_full, n_peak=1))
    truth = _truth()
    for row, image in zip(samples.frame.itertuples(), samples.images):
        expected = truth[(row.subject, row.sequence)][2]
        np.testing.assert_array_equal(image[..., 0], expected)


def test_subject_attributes_and_facs_flags_are_attached(ckplus_full):
    frame = load_ckplus(ckplus_full).frame
    assert {"skin_tone", "age_group", "gender"} <= set(frame.columns)
    assert frame["skin_tone"].notna().all() and frame["has_facs"].all()


def test_label_sets(ckplus_full):
    seven = load_ckplus(ckplus_full)
    assert seven.classes == CKPLUS7
    three = load_ckplus(ckplus_full, labels="3way")
    assert three.classes == HIGH_LEVEL
    happy = seven.frame["emotion"] == "happy"
    assert (three.frame.loc[happy, "label"] == HIGH_LEVEL.index("positive")).all()
    assert (three.frame.loc[seven.frame["emotion"] == "anger", "label"] == 0).all()
    eight = load_ckplus(ckplus_full, labels="ckplus8", neutral_frames=1)
    neutral = eight.frame[eight.frame["emotion"] == "neutral"]
    assert len(neutral) == eight.frame["sequence"].groupby(eight.frame["subject"]).nunique().sum()
    assert (neutral[eight.au_columns].to_numpy() == 0).all()


def test_auto_au_list_keeps_frequent_aus(ckplus_full):
    samples = load_ckplus(ckplus_full, min_au_count=1000)
    assert samples.aus == ()
    everything = load_ckplus(ckplus_full, min_au_count=1)
    per_sequence = everything.frame.drop_duplicates(["subject", "sequence"])
    assert all(per_sequence[f"AU{a}"].sum() >= 1 for a in everything.aus)


def test_facs_line_with_a_fractional_au_code_names_file_and_line(tmp_path):
    path = tmp_path / "S005_001_00000011_facs.txt"
    path.write_text("   1.0000000e+00   0.0000000e+00\n   1.7000000e+00   0.0000000e+00\n")
    with pytest.raises(CKPlusFormatError, match=r"S005_001_00000011_facs.txt, line 2: AU code"):
        parse_facs_file(path)
    with pytest.warns(UserWarning, match="line 2"):
        assert parse_facs_file(path, on_error="warn") == {1: 0.0}


def test_malformed_emotion_file_is_named(tmp_path):
    path = tmp_path / "x_emotion.txt"
    path.write_text("   9.0000000e+00\n")
    with pytest.raises(CKPlusFormatError, match="x_emotion.txt: code"):
        parse_emotion_file(path)
    path.write_text("happy\n")
    with pytest.raises(CKPlusFormatError, match="not a number"):
        parse_emotion_file(path)


def test_layout_errors(tmp_path, ckplus_48):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_ckplus(tmp_path / "missing")
    with pytest.raises(CKPlusFormatError, match="not a CK\\+ tree"):
        load_ckplus(tmp_path)
    broken = tmp_path / "broken"
    shutil.copytree(ckplus_48, broken)
    (broken / "CK+48" / "sadness").rename(broken / "CK+48" / "sadnes")
    with pytest.raises(CKPlusFormatError, match="unknown CK\\+ class folder 'sadnes'"):
        load_ckplus(broken)
    (broken / "CK+48" / "sadnes").rename(broken / "CK+48" / "sadness")
    for png in (broken / "CK+48" / "fear").glob("*.png"):
        png.unlink()
    with pytest.raises(CKPlusFormatError, match="fear: class folder holds no .png"):
        load_ckplus(broken)


def test_unreadable_image_is_named(tmp_path, ckplus_48):
    copy = tmp_path / "copy"
    shutil.copytree(ckplus_48, copy)
    victim = sorted((copy / "CK+48" / "happy").glob("*.png"))[0]
    victim.write_bytes(b"\x89PNG truncated")
    samples = load_ckplus(copy)
    with pytest.raises(OSError, match=victim.name):
        read_images(samples)


def test_landmarks_are_read_per_frame(tmp_path, ckplus_full):
    copy = tmp_path / "copy"
    shutil.copytree(ckplus_full, copy)
    first = load_ckplus(copy, n_peak=1).frame.iloc[0]
    image = __import__("pathlib").Path(first["path"])
    folder = copy / "Landmarks" / first["subject"] / first["sequence"]
    folder.mkdir(parents=True)
    points = np.arange(136, dtype="float32").reshape(68, 2)
    (folder / f"{image.stem}_landmarks.txt").write_text(
        "".join(f"   {x:.7e}   {y:.7e}\n" for x, y in points))
    frame = load_ckplus(copy, n_peak=1, landmarks=True).frame
    np.testing.assert_array_equal(frame.iloc[0]["landmarks"], points)
    assert frame["landmarks"].iloc[1:].isna().all()  # frames without a file say so
    (folder / f"{image.stem}_landmarks.txt").write_text("1 2\n3\n")
    with pytest.raises(CKPlusFormatError, match="landmarks.txt, line 2: expected 'x y'"):
        load_ckplus(copy, n_peak=1, landmarks=True)
    with pytest.raises(CKPlusFormatError, match="needs the full CK\\+ tree's Landmarks"):
        load_ckplus(ckplus_full, landmarks=True)
