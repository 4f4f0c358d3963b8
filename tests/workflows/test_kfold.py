"""k-fold cross-validation: the per-fold table, resuming, errors and seed 000's example."""
import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ferkit.config import config_from_dict
from ferkit.data.samples import Samples
from ferkit.cli.kfold import register
from ferkit.evaluation.kfold import FOLD_METRICS, TABLE_COLUMNS, kfold_table
from ferkit.workflows.kfold import cross_validate

ROOT = Path(__file__).resolve().parents[2]
TINY_TRAIN = {"epochs": 1, "batch_size": 16, "jit_compile": False, "verbose": 0}


def _samples(per_class: int = 8, classes=("angry", "happy", "neutral"), size: int = 12) -> Samples:
    """Separable toy images: class k is a flat grey level plus noise."""
    rng = np.random.default_rng(0)
    labels = np.repeat(np.arange(len(classes)), per_class)
    levels = 40 + 80 * labels[:, None, None, None]
    images = np.clip(levels + rng.normal(0, 10, (len(labels), size, size, 1)), 0, 255).astype("uint8")
    frame = pd.DataFrame({"label": labels, "subject": np.arange(len(labels)) % 6})
    return Samples(frame, classes, images=images, source="toy")


def _config(size: int = 12, **train):
    return config_from_dict({
        "data": {"image_size": [size, size], "channels": 1}, "augment": None,
        "model": {"name": "ckplus_small", "args": {"filters": [4], "blocks": [1], "stem_filters": 4}},
        "train": {**TINY_TRAIN, **train}})


@pytest.fixture(scope="module")
def finished_cv(tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("cv")
    return cross_validate(_config(), run_dir, k=3, samples=_samples(), verbose=False)


@pytest.mark.slow
def test_table_has_one_row_per_fold_then_mean_and_std(finished_cv):
    table = pd.read_csv(finished_cv.run_dir / "kfold.csv")
    assert list(table.columns) == list(TABLE_COLUMNS)
    assert table["fold"].astype(str).tolist() == ["1", "2", "3", "mean", "std"]
    folds = table.iloc[:3]
    for metric in FOLD_METRICS:
        assert np.isclose(table[metric].iloc[3], folds[metric].mean())
        assert np.isclose(table[metric].iloc[4], folds[metric].std(ddof=1))
    assert (folds[["n_train", "n_val", "n_test"]].sum(axis=1) == 24).all()
    assert folds["n_test"].sum() == 24  # every image is tested exactly once
    assert np.allclose(folds["accuracy"], folds["micro_f1"])  # single-label micro = accuracy


@pytest.mark.slow
def test_outputs_and_pooled_predictions(finished_cv):
    run_dir = finished_cv.run_dir
    for name in ("kfold.md", "kfold.json", "oof_predictions.csv", "plots/kfold.png",
                 "fold_01/metrics.json", "fold_03/model.keras"):
        assert (run_dir / name).is_file(), name
    predictions = finished_cv.predictions
    assert len(predictions) == 24 and sorted(predictions["fold"].unique()) == [1, 2, 3]
    per_fold_accuracy = predictions.groupby("fold").apply(
        lambda part: (part["label"] == part["predicted"]).mean(), include_groups=False)
    assert np.allclose(per_fold_accuracy.to_numpy(), finished_cv.per_fold["accuracy"])
    saved = json.loads((run_dir / "kfold.json").read_text())
    assert np.isclose(saved["mean"]["macro_f1"], finished_cv.per_fold["macro_f1"].mean())
    assert "| mean |" in finished_cv.to_markdown()


@pytest.mark.slow
def test_resume_reads_committed_folds_back_and_retrains_only_the_uncommitted_one(finished_cv):
    run_dir = finished_cv.run_dir
    stamps = {fold: (run_dir / f"fold_0{fold}" / "metrics.json").stat().st_mtime_ns
              for fold in (1, 3)}
    (run_dir / "fold_02" / "run.json").unlink()  # as if killed before the commit marker
    again = cross_validate(_config(), run_dir, k=3, samples=_samples(), verbose=False)
    assert again.trained == [2]
    for fold, stamp in stamps.items():
        assert (run_dir / f"fold_0{fold}" / "metrics.json").stat().st_mtime_ns == stamp
    pd.testing.assert_frame_equal(again.per_fold.drop(index=1), finished_cv.per_fold.drop(index=1))
    assert cross_validate(_config(), run_dir, k=3, samples=_samples(), verbose=False).trained == []


@pytest.mark.slow
def test_resuming_with_other_settings_is_refused(finished_cv):
    with pytest.raises(ValueError, match="other settings.*val_fraction"):
        cross_validate(_config(), finished_cv.run_dir, k=3, val_fraction=0.3, samples=_samples(),
                       verbose=False)


@pytest.mark.parametrize("k, group, match", [
    (1, None, "at least 2"),
    (9, None, "larger than the number of images"),
    (7, "subject", "at least 7 distinct 'subject' values"),
])
def test_bad_k_is_named(tmp_path, k, group, match):
    with pytest.raises(ValueError, match=match):
        cross_validate(_config(), tmp_path, k=k, group=group, samples=_samples(), verbose=False)
    assert not (tmp_path / "fold_01").exists()


def test_kfold_table_names_missing_columns():
    with pytest.raises(ValueError, match="macro_f1"):
        kfold_table(pd.DataFrame({"fold": [1], "accuracy": [0.5]}))


def test_command_line_parser(tmp_path):
    parser = argparse.ArgumentParser()
    register(parser.add_subparsers())
    config = tmp_path / "config.yaml"
    config.write_text("train: {epochs: 1}\n")
    args = parser.parse_args(["kfold", "--config", str(config), "--folds", "2", "--set",
                              "train.batch_size=8", "--out", str(tmp_path / "cv")])
    assert args.group is None and args.val_fraction == 0.15 and args.folds == 2
    with pytest.raises(SystemExit):  # the parser refuses --folds 1 by name
        parser.parse_args(["kfold", "--config", str(config), "--folds", "1"])
    args.folds = 1  # the workflow checks k itself for callers that skip the parser
    with pytest.raises(ValueError, match="at least 2"):
        args.run(args)


@pytest.mark.slow
def test_seed000_example_runs_fast(tmp_path):
    out = tmp_path / "seed000"
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "CUDA_VISIBLE_DEVICES": ""}
    done = subprocess.run([sys.executable, str(ROOT / "examples" / "seed000_kfold_bias.py"),
                           "--fast", "--out", str(out)],
                          capture_output=True, text=True, timeout=240, env=env, cwd=ROOT)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "| mean |" in done.stdout and "| std |" in done.stdout
    assert "| race |" in done.stdout and "| gender |" in done.stdout
    table = pd.read_csv(out / "kfold" / "kfold.csv")
    assert table["fold"].astype(str).tolist()[-2:] == ["mean", "std"]
    by_group = pd.read_csv(out / "fairness" / "fairness_by_group.csv")
    assert {"race", "gender"} <= set(by_group["attribute"])
    assert by_group.loc[by_group["group"] == "overall", "n_images"].eq(
        len(pd.read_csv(out / "kfold" / "oof_predictions.csv"))).all()
    assert (out / "kfold" / "plots" / "kfold.png").is_file()
