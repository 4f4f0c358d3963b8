"""Percentile bootstrap intervals of a metric per group, vectorised over resamples."""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from ferkit.evaluation.fairness.groups import (
    METRICS, attribute_table, check_choice, validated_labels,
)

_MAX_BOOT_CELLS = 4_000_000  # resample draws held in memory at once


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
    check_choice("metric", metric, METRICS)
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
    true, pred, _ = validated_labels(y_true, y_pred, class_names)
    table = attribute_table(groups, len(true), attributes, intersectional)
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

