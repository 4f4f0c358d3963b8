"""A run's TFLite export predicts through the Predictor like its model.keras (``model_file``)."""
import argparse

import numpy as np
import pandas as pd
import pytest

from ferkit.cli import predict as predict_command
from ferkit.data.synthetic import render_face
from ferkit.errors import ModelFileError, ModelNotFoundError
from ferkit.export import export_model
from ferkit.inference import Predictor
from ferkit.models.tflite import TFLiteModel


@pytest.fixture(scope="module")
def exports(tiny_run, tmp_path_factory):
    out = tmp_path_factory.mktemp("tflite_exports")
    return {q: export_model(tiny_run, "tflite", out / q / "model.tflite", quantize=q,
                            calibration_images=40) for q in ("none", "int8")}


@pytest.fixture(scope="module")
def faces():
    rng = np.random.default_rng(0)
    return [np.clip(render_face(size=64).astype(int) + rng.integers(-20, 20, (64, 64)), 0, 255)
            .astype(np.uint8) for _ in range(5)]


def test_a_float32_export_gives_the_keras_models_rows(tiny_run, exports, faces):
    keras_rows = Predictor.from_run(tiny_run).predict_arrays(faces, face="whole")
    tflite = Predictor.from_run(tiny_run, model_file=exports["none"])
    assert isinstance(tflite.model, TFLiteModel)
    assert tflite.aus == Predictor.from_run(tiny_run).aus and tflite.aus, "the AU head was lost"
    for expected, got in zip(keras_rows, tflite.predict_arrays(faces, face="whole")):
        (e,), (g,) = expected, got
        assert g.probabilities == pytest.approx(e.probabilities, abs=1e-5)
        assert g.aus == pytest.approx(e.aus, abs=1e-5)


def test_an_int8_export_predicts_a_folder_with_the_same_columns(tiny_run, exports, faces, tmp_path):
    import cv2

    for i, face in enumerate(faces):
        cv2.imwrite(str(tmp_path / f"{i}.png"), face)
    paths = sorted(tmp_path.glob("*.png"))
    keras_frame = Predictor.from_run(tiny_run).predict_files(paths, face="whole", progress=False)
    int8_frame = Predictor.from_run(tiny_run, model_file=exports["int8"]).predict_files(
        paths, face="whole", progress=False)
    assert list(int8_frame.columns) == list(keras_frame.columns)
    probabilities = [c for c in keras_frame.columns if c.startswith("p_")]
    gap = np.abs(int8_frame[probabilities].to_numpy() - keras_frame[probabilities].to_numpy())
    assert gap.max() <= 0.1, f"int8 probabilities differ by up to {gap.max():.3f}"
    pd.testing.assert_series_equal(int8_frame["file"], keras_frame["file"])


def test_a_file_that_is_not_tflite_is_named(tiny_run, tmp_path):
    fake = tmp_path / "model.tflite"
    fake.write_bytes(b"not a flatbuffer at all" * 10)
    with pytest.raises(ModelFileError, match=r"model\.tflite: not a TFLite model"):
        Predictor.from_run(tiny_run, model_file=fake)
    with pytest.raises(ModelNotFoundError, match="missing.tflite does not exist"):
        TFLiteModel(tmp_path / "missing.tflite")


def test_model_file_needs_a_run_on_the_command_line():
    parser = argparse.ArgumentParser(prog="ferkit")
    predict_command.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["predict", "photo.jpg", "--model-file", "model_int8.tflite"])
    with pytest.raises(ValueError, match="--model-file is a file of a run: give the run too"):
        predict_command.model_source(args)
    args = parser.parse_args(["predict", "--run", "RUN", "photo.jpg", "--model-file", "m.tflite"])
    assert predict_command.model_source(args) == ("run", "RUN") and args.model_file == "m.tflite"
