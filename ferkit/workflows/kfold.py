"""``cross_validate``: k-fold cross-validation of one config, a full run directory per fold.

Seed 000's protocol: the data are cut into ``k`` stratified folds; each fold is the test set
once while the other ``k - 1`` are split into train and validation (85 / 15 by default), and a
fresh model is trained per fold with the config's early stopping. The per-fold table is
:func:`ferkit.evaluation.kfold.kfold_table`'s.

Run directory::

    kfold_setup.json            the fold settings; a resumed run must use the same ones
    fold_01/ ... fold_<k>/      one run directory per fold (ferkit.workflows.experiment)
    kfold.{csv,md,json}         the per-fold table with mean / std rows
    oof_predictions.csv         every image's out-of-fold prediction, with its fold
    plots/kfold.png             accuracy and macro-F1 per fold, means as dashed lines

Starting again on the same ``run_dir`` reads committed folds back (``RunDir.is_complete``:
their ``run.json`` exists) instead of retraining them; a fold without its commit marker,
whatever else it holds, is trained again (resuming from its own epoch backup).
"""
from __future__ import annotations

import dataclasses
import json
import time
from pathlib import Path

import numpy as np
import pandas as pd

from ferkit.config import Config
from ferkit.data.samples import Samples
from ferkit.data.sources import load_from_config
from ferkit.data.splits import kfold
from ferkit.evaluation.kfold import (
    FOLD_METRICS, TABLE_COLUMNS, fold_row, kfold_table, plot_kfold, summary_rows,
)
from ferkit.evaluation.tables import to_markdown
from ferkit.runs import RunDir, read_json, write_json_atomic, write_text_atomic
from ferkit.workflows.experiment import train_on_samples

#: Files of the cross-validation folder itself (each fold is a :class:`RunDir`).
SETUP_FILE = "kfold_setup.json"
TABLE_STEM = "kfold"
OOF_PREDICTIONS = "oof_predictions.csv"
PLOT_FILE = "kfold.png"


@dataclasses.dataclass
class KFoldResult:
    """A finished cross-validation; everything is also written under ``run_dir``.

    Attributes:
        run_dir: the cross-validation's folder.
        per_fold: one row per fold, columns :data:`~ferkit.evaluation.kfold.TABLE_COLUMNS`.
        predictions: pooled out-of-fold predictions (every image once) with a ``fold`` column.
        classes: class names, indexed by ``label`` / ``predicted``.
        trained: folds trained by this call; the others were read back from disk.
    """

    run_dir: Path
    per_fold: pd.DataFrame
    predictions: pd.DataFrame
    classes: tuple[str, ...]
    trained: list[int]

    @property
    def table(self) -> pd.DataFrame:
        """The per-fold rows followed by ``mean`` and ``std`` rows."""
        return kfold_table(self.per_fold)

    @property
    def mean(self) -> dict[str, float]:
        return {metric: float(self.per_fold[metric].mean()) for metric in FOLD_METRICS}

    def to_markdown(self, digits: int = 4) -> str:
        return to_markdown(self.table, digits=digits, index=False)


# --------------------------------------------------------------------------- setup and resume
def fold_dir(run_dir: Path, fold: int) -> RunDir:
    """``run_dir/fold_01`` for fold 1 (folds are numbered from 1, as in seed 000's tables)."""
    return RunDir(Path(run_dir) / f"fold_{fold:02d}")


def _check_k(k: int) -> None:
    if not isinstance(k, (int, np.integer)) or isinstance(k, bool) or k < 2:
        raise ValueError(f"k must be an integer of at least 2 folds, got {k!r}")


def _setup(samples: Samples, k: int, stratify: str | None, group: str | None,
           val_fraction: float, seed: int) -> dict:
    return {"k": int(k), "stratify": stratify, "group": group, "val_fraction": float(val_fraction),
            "seed": int(seed), "n_images": len(samples), "classes": list(samples.classes)}


def _check_or_write_setup(run_dir: Path, setup: dict) -> None:
    """Refuse to resume a run directory whose folds were made with other settings."""
    path = run_dir / SETUP_FILE
    if path.is_file():
        previous = read_json(path)
        changed = {key: (previous.get(key), value) for key, value in setup.items()
                   if previous.get(key) != value}
        if changed:
            listed = ", ".join(f"{key}: {old!r} -> {new!r}" for key, (old, new) in changed.items())
            raise ValueError(f"{run_dir} holds a cross-validation with other settings ({listed}); "
                             "use a new run_dir or the original settings to resume it")
    write_json_atomic(path, setup)


def _load_samples(config: Config, run_dir: Path) -> Samples:
    return load_from_config(config.data, run_dir, config.seed)


# --------------------------------------------------------------------------- one fold
def _read_fold(directory: RunDir) -> tuple[dict, pd.DataFrame]:
    """A committed fold's ``metrics.json`` values and predictions."""
    return read_json(directory / RunDir.METRICS), pd.read_csv(directory / RunDir.PREDICTIONS)


