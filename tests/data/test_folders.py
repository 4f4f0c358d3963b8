"""ferkit.data.sources' folders, filenames and merge modules on tiny datasets written to disk."""
from __future__ import annotations

import warnings
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
import pytest

from ferkit.data.labels import canonical_emotion
from ferkit.data.sources import (
    SkippedItemsWarning, compile_template, load_class_folders, load_filename_dataset,
    load_manifest, merge_samples, parse_filename_attributes, read_images, sample_per_class,
)
from ferkit.errors import DatasetLayoutError, FilenameTemplateError, ManifestError


def write_image(path: Path, value: int = 128, size: int = 6) -> Path:
    """A tiny grey image in the format its extension names (PNG or JPG)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    assert cv2.imwrite(str(path), np.full((size, size), value, np.uint8)), f"could not write {path}"
    return path


def make_class_folders(root: Path, counts: dict[str, int], ext: str = ".png") -> Path:
    for folder, count in counts.items():
        (root / folder).mkdir(parents=True, exist_ok=True)
        for i in range(count):
            write_image(root / folder / f"img_{i:03d}{ext}", value=10 * i % 250)
    return root


def skipped_reports(record: list[warnings.WarningMessage]) -> pd.DataFrame:
    reports = [w.message.report for w in record if isinstance(w.message, SkippedItemsWarning)]
    assert reports, f"expected a SkippedItemsWarning, got {[str(w.message) for w in record]}"
    return pd.concat(reports, ignore_index=True)


# ----------------------------------------------------------------------------- class folders

def test_class_folders_give_paths_labels_and_sorted_classes(tmp_path):
    root = make_class_folders(tmp_path / "fane", {"Happy": 3, "Angry": 2}, ext=".jpg")
    samples = load_class_folders(root)
    assert samples.classes == ("Angry", "Happy")
    assert samples.class_counts().to_dict() == {"Angry": 2, "Happy": 3}
    assert samples.source == "fane"
    assert {"path", "folder", "emotion", "label"} <= set(samples.frame.columns)
    assert "split" not in samples.frame.columns
    assert all(Path(p).is_file() for p in samples.frame["path"])
    names = [samples.classes[i] for i in samples.labels]
    assert names == samples.frame["emotion"].tolist() == samples.frame["folder"].tolist()


def test_label_map_merges_anger_and_angry_folders_into_one_class(tmp_path):
    root = make_class_folders(tmp_path / "mixed", {"Anger": 2, "angry": 3, "Happy": 1})
    label_map = {"Anger": "Angry", "angry": "Angry", "Happy": "Happy"}
    samples = load_class_folders(root, label_map=label_map)
    assert samples.classes == ("Angry", "Happy")
    assert samples.class_counts().to_dict() == {"Angry": 5, "Happy": 1}
    angry = samples.frame[samples.frame["emotion"] == "Angry"]
    assert sorted(angry["folder"].unique()) == ["Anger", "angry"], "the name on disk must be kept"


def test_callable_label_map_uses_canonical_emotion_names(tmp_path):
    root = make_class_folders(tmp_path / "ed", {"angry": 1, "surprised": 2})
    samples = load_class_folders(root, label_map=canonical_emotion)
    assert samples.classes == ("anger", "surprise")


def test_classes_argument_sets_label_order_and_rejects_unlisted_classes(tmp_path):
    root = make_class_folders(tmp_path / "d", {"Happy": 1, "Angry": 1, "Focused": 1})
    samples = load_class_folders(root, classes=["Happy", "Focused", "Angry"])
    assert samples.classes == ("Happy", "Focused", "Angry")
    assert samples.frame.set_index("emotion")["label"].to_dict() == {"Happy": 0, "Focused": 1, "Angry": 2}
    with pytest.raises(ValueError, match="Focused"):
        load_class_folders(root, classes=["Happy", "Angry"])


def test_folder_mapped_to_none_is_excluded_and_reported(tmp_path):
    root = make_class_folders(tmp_path / "d", {"Happy": 2, "Sad": 3})
    with pytest.warns(SkippedItemsWarning) as record:
        samples = load_class_folders(root, label_map={"Happy": "Happy", "Sad": None})
    assert samples.classes == ("Happy",) and len(samples) == 2
    report = skipped_reports(record)
    assert report["item"].tolist() == [str(root / "Sad")]
    assert "excluded" in report["reason"][0] and "3 images" in report["reason"][0]


def test_unknown_folder_raises_naming_it_or_is_skipped_on_request(tmp_path):
    root = make_class_folders(tmp_path / "d", {"Happy": 2, "Contempt": 1})
    with pytest.raises(DatasetLayoutError, match="Contempt"):
        load_class_folders(root, label_map={"Happy": "Happy"})
    with pytest.warns(SkippedItemsWarning, match="Contempt"):
        samples = load_class_folders(root, label_map={"Happy": "Happy"}, on_error="skip")
    assert samples.classes == ("Happy",)


def test_empty_class_folder_raises_naming_it_or_is_skipped_on_request(tmp_path):
    root = make_class_folders(tmp_path / "d", {"Happy": 2})
    (root / "Neutral").mkdir()
    with pytest.raises(DatasetLayoutError, match=r"Neutral.*no images"):
        load_class_folders(root)
    with pytest.warns(SkippedItemsWarning, match="empty class folder"):
        samples = load_class_folders(root, on_error="skip")
    assert samples.classes == ("Happy",)


def test_non_image_files_are_reported_not_read(tmp_path):
    root = make_class_folders(tmp_path / "d", {"Happy": 2})
    (root / "Happy" / "notes.txt").write_text("not an image")
    (root / "README.md").write_text("about")
    (root / "Happy" / ".DS_Store").write_bytes(b"\0")
    with pytest.warns(SkippedItemsWarning) as record:
        samples = load_class_folders(root)
    assert len(samples) == 2
    assert sorted(Path(p).name for p in skipped_reports(record)["item"]) == ["README.md", "notes.txt"]


def test_nested_folder_in_a_class_folder_raises_or_is_skipped_on_request(tmp_path):
    root = make_class_folders(tmp_path / "d", {"Happy": 2})
    make_class_folders(root / "Happy", {"more": 1})
    with pytest.raises(DatasetLayoutError, match=r"Happy holds a sub-folder 'more'"):
        load_class_folders(root)
    with pytest.warns(SkippedItemsWarning, match="more"):
        assert len(load_class_folders(root, on_error="skip")) == 2


def test_undecodable_image_is_caught_when_checking_images(tmp_path):
    root = make_class_folders(tmp_path / "d", {"Happy": 2})
    (root / "Happy" / "broken.png").write_bytes(b"this is not a png")
    assert len(load_class_folders(root)) == 3, "without check_images files are not decoded"
    with pytest.raises(OSError, match="broken.png"):
        load_class_folders(root, check_images=True)


def test_missing_root_names_the_folder(tmp_path):
    with pytest.raises(FileNotFoundError, match="nowhere"):
        load_class_folders(tmp_path / "nowhere")


# ----------------------------------------------------------------------------- splits

def make_split_dataset(root: Path) -> Path:
    make_class_folders(root / "train", {"happy": 6, "neutral": 5})
    make_class_folders(root / "test", {"happy": 2, "neutral": 3})
    return root


def test_split_folders_fill_the_split_column(tmp_path):
    samples = load_class_folders(make_split_dataset(tmp_path / "ed"))
    assert samples.classes == ("happy", "neutral")
    assert samples.frame["split"].value_counts().to_dict() == {"train": 11, "test": 5}
    assert samples.split("test").class_counts().to_dict() == {"happy": 2, "neutral": 3}


def test_files_beside_split_folders_are_reported(tmp_path):
    root = make_split_dataset(tmp_path / "ed")
    (root / "LICENSE.txt").write_text("terms")
    with pytest.warns(SkippedItemsWarning, match="LICENSE.txt"):
        assert len(load_class_folders(root)) == 16


def test_split_folders_mixed_with_class_folders_raise(tmp_path):
    root = make_split_dataset(tmp_path / "ed")
    make_class_folders(root, {"surprised": 1})
    with pytest.raises(DatasetLayoutError, match="surprised"):
        load_class_folders(root)


def test_limit_per_class_applies_per_split(tmp_path):
    samples = load_class_folders(make_split_dataset(tmp_path / "ed"), limit_per_class=2)
    counts = samples.frame.groupby(["split", "emotion"]).size().to_dict()
    assert counts == {("test", "happy"): 2, ("test", "neutral"): 2,
                      ("train", "happy"): 2, ("train", "neutral"): 2}


# ----------------------------------------------------------------------------- per-class limits

def test_limit_per_class_gives_exact_counts_and_is_deterministic_by_seed(tmp_path):
    root = make_class_folders(tmp_path / "ed", {"happy": 12, "neutral": 9, "surprised": 10})
    first = load_class_folders(root, limit_per_class=4, seed=3)
    again = load_class_folders(root, limit_per_class=4, seed=3)
    assert first.class_counts().tolist() == [4, 4, 4]
    assert first.frame["path"].tolist() == again.frame["path"].tolist()
    picks = {tuple(load_class_folders(root, limit_per_class=4, seed=s).frame["path"]) for s in range(4)}
    assert len(picks) > 1, "different seeds should pick different subsets"


def test_limit_per_class_pick_does_not_depend_on_other_classes(tmp_path):
    root = make_class_folders(tmp_path / "ed", {"happy": 12, "neutral": 9})
    before = load_class_folders(root, limit_per_class=4, seed=0)
    make_class_folders(root, {"focused": 7})
    after = load_class_folders(root, limit_per_class=4, seed=0)
    happy = lambda s: s.frame.loc[s.frame["emotion"] == "happy", "path"].tolist()  # noqa: E731
    assert happy(before) == happy(after)


def test_small_class_keeps_all_images_with_a_warning(tmp_path):
    root = make_class_folders(tmp_path / "ed", {"happy": 5, "neutral": 2})
    with pytest.warns(UserWarning, match=r"neutral \(2\)"):
        samples = load_class_folders(root, limit_per_class=3)
    assert samples.class_counts().to_dict() == {"happy": 3, "neutral": 2}


def test_sample_per_class_rejects_a_bad_limit(tmp_path):
    samples = load_class_folders(make_class_folders(tmp_path / "ed", {"happy": 2}))
    with pytest.raises(ValueError, match="limit_per_class"):
        sample_per_class(samples, 0)


# ----------------------------------------------------------------------------- merging

def test_merge_aligns_classes_by_name_and_records_the_source(tmp_path):
    fane = load_class_folders(make_class_folders(tmp_path / "fane", {"Angry": 2, "Happy": 1}))
    affect = load_class_folders(make_class_folders(tmp_path / "affectnet", {"anger": 1, "happy": 3}),
                                label_map={"anger": "Angry", "happy": "Happy"}, source_name="AffectNet")
    focused = load_class_folders(make_class_folders(tmp_path / "own", {"Focused": 2}))
    merged = merge_samples(fane, affect, focused, classes=["Angry", "Focused", "Happy"])
    assert merged.classes == ("Angry", "Focused", "Happy")
    counts = merged.frame.groupby(["source", "emotion"]).size().to_dict()
    assert counts == {("fane", "Angry"): 2, ("fane", "Happy"): 1, ("AffectNet", "Angry"): 1,
                      ("AffectNet", "Happy"): 3, ("own", "Focused"): 2}
    names = [merged.classes[i] for i in merged.labels]
    assert names == merged.frame["emotion"].tolist(), "labels must follow the merged class order"
    assert merged.source == "fane + AffectNet + own"


def test_merge_default_classes_keep_first_appearance_order(tmp_path):
    first = load_class_folders(make_class_folders(tmp_path / "a", {"Neutral": 1, "Happy": 1}),
                               classes=["Neutral", "Happy"])
    second = load_class_folders(make_class_folders(tmp_path / "b", {"Angry": 1, "Happy": 1}))
    assert merge_samples(first, second).classes == ("Neutral", "Happy", "Angry")


def test_merge_rejects_classes_that_do_not_cover_a_source(tmp_path):
    first = load_class_folders(make_class_folders(tmp_path / "a", {"Happy": 1, "Sad": 1}))
    with pytest.raises(ValueError, match=r"'a'.*Sad"):
        merge_samples(first, classes=["Happy"])


def test_merge_rejects_sources_with_the_same_name(tmp_path):
    first = load_class_folders(make_class_folders(tmp_path / "x" / "data", {"Happy": 1}))
    second = load_class_folders(make_class_folders(tmp_path / "y" / "data", {"Happy": 1}))
    with pytest.raises(ValueError, match="names="):
        merge_samples(first, second)
    assert merge_samples(first, second, names=["x", "y"]).frame["source"].tolist() == ["x", "y"]


def test_merge_concatenates_decoded_images_and_offsets_their_index(tmp_path):
    first = read_images(load_class_folders(make_class_folders(tmp_path / "a", {"Happy": 2})), size=(6, 6))
    second = read_images(load_class_folders(make_class_folders(tmp_path / "b", {"Sad": 3})), size=(6, 6))
    merged = merge_samples(first, second)
    assert merged.images.shape == (5, 6, 6, 1)
    for row, index in enumerate(merged.frame["image_index"]):
        expected = cv2.imread(merged.frame["path"][row], cv2.IMREAD_GRAYSCALE)
        assert np.array_equal(merged.images[index, ..., 0], expected), f"row {row} points at the wrong image"
    with pytest.raises(ValueError, match="read_images"):
        merge_samples(first, load_class_folders(tmp_path / "b", source_name="b2"))


# ----------------------------------------------------------------------------- file-name templates

FANE_NAMES = ["Happy_Asian_Female_0001.jpg", "Angry_Black_Male_0002.png", "Neutral_White_Female_0010.jpg"]


def test_template_turns_fane_names_into_columns():
    frame = parse_filename_attributes(FANE_NAMES)
    assert list(frame.columns) == ["file", "expression", "race", "gender", "index"]
    assert frame.iloc[0].tolist() == ["Happy_Asian_Female_0001.jpg", "Happy", "Asian", "Female", "0001"]


def test_template_digit_fields_become_integers_and_underscore_fields_are_dropped():
    frame = parse_filename_attributes(["Sad_White_0012.jpg"], template="{expression}_{_}_{index:d}")
    assert list(frame.columns) == ["file", "expression", "index"]
    assert frame["index"].tolist() == [12] and frame["index"].dtype.kind == "i"


def test_template_mismatch_names_the_file():
    names = FANE_NAMES + ["Happy_Asian_0003.jpg", "Happy_Asian_Female_0004_copy.jpg"]
    with pytest.raises(FilenameTemplateError, match=r"Happy_Asian_0003\.jpg.*1 more"):
        parse_filename_attributes(names)


def test_template_mismatch_can_be_skipped_with_a_report():
    names = FANE_NAMES + ["Happy_Asian_0003.jpg"]
    with pytest.warns(SkippedItemsWarning) as record:
        frame = parse_filename_attributes(names, on_error="skip")
    assert len(frame) == 3
    assert skipped_reports(record)["item"].tolist() == ["Happy_Asian_0003.jpg"]


@pytest.mark.parametrize("template, problem", [
    ("{expression}{race}", "touch"), ("{expression}_{index:x}", "unknown type"),
    ("{a}_{a}", "twice"), ("{expression}_{race", "unbalanced"), ("no_fields", "no {field}"),
    ("{2x}_{y}", "identifier"),
])
def test_bad_templates_say_what_is_wrong(template, problem):
    with pytest.raises(FilenameTemplateError, match=problem):
        compile_template(template)


def make_fane_tree(root: Path) -> Path:
    """Seed 000's definitive dataset: class folders of Expression_Race_Gender_Index files."""
    for name in ["Happy_Asian_Female_0001.jpg", "Happy_White_Male_0002.jpg", "Angry_Black_Male_0003.jpg",
                 "Anger_Asian_Female_0004.png", "Neutral_White_Female_0005.jpg"]:
        write_image(root / name.split("_")[0] / name)
    return root


