"""Flip test-time augmentation in ferkit.evaluation.evaluate."""
import keras
import numpy as np
import pandas as pd

from ferkit.data.samples import Samples
from ferkit.evaluation.evaluate import evaluate_model, predict


def _left_right_model():
    """Softmax over (mean of the left half, mean of the right half): not mirror-symmetric."""
    inputs = keras.Input((4, 4, 1))
    left = keras.layers.Lambda(lambda x: keras.ops.mean(x[:, :, :2], axis=(1, 2)))(inputs)
    right = keras.layers.Lambda(lambda x: keras.ops.mean(x[:, :, 2:], axis=(1, 2)))(inputs)
    logits = keras.layers.Concatenate()([left, right]) * 10.0
    return keras.Model(inputs, {"emotion": keras.layers.Softmax()(logits)})


def _samples(images, labels):
    frame = pd.DataFrame({"label": labels, "image_index": np.arange(len(labels))})
    return Samples(frame=frame, classes=("left", "right"), images=images, source="tta test")


def test_flip_tta_averages_the_image_and_its_mirror():
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(5, 4, 4), dtype=np.uint8)
    samples = _samples(images, [0, 1, 0, 1, 0])
    model = _left_right_model()
    plain = predict(model, samples, batch_size=2)["emotion"]
    tta = predict(model, samples, batch_size=2, flip_tta=True)["emotion"]
    x = images[..., None].astype("float32") / 255.0
    expected = (np.asarray(model(x)["emotion"]) + np.asarray(model(x[:, :, ::-1])["emotion"])) / 2
    np.testing.assert_allclose(tta, expected, atol=1e-6)
    # this model reads the two halves oppositely, so averaging it with its mirror gives 1/2
    np.testing.assert_allclose(tta, 0.5, atol=1e-6)
    assert not np.allclose(plain, 0.5)


def test_evaluate_model_reports_the_tta_predictions():
    images = np.zeros((2, 4, 4), dtype=np.uint8)
    images[0, :, :2] = 255  # bright left half: class 0 without TTA
    images[1, :, 2:] = 255
    samples = _samples(images, [0, 1])
    model = _left_right_model()
    assert evaluate_model(model, samples).summary["emotion_accuracy"] == 1.0
    tta = evaluate_model(model, samples, flip_tta=True)
    np.testing.assert_allclose(tta.predictions[["p_left", "p_right"]].to_numpy(), 0.5, atol=1e-6)
