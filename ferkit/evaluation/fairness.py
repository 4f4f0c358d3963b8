"""Per-group performance, disparities, bootstrap intervals and data-side bias mitigation.

Every result is a tidy pandas frame. The per-group table (:func:`group_metrics`) has one
row per attribute x group and one column per metric; after each attribute's groups come
two aggregate rows, ``average`` (unweighted mean of the groups, the "Total/Average" row
of a per-group bias table) and ``overall`` (the metrics on all rows together).

Group conventions
-----------------
* An attribute is a column of group labels (``race``, ``gender``, ...). Labels are shown
  as strings; "average" and "overall" are reserved.
* Groups are listed in category order for a pandas ``Categorical`` and sorted otherwise.
* A declared group with no rows (an unused category, or an intersection that never
  occurs) gets a row with ``n_images = 0`` and NaN metrics by default, so a missing
  group is visible rather than silently dropped. Pass ``empty_groups="raise"`` to make
  it an error instead. Empty groups are left out of averages and disparities.
* Missing (NaN) group labels are an error: fill or drop those rows first.
* Intersections of two attributes are named ``race×gender`` with groups like
  ``black×male``; their groups are every combination of the two attributes' groups.

Precision, recall and F1 per group come from :func:`ferkit.evaluation.metrics.summary`,
so they follow its conventions (macro averages over all ``class_names``; a ratio with a
zero denominator is 0).
"""
from __future__ import annotations

import dataclasses
import itertools
import json
import math
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from ferkit.evaluation import metrics
from ferkit.plotting import new_figure, save_figure
from ferkit.evaluation.tables import to_markdown

#: Metric columns of :func:`group_metrics`, in order.
METRICS: tuple[str, ...] = ("accuracy", "macro_precision", "macro_recall", "macro_f1")
#: Columns of :func:`group_metrics`.
GROUP_COLUMNS: tuple[str, ...] = ("attribute", "group", "n_images") + METRICS
AVERAGE_GROUP = "average"
OVERALL_GROUP = "overall"
RESERVED_GROUPS: tuple[str, ...] = (AVERAGE_GROUP, OVERALL_GROUP)
#: Joins attribute names and group labels of an intersection.
INTERSECTION = "×"
#: Pseudo-groups of :func:`compare_mitigation` holding the disparity rows.
DIFFERENCE_ROW = "difference (max-min)"
RATIO_ROW = "ratio (min/max)"
#: Metrics whose intervals :func:`fairness_report` computes.
REPORT_INTERVAL_METRICS: tuple[str, ...] = ("accuracy", "macro_f1")

EmptyGroups = Literal["nan", "raise"]
_MAX_BOOT_CELLS = 4_000_000  # resample draws held in memory at once


# --------------------------------------------------------------------------- validation
def _as_column_list(columns: str | Sequence[str] | None) -> list[str]:
    if columns is None:
        return []
    if isinstance(columns, str):
        return [columns]
    return list(columns)


def _require_columns(frame: pd.DataFrame, columns: Sequence[str], what: str) -> None:
    """Raise naming every column of ``columns`` that ``frame`` lacks."""
    missing = [column for column in columns if column not in frame.columns]
    if missing:
        raise ValueError(
            f"{what} has no column(s) {missing}; available columns: {[str(c) for c in frame.columns]}"
        )


def _require_no_missing(frame: pd.DataFrame, columns: Sequence[str], what: str) -> None:
    """Raise if any of ``columns`` holds NaN / None."""
    for column in columns:
        n_missing = int(frame[column].isna().sum())
        if n_missing:
            raise ValueError(
                f"{what} column {column!r} has {n_missing} missing (NaN) value(s); "
                "fill or drop those rows first"
            )


def _check_choice(name: str, value, choices: Sequence) -> None:
    if value not in choices:
        raise ValueError(f"{name} must be one of {list(choices)}, got {value!r}")


def _group_levels(column: pd.Series) -> list:
    """Declared categories of a Categorical, otherwise the sorted distinct values."""
    if isinstance(column.dtype, pd.CategoricalDtype):
        return list(column.cat.categories)
    values = list(pd.unique(column))
    try:
        return sorted(values)
    except TypeError:
        return sorted(values, key=str)


