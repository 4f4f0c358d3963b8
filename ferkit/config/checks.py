"""Range checks shared by the config dataclasses: one line each, one message format.

Every check raises :class:`~ferkit.errors.ConfigError` (a ``ValueError``) whose message names
the dotted key, the value given and what is allowed, e.g.
``train.batch_size = 0 is out of range: must be a whole number >= 1``. The loader adds the
file name in front. Pure Python, so reading a config still loads nothing heavy.
"""
from __future__ import annotations

import dataclasses
import functools
import math
import numbers
import typing
from typing import Any, Iterable, Literal

from ferkit.errors import ConfigError


def is_whole(value: Any) -> bool:
    """An integer of any kind (Python, NumPy), but not a bool."""
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def is_number(value: Any) -> bool:
    """A real number of any kind, but not a bool (``True`` is no count of anything)."""
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _fail(key: str, value: Any, rule: str, optional: bool, *, ranged: bool = True) -> None:
    """Raise the one message format: a number is out of range, anything else is not valid."""
    allowed = rule + (" (or null)" if optional else "")
    problem = "is out of range" if ranged and is_number(value) else "is not valid"
    raise ConfigError(f"{key} = {value!r} {problem}: must be {allowed}")


def whole(key: str, value: Any, *, min: int | None = None, max: int | None = None,
          optional: bool = False, unit: str = "") -> None:
    """``value`` is a whole number (not a bool) in ``[min, max]``; None passes if ``optional``."""
    if optional and value is None:
        return
    rule = f"a whole number{unit}"
    if min is not None and max is not None:
        rule += f" from {min} to {max}"
    elif min is not None or max is not None:
        rule += f" >= {min}" if min is not None else f" <= {max}"
    inside = is_whole(value) and (min is None or value >= min) and (max is None or value <= max)
    if not inside:
        _fail(key, value, rule, optional)


def number(key: str, value: Any, *, low: float | None = None, high: float | None = None,
           low_open: bool = False, high_open: bool = False, optional: bool = False) -> None:
    """``value`` is a finite number (not a bool) between ``low`` and ``high``.

    ``low_open`` / ``high_open`` exclude the bound itself; None passes if ``optional``.
    """
    if optional and value is None:
        return
    rule = "a finite number " + _interval(low, high, low_open, high_open)
    inside = (is_number(value) and math.isfinite(value)
              and (low is None or value > low or (value == low and not low_open))
              and (high is None or value < high or (value == high and not high_open)))
    if not inside:
        _fail(key, value, rule.rstrip(), optional)


def _interval(low, high, low_open: bool, high_open: bool) -> str:
    """``"in [0, 1)"``, ``"> 0"``, ``"<= 180"`` or ``""`` for no bounds."""
    if low is not None and high is not None:
        return f"in {'(' if low_open else '['}{low:g}, {high:g}{')' if high_open else ']'}"
    if low is not None:
        return f"{'>' if low_open else '>='} {low:g}"
    if high is not None:
        return f"{'<' if high_open else '<='} {high:g}"
    return ""


def choice(key: str, value: Any, allowed: Iterable[Any]) -> None:
    """``value`` is one of ``allowed`` (a bool never stands in for 0 or 1)."""
    allowed = list(allowed)
    ok = any(value == option and isinstance(value, bool) == isinstance(option, bool)
             for option in allowed)
    if not ok:
        raise ConfigError(f"{key} {value!r} is not one of {allowed}")


def text(key: str, value: Any, *, optional: bool = False) -> None:
    """``value`` is a non-empty string; None passes if ``optional``."""
    if optional and value is None:
        return
    if not isinstance(value, str) or not value.strip():
        _fail(key, value, "a non-empty text", optional, ranged=False)


def names(key: str, value: Any, *, optional: bool = False) -> None:
    """``value`` is a non-empty list of distinct non-empty strings (class names)."""
    if optional and value is None:
        return
    if isinstance(value, (str, bytes)) or not isinstance(value, (list, tuple)) or not value:
        _fail(key, value, "a non-empty list of names", optional, ranged=False)
    for name in value:
        text(f"{key} entry", name)
    repeated = sorted({name for name in value if list(value).count(name) > 1})
    if repeated:
        raise ConfigError(f"{key} = {list(value)!r} is not valid: {repeated} appear more than "
                          "once; list each name once")


@functools.cache
def _literal_fields(cls: type) -> tuple[tuple[str, tuple], ...]:
    """``(field, allowed values)`` for each field of ``cls`` typed as a plain ``Literal``."""
    hints = typing.get_type_hints(cls)
    return tuple((field.name, typing.get_args(hints[field.name]))
                 for field in dataclasses.fields(cls)
                 if typing.get_origin(hints[field.name]) is Literal)


def literals(section: Any, prefix: str) -> None:
    """Every ``Literal``-typed field of the dataclass ``section`` holds one of its values,
    so a config built in code is checked as one read from YAML is."""
    for name, allowed in _literal_fields(type(section)):
        choice(f"{prefix}.{name}", getattr(section, name), allowed)


__all__ = ["choice", "is_number", "is_whole", "literals", "names", "number", "text", "whole"]
