"""Every config value with a valid range is checked when the config is read: a bad value is
a one-line ConfigError naming the key, the value and what is allowed; a boundary value passes."""
import math

import numpy as np
import pytest

from ferkit.config import (
    AugmentConfig, Config, ConfigError, DataConfig, TrainConfig, config_from_dict,
)


def _raw(key: str, value) -> dict:
    """``{"train": {"batch_size": 0}}`` from ``"train.batch_size", 0`` (top-level keys too)."""
    *sections, name = key.split(".")
    raw = node = {}
    for section in sections:
        node = node.setdefault(section, {})
    node[name] = value
    return raw


BAD = [
    ("train.batch_size", 0, "whole number >= 1"),
    ("train.batch_size", -8, "whole number >= 1"),
    ("train.epochs", 0, "whole number >= 1"),
    ("train.epochs", -1, "whole number >= 1"),
    ("train.learning_rate", 0.0, "> 0"),
    ("train.learning_rate", -0.1, "> 0"),
    ("train.learning_rate", math.inf, "finite"),
    ("train.learning_rate", math.nan, "finite"),
    ("train.momentum", 1.0, r"in \[0, 1\)"),
    ("train.momentum", -0.5, r"in \[0, 1\)"),
    ("train.weight_decay", -1e-4, ">= 0"),
    ("train.gamma", 0.0, r"in \(0, 1\)"),
    ("train.gamma", 1.5, r"in \(0, 1\)"),
    ("train.step_size", 0, ">= 1"),
    ("train.patience", -1, ">= 0"),
    ("train.plateau_patience", -2, ">= 0"),
    ("train.label_smoothing", 1.0, r"in \[0, 1\)"),
    ("train.label_smoothing", -0.1, r"in \[0, 1\)"),
    ("train.au_loss_weight", -1.0, ">= 0"),
    ("train.ferplus_loss_weight", -1.0, ">= 0"),
    ("train.distill_weight", 1.5, r"in \[0, 1\]"),
    ("train.time_budget_minutes", 0.0, "> 0"),
    ("train.ema_momentum", 0.0, r"in \(0, 1\)"),
    ("train.warmup_epochs", -1.0, ">= 0"),
    ("data.image_size", [4, 48], "two whole numbers >= 8"),
    ("data.image_size", [48], "two whole numbers >= 8"),
    ("data.image_size", [48, 48, 3], "two whole numbers >= 8"),
    ("data.n_peak", 0, ">= 1"),
    ("data.min_au_count", 0, ">= 1"),
    ("data.limit_per_class", 0, ">= 1"),
    ("data.ferplus_mix", 1.5, r"in \[0, 1\]"),
    ("data.classes", [], "non-empty list"),
    ("data.classes", ["happy", "sad", "happy"], "'happy'.*more than once"),
    ("data.classes", ["happy", ""], "non-empty text"),
    ("data.label_map", {}, "at least one"),
    ("data.aus", [12, 12], "more than once"),
    ("data.aus", [0], ">= 1"),
    ("data.synthetic.images", 0, ">= 1"),
    ("data.synthetic.subjects", 0, ">= 1"),
    ("data.synthetic.frames_per_sequence", 0, ">= 1"),
    ("split.fractions", [0.6, 0.2, 0.3], "sum to 1"),
    ("split.fractions", [0.8, 0.2, 0.0], "> 0"),
    ("split.fractions", [0.5, 0.5], "three numbers"),
    ("split.val_fraction", 1.0, "0 < val_fraction < 1"),
    ("augment.rotation", 200.0, r"in \[0, 180\]"),
    ("augment.shift", 1.5, r"in \[0, 1\]"),
    ("augment.zoom", 1.0, r"in \[0, 1\)"),
    ("augment.brightness", -0.2, r"in \[0, 1\]"),
    ("augment.contrast", 2.0, r"in \[0, 1\]"),
    ("augment.erasing", 1.5, r"in \[0, 1\]"),
    ("tune.folds", 1, ">= 2"),
    ("tune.max_trials", 0, ">= 1"),
    ("tune.val_fraction", 0.0, r"in \(0, 1\)"),
    ("tune.max_epochs", 0, ">= 1"),
    ("tune.factor", 1, ">= 2"),
    ("tune.initial_points", 0, ">= 1"),
    ("tune.max_retries_per_trial", -1, ">= 0"),
    ("evaluate.shift_tta", -2, ">= 0"),
    ("seed", -1, "from 0 to"),
    ("model.name", "", "non-empty text"),
    ("name", " ", "non-empty text"),
]


@pytest.mark.parametrize("key, value, allowed", BAD, ids=[f"{k}={v}" for k, v, _ in BAD])
def test_a_value_out_of_range_names_the_key_the_value_and_the_range(key, value, allowed):
    with pytest.raises(ConfigError, match=allowed) as caught:
        config_from_dict(_raw(key, value), "exp.yaml")
    message = str(caught.value)
    assert message.startswith(f"exp.yaml: {key}") and "\n" not in message, message
    if not isinstance(value, (list, dict)):
        assert f"= {value!r}" in message, message