def _train_fold(config: Config, samples: Samples, split: pd.Series,
                directory: RunDir) -> tuple[dict, pd.DataFrame]:
    fold_samples = dataclasses.replace(samples, frame=samples.frame.assign(split=split.to_numpy()))
    result = train_on_samples(config, fold_samples, directory.path)
    return result.evaluation.summary, result.evaluation.predictions


def _say(verbose: bool, text: str) -> None:
    if verbose:
        print(f"[kfold] {text}", flush=True)


def _run_fold(config: Config, samples: Samples, split: pd.Series, directory: RunDir, label: str,
              verbose: bool) -> tuple[dict, pd.DataFrame, bool]:
    """A fold's ``metrics.json`` values and predictions, read back when the fold is
    committed, else trained; and whether it was trained now."""
    if directory.is_complete():
        metrics_json, predictions = _read_fold(directory)
        _say(verbose, f"{label}: read back from {directory.path} (already finished)")
        return metrics_json, predictions, False
    _say(verbose, f"{label}: training into {directory.path}")
    start = time.perf_counter()
    metrics_json, predictions = _train_fold(config, samples, split, directory)
    _say(verbose, f"{label}: trained in {time.perf_counter() - start:.1f} s")
    return metrics_json, predictions, True


# --------------------------------------------------------------------------- cross-validation
def cross_validate(config: Config, run_dir: str | Path, k: int = 10, group: str | None = None,
                   val_fraction: float = 0.15, samples: Samples | None = None,
                   stratify: str | None = "label", verbose: bool = True) -> KFoldResult:
    """Train and evaluate a fresh ``config`` model on each of ``k`` folds.

    Data are loaded once (``load_from_config``, or the given ``samples``; any ``split``
    column is replaced by the folds). Folds keep the ``stratify`` column's classes in
    proportion (None: plain folds); ``group`` (e.g. ``"subject"``) keeps each group inside
    one of train / val / test per fold. Committed folds are read back, not retrained.
    Raises ``ValueError`` for ``k < 2``, for ``k`` larger than the smallest class (or its
    number of groups) and when ``run_dir`` holds folds made with other settings. Writes the
    tables, pooled predictions and plot listed in the module docstring.
    """
    _check_k(k)
    run_dir = Path(run_dir)
    samples = samples if samples is not None else _load_samples(config, run_dir)
    splits = kfold(samples.frame, k, stratify=stratify, group=group, val_fraction=val_fraction,
                   seed=config.seed)
    _check_or_write_setup(run_dir, _setup(samples, k, stratify, group, val_fraction, config.seed))
    rows, predictions, trained = [], [], []
    for fold, split in enumerate(splits, start=1):
        label = f"fold {fold}/{k}"
        metrics_json, fold_predictions, trained_now = _run_fold(
            config, samples, split, fold_dir(run_dir, fold), label, verbose)
        rows.append(fold_row(fold, split, metrics_json))
        predictions.append(fold_predictions.assign(fold=fold))
        trained += [fold] if trained_now else []
        _say(verbose, f"{label}: accuracy {rows[-1]['accuracy']:.4f}, "
                      f"macro-F1 {rows[-1]['macro_f1']:.4f}")
    result = KFoldResult(run_dir, pd.DataFrame(rows, columns=list(TABLE_COLUMNS)),
                         pd.concat(predictions, ignore_index=True), samples.classes, trained)
    write_kfold(result)
    _say(verbose, f"mean accuracy {result.mean['accuracy']:.4f}, mean macro-F1 "
                  f"{result.mean['macro_f1']:.4f}; tables in {run_dir}")
    return result


# --------------------------------------------------------------------------- output
def write_kfold(result: KFoldResult) -> Path:
    """``kfold.csv`` / ``.md`` / ``.json``, ``oof_predictions.csv`` and ``plots/kfold.png``."""
    run_dir = Path(result.run_dir)
    table = result.table
    write_text_atomic(run_dir / f"{TABLE_STEM}.csv", table.to_csv(index=False))
    write_text_atomic(run_dir / f"{TABLE_STEM}.md", to_markdown(table, index=False))
    records = _records(result.per_fold)
    summary = summary_rows(result.per_fold).set_index("fold")
    write_json_atomic(run_dir / f"{TABLE_STEM}.json", {
        "folds": records, "mean": summary.loc["mean"].to_dict(),
        "std": summary.loc["std"].to_dict(), "classes": list(result.classes)})
    write_text_atomic(run_dir / OOF_PREDICTIONS, result.predictions.to_csv(index=False))
    plot_kfold(result.per_fold, run_dir / RunDir.PLOTS / PLOT_FILE)
    return run_dir


def _records(frame: pd.DataFrame) -> list[dict]:
    """``frame``'s rows as JSON-safe dicts (numpy scalars as plain numbers)."""
    return json.loads(frame.to_json(orient="records", double_precision=10))


__all__ = ["KFoldResult", "OOF_PREDICTIONS", "SETUP_FILE", "cross_validate", "fold_dir",
           "write_kfold"]
