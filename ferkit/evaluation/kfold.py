"""``cross_validate``: k-fold cross-validation of one config, a full run directory per fold.

Seed 000's protocol: the data are cut into ``k`` stratified folds; each fold is the test set
once while the other ``k - 1`` are split into train and validation (85 / 15 by default), and a
fresh model is trained per fold with the config's early stopping. The per-fold table has one
row per fold plus ``mean`` and ``std`` rows (seed 000's Tables 3 and 4)::

    fold  n_train  n_val  n_test  accuracy  macro_precision  macro_recall  macro_f1
          micro_precision  micro_recall  micro_f1

Run directory::

    kfold_setup.json            the fold settings; a resumed run must use the same ones
    fold_01/ ... fold_<k>/      one run directory per fold (ferkit.training.experiment)
    kfold.{csv,md,json}         the per-fold table with mean / std rows
    oof_predictions.csv         every image's out-of-fold prediction, with its fold
    plots/kfold.png             accuracy and macro-F1 per fold, means as dashed lines

Starting again on the same ``run_dir`` reads finished folds back (their ``metrics.json`` and
``predictions.csv``) instead of retraining them; an interrupted fold resumes from its own
epoch backup.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import time
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ferkit.plotting import new_figure, save_figure
from ferkit.evaluation.tables import to_markdown

if TYPE_CHECKING:  # ferkit.config and ferkit.data load Keras; imported where used, so that
    from ferkit.config import Config  # `ferkit --help` stays quick
    from ferkit.data.samples import Samples

#: Metric columns of the per-fold table, in seed 000's order (macro P/R/F1, micro P/R/F1).
FOLD_METRICS: tuple[str, ...] = ("accuracy", "macro_precision", "macro_recall", "macro_f1",
                                 "micro_precision", "micro_recall", "micro_f1")
COUNT_COLUMNS: tuple[str, ...] = ("n_train", "n_val", "n_test")
TABLE_COLUMNS: tuple[str, ...] = ("fold",) + COUNT_COLUMNS + FOLD_METRICS
SUMMARY_ROWS: tuple[str, ...] = ("mean", "std")
SETUP_FILE = "kfold_setup.json"
#: Files a fold's run directory must hold to count as finished.
FINISHED_FILES: tuple[str, ...] = ("metrics.json", "predictions.csv")


@dataclasses.dataclass
class KFoldResult:
    """A finished cross-validation; everything is also written under ``run_dir``.

    Attributes:
        run_dir: the cross-validation's folder.
        per_fold: one row per fold, columns :data:`TABLE_COLUMNS`.
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


# --------------------------------------------------------------------------- tables
def summary_rows(per_fold: pd.DataFrame) -> pd.DataFrame:
    """``mean`` and ``std`` (sample standard deviation, ddof=1) of every numeric column."""
    numeric = per_fold[list(COUNT_COLUMNS + FOLD_METRICS)].astype("float64")
    rows = pd.DataFrame([numeric.mean(), numeric.std(ddof=1)])
    return rows.assign(fold=list(SUMMARY_ROWS))[list(TABLE_COLUMNS)]


def kfold_table(per_fold: pd.DataFrame) -> pd.DataFrame:
    """Seed 000's layout: one row per fold, then ``mean`` and ``std`` (``fold`` as text)."""
    missing = [column for column in TABLE_COLUMNS if column not in per_fold.columns]
    if missing:
        raise ValueError(f"per-fold frame has no column(s) {missing}; expected {list(TABLE_COLUMNS)}")
    folds = per_fold[list(TABLE_COLUMNS)].astype({"fold": str})
    summary = summary_rows(per_fold)
    table = pd.concat([folds, summary], ignore_index=True)
    for column in COUNT_COLUMNS:  # whole image counts per fold, fractional mean / std
        values = [int(v) for v in folds[column]] + [float(v) for v in summary[column]]
        table[column] = pd.Series(values, dtype=object)
    return table


def fold_row(fold: int, split: pd.Series, metrics_json: dict) -> dict:
    """One per-fold row from the fold's split column and its ``metrics.json``."""
    counts = split.value_counts()
    row = {"fold": fold, **{f"n_{name}": int(counts.get(name, 0)) for name in ("train", "val", "test")}}
    for metric in FOLD_METRICS:
        key = f"emotion_{metric}"
        if key not in metrics_json:
            raise ValueError(f"fold {fold}: metrics.json has no {key!r}; keys: {sorted(metrics_json)}")
        row[metric] = float(metrics_json[key])
    return row


# --------------------------------------------------------------------------- setup and resume
def fold_dir(run_dir: Path, fold: int) -> Path:
    """``run_dir/fold_01`` for fold 1 (folds are numbered from 1, as in seed 000's tables)."""
    return run_dir / f"fold_{fold:02d}"


def is_finished(directory: Path) -> bool:
    return all((directory / name).is_file() for name in FINISHED_FILES)


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
        previous = json.loads(path.read_text())
        changed = {key: (previous.get(key), value) for key, value in setup.items()
                   if previous.get(key) != value}
        if changed:
            listed = ", ".join(f"{key}: {old!r} -> {new!r}" for key, (old, new) in changed.items())
            raise ValueError(f"{run_dir} holds a cross-validation with other settings ({listed}); "
                             "use a new run_dir or the original settings to resume it")
    run_dir.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(setup, indent=1))


def _load_samples(config: Config, run_dir: Path) -> Samples:
    from ferkit.data.sources import load_from_config

    return load_from_config(config.data, run_dir, config.seed)


