"""Reading configs: YAML (a safe loader), ``--set`` overrides, then validation.

``load_config(path, overrides=["train.epochs=5"])`` applies ``--set``-style overrides (values
parsed as YAML) before checking every key and type against :mod:`ferkit.config.schema`, so a
typo or a bad value fails with the file and the key named. The file is read by
:func:`ferkit.runs.read_yaml`: non-UTF-8 bytes, syntax errors (line and column), tags that
would build Python objects (``!!python/object``) and alias bombs raise a
:class:`ConfigError` naming the file, and nothing in the file is ever executed.
"""
from __future__ import annotations

import dataclasses
import types
import typing
from pathlib import Path
from typing import Any, Literal, Sequence

import yaml

from ferkit.config.schema import Config
from ferkit.errors import ConfigError
from ferkit.runs import parse_yaml, read_yaml, write_text_atomic


def _type_name(tp) -> str:
    if typing.get_origin(tp) is Literal:
        return "value; choose one of " + ", ".join(repr(a) for a in typing.get_args(tp))
    return getattr(tp, "__name__", None) or str(tp).replace("typing.", "")


def _matches(value, tp) -> bool:
    """Whether ``value`` (plain YAML data) fits the type hint ``tp``; bools are not numbers."""
    origin = typing.get_origin(tp)
    if tp is Any:
        return True
    if origin is Literal:
        return value in typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        return any(_matches(value, arg) for arg in typing.get_args(tp))
    if tp is type(None):
        return value is None
    if origin in (list, Sequence):
        (item,) = typing.get_args(tp) or (Any,)
        return isinstance(value, (list, tuple)) and all(_matches(v, item) for v in value)
    if origin is dict:
        return isinstance(value, dict)
    if tp is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if tp is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, tp)


def _build(cls, values: Any, where: str, source: str):
    """The dataclass ``cls`` from the mapping ``values``; unknown keys and bad values raise a
    :class:`ConfigError` naming ``source`` and the dotted key."""
    if values is None:
        values = {}
    if not isinstance(values, dict):
        raise ConfigError(f"{source}: '{where}' must be a mapping, got {values!r}")
    hints = typing.get_type_hints(cls)
    fields = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(values) - fields)
    if unknown:
        raise ConfigError(f"{source}: unknown key(s) {', '.join(where + k for k in unknown)}; "
                          f"{where.rstrip('.') or 'top level'} accepts {sorted(fields)}")
    kwargs = {}
    for key, value in values.items():
        kwargs[key] = _convert(hints[key], value, where + key, source)
    try:
        return cls(**kwargs)
    except (TypeError, ValueError) as err:
        raise ConfigError(f"{source}: {err}") from None


def _candidates(tp) -> list:
    """The types a value of ``tp`` may have, ``None`` left out of an optional type."""
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        return [arg for arg in typing.get_args(tp) if arg is not type(None)]
    return [tp]


def _convert(tp, value, key: str, source: str):
    """``value`` checked against ``tp``: a section built into its dataclass, an int widened
    to a float where a float is expected."""
    candidates = _candidates(tp)
    for candidate in candidates:
        if dataclasses.is_dataclass(candidate) and (isinstance(value, dict) or value is None):
            if value is None and type(None) in typing.get_args(tp):
                return None
            return _build(candidate, value, key + ".", source)
    if any(dataclasses.is_dataclass(c) for c in candidates):
        raise ConfigError(f"{source}: '{key}' must be a mapping of settings, got {value!r}")
    if not _matches(value, tp):
        raise ConfigError(f"{source}: {key} = {value!r} is not a valid {_type_name(tp)}")
    if tp is float and isinstance(value, int):
        return float(value)
    return value


def parse_override(text: str) -> tuple[list[str], Any]:
    """``"train.epochs=5"`` -> (["train", "epochs"], 5); the value is parsed as YAML."""
    if "=" not in text:
        raise ConfigError(f"override {text!r} must look like section.key=value")
    key, raw = text.split("=", 1)
    return key.strip().split("."), parse_yaml(raw, f"override {text!r}", ConfigError)


def apply_overrides(raw: dict, overrides: Sequence[str]) -> dict:
    """``raw`` with each ``section.key=value`` override set in place (sections made as
    needed); a path through a non-section value is a :class:`ConfigError`."""
    for text in overrides:
        path, value = parse_override(text)
        node = raw
        for part in path[:-1]:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise ConfigError(f"override {text!r}: {part!r} is not a section")
        node[path[-1]] = value
    return raw


def config_from_dict(raw: dict, source: str = "config", overrides: Sequence[str] = ()) -> Config:
    """Validate a plain dict (e.g. parsed YAML) into a :class:`Config`."""
    raw = apply_overrides(dict(raw or {}), overrides)
    return _build(Config, raw, "", source)


def load_config(path: str | Path, overrides: Sequence[str] = ()) -> Config:
    """Read and validate a YAML config file."""
    path = Path(path)
    if path.is_dir():
        raise ConfigError(f"config file {path} is a folder, not a YAML file")
    if not path.is_file():
        raise ConfigError(f"config file {path} does not exist")
    raw = read_yaml(path, ConfigError)
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: the top level must be a mapping of sections (data:, model:, "
                          f"train:, ...), got a {_yaml_kind(raw)}")
    config = config_from_dict(raw, str(path), overrides)
    rules = config.data.ferplus_rules
    if rules and not Path(rules).is_absolute() and (path.parent / rules).is_file():
        config.data.ferplus_rules = str(path.parent / rules)  # relative to the config file
    return config


def _yaml_kind(value) -> str:
    if isinstance(value, list):
        return "list"
    if isinstance(value, str):
        return f"string ({value[:40]!r})"
    return type(value).__name__


def save_config(config: Config, path: str | Path) -> Path:
    """Write ``config`` as YAML in field order, readable again by :func:`load_config`
    (atomically: a killed run leaves the old file or the new one)."""
    return write_text_atomic(path, yaml.safe_dump(config.to_dict(), sort_keys=False))
