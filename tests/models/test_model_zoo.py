"""The model zoo: every preset of the seed architectures (seeds 000-003), ``fer_compact`` and
``fer_recipe``, and every model name registered before the builders were renamed."""
import dataclasses

import keras
import numpy as np
import pytest

from ferkit import models
from ferkit.models import (plain_cnn, resblock_grid, resnet50 as resnet50_module,
                           separable_resnet, space_to_depth_cnn, staged_cnn)
from ferkit.models.resblock_grid import grid_name, parse_grid_name, seed002_grid
from ferkit.training import compile_model

ZOO_MODULES = {module.__name__ for module in (plain_cnn, resblock_grid, resnet50_module,
                                                 separable_resnet, space_to_depth_cnn, staged_cnn)}


@dataclasses.dataclass(frozen=True)
class Case:
    """A zoo entry's default contract and a tiny variant of it for fast checks."""

    input_shape: tuple
    classes: int
    flat_features: int | None  # width of the seed's flattened features, where it has one
    tiny: dict
    default_overrides: dict = dataclasses.field(default_factory=dict)


TINY_SEED000 = dict(input_shape=(16, 16, 3), dense_units=8, filters=(4, 4, 8, 8, 8))
TINY_SEED001 = dict(input_shape=(16, 16, 1))
TINY_GRID = dict(input_shape=(12, 12, 1), pool_size=3, fc_units=8)
CASES = {
    "seed000_main": Case((96, 96, 3), 4, 128 * 12 * 12, TINY_SEED000),
    "seed000_variant1": Case((96, 96, 3), 4, 128 * 12 * 12,
                             {**TINY_SEED000, "filters": (4, 8, 8, 8)}),
    "seed000_variant2": Case((96, 96, 3), 4, 128 * 12 * 12, TINY_SEED000),
    "seed001_main": Case((48, 48, 1), 4, 64 * 6 * 6, TINY_SEED001),
    "seed001_main_wide": Case((48, 48, 1), 4, 128 * 6 * 6, TINY_SEED001),
    "seed001_variant1": Case((48, 48, 1), 4, 32 * 12 * 12, TINY_SEED001),
    "seed001_variant2": Case((48, 48, 1), 4, 16 * 24 * 24, TINY_SEED001),
    "fer_compact": Case((48, 48, 1), 7, None, dict(input_shape=(16, 16, 1), stem_filters=4,
                                                   widths=(8,), depths=(1,))),
    "fer_recipe": Case((48, 48, 1), 7, None, dict(input_shape=(16, 16, 1), widths=(8, 8),
                                                  depths=(1, 1))),
    "fer_fast": Case((48, 48, 1), 7, None, dict(input_shape=(16, 16, 1), widths=(8, 8),
                                                depths=(1, 1))),
    # The seed's FC layers are channels*20*20 wide (41-328 M parameters): checked once below.
    "seed002_resnet": Case((48, 48, 1), 4, 16 * 20 * 20,
                           {**TINY_GRID, "channels": 4, "num_blocks": 2}, dict(fc_units=8)),
    # Tiny grid presets keep their kernel, channels and FC layers but only the input ResBlock;
    # the full depth is built at 48x48 by the default-contract test.
    **{name: Case((48, 48, 1), 4, parse_grid_name(name).channels * 400,
                  {**TINY_GRID, "num_blocks": 1}, dict(fc_units=8)) for name in seed002_grid()},
}
#: ``ferkit models`` before the builders were named by architecture: configs, examples and saved
#: runs use these names, so each must still resolve and build the same network.
PRE_RENAME_NAMES = [
    "B16_N4_FC1_K3", "B16_N4_FC1_K5", "B16_N4_FC1_K7", "B16_N8_FC2_K3", "B16_N8_FC2_K5",
    "B16_N8_FC2_K7", "B32_N4_FC1_K3", "B32_N4_FC1_K5", "B32_N4_FC1_K7", "B32_N8_FC2_K3",
    "B32_N8_FC2_K5", "B32_N8_FC2_K7", "ckplus_small", "fer_compact", "fer_recipe",
    "multitask_resnet", "seed000_main", "seed000_variant1", "seed000_variant2", "seed001_main",
    "seed001_main_wide", "seed001_variant1", "seed001_variant2", "seed002_resnet",
    "seed003_resnet50", "seed004_resnet",
]
TINY_MULTITASK = dict(input_shape=(16, 16, 1), filters=(4, 8), blocks=(1, 1), stem_filters=4)
REPORT_TABLE = ["B16_N4_FC1_K3", "B32_N4_FC1_K3", "B16_N8_FC2_K3", "B32_N8_FC2_K3",
                "B16_N4_FC1_K5", "B32_N4_FC1_K5", "B16_N8_FC2_K5", "B32_N8_FC2_K5",
                "B16_N4_FC1_K7", "B32_N4_FC1_K7", "B16_N8_FC2_K7", "B32_N8_FC2_K7"]


