"""Bias mitigation: before / after comparison, data rebalancing and group sample weights."""
from __future__ import annotations

import math
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from ferkit.evaluation.fairness.groups import (
    AVERAGE_GROUP, METRICS, as_column_list, check_choice, check_group_frame, group_levels,
    require_columns, require_no_missing,
)
from ferkit.evaluation.fairness.metrics import disparities
from ferkit.evaluation.fairness.plots import annotate_bars, attribute_panels
from ferkit.plotting import new_figure, save_figure

#: Pseudo-groups of :func:`compare_mitigation` holding the disparity rows.
DIFFERENCE_ROW = "difference (max-min)"
RATIO_ROW = "ratio (min/max)"


def plot_mitigation_comparison(before: pd.DataFrame, after: pd.DataFrame, path: str | os.PathLike,
                               metric: str = "accuracy", title: str | None = None) -> Path:
    """Grouped bars, before vs after mitigation, per group and overall, one panel per attribute.

    ``before`` and ``after`` are :func:`group_metrics` tables of the two models.
    """
    comparison = compare_mitigation(before, after)
    chosen = comparison[(comparison["metric"] == metric)
                        & ~comparison["group"].isin([AVERAGE_GROUP, DIFFERENCE_ROW, RATIO_ROW])]
    if chosen.empty:
        raise ValueError(f"no {metric!r} values to compare; metrics present: {sorted(set(comparison['metric']))}")
    attributes = list(dict.fromkeys(chosen["attribute"]))
    parts = [chosen[chosen["attribute"] == a] for a in attributes]
    sizes = [len(part) for part in parts]
    figure = new_figure(max(6.0, 1.0 * sum(sizes) + 1.5 * len(attributes)), 4.2)
    width = 0.4
    for axes, attribute, part in zip(attribute_panels(figure, attributes, sizes), attributes, parts):
        xs = np.arange(len(part))
        for offset, column, colour in ((-width / 2, "before", "tab:gray"), (width / 2, "after", "tab:blue")):
            heights = part[column].to_numpy(dtype=np.float64)
            axes.bar(xs + offset, np.nan_to_num(heights), width, color=colour, label=column)
            annotate_bars(axes, xs + offset, heights, fontsize=6)
        axes.set_xticks(xs, list(part["group"]), rotation=30 if len(part) > 4 else 0, fontsize=8)
        axes.set_title(attribute)
        axes.set_ylim(0.0, 1.25)
    figure.axes[0].set_ylabel(metric)
    figure.axes[0].legend(loc="upper left", ncols=2, fontsize=7)
    figure.suptitle(title or f"{metric} before and after mitigation")
    figure.tight_layout()
    return save_figure(figure, path)



# --------------------------------------------------------------------------- mitigation comparison
def _long_metrics(frame: pd.DataFrame, value_name: str) -> pd.DataFrame:
    value_columns = [column for column in ("n_images",) + METRICS if column in frame.columns]
    return frame.melt(id_vars=["attribute", "group"], value_vars=value_columns, var_name="metric",
                      value_name=value_name)


def _long_disparities(frame: pd.DataFrame, value_name: str) -> pd.DataFrame:
    gaps = disparities(frame)
    difference = gaps.assign(group=DIFFERENCE_ROW)[["attribute", "group", "metric", "difference"]]
    ratio = gaps.assign(group=RATIO_ROW)[["attribute", "group", "metric", "ratio"]]
    return pd.concat([difference.rename(columns={"difference": value_name}),
                      ratio.rename(columns={"ratio": value_name})], ignore_index=True)