def _as_labelled_categorical(column: pd.Series, attribute: str) -> pd.Series:
    """The column as a Categorical of string labels, declared groups kept."""
    levels = [str(level) for level in _group_levels(column)]
    duplicates = sorted({level for level in levels if levels.count(level) > 1})
    if duplicates:
        raise ValueError(f"attribute {attribute!r} has groups that read the same as text: {duplicates}")
    reserved = [level for level in levels if level in RESERVED_GROUPS]
    if reserved:
        raise ValueError(
            f"attribute {attribute!r} uses reserved group name(s) {reserved}; "
            f"{list(RESERVED_GROUPS)} are aggregate rows"
        )
    labels = column.astype(object).map(str)
    return pd.Series(pd.Categorical(labels, categories=levels), name=attribute)


def _intersection(first: pd.Series, second: pd.Series) -> pd.Series:
    """Combined attribute whose groups are every pair of the two attributes' groups."""
    name = f"{first.name}{INTERSECTION}{second.name}"
    levels = [f"{a}{INTERSECTION}{b}" for a in first.cat.categories for b in second.cat.categories]
    labels = first.astype(str) + INTERSECTION + second.astype(str)
    return pd.Series(pd.Categorical(labels, categories=levels), name=name)


def _attribute_table(groups, n_samples: int, attributes: Sequence[str] | None,
                     intersectional: bool) -> pd.DataFrame:
    """Validated group labels: one Categorical column per attribute (and intersection)."""
    if isinstance(groups, pd.Series):
        groups = groups.to_frame(name=groups.name if groups.name is not None else "group")
    if not isinstance(groups, pd.DataFrame):
        raise TypeError(f"groups must be a pandas DataFrame or Series, got {type(groups).__name__}")
    columns = _as_column_list(attributes) or list(groups.columns)
    if not columns:
        raise ValueError("groups has no attribute columns")
    _require_columns(groups, columns, "groups")
    if len(groups) != n_samples:
        raise ValueError(f"groups has {len(groups)} rows but y_true has {n_samples} labels")
    _require_no_missing(groups, columns, "groups")
    table = [_as_labelled_categorical(groups[column].reset_index(drop=True), str(column)) for column in columns]
    if intersectional:
        table += [_intersection(a, b) for a, b in itertools.combinations(table, 2)]
    return pd.concat(table, axis=1)


def _check_empty_groups(table: pd.DataFrame, empty_groups: EmptyGroups) -> None:
    _check_choice("empty_groups", empty_groups, ("nan", "raise"))
    if empty_groups == "nan":
        return
    for attribute, column in table.items():
        counts = column.value_counts()
        empty = [str(level) for level in column.cat.categories if counts[level] == 0]
        if empty:
            raise ValueError(
                f"attribute {attribute!r} has declared group(s) with no samples: {empty}; "
                "drop unused categories (Series.cat.remove_unused_categories) or use empty_groups='nan'"
            )


def _check_group_frame(frame: pd.DataFrame, what: str) -> None:
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"{what} must be a group_metrics DataFrame, got {type(frame).__name__}")
    _require_columns(frame, ["attribute", "group"], what)
    if not any(metric in frame.columns for metric in METRICS):
        raise ValueError(f"{what} has none of the metric columns {list(METRICS)}")


# --------------------------------------------------------------------------- per-group table
def _labels(y_true, y_pred, class_names: Sequence[str]) -> tuple[np.ndarray, np.ndarray, dict[str, float]]:
    """Validate the labels (through ``metrics.summary``) and return them with the overall scores."""
    overall = metrics.summary(y_true, y_pred, class_names)
    return np.asarray(y_true).astype(np.int64), np.asarray(y_pred).astype(np.int64), overall


def _scores_of(true: np.ndarray, pred: np.ndarray, class_names: Sequence[str]) -> dict[str, float]:
    """The :data:`METRICS` of a subset, NaN for an empty one."""
    if len(true) == 0:
        return {metric: float("nan") for metric in METRICS}
    scores = metrics.summary(true, pred, class_names)
    return {metric: scores[metric] for metric in METRICS}


