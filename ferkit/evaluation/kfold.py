"""The k-fold table: one row per fold, then ``mean`` and ``std`` rows (seed 000's Tables 3 and 4).

::

    fold  n_train  n_val  n_test  accuracy  macro_precision  macro_recall  macro_f1
          micro_precision  micro_recall  micro_f1

Pure scoring on finished folds; :func:`ferkit.workflows.kfold.cross_validate` trains them.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ferkit.plotting import new_figure, save_figure
from ferkit.runs import RunDir

#: Metric columns of the per-fold table, in seed 000's order (macro P/R/F1, micro P/R/F1).
FOLD_METRICS: tuple[str, ...] = ("accuracy", "macro_precision", "macro_recall", "macro_f1",
                                 "micro_precision", "micro_recall", "micro_f1")
COUNT_COLUMNS: tuple[str, ...] = ("n_train", "n_val", "n_test")
TABLE_COLUMNS: tuple[str, ...] = ("fold",) + COUNT_COLUMNS + FOLD_METRICS
SUMMARY_ROWS: tuple[str, ...] = ("mean", "std")


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
    """One per-fold row from the fold's split column and its ``metrics.json`` values."""
    counts = split.value_counts()
    row = {"fold": fold, **{f"n_{name}": int(counts.get(name, 0)) for name in ("train", "val", "test")}}
    for metric in FOLD_METRICS:
        key = f"emotion_{metric}"
        if key not in metrics_json:
            raise ValueError(f"fold {fold}: {RunDir.METRICS} has no {key!r}; keys: "
                             f"{sorted(metrics_json)}")
        row[metric] = float(metrics_json[key])
    return row


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


__all__ = ["COUNT_COLUMNS", "FOLD_METRICS", "SUMMARY_ROWS", "TABLE_COLUMNS", "fold_row",
           "kfold_table", "plot_kfold", "summary_rows"]
