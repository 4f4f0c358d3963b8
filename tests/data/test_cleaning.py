"""Duplicates, preprocessing and face cropping on tiny synthetic arrays."""
import cv2
import numpy as np
import pandas as pd
import pytest

from ferkit.data.cleaning import (
    DEFAULT_MAX_DISTANCE, Standardizer, crop_faces, detect_faces, drop_duplicates,
    duplicate_report, expand_box, find_duplicates, haar_available, haar_cascade_path,
    hamming_distance, image_hashes, minmax_normalize, perceptual_hash, resize, to_grayscale,
    to_rgb, with_duplicate_groups)
from ferkit.data.samples import Samples
from ferkit.data.splits import assert_disjoint
from ferkit.data.synthetic import SyntheticConfig, SyntheticFaces, render_face

CLASSES = ("angry", "happy", "sad")


@pytest.fixture(scope="module")
def faces():
    """Six distinct 48x48 synthetic faces."""
    images, _ = SyntheticFaces(SyntheticConfig(size=48), seed=0).sample(6)
    return images


def make_samples(images, labels, splits=None, source="toy"):
    frame = pd.DataFrame({"label": labels})
    if splits is not None:
        frame["split"] = splits
    return Samples(frame=frame, classes=CLASSES, images=np.asarray(images), source=source)


@pytest.fixture
def leaky(faces):
    """Rows 0-5 distinct; 6 copies 0 in train, 7 copies 1 into test, 8 copies 2 with another label."""
    images = np.concatenate([faces, faces[[0, 1, 2]]])
    labels = [0, 1, 2, 0, 1, 2, 0, 1, 0]
    splits = ["train"] * 4 + ["test"] * 2 + ["train", "test", "train"]
    return make_samples(images, labels, splits)


def brighter_and_shifted(image):
    return np.roll(np.clip(image.astype(int) + 5, 0, 255).astype(np.uint8), 1, axis=1)


# ----------------------------------------------------------------------------- duplicates
def test_exact_duplicates_within_and_across_splits(leaky):
    found = find_duplicates(leaky)
    groups = found.groupby("group")["row"].apply(list).tolist()
    assert groups == [[0, 6], [1, 7], [2, 8]]
    assert found.loc[found["row"] == 7, "split"].item() == "test"
    assert {"group", "row", "image_index", "split", "label", "label_name", "distance"} <= set(found.columns)
    assert (found["distance"] == 0).all()


def test_no_duplicates_gives_empty_frames(faces):
    samples = make_samples(faces, [0] * 6)
    assert find_duplicates(samples).empty
    report = duplicate_report(samples)
    assert report.summary["duplicate_groups"] == 0 and report.groups.empty and report.leakage.empty


def test_report_counts_leakage_and_conflicting_labels(leaky):
    report = duplicate_report(leaky)
    summary = report.summary
    counts = summary[["duplicate_groups", "images_in_groups", "redundant_copies"]].tolist()
    assert counts == [3, 6, 3]
    assert summary["cross_split_groups"] == 1 and summary["conflicting_label_groups"] == 1
    conflicting = report.groups[report.groups["conflicting_labels"]]
    assert conflicting["labels"].item() == "angry, sad"
    assert report.leakage.to_dict("records") == [{"splits": "test, train", "groups": 1, "images": 2}]
    assert "groups across splits: 1" in str(report)


def test_perceptual_finds_a_brighter_shifted_copy_but_not_another_face(faces):
    face, other = faces[5], faces[1]
    samples = make_samples([face, brighter_and_shifted(face), other], [0, 0, 0])
    assert find_duplicates(samples, "exact").empty
    found = find_duplicates(samples, "perceptual")
    assert found["row"].tolist() == [0, 1], found
    assert found["distance"].max() <= DEFAULT_MAX_DISTANCE
    assert hamming_distance(perceptual_hash(face), perceptual_hash(other)) > 2 * DEFAULT_MAX_DISTANCE


def test_perceptual_hash_ignores_size():
    face = render_face(size=48)
    bigger = cv2.resize(face, (96, 96), interpolation=cv2.INTER_CUBIC)
    assert hamming_distance(perceptual_hash(face), perceptual_hash(bigger)) <= 4


