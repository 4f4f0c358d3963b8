"""Occlusion matrix, its layouts, the fine-tuning protocol and seed 003's example."""
import argparse
import os
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pandas as pd
import pytest

from ferkit.config import config_from_dict
from ferkit.data.samples import Samples
from ferkit.evaluation.evaluate import evaluate_model
from ferkit.evaluation.occlusion import (
    MATRIX_COLUMNS, MATRIX_REGIONS, TABLE2_METRICS, add_occlusion_parser, finetune_config,
    mask_images, masked_samples, occlusion_matrix, occlusion_protocol, pivot_matrix,
    plot_occlusion_matrix, stacked_matrix,
)
from ferkit.layers.occlusion import REGIONS

ROOT = Path(__file__).resolve().parents[1]
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


def _protocol_config():
    return config_from_dict({
        "data": {"source": "fer2013", "image_size": [48, 48], "channels": 1,
                 "synthetic": {"images": 140}},
        "split": {"method": "stratified", "fractions": [0.6, 0.2, 0.2]}, "augment": None,
        "model": {"name": "ckplus_small", "args": {"filters": [4], "blocks": [1], "stem_filters": 4}},
        "train": {"epochs": 1, "batch_size": 32, "jit_compile": False, "verbose": 0}})


def test_finetune_config_applies_overrides_then_epochs():
    tuned = finetune_config(_protocol_config(), "upper", epochs=3,
                            overrides=["train.learning_rate=0.0001", "train.epochs=9"])
    assert tuned.name == "experiment_upper" and tuned.train.epochs == 3
    assert tuned.train.learning_rate == 1e-4


def test_protocol_runs_end_to_end_and_resumes(tmp_path):
    config = _protocol_config()
    first = occlusion_protocol(config, tmp_path, regions=("full", "upper"), verbose=False)
    assert first.trained == ["full", "upper"]
    assert pivot_matrix(first.matrix, "accuracy").shape == (2, 2)
    for name in ("full/model.keras", "upper/run.json", "occlusion/matrix.csv", "occlusion/matrix.md",
                 "occlusion/matrix.json", "occlusion/accuracy.png", "occlusion/weighted_auc.png"):
        assert (tmp_path / name).is_file(), name
    tuned_splits = pd.read_csv(tmp_path / "upper" / "splits.csv")
    assert tuned_splits["split"].tolist() == pd.read_csv(tmp_path / "full" / "splits.csv")["split"].tolist()

    stamp = (tmp_path / "full" / "model.keras").stat().st_mtime_ns
    (tmp_path / "upper" / "run.json").unlink()  # as if fine-tuning had been interrupted
    again = occlusion_protocol(config, tmp_path, regions=("full", "upper"), verbose=False)
    assert again.trained == ["upper"]
    assert (tmp_path / "full" / "model.keras").stat().st_mtime_ns == stamp
    full_row = lambda m: m[m["trained_on"] == "full"].reset_index(drop=True)  # noqa: E731
    pd.testing.assert_frame_equal(full_row(again.matrix), full_row(first.matrix))
    assert occlusion_protocol(config, tmp_path, regions=("upper",), verbose=False).trained == []


def test_command_line_parser(tmp_path):
    parser = argparse.ArgumentParser()
    add_occlusion_parser(parser.add_subparsers())
    args = parser.parse_args(["occlusion", "--config", str(tmp_path / "missing.yaml"),
                              "--regions", "full", "lower", "--finetune-set",
                              "train.learning_rate=0.001"])
    assert args.regions == ["full", "lower"] and args.finetune_set == ["train.learning_rate=0.001"]
    with pytest.raises(ValueError, match="does not exist"):
        args.run(args)
    with pytest.raises(SystemExit):
        parser.parse_args(["occlusion", "--config", "c.yaml", "--regions", "middle"])


def test_seed003_example_runs_fast(tmp_path):
    out = tmp_path / "seed003"
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "CUDA_VISIBLE_DEVICES": ""}
    done = subprocess.run([sys.executable, str(ROOT / "examples" / "seed003_occlusion.py"),
                           "--fast", "--out", str(out), "--regions", "full", "upper", "lower"],
                          capture_output=True, text=True, timeout=240, env=env, cwd=ROOT)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "## accuracy" in done.stdout and "## macro_f1" in done.stdout
    assert "| trained_on | full | upper | lower |" in done.stdout
    assert "test" in done.stdout and "PublicTest" in done.stdout
    matrix = pd.read_csv(out / "occlusion" / "matrix.csv")
    assert len(matrix) == 9 and set(matrix["trained_on"]) == {"full", "upper", "lower"}
    splits = pd.read_csv(out / "full" / "splits.csv")
    assert set(splits.loc[splits["split"] == "test", "usage"]) == {"PublicTest"}
    assert set(splits.loc[splits["split"] != "test", "usage"]) == {"Training"}
    assert (out / "occlusion" / "macro_f1.png").is_file()
