"""The config schema: one dataclass per YAML section, each checking its own values.

Pure Python (stdlib and :mod:`ferkit.config.space` only), so any layer may read a config
without loading TensorFlow. :mod:`ferkit.config.loading` turns YAML into these classes.
"""
from __future__ import annotations

import dataclasses
import math
import numbers
from typing import Any, Literal

from ferkit.config import checks
from ferkit.config.space import parse_space
from ferkit.errors import ConfigError

#: ``train.strategy`` names; :mod:`ferkit.training.distribute` builds the strategy for each.
STRATEGIES: tuple[str, ...] = ("default", "mirrored", "multi_worker")
#: The smallest image side a config may ask for: below it no model's pooling stages fit.
MIN_IMAGE_SIDE = 8


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

    def __post_init__(self):
        checks.literals(self, "data.synthetic")
        for name in ("subjects", "sequences_per_subject", "frames_per_sequence", "images"):
            checks.whole(f"data.synthetic.{name}", getattr(self, name), min=1)
        for folder, emotion in self.classes.items():
            checks.text(f"data.synthetic.classes key", folder)
            checks.text(f"data.synthetic.classes.{folder}", emotion)


@dataclasses.dataclass
class DataConfig:
    """Where the images come from and how labels are encoded.

    ``source`` picks the loader: ``ckplus`` (full tree or CK+48), ``fer2013`` (CSV),
    ``ferplus`` (FER2013 CSV + ``fer2013new.csv`` in the same folder), ``folders`` (class
    folders), ``filenames`` (labels and attributes parsed from file names with ``template``)
    or ``manifest`` (a CSV of paths and labels). For ``fer2013``, ``ferplus_mix`` blends the
    FER+ votes into the FER2013 labels, while ``ferplus_aux`` keeps the labels and adds the
    votes as a second target (a ``ferplus`` head; the model must have one, e.g. ``fer_recipe``).

    ``on_unreadable`` says what an image file that cannot be read (empty, truncated, not an
    image, no read permission) does to the class-folder, file-name, manifest and CK+ loaders:
    ``error`` (the default) stops with the file named; ``skip`` leaves it out, logs how many
    were left out and lists each (path, reason) in the run directory's ``skipped_images.csv``.
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
    on_unreadable: Literal["error", "skip"] = "error"
    synthetic: SyntheticDataConfig = dataclasses.field(default_factory=SyntheticDataConfig)

    def __post_init__(self):
        checks.literals(self, "data")
        checks.text("data.path", self.path, optional=True)
        checks.text("data.ferplus_rules", self.ferplus_rules, optional=True)
        checks.text("data.template", self.template)
        checks.whole("data.min_au_count", self.min_au_count, min=1)
        checks.whole("data.n_peak", self.n_peak, min=1)
        checks.whole("data.limit_per_class", self.limit_per_class, min=1, optional=True)
        checks.number("data.ferplus_mix", self.ferplus_mix, low=0.0, high=1.0)
        checks.names("data.classes", self.classes, optional=True)
        self._check_aus()
        self._check_image_size()
        self._check_label_map()
        if self.ferplus_mix and self.source != "fer2013":
            raise ConfigError("data.ferplus_mix mixes FER+ votes into FER2013 labels; it needs "
                              f"source 'fer2013', not {self.source!r}")
        if self.ferplus_aux and self.source != "fer2013":
            raise ConfigError("data.ferplus_aux adds FER+ votes as a second target to FER2013; "
                              f"it needs source 'fer2013', not {self.source!r}")

    def _check_aus(self) -> None:
        if self.aus == "auto":
            return
        if isinstance(self.aus, str) or not isinstance(self.aus, (list, tuple)) or not self.aus:
            raise ConfigError(f"data.aus = {self.aus!r} is not valid: must be 'auto' or a "
                              "non-empty list of action-unit numbers")
        for au in self.aus:
            checks.whole("data.aus entry", au, min=1)
        if len(set(self.aus)) != len(self.aus):
            raise ConfigError(f"data.aus = {list(self.aus)!r} is not valid: an action unit "
                              "appears more than once")

    def _check_image_size(self) -> None:
        size, rule = self.image_size, f"[height, width], two whole numbers >= {MIN_IMAGE_SIDE}"
        if isinstance(size, (str, bytes)) or not isinstance(size, (list, tuple)) or len(size) != 2:
            raise ConfigError(f"data.image_size = {size!r} is not valid: must be {rule}")
        for side in size:
            if not checks.is_whole(side) or side < MIN_IMAGE_SIDE:
                problem = "is out of range" if checks.is_number(side) else "is not valid"
                raise ConfigError(f"data.image_size = {list(size)!r} {problem}: must be {rule} "
                                  "(smaller images do not fit the models' pooling stages)")
        self.image_size = [int(side) for side in size]

    def _check_label_map(self) -> None:
        """A non-empty map of raw names to classes (or null); with ``classes`` also set,
        every class it maps to must be one of them."""
        label_map = self.label_map
        if label_map is None:
            return
        if not isinstance(label_map, dict) or not label_map:
            raise ConfigError(f"data.label_map = {label_map!r} is not valid: must map at least "
                              "one raw name to a class (or to null to exclude it)")
        for raw, name in label_map.items():
            checks.text(f"data.label_map.{raw}", name, optional=True)
        unknown = {raw: name for raw, name in label_map.items()
                   if name is not None and self.classes and name not in self.classes}
        if unknown:
            raw, name = next(iter(unknown.items()))
            raise ConfigError(f"data.label_map.{raw} = {name!r} is not one of data.classes "
                              f"{list(self.classes)}; add it to data.classes or map {raw!r} to "
                              "another class (or to null to exclude it)")


#: Sources whose runs report de-duplicated test figures unless ``split.report_dedup`` says no.
DEDUP_SOURCES: tuple[str, ...] = ("fer2013", "ferplus")


@dataclasses.dataclass
class SplitConfig:
    """How images are split into train / val / test.

    ``group``: whole ``by`` groups (subjects) per split, class-stratified. ``stratified``:
    per image, class-stratified. ``predefined``: the source's own split (FER2013 ``Usage``,
    split folders); without a test split the run is evaluated on val and says so.

    ``val_fraction`` (``predefined`` only; null: the source's split as it is) carves the
    validation split from the source's own train rows instead: that share of them, stratified
    by label, whole duplicate groups on one side, fixed by the seed. The source's own
    validation split (FER2013 ``PublicTest``) becomes ``test``, scored once; its own test
    split (``PrivateTest``) is kept out of the run as ``source_test``. ``duplicates`` says
    which images count as one: ``perceptual`` (near-identical, a DCT hash), ``exact``
    (identical pixels) or ``none``. ``report_dedup`` adds metrics on the test images without
    a duplicate in train or val (``dedup_*`` in ``metrics.json``, a
    ``test_has_train_duplicate`` column in ``splits.csv``); null: on for FER2013 and FER+.
    """

    method: Literal["group", "stratified", "predefined"] = "group"
    by: str = "subject"
    fractions: list[float] = dataclasses.field(default_factory=lambda: [0.6, 0.2, 0.2])
    val_fraction: float | None = None
    duplicates: Literal["perceptual", "exact", "none"] = "perceptual"
    report_dedup: bool | None = None

    def __post_init__(self):
        checks.literals(self, "split")
        checks.text("split.by", self.by)
        self._check_fractions()
        if self.val_fraction is not None:
            self._check_val_fraction()
        if self.report_dedup and self.duplicates == "none":
            raise ConfigError("split.report_dedup: true needs duplicate groups, but "
                              "split.duplicates is 'none'; set it to 'perceptual' or 'exact'")

    def _check_fractions(self) -> None:
        fractions = self.fractions
        rule = "three numbers > 0 (train, val, test) that sum to 1"
        if isinstance(fractions, (str, bytes)) or not isinstance(fractions, (list, tuple)) \
                or len(fractions) != 3:
            raise ConfigError(f"split.fractions = {fractions!r} is not valid: must be {rule}")
        if not all(checks.is_number(f) for f in fractions):
            raise ConfigError(f"split.fractions = {list(fractions)!r} is not valid: must be {rule}")
        if not all(f > 0 for f in fractions) or not math.isclose(sum(fractions), 1.0, abs_tol=1e-6):
            raise ConfigError(f"split.fractions = {list(fractions)!r} is out of range: must be "
                              f"{rule} (these sum to {sum(fractions):g})")

    def _check_val_fraction(self) -> None:
        fraction = self.val_fraction
        if (isinstance(fraction, bool) or not isinstance(fraction, numbers.Real)
                or not 0.0 < fraction < 1.0):
            raise ConfigError(f"split.val_fraction = {fraction!r} is out of range: it is the "
                              "share of the source's train rows carved off for validation, "
                              "0 < val_fraction < 1 (or null to keep the source's split)")
        if self.method != "predefined":
            raise ConfigError(f"split.val_fraction carves validation from a source's own train "
                              f"split and needs split.method 'predefined', not {self.method!r}; "
                              f"with {self.method!r} set split.fractions (train, val, test) "
                              "instead")


@dataclasses.dataclass
class AugmentConfig:
    """Which augmentations to apply and how strongly.

    Attributes:
        flip: random horizontal flips.
        rotation: maximum rotation in degrees (seed 001: 10).
        shift: maximum translation as a fraction of the image side.
        zoom: maximum zoom in/out as a fraction.
        brightness: maximum brightness change, as a fraction of the [0, 1] range.
        contrast: maximum contrast factor change.
        erasing: probability of random erasing: one rectangle per image (each side 14-57 %
            of the image's, at most a third of its area) filled with clipped Gaussian noise,
            so the model cannot rest on any single facial region (Zhong et al., 2017).
    """

    flip: bool = True
    rotation: float = 10.0
    shift: float = 0.1
    zoom: float = 0.0
    brightness: float = 0.2
    contrast: float = 0.2
    erasing: float = 0.0

    def __post_init__(self):
        for name, high in (("rotation", 180.0), ("shift", 1.0), ("brightness", 1.0),
                           ("contrast", 1.0), ("erasing", 1.0)):
            checks.number(f"augment.{name}", getattr(self, name), low=0.0, high=high)
        checks.number("augment.zoom", self.zoom, low=0.0, high=1.0, high_open=True)


@dataclasses.dataclass
class ModelConfig:
    """A registered model or preset name plus keyword overrides for its builder."""

    name: str = "ckplus_small"
    args: dict[str, Any] = dataclasses.field(default_factory=dict)

    def __post_init__(self):
        checks.text("model.name", self.name)
        if not isinstance(self.args, dict):
            raise ConfigError(f"model.args = {self.args!r} is not valid: must be a mapping of "
                              "builder arguments")


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
    epoch. ``distill_from`` (a preset name or a run directory) trains a student on a teacher's
    predictions: each training image's target becomes ``(1 - distill_weight)`` x its label
    plus ``distill_weight`` x the teacher's probabilities, averaged over the views of the
    ``distill_views`` TTA (``none``, ``flip``, or ``recipe``: 14 views). Only training images
    are seen by the teacher; validation and test keep their own labels.
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
    distill_from: str | None = None
    distill_weight: float = 0.7
    distill_views: Literal["none", "flip", "recipe"] = "recipe"

    def __post_init__(self):
        checks.literals(self, "train")
        checks.choice("train.strategy", self.strategy, STRATEGIES)
        checks.choice("train.mixed_precision", self.mixed_precision, (True, False, "auto"))
        self._check_loop()
        self._check_optimiser()
        checks.number("train.time_budget_minutes", self.time_budget_minutes, low=0.0,
                      low_open=True, optional=True)
        if self.validate_last_epochs is not None:
            self._check_validate_last_epochs()
        checks.text("train.distill_from", self.distill_from, optional=True)
        checks.number("train.distill_weight", self.distill_weight, low=0.0, high=1.0)
        if self.warmup_epochs and self.schedule != "cosine":
            raise ConfigError("train.warmup_epochs applies to the 'cosine' schedule only, "
                              f"not {self.schedule!r}")

    def _check_loop(self) -> None:
        """Epochs, batches, early stopping and the schedule's own counts."""
        checks.whole("train.epochs", self.epochs, min=1)
        checks.whole("train.batch_size", self.batch_size, min=1)
        checks.whole("train.patience", self.patience, min=0)
        checks.whole("train.step_size", self.step_size, min=1)
        checks.whole("train.plateau_patience", self.plateau_patience, min=0)
        checks.number("train.warmup_epochs", self.warmup_epochs, low=0.0)
        if not self.warmup_epochs < self.epochs:
            raise ConfigError(f"train.warmup_epochs = {self.warmup_epochs!r} is out of range: "
                              f"must be >= 0 and below train.epochs ({self.epochs})")

    def _check_optimiser(self) -> None:
        """Learning rate, decay, momentum and the loss weights."""
        checks.number("train.learning_rate", self.learning_rate, low=0.0, low_open=True)
        checks.number("train.momentum", self.momentum, low=0.0, high=1.0, high_open=True)
        checks.number("train.weight_decay", self.weight_decay, low=0.0)
        checks.number("train.gamma", self.gamma, low=0.0, high=1.0, low_open=True,
                      high_open=True)
        checks.number("train.label_smoothing", self.label_smoothing, low=0.0, high=1.0,
                      high_open=True)
        checks.number("train.au_loss_weight", self.au_loss_weight, low=0.0)
        checks.number("train.ferplus_loss_weight", self.ferplus_loss_weight, low=0.0)
        checks.number("train.ema_momentum", self.ema_momentum, low=0.0, high=1.0,
                      low_open=True, high_open=True, optional=True)

    def _check_validate_last_epochs(self) -> None:
        checks.whole("train.validate_last_epochs", self.validate_last_epochs, min=1,
                     optional=True)
        if self.schedule == "plateau":
            raise ConfigError("train.validate_last_epochs does not go with the 'plateau' "
                              "schedule, which needs val_loss every epoch")
        if self.time_budget_minutes is not None and self.schedule != "cosine":
            raise ConfigError("train.validate_last_epochs with train.time_budget_minutes needs "
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
    folds. ``space`` maps hyperparameter names to specs (see :mod:`ferkit.config.space`); left
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
        checks.literals(self, "tune")
        checks.whole("tune.folds", self.folds, min=2)
        checks.text("tune.fold_by", self.fold_by, optional=True)
        checks.number("tune.val_fraction", self.val_fraction, low=0.0, high=1.0, low_open=True,
                      high_open=True)
        checks.whole("tune.max_trials", self.max_trials, min=1, optional=True)
        checks.whole("tune.initial_points", self.initial_points, min=1, optional=True)
        for name, low in (("max_epochs", 1), ("factor", 2), ("hyperband_iterations", 1),
                          ("max_retries_per_trial", 0), ("max_consecutive_failed_trials", 1)):
            checks.whole(f"tune.{name}", getattr(self, name), min=low)
        checks.text("tune.objective", self.objective)
        if self.max_trials is None and self.tuner in ("random", "bayesian"):
            raise ConfigError(f"tune.max_trials must be set for the {self.tuner} tuner "
                              "(null means every point only for grid)")
        if not self.objective.startswith("val_"):
            raise ConfigError(f"tune.objective {self.objective!r} must be a fold score such as "
                              "val_emotion_accuracy, val_au_f1 or val_loss")
        if self.space is not None:
            parse_space(self.space, "tune.space")


@dataclasses.dataclass
class EvaluateConfig:
    """Test-time augmentation (TTA) for scoring: each image's prediction is the mean over views.

    ``flip_tta`` adds the mirror image; ``shift_tta`` (pixels, > 0) adds the image moved that
    far up, down, left and right; ``zoom_tta`` adds the image's centre enlarged by each factor
    (> 1). With flips every view also comes mirrored. The defaults score the image alone, as
    without this section. The FER2013 recipe uses flip, 2 px and [1.08, 1.16]: 14 views.
    """

    flip_tta: bool = False
    shift_tta: int = 0
    zoom_tta: list[float] = dataclasses.field(default_factory=list)

    def __post_init__(self):
        checks.whole("evaluate.shift_tta", self.shift_tta, min=0, unit=" of pixels")
        if isinstance(self.zoom_tta, (str, bytes)) or not isinstance(self.zoom_tta, (list, tuple)):
            raise ConfigError(f"evaluate.zoom_tta must be a list of enlargement factors > 1, "
                              f"got {self.zoom_tta!r}")
        for factor in self.zoom_tta:
            if not _is_enlargement(factor):
                raise ConfigError(f"evaluate.zoom_tta factors must be numbers > 1 (how much to "
                                  f"enlarge the image's centre), got {factor!r} in "
                                  f"{list(self.zoom_tta)!r}")
        self.zoom_tta = [float(factor) for factor in self.zoom_tta]

    @property
    def views(self) -> int:
        """How many views each image is scored in (1 without TTA)."""
        unflipped = 1 + (4 if self.shift_tta else 0) + len(self.zoom_tta)
        return unflipped * (2 if self.flip_tta else 1)


def _is_enlargement(factor: Any) -> bool:
    return (isinstance(factor, numbers.Real) and not isinstance(factor, bool)
            and math.isfinite(factor) and factor > 1.0)


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
    evaluate: EvaluateConfig = dataclasses.field(default_factory=EvaluateConfig)

    def __post_init__(self):
        checks.text("name", self.name)
        checks.whole("seed", self.seed, min=0, max=2**32 - 1)
        side = min(self.data.image_size)
        if self.evaluate.shift_tta >= side:  # a shifted view is padded by reflection
            raise ConfigError(f"evaluate.shift_tta = {self.evaluate.shift_tta} is out of range: "
                              f"must be a whole number of pixels below the image side ({side} "
                              f"for data.image_size {self.data.image_size})")
        if self.split.report_dedup is None:  # resolved here: the split alone cannot see the source
            wanted = self.data.source in DEDUP_SOURCES and self.split.duplicates != "none"
            self.split = dataclasses.replace(self.split, report_dedup=wanted)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)