def test_path_samples_hash_like_in_memory_ones(faces, tmp_path):
    paths = []
    for k, image in enumerate([faces[0], faces[1], faces[0]]):
        paths.append(str(tmp_path / f"{k}.png"))
        cv2.imwrite(paths[-1], image)
    samples = Samples(frame=pd.DataFrame({"path": paths, "label": [0, 1, 2]}), classes=CLASSES)
    found = find_duplicates(samples)
    assert found["row"].tolist() == [0, 2] and found["path"].tolist() == [paths[0], paths[2]]
    assert image_hashes(samples)["exact"][0] == image_hashes(make_samples(faces[:1], [0]))["exact"][0]


def test_unreadable_file_error_names_row_and_path(tmp_path):
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"not a png")
    samples = Samples(frame=pd.DataFrame({"path": [str(broken)], "label": [0]}), classes=CLASSES,
                      source="my folder")
    with pytest.raises(OSError, match=r"my folder, row 0: cannot read image .*broken\.png"):
        image_hashes(samples)


def test_bad_kind_and_distance_are_explained(leaky):
    with pytest.raises(ValueError, match="kind must be 'exact' or 'perceptual'"):
        find_duplicates(leaky, "fuzzy")
    with pytest.raises(ValueError, match="max_distance applies to kind='perceptual' only"):
        find_duplicates(leaky, "exact", max_distance=3)
    with pytest.raises(ValueError, match="0..32"):
        find_duplicates(leaky, "perceptual", max_distance=40)


def test_duplicate_group_column_feeds_assert_disjoint(leaky):
    grouped = with_duplicate_groups(leaky)
    assert grouped.frame["duplicate_group"].nunique() == len(leaky) - 3
    with pytest.raises(ValueError, match="1 duplicate_group values are shared across splits"):
        assert_disjoint(grouped.frame, "duplicate_group")
    cleaned, _ = drop_duplicates(leaky)
    assert_disjoint(with_duplicate_groups(cleaned).frame, "duplicate_group")


# ----------------------------------------------------------------------------- dropping
def test_drop_duplicates_default_policy_reports_every_removal(leaky):
    cleaned, removed = drop_duplicates(leaky)
    assert len(cleaned) == len(leaky) - len(removed)
    reasons = dict(zip(removed["row"], removed["reason"]))
    assert reasons == {2: "conflicting labels (angry, sad)", 6: "duplicate",
                       7: "copy of a 'train' image", 8: "conflicting labels (angry, sad)"}
    kept = removed.set_index("row")["kept_row"]
    assert (kept[6], kept[7]) == (0, 1) and kept[[2, 8]].isna().all()
    assert cleaned.frame["image_index"].tolist() == [0, 1, 3, 4, 5]


def test_drop_duplicates_other_policies(leaky):
    _, all_gone = drop_duplicates(leaky, across_splits="drop_all", conflicting_labels="keep", keep="last")
    assert all_gone["row"].tolist() == [0, 1, 2, 7]
    assert all_gone.loc[all_gone["row"] == 1, "reason"].item().startswith("copies in several splits")
    _, per_split = drop_duplicates(leaky, across_splits="keep_per_split", conflicting_labels="keep")
    assert per_split["row"].tolist() == [6, 8]


def test_drop_from_eval_needs_a_known_training_split(leaky):
    renamed = Samples(frame=leaky.frame.replace({"split": {"train": "Training"}}),
                      classes=CLASSES, images=leaky.images, source="fer")
    with pytest.raises(ValueError, match=r"train_split 'train' is not a split .*Training"):
        drop_duplicates(renamed)
    _, removed = drop_duplicates(renamed, train_split="Training")
    assert "copy of a 'Training' image" in removed["reason"].tolist()


# ----------------------------------------------------------------------------- preprocessing
def test_resize_keeps_dtype_and_channels_and_stacks_mixed_sizes():
    batch = np.zeros((2, 10, 12, 1), np.uint8)
    assert resize(batch, (96, 96)).shape == (2, 96, 96, 1)
    mixed = [np.zeros((30, 40, 3), np.float32), np.ones((50, 20, 3), np.float32)]
    out = resize(mixed, 48)
    assert out.shape == (2, 48, 48, 3) and out.dtype == np.float32 and out[1].min() == 1
    with pytest.raises(ValueError, match="interpolation must be one of"):
        resize(batch, 8, "bicubic")


