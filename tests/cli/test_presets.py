"""``ferkit presets`` lists the shipped models; ``ferkit predict PHOTO`` needs no run."""
import argparse
import os
import subprocess
import sys

import cv2
import numpy as np
import pandas as pd
import pytest

from ferkit.cli import main
from ferkit.cli import predict as predict_command
from ferkit.data.synthetic import render_face
from ferkit.models.pretrained import DEFAULT_PRESET, list_presets, preset_info

#: Proxies that refuse every connection: a command that tries the network fails.
NO_NETWORK = {"HTTP_PROXY": "http://127.0.0.1:9", "HTTPS_PROXY": "http://127.0.0.1:9",
              "http_proxy": "http://127.0.0.1:9", "https_proxy": "http://127.0.0.1:9",
              "NO_PROXY": "", "no_proxy": ""}


def photo(path) -> str:
    """A synthetic face pasted on a grey canvas, written as a PNG."""
    canvas = np.full((200, 240), 128, np.uint8)
    canvas[30:126, 50:146] = render_face(size=96)
    assert cv2.imwrite(str(path), canvas), path
    return str(path)


def parse(*argv) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    predict_command.register(parser.add_subparsers(dest="command"))
    return parser.parse_args(["predict", *argv])


def test_presets_command_lists_every_shipped_preset(capsys):
    assert main(["presets"]) == 0
    out = capsys.readouterr().out
    for info in list_presets():
        assert info.name in out and info.command in out
    assert f"{DEFAULT_PRESET} (default)" in out and "Apache-2.0" in out


@pytest.mark.parametrize("argv, expected", [
    (["photo.png"], ("preset", DEFAULT_PRESET)),
    (["photo.png", "--preset", "ckplus_au"], ("preset", "ckplus_au")),
    (["--run", "runs/a", "photo.png"], ("run", "runs/a")),
    (["runs/a", "photo.png"], ("run", "runs/a")),
    (["--camera", "0"], ("preset", DEFAULT_PRESET)),
    (["runs/a", "--camera", "0"], ("run", "runs/a")),
])
def test_predict_takes_its_model_from_a_preset_or_a_run(argv, expected):
    assert predict_command.model_source(parse(*argv)) == expected


@pytest.mark.parametrize("argv", [["runs/a", "photo.png", "--preset", "fer2013"],
                                  ["runs/a", "photo.png", "--run", "runs/b"],
                                  ["a", "b", "c"], [], ["a", "b", "--camera", "0"]])
def test_predict_refuses_two_models_or_three_paths(argv):
    with pytest.raises(ValueError):
        predict_command.model_source(parse(*argv))


def test_the_cli_default_preset_is_the_librarys():
    assert predict_command.DEFAULT_PRESET == DEFAULT_PRESET


def test_predict_photo_works_with_no_run_and_no_network(tmp_path):
    image = photo(tmp_path / "photo.png")
    env = {**os.environ, **NO_NETWORK, "KERAS_HOME": str(tmp_path / "keras_home")}
    done = subprocess.run([sys.executable, "-m", "ferkit", "predict", image, "--out",
                           str(tmp_path / "out")], capture_output=True, text=True, timeout=300,
                          env=env, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "photo.png" in done.stdout and f"preset {DEFAULT_PRESET}" in done.stdout, done.stdout
    assert (tmp_path / "out" / "predictions.csv").is_file()
    cached = [p.name for p in (tmp_path / "keras_home").rglob("*")
              if p.is_file() and p.name != "keras.json"]  # Keras writes its settings file
    assert not cached, f"predict downloaded {cached} into the Keras cache"


def test_predict_whole_image_with_the_default_preset_gives_probabilities(tmp_path, capsys):
    image = photo(tmp_path / "photo.png")
    assert main(["predict", image, "--whole-image", "--out", str(tmp_path / "out")]) == 0
    assert "1 face(s)" in capsys.readouterr().out
    rows = pd.read_csv(tmp_path / "out" / "predictions.csv")
    classes = preset_info(DEFAULT_PRESET).classes
    # one probability column per class (p_<class>, or prob_<class> in older frames)
    probabilities = rows[[c for c in rows.columns if c.partition("_")[2] in classes]]
    assert len(rows) == 1 and probabilities.shape[1] == len(classes), list(rows.columns)
    assert probabilities.sum(axis=1).iloc[0] == pytest.approx(1.0, abs=1e-4)


def test_predict_with_an_unknown_preset_says_which_exist(capsys):
    assert main(["predict", "photo.png", "--preset", "nope"]) == 2
    err = capsys.readouterr().err
    assert "unknown preset 'nope'" in err and DEFAULT_PRESET in err


def test_presets_command_with_a_name_shows_only_that_preset(capsys):
    others = [info.name for info in list_presets() if info.name != DEFAULT_PRESET]
    assert main(["presets", DEFAULT_PRESET]) == 0
    out = capsys.readouterr().out
    assert f"{DEFAULT_PRESET} (default)" in out
    assert not any(f"\n{name}:" in out for name in others), out
