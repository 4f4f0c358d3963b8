"""The ``ferkit`` command: listing, synthesising, training, reporting, errors, ``python -m``."""
import subprocess
import sys
from pathlib import Path

import pytest

import ferkit
import ferkit.cli.synth
from ferkit.cli import main
from ferkit.errors import ConfigError, DataError

ROOT = Path(__file__).resolve().parents[2]


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


def test_debug_shows_the_traceback_instead_of_the_error_line(tmp_path, capsys):
    config = tmp_path / "c.yaml"
    config.write_text("train: {epoch: 3}\n")
    with pytest.raises(ConfigError, match=r"unknown key\(s\) train\.epoch"):
        main(["--debug", "train", "--config", str(config)])
    assert "error:" not in capsys.readouterr().err


def test_error_line_is_one_line_naming_the_command(tmp_path, capsys):
    assert main(["synth", str(tmp_path), "--format", "fer2013", "--size", "32"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("ferkit synth: error: --size 32") and err.count("\n") == 1, err


def test_error_line_names_the_sub_command(tmp_path, capsys):
    assert main(["data", "inspect", str(tmp_path / "missing")]) == 2
    assert capsys.readouterr().err.startswith("ferkit data inspect: error: ")


def _failing_with(monkeypatch, error: Exception) -> None:
    def run(args):
        raise error
    monkeypatch.setattr(ferkit.cli.synth, "run", run)


@pytest.mark.parametrize("error", [DataError("bad file x.png"), OSError("disk full"),
                                   ValueError("bad value")])
def test_input_errors_exit_2_and_debug_re_raises_them(tmp_path, monkeypatch, capsys, error):
    _failing_with(monkeypatch, error)
    assert main(["synth", str(tmp_path)]) == 2
    assert capsys.readouterr().err == f"ferkit synth: error: {error}\n"
    with pytest.raises(type(error)):
        main(["--debug", "synth", str(tmp_path)])


def test_a_bug_keeps_its_traceback_without_debug(tmp_path, monkeypatch):
    _failing_with(monkeypatch, RuntimeError("a ferkit bug"))
    with pytest.raises(RuntimeError, match="a ferkit bug"):
        main(["synth", str(tmp_path)])


def test_no_command_prints_the_help_and_exits_1(capsys):
    assert main([]) == 1
    assert "usage: ferkit" in capsys.readouterr().out


@pytest.mark.slow
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


@pytest.mark.slow
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


@pytest.mark.parametrize("module", ["ferkit", "ferkit.cli"])
def test_python_dash_m_runs_the_command(module):
    done = subprocess.run([sys.executable, "-m", module, "--version"], capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0 and done.stdout.strip() == f"ferkit {ferkit.__version__}", done
