"""PNG figures for evaluation results.

Each function takes a frame or a dict, writes one PNG and returns its path. Figures are
drawn on matplotlib's Agg canvas without pyplot, so nothing is left open in pyplot's
figure registry and no global backend is switched for the caller.
"""
from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from ferkit.evaluation.metrics import AVERAGE_ROWS, MULTILABEL_AVERAGE_ROWS
from ferkit.plotting import DPI, new_figure, save_figure

_AGGREGATE_ROWS = frozenset(AVERAGE_ROWS) | frozenset(MULTILABEL_AVERAGE_ROWS)
_UNIT_INTERVAL_METRICS = frozenset({"precision", "recall", "f1", "auc"})
_VAL_PREFIX = "val_"




# --------------------------------------------------------------------------- confusion matrix
def _is_count_matrix(values: np.ndarray) -> bool:
    return bool(np.all(values == np.round(values)))


def plot_confusion_matrix(cm_frame: pd.DataFrame, path: str | os.PathLike, title: str | None = None) -> Path:
    """Annotated heatmap of a :func:`~ferkit.evaluation.metrics.confusion_matrix` frame.

    Integer cells are written as counts, anything else with two decimals.
    """
    values = cm_frame.to_numpy(dtype=np.float64)
    if values.ndim != 2 or values.size == 0:
        raise ValueError(f"cm_frame must be a non-empty 2-D frame, got shape {values.shape}")
    n_rows, n_cols = values.shape
    side = max(4.0, 0.6 * max(n_rows, n_cols) + 2.0)
    figure = new_figure(side + 1.0, side)
    axes = figure.add_subplot()
    image = axes.imshow(values, cmap="Blues", vmin=0.0)
    figure.colorbar(image, ax=axes, fraction=0.046, pad=0.04)
    _annotate_cells(axes, values)
    axes.set_xticks(range(n_cols), [str(c) for c in cm_frame.columns], rotation=45, ha="right")
    axes.set_yticks(range(n_rows), [str(i) for i in cm_frame.index])
    axes.set_xlabel(cm_frame.columns.name or "predicted")
    axes.set_ylabel(cm_frame.index.name or "true")
    axes.set_title(title or "Confusion matrix")
    return save_figure(figure, path)


def _annotate_cells(axes, values: np.ndarray) -> None:
    """Write each cell's value, white on dark cells and black on light ones."""
    as_counts = _is_count_matrix(values)
    midpoint = values.max() / 2.0
    for (row, col), value in np.ndenumerate(values):
        text = f"{int(value)}" if as_counts else f"{value:.2f}"
        colour = "white" if value > midpoint else "black"
        axes.text(col, row, text, ha="center", va="center", color=colour, fontsize=9)


# --------------------------------------------------------------------------- per-class bars
def plot_per_class(report_frame: pd.DataFrame, path: str | os.PathLike, metric: str = "f1") -> Path:
    """Bar chart of one metric per class or label of a report frame.

    Aggregate rows (macro, micro, ...) are not drawn as bars; a "macro" row, when
    present, is shown as a dashed reference line. NaN values (e.g. undefined AUC) are
    marked "n/a".
    """
    if metric not in report_frame.columns:
        raise ValueError(f"report_frame has no column {metric!r}; columns are {list(report_frame.columns)}")
    per_item = report_frame.loc[[row for row in report_frame.index if row not in _AGGREGATE_ROWS], metric]
    if per_item.empty:
        raise ValueError("report_frame has no per-class rows to plot")
    names = [str(name) for name in per_item.index]
    heights = per_item.to_numpy(dtype=np.float64)
    figure = new_figure(max(5.0, 0.55 * len(names) + 2.0), 4.0)
    axes = figure.add_subplot()
    bars = axes.bar(range(len(names)), np.nan_to_num(heights), color="tab:blue")
    _label_bars(axes, bars, heights)
    _draw_macro_line(axes, report_frame, metric)
    crowded = len(names) > 6
    axes.set_xticks(range(len(names)), names, rotation=45 if crowded else 0, ha="right" if crowded else "center")
    axes.set_ylabel(metric)
    item = "label" if "samples" in report_frame.index else "class"
    axes.set_title(f"{metric} per {item}")
    if metric in _UNIT_INTERVAL_METRICS:
        axes.set_ylim(0.0, 1.1)
    return save_figure(figure, path)


def _format_bar_value(value: float) -> str:
    if np.isnan(value):
        return "n/a"
    if value > 1 and value == round(value):
        return f"{int(value)}"
    return f"{value:.2f}"


def _label_bars(axes, bars, heights: np.ndarray) -> None:
    for bar, height in zip(bars, heights):
        axes.annotate(
            _format_bar_value(height), (bar.get_x() + bar.get_width() / 2, bar.get_height()),
            ha="center", va="bottom", fontsize=8, xytext=(0, 2), textcoords="offset points",
        )


def _draw_macro_line(axes, report_frame: pd.DataFrame, metric: str) -> None:
    if "macro" not in report_frame.index:
        return
    macro = float(report_frame.at["macro", metric])
    if np.isfinite(macro) and metric != "support":
        axes.axhline(macro, color="tab:red", linestyle="--", linewidth=1, label=f"macro {macro:.2f}")
        axes.legend(loc="lower right", fontsize=8)


# --------------------------------------------------------------------------- training history
def metric_families(keys: Sequence[str]) -> list[tuple[str, list[str]]]:
    """Group history keys as ``(name, [name, val_name])``, "loss" first, others in order.

    A key without its ``val_`` partner (or a ``val_`` key without its training partner)
    forms a family of one.
    """
    bases: list[str] = []
    for key in keys:
        base = key[len(_VAL_PREFIX):] if key.startswith(_VAL_PREFIX) else key
        if base not in bases:
            bases.append(base)
    if "loss" in bases:
        bases.remove("loss")
        bases.insert(0, "loss")
    return [(base, [k for k in (base, _VAL_PREFIX + base) if k in keys]) for base in bases]


def _check_history(history) -> dict[str, list[float]]:
    history = getattr(history, "history", history)  # accept a keras History object too
    if not isinstance(history, Mapping) or not history:
        raise ValueError("history must be a non-empty dict of metric name -> per-epoch values")
    empty = [key for key, values in history.items() if len(values) == 0]
    if empty:
        raise ValueError(f"history has no values for {empty}")
    return {str(key): [float(v) for v in values] for key, values in history.items()}


def plot_history(history: Mapping[str, Sequence[float]], path: str | os.PathLike) -> Path:
    """Training curves, one subplot per metric with train and validation together.

    ``history`` is ``History.history`` from ``model.fit`` (or the History object itself).
    """
    history = _check_history(history)
    families = metric_families(list(history))
    n_cols = min(3, len(families))
    n_rows = math.ceil(len(families) / n_cols)
    figure = new_figure(4.2 * n_cols, 3.2 * n_rows)
    for position, (name, keys) in enumerate(families, start=1):
        axes = figure.add_subplot(n_rows, n_cols, position)
        for key in keys:
            values = history[key]
            label = "validation" if key.startswith(_VAL_PREFIX) else "train"
            axes.plot(range(1, len(values) + 1), values, marker="o", markersize=3, label=label)
        axes.set_title(name)
        axes.set_xlabel("epoch")
        axes.grid(alpha=0.3)
        axes.legend(fontsize=8)
    figure.tight_layout()
    return save_figure(figure, path)


__all__ = ["DPI", "metric_families", "plot_confusion_matrix", "plot_history", "plot_per_class"]
