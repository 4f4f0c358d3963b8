"""Typed experiment configs read from YAML, with clear errors for typos and bad values.

A config has the sections ``data``, ``split``, ``augment``, ``model`` and ``train``, a
``name`` and a ``seed``, and optionally ``tune`` (a search for ``ferkit tune``) and
``evaluate`` (test-time augmentation). ``load_config(path, overrides=["train.epochs=5"])``
applies ``--set``-style overrides (values parsed as YAML) before validation.

The package is pure Python (stdlib, PyYAML, :mod:`ferkit.errors`): reading a config never
loads TensorFlow. ``schema`` holds the dataclasses, ``loading`` the YAML side and ``space``
the search-space specs of ``tune.space``.
"""
from __future__ import annotations

from ferkit.config.loading import (
    apply_overrides, config_from_dict, load_config, parse_override, save_config,
)
from ferkit.config.schema import (
    STRATEGIES, AugmentConfig, Config, DataConfig, EvaluateConfig, ModelConfig, SplitConfig,
    SyntheticDataConfig, TrainConfig, TuneConfig,
)
from ferkit.config.space import HpSpec, parse_space, parse_spec, space_to_dict
from ferkit.errors import ConfigError

__all__ = [
    "AugmentConfig", "Config", "ConfigError", "DataConfig", "EvaluateConfig", "HpSpec",
    "ModelConfig", "STRATEGIES", "SplitConfig", "SyntheticDataConfig", "TrainConfig",
    "TuneConfig", "apply_overrides", "config_from_dict", "load_config", "parse_override",
    "parse_space", "parse_spec", "save_config", "space_to_dict",
]