def test_filename_dataset_labels_from_names_with_attribute_columns(tmp_path):
    root = make_fane_tree(tmp_path / "definitive")
    label_map = {"Happy": "Happy", "Angry": "Angry", "Anger": "Angry", "Neutral": "Neutral"}
    samples = load_filename_dataset(root, label_map=label_map)
    assert samples.classes == ("Angry", "Happy", "Neutral")
    assert samples.class_counts().to_dict() == {"Angry": 2, "Happy": 2, "Neutral": 1}
    assert samples.frame.groupby("race").size().to_dict() == {"Asian": 2, "Black": 1, "White": 2}
    assert set(samples.frame["folder"]) == {"Happy", "Angry", "Anger", "Neutral"}


def test_filename_dataset_unknown_label_names_the_file(tmp_path):
    root = make_fane_tree(tmp_path / "definitive")
    with pytest.raises(ValueError, match=r"Anger_Asian_Female_0004\.png.*'Anger'"):
        load_filename_dataset(root, label_map={"Happy": "Happy", "Angry": "Angry", "Neutral": None})


def test_filename_dataset_mismatch_names_the_file(tmp_path):
    root = make_fane_tree(tmp_path / "definitive")
    write_image(root / "Happy" / "Happy_0006.jpg")
    with pytest.raises(FilenameTemplateError, match="Happy_0006.jpg"):
        load_filename_dataset(root)


