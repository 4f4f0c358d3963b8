"""The console script and the main example, run end to end in their fast modes."""
import json
import subprocess
import sys
from pathlib import Path

import pytest

import ferkit
from ferkit.cli import main

ROOT = Path(__file__).parent.parent


def test_version(capsys):
    with pytest.raises(SystemExit):
        main(["--version"])
    assert ferkit.__version__ in capsys.readouterr().out


def test_models_lists_presets(capsys):
    assert main(["models"]) == 0
    assert "seed004_resnet" in capsys.readouterr().out


def test_synth_writes_a_ckplus_tree(tmp_path):
    assert main(["synth", str(tmp_path), "--subjects", "2", "--sequences", "7"]) == 0
    assert len(list((tmp_path / "Emotion").glob("S*/*/*_emotion.txt"))) == 14


def test_train_reports_config_errors_with_exit_code_2(tmp_path, capsys):
    config = tmp_path / "c.yaml"
    config.write_text("train: {epoch: 3}\n")
    assert main(["train", "--config", str(config)]) == 2
    assert "unknown key(s) train.epoch" in capsys.readouterr().err


def test_train_runs_a_config(tmp_path, ckplus_full, capsys):
    fast = ["train.epochs=1", "train.jit_compile=false", "data.min_au_count=2", "train.verbose=0",
            "model.args={filters: [4], blocks: [1], stem_filters: 4}"]
    args = ["train", "--config", str(ROOT / "configs" / "ckplus_multitask.yaml"),
            "--data", str(ckplus_full), "--out", str(tmp_path / "run")]
    for item in fast:
        args += ["--set", item]
    assert main(args) == 0
    assert "emotion_accuracy" in capsys.readouterr().out
    assert (tmp_path / "run" / "model.keras").is_file()


def test_example_runs_end_to_end_in_fast_mode(tmp_path):
    run = tmp_path / "run"
    done = subprocess.run([sys.executable, str(ROOT / "examples" / "ckplus_multitask.py"), "--fast",
                           "--out", str(run)], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "emotion accuracy" in done.stdout and "AU micro-F1" in done.stdout
    metrics = json.loads((run / "metrics.json").read_text())
    assert 0.0 <= metrics["emotion_accuracy"] <= 1.0 and "au_micro_f1" in metrics
    for name in ["model.keras", "history.json", "config.yaml", "splits.csv", "au_report.csv",
                 "plots/history.png", "plots/confusion_matrix.png"]:
        assert (run / name).is_file(), name
    splits = __import__("pandas").read_csv(run / "splits.csv")
    assert splits.groupby("subject")["split"].nunique().max() == 1  # subject-disjoint


def test_report_command_builds_the_html_page(tmp_path, ckplus_full, capsys):
    run = tmp_path / "run"
    args = ["train", "--config", str(ROOT / "configs" / "ckplus_multitask.yaml"),
            "--data", str(ckplus_full), "--out", str(run)]
    for item in ["train.epochs=1", "train.jit_compile=false", "data.min_au_count=2",
                 "train.verbose=0", "model.args={filters: [4], blocks: [1], stem_filters: 4}"]:
        args += ["--set", item]
    assert main(args) == 0
    assert main(["report", str(run)]) == 0
    page = (run / "report.html").read_text()
    assert "emotion_report" in page and "data:image/png;base64," in page
    assert main(["report", str(tmp_path)]) == 2
    assert "missing config.yaml" in capsys.readouterr().err
