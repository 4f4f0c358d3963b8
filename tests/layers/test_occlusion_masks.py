"""ferkit.layers.occlusion: exact half masks, any size and dtype, serialization, train-only randomness."""
from __future__ import annotations

import keras
import numpy as np
import pytest

from ferkit.layers.occlusion import REGIONS, HalfFaceMask, RandomHalfFaceMask


def ones(height: int = 8, width: int = 8, batch: int = 2, channels: int = 1, dtype: str = "float32"):
    return np.ones((batch, height, width, channels), dtype)


def zero_map(region: str, height: int, width: int) -> np.ndarray:
    """Where the region's mask should zero a (height, width) image: the outer n // 2 lines."""
    zeros = np.zeros((height, width), bool)
    rows, cols = height // 2, width // 2
    if region == "upper":
        zeros[:rows] = True
    elif region == "lower":
        zeros[height - rows:] = True
    elif region == "left":
        zeros[:, :cols] = True
    else:
        zeros[:, width - cols:] = True
    return zeros


def test_half_face_mask_zeroes_only_the_named_half():
    x = ones()
    y = HalfFaceMask("upper")(x).numpy()
    assert y[:, :4].sum() == 0 and y[:, 4:].min() == 1


@pytest.mark.parametrize("region", REGIONS)
@pytest.mark.parametrize("height, width", [(8, 8), (7, 5), (1, 3), (48, 47)])
def test_each_region_zeroes_exactly_its_half_for_even_and_odd_sizes(region, height, width):
    x = np.random.default_rng(0).uniform(0.1, 1.0, (2, height, width, 3)).astype("float32")
    y = HalfFaceMask(region)(x).numpy()
    zeros = zero_map(region, height, width)
    assert np.all(y[:, zeros] == 0), f"{region}: some pixels of the masked half are not zero"
    assert np.array_equal(y[:, ~zeros], x[:, ~zeros]), f"{region}: the visible half was changed"


def test_odd_sizes_keep_the_middle_line_so_opposite_masks_mirror_each_other():
    x = np.random.default_rng(1).uniform(0.1, 1.0, (1, 5, 7, 1)).astype("float32")
    upper, lower = HalfFaceMask("upper")(x).numpy(), HalfFaceMask("lower")(x).numpy()
    assert np.all(upper[:, 2] == x[:, 2]) and np.all(lower[:, 2] == x[:, 2])
    assert np.array_equal(upper[:, ::-1] != 0, lower != 0)
    left, right = HalfFaceMask("left")(x).numpy(), HalfFaceMask("right")(x).numpy()
    assert np.array_equal(left[:, :, ::-1] != 0, right != 0)


def test_left_is_the_images_left_columns():
    y = HalfFaceMask("left")(ones(4, 4)).numpy()[0, :, :, 0]
    assert y[:, :2].sum() == 0 and y[:, 2:].min() == 1


@pytest.mark.parametrize("dtype", ["uint8", "float16", "float64", "int32"])
def test_mask_keeps_the_input_dtype(dtype):
    x = ones(dtype=dtype) * 7
    y = HalfFaceMask("right")(x)
    assert keras.backend.standardize_dtype(y.dtype) == dtype
    assert np.asarray(y)[:, :, 4:].sum() == 0 and np.asarray(y)[:, :, :4].min() == 7


def test_zeros_are_exact_even_for_non_finite_pixels():
    x = np.full((1, 4, 4, 1), np.inf, "float32")
    y = HalfFaceMask("lower")(x).numpy()
    assert np.all(y[:, 2:] == 0) and np.all(np.isinf(y[:, :2]))


def test_mask_accepts_a_single_unbatched_image():
    y = HalfFaceMask("upper")(np.ones((6, 4, 3), "float32")).numpy()
    assert y.shape == (6, 4, 3) and y[:3].sum() == 0 and y[3:].min() == 1


def test_mask_rejects_images_without_channels_and_unknown_regions():
    with pytest.raises(ValueError, match=r"\(batch, H, W, C\)"):
        HalfFaceMask("upper")(np.ones((4, 4), "float32"))
    with pytest.raises(ValueError, match="top"):
        HalfFaceMask("top")


def test_mask_works_on_images_of_unknown_size_inside_a_model():
    inputs = keras.Input((None, None, 1))
    model = keras.Model(inputs, HalfFaceMask("lower")(inputs))
    for height, width in [(6, 6), (9, 5)]:
        y = model(ones(height, width)).numpy()
        assert np.array_equal(y[0, :, :, 0] == 0, zero_map("lower", height, width))


