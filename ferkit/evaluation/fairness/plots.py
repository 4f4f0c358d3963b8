"""Bar charts of per-group metrics, one panel per attribute."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

from ferkit.evaluation.fairness.groups import (
    METRICS, OVERALL_GROUP, check_choice, check_group_frame, group_rows_only,
)
from ferkit.plotting import new_figure, save_figure


def attribute_panels(figure, attributes: list[str], sizes: list[int]):
    """One subplot per attribute, widths proportional to its number of bars, shared y."""
    axes = figure.subplots(1, len(attributes), sharey=True, squeeze=False, width_ratios=sizes)[0]
    return list(axes)


def annotate_bars(axes, xs, heights: np.ndarray, tops: np.ndarray | None = None, fontsize: int = 7) -> None:
    """Write each bar's value (or "n/a") just above ``tops`` (default: the bar itself)."""
    tops = np.nan_to_num(heights if tops is None else tops)
    for x, height, top in zip(xs, heights, tops):
        text = "n/a" if np.isnan(height) else f"{height:.2f}"
        axes.annotate(text, (x, top), ha="center", va="bottom", fontsize=fontsize,
                      xytext=(0, 2), textcoords="offset points")


def _error_bars(part: pd.DataFrame, intervals: pd.DataFrame | None, metric: str) -> np.ndarray | None:
    """``(2, n)`` distances below / above each bar, from matching interval rows."""
    if intervals is None:
        return None
    chosen = intervals[intervals["metric"] == metric].set_index(["attribute", "group"])
    keys = list(zip(part["attribute"], part["group"]))
    if not any(key in chosen.index for key in keys):
        return None
    lower = np.array([chosen.at[key, "lower"] if key in chosen.index else np.nan for key in keys])
    upper = np.array([chosen.at[key, "upper"] if key in chosen.index else np.nan for key in keys])
    values = part[metric].to_numpy(dtype=np.float64)
    return np.nan_to_num(np.vstack([values - lower, upper - values]).clip(min=0.0))


def plot_group_metrics(by_group: pd.DataFrame, path: str | os.PathLike, metric: str = "accuracy",
                       intervals: pd.DataFrame | None = None, title: str | None = None) -> Path:
    """Bars of one metric per group, one panel per attribute, overall as a dashed line.

    ``intervals`` (from :func:`bootstrap_group_ci`) adds error bars where it has rows for
    ``metric``. Empty groups are marked "n/a". Tick labels carry each group's size.
    """
    check_group_frame(by_group, "by_group")
    check_choice("metric", metric, [m for m in METRICS if m in by_group.columns])
    attributes = list(dict.fromkeys(by_group["attribute"]))
    parts = [group_rows_only(by_group[by_group["attribute"] == a]) for a in attributes]
    sizes = [max(1, len(part)) for part in parts]
    figure = new_figure(max(5.0, 0.7 * sum(sizes) + 1.5 * len(attributes)), 4.0)
    for axes, attribute, part in zip(attribute_panels(figure, attributes, sizes), attributes, parts):
        heights = part[metric].to_numpy(dtype=np.float64)
        xs = np.arange(len(part))
        errors = _error_bars(part, intervals, metric)
        axes.bar(xs, np.nan_to_num(heights), color="tab:blue", yerr=errors, capsize=3, ecolor="black")
        annotate_bars(axes, xs, heights, None if errors is None else heights + errors[1])
        axes.set_xticks(xs, [f"{g}\n(n={n})" for g, n in zip(part["group"], part["n_images"])],
                        rotation=30 if len(part) > 4 else 0, fontsize=8)
        axes.set_title(f"{attribute}{_overall_note(by_group, attribute, metric, axes)}", fontsize=10)
        axes.set_ylim(0.0, 1.15)
    figure.axes[0].set_ylabel(metric)
    figure.suptitle(title or f"{metric} per group")
    figure.tight_layout()
    return save_figure(figure, path)


def _overall_note(by_group: pd.DataFrame, attribute: str, metric: str, axes) -> str:
    """Draw the attribute's overall value as a dashed line; return it as title text."""
    overall = by_group[(by_group["attribute"] == attribute) & (by_group["group"] == OVERALL_GROUP)]
    if overall.empty or not np.isfinite(overall[metric].iloc[0]):
        return ""
    value = float(overall[metric].iloc[0])
    axes.axhline(value, color="tab:red", linestyle="--", linewidth=1)
    return f" (overall {value:.2f}, dashed)"