def compare_mitigation(before: pd.DataFrame, after: pd.DataFrame) -> pd.DataFrame:
    """Before / after / change for every attribute x group x metric, then the disparity rows.

    Both inputs are :func:`group_metrics` tables. Rows come per attribute and metric:
    the groups, ``average``, ``overall``, then ``difference (max-min)`` (smaller is
    fairer) and ``ratio (min/max)`` (closer to 1 is fairer). ``n_images`` is compared
    too. A group present in only one table gets NaN on the other side.
    """
    check_group_frame(before, "before")
    check_group_frame(after, "after")
    keys = ["attribute", "group", "metric"]
    left = pd.concat([_long_metrics(before, "before"), _long_disparities(before, "before")], ignore_index=True)
    right = pd.concat([_long_metrics(after, "after"), _long_disparities(after, "after")], ignore_index=True)
    left["position"] = np.arange(len(left))
    right["position_after"] = np.arange(len(left), len(left) + len(right))
    merged = left.merge(right, how="outer", on=keys)
    merged["position"] = merged["position"].fillna(merged["position_after"])
    merged["change"] = merged["after"] - merged["before"]
    return _order_comparison(merged)


def _order_comparison(merged: pd.DataFrame) -> pd.DataFrame:
    """Attribute by attribute, metric by metric, groups in table order, gap rows last."""
    merged = merged.sort_values("position", kind="stable")
    attribute_rank = {name: k for k, name in enumerate(dict.fromkeys(merged["attribute"]))}
    metric_order = ("n_images",) + METRICS
    order = pd.DataFrame({
        "attribute": merged["attribute"].map(attribute_rank),
        "metric": merged["metric"].map(lambda m: metric_order.index(m) if m in metric_order else len(metric_order)),
        "gap": merged["group"].isin([DIFFERENCE_ROW, RATIO_ROW]).astype(int),
        "position": merged["position"],
    })
    ranked = order.sort_values(["attribute", "metric", "gap", "position"], kind="stable").index
    return merged.loc[ranked, ["attribute", "group", "metric", "before", "after", "change"]].reset_index(drop=True)


# --------------------------------------------------------------------------- data-side mitigation
def _cell_columns(frame: pd.DataFrame, group_columns, label_column: str | None) -> list[str]:
    """Validated columns whose value combinations define the cells to balance."""
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"frame must be a pandas DataFrame, got {type(frame).__name__}")
    columns = as_column_list(group_columns) + ([label_column] if label_column else [])
    if not columns:
        raise ValueError("no columns to balance: give group_columns and/or label_column")
    duplicates = sorted({c for c in columns if columns.count(c) > 1})
    if duplicates:
        raise ValueError(f"columns listed twice: {duplicates}")
    require_columns(frame, columns, "frame")
    if frame.empty:
        raise ValueError("frame is empty; nothing to balance")
    require_no_missing(frame, columns, "frame")
    return columns


def _cell_ids(frame: pd.DataFrame, columns: list[str]) -> np.ndarray:
    """Row -> number of its observed cell."""
    return frame.groupby(columns, observed=True).ngroup().to_numpy()


def _cell_positions(frame: pd.DataFrame, columns: list[str]) -> dict[tuple, np.ndarray]:
    """Observed cell (tuple of values) -> row positions."""
    indices = frame.groupby(columns, observed=True).indices
    return {key if isinstance(key, tuple) else (key,): positions for key, positions in indices.items()}


