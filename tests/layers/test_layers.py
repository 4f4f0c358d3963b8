import keras
import numpy as np
import pytest

from ferkit.layers import ResidualBlock


def _round_trip(model, tmp_path):
    path = tmp_path / "model.keras"
    model.save(path)
    return keras.models.load_model(path)


@pytest.mark.parametrize("strides, channels, projected", [(1, 4, False), (2, 4, True), (1, 3, True)])
def test_shortcut_is_projected_only_when_shapes_change(strides, channels, projected):
    block = ResidualBlock(4, strides=strides)
    y = block(np.random.rand(2, 8, 8, channels).astype("float32"))
    assert tuple(y.shape) == (2, 8 // strides, 8 // strides, 4)
    assert (block.shortcut_conv is not None) == projected


def test_forbidden_projection_is_an_error():
    with pytest.raises(ValueError, match="identity shortcut impossible"):
        ResidualBlock(8, projection=False)(np.zeros((1, 4, 4, 3), "float32"))


def test_l2_adds_one_penalty_per_kernel():
    block = ResidualBlock(4, strides=2, l2=1e-3)
    block(np.zeros((1, 8, 8, 3), "float32"))
    assert len(block.losses) == 3  # conv1, conv2, projection
    assert len(ResidualBlock(4)(np.zeros((1, 8, 8, 4), "float32")).shape) == 4


def test_config_and_keras_file_round_trip(tmp_path):
    block = ResidualBlock(6, kernel_size=5, strides=2, l2=1e-4, projection=True, name="rb")
    config = block.get_config()
    assert {k: config[k] for k in ("filters", "kernel_size", "strides", "l2", "projection")} == \
        {"filters": 6, "kernel_size": 5, "strides": 2, "l2": 1e-4, "projection": True}
    inputs = keras.Input((8, 8, 2))
    model = keras.Model(inputs, block(inputs))
    x = np.random.default_rng(0).random((3, 8, 8, 2)).astype("float32")
    np.testing.assert_allclose(_round_trip(model, tmp_path)(x), model(x), atol=1e-6)


def test_bad_arguments():
    with pytest.raises(ValueError, match="filters"):
        ResidualBlock(0)
    with pytest.raises(ValueError, match="l2"):
        ResidualBlock(4, l2=-1)


# ----------------------------------------------------------------------------- SpaceToDepth

def test_space_to_depth_folds_pixel_blocks_into_channels_losslessly():
    from ferkit.layers import SpaceToDepth
    image = np.arange(16, dtype="float32").reshape(1, 4, 4, 1)
    folded = np.asarray(SpaceToDepth(2)(image))
    assert folded.shape == (1, 2, 2, 4)
    # the top-left 2x2 block (0, 1, 4, 5) becomes the first output pixel's channels
    np.testing.assert_array_equal(folded[0, 0, 0], [0, 1, 4, 5])
    assert sorted(folded.ravel().tolist()) == list(range(16))
    assert SpaceToDepth(2).compute_output_shape((None, 48, 48, 1)) == (None, 24, 24, 4)


def test_space_to_depth_round_trips_and_rejects_a_bad_block(tmp_path):
    from ferkit.layers import SpaceToDepth
    inputs = keras.Input((6, 6, 2))
    model = keras.Model(inputs, SpaceToDepth(3, name="fold")(inputs))
    model.save(tmp_path / "m.keras")
    again = keras.models.load_model(tmp_path / "m.keras")
    assert again.get_layer("fold").block == 3
    x = np.random.default_rng(0).random((2, 6, 6, 2)).astype("float32")
    np.testing.assert_array_equal(again(x), model(x))
    with pytest.raises(ValueError, match="block"):
        SpaceToDepth(0)


# ----------------------------------------------------------------------------- AdaptiveAveragePool2D

def test_adaptive_pool_averages_pytorch_style_overlapping_bins():
    from ferkit.layers import AdaptiveAveragePool2D
    x = np.random.default_rng(0).random((1, 5, 7, 2)).astype("float32")
    pooled = AdaptiveAveragePool2D(3)(x).numpy()
    rows, cols = [(0, 2), (1, 4), (3, 5)], [(0, 3), (2, 5), (4, 7)]  # floor/ceil bin edges
    expected = [[x[0, r0:r1, c0:c1].mean(axis=(0, 1)) for c0, c1 in cols] for r0, r1 in rows]
    np.testing.assert_allclose(pooled[0], expected, rtol=1e-5)


def test_adaptive_pool_needs_a_known_image_size_and_a_positive_size():
    from ferkit.layers import AdaptiveAveragePool2D
    with pytest.raises(ValueError, match="size must be >= 1, got 0"):
        AdaptiveAveragePool2D(0)
    with pytest.raises(ValueError, match="needs a fixed height and width"):
        AdaptiveAveragePool2D(2).build((None, None, 8, 1))
