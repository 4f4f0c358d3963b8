"""The one training path: a config and split samples in, a trained model out.

``ferkit train``, grids, k-fold folds, occlusion fine-tunes and every tuning trial train
through :func:`train`, so the same config trains the same way wherever it runs: the model
sized by :func:`build_model`, the datasets of :func:`make_datasets` (class weights,
augmentation), the precision policy, the optimiser and schedule, the loss weights of every
head (``au_loss_weight``, ``ferplus_loss_weight``), the callbacks of :func:`ferkit.training.fit.fit`
(early stopping, EMA swap, validating the last epochs, checkpoint and resume) and the time
budget. Scoring and writing the rest of a run directory are the workflows' part
(:mod:`ferkit.workflows`).
"""
from __future__ import annotations

import dataclasses
import inspect
import time
from pathlib import Path

import keras
import numpy as np
import pandas as pd
import tensorflow as tf

from ferkit import models
from ferkit.config import Config
from ferkit.data import FERPLUS_EMOTIONS, Samples, build_augmenter, make_dataset
from ferkit.data.pipeline import WEIGHT_COLUMN
from ferkit.runs import RunDir
from ferkit.training.budget import (BudgetPlan, BudgetSchedule, BudgetStop, plan_epochs,
                                    time_epoch_overhead, time_steps)
from ferkit.training.compile import compile_model, head_names
from ferkit.training.fit import ValidateWhen, fit, last_epochs
from ferkit.training.optim import make_optimizer, schedule_callbacks
from ferkit.training.precision import precision_policy

PROBE_STEPS = 20
PROBE_VAL_BATCHES = 4


@dataclasses.dataclass(frozen=True)
class HeadSizes:
    """How many outputs the data asks of each head: emotion classes and action units."""

    classes: int
    aus: int = 0

    @classmethod
    def of(cls, samples: Samples) -> HeadSizes:
        return cls(len(samples.classes), len(samples.aus))


def _sizes(data: HeadSizes | Samples) -> HeadSizes:
    return data if isinstance(data, HeadSizes) else HeadSizes.of(data)


# --------------------------------------------------------------------------- the model
def model_arguments(config: Config, data: HeadSizes | Samples) -> dict:
    """The builder arguments of ``config.model`` for this data: the input shape, the classes,
    the AUs (builders with an AU head) and the FER+ head (``data.ferplus_aux``), then
    ``model.args``."""
    sizes = _sizes(data)
    size, channels = config.data.image_size, config.data.channels
    builder_name, _ = models.resolve(config.model.name)
    accepted = inspect.signature(models.builder_of(builder_name)).parameters
    args = dict(input_shape=(size[0], size[1], channels), num_classes=sizes.classes)
    if "num_aus" in accepted:
        args["num_aus"] = sizes.aus
    if config.data.ferplus_aux:
        if "ferplus_classes" not in accepted:
            raise ValueError(f"data.ferplus_aux needs a model with a 'ferplus' head (e.g. "
                             f"fer_recipe); {config.model.name!r} has none")
        args["ferplus_classes"] = len(FERPLUS_EMOTIONS)
    args.update(config.model.args)
    return args


def build_model(config: Config, data: HeadSizes | Samples) -> keras.Model:
    """The configured model, sized to the data (see :func:`model_arguments`), not compiled."""
    return models.build(config.model.name, **model_arguments(config, data))


def compile_for(config: Config, model: keras.Model, steps_per_epoch: int) -> keras.Model:
    """Compile ``model`` as ``config.train`` says: optimiser and schedule, label smoothing,
    the loss weight of every head, XLA."""
    train = config.train
    return compile_model(model, train.learning_rate, train.au_loss_weight, train.jit_compile,
                         train.label_smoothing, make_optimizer(train, steps_per_epoch),
                         ferplus_loss_weight=train.ferplus_loss_weight)


def build_compiled_model(config: Config, data: HeadSizes | Samples,
                         steps_per_epoch: int) -> keras.Model:
    """:func:`build_model` under the run's precision policy, then :func:`compile_for`."""
    with precision_policy(config.train.mixed_precision):
        return compile_for(config, build_model(config, data), steps_per_epoch)


# --------------------------------------------------------------------------- the data
@dataclasses.dataclass
class TrainingData:
    """The batched ``train`` and ``val`` datasets of a run and the steps of one epoch."""

    train: tf.data.Dataset
    val: tf.data.Dataset
    steps_per_epoch: int


def steps_per_epoch(rows: int, batch_size: int) -> int:
    """Batches in an epoch of ``rows`` training images (the last one may be partial)."""
    return max(1, int(np.ceil(rows / batch_size)))


def balanced_weights(frame: pd.DataFrame) -> np.ndarray:
    """Inverse class-frequency weights with mean 1 (``class_weights: balanced``)."""
    counts = frame["label"].map(frame["label"].value_counts())
    weights = len(frame) / (frame["label"].nunique() * counts)
    return (weights / weights.mean()).to_numpy(dtype="float64")


