"""``run_experiment``: one config in, one run directory out (data, split, fit, evaluation).

Run directory::

    config.yaml  splits.csv  model.keras  preprocessing.json  history.json  training_log.csv
    metrics.json  run.json
    emotion_report.{csv,md}  confusion_matrix.{csv,md}  au_report.{csv,md}  predictions.csv
    plots/{history,confusion_matrix,emotion_f1,au_f1}.png   backup/ (while training)
"""
from __future__ import annotations

import dataclasses
import inspect
import json
import time
from pathlib import Path

import keras
import numpy as np
import pandas as pd
import tensorflow as tf

from ferkit import models
from ferkit.config import Config, save_config
from ferkit.data.augment import build_augmenter
from ferkit.data.fer2013 import FERPLUS_EMOTIONS
from ferkit.data.pipeline import WEIGHT_COLUMN, make_dataset
from ferkit.data.samples import Samples
from ferkit.data.sources import load_from_config
from ferkit.data.splits import assert_disjoint, group_split, stratified_split
from ferkit.evaluation.evaluate import Evaluation, evaluate_model
from ferkit.inference import save_preprocessing
from ferkit.training.budget import (BudgetPlan, BudgetSchedule, BudgetStop, plan_epochs,
                                    time_steps)
from ferkit.training.compile import compile_model
from ferkit.training.distribute import make_strategy, worker_role
from ferkit.training.fit import BACKUP_DIR, BEST_MODEL, ValidateWhen, fit, last_epochs
from ferkit.training.optim import make_optimizer, schedule_callbacks
from ferkit.training.precision import precision_policy

SPLITS = ("train", "val", "test")


@dataclasses.dataclass
class RunResult:
    """What a finished run produced; everything is also on disk under ``run_dir``."""

    run_dir: Path
    model: keras.Model
    samples: Samples
    history: dict[str, list[float]]
    evaluation: Evaluation
    seconds: float
    evaluated_on: str = "test"


def assign_splits(samples: Samples, split, seed: int) -> Samples:
    """Add the configured ``split`` column (group-disjoint, stratified or predefined)."""
    frame = samples.frame
    if split.method == "predefined":
        if "split" not in frame.columns:
            raise ValueError(f"{samples.source}: split.method 'predefined' needs a source with its "
                             "own split (FER2013 Usage, split folders); use 'group' or 'stratified'")
        missing = {"train", "val"} - set(frame["split"])
        if missing:
            raise ValueError(f"{samples.source}: the predefined split has no {sorted(missing)} rows")
        return samples
    if split.method == "group":
        assigned = group_split(frame, split.fractions, SPLITS, group=split.by, seed=seed)
    else:
        assigned = stratified_split(frame, split.fractions, SPLITS, seed=seed)
    frame = frame.assign(split=assigned.to_numpy())
    if split.method == "group":
        assert_disjoint(frame, split.by)
    return dataclasses.replace(samples, frame=frame)


def prepare_data(config: Config, run_dir: Path) -> Samples:
    """Load (or first synthesise) the configured data with images, then split it."""
    samples = load_from_config(config.data, run_dir, config.seed)
    return assign_splits(samples, config.split, config.seed)


def build_model(config: Config, samples: Samples) -> keras.Model:
    """The configured model, sized to the data's image shape, classes and (if it has an AU
    head) action units."""
    size, channels = config.data.image_size, config.data.channels
    builder_name, _ = models.resolve(config.model.name)
    accepted = inspect.signature(models.registry._BUILDERS[builder_name]).parameters
    args = dict(input_shape=(size[0], size[1], channels), num_classes=len(samples.classes))
    if "num_aus" in accepted:
        args["num_aus"] = len(samples.aus)
    if config.data.ferplus_aux:
        if "ferplus_classes" not in accepted:
            raise ValueError(f"data.ferplus_aux needs a model with a 'ferplus' head (e.g. "
                             f"fer_recipe); {config.model.name!r} has none")
        args["ferplus_classes"] = len(FERPLUS_EMOTIONS)
    args.update(config.model.args)
    return models.build(config.model.name, **args)


def balanced_weights(frame: pd.DataFrame) -> np.ndarray:
    """Inverse class-frequency weights with mean 1 (``class_weights: balanced``)."""
    counts = frame["label"].map(frame["label"].value_counts())
    weights = len(frame) / (frame["label"].nunique() * counts)
    return (weights / weights.mean()).to_numpy(dtype="float64")


