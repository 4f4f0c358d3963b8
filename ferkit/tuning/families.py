"""Model families for tuning: which hyperparameters each family of builders exposes, how their
values become builder arguments, and a default search space per family.

Hyperparameter names are shared where they mean the same thing, so one YAML space reads the
same across families:

- ``filters``: the width of the first stage; later stages double it (seed 004's 64/128/256
  pattern). seed 000 scales its per-layer widths by it; seed 002 uses it as the constant
  channel count.
- ``blocks``: residual blocks per stage (seed 002: ResBlocks in the network).
- ``kernel_size``: convolution kernel (seed 001: the first stage's; later stages grow by 2,
  as the seed's 3/5/7).
- ``dropout``, ``l2`` (kernel L2 penalty, only where the builder takes one), and family
  extras (``fc_layers``, ``fc_units``, ``se_ratio``, ``activation``, ...).
- ``learning_rate``, ``batch_size`` and ``epochs`` belong to training and exist for every
  family (``epochs`` is set by the tuner itself under Hyperband).
"""
from __future__ import annotations

import dataclasses
import inspect
from typing import Any, Callable, Mapping

from ferkit.config.space import HpSpec, parse_space

#: Value kind and inclusive bounds (None: unbounded) of every hyperparameter name.
RULES: dict[str, tuple[str, float | None, float | None]] = {
    "filters": ("int", 1, None), "blocks": ("int", 1, None), "kernel_size": ("int", 1, None),
    "dropout": ("float", 0.0, 0.95), "conv_dropout": ("float", 0.0, 0.95),
    "l2": ("float", 0.0, None), "negative_slope": ("float", 0.0, 1.0),
    "fc_layers": ("int", 0, None), "fc_units": ("int", 1, None), "dense_units": ("int", 1, None),
    "se_ratio": ("float", 0.0, 1.0), "activation": ("str", None, None),
    "pooling": ("str", None, None),
    "learning_rate": ("float", 1e-12, None), "batch_size": ("int", 1, None),
    "epochs": ("int", 1, None),
}
TRAINING_HPS: tuple[str, ...] = ("learning_rate", "batch_size", "epochs")

_LR = {"type": "float", "min": 1e-4, "max": 1e-2, "sampling": "log"}
_L2 = {"type": "float", "min": 1e-5, "max": 1e-1, "sampling": "log"}  # seed 004's range
_DROPOUT = {"type": "float", "min": 0.0, "max": 0.5, "step": 0.1}
_EPOCHS = {"type": "int", "min": 10, "max": 40, "step": 10}


@dataclasses.dataclass(frozen=True)
class Family:
    """Builders that share a search space.

    Attributes:
        name: the family's name (used in messages and the docs).
        builders: registered builder names in the family (presets resolve to these).
        hyperparameters: the model hyperparameters it tunes (training ones come on top).
        default_space: the space searched when ``tune.space`` is left out.
        apply: ``(values, builder_kwargs) -> builder_kwargs`` with the values filled in.
    """

    name: str
    builders: tuple[str, ...]
    hyperparameters: tuple[str, ...]
    default_space: Mapping[str, dict]
    apply: Callable[[dict, dict], dict]

    @property
    def accepted(self) -> tuple[str, ...]:
        """Every hyperparameter name this family accepts."""
        return self.hyperparameters + TRAINING_HPS


def _doubling(base: int, stages: int) -> tuple[int, ...]:
    return tuple(int(base) * 2 ** index for index in range(stages))


def _set(kwargs: dict, values: dict, *names: str) -> None:
    for name in names:
        if name in values:
            kwargs[name] = values[name]


def _apply_multitask(values: dict, kwargs: dict) -> dict:
    stages = len(kwargs["filters"])
    if "filters" in values:
        kwargs.update(filters=_doubling(values["filters"], stages), stem_filters=int(values["filters"]))
    if "blocks" in values:
        kwargs["blocks"] = (int(values["blocks"]),) * stages
    _set(kwargs, values, "kernel_size", "dropout", "l2")
    return kwargs


def _apply_seed001(values: dict, kwargs: dict) -> dict:
    stages = len(kwargs["filters"])
    if "filters" in values:
        kwargs["filters"] = _doubling(values["filters"], stages)
    if "kernel_size" in values:
        kwargs["kernel_sizes"] = tuple(int(values["kernel_size"]) + 2 * i for i in range(stages))
    _set(kwargs, values, "dropout", "conv_dropout", "negative_slope")
    return kwargs


