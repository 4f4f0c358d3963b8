"""Typed experiment configs read from YAML, with clear errors for typos and bad values.

A config has five sections (``data``, ``split``, ``augment``, ``model``, ``train``) plus a
``name`` and ``seed``, and optionally ``tune`` (a search for ``ferkit tune``).
``load_config(path, overrides=["train.epochs=5"])`` applies ``--set``-style overrides (values
parsed as YAML) before validation.
"""
from __future__ import annotations

import dataclasses
import types
import typing
from pathlib import Path
from typing import Any, Literal, Sequence

import yaml

from ferkit.data.augment import AugmentConfig
from ferkit.errors import ConfigError


@dataclasses.dataclass
class SyntheticDataConfig:
    """Synthetic data generated in ``data.source``'s format when ``data.path`` is empty.

    CK+ uses ``subjects`` x ``sequences_per_subject`` x ``frames_per_sequence``; FER2013/FER+
    write ``images`` rows; class folders write ``images // len(classes)`` per class, drawing
    for each folder the synthetic emotion ``classes`` maps it to.
    """

    subjects: int = 60
    sequences_per_subject: int = 7
    frames_per_sequence: int = 6
    layout: Literal["full", "ck48"] = "full"
    images: int = 1200
    classes: dict[str, str] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass
class DataConfig:
    """Where the images come from and how labels are encoded.

    ``source`` picks the loader: ``ckplus`` (full tree or CK+48), ``fer2013`` (CSV),
    ``ferplus`` (FER2013 CSV + ``fer2013new.csv`` in the same folder), ``folders`` (class
    folders), ``filenames`` (labels and attributes parsed from file names with ``template``)
    or ``manifest`` (a CSV of paths and labels). For ``fer2013``, ``ferplus_mix`` blends the
    FER+ votes into the FER2013 labels, while ``ferplus_aux`` keeps the labels and adds the
    votes as a second target (a ``ferplus`` head; the model must have one, e.g. ``fer_recipe``).
    """

    source: Literal["ckplus", "fer2013", "ferplus", "folders", "filenames", "manifest"] = "ckplus"
    path: str | None = None
    labels: Literal["ckplus7", "ckplus8", "3way"] = "ckplus7"
    aus: str | list[int] = "auto"
    min_au_count: int = 10
    n_peak: int = 3
    ferplus_mode: Literal["majority", "probability", "crossentropy", "multi_target"] = "majority"
    ferplus_rules: str | None = None
    ferplus_mix: float = 0.0
    ferplus_aux: bool = False
    label_map: dict[str, str | None] | None = None
    classes: list[str] | None = None
    limit_per_class: int | None = None
    template: str = "{expression}_{race}_{gender}_{index}"
    image_size: list[int] = dataclasses.field(default_factory=lambda: [48, 48])
    channels: Literal[1, 3] = 1
    synthetic: SyntheticDataConfig = dataclasses.field(default_factory=SyntheticDataConfig)

    def __post_init__(self):
        if not 0.0 <= self.ferplus_mix <= 1.0:
            raise ValueError(f"data.ferplus_mix must be in [0, 1], got {self.ferplus_mix}")
        if self.ferplus_mix and self.source != "fer2013":
            raise ValueError("data.ferplus_mix mixes FER+ votes into FER2013 labels; it needs "
                             f"source 'fer2013', not {self.source!r}")
        if self.ferplus_aux and self.source != "fer2013":
            raise ValueError("data.ferplus_aux adds FER+ votes as a second target to FER2013; "
                             f"it needs source 'fer2013', not {self.source!r}")


@dataclasses.dataclass
class SplitConfig:
    """How images are split into train / val / test.

    ``group``: whole ``by`` groups (subjects) per split, class-stratified. ``stratified``:
    per image, class-stratified. ``predefined``: the source's own split (FER2013 ``Usage``,
    split folders); without a test split the run is evaluated on val and says so.
    """

    method: Literal["group", "stratified", "predefined"] = "group"
    by: str = "subject"
    fractions: list[float] = dataclasses.field(default_factory=lambda: [0.6, 0.2, 0.2])


@dataclasses.dataclass
class ModelConfig:
    """A registered model or preset name plus keyword overrides for its builder."""

    name: str = "ckplus_small"
    args: dict[str, Any] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass
class TrainConfig:
    """Optimiser, schedule and loop settings.

    ``weight_decay`` is decoupled decay (AdamW / SGD); L2 penalties are model arguments
    (``model.args.l2``). ``schedule``: ``constant``, ``step`` (x ``gamma`` every ``step_size``
    epochs; seed 003: 0.1 every 5), ``cosine`` (to 0 over ``epochs``) or ``plateau`` (x ``gamma``
    after ``plateau_patience`` epochs without a better ``val_loss``). ``resume`` keeps a backup
    each epoch so a killed run continues where it stopped when started again. ``strategy``:
    ``default``, ``mirrored`` (several GPUs) or ``multi_worker`` (several hosts via
    ``TF_CONFIG``), see :mod:`ferkit.training.distribute`; ``batch_size`` is the global batch.
    ``mixed_precision``: true, false, or ``"auto"`` (bfloat16 only where the hardware has
    bfloat16 units, see :mod:`ferkit.training.precision`). ``ferplus_loss_weight`` weighs the
    ``ferplus`` head's loss (``data.ferplus_aux``). ``ema_momentum`` (e.g. 0.999) keeps an
    exponential moving average of the weights, which validation, the checkpoint and the
    final model use (Polyak averaging; null: off). ``time_budget_minutes`` trains as many
    epochs as fit that many minutes on this machine, at most ``epochs``, measured by a short
    probe before training (:mod:`ferkit.training.budget`; null: exactly ``epochs``).
    ``validate_last_epochs`` validates in only the last that many epochs (null: every epoch),
    so the checkpoint and early stopping choose among those; a budgeted run spends the time
    saved on more epochs. Not with the ``plateau`` schedule, which reads ``val_loss`` every
    epoch.
    """

    epochs: int = 40
    batch_size: int = 32
    learning_rate: float = 1e-3
    optimizer: Literal["adam", "adamw", "sgd"] = "adam"
    momentum: float = 0.9
    weight_decay: float = 0.0
    schedule: Literal["constant", "step", "cosine", "plateau"] = "constant"
    step_size: int = 5
    warmup_epochs: float = 0.0
    gamma: float = 0.1
    plateau_patience: int = 3
    patience: int = 8
    label_smoothing: float = 0.0
    class_weights: Literal["none", "balanced"] = "none"
    au_loss_weight: float = 1.0
    ferplus_loss_weight: float = 1.0
    ema_momentum: float | None = None
    time_budget_minutes: float | None = None
    validate_last_epochs: int | None = None
    mixed_precision: bool | Literal["auto"] = False
    jit_compile: bool = True
    deterministic: bool = False
    tensorboard: bool = False
    resume: bool = True
    verbose: Literal["auto", 0, 1, 2] = "auto"
    strategy: str = "default"

    def __post_init__(self):
        from ferkit.training.distribute import STRATEGIES

        if self.strategy not in STRATEGIES:
            raise ValueError(f"train.strategy {self.strategy!r} is not one of {list(STRATEGIES)}")
        if not 0.0 <= self.warmup_epochs < max(self.epochs, 1):
            raise ValueError(f"train.warmup_epochs must be >= 0 and below train.epochs "
                             f"({self.epochs}), got {self.warmup_epochs}")
        if self.time_budget_minutes is not None and not self.time_budget_minutes > 0:
            raise ValueError(f"train.time_budget_minutes must be positive or null, got "
                             f"{self.time_budget_minutes}")
        if self.validate_last_epochs is not None:
            self._check_validate_last_epochs()
        if self.ema_momentum is not None and not 0.0 < self.ema_momentum < 1.0:
            raise ValueError(f"train.ema_momentum must be in (0, 1) or null, got {self.ema_momentum}")
        if self.warmup_epochs and self.schedule != "cosine":
            raise ValueError("train.warmup_epochs applies to the 'cosine' schedule only, "
                             f"not {self.schedule!r}")

    def _check_validate_last_epochs(self) -> None:
        count = self.validate_last_epochs
        if isinstance(count, bool) or not isinstance(count, int) or count < 1:
            raise ValueError(f"train.validate_last_epochs must be a whole number >= 1 or null, "
                             f"got {count!r}")
        if self.schedule == "plateau":
            raise ValueError("train.validate_last_epochs does not go with the 'plateau' "
                             "schedule, which needs val_loss every epoch")
        if self.time_budget_minutes is not None and self.schedule != "cosine":
            raise ValueError("train.validate_last_epochs with train.time_budget_minutes needs "
                             "the 'cosine' schedule, whose last epoch is known ahead; with "
                             f"{self.schedule!r} the budget may stop at any epoch")


