"""The model registry: builders by architecture, presets of them, and every pre-rename name."""
import pytest

from ferkit import models


def test_registry_lists_and_builds_presets():
    assert {"multitask_resnet", "seed004_resnet", "ckplus_small"} <= set(models.available())
    builder, kwargs = models.resolve("seed004_resnet")
    assert builder == "multitask_resnet" and kwargs == {}
    small = models.build("ckplus_small", num_classes=7, num_aus=4)
    assert small.get_layer("stage1_block1").filters == 32


def test_unknown_model_lists_available_names():
    with pytest.raises(ValueError, match="unknown model 'resnet9000'; available: .*multitask_resnet"):
        models.build("resnet9000")
    with pytest.raises(TypeError, match="multitask_resnet"):
        models.build("multitask_resnet", filterz=(1,))


#: Each architecture builder and the preset that is exactly its defaults (the seed's network).
DEFAULTS_PRESET = {
    "plain_cnn": "seed000_main", "staged_cnn": "seed001_main", "resblock_grid": "seed002_resnet",
    "resnet50": "seed003_resnet50", "multitask_resnet": "seed004_resnet",
    "space_to_depth_cnn": "fer_recipe", "separable_resnet": "fer_compact",
}


def test_builders_are_named_by_architecture_and_seeds_are_presets():
    assert models.builders() == sorted(DEFAULTS_PRESET)
    assert not set(models.builders()) & set(models.presets())
    assert set(models.available()) == set(models.builders()) | set(models.presets())


@pytest.mark.parametrize("builder, preset", sorted(DEFAULTS_PRESET.items()))
def test_a_builders_defaults_are_its_seed_preset(builder, preset):
    resolved_builder, kwargs = models.resolve(preset)
    assert resolved_builder == builder
    assert set(kwargs) <= {"name"}, f"{preset} changes {builder}'s defaults: {kwargs}"
    assert models.builder_of(preset) is models.builder_of(builder)


def test_presets_describe_their_builder_and_provenance():
    described = models.describe()
    assert described["seed000_variant1"].startswith("Seed 000's variant 1")
    assert described["seed000_variant1"].endswith("(preset of plain_cnn)")
    assert described["B16_N8_FC2_K5"].endswith("(preset of resblock_grid)")
    assert not described["plain_cnn"].lower().startswith("seed")


def test_a_preset_keeps_its_model_name_unless_overridden():
    tiny = dict(input_shape=(16, 16, 1))
    assert models.build("seed001_variant2", **tiny).name == "seed001_variant2"
    assert models.build("seed001_variant2", **tiny, name="mine").name == "mine"
    assert models.build("staged_cnn", **tiny).name == "staged_cnn"


def test_registering_a_taken_name_or_an_unknown_builder_is_an_error():
    with pytest.raises(ValueError, match="'seed000_main' is already registered"):
        models.register_preset("seed000_main", "plain_cnn", "again")
    with pytest.raises(ValueError, match="preset 'x_new' names unknown builder 'no_such_builder'"):
        models.register_preset("x_new", "no_such_builder", "nothing")
    assert "x_new" not in models.available()