def test_filename_dataset_skip_reports_every_left_out_file(tmp_path):
    root = make_fane_tree(tmp_path / "definitive")
    write_image(root / "Happy" / "Happy_0006.jpg")
    with pytest.warns(SkippedItemsWarning) as record:
        samples = load_filename_dataset(root, label_map={"Happy": "Happy", "Angry": "Angry",
                                                         "Neutral": None}, on_error="skip")
    assert samples.classes == ("Angry", "Happy") and len(samples) == 3
    items = sorted(Path(p).name for p in skipped_reports(record)["item"])
    assert items == ["Anger_Asian_Female_0004.png", "Happy_0006.jpg", "Neutral_White_Female_0005.jpg"]


# ----------------------------------------------------------------------------- manifests

def make_manifest(tmp_path: Path, rows: list[tuple[str, str, str]]) -> Path:
    for path, _, _ in rows:
        if not Path(path).is_absolute() and "missing" not in path:
            write_image(tmp_path / path)
    csv = tmp_path / "manifest.csv"
    pd.DataFrame(rows, columns=["path", "label", "gender"]).to_csv(csv, index=False)
    return csv


def test_manifest_resolves_relative_paths_against_its_folder_and_keeps_attributes(tmp_path):
    csv = make_manifest(tmp_path, [("images/a.png", "happy", "F"), ("images/b.jpg", "sad", "M"),
                                   ("c.png", "happy", "M")])
    samples = load_manifest(csv)
    assert samples.classes == ("happy", "sad")
    assert samples.frame["path"].tolist() == [str(tmp_path / "images/a.png"), str(tmp_path / "images/b.jpg"),
                                              str(tmp_path / "c.png")]
    assert samples.frame["gender"].tolist() == ["F", "M", "M"]
    assert samples.frame["path_raw"].tolist() == ["images/a.png", "images/b.jpg", "c.png"]
    assert samples.labels.tolist() == [0, 1, 0]


