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