def _all_cells(frame: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """Every combination of the columns' groups (declared categories included) with its row count."""
    levels = [group_levels(frame[column]) for column in columns]
    cells = pd.MultiIndex.from_product(levels, names=columns)
    counts = frame.groupby(columns, observed=True).size()
    return counts.reindex(cells, fill_value=0).rename("before").reset_index()


def rebalance_plan(frame: pd.DataFrame, group_columns: str | Sequence[str], label_column: str | None = "label",
                   strategy: Literal["oversample", "undersample"] = "oversample",
                   target: int | None = None) -> pd.DataFrame:
    """Rows per group (x class) cell before and after :func:`rebalance`, without touching the data.

    Oversampling lifts every non-empty cell to ``target`` (default: the largest cell);
    undersampling cuts every cell down to ``target`` (default: the smallest non-empty
    cell). Cells with no rows cannot be filled: they stay at 0 and are listed so the gap
    is visible (collect data for them). Columns: the cell columns, before, after, change.
    """
    columns = _cell_columns(frame, group_columns, label_column)
    check_choice("strategy", strategy, ("oversample", "undersample"))
    plan = _all_cells(frame, columns)
    filled = plan["before"] > 0
    if target is None:
        target = int(plan.loc[filled, "before"].max() if strategy == "oversample" else plan.loc[filled, "before"].min())
    if not isinstance(target, (int, np.integer)) or target < 1:
        raise ValueError(f"target must be a positive int (rows per cell), got {target!r}")
    bound = np.maximum if strategy == "oversample" else np.minimum
    plan["after"] = np.where(filled, bound(plan["before"], target), 0).astype(np.int64)
    plan["change"] = plan["after"] - plan["before"]
    return plan


def _spread_repeats(rng: np.random.Generator, positions: np.ndarray, count: int) -> np.ndarray:
    """``count`` picks from ``positions``, each used as evenly as possible, in random order."""
    if count <= 0:
        return np.empty(0, dtype=np.int64)
    rounds = math.ceil(count / len(positions))
    return np.concatenate([rng.permutation(positions) for _ in range(rounds)])[:count]


def rebalance(frame: pd.DataFrame, group_columns: str | Sequence[str], label_column: str | None = "label",
              strategy: Literal["oversample", "undersample"] = "oversample", seed: int = 0,
              target: int | None = None) -> pd.DataFrame:
    """Equalise the row count of every group (x class) cell; see :func:`rebalance_plan`.

    Oversampling appends copies of randomly chosen rows of each short cell (every row is
    copied about equally often) marked ``resampled=True``, so augmentation makes the
    copies differ; original rows keep ``resampled=False`` (or their existing value).
    Undersampling keeps a random subset of each long cell. The index is reset; the plan
    is in ``result.attrs["rebalance_report"]``. Rebalance the training split only: copies
    in a test split would count the same face twice.
    """
    plan = rebalance_plan(frame, group_columns, label_column, strategy, target)
    columns = [column for column in plan.columns if column not in ("before", "after", "change")]
    rng = np.random.default_rng(seed)
    rows = plan[columns + ["after"]].itertuples(index=False, name=None)
    wanted = {tuple(row[:-1]): int(row[-1]) for row in rows}
    cells = [(positions, wanted[cell]) for cell, positions in _cell_positions(frame, columns).items()]
    original = frame.assign(resampled=frame["resampled"].astype(bool) if "resampled" in frame else False)
    if strategy == "oversample":
        picks = [_spread_repeats(rng, positions, n - len(positions)) for positions, n in cells]
        copies = original.iloc[np.concatenate(picks)].assign(resampled=True)
        result = pd.concat([original, copies])
    else:
        keep = [rng.choice(positions, n, replace=False) for positions, n in cells]
        result = original.iloc[np.sort(np.concatenate(keep))]
    result = result.reset_index(drop=True)
    result.attrs["rebalance_report"] = plan
    return result


def group_weights(frame: pd.DataFrame, group_columns: str | Sequence[str], label_column: str | None = None,
                  normalize: bool = True) -> pd.Series:
    """Inverse-frequency sample weights per group (x class) cell, for a group-weighted loss.

    Each row gets ``1 / rows in its cell``; with ``normalize`` they are scaled to mean 1,
    so every cell carries the same total weight and the loss keeps its usual scale.
    Returns a Series named ``sample_weight`` on ``frame``'s index; store it as the
    ``sample_weight`` column for the training pipeline.
    """
    columns = _cell_columns(frame, group_columns, label_column)
    ids = _cell_ids(frame, columns)
    weights = 1.0 / np.bincount(ids)[ids]
    if normalize:
        weights = weights * (len(weights) / weights.sum())
    return pd.Series(weights, index=frame.index, name="sample_weight")