def make_datasets(config: Config, samples: Samples, heads: list[str]) -> TrainingData:
    """``samples``' train rows (weighted, augmented, shuffled) and val rows as datasets."""
    train_samples = samples.split("train")
    if config.train.class_weights == "balanced":
        frame = train_samples.frame.assign(**{WEIGHT_COLUMN: balanced_weights(train_samples.frame)})
        train_samples = dataclasses.replace(train_samples, frame=frame)
    augmenter = build_augmenter(config.augment, config.seed) if config.augment else None
    batch = config.train.batch_size
    train = make_dataset(train_samples, batch_size=batch, training=True, augmenter=augmenter,
                         heads=heads, seed=config.seed)
    val = make_dataset(samples.split("val"), batch_size=batch, heads=heads)
    return TrainingData(train, val, steps_per_epoch(len(train_samples), batch))


def scored_split(samples: Samples) -> str:
    """The split a finished run is evaluated on: ``test`` where there is one, else ``val``."""
    return "test" if (samples.frame["split"] == "test").any() else "val"


def _batches(samples: Samples, split: str, batch_size: int) -> int:
    return int(np.ceil((samples.frame["split"] == split).sum() / batch_size))


# --------------------------------------------------------------------------- the time budget
def plan_budget(config: Config, samples: Samples, run_dir: Path | None, started: float,
                model: keras.Model | None = None) -> BudgetPlan:
    """Epochs that fit ``train.time_budget_minutes`` counted from ``started``, from a short
    probe of a throwaway copy of the model (see :mod:`ferkit.training.budget`); a resumed run
    (an epoch backup and ``budget.json`` in ``run_dir``) keeps its first plan."""
    train = config.train
    resumed = run_dir is not None and (Path(run_dir) / RunDir.BACKUP).is_dir()
    saved = BudgetPlan.load(run_dir) if resumed else None
    if saved is not None:
        return saved
    probe = keras.models.clone_model(model) if model is not None else build_model(config, samples)
    data = make_datasets(config, samples, head_names(probe))
    compile_for(config, probe, data.steps_per_epoch)
    step_s, val_batch_s, tracing_s = time_steps(probe, data.train, data.val,
                                                min(PROBE_STEPS, max(1, data.steps_per_epoch - 3)),
                                                PROBE_VAL_BATCHES)
    overhead_s = time_epoch_overhead(probe)
    del probe
    plan = plan_epochs(train.time_budget_minutes * 60, time.perf_counter() - started, step_s,
                       data.steps_per_epoch, val_batch_s,
                       _batches(samples, "val", train.batch_size),
                       _batches(samples, scored_split(samples), train.batch_size), tracing_s,
                       max_epochs=train.epochs, min_epochs=int(np.floor(train.warmup_epochs)) + 1,
                       validated_epochs=train.validate_last_epochs, epoch_overhead_s=overhead_s)
    if run_dir is not None:
        plan.save(run_dir)
    return plan


def _budget_callback(train, plan: BudgetPlan, deadline: float, steps: int) -> BudgetStop:
    """The budget's hard stop (and, for a cosine, its schedule), with the probe's figures for
    the first epoch: its tracing, and an epoch as planned (validation apart when it is)."""
    timed_apart = plan.validation_s if train.validate_last_epochs is not None else 0.0
    probe = dict(tracing_s=plan.tracing_s, planned_epoch_s=plan.epoch_s - timed_apart)
    if train.schedule == "cosine":
        return BudgetSchedule(deadline, train.learning_rate, train.warmup_epochs, train.epochs,
                              steps, validated_epochs=train.validate_last_epochs,
                              validation_s=plan.validation_s, **probe)
    return BudgetStop(deadline, **probe)


def _record_budget(plan: BudgetPlan, budget: BudgetStop, started: float,
                   run_dir: Path | None) -> BudgetPlan:
    """The plan with how training went (training seconds, epochs, why it stopped), saved as
    ``budget.json`` in ``run_dir`` when there is one."""
    done = dataclasses.replace(plan, **budget.outcome(started, plan.epochs))
    print(f"time budget: {done.training_s / 60:.2f} min of training, {done.epochs_run} "
          f"epoch(s); {done.stop_reason}", flush=True)
    if run_dir is not None:
        done.save(run_dir)
    return done


def _validator(train, val_ds: tf.data.Dataset,
               budget: BudgetStop | None) -> ValidateWhen | None:
    """The ``ValidateWhen`` of ``train.validate_last_epochs`` (None: validate every epoch);
    under a budget the last epochs are those of its plan as it stands, and it times the
    passes."""
    if train.validate_last_epochs is None:
        return None
    if isinstance(budget, BudgetSchedule):
        validator = ValidateWhen(val_ds, budget.validates)
        budget.validation = validator
        return validator
    return ValidateWhen(val_ds, last_epochs(train.validate_last_epochs, train.epochs))