def _datasets(config: Config, samples: Samples, heads: list[str]):
    train_samples = samples.split("train")
    if config.train.class_weights == "balanced":
        frame = train_samples.frame.assign(**{WEIGHT_COLUMN: balanced_weights(train_samples.frame)})
        train_samples = dataclasses.replace(train_samples, frame=frame)
    augmenter = build_augmenter(config.augment, config.seed) if config.augment else None
    batch = config.train.batch_size
    train = make_dataset(train_samples, batch_size=batch, training=True, augmenter=augmenter,
                         heads=heads, seed=config.seed)
    val = make_dataset(samples.split("val"), batch_size=batch, heads=heads)
    steps = int(np.ceil(len(train_samples) / batch))
    return train, val, steps


PROBE_STEPS = 20
PROBE_VAL_BATCHES = 4


def _compiled(config: Config, model: keras.Model, steps: int) -> keras.Model:
    train = config.train
    return compile_model(model, train.learning_rate, train.au_loss_weight, train.jit_compile,
                         train.label_smoothing, make_optimizer(train, steps),
                         ferplus_loss_weight=train.ferplus_loss_weight)


def _scored_split(samples: Samples) -> str:
    """The split a finished run is evaluated on: ``test`` where there is one, else ``val``."""
    return "test" if (samples.frame["split"] == "test").any() else "val"


def _batches(samples: Samples, split: str, batch_size: int) -> int:
    return int(np.ceil((samples.frame["split"] == split).sum() / batch_size))


def plan_budget(config: Config, samples: Samples, run_dir: Path, started: float,
                model: keras.Model | None = None) -> BudgetPlan:
    """Epochs that fit ``train.time_budget_minutes`` counted from ``started``, from a short
    probe of a throwaway copy of the model (see :mod:`ferkit.training.budget`); a resumed run
    (an epoch backup and ``budget.json`` in ``run_dir``) keeps its first plan."""
    train = config.train
    saved = BudgetPlan.load(run_dir) if (run_dir / BACKUP_DIR).is_dir() else None
    if saved is not None:
        return saved
    probe = keras.models.clone_model(model) if model is not None else build_model(config, samples)
    heads = list(probe.output.keys())
    train_ds, val_ds, steps = _datasets(config, samples, heads)
    _compiled(config, probe, steps)
    step_s, val_batch_s, tracing_s = time_steps(probe, train_ds, val_ds,
                                                min(PROBE_STEPS, max(1, steps - 3)),
                                                PROBE_VAL_BATCHES)
    del probe
    plan = plan_epochs(train.time_budget_minutes * 60, time.perf_counter() - started, step_s,
                       steps, val_batch_s, _batches(samples, "val", train.batch_size),
                       _batches(samples, _scored_split(samples), train.batch_size), tracing_s,
                       max_epochs=train.epochs, min_epochs=int(np.floor(train.warmup_epochs)) + 1,
                       validated_epochs=train.validate_last_epochs)
    plan.save(run_dir)
    return plan


def _budget_callback(train, plan: BudgetPlan, deadline: float, steps: int) -> BudgetStop:
    if train.schedule == "cosine":
        return BudgetSchedule(deadline, train.learning_rate, train.warmup_epochs, train.epochs,
                              steps, validated_epochs=train.validate_last_epochs,
                              validation_s=plan.validation_s)
    return BudgetStop(deadline)


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