@dataclasses.dataclass
class TuneConfig:
    """A cross-validated hyperparameter search (``ferkit tune``, :mod:`ferkit.tuning`).

    ``tuner``: ``random``, ``bayesian``, ``hyperband`` or ``grid`` (KerasTuner's oracles).
    Every trial trains one model per fold (``folds`` folds grouped by the ``fold_by`` column,
    e.g. subject, or per image when null; ``val_fraction`` of each fold's training part is
    used for early stopping) and scores ``objective`` (e.g. ``val_emotion_accuracy``,
    ``val_au_f1``, ``val_loss``) on the held-out part; the trial's score is the mean over
    folds. ``space`` maps hyperparameter names to specs (see ``ferkit.tuning.space``); left
    out, the model family's default space is searched. ``max_trials`` bounds random,
    Bayesian and grid searches (null: every grid point); Hyperband uses ``max_epochs``,
    ``factor`` and ``hyperband_iterations`` instead.
    """

    tuner: Literal["random", "bayesian", "hyperband", "grid"] = "random"
    objective: str = "val_emotion_accuracy"
    direction: Literal["auto", "max", "min"] = "auto"
    max_trials: int | None = 10
    folds: int = 3
    fold_by: str | None = "subject"
    val_fraction: float = 0.15
    space: dict[str, Any] | None = None
    max_epochs: int = 20
    factor: int = 3
    hyperband_iterations: int = 1
    initial_points: int | None = None
    max_retries_per_trial: int = 0
    max_consecutive_failed_trials: int = 3

    def __post_init__(self):
        from ferkit.tuning.space import parse_space  # plain Python, no KerasTuner import

        if self.folds < 2:
            raise ValueError(f"tune.folds must be at least 2, got {self.folds}")
        if not 0 < self.val_fraction < 1:
            raise ValueError(f"tune.val_fraction must be in (0, 1), got {self.val_fraction}")
        if self.max_trials is not None and self.max_trials < 1:
            raise ValueError(f"tune.max_trials must be >= 1 or null, got {self.max_trials}")
        if self.max_trials is None and self.tuner in ("random", "bayesian"):
            raise ValueError(f"tune.max_trials must be set for the {self.tuner} tuner "
                             "(null means every point only for grid)")
        if not self.objective.startswith("val_"):
            raise ValueError(f"tune.objective {self.objective!r} must be a fold score such as "
                             "val_emotion_accuracy, val_au_f1 or val_loss")
        for name, low in (("max_epochs", 1), ("factor", 2), ("hyperband_iterations", 1),
                          ("max_retries_per_trial", 0), ("max_consecutive_failed_trials", 1)):
            if getattr(self, name) < low:
                raise ValueError(f"tune.{name} must be >= {low}, got {getattr(self, name)}")
        if self.initial_points is not None and self.initial_points < 1:
            raise ValueError(f"tune.initial_points must be >= 1 or null, got {self.initial_points}")
        if self.space is not None:
            parse_space(self.space, "tune.space")


@dataclasses.dataclass
class Config:
    """One reproducible experiment."""

    name: str = "experiment"
    seed: int = 0
    data: DataConfig = dataclasses.field(default_factory=DataConfig)
    split: SplitConfig = dataclasses.field(default_factory=SplitConfig)
    augment: AugmentConfig | None = dataclasses.field(default_factory=AugmentConfig)
    model: ModelConfig = dataclasses.field(default_factory=ModelConfig)
    train: TrainConfig = dataclasses.field(default_factory=TrainConfig)
    tune: TuneConfig | None = None

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def _type_name(tp) -> str:
    if typing.get_origin(tp) is Literal:
        return "value; choose one of " + ", ".join(repr(a) for a in typing.get_args(tp))
    return getattr(tp, "__name__", None) or str(tp).replace("typing.", "")


def _matches(value, tp) -> bool:
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


def _convert(tp, value, key: str, source: str):
    candidates = [a for a in typing.get_args(tp) if a is not type(None)] if typing.get_origin(tp) in (
        typing.Union, types.UnionType) else [tp]
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
    return key.strip().split("."), yaml.safe_load(raw)


def apply_overrides(raw: dict, overrides: Sequence[str]) -> dict:
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
    if not path.is_file():
        raise ConfigError(f"config file {path} does not exist")
    try:
        raw = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as err:
        raise ConfigError(f"{path}: not valid YAML: {err}") from None
    config = config_from_dict(raw, str(path), overrides)
    rules = config.data.ferplus_rules
    if rules and not Path(rules).is_absolute() and (path.parent / rules).is_file():
        config.data.ferplus_rules = str(path.parent / rules)  # relative to the config file
    return config


def save_config(config: Config, path: str | Path) -> Path:
    path = Path(path)
    path.write_text(yaml.safe_dump(config.to_dict(), sort_keys=False))
    return path
