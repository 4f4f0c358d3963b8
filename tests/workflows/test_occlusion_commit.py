"""Occlusion resume decides "finished" by the commit marker (run.json) alone, with a fake trainer."""
import types

import keras
import numpy as np
import pandas as pd
import pytest

from ferkit.config import config_from_dict
from ferkit.data.samples import Samples
from ferkit.runs import RunDir
from ferkit.workflows import occlusion as occlusion_workflow

SIZE = 8
REGIONS = ("full", "upper")


def _samples() -> Samples:
    labels = np.tile([0, 1], 6)
    images = np.where(labels[:, None, None, None] == 0, 255, 0).astype("uint8")
    images = np.broadcast_to(images, (len(labels), SIZE, SIZE, 1)).copy()
    frame = pd.DataFrame({"label": labels, "split": ["train"] * 4 + ["val"] * 4 + ["test"] * 4,
                          "image_index": np.arange(len(labels))})
    return Samples(frame, ("bright", "dark"), images=images, source="toy")


def _tiny_model() -> keras.Model:
    inputs = keras.Input((SIZE, SIZE, 1))
    x = keras.layers.GlobalAveragePooling2D()(inputs)
    return keras.Model(inputs, {"emotion": keras.layers.Dense(2, activation="softmax",
                                                              name="emotion")(x)})


@pytest.fixture
def fake_training(monkeypatch):
    """Replace training by saving a tiny model into a complete run directory."""
    trained = []

    def train_on_samples(config, samples, run_dir, model=None):
        run = RunDir(run_dir).begin()
        model = model if model is not None else _tiny_model()
        model.save(run / RunDir.MODEL)
        (run / RunDir.METRICS).write_text("{}")
        run.commit({"evaluated_on": "test"})
        trained.append(run.path.name)
        return types.SimpleNamespace(model=model, evaluated_on="test",
                                     evaluation=types.SimpleNamespace(summary={}))

    monkeypatch.setattr(occlusion_workflow, "train_on_samples", train_on_samples)
    return trained


def _protocol(run_dir):
    return occlusion_workflow.occlusion_protocol(config_from_dict({}), run_dir, regions=REGIONS,
                                                 samples=_samples(), verbose=False)


def test_a_mask_run_with_every_file_but_run_json_is_trained_again(tmp_path, fake_training):
    assert _protocol(tmp_path).trained == list(REGIONS)
    (tmp_path / "upper" / RunDir.RUN).unlink()  # killed after saving the model, before the commit
    assert (tmp_path / "upper" / RunDir.MODEL).is_file()
    again = _protocol(tmp_path)
    assert again.trained == ["upper"] and fake_training == ["full", "upper", "upper"]


def test_committed_models_are_reloaded_not_trained(tmp_path, fake_training):
    first = _protocol(tmp_path)
    again = _protocol(tmp_path)
    assert again.trained == [] and fake_training == list(REGIONS)
    pd.testing.assert_frame_equal(again.matrix, first.matrix)