def _images(shape, n=2, seed=0):
    return np.random.default_rng(seed).random((n, *shape)).astype("float32")


def _zoo_names():
    """Every preset whose builder lives in one of the zoo modules."""
    return {name for name in models.presets()
            if models.builder_of(name).__module__ in ZOO_MODULES}


@pytest.fixture(scope="module")
def resnet50():
    """Seed 003's ResNet50 at its defaults (48x48x1, 7 classes), built once."""
    keras.utils.set_random_seed(0)
    return models.build("seed003_resnet50")


def test_every_zoo_name_has_a_case():
    assert _zoo_names() == set(CASES) | {"seed003_resnet50"}


def _keras_name(name: str) -> str:
    """The Keras model name a pre-rename name gave its tiny build (saved runs record it)."""
    if name in seed002_grid():  # the tiny case keeps only the input ResBlock
        config = parse_grid_name(name)
        return "seed002_" + grid_name(config.kernel_size, config.channels, 1, config.fc_layers)
    return {"seed002_resnet": "seed002_B4_N2_FC2_K5", "seed001_main_wide": "seed001_main",
            "ckplus_small": "multitask_resnet", "seed004_resnet": "multitask_resnet"}.get(name, name)


def test_every_pre_rename_name_still_resolves_and_builds(resnet50):
    missing = sorted(set(PRE_RENAME_NAMES) - set(models.available()))
    assert not missing, f"model names no longer registered: {missing}"
    for name in PRE_RENAME_NAMES:
        if name == "seed003_resnet50":
            model = resnet50  # built once, at its defaults, by the fixture
        else:
            model = models.build(name, **CASES[name].tiny if name in CASES else TINY_MULTITASK)
        assert "emotion" in model.output, name
        assert model.name == _keras_name(name), name


@pytest.mark.parametrize("name", sorted(CASES))
def test_default_input_and_output_contract(name):
    case = CASES[name]
    model = models.build(name, **case.default_overrides)
    assert tuple(model.input.shape[1:]) == case.input_shape
    assert tuple(model.output["emotion"].shape) == (None, case.classes)
    assert model(_images(case.input_shape, n=1))["emotion"].shape == (1, case.classes)
    if case.flat_features:
        assert model.get_layer("flatten").output.shape[-1] == case.flat_features


def _train(model, x, y, steps, learning_rate=1e-2):
    """Losses of ``steps`` eager train_on_batch calls (tracing would cost more than the steps)."""
    model = compile_model(model, learning_rate, jit_compile=False)
    model.run_eagerly = True
    return [float(model.train_on_batch(x, y, return_dict=True)["loss"]) for _ in range(steps)]


def _round_trip(model, x, path):
    model.save(path)
    again = keras.models.load_model(path)
    np.testing.assert_allclose(again(x)["emotion"], model(x)["emotion"], atol=1e-5)


def _learnable_batch(shape, classes, n=8):
    """Images of class 1 are brighter than those of class 0, so a few steps can fit them."""
    labels = np.arange(n) % 2
    x = 0.5 * _images(shape, n) + 0.5 * labels[:, None, None, None].astype("float32")
    return x, {"emotion": keras.utils.to_categorical(labels, classes)}


@pytest.mark.parametrize("name", sorted(CASES))
def test_tiny_model_trains_and_round_trips_to_identical_outputs(name, tmp_path):
    keras.utils.set_random_seed(0)
    case = CASES[name]
    model = models.build(name, **case.tiny)
    x, y = _learnable_batch(case.tiny["input_shape"], case.classes)
    losses = _train(model, x, y, steps=4)
    assert losses[-1] < losses[0], losses
    _round_trip(model, x, tmp_path / "m.keras")


def test_seed002_default_fc_layers_are_as_wide_as_the_pooled_features():
    model = models.build("B16_N4_FC1_K3")
    assert model.get_layer("fc1").units == 16 * 20 * 20
    assert model.count_params() == 41_008_788


def test_seed002_first_block_adds_the_grey_input_to_every_channel():
    model = models.build("seed002_resnet", **CASES["seed002_resnet"].tiny)
    names = {layer.name for layer in model.layers}
    assert "block1_add" in names and "block1_shortcut_conv" not in names
    assert model.get_layer("block2").shortcut_conv is None


