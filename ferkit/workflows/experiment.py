"""``run_experiment``: one config in, one run directory out (data, split, training, scoring).

Run directory (file names in :class:`ferkit.runs.RunDir`)::

    config.yaml  splits.csv  model.keras  preprocessing.json  history.json  training_log.csv
    metrics.json  emotion_report.{csv,md}  confusion_matrix.{csv,md}  au_report.{csv,md}
    predictions.csv  plots/{history,confusion_matrix,emotion_f1,au_f1}.png
    backup/ (while training)  run.json (written last: the run is finished)

Training is :func:`ferkit.training.engine.train`, scoring :func:`ferkit.evaluation.evaluate_model`.
"""
from __future__ import annotations

import dataclasses
import time
from pathlib import Path

import keras
import pandas as pd
import tensorflow as tf

from ferkit.config import Config, save_config
from ferkit.data import holdout
from ferkit.data.samples import Samples
from ferkit.data.sources import load_from_config
from ferkit.data.splits import assert_disjoint, group_split, stratified_split
from ferkit.evaluation.evaluate import Evaluation, evaluate_model
from ferkit.evaluation.plots import plot_history
from ferkit.runs import RunDir, save_preprocessing, write_text_atomic
from ferkit.training import engine
from ferkit.training.distribute import make_strategy, worker_role
from ferkit.workflows.distill import distilled_samples

SPLITS = ("train", "val", "test")
HISTORY_PLOT = "history.png"


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
    """Add the configured ``split`` column (group-disjoint, stratified or predefined).

    ``predefined`` with ``split.val_fraction`` carves ``val`` from the source's train rows
    and scores the source's val rows as ``test`` (:func:`ferkit.data.holdout.carve_validation`).
    With ``split.report_dedup`` (which :class:`~ferkit.config.Config` resolves from the
    source; a bare ``SplitConfig``'s null means off) the frame also gets the
    ``duplicate_group`` and ``test_has_train_duplicate`` columns, from which scoring adds
    de-duplicated figures.
    """
    samples = _split_rows(samples, split, seed)
    if split.report_dedup:
        samples = holdout.mark_held_out_duplicates(samples, split.duplicates)
    return samples


def _split_rows(samples: Samples, split, seed: int) -> Samples:
    frame = samples.frame
    if split.method == "predefined":
        if "split" not in frame.columns:
            raise ValueError(f"{samples.source}: split.method 'predefined' needs a source with its "
                             "own split (FER2013 Usage, split folders); use 'group' or 'stratified'")
        missing = {"train", "val"} - set(frame["split"])
        if missing:
            raise ValueError(f"{samples.source}: the predefined split has no {sorted(missing)} rows")
        if split.val_fraction is not None:
            return holdout.carve_validation(samples, split.val_fraction, split.duplicates, seed)
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
    """Load (or first synthesise) the configured data with images, then split it.

    With ``data.on_unreadable: skip`` the image files left out are listed, with the reason,
    in ``run_dir``'s ``skipped_images.csv`` (only a header when none was).
    """
    samples = load_from_config(config.data, run_dir, config.seed)
    _record_skipped(samples, config.data.on_unreadable, Path(run_dir))
    return assign_splits(samples, config.split, config.seed)


def _record_skipped(samples: Samples, on_unreadable: str, run_dir: Path) -> None:
    """Write (skip mode) or withdraw (error mode: nothing can have been skipped) the list."""
    target = RunDir(run_dir) / RunDir.SKIPPED
    if on_unreadable != "skip":
        target.unlink(missing_ok=True)
        return
    table = pd.DataFrame(list(samples.skipped), columns=["path", "reason"])
    write_text_atomic(target, table.to_csv(index=False))


def train_on_samples(config: Config, samples: Samples, run_dir: str | Path,
                     model: keras.Model | None = None,
                     strategy: tf.distribute.Strategy | None = None,
                     started: float | None = None) -> RunResult:
    """Train and evaluate on already loaded and split ``samples`` into ``run_dir``.

    The building block behind :func:`run_experiment`, grids, k-fold cross-validation and the
    occlusion protocol: ``samples.frame["split"]`` says which rows train, validate and test.
    ``model`` (built and not yet compiled) replaces the configured one, e.g. to fine-tune a
    trained trunk; ``strategy`` is where it trains (see :func:`ferkit.training.engine.train`).
    ``run_dir`` is begun (an old ``run.json`` withdrawn) first and committed (``run.json``
    written) last; its ``seconds`` count from ``started`` (a ``time.perf_counter()`` value,
    default: now), a time budget's from now.
    """
    clock = time.perf_counter()
    started = clock if started is None else started
    run = RunDir(run_dir).begin()
    samples = distilled_samples(samples, config.train)  # train.distill_from: teacher targets
    save_config(config, run / RunDir.CONFIG)
    splits = samples.frame.drop(columns=["image_index"], errors="ignore")
    write_text_atomic(run / RunDir.SPLITS, splits.to_csv(index=False))
    outcome = engine.train(config, samples, run.path, model=model, strategy=strategy,
                           started=clock)
    plot_history(outcome.history, run / RunDir.PLOTS / HISTORY_PLOT)
    evaluated_on = engine.scored_split(samples)
    evaluation = evaluate_model(outcome.model, samples.split(evaluated_on), run.path)
    save_preprocessing(run.path, config.data.image_size, config.data.channels, samples.classes,
                       samples.aus)
    seconds = time.perf_counter() - started
    run.commit(_run_record(outcome, samples, evaluated_on, seconds))
    return RunResult(run.path, outcome.model, samples, outcome.history, evaluation, seconds,
                     evaluated_on)


def _run_record(outcome: engine.TrainOutcome, samples: Samples, evaluated_on: str,
                seconds: float) -> dict:
    """``run.json``'s fields for a trained and scored run."""
    config, model = outcome.config, outcome.model
    return {"name": config.name, "seconds": seconds, "epochs_run": outcome.epochs_run,
            "epochs_planned": config.train.epochs, "evaluated_on": evaluated_on,
            "split_sizes": samples.frame["split"].value_counts().to_dict(),
            "classes": list(samples.classes), "aus": list(samples.aus),
            "image_size": list(config.data.image_size), "channels": config.data.channels,
            "model": model.name, "parameters": int(model.count_params()),
            "best_model": RunDir.MODEL, "replicas": outcome.replicas,
            "validated_epochs": outcome.validated_epochs}


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
    started = time.perf_counter()
    strategy = make_strategy(config.train.strategy) if strategy is None else strategy
    is_chief, task = worker_role(strategy)
    run_dir = Path(run_dir) if is_chief else Path(run_dir) / "workers" / task
    RunDir(run_dir).begin()
    if config.train.deterministic:
        tf.config.experimental.enable_op_determinism()
    keras.utils.set_random_seed(config.seed)
    samples = prepare_data(config, run_dir)
    return train_on_samples(config, samples, run_dir, strategy=strategy, started=started)


__all__ = ["RunResult", "SPLITS", "assign_splits", "prepare_data", "run_experiment",
           "train_on_samples"]
