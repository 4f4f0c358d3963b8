"""Group labels checked and shaped for the fairness tables (shared by metrics, bootstrap, plots).

An attribute is a column of group labels; :func:`attribute_table` turns the caller's frame
into one string-labelled Categorical per attribute (and per intersection of two).
"""
from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Literal

import numpy as np
import pandas as pd

from ferkit.evaluation import metrics

#: Metric columns of :func:`~ferkit.evaluation.fairness.metrics.group_metrics`, in order.
METRICS: tuple[str, ...] = ("accuracy", "macro_precision", "macro_recall", "macro_f1")
#: Columns of :func:`~ferkit.evaluation.fairness.metrics.group_metrics`.
GROUP_COLUMNS: tuple[str, ...] = ("attribute", "group", "n_images") + METRICS
AVERAGE_GROUP = "average"
OVERALL_GROUP = "overall"
RESERVED_GROUPS: tuple[str, ...] = (AVERAGE_GROUP, OVERALL_GROUP)
#: Joins attribute names and group labels of an intersection.
INTERSECTION = "×"

EmptyGroups = Literal["nan", "raise"]


def as_column_list(columns: str | Sequence[str] | None) -> list[str]:
    """One column name, several, or none, as a list."""
    if columns is None:
        return []
    if isinstance(columns, str):
        return [columns]
    return list(columns)


def require_columns(frame: pd.DataFrame, columns: Sequence[str], what: str) -> None:
    """Raise naming every column of ``columns`` that ``frame`` lacks."""
    missing = [column for column in columns if column not in frame.columns]
    if missing:
        raise ValueError(
            f"{what} has no column(s) {missing}; available columns: {[str(c) for c in frame.columns]}"
        )


def require_no_missing(frame: pd.DataFrame, columns: Sequence[str], what: str) -> None:
    """Raise if any of ``columns`` holds NaN / None."""
    for column in columns:
        n_missing = int(frame[column].isna().sum())
        if n_missing:
            raise ValueError(
                f"{what} column {column!r} has {n_missing} missing (NaN) value(s); "
                "fill or drop those rows first"
            )


def check_choice(name: str, value, choices: Sequence) -> None:
    """Raise naming ``name`` when ``value`` is not one of ``choices``."""
    if value not in choices:
        raise ValueError(f"{name} must be one of {list(choices)}, got {value!r}")


def group_levels(column: pd.Series) -> list:
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
    levels = [str(level) for level in group_levels(column)]
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


def attribute_table(groups, n_samples: int, attributes: Sequence[str] | None,
                     intersectional: bool) -> pd.DataFrame:
    """Validated group labels: one Categorical column per attribute (and intersection)."""
    if isinstance(groups, pd.Series):
        groups = groups.to_frame(name=groups.name if groups.name is not None else "group")
    if not isinstance(groups, pd.DataFrame):
        raise TypeError(f"groups must be a pandas DataFrame or Series, got {type(groups).__name__}")
    columns = as_column_list(attributes) or list(groups.columns)
    if not columns:
        raise ValueError("groups has no attribute columns")
    require_columns(groups, columns, "groups")
    if len(groups) != n_samples:
        raise ValueError(f"groups has {len(groups)} rows but y_true has {n_samples} labels")
    require_no_missing(groups, columns, "groups")
    table = [_as_labelled_categorical(groups[column].reset_index(drop=True), str(column)) for column in columns]
    if intersectional:
        table += [_intersection(a, b) for a, b in itertools.combinations(table, 2)]
    return pd.concat(table, axis=1)


def check_empty_groups(table: pd.DataFrame, empty_groups: EmptyGroups) -> None:
    check_choice("empty_groups", empty_groups, ("nan", "raise"))
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


def check_group_frame(frame: pd.DataFrame, what: str) -> None:
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"{what} must be a group_metrics DataFrame, got {type(frame).__name__}")
    require_columns(frame, ["attribute", "group"], what)
    if not any(metric in frame.columns for metric in METRICS):
        raise ValueError(f"{what} has none of the metric columns {list(METRICS)}")


def validated_labels(y_true, y_pred, class_names: Sequence[str]) -> tuple[np.ndarray, np.ndarray, dict[str, float]]:
    """Validate the labels (through ``metrics.summary``) and return them with the overall scores."""
    overall = metrics.summary(y_true, y_pred, class_names)
    return np.asarray(y_true).astype(np.int64), np.asarray(y_pred).astype(np.int64), overall



def group_rows_only(frame: pd.DataFrame) -> pd.DataFrame:
    """Rows of real groups: no aggregate rows."""
    return frame[~frame["group"].isin(RESERVED_GROUPS)]