def _apply_seed000(values: dict, kwargs: dict) -> dict:
    widths = list(kwargs["filters"])
    if "filters" in values:
        scale = values["filters"] / widths[0]
        kwargs["filters"] = tuple(max(1, round(w * scale)) for w in widths)
    if "kernel_size" in values:
        kwargs["kernel_sizes"] = (int(values["kernel_size"]),) * len(widths)
    _set(kwargs, values, "dropout", "dense_units", "negative_slope")
    return kwargs


def _apply_seed002(values: dict, kwargs: dict) -> dict:
    if "filters" in values:
        kwargs["channels"] = int(values["filters"])
    if "blocks" in values:
        kwargs["num_blocks"] = int(values["blocks"])
    _set(kwargs, values, "kernel_size", "fc_layers", "fc_units", "dropout", "l2")
    return kwargs


def _set_widths_and_depths(values: dict, kwargs: dict) -> None:
    """``widths`` doubling from ``filters`` and every stage ``blocks`` deep (fer_compact,
    fer_recipe)."""
    stages = len(kwargs["widths"])
    if "filters" in values:
        kwargs["widths"] = _doubling(values["filters"], stages)
    if "blocks" in values:
        kwargs["depths"] = (int(values["blocks"]),) * stages


def _apply_compact(values: dict, kwargs: dict) -> dict:
    _set_widths_and_depths(values, kwargs)
    if "filters" in values:
        kwargs["stem_filters"] = max(8, int(values["filters"]) // 2)
    _set(kwargs, values, "dropout", "l2", "se_ratio", "activation")
    return kwargs


def _apply_recipe(values: dict, kwargs: dict) -> dict:
    _set_widths_and_depths(values, kwargs)
    _set(kwargs, values, "dropout", "l2")
    return kwargs


def _apply_seed003(values: dict, kwargs: dict) -> dict:
    _set(kwargs, values, "dropout", "pooling")
    return kwargs


FAMILIES: dict[str, Family] = {family.name: family for family in (
    Family("multitask_resnet", ("multitask_resnet",),
           ("filters", "blocks", "kernel_size", "dropout", "l2"),
           {"filters": {"type": "choice", "values": [16, 32, 64]},
            "blocks": {"type": "int", "min": 1, "max": 2},
            "kernel_size": {"type": "choice", "values": [3, 5]},
            "dropout": _DROPOUT, "l2": _L2, "learning_rate": _LR,
            "batch_size": {"type": "choice", "values": [16, 32]}, "epochs": _EPOCHS},
           _apply_multitask),
    Family("seed001_cnn", ("staged_cnn",),
           ("filters", "kernel_size", "dropout", "conv_dropout", "negative_slope"),
           {"filters": {"type": "choice", "values": [8, 16, 32]},
            "kernel_size": {"type": "choice", "values": [3, 5]},
            "dropout": _DROPOUT, "conv_dropout": {"type": "float", "min": 0.0, "max": 0.3, "step": 0.1},
            "learning_rate": _LR, "batch_size": {"type": "choice", "values": [32, 64]},
            "epochs": _EPOCHS},
           _apply_seed001),
    Family("seed000_cnn", ("plain_cnn",),
           ("filters", "kernel_size", "dropout", "dense_units", "negative_slope"),
           {"filters": {"type": "choice", "values": [16, 32]},
            "kernel_size": {"type": "choice", "values": [3, 5]},
            "dropout": _DROPOUT, "dense_units": {"type": "choice", "values": [128, 256]},
            "learning_rate": _LR, "batch_size": {"type": "choice", "values": [32, 64]},
            "epochs": _EPOCHS},
           _apply_seed000),
    Family("seed002_resnet", ("resblock_grid",),
           ("filters", "blocks", "kernel_size", "fc_layers", "fc_units", "dropout", "l2"),
           {"filters": {"type": "choice", "values": [16, 32]},
            "blocks": {"type": "int", "min": 2, "max": 8, "step": 2},
            "kernel_size": {"type": "choice", "values": [3, 5, 7]},
            "fc_layers": {"type": "int", "min": 1, "max": 2},
            "fc_units": {"type": "choice", "values": [64, 128, 256]},
            "dropout": _DROPOUT, "l2": _L2, "learning_rate": _LR,
            "batch_size": {"type": "choice", "values": [32, 64]}, "epochs": _EPOCHS},
           _apply_seed002),
    Family("fer_compact", ("separable_resnet",),
           ("filters", "blocks", "dropout", "l2", "se_ratio", "activation"),
           {"filters": {"type": "choice", "values": [32, 64]},
            "blocks": {"type": "int", "min": 1, "max": 2},
            "dropout": _DROPOUT, "l2": _L2,
            "se_ratio": {"type": "choice", "values": [0.0, 0.25]},
            "learning_rate": _LR, "batch_size": {"type": "choice", "values": [32, 64]},
            "epochs": _EPOCHS},
           _apply_compact),
    Family("fer_recipe", ("space_to_depth_cnn",), ("filters", "blocks", "dropout", "l2"),
           {"filters": {"type": "choice", "values": [32, 48, 64]},
            "blocks": {"type": "int", "min": 1, "max": 3},
            "dropout": _DROPOUT, "learning_rate": _LR,
            "batch_size": {"type": "choice", "values": [64, 128]}, "epochs": _EPOCHS},
           _apply_recipe),
    Family("seed003_resnet50", ("resnet50",), ("dropout", "pooling"),
           {"dropout": _DROPOUT, "pooling": {"type": "choice", "values": ["avg", "max"]},
            "learning_rate": {"type": "float", "min": 1e-4, "max": 1e-1, "sampling": "log"},
            "batch_size": {"type": "choice", "values": [32, 64]},
            "epochs": {"type": "int", "min": 5, "max": 20, "step": 5}},
           _apply_seed003),
)}


def family_for(model_name: str) -> Family:
    """The family of a registered model or preset name (``ckplus_small`` -> multitask_resnet)."""
    from ferkit import models

    builder, _ = models.resolve(model_name)
    for family in FAMILIES.values():
        if builder in family.builders:
            return family
    covered = ", ".join(f"{f.name} ({'/'.join(f.builders)})" for f in FAMILIES.values())
    raise ValueError(f"model {model_name!r} (builder {builder!r}) has no tuning family; "
                     f"families: {covered}")


def builder_kwargs(model_name: str, model_args: Mapping[str, Any]) -> tuple[str, dict]:
    """The builder name and its full keyword arguments: signature defaults, then the preset's,
    then ``model_args``."""
    from ferkit import models

    builder, kwargs = models.resolve(model_name, **dict(model_args))
    signature = inspect.signature(models.builder_of(builder))
    full = {name: p.default for name, p in signature.parameters.items()
            if p.default is not inspect.Parameter.empty}
    full.update(kwargs)
    return builder, full


def _check_kind(family: Family, spec: HpSpec, where: str) -> None:
    kind, low, high = RULES[spec.name]
    given = spec.value_kind
    fits = given == kind or (kind == "float" and given == "int")
    if not fits:
        raise ValueError(f"{where}.{spec.name} must give {kind} values for family {family.name!r}, "
                         f"but {spec.describe()} gives {given} values")
    if kind == "str":
        return
    bounds = [spec.min, spec.max] if spec.type in ("int", "float") else list(spec.values)
    outside = [v for v in bounds if (low is not None and v < low) or (high is not None and v > high)]
    if outside:
        limits = f"[{low if low is not None else '-inf'}, {high if high is not None else 'inf'}]"
        raise ValueError(f"{where}.{spec.name}: {outside} outside the allowed range {limits}")


def resolve_space(family: Family, raw: Mapping[str, Any] | None, tuner: str = "random",
                  where: str = "tune.space") -> dict[str, HpSpec]:
    """The checked space: ``raw`` (or the family's default when None) with every name known to
    the family, values of the right kind and in range. Under Hyperband ``epochs`` is the
    tuner's, so the default space drops it and a given one must not name it."""
    if raw is None:
        raw = {k: v for k, v in family.default_space.items()
               if not (tuner == "hyperband" and k == "epochs")}
    space = parse_space(raw, where)
    unknown = [name for name in space if name not in family.accepted]
    if unknown:
        raise ValueError(f"{where}: unknown hyperparameter(s) {unknown} for model family "
                         f"{family.name!r}; it tunes {list(family.accepted)}")
    if tuner == "hyperband" and "epochs" in space:
        raise ValueError(f"{where}.epochs: Hyperband sets each trial's epochs itself (up to "
                         "tune.max_epochs); remove epochs from the space")
    for spec in space.values():
        _check_kind(family, spec, where)
    return space
