"""Search-space specs: one YAML mapping per hyperparameter, checked, then declared on KerasTuner.

A ``tune.space`` entry looks like::

    l2:            {type: float, min: 1.0e-5, max: 0.1, sampling: log}
    filters:       {type: choice, values: [16, 32, 64]}
    blocks:        {type: int, min: 1, max: 3}
    epochs:        {type: int, min: 10, max: 40, step: 10}
    augment:       {type: bool}

``int`` / ``float`` take ``min``, ``max`` and optional ``step`` and ``sampling`` (``linear``,
``log``, ``reverse_log``; with ``log`` a ``step`` is a factor: ``min: 1e-5, max: 1e-1, step: 10``
gives five values). ``choice`` takes ``values``; every type takes an optional ``default`` (the
first trial of a grid or Bayesian search starts from the defaults).

This module is plain Python (no Keras import), so :mod:`ferkit.config` can validate a space
while reading a YAML file; :mod:`ferkit.tuning` declares the specs on KerasTuner's
``HyperParameters`` (:meth:`HpSpec.declare` takes that object, so nothing here imports it).
"""
from __future__ import annotations

import dataclasses
import numbers
from typing import Any, Mapping

HP_TYPES: tuple[str, ...] = ("int", "float", "choice", "bool")
SAMPLINGS: tuple[str, ...] = ("linear", "log", "reverse_log")
_KEYS = {
    "int": {"type", "min", "max", "step", "sampling", "default"},
    "float": {"type", "min", "max", "step", "sampling", "default"},
    "choice": {"type", "values", "default"},
    "bool": {"type", "default"},
}


def _is_number(value) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _is_int(value) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


@dataclasses.dataclass(frozen=True)
class HpSpec:
    """One hyperparameter: its name, type and range or choices (see the module docstring)."""

    name: str
    type: str
    min: float | None = None
    max: float | None = None
    step: float | None = None
    sampling: str = "linear"
    values: tuple = ()
    default: Any = None

    @property
    def value_kind(self) -> str:
        """What values it yields: ``int``, ``float``, ``str`` or ``bool``."""
        if self.type in ("int", "float", "bool"):
            return self.type
        if all(isinstance(v, bool) for v in self.values):
            return "bool"
        if all(_is_int(v) for v in self.values):
            return "int"
        if all(_is_number(v) for v in self.values):
            return "float"
        return "str"

    def declare(self, hp) -> Any:
        """Register this hyperparameter on a ``keras_tuner.HyperParameters`` and return its value."""
        if self.type == "int":
            return hp.Int(self.name, int(self.min), int(self.max),
                          step=None if self.step is None else int(self.step),
                          sampling=self.sampling, default=self.default)
        if self.type == "float":
            return hp.Float(self.name, float(self.min), float(self.max), step=self.step,
                            sampling=self.sampling, default=self.default)
        if self.type == "choice":
            return hp.Choice(self.name, list(self.values), default=self.default)
        return hp.Boolean(self.name, default=bool(self.default))

    def to_dict(self) -> dict[str, Any]:
        """The YAML form this spec was read from (unset keys left out)."""
        out: dict[str, Any] = {"type": self.type}
        if self.type in ("int", "float"):
            out.update(min=self.min, max=self.max)
            if self.step is not None:
                out["step"] = self.step
            if self.sampling != "linear":
                out["sampling"] = self.sampling
        if self.type == "choice":
            out["values"] = list(self.values)
        if self.default is not None:
            out["default"] = self.default
        return out

    def describe(self) -> str:
        """A short human form, e.g. ``float 1e-05..0.1 (log)`` or ``choice [16, 32]``."""
        if self.type == "choice":
            return f"choice {list(self.values)}"
        if self.type == "bool":
            return "bool"
        step = f" step {self.step:g}" if self.step is not None else ""
        sampling = f" ({self.sampling})" if self.sampling != "linear" else ""
        return f"{self.type} {self.min:g}..{self.max:g}{step}{sampling}"


