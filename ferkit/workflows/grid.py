"""``run_grid``: train several registered models under one config and compare them.

Seed 002 trained 12 ResBlock networks (kernel 3/5/7 x channels 16/32 x blocks 4/8 with 1/2 FC
layers) on the same data; ``run_grid(config, seed002_grid(), run_dir)`` does the same for any
list of model names, one run directory each, and writes one comparison table and plots. A
model is finished when its run directory is committed (:meth:`ferkit.runs.RunDir.is_complete`).
"""
from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from ferkit.config import Config, ModelConfig
from ferkit.data.samples import Samples
from ferkit.evaluation.tables import to_markdown
from ferkit.runs import RunDir, read_json, write_text_atomic
from ferkit.workflows.experiment import prepare_data, train_on_samples

COLUMNS = ["model", "parameters", "epochs_run", "seconds", "accuracy", "macro_precision",
           "macro_recall", "macro_f1", "weighted_f1"]


GRID_TABLE = "grid"  # grid.csv and grid.md


def _row(name: str, run_dir: Path) -> dict:
    run = RunDir(run_dir)
    metrics = read_json(run / RunDir.METRICS)
    info = run.read_run()
    return {"model": name, "parameters": info["parameters"], "epochs_run": info["epochs_run"],
            "seconds": info["seconds"],
            **{k: metrics[f"emotion_{k}"] for k in COLUMNS[4:]}}


def run_grid(config: Config, names: Sequence[str], run_dir: str | Path,
             samples: Samples | None = None, model_args: dict | None = None) -> pd.DataFrame:
    """Train each model in ``names`` on the same split; return one row per model.

    Data is loaded and split once. Models whose run directory is committed (``run.json``
    written last) are read back, not retrained, so an interrupted grid continues where it
    stopped; a model killed before its commit is trained again.
    ``model_args`` (e.g. ``{"fc_units": 256}``) is passed to every builder.
    """
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    if not names:
        raise ValueError("run_grid needs at least one model name")
    samples = samples if samples is not None else prepare_data(config, run_dir)
    rows = []
    for index, name in enumerate(names, start=1):
        model_dir = run_dir / name
        if not RunDir(model_dir).is_complete():
            print(f"[{index}/{len(names)}] training {name}", flush=True)
            model_config = ModelConfig(name=name, args=dict(model_args or {}))
            train_on_samples(dataclasses.replace(config, model=model_config), samples, model_dir)
        else:
            print(f"[{index}/{len(names)}] {name}: finished earlier, read back", flush=True)
        rows.append(_row(name, model_dir))
    table = pd.DataFrame(rows, columns=COLUMNS).set_index("model")
    write_grid(table, run_dir)
    return table


def write_grid(table: pd.DataFrame, run_dir: Path) -> None:
    """``grid.csv`` / ``grid.md`` and ``plots/grid_scores.png`` / ``plots/grid_size.png``."""
    write_text_atomic(run_dir / f"{GRID_TABLE}.csv", table.to_csv())
    write_text_atomic(run_dir / f"{GRID_TABLE}.md", to_markdown(table))
    plots = run_dir / RunDir.PLOTS
    plots.mkdir(exist_ok=True)
    _plot_scores(table, plots / "grid_scores.png")
    _plot_size(table, plots / "grid_size.png")


def _plot_scores(table: pd.DataFrame, path: Path) -> None:
    figure = Figure(figsize=(max(6, 0.8 * len(table) + 2), 4))
    axes = figure.subplots()
    x = np.arange(len(table))
    for offset, metric in ((-0.2, "accuracy"), (0.2, "macro_f1")):
        axes.bar(x + offset, table[metric], width=0.4, label=metric.replace("_", " "))
    axes.set_xticks(x, table.index, rotation=45, ha="right")
    axes.set_ylim(0, 1)
    axes.set_ylabel("test score")
    axes.legend()
    axes.grid(axis="y", alpha=0.3)
    figure.tight_layout()
    figure.savefig(path, dpi=120)


def _plot_size(table: pd.DataFrame, path: Path) -> None:
    figure = Figure(figsize=(6, 4))
    axes = figure.subplots()
    axes.scatter(table["parameters"], table["accuracy"])
    for name, row in table.iterrows():
        axes.annotate(name, (row["parameters"], row["accuracy"]), fontsize=7,
                      xytext=(3, 3), textcoords="offset points")
    axes.set_xscale("log")
    axes.set_xlabel("parameters")
    axes.set_ylabel("test accuracy")
    axes.grid(alpha=0.3)
    figure.tight_layout()
    figure.savefig(path, dpi=120)
