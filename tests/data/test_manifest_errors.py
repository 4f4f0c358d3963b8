"""Bad manifests and label maps are named errors that say which file and row: NaN or empty
labels, an image listed twice, labels the map does not know, classes the map cannot reach,
and CSVs that are empty, ragged or not UTF-8."""
import warnings

import cv2
import numpy as np
import pytest

from ferkit.data.sources import SkippedItemsWarning, load_class_folders, load_manifest
from ferkit.errors import DataError, ManifestError, UnknownLabelError


def _faces(root, count=4):
    root.mkdir(parents=True, exist_ok=True)
    for i in range(count):
        cv2.imwrite(str(root / f"face_{i}.png"), np.full((8, 8), 30 * i, np.uint8))
    return [f"face_{i}.png" for i in range(count)]


def _manifest(tmp_path, rows, header="path,label"):
    path = tmp_path / "manifest.csv"
    path.write_text(header + "\n" + "".join(f"{p},{label}\n" for p, label in rows))
    return path


@pytest.mark.parametrize("label, shown", [("", "row 2 \\(line 3\\): empty label"),
                                          ("NaN", "row 2 \\(line 3\\): empty label"),
                                          ("   ", "row 2 \\(line 3\\): empty label")])
def test_empty_or_nan_label_names_file_and_row(tmp_path, label, shown):
    files = _faces(tmp_path)
    path = _manifest(tmp_path, [(files[0], "happy"), (files[1], label), (files[2], "sad")])
    with pytest.raises(ManifestError, match=f"manifest .*manifest.csv: 1 bad row.*{shown}"):
        load_manifest(path)
    with pytest.warns(SkippedItemsWarning, match="row 2"):
        assert len(load_manifest(path, on_error="skip")) == 2


def test_an_image_listed_twice_is_a_named_duplicate(tmp_path):
    files = _faces(tmp_path)
    path = _manifest(tmp_path, [(files[0], "happy"), (files[1], "sad"), (files[0], "sad")])
    with pytest.raises(ManifestError, match=r"manifest.csv: 1 bad row\(s\): row 3 \(line 4\): "
                                            r"duplicate of row 1 \(line 2\): .*face_0.png"):
        load_manifest(path)
    with pytest.warns(SkippedItemsWarning, match="duplicate"):
        samples = load_manifest(path, on_error="skip")
    assert samples.frame["label_raw"].tolist() == ["happy", "sad"], "the first listing stays"


def test_a_label_the_map_does_not_know_names_file_and_row(tmp_path):
    files = _faces(tmp_path)
    path = _manifest(tmp_path, [(files[0], "happy"), (files[1], "grumpy")])
    with pytest.raises(UnknownLabelError, match=r"manifest.csv, row 2 \(line 3\): 'grumpy' is "
                                                r"not a key of label_map"):
        load_manifest(path, label_map={"happy": "Happy", "sad": "Sad"})


def test_a_class_outside_classes_is_an_unknown_label_naming_where_it_came_from(tmp_path):
    files = _faces(tmp_path)
    path = _manifest(tmp_path, [(files[0], "happy"), (files[1], "sad")])
    with pytest.raises(UnknownLabelError, match=r"classes \['happy'\] lack 'sad' from row 2"):
        load_manifest(path, classes=["happy"])
    with pytest.raises(DataError, match="classes has duplicates"):
        load_manifest(path, classes=["happy", "sad", "happy"])


def test_a_folder_the_label_map_does_not_know_is_named(tmp_path):
    _faces(tmp_path / "Happy")
    _faces(tmp_path / "Sad")
    with pytest.raises(DataError, match=r"class folder .*Sad: 'Sad' is not a key of label_map"):
        load_class_folders(tmp_path, label_map={"Happy": "happy"})


@pytest.mark.parametrize("content, problem", [
    (b"", "is empty"),
    (b"path,label\nface_0.png,happy,extra,cells\n", "not a well-formed CSV table"),
    (b"path,label\nface_0.png,h\xe4ppy\n", "not UTF-8 text \\(byte 0xe4"),
    (b"file,label\nface_0.png,happy\n", "no column\\(s\\) \\['path'\\]"),
])
def test_unreadable_manifest_tables_name_the_file(tmp_path, content, problem):
    _faces(tmp_path)
    path = tmp_path / "manifest.csv"
    path.write_bytes(content)
    with pytest.raises(ManifestError, match=f"manifest .*manifest.csv.*{problem}"):
        load_manifest(path)


def test_a_clean_manifest_still_loads_without_warnings(tmp_path):
    files = _faces(tmp_path)
    path = _manifest(tmp_path, [(files[0], "happy"), (files[1], "sad"), (files[2], "happy")])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        samples = load_manifest(path, check_images=True)
    assert samples.classes == ("happy", "sad") and samples.labels.tolist() == [0, 1, 0]