@pytest.mark.parametrize("dtype, cv_type, low, high", [("float32", cv2.CV_32F, 0, 1),
                                                       ("uint8", cv2.CV_8U, 0, 255)])
def test_minmax_matches_cv2_per_image_per_channel(dtype, cv_type, low, high):
    images = np.random.default_rng(0).integers(0, 256, (6, 9, 7, 3)).astype(np.uint8)
    images[1, ..., 2] = 40  # a constant channel becomes `low`, as in OpenCV
    ours = minmax_normalize(images, low=low, high=high, dtype=dtype)
    reference = np.stack([
        np.stack([cv2.normalize(np.ascontiguousarray(image[..., c]), None, low, high,
                                cv2.NORM_MINMAX, dtype=cv_type) for c in range(3)], axis=-1)
        for image in images])
    assert ours.dtype == reference.dtype
    difference = np.abs(ours.astype(float) - reference)
    assert difference.max() <= (1e-6 if dtype == "float32" else 1) and (difference == 0).mean() > 0.99
    whole = minmax_normalize(images, per_channel=False, low=low, high=high, dtype=dtype)
    reference = np.stack([cv2.normalize(image, None, low, high, cv2.NORM_MINMAX, dtype=cv_type)
                          for image in images])
    assert np.abs(whole.astype(float) - reference).max() <= (1e-6 if dtype == "float32" else 1)


def test_standardizer_uses_training_statistics_only():
    rng = np.random.default_rng(0)
    train = rng.normal(100, 10, (50, 4, 4, 1)).astype(np.float32)
    test = rng.normal(200, 30, (20, 4, 4, 1)).astype(np.float32)
    samples = make_samples(np.concatenate([train, test]), [0] * 70, ["train"] * 50 + ["test"] * 20)
    scaler = Standardizer().fit_split(samples, "train")
    np.testing.assert_allclose(scaler.mean, [train.mean()], rtol=1e-6)
    np.testing.assert_allclose(scaler.std, [train.std()], rtol=1e-5)
    assert scaler.transform(test).mean() > 5  # test pixels are far from the training mean
    restored = Standardizer.from_config(scaler.get_config())
    np.testing.assert_allclose(restored.transform(test), scaler.transform(test))


def test_standardizer_per_pixel_equals_a_standard_scaler_on_flat_images():
    from sklearn.preprocessing import StandardScaler

    images = np.random.default_rng(1).integers(0, 256, (30, 5, 5)).astype(np.uint8)
    ours = Standardizer(per="pixel").fit_transform(images)
    flat = StandardScaler().fit_transform(images.reshape(30, -1).astype(np.float64))
    np.testing.assert_allclose(ours.reshape(30, -1), flat, atol=1e-5)


def test_standardizer_errors_say_what_to_do():
    with pytest.raises(RuntimeError, match="before fit"):
        Standardizer().transform(np.zeros((1, 4, 4)))
    fitted = Standardizer().fit(np.zeros((2, 4, 4, 1)))
    with pytest.raises(ValueError, match="fitted on shape"):
        fitted.transform(np.zeros((1, 4, 4, 3)))
    with pytest.raises(ValueError, match="split 'train' has no rows"):
        Standardizer().fit_split(make_samples(np.zeros((2, 4, 4)), [0, 0], ["val", "test"]))


def test_grayscale_matches_cv2_and_rgb_repeats_grey():
    rgb = np.random.default_rng(2).integers(0, 256, (3, 6, 5, 3)).astype(np.uint8)
    grey = to_grayscale(rgb)
    assert grey.shape == (3, 6, 5, 1)
    np.testing.assert_array_equal(grey[0, ..., 0], cv2.cvtColor(rgb[0], cv2.COLOR_RGB2GRAY))
    back = to_rgb(grey[..., 0])
    assert back.shape == (3, 6, 5, 3) and (back[..., 0] == back[..., 2]).all()


