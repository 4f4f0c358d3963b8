from pathlib import Path

import pytest

from ferkit.config import ConfigError, config_from_dict, load_config, save_config

# Every experiment config; vote-rule files (``*_rules.yaml``) have their own loader and tests.
CONFIGS = sorted(p for p in (Path(__file__).parents[2] / "configs").glob("*.yaml")
                 if not p.name.endswith("_rules.yaml"))


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.name)
def test_shipped_configs_validate(path):
    assert load_config(path).name


def test_overrides_are_parsed_as_yaml():
    config = config_from_dict({}, overrides=["train.epochs=5", "model.args={filters: [8, 16]}",
                                              "augment.rotation=2.5", "data.path=/x"])
    assert config.train.epochs == 5 and config.model.args == {"filters": [8, 16]}
    assert config.augment.rotation == 2.5 and config.data.path == "/x"


@pytest.mark.parametrize("raw, message", [
    ({"trian": {}}, r"exp.yaml: unknown key\(s\) trian"),
    ({"train": {"epoch": 3}}, r"unknown key\(s\) train.epoch; train accepts \[.*'epochs'"),
    ({"train": {"epochs": "ten"}}, "train.epochs = 'ten' is not a valid int"),
    ({"data": {"labels": "ckplus9"}}, "data.labels = 'ckplus9'.*'ckplus7'"),
    ({"augment": {"rotation": -3}},
     r"augment.rotation = -3.0 is out of range: must be a finite number in \[0, 180\]"),
    ({"split": []}, "'split' must be a mapping of settings, got \\[\\]"),
])
def test_bad_configs_name_the_key(raw, message):
    with pytest.raises(ConfigError, match=message):
        config_from_dict(raw, "exp.yaml")


def test_save_and_load_round_trip(tmp_path):
    config = config_from_dict({"name": "x", "train": {"epochs": 3}, "augment": None})
    again = load_config(save_config(config, tmp_path / "c.yaml"))
    assert again == config


def test_missing_file_and_bad_yaml(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(tmp_path / "nope.yaml")
    (tmp_path / "bad.yaml").write_text("train: [unclosed\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(tmp_path / "bad.yaml")


def test_ferplus_mix_needs_fer2013_and_a_weight_in_range():
    config = config_from_dict({"data": {"source": "fer2013", "ferplus_mix": 0.3}})
    assert config.data.ferplus_mix == 0.3
    with pytest.raises(ConfigError, match=r"\[0, 1\]"):
        config_from_dict({"data": {"source": "fer2013", "ferplus_mix": 2}})
    with pytest.raises(ConfigError, match="needs source 'fer2013'"):
        config_from_dict({"data": {"source": "ckplus", "ferplus_mix": 0.3}})


def test_ferplus_aux_needs_fer2013_and_ema_momentum_a_fraction():
    assert config_from_dict({"data": {"source": "fer2013", "ferplus_aux": True}}).data.ferplus_aux
    with pytest.raises(ConfigError, match="ferplus_aux .* needs source 'fer2013'"):
        config_from_dict({"data": {"source": "ferplus", "ferplus_aux": True}})
    assert config_from_dict({"train": {"ema_momentum": 0.99}}).train.ema_momentum == 0.99
    with pytest.raises(ConfigError, match=r"train.ema_momentum = 1.0 is out of range: "
                                          r"must be a finite number in \(0, 1\)"):
        config_from_dict({"train": {"ema_momentum": 1.0}})
