"""Model registry: builders registered by name, plus named presets of their arguments.

``build("multitask_resnet", num_classes=7)`` calls a builder; ``build("ckplus_small")``
calls the builder a preset names with the preset's arguments (any keyword overrides them,
``name`` included: it names the Keras model).
"""
from __future__ import annotations

import dataclasses
from typing import Any, Callable

import keras

Builder = Callable[..., keras.Model]

_BUILDERS: dict[str, Builder] = {}
_PRESETS: dict[str, "Preset"] = {}


@dataclasses.dataclass(frozen=True)
class Preset:
    """A builder name with fixed arguments and a one-line description."""

    builder: str
    kwargs: dict[str, Any]
    description: str


def register(name: str) -> Callable[[Builder], Builder]:
    """Decorator that registers a model builder under ``name``."""

    def wrap(builder: Builder) -> Builder:
        if name in _BUILDERS or name in _PRESETS:
            raise ValueError(f"model name {name!r} is already registered")
        _BUILDERS[name] = builder
        return builder

    return wrap


def register_preset(name: str, builder: str, description: str, /, **kwargs) -> None:
    """Register ``name`` as ``builder`` called with ``kwargs``."""
    if name in _BUILDERS or name in _PRESETS:
        raise ValueError(f"model name {name!r} is already registered")
    if builder not in _BUILDERS:
        raise ValueError(f"preset {name!r} names unknown builder {builder!r}")
    _PRESETS[name] = Preset(builder, dict(kwargs), description)


def available() -> list[str]:
    """All builder and preset names, sorted."""
    return sorted([*_BUILDERS, *_PRESETS])


def builders() -> list[str]:
    """The architecture builders' names, sorted."""
    return sorted(_BUILDERS)


def presets() -> dict[str, Preset]:
    """Preset name -> its builder, arguments and description, sorted by name."""
    return dict(sorted(_PRESETS.items()))


def builder_of(name: str) -> Builder:
    """The builder function that ``build(name)`` calls, for a builder or a preset name."""
    return _BUILDERS[resolve(name)[0]]


def describe() -> dict[str, str]:
    """Name -> first docstring line (builders) or description (presets)."""
    out = {name: (fn.__doc__ or "").strip().splitlines()[0] if fn.__doc__ else ""
           for name, fn in _BUILDERS.items()}
    out.update({name: f"{p.description} (preset of {p.builder})" for name, p in _PRESETS.items()})
    return dict(sorted(out.items()))


def resolve(name: str, /, **overrides) -> tuple[str, dict[str, Any]]:
    """The builder name and final keyword arguments that ``build(name, **overrides)`` uses."""
    if name in _PRESETS:
        preset = _PRESETS[name]
        return preset.builder, {**preset.kwargs, **overrides}
    if name in _BUILDERS:
        return name, dict(overrides)
    raise ValueError(f"unknown model {name!r}; available: {', '.join(available())}")


def build(name: str, /, **overrides) -> keras.Model:
    """Build a registered model or preset; unknown names list what is available."""
    builder_name, kwargs = resolve(name, **overrides)
    builder = _BUILDERS[builder_name]
    try:
        return builder(**kwargs)
    except TypeError as err:
        raise TypeError(f"model {name!r} ({builder_name}): {err}") from err