# ----------------------------------------------------------------------------- faces
def boxes_by_brightness(grey):
    """A stand-in detector: one box per bright square marked in the test images."""
    count, _, stats, _ = cv2.connectedComponentsWithStats((grey > 200).astype(np.uint8))
    return [tuple(int(v) for v in stats[k, :4]) for k in range(1, count)]


def photo(*squares, size=(60, 80)):
    image = np.zeros(size, np.uint8)
    for x, y, side in squares:
        image[y:y + side, x:x + side] = 255
    return image


def test_crop_faces_keeps_largest_and_reports_no_face_images():
    images = np.stack([photo((10, 10, 20)), photo((2, 2, 8), (40, 20, 30)), photo()])
    samples = make_samples(images, [0, 1, 2])
    cropped, report = crop_faces(samples, margin=0.5, size=(24, 24), detector=boxes_by_brightness)
    assert report["faces"].tolist() == [1, 2, 0]
    assert report["action"].tolist() == ["cropped", "cropped the largest of 2 faces",
                                         "kept uncropped: no face found"]
    assert report.loc[0, ["x", "y", "width", "height"]].tolist() == [0, 0, 40, 40]
    assert report.loc[1, ["x", "y", "width", "height"]].tolist() == [25, 5, 55, 55]  # clipped at the edge
    assert cropped.images.shape == (3, 24, 24, 1)
    dropped, report = crop_faces(samples, size=(24, 24), detector=boxes_by_brightness, no_face="drop")
    assert len(dropped) == 2 and report.loc[2, "action"] == "dropped: no face found"
    assert pd.isna(report.loc[2, "new_row"]) and dropped.frame["label"].tolist() == [0, 1]


def test_crop_faces_writes_files_for_path_samples(tmp_path):
    path = tmp_path / "raw" / "a.png"
    path.parent.mkdir()
    cv2.imwrite(str(path), photo((10, 10, 20)))
    samples = Samples(frame=pd.DataFrame({"path": [str(path)], "label": [1]}), classes=CLASSES)
    cropped, report = crop_faces(samples, tmp_path / "faces", margin=0.0, size=(16, 16),
                                 detector=boxes_by_brightness)
    written = cv2.imread(cropped.frame["path"][0], cv2.IMREAD_GRAYSCALE)
    assert written.shape == (16, 16) and written.min() == 255
    assert cropped.frame["source_path"][0] == str(path) and report["output"][0].endswith("000000_a.png")


def test_crop_faces_names_the_row_of_a_bad_detector_box():
    samples = make_samples(np.stack([photo((10, 10, 20))]), [0])
    with pytest.raises(ValueError, match=r"toy, row 0: detector returned"):
        crop_faces(samples, detector=lambda grey: [(1, 2, 0, 5)])


def test_expand_box_grows_by_margin_and_clips():
    assert expand_box((10, 10, 20, 20), (100, 100), 0.25) == (5, 5, 30, 30)
    assert expand_box((0, 0, 20, 20), (30, 30), 0.5) == (0, 0, 30, 30)


def test_haar_finds_a_synthetic_face_and_nothing_on_a_blank_image():
    boxes = detect_faces(render_face(size=96))
    assert len(boxes) == 1
    x, y, w, h = boxes[0]
    assert abs(x + w / 2 - 48) < 10 and abs(y + h / 2 - 50) < 12 and w > 48
    assert detect_faces(np.full((96, 96), 128, np.uint8)) == []
    upscaled = cv2.resize(render_face(size=48), (96, 96), interpolation=cv2.INTER_CUBIC)
    samples = make_samples(np.stack([upscaled, np.full((96, 96), 128, np.uint8)]), [0, 1])
    cropped, report = crop_faces(samples, size=(48, 48))
    assert report["faces"].tolist() == [1, 0] and cropped.images.shape == (2, 48, 48, 1)


def test_missing_haar_cascade_is_explained():
    assert haar_available()  # setup.cfg pins an OpenCV that ships the cascades
    with pytest.raises(FileNotFoundError, match="no no_such_cascade.xml in .*detector="):
        haar_cascade_path("no_such_cascade.xml")