# ----------------------------------------------------------------------------- serialization

def test_half_face_mask_config_round_trips():
    layer = HalfFaceMask("left", name="occlude_left")
    clone = HalfFaceMask.from_config(layer.get_config())
    assert clone.region == "left" and clone.name == "occlude_left"
    assert clone.get_config() == layer.get_config()


def test_random_half_face_mask_config_round_trips():
    layer = RandomHalfFaceMask(regions=("upper", "right"), probability=0.25, seed=5)
    clone = RandomHalfFaceMask.from_config(layer.get_config())
    assert (clone.regions, clone.probability, clone.seed) == (("upper", "right"), 0.25, 5)
    assert clone.get_config() == layer.get_config()


def test_keras_file_round_trip_gives_identical_outputs(tmp_path):
    inputs = keras.Input((7, 6, 3))
    x = RandomHalfFaceMask(probability=1.0, seed=3)(inputs)
    outputs = HalfFaceMask("upper")(keras.layers.Conv2D(2, 3, padding="same")(x))
    model = keras.Model(inputs, outputs)
    path = tmp_path / "occlusion.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    images = np.random.default_rng(2).uniform(size=(4, 7, 6, 3)).astype("float32")
    assert np.array_equal(model.predict(images, verbose=0), loaded.predict(images, verbose=0))
    trained = model(images, training=True).numpy()
    assert np.array_equal(trained, loaded(images, training=True).numpy()), "seeded masks differ after loading"
    assert [type(layer).__name__ for layer in loaded.layers][1:] == [
        "RandomHalfFaceMask", "Conv2D", "HalfFaceMask"]


# ----------------------------------------------------------------------------- random masks

def test_random_mask_is_the_identity_at_inference():
    layer = RandomHalfFaceMask(probability=1.0, seed=0)
    x = ones()
    assert np.array_equal(layer(x).numpy(), x)
    assert np.array_equal(layer(x, training=False).numpy(), x)
    model = keras.Sequential([keras.Input((8, 8, 1)), layer])
    assert np.array_equal(model.predict(x, verbose=0), x)


def test_random_mask_in_training_zeroes_one_allowed_half_per_image():
    layer = RandomHalfFaceMask(regions=("upper", "left"), probability=1.0, seed=0)
    y = layer(ones(6, 6, batch=32), training=True).numpy()[..., 0]
    allowed = [zero_map("upper", 6, 6), zero_map("left", 6, 6)]
    used = [next(i for i, zeros in enumerate(allowed) if np.array_equal(image == 0, zeros)) for image in y]
    assert set(used) == {0, 1}, "both regions should be drawn in 32 images"


def test_random_mask_probability_zero_and_one():
    x = ones(batch=16)
    assert np.array_equal(RandomHalfFaceMask(probability=0.0)(x, training=True).numpy(), x)
    masked = RandomHalfFaceMask(probability=1.0, seed=1)(x, training=True).numpy()
    assert np.all(masked.reshape(16, -1).sum(axis=1) == 32), "every image loses exactly half its pixels"


def test_random_mask_probability_masks_about_that_share_of_images():
    y = RandomHalfFaceMask(probability=0.5, seed=4)(ones(4, 4, batch=400), training=True).numpy()
    share = (y.reshape(400, -1).min(axis=1) == 0).mean()
    assert 0.4 < share < 0.6, f"masked share {share:.2f} far from probability 0.5"


def test_random_mask_same_seed_same_masks_and_works_unbatched():
    x = ones(batch=8)
    first = RandomHalfFaceMask(seed=9)(x, training=True).numpy()
    second = RandomHalfFaceMask(seed=9)(x, training=True).numpy()
    assert np.array_equal(first, second)
    single = RandomHalfFaceMask(probability=1.0, seed=9)(np.ones((4, 4, 1), "float32"), training=True)
    assert single.shape == (4, 4, 1) and float(np.asarray(single).sum()) == 8


@pytest.mark.parametrize("kwargs, problem", [
    (dict(regions=()), "non-empty"), (dict(regions=("upper", "upper")), "repeats"),
    (dict(regions=("middle",)), "middle"), (dict(probability=1.5), "probability"),
])
def test_random_mask_rejects_bad_arguments(kwargs, problem):
    with pytest.raises(ValueError, match=problem):
        RandomHalfFaceMask(**kwargs)
