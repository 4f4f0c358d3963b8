"""The occlusion matrix: masks, scores per (trained on, evaluated on), its layouts and plot."""
import keras
import numpy as np
import pandas as pd
import pytest

from ferkit.data.samples import Samples
from ferkit.evaluation.evaluate import evaluate_model
from ferkit.evaluation.occlusion import (
    MATRIX_COLUMNS, MATRIX_REGIONS, TABLE2_METRICS, mask_images, masked_samples,
    occlusion_matrix, pivot_matrix, plot_occlusion_matrix, stacked_matrix,
)
from ferkit.layers.occlusion import REGIONS

SIZE = 8


def _bright_or_dark(n_per_class: int = 6) -> Samples:
    """Class 0 ("bright"): every pixel 255; class 1 ("dark"): every pixel 0. All rows are test."""
    labels = np.repeat([0, 1], n_per_class)
    images = np.where(labels[:, None, None, None] == 0, 255, 0).astype("uint8")
    images = np.broadcast_to(images, (len(labels), SIZE, SIZE, 1)).copy()
    frame = pd.DataFrame({"label": labels, "split": "test"})
    return Samples(frame, ("bright", "dark"), images=images, source="toy")


def _half_reader(half: str) -> keras.Model:
    """A fixed model that calls an image bright when its ``half`` ("upper"/"lower") is bright.

    It averages only that half: mean m in [0, 1] gives logits (10m - 2.5, 2.5 - 10m), so a
    fully visible bright half says "bright" and a zeroed one says "dark".
    """
    crop = ((0, SIZE // 2), (0, 0)) if half == "upper" else ((SIZE // 2, 0), (0, 0))
    inputs = keras.Input((SIZE, SIZE, 1), name="image")
    x = keras.layers.Cropping2D(crop)(inputs)
    x = keras.layers.GlobalAveragePooling2D()(x)
    head = keras.layers.Dense(2, activation="softmax", name="emotion")
    outputs = {"emotion": head(x)}
    head.set_weights([np.array([[10.0, -10.0]]), np.array([-2.5, 2.5])])
    return keras.Model(inputs, outputs, name=f"{half}_reader")


@pytest.fixture(scope="module")
def readers():
    return {"upper": _half_reader("upper"), "lower": _half_reader("lower")}


def test_a_model_reading_one_half_fails_only_when_that_half_is_masked(readers):
    matrix = occlusion_matrix(readers, _bright_or_dark())
    assert list(matrix.columns) == list(MATRIX_COLUMNS)
    assert list(zip(matrix["trained_on"], matrix["evaluated_on"]))[:5] == [
        ("upper", region) for region in MATRIX_REGIONS]
    accuracy = pivot_matrix(matrix, "accuracy")
    assert accuracy.loc["upper"].to_dict() == {"full": 1.0, "upper": 0.5, "lower": 1.0,
                                               "left": 1.0, "right": 1.0}
    assert accuracy.loc["lower"].to_dict() == {"full": 1.0, "upper": 1.0, "lower": 0.5,
                                               "left": 1.0, "right": 1.0}
    assert pivot_matrix(matrix, "weighted_auc").at["upper", "upper"] == 0.5  # constant scores


def test_full_column_equals_plain_evaluation():
    rng = np.random.default_rng(1)
    images = rng.integers(0, 256, (20, SIZE, SIZE, 1), dtype="uint8")
    labels = np.arange(20) % 3
    frame = pd.DataFrame({"label": labels, "split": np.where(np.arange(20) < 8, "train", "test")})
    samples = Samples(frame, ("a", "b", "c"), images=images)
    keras.utils.set_random_seed(0)
    inputs = keras.Input((SIZE, SIZE, 1))
    x = keras.layers.Conv2D(3, 3)(inputs)
    x = keras.layers.GlobalAveragePooling2D()(x)
    model = keras.Model(inputs, {"emotion": keras.layers.Dense(3, activation="softmax",
                                                               name="emotion")(x)})
    matrix = occlusion_matrix({"full": model}, samples, regions=("full", "lower"))
    plain = evaluate_model(model, samples.split("test")).summary
    full = matrix[matrix["evaluated_on"] == "full"].iloc[0]
    assert full["n_images"] == 12
    for metric, key in [("accuracy", "accuracy"), ("macro_f1", "macro_f1"),
                        ("weighted_f1", "weighted_f1"), ("weighted_auc", "auc_weighted")]:
        assert np.isclose(full[metric], plain[f"emotion_{key}"])


def test_regions_are_full_then_the_mask_layers_halves():
    assert MATRIX_REGIONS == ("full",) + REGIONS


def test_masks_zero_the_right_half_and_keep_the_input():
    images = np.full((2, 4, 6), 7, dtype="uint8")  # (n, H, W) without a channel axis
    upper = mask_images(images, "upper")
    assert upper.shape == images.shape and upper.dtype == np.uint8
    assert (upper[:, :2] == 0).all() and (upper[:, 2:] == 7).all()
    right = mask_images(images, "right")
    assert (right[:, :, 3:] == 0).all() and (right[:, :, :3] == 7).all()
    assert (mask_images(images, "full") == 7).all() and (images == 7).all()


def test_masked_samples_leave_other_splits_untouched():
    samples = _bright_or_dark(2)
    samples.frame["split"] = ["train", "val", "test", "test"]
    masked = masked_samples(samples, "lower", splits=("train", "val"))
    rows = masked.images[masked.frame["image_index"].to_numpy()]
    assert (rows[0, SIZE // 2:] == 0).all() and (rows[0, : SIZE // 2] == 255).all()
    assert (rows[2] == samples.images[2]).all() and samples.images.max() == 255


def test_layouts_and_plot(readers, tmp_path):
    matrix = occlusion_matrix(readers, _bright_or_dark())
    grid = pivot_matrix(matrix, "macro_f1")
    assert grid.shape == (2, 5) and list(grid.columns) == list(MATRIX_REGIONS)
    assert grid.index.name == "trained_on" and grid.columns.name == "evaluated_on"
    table2 = stacked_matrix(matrix)
    assert table2.shape == (2 * len(TABLE2_METRICS), 5)
    assert table2.index[:4].tolist() == [("upper", metric) for metric in TABLE2_METRICS]
    assert table2.loc[("lower", "accuracy"), "lower"] == 0.5
    assert plot_occlusion_matrix(matrix, tmp_path / "m.png").stat().st_size > 0
    with pytest.raises(ValueError, match="no column 'auc'"):
        pivot_matrix(matrix, "auc")


@pytest.mark.parametrize("regions, match", [(("full", "middle"), "unknown region"),
                                            ((), "empty"), (("upper", "upper"), "repeat")])
def test_bad_regions_are_named(readers, regions, match):
    with pytest.raises(ValueError, match=match):
        occlusion_matrix(readers, _bright_or_dark(), regions=regions)


def test_missing_test_rows_are_named(readers):
    samples = _bright_or_dark()
    samples.frame["split"] = "train"
    with pytest.raises(ValueError, match="no 'test' rows"):
        occlusion_matrix(readers, samples)
