"""The occlusion protocol (baseline, fine-tuned copies, matrix; resumable), its command and seed 003's example."""
import argparse
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from ferkit.cli.occlusion import REGIONS as CLI_REGIONS, register
from ferkit.config import config_from_dict
from ferkit.evaluation.occlusion import MATRIX_REGIONS, pivot_matrix
from ferkit.workflows.occlusion import finetune_config, occlusion_protocol

ROOT = Path(__file__).resolve().parents[2]


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


@pytest.mark.slow
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
    register(parser.add_subparsers())
    args = parser.parse_args(["occlusion", "--config", str(tmp_path / "missing.yaml"),
                              "--regions", "full", "lower", "--finetune-set",
                              "train.learning_rate=0.001"])
    assert args.regions == ["full", "lower"] and args.finetune_set == ["train.learning_rate=0.001"]
    with pytest.raises(ValueError, match="does not exist"):
        args.run(args)
    with pytest.raises(SystemExit):
        parser.parse_args(["occlusion", "--config", "c.yaml", "--regions", "middle"])


def test_command_regions_are_the_matrix_regions():
    assert CLI_REGIONS == MATRIX_REGIONS


@pytest.mark.slow
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