GOOD = [
    ("train.batch_size", 1), ("train.epochs", 1), ("train.learning_rate", 1e-9),
    ("train.momentum", 0.0), ("train.momentum", 0.999), ("train.weight_decay", 0.0),
    ("train.gamma", 0.999), ("train.step_size", 1), ("train.patience", 0),
    ("train.plateau_patience", 0), ("train.label_smoothing", 0.0),
    ("train.label_smoothing", 0.99), ("train.distill_weight", 0.0),
    ("train.distill_weight", 1.0), ("train.au_loss_weight", 0.0),
    ("data.image_size", [8, 8]), ("data.image_size", [48, 64]), ("data.n_peak", 1),
    ("data.min_au_count", 1), ("data.limit_per_class", 1), ("data.ferplus_mix", 0.0),
    ("data.classes", ["happy"]), ("data.aus", [1, 12]), ("data.synthetic.images", 1),
    ("split.fractions", [0.7, 0.15, 0.15]), ("split.fractions", [0.1, 0.1, 0.8]),
    ("augment.rotation", 180.0), ("augment.rotation", 0), ("augment.shift", 1.0),
    ("augment.zoom", 0.99), ("augment.erasing", 1.0), ("augment.contrast", 1.0),
    ("tune.folds", 2), ("tune.max_trials", 1), ("tune.factor", 2),
    ("tune.max_retries_per_trial", 0), ("evaluate.shift_tta", 0),
    ("seed", 0), ("seed", 2**32 - 1),
]


@pytest.mark.parametrize("key, value", GOOD, ids=[f"{k}={v}" for k, v in GOOD])
def test_a_boundary_value_is_accepted(key, value):
    config = config_from_dict(_raw(key, value))
    node = config
    for part in key.split("."):
        node = getattr(node, part)
    assert node == value


@pytest.mark.parametrize("override, key", [
    ("train.batch_size=0", "train.batch_size = 0 is out of range"),
    ("train.epochs=-1", "train.epochs = -1 is out of range"),
    ("train.learning_rate=0", "train.learning_rate = 0.0 is out of range"),
    ("train.learning_rate=0.001", None),
    ("train.momentum=.nan", "train.momentum = nan is out of range"),
    ("train.batch_size='8'", "train.batch_size = '8' is not a valid int"),
    ("train.epochs=2.5", "train.epochs = 2.5 is not a valid int"),
    ("train.epochs=true", "train.epochs = True is not a valid int"),
])
def test_set_values_parsed_as_strings_ints_or_floats_are_checked(override, key):
    if key is None:
        assert config_from_dict({}, overrides=[override]).train.learning_rate == 1e-3
        return
    with pytest.raises(ConfigError, match=key):
        config_from_dict({}, "exp.yaml", overrides=[override])


@pytest.mark.parametrize("build, message", [
    (lambda: TrainConfig(optimizer="adagrad"), r"train.optimizer 'adagrad' is not one of"),
    (lambda: TrainConfig(verbose=True), r"train.verbose True is not one of"),
    (lambda: TrainConfig(mixed_precision="yes"), r"train.mixed_precision 'yes' is not one of"),
    (lambda: DataConfig(channels=2), r"data.channels 2 is not one of \[1, 3\]"),
    (lambda: DataConfig(on_unreadable="ignore"), r"data.on_unreadable 'ignore' is not one of"),
    (lambda: TrainConfig(batch_size=True), r"train.batch_size = True is not valid"),
    (lambda: TrainConfig(epochs=2.0), r"train.epochs = 2.0 is out of range: must be a whole"),
    (lambda: AugmentConfig(shift="0.1"), r"augment.shift = '0.1' is not valid"),
])
def test_sections_built_in_code_are_checked_like_yaml(build, message):
    with pytest.raises(ConfigError, match=message):
        build()


def test_config_error_is_still_a_value_error():
    assert issubclass(ConfigError, ValueError)
    with pytest.raises(ValueError, match="train.batch_size"):
        TrainConfig(batch_size=0)


def test_a_tta_shift_must_stay_inside_the_image():
    raw = {"data": {"image_size": [16, 24]}, "evaluate": {"shift_tta": 16}}
    with pytest.raises(ConfigError, match=r"evaluate.shift_tta = 16 is out of range: .*below "
                                          r"the image side \(16 for data.image_size \[16, 24\]\)"):
        config_from_dict(raw)
    raw["evaluate"]["shift_tta"] = 15
    assert config_from_dict(raw).evaluate.shift_tta == 15


def test_label_map_classes_must_be_listed_in_classes():
    raw = {"data": {"source": "folders", "classes": ["Angry", "Happy"],
                    "label_map": {"angry": "Angry", "happy": "Happy", "sad": "Sadd"}}}
    with pytest.raises(ConfigError, match=r"data.label_map.sad = 'Sadd' is not one of "
                                          r"data.classes \['Angry', 'Happy'\]"):
        config_from_dict(raw)
    raw["data"]["label_map"]["sad"] = None  # excluded: fine
    assert config_from_dict(raw).data.label_map["sad"] is None


def test_numpy_numbers_from_a_tuner_pass_the_checks():
    train = TrainConfig(batch_size=np.int64(16), learning_rate=np.float64(0.01))
    assert train.batch_size == 16
    assert Config(train=train).train.learning_rate == 0.01
