"""The results table of a search, one row per trial, and its plots.

Read from the project directory alone (KerasTuner's ``trial_*/trial.json`` for status and
hyperparameters, ferkit's ``trial_*/ferkit_trial.json`` for the per-fold scores), so the chief
of a distributed search, or anyone later, can build it from the files the workers wrote::

    trial  status  rank  tuner  <hyperparameters...>  fold_1 .. fold_k  mean  std  seconds
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Mapping

import numpy as np
import pandas as pd

from ferkit.config.space import HpSpec
from ferkit.evaluation.tables import to_markdown
from ferkit.plotting import new_figure, save_figure
from ferkit.runs import RunDir, read_json, write_text_atomic
from ferkit.tuning.tuner import TRIAL_RECORD

#: KerasTuner's own Hyperband hyperparameters kept in the table (under a short name).
HYPERBAND_COLUMNS = {"tuner/epochs": "epochs", "tuner/round": "hb_round",
                     "tuner/bracket": "hb_bracket"}


def _trial_row(trial_dir: Path, hp_names: list[str]) -> dict:
    info = read_json(trial_dir / "trial.json")
    values = info.get("hyperparameters", {}).get("values", {})
    row = {"trial": str(info["trial_id"]), "status": info.get("status", "")}
    for name in hp_names:
        row[name] = values.get(name)
    for name, column in HYPERBAND_COLUMNS.items():
        if name in values:
            row[column] = values[name]
    record_path = trial_dir / TRIAL_RECORD
    if record_path.is_file():
        record = read_json(record_path)
        row["tuner"] = record["tuner_id"]
        objective = record["objective"]
        for index, scores in enumerate(record["folds"], start=1):
            row[f"fold_{index}"] = scores[objective]
        row.update(mean=record["mean"], std=record["std"], seconds=record["seconds"])
    return row


def results_table(project_dir: str | Path, space: Mapping[str, HpSpec],
                  direction: str = "max") -> pd.DataFrame:
    """One row per trial in ``project_dir``: status, the tuner that ran it, hyperparameters,
    the objective per fold, its mean (the value the oracle optimised) and std, and seconds.

    ``rank`` orders finished trials by mean (1 = best for ``direction``); trials without
    scores (failed, or running when the search stopped) have no rank.
    """
    project_dir = Path(project_dir)
    hp_names = list(space)
    rows = [_trial_row(path.parent, hp_names)
            for path in sorted(project_dir.glob("trial_*/trial.json"))]
    table = pd.DataFrame(rows)
    if table.empty:
        return pd.DataFrame(columns=["trial", "status", "rank", "tuner", *hp_names, "mean",
                                     "std", "seconds"])
    for column in ("tuner", "mean", "std", "seconds"):
        if column not in table.columns:
            table[column] = np.nan
    folds = sorted((c for c in table.columns if c.startswith("fold_")),
                   key=lambda c: int(c.split("_")[1]))
    extra = [c for c in HYPERBAND_COLUMNS.values() if c in table.columns and c not in hp_names]
    table["rank"] = table["mean"].rank(ascending=(direction == "min"), method="min")
    table["rank"] = table["rank"].astype("Int64")
    order = ["trial", "status", "rank", "tuner", *hp_names, *extra, *folds, "mean", "std", "seconds"]
    return table[order].sort_values("trial").reset_index(drop=True)


def best_row(table: pd.DataFrame) -> pd.Series:
    """The rank-1 trial; raises when no trial finished."""
    finished = table[table["rank"].notna()]
    if finished.empty:
        raise ValueError("no trial finished with a score; see the trials' messages in "
                         "RUN_DIR/search/trial_*/trial.json")
    return finished.sort_values(["rank", "trial"]).iloc[0]


def readable(table: pd.DataFrame, space: Mapping[str, HpSpec]) -> pd.DataFrame:
    """``table`` with log-sampled hyperparameters as ``1.2e-04`` text (Markdown rounds floats)."""
    out = table.copy()
    for name, spec in space.items():
        if spec.sampling != "linear" and name in out.columns:
            out[name] = [f"{v:.2e}" if pd.notna(v) else "" for v in out[name]]
    return out


def write_results(table: pd.DataFrame, run_dir: str | Path, objective: str,
                  space: Mapping[str, HpSpec], direction: str = "max") -> dict[str, Path]:
    """``trials.csv``, ``trials.md`` and ``plots/tuning_trials.png`` (+ ``tuning_hparams.png``)."""
    run_dir = Path(run_dir)
    paths = {"csv": run_dir / "trials.csv", "markdown": run_dir / "trials.md"}
    write_text_atomic(paths["csv"], table.to_csv(index=False))
    write_text_atomic(paths["markdown"], to_markdown(readable(table, space), index=False))
    plots = run_dir / RunDir.PLOTS
    if table["mean"].notna().any():
        paths["trials_plot"] = plot_trials(table, objective, plots / "tuning_trials.png", direction)
        numeric = [n for n, s in space.items() if s.value_kind in ("int", "float")]
        categorical = [n for n in space if n not in numeric]
        if numeric or categorical:
            paths["hparams_plot"] = plot_hyperparameters(
                table, objective, space, plots / "tuning_hparams.png")
    return paths


def plot_trials(table: pd.DataFrame, objective: str, path: str | Path,
                direction: str = "max") -> Path:
    """Each trial's fold scores (dots), mean ± std (bar), the best trial highlighted and the
    best-so-far line."""
    scored = table[table["mean"].notna()].reset_index(drop=True)
    folds = [c for c in scored.columns if c.startswith("fold_")]
    figure = new_figure(max(6.0, 0.45 * len(scored) + 2.5), 4.0)
    axes = figure.subplots()
    x = np.arange(len(scored))
    best = scored["rank"].astype(float).to_numpy() == 1
    axes.errorbar(x, scored["mean"], yerr=scored["std"].fillna(0), fmt="o", color="tab:blue",
                  capsize=3, label="mean ± std over folds")
    for column in folds:
        axes.scatter(x, scored[column], s=10, color="tab:gray", alpha=0.6, zorder=1)
    axes.scatter([], [], s=10, color="tab:gray", label="single fold")
    axes.scatter(x[best], scored["mean"][best], s=120, facecolors="none", edgecolors="tab:red",
                 linewidths=2, label="best", zorder=3)
    accumulate = np.maximum.accumulate if direction == "max" else np.minimum.accumulate
    running = accumulate(scored["mean"].to_numpy())
    axes.step(x, running, where="post", color="tab:green", alpha=0.7, label="best so far")
    axes.set_xticks(x, scored["trial"], rotation=90 if len(scored) > 20 else 0)
    axes.set_xlabel("trial")
    axes.set_ylabel(objective)
    axes.grid(alpha=0.3)
    axes.legend(fontsize=8)
    return save_figure(figure, path)


def plot_hyperparameters(table: pd.DataFrame, objective: str, space: Mapping[str, HpSpec],
                         path: str | Path) -> Path:
    """Mean score against each hyperparameter's value, one panel per hyperparameter."""
    scored = table[table["mean"].notna()]
    names = [n for n in space if n in scored.columns]
    columns = min(3, len(names))
    rows = math.ceil(len(names) / columns)
    figure = new_figure(4.0 * columns, 3.2 * rows)
    for position, name in enumerate(names, start=1):
        axes = figure.add_subplot(rows, columns, position)
        spec = space[name]
        values = scored[name]
        if spec.value_kind in ("int", "float"):
            axes.scatter(values.astype(float), scored["mean"], s=25)
            if spec.sampling == "log":
                axes.set_xscale("log")
        else:
            labels = [str(v) for v in (spec.values if spec.type == "choice" else (False, True))]
            positions = {label: i for i, label in enumerate(labels)}
            axes.scatter([positions.get(str(v), np.nan) for v in values], scored["mean"], s=25)
            axes.set_xticks(range(len(labels)), labels)
        axes.set_title(name)
        axes.set_ylabel(objective, fontsize=8)
        axes.grid(alpha=0.3)
    figure.tight_layout()
    return save_figure(figure, path)
