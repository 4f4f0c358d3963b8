"""Exit codes of ``ferkit``: 2 and one line for bad input, 130 for Ctrl-C, a traceback with a
"please report it" line only for ferkit bugs, and ``--debug`` anywhere on the command line."""
from __future__ import annotations

import gzip
import subprocess
import sys

import pytest

import ferkit.cli.synth
from ferkit.cli import EXIT_INTERRUPTED, global_flags_first, main
from ferkit.errors import ConfigError


def _synth_raising(monkeypatch, error: BaseException) -> None:
    def run(args):
        raise error
    monkeypatch.setattr(ferkit.cli.synth, "run", run)


def test_debug_after_the_command_shows_the_traceback(tmp_path, capsys):
    config = tmp_path / "c.yaml"
    config.write_text("train: {epoch: 3}\n")
    with pytest.raises(ConfigError, match=r"unknown key\(s\) train\.epoch"):
        main(["train", "--config", str(config), "--debug"])
    assert "error:" not in capsys.readouterr().err


def test_verbose_after_the_command_is_accepted(tmp_path, capsys):
    config = tmp_path / "c.yaml"
    config.write_text("train: {epoch: 3}\n")
    assert main(["train", "--verbose", "--config", str(config)]) == 2
    assert "unknown key(s) train.epoch" in capsys.readouterr().err


def test_global_flags_move_to_the_front_but_not_after_a_double_dash():
    assert global_flags_first(["train", "--debug", "--config", "c.yaml", "--", "--verbose"]) == [
        "--debug", "train", "--config", "c.yaml", "--", "--verbose"]


def test_ctrl_c_exits_130_with_one_line(tmp_path, monkeypatch, capsys):
    _synth_raising(monkeypatch, KeyboardInterrupt())
    assert main(["synth", str(tmp_path)]) == EXIT_INTERRUPTED == 130
    assert capsys.readouterr().err == "ferkit synth: interrupted\n"


def test_a_bug_says_it_is_one_and_keeps_its_traceback(tmp_path, monkeypatch, capsys):
    _synth_raising(monkeypatch, ZeroDivisionError("division by zero"))
    with pytest.raises(ZeroDivisionError):
        main(["synth", str(tmp_path)])
    err = capsys.readouterr().err
    assert err.startswith("ferkit synth: internal error: ZeroDivisionError: division by zero")
    assert "please report it" in err


def test_a_message_over_several_lines_is_printed_on_one(tmp_path, monkeypatch, capsys):
    _synth_raising(monkeypatch, ValueError("first line\n  second line\n"))
    assert main(["synth", str(tmp_path)]) == 2
    assert capsys.readouterr().err == "ferkit synth: error: first line second line\n"


def test_a_model_file_that_is_no_keras_archive_is_named(tmp_path, capsys):
    run = tmp_path / "run"
    run.mkdir()
    (run / "model.keras").write_text("not a model")
    assert main(["predict", "--run", str(run), str(tmp_path / "face.png")]) == 2
    err = capsys.readouterr().err
    assert f"{run / 'model.keras'}: not a Keras .keras archive" in err and "Traceback" not in err


def test_a_hostile_config_exits_2_and_runs_nothing(tmp_path, capsys):
    marker = tmp_path / "ran"
    config = tmp_path / "hostile.yaml"
    config.write_text(f"data: !!python/object/apply:os.system ['touch {marker}']\n")
    assert main(["train", "--config", str(config)]) == 2
    err = capsys.readouterr().err
    assert "hostile.yaml, line 1" in err and "not allowed" in err and not marker.exists()


def test_a_truncated_gzip_through_the_real_command_exits_2_without_a_traceback(tmp_path):
    path = tmp_path / "fer2013.csv.gz"
    rows = "".join(f"{i % 7}," + " ".join(["5"] * 2304) + ",Training\n" for i in range(30))
    packed = gzip.compress(("emotion,pixels,Usage\n" + rows).encode())
    path.write_bytes(packed[: len(packed) // 2])
    done = subprocess.run([sys.executable, "-m", "ferkit", "data", "inspect", str(path),
                           "--out", str(tmp_path / "out"), "--no-duplicates"],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    assert f"{path}: the gzip file is truncated" in done.stderr