def _check_range(name: str, raw: Mapping, where: str) -> None:
    kind = raw["type"]
    check = _is_int if kind == "int" else _is_number
    for key in ("min", "max"):
        if key not in raw:
            raise ValueError(f"{where}.{name}: a {kind} hyperparameter needs '{key}'")
        if not check(raw[key]):
            raise ValueError(f"{where}.{name}.{key} = {raw[key]!r} is not a{'n' if kind == 'int' else ''} "
                             f"{kind}")
    if raw["min"] > raw["max"]:
        raise ValueError(f"{where}.{name}: min {raw['min']} is larger than max {raw['max']}")
    sampling = raw.get("sampling", "linear")
    if sampling not in SAMPLINGS:
        raise ValueError(f"{where}.{name}.sampling = {sampling!r}; choose one of {list(SAMPLINGS)}")
    if sampling != "linear" and raw["min"] <= 0:
        raise ValueError(f"{where}.{name}: {sampling} sampling needs min > 0, got {raw['min']}")
    step = raw.get("step")
    if step is not None:
        if not check(step) or step <= 0:
            raise ValueError(f"{where}.{name}.step = {step!r} must be a positive {kind}")
        if sampling != "linear" and step <= 1:
            raise ValueError(f"{where}.{name}.step = {step!r}: with {sampling} sampling the step "
                             "is a factor and must be > 1 (e.g. 10 for 1e-5, 1e-4, ...)")


def _check_choice(name: str, raw: Mapping, where: str) -> None:
    values = raw.get("values")
    if not isinstance(values, (list, tuple)) or not values:
        raise ValueError(f"{where}.{name}: a choice needs a non-empty list 'values', got {values!r}")
    if not all(isinstance(v, (str, bool, numbers.Real)) for v in values):
        raise ValueError(f"{where}.{name}.values must be numbers, strings or booleans, got {values!r}")
    kinds = {type(v) for v in values}
    if len(kinds) > 1 and not all(_is_number(v) for v in values):
        raise ValueError(f"{where}.{name}.values mixes types ({values!r}); use one type")
    if len(set(values)) != len(values):
        raise ValueError(f"{where}.{name}.values has duplicates: {values!r}")


def _check_default(spec: HpSpec, where: str) -> None:
    default = spec.default
    if default is None:
        return
    if spec.type == "choice" and default not in spec.values:
        raise ValueError(f"{where}.{spec.name}.default {default!r} is not one of {list(spec.values)}")
    if spec.type == "bool" and not isinstance(default, bool):
        raise ValueError(f"{where}.{spec.name}.default must be true or false, got {default!r}")
    if spec.type in ("int", "float"):
        check = _is_int if spec.type == "int" else _is_number
        if not check(default) or not spec.min <= default <= spec.max:
            raise ValueError(f"{where}.{spec.name}.default {default!r} is not a {spec.type} in "
                             f"[{spec.min}, {spec.max}]")


def parse_spec(name: str, raw: Any, where: str = "tune.space") -> HpSpec:
    """Check one ``name: {type: ...}`` entry and return its :class:`HpSpec`."""
    if not isinstance(raw, Mapping):
        raise ValueError(f"{where}.{name} must be a mapping like {{type: float, min: 0.0, max: 0.5}}, "
                         f"got {raw!r}")
    kind = raw.get("type")
    if kind not in HP_TYPES:
        raise ValueError(f"{where}.{name}.type = {kind!r}; choose one of {list(HP_TYPES)}")
    unknown = sorted(set(raw) - _KEYS[kind])
    if unknown:
        raise ValueError(f"{where}.{name}: unknown key(s) {unknown} for a {kind} hyperparameter; "
                         f"it accepts {sorted(_KEYS[kind])}")
    if kind in ("int", "float"):
        _check_range(name, raw, where)
        spec = HpSpec(name, kind, raw["min"], raw["max"], raw.get("step"),
                      raw.get("sampling", "linear"), default=raw.get("default"))
    elif kind == "choice":
        _check_choice(name, raw, where)
        spec = HpSpec(name, kind, values=tuple(raw["values"]), default=raw.get("default"))
    else:
        spec = HpSpec(name, kind, default=raw.get("default"))
    _check_default(spec, where)
    return spec


def parse_space(raw: Any, where: str = "tune.space") -> dict[str, HpSpec]:
    """Check a whole ``name -> spec`` mapping; an empty space is an error."""
    if not isinstance(raw, Mapping):
        raise ValueError(f"{where} must be a mapping of hyperparameter name -> spec, got {raw!r}")
    if not raw:
        raise ValueError(f"{where} is empty: name at least one hyperparameter, or leave "
                         f"{where.rsplit('.', 1)[-1]} out to search the model family's default space")
    return {str(name): parse_spec(str(name), spec, where) for name, spec in raw.items()}


def space_to_dict(space: Mapping[str, HpSpec]) -> dict[str, dict]:
    """The YAML form of a parsed space."""
    return {name: spec.to_dict() for name, spec in space.items()}
