"""Batched TTA: the views of a batch in one forward pass give what one pass per view gives."""
import keras
import numpy as np
import pandas as pd
import pytest

from ferkit.data.samples import Samples
from ferkit.evaluation.evaluate import predict, tta_views


def _samples(count: int, side: int = 12) -> Samples:
    images = np.random.default_rng(0).integers(0, 256, size=(count, side, side), dtype=np.uint8)
    frame = pd.DataFrame({"label": np.arange(count) % 3, "image_index": np.arange(count)})
    return Samples(frame=frame, classes=("a", "b", "c"), images=images, source="batched tta")


def _tiny_model(side: int = 12) -> keras.Model:
    """A small CNN with two heads whose outputs depend on where things sit in the image."""
    keras.utils.set_random_seed(0)
    inputs = keras.Input((side, side, 1))
    x = keras.layers.Conv2D(4, 3, activation="relu")(inputs)
    x = keras.layers.BatchNormalization()(x)
    x = keras.layers.Flatten()(x)
    return keras.Model(inputs, {"emotion": keras.layers.Dense(3, activation="softmax")(x),
                                "au": keras.layers.Dense(2, activation="sigmoid")(x)})


def _view_by_view(model, images: np.ndarray, views) -> dict[str, np.ndarray]:
    """Reference: one full pass per view, averaged (what predict did before batching)."""
    x = images[..., None].astype("float32") / 255.0
    passes = [model(np.asarray(view(x)), training=False) for view in views]
    return {head: np.mean([np.asarray(p[head]) for p in passes], axis=0) for head in passes[0]}


@pytest.mark.parametrize("batch_size", [4, 7, 64])  # a ragged last batch, one batch
def test_fourteen_views_in_one_pass_match_one_pass_per_view(batch_size):
    samples, model = _samples(10), _tiny_model()
    settings = dict(flip_tta=True, shift_tta=2, zoom_tta=(1.08, 1.16))
    views = tta_views(True, 2, (1.08, 1.16))
    assert len(views) == 14
    batched = predict(model, samples, batch_size=batch_size, **settings)
    expected = _view_by_view(model, samples.images, views)
    assert sorted(batched) == ["au", "emotion"]
    for head in expected:
        assert batched[head].shape == expected[head].shape == (10, 2 if head == "au" else 3)
        np.testing.assert_allclose(batched[head], expected[head], atol=1e-5, err_msg=head)
    plain = predict(model, samples, batch_size=batch_size)["emotion"]
    assert not np.allclose(plain, batched["emotion"], atol=1e-3)  # the views do change it


def test_each_model_call_holds_batch_size_times_views_images():
    samples, model = _samples(9), _tiny_model()
    seen = []

    class Recording(keras.Model):
        def call(self, x):
            seen.append(int(x.shape[0]))
            return model(x)

    recording = Recording()
    recording.compile(run_eagerly=True)  # concrete shapes: one call() per batch
    predict(recording, samples, batch_size=4, flip_tta=True, shift_tta=1)
    assert seen == [4 * 10, 4 * 10, 1 * 10], seen  # 9 images, 10 views, one call per batch
