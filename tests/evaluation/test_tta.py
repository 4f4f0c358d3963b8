"""Test-time augmentation (flips, shifts and zooms) in ferkit.evaluation.evaluate."""
import keras
import numpy as np
import pytest
import pandas as pd

from ferkit.data.samples import Samples
from ferkit.evaluation.evaluate import check_zoom_tta, evaluate_model, predict, tta_views


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


def _numpy_shift(x, dy, dx):
    """Reference: move an NHWC batch dy pixels down and dx right, edges reflected."""
    pad = max(abs(dy), abs(dx))
    padded = np.pad(x, [(0, 0), (pad, pad), (pad, pad), (0, 0)], mode="reflect")
    height, width = x.shape[1:3]
    return padded[:, pad - dy:pad - dy + height, pad - dx:pad - dx + width]


def test_shift_views_move_the_image_with_reflected_edges():
    x = np.arange(2 * 6 * 5, dtype="float32").reshape(2, 6, 5, 1)
    views = tta_views(shift=2)
    assert len(views) == 5 and len(tta_views(flip=True, shift=2)) == 10
    expected = [x] + [_numpy_shift(x, dy, dx) for dy, dx in [(-2, 0), (2, 0), (0, -2), (0, 2)]]
    for view, want in zip(views, expected):
        np.testing.assert_array_equal(np.asarray(view(x)), want)
    # moved 2 down: row 2 of the view is row 0 of the image; the top rows mirror rows 1-2
    down = np.asarray(views[2](x))
    np.testing.assert_array_equal(down[:, 2], x[:, 0])
    np.testing.assert_array_equal(down[:, 0], x[:, 2])
    flipped = np.asarray(tta_views(flip=True, shift=2)[7](x))  # mirror of the view "2 down"
    np.testing.assert_array_equal(flipped, down[:, :, ::-1])


def test_shift_and_flip_tta_average_all_ten_views():
    rng = np.random.default_rng(1)
    images = rng.integers(0, 256, size=(5, 6, 6), dtype=np.uint8)
    samples = _samples(images, [0, 1, 0, 1, 0])
    inputs = keras.Input((6, 6, 1))
    # weights on pixel positions: the output depends on where the face sits
    logits = keras.layers.Dense(2)(keras.layers.Flatten()(inputs))
    model = keras.Model(inputs, {"emotion": keras.layers.Softmax()(logits)})
    tta = predict(model, samples, batch_size=2, flip_tta=True, shift_tta=1)["emotion"]
    x = images[..., None].astype("float32") / 255.0
    views = [x] + [_numpy_shift(x, dy, dx) for dy, dx in [(-1, 0), (1, 0), (0, -1), (0, 1)]]
    views += [v[:, :, ::-1] for v in views]
    expected = np.mean([np.asarray(model(v)["emotion"]) for v in views], axis=0)
    np.testing.assert_allclose(tta, expected, atol=1e-6)
    flip_only = predict(model, samples, batch_size=2, flip_tta=True)["emotion"]
    assert not np.allclose(tta, flip_only, atol=1e-4)


@pytest.mark.parametrize("bad", [-1, 1.5, True, "2"])
def test_shift_tta_must_be_whole_pixels(bad):
    with pytest.raises(ValueError, match="shift_tta must be a whole number of pixels"):
        tta_views(shift=bad)


def test_zoom_view_enlarges_the_centre_of_the_image():
    # a ramp along the width: bilinear resizing (half-pixel centres) keeps it a ramp, so the
    # enlarged centre reads pixel j of the view at (j + offset + 0.5) / factor - 0.5
    width, factor = 8, 2.0
    ramp = np.tile(np.arange(width, dtype="float32"), (2, 6, 1))[..., None]  # (2, 6, 8, 1)
    (_, enlarged) = tta_views(zoom=(factor,))
    view = np.asarray(enlarged(ramp))
    assert view.shape == ramp.shape
    offset = (round(factor * width) - width) // 2
    want = (np.arange(width) + offset + 0.5) / factor - 0.5
    np.testing.assert_allclose(view[0, 3, :, 0], want, atol=1e-5)
    assert np.isclose(view[0, 3].mean(), ramp[0, 3].mean())  # the centre stays the centre
    # a flat image is a flat image at any size
    flat = np.full((1, 48, 48, 1), 0.25, "float32")
    np.testing.assert_allclose(np.asarray(tta_views(zoom=(1.08,))[1](flat)), 0.25, atol=1e-6)


def test_views_come_in_order_identity_shifts_zooms_then_mirrors():
    x = np.random.default_rng(2).random((2, 48, 48, 1)).astype("float32")
    views = tta_views(flip=True, shift=2, zoom=(1.08, 1.16))
    assert len(views) == 14 and len(tta_views(shift=2, zoom=(1.08, 1.16))) == 7
    unflipped = tta_views(shift=2, zoom=(1.08, 1.16))
    for i in range(7):
        np.testing.assert_array_equal(np.asarray(views[7 + i](x)),
                                      np.asarray(unflipped[i](x))[:, :, ::-1])
    np.testing.assert_array_equal(np.asarray(views[0](x)), x)
    assert not np.allclose(np.asarray(views[5](x)), np.asarray(views[6](x)))  # 1.08 vs 1.16


def test_zoom_tta_averages_the_enlarged_views_too():
    rng = np.random.default_rng(3)
    images = rng.integers(0, 256, size=(4, 8, 8), dtype=np.uint8)
    samples = _samples(images, [0, 1, 0, 1])
    inputs = keras.Input((8, 8, 1))
    logits = keras.layers.Dense(2)(keras.layers.Flatten()(inputs))
    model = keras.Model(inputs, {"emotion": keras.layers.Softmax()(logits)})
    zoomed = predict(model, samples, batch_size=3, zoom_tta=(1.5,))["emotion"]
    x = images[..., None].astype("float32") / 255.0
    # enlarged 1.5 times: 12 x 12, of which the centre 8 x 8 (rows and columns 2..9)
    big = np.asarray(keras.ops.image.resize(x, (12, 12), interpolation="bilinear"))
    views = [x, big[:, 2:10, 2:10]]
    expected = np.mean([np.asarray(model(view)["emotion"]) for view in views], axis=0)
    np.testing.assert_allclose(zoomed, expected, atol=1e-5)
    plain = predict(model, samples, batch_size=3)["emotion"]
    assert not np.allclose(zoomed, plain, atol=1e-4)


@pytest.mark.parametrize("bad", [(1.0,), (0.9,), (1.1, 1.0), ("1.1",), (True,), (float("nan"),)])
def test_zoom_tta_factors_must_enlarge(bad):
    with pytest.raises(ValueError, match="zoom_tta factors must be numbers > 1"):
        check_zoom_tta(bad)


@pytest.mark.parametrize("bad", [1.08, "1.08"])
def test_zoom_tta_must_be_a_list(bad):
    with pytest.raises(ValueError, match="zoom_tta must be a list of enlargement factors"):
        tta_views(zoom=bad)