# --------------------------------------------------------------------------- one fold
def _read_fold(directory: Path) -> tuple[dict, pd.DataFrame]:
    metrics_json = json.loads((directory / "metrics.json").read_text())
    return metrics_json, pd.read_csv(directory / "predictions.csv")


def _train_fold(config: Config, samples: Samples, split: pd.Series,
                directory: Path) -> tuple[dict, pd.DataFrame]:
    from ferkit.training.experiment import train_on_samples

    fold_samples = dataclasses.replace(samples, frame=samples.frame.assign(split=split.to_numpy()))
    result = train_on_samples(config, fold_samples, directory)
    return result.evaluation.summary, result.evaluation.predictions


def _say(verbose: bool, text: str) -> None:
    if verbose:
        print(f"[kfold] {text}", flush=True)


def _run_fold(config: Config, samples: Samples, split: pd.Series, directory: Path, label: str,
              verbose: bool) -> tuple[dict, pd.DataFrame, bool]:
    """A fold's ``metrics.json`` values and predictions, read back when finished, else
    trained; and whether it was trained now."""
    if is_finished(directory):
        metrics_json, predictions = _read_fold(directory)
        _say(verbose, f"{label}: read back from {directory} (already finished)")
        return metrics_json, predictions, False
    _say(verbose, f"{label}: training into {directory}")
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
    one of train / val / test per fold. Folds whose run directory is finished are read
    back, not retrained. Raises ``ValueError`` for ``k < 2``, for ``k`` larger than the
    smallest class (or its number of groups) and when ``run_dir`` holds folds made with
    other settings. Writes the tables, pooled predictions and plot listed in the module
    docstring.
    """
    from ferkit.data.splits import kfold

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
    table.to_csv(run_dir / "kfold.csv", index=False)
    (run_dir / "kfold.md").write_text(to_markdown(table, index=False))
    records = json.loads(result.per_fold.to_json(orient="records", double_precision=10))
    summary = summary_rows(result.per_fold).set_index("fold")
    (run_dir / "kfold.json").write_text(json.dumps(
        {"folds": records, "mean": summary.loc["mean"].to_dict(), "std": summary.loc["std"].to_dict(),
         "classes": list(result.classes)}, indent=1))
    result.predictions.to_csv(run_dir / "oof_predictions.csv", index=False)
    plot_kfold(result.per_fold, run_dir / "plots" / "kfold.png")
    return run_dir


def plot_kfold(per_fold: pd.DataFrame, path: str | Path,
               metrics: tuple[str, ...] = ("accuracy", "macro_f1")) -> Path:
    """Grouped bars of ``metrics`` per fold, each metric's mean as a dashed line."""
    folds = per_fold["fold"].astype(str).to_list()
    width = 0.8 / len(metrics)
    figure = new_figure(max(5.0, 0.6 * len(folds) * len(metrics) + 2.0), 4.0)
    axes = figure.add_subplot()
    xs = np.arange(len(folds))
    for index, (metric, colour) in enumerate(zip(metrics, ("tab:blue", "tab:orange", "tab:green"))):
        values = per_fold[metric].to_numpy(dtype="float64")
        axes.bar(xs + (index - (len(metrics) - 1) / 2) * width, values, width, color=colour,
                 label=metric)
        mean = float(values.mean())
        axes.axhline(mean, color=colour, linestyle="--", linewidth=1, label=f"mean {metric} {mean:.3f}")
    axes.set_xticks(xs, folds)
    axes.set_xlabel("fold")
    axes.set_ylim(0.0, 1.05)
    axes.set_title(f"{len(folds)}-fold cross-validation")
    axes.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    return save_figure(figure, path)


# --------------------------------------------------------------------------- command line
def _kfold_command(args: argparse.Namespace) -> int:
    from ferkit.config import load_config

    overrides = list(args.set) + ([f"data.path={args.data}"] if args.data else [])
    config = load_config(args.config, overrides)
    out = Path(args.out) if args.out else Path("runs") / f"{config.name}_kfold"
    result = cross_validate(config, out, k=args.folds, group=args.group,
                            val_fraction=args.val_fraction)
    print(result.to_markdown())
    print(f"cross-validation folder: {out}")
    return 0


def add_kfold_parser(subparsers) -> argparse.ArgumentParser:
    """Add ``kfold --config CFG [--folds K] [--group COL] ...`` to ``ferkit``'s subparsers."""
    parser = subparsers.add_parser("kfold", help="k-fold cross-validation of a config, one run "
                                                 "directory per fold (resumable)")
    parser.add_argument("--config", required=True, help="experiment YAML (see configs/)")
    parser.add_argument("--data", help="dataset path (overrides data.path)")
    parser.add_argument("--out", help="output folder (default runs/<config name>_kfold)")
    parser.add_argument("--folds", type=int, default=10, help="number of folds (default 10)")
    parser.add_argument("--group", help="column whose groups stay in one split, e.g. subject")
    parser.add_argument("--val-fraction", type=float, default=0.15,
                        help="share of each fold's training rows used for validation")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="override a config value, e.g. --set train.epochs=5 (repeatable)")
    parser.set_defaults(run=_kfold_command)
    return parser


__all__ = ["COUNT_COLUMNS", "FOLD_METRICS", "KFoldResult", "TABLE_COLUMNS", "add_kfold_parser",
           "cross_validate", "kfold_table", "plot_kfold", "summary_rows", "write_kfold"]