def _row(attribute: str, group: str, n_images: int, scores: dict[str, float]) -> dict:
    return {"attribute": attribute, "group": group, "n_images": int(n_images), **scores}


def _average_row(attribute: str, group_rows: list[dict]) -> dict:
    """Unweighted mean over the non-empty groups; n_images is their total."""
    filled = [row for row in group_rows if row["n_images"] > 0]
    scores = {metric: float(np.mean([row[metric] for row in filled])) for metric in METRICS}
    return _row(attribute, AVERAGE_GROUP, sum(row["n_images"] for row in filled), scores)


def group_metrics(y_true, y_pred, groups: pd.DataFrame | pd.Series, class_names: Sequence[str],
                  intersectional: bool = False, attributes: Sequence[str] | None = None,
                  empty_groups: EmptyGroups = "nan") -> pd.DataFrame:
    """Accuracy and macro precision / recall / F1 per attribute and group.

    ``groups`` holds one column per attribute (a Series is one attribute named after the
    Series), aligned by position with ``y_true``; ``attributes`` picks columns from a
    wider frame. ``intersectional=True`` adds an ``a×b`` attribute for every pair.
    Returns columns :data:`GROUP_COLUMNS`: per attribute its groups, then ``average`` and
    ``overall``. See the module notes for empty groups.
    """
    true, pred, overall = _labels(y_true, y_pred, class_names)
    table = _attribute_table(groups, len(true), attributes, intersectional)
    _check_empty_groups(table, empty_groups)
    rows = []
    for attribute, column in table.items():
        group_rows = []
        for group in column.cat.categories:
            mask = (column == group).to_numpy()
            group_rows.append(_row(attribute, group, mask.sum(), _scores_of(true[mask], pred[mask], class_names)))
        rows += group_rows + [_average_row(attribute, group_rows), _row(attribute, OVERALL_GROUP, len(true), overall)]
    return pd.DataFrame(rows, columns=list(GROUP_COLUMNS))


def _group_rows_only(frame: pd.DataFrame) -> pd.DataFrame:
    """Rows of real groups: no aggregate rows."""
    return frame[~frame["group"].isin(RESERVED_GROUPS)]


# --------------------------------------------------------------------------- disparities
def _disparity_row(attribute: str, metric: str, values: pd.Series) -> dict:
    """Spread of one metric over the non-empty groups of one attribute."""
    values = values.dropna()
    row = {"attribute": attribute, "metric": metric, "n_groups": len(values)}
    if values.empty:
        return {**row, "min": np.nan, "max": np.nan, "difference": np.nan, "ratio": np.nan,
                "worst_group": None, "best_group": None}
    low, high = float(values.min()), float(values.max())
    return {**row, "min": low, "max": high, "difference": high - low,
            "ratio": low / high if high > 0 else np.nan,
            "worst_group": str(values.idxmin()), "best_group": str(values.idxmax())}


def disparities(frame: pd.DataFrame) -> pd.DataFrame:
    """Per attribute and metric: min, max, difference (max - min), ratio (min / max), worst and best group.

    ``frame`` is a :func:`group_metrics` table. Aggregate rows and empty groups are
    ignored; ties name the first group in table order. The ratio is NaN when every group
    scores 0. A perfectly even attribute has difference 0 and ratio 1.
    """
    _check_group_frame(frame, "frame")
    metric_columns = [metric for metric in METRICS if metric in frame.columns]
    rows = []
    for attribute, part in _group_rows_only(frame).groupby("attribute", sort=False):
        indexed = part.set_index("group")
        rows += [_disparity_row(attribute, metric, indexed[metric]) for metric in metric_columns]
    columns = ["attribute", "metric", "n_groups", "min", "max", "difference", "ratio", "worst_group", "best_group"]
    return pd.DataFrame(rows, columns=columns)