def test_manifest_missing_file_error_names_the_row(tmp_path):
    csv = make_manifest(tmp_path, [("a.png", "happy", "F"), ("missing.png", "sad", "M")])
    with pytest.raises(ManifestError, match=r"row 2 \(line 3\): file .*missing\.png does not exist"):
        load_manifest(csv)
    with pytest.warns(SkippedItemsWarning, match="row 2"):
        samples = load_manifest(csv, on_error="skip")
    assert len(samples) == 1


def test_manifest_maps_integer_codes_and_honours_root(tmp_path):
    write_image(tmp_path / "pics" / "a.png")
    write_image(tmp_path / "pics" / "b.png")
    csv = tmp_path / "lists" / "codes.csv"
    csv.parent.mkdir()
    pd.DataFrame({"file": ["a.png", "b.png"], "code": [3, 0]}).to_csv(csv, index=False)
    samples = load_manifest(csv, path_column="file", label_column="code", root=tmp_path / "pics",
                            label_map={0: "angry", 3: "happy"}, classes=["angry", "happy"])
    assert samples.frame["emotion"].tolist() == ["happy", "angry"]
    assert samples.labels.tolist() == [1, 0]


def test_manifest_missing_column_lists_the_columns(tmp_path):
    csv = make_manifest(tmp_path, [("a.png", "happy", "F")])
    with pytest.raises(ValueError, match=r"'expression'.*columns are"):
        load_manifest(csv, label_column="expression")