# --------------------------------------------------------------------------- training
@dataclasses.dataclass
class TrainOutcome:
    """A trained model and how it got there.

    Attributes:
        model: trained, with the best weights by ``val_loss`` restored.
        history: per-epoch values (NaN where an epoch was not validated).
        config: the config as trained (``train.epochs`` as a time budget planned it).
        validated_epochs: 1-based epoch -> seconds of its validation pass, when only some
            epochs validated (``train.validate_last_epochs``), else None.
        replicas: replicas of the distribution strategy.
    """

    model: keras.Model
    history: dict[str, list[float]]
    config: Config
    validated_epochs: dict[str, float] | None
    replicas: int

    @property
    def epochs_run(self) -> int:
        return len(self.history.get("loss", []))


def train(config: Config, samples: Samples, run_dir: str | Path | None = None,
          model: keras.Model | None = None, strategy: tf.distribute.Strategy | None = None,
          *, seed: int | None = None, verbose: int | str | None = None,
          started: float | None = None, callbacks: list | None = None) -> TrainOutcome:
    """Train the configured model on ``samples`` (``frame["split"]`` says which rows train
    and validate).

    ``model`` (built, compiled or not) replaces the configured one, e.g. a trial's model or a
    trained trunk to fine-tune; it is compiled here for this run. A ``model`` given with a
    ``strategy`` must have been built in its scope. ``strategy`` (default: TensorFlow's
    current one) is where the model is built, compiled and trained; ``train.batch_size`` is
    the global batch. ``run_dir`` keeps the checkpoint, the logs and the epoch backup (see
    :func:`ferkit.training.fit.fit`); without one nothing is written. ``seed`` (default
    ``config.seed``) seeds Keras first; ``verbose`` overrides ``train.verbose``; ``started``
    (a ``time.perf_counter()`` value, default now) is when a time budget's clock started;
    a budgeted run writes how its training went into ``budget.json``
    (:meth:`ferkit.training.budget.BudgetStop.outcome`). ``callbacks`` run after the run's own
    at every epoch end, e.g. a report's scoring inside :func:`ferkit.training.budget.paused`.
    """
    started = time.perf_counter() if started is None else started
    run_dir = Path(run_dir) if run_dir is not None else None
    if run_dir is not None:
        run_dir.mkdir(parents=True, exist_ok=True)
    train_config = config.train
    if train_config.deterministic:
        tf.config.experimental.enable_op_determinism()
    keras.utils.set_random_seed(config.seed if seed is None else seed)
    strategy = tf.distribute.get_strategy() if strategy is None else strategy
    with precision_policy(train_config.mixed_precision), strategy.scope():
        plan = None
        if train_config.time_budget_minutes is not None:
            config, plan = _planned(config, samples, run_dir, started, model, strategy)
            keras.utils.set_random_seed(config.seed if seed is None else seed)  # as unprobed
        model = model if model is not None else build_model(config, samples)
        data = make_datasets(config, samples, head_names(model))
        budget = []
        if plan is not None:
            budget = [_budget_callback(config.train, plan, plan.deadline(started),
                                       data.steps_per_epoch)]
        validator = _validator(config.train, data.val, budget[0] if budget else None)
        compile_for(_schedule_set_by(config, budget), model, data.steps_per_epoch)
        history = fit(model, data.train, data.val, run_dir, config.train.epochs,
                      config.train.patience,
                      config.train.verbose if verbose is None else verbose,
                      extra_callbacks=[*schedule_callbacks(config.train), *budget,
                                       *(callbacks or [])],
                      resume=config.train.resume, tensorboard=config.train.tensorboard,
                      validator=validator)
        if plan is not None:
            _record_budget(plan, budget[0], started, run_dir)
    validated = (None if validator is None else  # 1-based, with seconds each
                 {str(e + 1): round(s, 2) for e, s in validator.seconds.items()})
    return TrainOutcome(model, history, config, validated, int(strategy.num_replicas_in_sync))


def _planned(config: Config, samples: Samples, run_dir: Path | None, started: float,
             model: keras.Model | None,
             strategy: tf.distribute.Strategy) -> tuple[Config, BudgetPlan]:
    """``config`` with the epochs a time budget's plan fits, and the plan."""
    if isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy):
        raise ValueError("train.time_budget_minutes plans on one host; with "
                         "multi_worker set train.epochs instead")
    plan = plan_budget(config, samples, run_dir, started, model)
    print(plan.describe(), flush=True)
    return dataclasses.replace(config, train=dataclasses.replace(config.train,
                                                                 epochs=plan.epochs)), plan


def _schedule_set_by(config: Config, budget: list) -> Config:
    """The config to compile with: a budgeted cosine run's callback sets the rate step by
    step, so its optimiser gets a constant rate."""
    if not budget or config.train.schedule != "cosine":
        return config
    return dataclasses.replace(config, train=dataclasses.replace(
        config.train, schedule="constant", warmup_epochs=0, time_budget_minutes=None))


__all__ = ["HeadSizes", "TrainOutcome", "TrainingData", "balanced_weights", "build_compiled_model",
           "build_model", "compile_for", "make_datasets", "model_arguments", "plan_budget",
           "scored_split", "steps_per_epoch", "train"]