# --------------------------------------------------------------------------- bootstrap
def _batched_confusion(true: np.ndarray, pred: np.ndarray, n_classes: int) -> np.ndarray:
    """Confusion counts ``(batch, true, pred)`` of row-wise label matrices ``(batch, n)``."""
    batch = true.shape[0]
    offsets = np.arange(batch, dtype=np.int64)[:, None] * (n_classes * n_classes)
    codes = (offsets + true * n_classes + pred).ravel()
    counts = np.bincount(codes, minlength=batch * n_classes * n_classes)
    return counts.reshape(batch, n_classes, n_classes)


def _ratio_or_zero(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    out = np.zeros(numerator.shape, dtype=np.float64)
    np.divide(numerator, denominator, out=out, where=denominator != 0)
    return out


def _resampled_scores(true: np.ndarray, pred: np.ndarray, resamples: np.ndarray, n_classes: int,
                      metric: str) -> np.ndarray:
    """``metric`` of each row of the index matrix ``resamples`` ``(n_boot, n)``, as in ``metrics.summary``."""
    true, pred = true[resamples], pred[resamples]
    if metric == "accuracy":
        return (true == pred).mean(axis=1)
    counts = _batched_confusion(true, pred, n_classes)
    hits = np.diagonal(counts, axis1=1, axis2=2).astype(np.float64)
    predicted, actual = counts.sum(axis=1), counts.sum(axis=2)
    if metric == "macro_precision":
        per_class = _ratio_or_zero(hits, predicted)
    elif metric == "macro_recall":
        per_class = _ratio_or_zero(hits, actual)
    else:  # macro_f1 = 2tp / (2tp + fp + fn) = 2tp / (predicted + actual)
        per_class = _ratio_or_zero(2 * hits, predicted + actual)
    return per_class.mean(axis=1)


def _bootstrap_distribution(true: np.ndarray, pred: np.ndarray, n_classes: int, metric: str,
                            n_boot: int, rng: np.random.Generator) -> np.ndarray:
    """``n_boot`` scores of samples drawn with replacement from one group, in memory-sized chunks."""
    n = len(true)
    chunk = max(1, _MAX_BOOT_CELLS // n)
    scores = []
    for start in range(0, n_boot, chunk):
        resamples = rng.integers(0, n, size=(min(chunk, n_boot - start), n))
        scores.append(_resampled_scores(true, pred, resamples, n_classes, metric))
    return np.concatenate(scores)


def _interval_row(attribute: str, group: str, true: np.ndarray, pred: np.ndarray, n_classes: int,
                  metric: str, n_boot: int, confidence: float, rng: np.random.Generator) -> dict:
    row = {"attribute": attribute, "group": group, "metric": metric, "n_images": len(true)}
    if len(true) == 0:
        return {**row, "estimate": np.nan, "lower": np.nan, "upper": np.nan, "confidence": confidence}
    everything = np.arange(len(true))[None, :]
    estimate = float(_resampled_scores(true, pred, everything, n_classes, metric)[0])
    scores = _bootstrap_distribution(true, pred, n_classes, metric, n_boot, rng)
    tail = (1.0 - confidence) / 2.0
    lower, upper = np.quantile(scores, [tail, 1.0 - tail])
    return {**row, "estimate": estimate, "lower": float(lower), "upper": float(upper), "confidence": confidence}


def _check_bootstrap_settings(metric: str, n_boot: int, confidence: float) -> None:
    _check_choice("metric", metric, METRICS)
    if not isinstance(n_boot, (int, np.integer)) or n_boot < 1:
        raise ValueError(f"n_boot must be a positive int, got {n_boot!r}")
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be between 0 and 1 (exclusive), got {confidence!r}")


def bootstrap_group_ci(y_true, y_pred, groups: pd.DataFrame | pd.Series, class_names: Sequence[str],
                       metric: str = "accuracy", n_boot: int = 1000, confidence: float = 0.95,
                       seed: int = 0, intersectional: bool = False,
                       attributes: Sequence[str] | None = None) -> pd.DataFrame:
    """Percentile bootstrap interval of ``metric`` for every attribute x group.

    Each group is resampled with replacement within itself (its size stays fixed) and the
    metric is recomputed per resample; macro scores come from each resample's confusion
    counts, so classes missing from a resample count as in ``metrics.summary``. Columns:
    attribute, group, metric, n_images, estimate (the metric on the group itself), lower,
    upper, confidence. Empty groups get NaN. ``metric`` is one of :data:`METRICS`.
    """
    _check_bootstrap_settings(metric, n_boot, confidence)
    true, pred, _ = _labels(y_true, y_pred, class_names)
    table = _attribute_table(groups, len(true), attributes, intersectional)
    rng = np.random.default_rng(seed)
    n_classes = len(class_names)
    rows = []
    for attribute, column in table.items():
        for group in column.cat.categories:
            mask = (column == group).to_numpy()
            rows.append(_interval_row(attribute, group, true[mask], pred[mask], n_classes, metric,
                                      n_boot, confidence, rng))
    columns = ["attribute", "group", "metric", "n_images", "estimate", "lower", "upper", "confidence"]
    return pd.DataFrame(rows, columns=columns)


# --------------------------------------------------------------------------- plots
def _attribute_panels(figure, attributes: list[str], sizes: list[int]):
    """One subplot per attribute, widths proportional to its number of bars, shared y."""
    axes = figure.subplots(1, len(attributes), sharey=True, squeeze=False, width_ratios=sizes)[0]
    return list(axes)


def _annotate(axes, xs, heights: np.ndarray, tops: np.ndarray | None = None, fontsize: int = 7) -> None:
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
    _check_group_frame(by_group, "by_group")
    _check_choice("metric", metric, [m for m in METRICS if m in by_group.columns])
    attributes = list(dict.fromkeys(by_group["attribute"]))
    parts = [_group_rows_only(by_group[by_group["attribute"] == a]) for a in attributes]
    sizes = [max(1, len(part)) for part in parts]
    figure = new_figure(max(5.0, 0.7 * sum(sizes) + 1.5 * len(attributes)), 4.0)
    for axes, attribute, part in zip(_attribute_panels(figure, attributes, sizes), attributes, parts):
        heights = part[metric].to_numpy(dtype=np.float64)
        xs = np.arange(len(part))
        errors = _error_bars(part, intervals, metric)
        axes.bar(xs, np.nan_to_num(heights), color="tab:blue", yerr=errors, capsize=3, ecolor="black")
        _annotate(axes, xs, heights, None if errors is None else heights + errors[1])
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
    for axes, attribute, part in zip(_attribute_panels(figure, attributes, sizes), attributes, parts):
        xs = np.arange(len(part))
        for offset, column, colour in ((-width / 2, "before", "tab:gray"), (width / 2, "after", "tab:blue")):
            heights = part[column].to_numpy(dtype=np.float64)
            axes.bar(xs + offset, np.nan_to_num(heights), width, color=colour, label=column)
            _annotate(axes, xs + offset, heights, fontsize=6)
        axes.set_xticks(xs, list(part["group"]), rotation=30 if len(part) > 4 else 0, fontsize=8)
        axes.set_title(attribute)
        axes.set_ylim(0.0, 1.25)
    figure.axes[0].set_ylabel(metric)
    figure.axes[0].legend(loc="upper left", ncols=2, fontsize=7)
    figure.suptitle(title or f"{metric} before and after mitigation")
    figure.tight_layout()
    return save_figure(figure, path)


# --------------------------------------------------------------------------- report
def _records(frame: pd.DataFrame) -> list[dict]:
    """JSON-safe records (NaN -> null, numpy scalars -> plain numbers)."""
    return json.loads(frame.to_json(orient="records", double_precision=10))


@dataclasses.dataclass
class FairnessReport:
    """Per-group table, its disparities and bootstrap intervals of one model's predictions.

    Attributes:
        by_group: :func:`group_metrics` table.
        disparities: :func:`disparities` of ``by_group``.
        intervals: :func:`bootstrap_group_ci` rows for accuracy and macro F1, stacked.
    """

    by_group: pd.DataFrame
    disparities: pd.DataFrame
    intervals: pd.DataFrame

    def tables(self) -> dict[str, pd.DataFrame]:
        return {"fairness_by_group": self.by_group, "fairness_disparities": self.disparities,
                "fairness_intervals": self.intervals}

    def to_markdown(self) -> str:
        """All three tables under headings, for a report or a README."""
        sections = [("Per-group metrics", self.by_group), ("Disparities", self.disparities),
                    ("Bootstrap intervals", self.intervals)]
        return "\n".join(f"## {heading}\n\n{to_markdown(table, index=False)}" for heading, table in sections)

    def write(self, out_dir: str | os.PathLike) -> Path:
        """``fairness_*.csv``, ``fairness.md``, ``fairness.json`` and ``plots/fairness_<metric>.png``."""
        out_dir = Path(out_dir)
        out_dir.mkdir(parents=True, exist_ok=True)
        for name, table in self.tables().items():
            table.to_csv(out_dir / f"{name}.csv", index=False)
        (out_dir / "fairness.md").write_text("# Fairness report\n\n" + self.to_markdown())
        records = {name.removeprefix("fairness_"): _records(table) for name, table in self.tables().items()}
        (out_dir / "fairness.json").write_text(json.dumps(records, indent=1, ensure_ascii=False))
        for metric in REPORT_INTERVAL_METRICS:
            plot_group_metrics(self.by_group, out_dir / "plots" / f"fairness_{metric}.png", metric, self.intervals)
        return out_dir


def fairness_report(predictions_frame: pd.DataFrame, attributes: str | Sequence[str],
                    class_names: Sequence[str], intersectional: bool = False, n_boot: int = 1000,
                    confidence: float = 0.95, seed: int = 0, label_column: str = "label",
                    prediction_column: str = "predicted", empty_groups: EmptyGroups = "nan") -> FairnessReport:
    """Per-group metrics, disparities and accuracy / macro-F1 intervals of a predictions frame.

    ``predictions_frame`` is ``Evaluation.predictions`` (or any frame with true and
    predicted class indices plus the attribute columns).
    """
    attributes = _as_column_list(attributes)
    if not attributes:
        raise ValueError("attributes is empty; name at least one attribute column")
    _require_columns(predictions_frame, [label_column, prediction_column, *attributes], "predictions_frame")
    y_true, y_pred = predictions_frame[label_column].to_numpy(), predictions_frame[prediction_column].to_numpy()
    groups = predictions_frame[attributes]
    by_group = group_metrics(y_true, y_pred, groups, class_names, intersectional, empty_groups=empty_groups)
    intervals = pd.concat(
        [bootstrap_group_ci(y_true, y_pred, groups, class_names, metric, n_boot, confidence, seed, intersectional)
         for metric in REPORT_INTERVAL_METRICS],
        ignore_index=True,
    )
    return FairnessReport(by_group, disparities(by_group), intervals)


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
    _check_group_frame(before, "before")
    _check_group_frame(after, "after")
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
    columns = _as_column_list(group_columns) + ([label_column] if label_column else [])
    if not columns:
        raise ValueError("no columns to balance: give group_columns and/or label_column")
    duplicates = sorted({c for c in columns if columns.count(c) > 1})
    if duplicates:
        raise ValueError(f"columns listed twice: {duplicates}")
    _require_columns(frame, columns, "frame")
    if frame.empty:
        raise ValueError("frame is empty; nothing to balance")
    _require_no_missing(frame, columns, "frame")
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
    levels = [_group_levels(frame[column]) for column in columns]
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
    _check_choice("strategy", strategy, ("oversample", "undersample"))
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


__all__ = [
    "AVERAGE_GROUP", "DIFFERENCE_ROW", "FairnessReport", "GROUP_COLUMNS", "INTERSECTION", "METRICS",
    "OVERALL_GROUP", "RATIO_ROW", "bootstrap_group_ci", "compare_mitigation", "disparities",
    "fairness_report", "group_metrics", "group_weights", "plot_group_metrics",
    "plot_mitigation_comparison", "rebalance", "rebalance_plan",
]
