"""One image path: a photo reaches the model as the same tensor in training and in prediction.

A colour PNG of another size than the model input is loaded as training loads a class-folder
dataset (``load_from_config`` at the configured size and channels, then ``make_dataset``) and
through ``Predictor.from_run`` with ``face="whole"``; the model must see identical inputs.
"""
import cv2
import keras
import numpy as np
import pytest

from ferkit.config import config_from_dict
from ferkit.data.pipeline import make_dataset
from ferkit.data.sources import load_from_config
from ferkit.data.synthetic import EMOTION_PROTOTYPES, render_face
from ferkit.inference import Predictor
from ferkit.runs import RunDir, save_preprocessing

MODEL_INPUT = (48, 48)
CLASSES = ["happy", "sadness"]


def colour_photo(emotion: str, height: int, width: int, seed: int) -> np.ndarray:
    """A synthetic face, tinted differently per channel and stretched to ``height x width``."""
    aus = {au: 1.0 for au in EMOTION_PROTOTYPES[emotion]}
    grey = render_face(aus, size=96, seed=seed).astype(np.float32)
    rgb = np.stack([grey, 0.7 * grey + 40, 255 - 0.6 * grey], axis=-1)
    noise = np.random.default_rng(seed).normal(0, 6, rgb.shape)
    rgb = np.clip(rgb + noise, 0, 255).astype(np.uint8)
    return cv2.resize(rgb, (width, height), interpolation=cv2.INTER_LINEAR)


def write_dataset(root, size) -> str:
    """``root/<class>/face.png`` for each class; returns the 'happy' photo's path."""
    for seed, emotion in enumerate(CLASSES):
        folder = root / emotion
        folder.mkdir(parents=True)
        photo = colour_photo(emotion, *size, seed=seed)
        assert cv2.imwrite(str(folder / "face.png"), cv2.cvtColor(photo, cv2.COLOR_RGB2BGR))
    return str(root / "happy" / "face.png")


def training_input(root, path: str, channels: int, workdir) -> np.ndarray:
    """The model input training builds for ``path``: the configured loader, then tf.data."""
    config = config_from_dict({"data": {"source": "folders", "path": str(root),
                                        "image_size": list(MODEL_INPUT), "channels": channels}})
    samples = load_from_config(config.data, workdir, config.seed)
    row = samples.frame["path"].astype(str).tolist().index(path)
    images, _ = next(iter(make_dataset(samples, batch_size=len(samples), heads=["emotion"])))
    return images.numpy()[row]


def write_run(run_dir, channels: int) -> RunDir:
    """A run directory with an untrained two-class model and its preprocessing.json."""
    inputs = keras.Input((*MODEL_INPUT, channels), name="image")
    pooled = keras.layers.GlobalAveragePooling2D()(inputs)
    emotion = keras.layers.Dense(len(CLASSES), activation="softmax", name="emotion")(pooled)
    run = RunDir(run_dir).create()
    keras.Model(inputs, {"emotion": emotion}).save(run / RunDir.MODEL)
    save_preprocessing(run.path, MODEL_INPUT, channels, CLASSES)
    return run


class RecordingModel:
    """Stands in for the predictor's model and keeps every batch it is called on."""

    def __init__(self, model):
        self.model, self.batches = model, []

    def predict_on_batch(self, batch):
        self.batches.append(np.array(batch))
        return self.model.predict_on_batch(batch)


def predictor_input(run: RunDir, path: str) -> np.ndarray:
    predictor = Predictor.from_run(run.path)
    recorder = predictor.model = RecordingModel(predictor.model)
    (face,) = predictor.predict_faces(path, face="whole")
    assert set(face.probabilities) == set(CLASSES)
    (batch,) = recorder.batches
    return batch[0]


@pytest.mark.parametrize("channels", [1, 3], ids=["grey", "rgb"])
@pytest.mark.parametrize("photo_size", [(90, 70), (40, 36)], ids=["shrunk", "enlarged"])
def test_training_and_the_predictor_feed_the_model_the_same_tensor(tmp_path, channels,
                                                                    photo_size):
    root = tmp_path / "faces"
    path = write_dataset(root, photo_size)
    trained_on = training_input(root, path, channels, tmp_path / "work")
    predicted_on = predictor_input(write_run(tmp_path / "run", channels), path)
    assert trained_on.dtype == predicted_on.dtype == np.float32
    assert trained_on.shape == predicted_on.shape == (*MODEL_INPUT, channels)
    assert trained_on.std() > 0.01, "the photo reached the model as a flat image"
    np.testing.assert_allclose(predicted_on, trained_on, rtol=0, atol=1e-6,
                               err_msg=f"{photo_size} photo, {channels} channel(s): training "
                                       "and prediction prepare the face differently")