@pytest.mark.parametrize("name", ["seed002_resnet", "fer_compact", "seed000_variant1"])
def test_mixed_precision_keeps_a_float32_softmax(name):
    keras.mixed_precision.set_global_policy("mixed_float16")
    try:
        model = models.build(name, **CASES[name].tiny)
        y = model(_images(CASES[name].tiny["input_shape"], n=1))["emotion"]
    finally:
        keras.mixed_precision.set_global_policy("float32")
    assert y.dtype == "float32" and np.isfinite(y.numpy()).all()


def test_seed002_grid_is_the_report_table():
    assert seed002_grid() == REPORT_TABLE
    assert models.resolve("B32_N8_FC2_K7") == (
        "resblock_grid", dict(kernel_size=7, channels=32, num_blocks=8, fc_layers=2,
                              name="seed002_{grid}"))


@pytest.mark.parametrize("name", REPORT_TABLE + ["B16_N8_FC2_K5_AP20", "B64_N2_FC0_K1"])
def test_seed002_names_round_trip(name):
    config = parse_grid_name(name)
    assert grid_name(config.kernel_size, config.channels, config.num_blocks,
                        config.fc_layers, config.pool_size) == name


def test_seed002_bad_names_say_what_is_wrong():
    with pytest.raises(ValueError, match=r"'B16_N8_FC3_K4': kernel size 4 must be odd.*K4, N8_FC3"):
        parse_grid_name("B16_N8_FC3_K4")
    with pytest.raises(ValueError, match=r"does not read as B<channels>_N<blocks>"):
        parse_grid_name("B16-N8-FC2-K5")
    with pytest.raises(ValueError, match="must be odd"):
        grid_name(4, 16, 8, 2)


def test_resnet50_default_contract(resnet50):
    assert tuple(resnet50.input.shape) == (None, 48, 48, 1)
    assert resnet50.get_layer("resnet50").output.shape[1:] == (2, 2, 2048)
    assert resnet50(_images((48, 48, 1), n=1))["emotion"].shape == (1, 7)


def test_resnet50_reloads_local_weights_or_says_why_not(resnet50, tmp_path):
    # (Training and the .keras round trip are checked at 32x32 below.) This test checks
    # weight loading; the tiny models above cover compile_model and saving.
    x = _images((48, 48, 1), n=1)
    before = resnet50(x)["emotion"]
    backbone = resnet50.get_layer("resnet50")
    backbone.save_weights(tmp_path / "backbone.weights.h5")
    stem = backbone.get_layer("conv1_conv")
    stem.kernel.assign(np.zeros(stem.kernel.shape, "float32"))
    assert not np.allclose(resnet50(x)["emotion"], before)
    resnet50_module.load_pretrained(resnet50, backbone, tmp_path / "backbone.weights.h5")
    np.testing.assert_allclose(resnet50(x)["emotion"], before, atol=1e-6)
    unrelated = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)])
    unrelated.save_weights(tmp_path / "t.weights.h5")
    with pytest.raises(ValueError, match="fits neither the ResNet50 backbone nor the whole"):
        resnet50_module.load_pretrained(resnet50, backbone, tmp_path / "t.weights.h5")


def test_resnet50_explains_unusable_arguments(tmp_path):
    with pytest.raises(ValueError, match="at least 32x32 pixels, got 24x24; pass resize_to"):
        models.build("seed003_resnet50", input_shape=(24, 24, 1))
    with pytest.raises(ValueError, match="grey_to_rgb needs a one-channel input"):
        models.build("seed003_resnet50", input_shape=(48, 48, 3), grey_to_rgb=True)
    with pytest.raises(ValueError, match="pooling must be one of"):
        models.build("seed003_resnet50", pooling="mean")
    with pytest.raises(FileNotFoundError, match="nothere.weights.h5 does not exist"):
        models.build("seed003_resnet50", weights_path=tmp_path / "nothere.weights.h5")


def test_resnet50_trains_and_round_trips_to_identical_outputs(tmp_path):
    # At its smallest valid input (32x32) one training step and a .keras round trip stay
    # fast; the layer graph is the same as at 48x48.
    keras.utils.set_random_seed(0)
    model = models.build("seed003_resnet50", input_shape=(32, 32, 1), num_classes=2)
    x, y = _learnable_batch((32, 32, 1), 2)
    # 1e-2 overshoots this deep a network on 8 images on some CPUs (the loss rose 2.2 -> 22).
    losses = _train(model, x, y, steps=4, learning_rate=1e-3)
    assert losses[-1] < losses[0], losses
    _round_trip(model, x, tmp_path / "resnet50.keras")