def train_on_samples(config: Config, samples: Samples, run_dir: str | Path,
                     model: keras.Model | None = None,
                     strategy: tf.distribute.Strategy | None = None) -> RunResult:
    """Train and evaluate on already loaded and split ``samples`` into ``run_dir``.

    The building block behind :func:`run_experiment`, k-fold cross-validation and tuning:
    ``samples.frame["split"]`` says which rows train, validate and test. ``model`` (built
    and not yet compiled) replaces the configured one, e.g. to fine-tune a trained trunk; a
    ``model`` given with a ``strategy`` must have been built in its scope. ``strategy``
    (default: TensorFlow's current one) is where the model is built, compiled and trained;
    ``train.batch_size`` is the global batch, split over its replicas.
    """
    start = time.perf_counter()
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    save_config(config, run_dir / "config.yaml")
    keras.utils.set_random_seed(config.seed)
    samples.frame.drop(columns=["image_index"], errors="ignore").to_csv(run_dir / "splits.csv",
                                                                       index=False)
    train = config.train
    strategy = tf.distribute.get_strategy() if strategy is None else strategy
    budget_callbacks = []
    with precision_policy(train.mixed_precision), strategy.scope():
        if train.time_budget_minutes is not None:
            if isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy):
                raise ValueError("train.time_budget_minutes plans on one host; with "
                                 "multi_worker set train.epochs instead")
            plan = plan_budget(config, samples, run_dir, start, model)
            print(plan.describe(), flush=True)
            keras.utils.set_random_seed(config.seed)  # the real model starts as without a probe
            train = dataclasses.replace(train, epochs=plan.epochs)
            config = dataclasses.replace(config, train=train)
        model = model if model is not None else build_model(config, samples)
        heads = list(model.output.keys())
        train_ds, val_ds, steps = _datasets(config, samples, heads)
        if train.time_budget_minutes is not None:
            budget_callbacks = [_budget_callback(train, plan, plan.deadline(start), steps)]
            if train.schedule == "cosine":  # the callback sets the rate, step by step
                config = dataclasses.replace(config, train=dataclasses.replace(
                    train, schedule="constant", warmup_epochs=0, time_budget_minutes=None))
        validator = _validator(train, val_ds, budget_callbacks[0] if budget_callbacks else None)
        _compiled(config, model, steps)
        history = fit(model, train_ds, val_ds, run_dir, train.epochs, train.patience, train.verbose,
                      extra_callbacks=schedule_callbacks(train) + budget_callbacks,
                      resume=train.resume, tensorboard=train.tensorboard, validator=validator)
        evaluated_on = _scored_split(samples)
        evaluation = evaluate_model(model, samples.split(evaluated_on), run_dir)
    save_preprocessing(run_dir, config.data.image_size, config.data.channels, samples.classes,
                       samples.aus)
    seconds = time.perf_counter() - start
    (run_dir / "run.json").write_text(json.dumps(
        {"name": config.name, "finished": time.strftime("%Y-%m-%d %H:%M:%S"), "seconds": seconds,
         "epochs_run": len(history.get("loss", [])), "epochs_planned": train.epochs,
         "evaluated_on": evaluated_on,
         "split_sizes": samples.frame["split"].value_counts().to_dict(),
         "classes": list(samples.classes), "aus": list(samples.aus),
         "image_size": list(config.data.image_size), "channels": config.data.channels,
         "model": model.name, "parameters": int(model.count_params()),
         "best_model": BEST_MODEL, "replicas": int(strategy.num_replicas_in_sync),
         "validated_epochs": (None if validator is None else  # 1-based, with seconds each
                              {str(e + 1): round(s, 2) for e, s in validator.seconds.items()})},
        indent=1))
    return RunResult(run_dir, model, samples, history, evaluation, seconds, evaluated_on)


def run_experiment(config: Config, run_dir: str | Path,
                   strategy: tf.distribute.Strategy | None = None) -> RunResult:
    """Load, split, train and evaluate ``config`` into ``run_dir`` and return the result.

    Starting again on the same ``run_dir`` after an interruption resumes training from the
    last finished epoch (``train.resume``). ``run.json``'s ``seconds`` include data loading.

    ``strategy`` (default: made from ``train.strategy`` before anything else runs, as a
    multi-worker strategy requires) distributes training. With ``multi_worker`` every worker
    runs this same call; only the chief writes ``run_dir``, each other worker writes the same
    files into ``run_dir/workers/<task>`` (e.g. ``workers/worker_1``), so no two processes
    write one file and each keeps the epoch backup it needs to resume.
    """
    start = time.perf_counter()
    strategy = make_strategy(config.train.strategy) if strategy is None else strategy
    is_chief, task = worker_role(strategy)
    run_dir = Path(run_dir) if is_chief else Path(run_dir) / "workers" / task
    run_dir.mkdir(parents=True, exist_ok=True)
    if config.train.deterministic:
        tf.config.experimental.enable_op_determinism()
    keras.utils.set_random_seed(config.seed)
    samples = prepare_data(config, run_dir)
    result = train_on_samples(config, samples, run_dir, strategy=strategy)
    result.seconds = time.perf_counter() - start
    info = json.loads((run_dir / "run.json").read_text())
    (run_dir / "run.json").write_text(json.dumps({**info, "seconds": result.seconds}, indent=1))
    return result
