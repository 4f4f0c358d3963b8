"""Classification metrics as tidy pandas frames.

Every report has one row per class (or per label) and one column per metric, followed
by aggregate rows. The maths is plain numpy so results do not depend on scikit-learn's
version; the test-suite checks them against scikit-learn.

Conventions
-----------
* Single-label inputs are integer class indices in ``[0, len(class_names))``.
* Any ratio whose denominator is zero (a class never predicted, or never present) is 0.
* ROC-AUC is one-vs-rest per class. A class with no positives or no negatives in
  ``y_true`` has an undefined AUC: it is reported as NaN and left out of the macro and
  weighted averages. If every class is undefined, those averages are NaN too.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Literal, Optional

import numpy as np
import pandas as pd

#: Aggregate rows appended after the per-class rows of :func:`classification_report`.
AVERAGE_ROWS: tuple[str, ...] = ("macro", "micro", "weighted")
#: Aggregate rows appended after the per-label rows of :func:`multilabel_report`.
MULTILABEL_AVERAGE_ROWS: tuple[str, ...] = ("micro", "macro", "weighted", "samples")

Normalize = Optional[Literal["true", "pred", "all"]]
_NORMALIZE_CHOICES = (None, "true", "pred", "all")
_MAX_NAMED_VALUES = 5


# --------------------------------------------------------------------------- validation
def _check_names(names: Sequence[str], what: str, reserved: Sequence[str]) -> list[str]:
    """Return ``names`` as a list of strings; reject empty, duplicate or reserved names."""
    if isinstance(names, str):
        raise ValueError(f"{what} must be a sequence of names, not the single string {names!r}")
    names = [str(name) for name in names]
    if not names:
        raise ValueError(f"{what} is empty; need at least one name")
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise ValueError(f"{what} has duplicate names: {duplicates}")
    clashes = [name for name in names if name in reserved]
    if clashes:
        raise ValueError(f"{what} uses reserved row names {clashes}; {list(reserved)} are aggregate rows")
    return names


def _describe_values(values: np.ndarray) -> str:
    """Short listing of offending values for an error message."""
    unique = np.unique(values)
    shown = ", ".join(repr(v.item()) for v in unique[:_MAX_NAMED_VALUES])
    more = len(unique) - _MAX_NAMED_VALUES
    return shown + (f" (and {more} more)" if more > 0 else "")


def _as_numeric_array(values, name: str) -> np.ndarray:
    """``np.asarray`` that insists on a non-empty numeric array."""
    array = np.asarray(values)
    if array.dtype.kind not in "biuf":
        raise ValueError(f"{name} must be numeric, got dtype {array.dtype}")
    if array.size == 0:
        raise ValueError(f"{name} is empty; need at least one sample")
    if array.dtype.kind == "f" and not np.all(np.isfinite(array)):
        raise ValueError(f"{name} contains NaN or infinite values")
    return array


def _check_class_indices(values, name: str, class_names: list[str]) -> np.ndarray:
    """Validate a 1-D vector of class indices and return it as int64."""
    array = _as_numeric_array(values, name)
    if array.ndim != 1:
        raise ValueError(
            f"{name} must be 1-D class indices, got shape {array.shape}; "
            "for one-hot rows or probabilities pass argmax(axis=1)"
        )
    if array.dtype.kind == "f":
        fractional = array[array != np.round(array)]
        if fractional.size:
            raise ValueError(f"{name} must hold integer class indices, found {_describe_values(fractional)}")
    n_classes = len(class_names)
    outside = array[(array < 0) | (array >= n_classes)]
    if outside.size:
        raise ValueError(
            f"{name} contains {_describe_values(outside)}, outside the class indices "
            f"0..{n_classes - 1} of class_names {class_names}"
        )
    return array.astype(np.int64)


def _check_same_length(y_true: np.ndarray, y_pred: np.ndarray, unit: str) -> None:
    if len(y_true) != len(y_pred):
        raise ValueError(f"y_true has {len(y_true)} {unit} but y_pred has {len(y_pred)}")


def _check_scores(y_score, n_samples: int, n_classes: int) -> np.ndarray:
    """Validate an ``(n_samples, n_classes)`` score matrix and return it as float64."""
    scores = _as_numeric_array(y_score, "y_score")
    if scores.ndim != 2:
        raise ValueError(f"y_score must be 2-D (samples, classes), got shape {scores.shape}")
    if scores.shape[0] != n_samples:
        raise ValueError(f"y_score has {scores.shape[0]} rows but y_true has {n_samples} labels")
    if scores.shape[1] != n_classes:
        raise ValueError(f"y_score has {scores.shape[1]} columns but class_names has {n_classes} classes")
    return scores.astype(np.float64)


def _check_single_label(y_true, y_pred, class_names) -> tuple[np.ndarray, np.ndarray, list[str]]:
    names = _check_names(class_names, "class_names", AVERAGE_ROWS)
    true = _check_class_indices(y_true, "y_true", names)
    pred = _check_class_indices(y_pred, "y_pred", names)
    _check_same_length(true, pred, "labels")
    return true, pred, names


def _check_indicator_matrix(values, name: str, n_labels: int) -> np.ndarray:
    """Validate a 2-D array with one column per label; return it as float64."""
    array = _as_numeric_array(values, name)
    if array.ndim != 2:
        raise ValueError(f"{name} must be 2-D (samples, labels), got shape {array.shape}")
    if array.shape[1] != n_labels:
        raise ValueError(f"{name} has {array.shape[1]} columns but label_names has {n_labels} labels")
    return array.astype(np.float64)


def _is_binary(array: np.ndarray) -> bool:
    return bool(np.all((array == 0) | (array == 1)))


def _check_multilabel(y_true, y_pred, label_names, threshold: float) -> tuple[np.ndarray, np.ndarray, list[str]]:
    names = _check_names(label_names, "label_names", MULTILABEL_AVERAGE_ROWS)
    true = _check_indicator_matrix(y_true, "y_true", len(names))
    if not _is_binary(true):
        raise ValueError(f"y_true must hold only 0/1, found {_describe_values(true[(true != 0) & (true != 1)])}")
    pred = _check_indicator_matrix(y_pred, "y_pred", len(names))
    _check_same_length(true, pred, "rows")
    if not np.isfinite(threshold):
        raise ValueError(f"threshold must be a finite number, got {threshold!r}")
    return true.astype(bool), _binarize(pred, threshold), names


def _binarize(y_pred: np.ndarray, threshold: float) -> np.ndarray:
    """Use 0/1 predictions as they are; threshold anything else with ``> threshold``."""
    if _is_binary(y_pred):
        return y_pred.astype(bool)
    return y_pred > threshold


# --------------------------------------------------------------------------- arithmetic
def _safe_ratio(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    """Elementwise ratio with 0 wherever the denominator is 0."""
    numerator = np.asarray(numerator, dtype=np.float64)
    denominator = np.asarray(denominator, dtype=np.float64)
    out = np.zeros(np.broadcast(numerator, denominator).shape)
    np.divide(numerator, denominator, out=out, where=denominator != 0)
    return out


def _precision_recall_f1(tp, fp, fn) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Precision, recall and F1 from counts (F1 as 2tp / (2tp + fp + fn))."""
    tp, fp, fn = (np.asarray(x, dtype=np.float64) for x in (tp, fp, fn))
    return _safe_ratio(tp, tp + fp), _safe_ratio(tp, tp + fn), _safe_ratio(2 * tp, 2 * tp + fp + fn)


def _weighted_mean(values: np.ndarray, weights: np.ndarray) -> float:
    """Mean of ``values`` weighted by ``weights``; 0 when the weights sum to 0."""
    total = float(np.sum(weights))
    return float(np.dot(values, weights) / total) if total > 0 else 0.0


def _count_matrix(y_true: np.ndarray, y_pred: np.ndarray, n_classes: int) -> np.ndarray:
    """Counts ``[true, pred]`` of an already-validated pair of index vectors."""
    flat = np.bincount(y_true * n_classes + y_pred, minlength=n_classes * n_classes)
    return flat.reshape(n_classes, n_classes)


def _average_ranks(values: np.ndarray) -> np.ndarray:
    """1-based ranks of ``values``, tied values sharing the mean of their ranks."""
    order = np.argsort(values, kind="mergesort")
    ordered = values[order]
    starts_group = np.r_[True, ordered[1:] != ordered[:-1]]
    group_of = np.cumsum(starts_group) - 1
    first = np.flatnonzero(starts_group)
    last = np.r_[first[1:], len(values)]
    group_rank = (first + 1 + last) / 2.0
    ranks = np.empty(len(values))
    ranks[order] = group_rank[group_of]
    return ranks


def binary_auc(is_positive, scores) -> float:
    """ROC-AUC of ``scores`` for a 0/1 target, NaN if either class is absent.

    Uses the Mann-Whitney rank statistic, so a tied positive/negative pair counts 1/2 -
    the same value as the area under the trapezoidal ROC curve.
    """
    positive = np.asarray(is_positive).astype(bool).ravel()
    scores = np.asarray(scores, dtype=np.float64).ravel()
    n_pos = int(positive.sum())
    n_neg = positive.size - n_pos
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    rank_sum = float(_average_ranks(scores)[positive].sum())
    return (rank_sum - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg)


def _one_hot(y_true: np.ndarray, n_classes: int) -> np.ndarray:
    return np.eye(n_classes, dtype=bool)[y_true]


def _auc_table(y_true: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, dict[str, float]]:
    """Per-class one-vs-rest AUCs and the macro / micro / weighted averages."""
    n_classes = scores.shape[1]
    truth = _one_hot(y_true, n_classes)
    per_class = np.array([binary_auc(truth[:, k], scores[:, k]) for k in range(n_classes)])
    defined = ~np.isnan(per_class)
    support = truth.sum(axis=0)
    averages = {
        "macro": float(per_class[defined].mean()) if defined.any() else float("nan"),
        "micro": binary_auc(truth, scores),
        "weighted": (
            float(np.dot(per_class[defined], support[defined]) / support[defined].sum())
            if defined.any() else float("nan")
        ),
    }
    return per_class, averages


# --------------------------------------------------------------------------- single-label API
def confusion_matrix(y_true, y_pred, class_names: Sequence[str], normalize: Normalize = None) -> pd.DataFrame:
    """Confusion matrix with rows = true class, columns = predicted class.

    ``normalize``: None for counts; ``"true"`` divides each row by its total (recall on
    the diagonal), ``"pred"`` each column (precision on the diagonal), ``"all"`` by the
    number of samples. An all-zero row or column stays 0.
    """
    if normalize not in _NORMALIZE_CHOICES:
        raise ValueError(f"normalize must be one of {_NORMALIZE_CHOICES}, got {normalize!r}")
    true, pred, names = _check_single_label(y_true, y_pred, class_names)
    counts = _count_matrix(true, pred, len(names))
    values = _normalize_counts(counts, normalize)
    return pd.DataFrame(values, index=pd.Index(names, name="true"), columns=pd.Index(names, name="predicted"))


def _normalize_counts(counts: np.ndarray, normalize: Normalize) -> np.ndarray:
    if normalize is None:
        return counts
    if normalize == "true":
        return _safe_ratio(counts, counts.sum(axis=1, keepdims=True))
    if normalize == "pred":
        return _safe_ratio(counts, counts.sum(axis=0, keepdims=True))
    return _safe_ratio(counts, counts.sum())


def classification_report(y_true, y_pred, class_names: Sequence[str], y_score=None) -> pd.DataFrame:
    """Precision, recall, F1 and support per class, then macro / micro / weighted rows.

    The aggregate rows carry the total number of samples as support. With ``y_score``
    (``(n, C)`` probabilities or any scores, higher = more likely) an ``auc`` column is
    added: one-vs-rest ROC-AUC per class; macro and weighted average the defined
    per-class values, micro is the AUC of the flattened one-hot targets against the
    flattened scores. Undefined AUCs (class with no positives or no negatives) are NaN.
    """
    true, pred, names = _check_single_label(y_true, y_pred, class_names)
    counts = _count_matrix(true, pred, len(names))
    frame = _report_from_counts(counts, names)
    if y_score is not None:
        scores = _check_scores(y_score, len(true), len(names))
        per_class, averages = _auc_table(true, scores)
        frame["auc"] = np.r_[per_class, [averages[row] for row in AVERAGE_ROWS]]
    return frame


def _report_from_counts(counts: np.ndarray, names: list[str]) -> pd.DataFrame:
    """Per-class and averaged precision / recall / F1 of a confusion count matrix."""
    tp = np.diag(counts)
    fp = counts.sum(axis=0) - tp
    fn = counts.sum(axis=1) - tp
    support = counts.sum(axis=1)
    per_class = _precision_recall_f1(tp, fp, fn)
    micro = _precision_recall_f1(tp.sum(), fp.sum(), fn.sum())
    rows = {
        "macro": [float(metric.mean()) for metric in per_class],
        "micro": [float(metric) for metric in micro],
        "weighted": [_weighted_mean(metric, support) for metric in per_class],
    }
    return _assemble_report(names, per_class, support, rows, AVERAGE_ROWS)


def _assemble_report(names, per_item, support, aggregate_rows: dict, order: Sequence[str]) -> pd.DataFrame:
    """Stack per-item metric vectors and aggregate rows into one frame."""
    precision, recall, f1 = per_item
    total = int(np.sum(support))
    return pd.DataFrame(
        {
            "precision": np.r_[precision, [aggregate_rows[row][0] for row in order]],
            "recall": np.r_[recall, [aggregate_rows[row][1] for row in order]],
            "f1": np.r_[f1, [aggregate_rows[row][2] for row in order]],
            "support": np.r_[np.asarray(support, dtype=np.int64), [total] * len(order)].astype(np.int64),
        },
        index=pd.Index(list(names) + list(order)),
    )


def summary(y_true, y_pred, class_names: Sequence[str], y_score=None) -> dict[str, float]:
    """Headline single-label scores as a flat dict of plain floats.

    Keys: accuracy, macro_/micro_ precision, recall and f1, weighted_f1, and with
    ``y_score`` also auc_macro, auc_micro, auc_weighted (NaN when undefined).
    """
    report = classification_report(y_true, y_pred, class_names, y_score)
    # Single-label micro precision is correct / n, i.e. the accuracy.
    result = {"accuracy": float(report.at["micro", "precision"])}
    for average in ("macro", "micro"):
        for metric in ("precision", "recall", "f1"):
            result[f"{average}_{metric}"] = float(report.at[average, metric])
    result["weighted_f1"] = float(report.at["weighted", "f1"])
    if "auc" in report:
        for average in ("macro", "micro", "weighted"):
            result[f"auc_{average}"] = float(report.at[average, "auc"])
    return result


# --------------------------------------------------------------------------- multi-label API
def multilabel_report(y_true, y_pred, label_names: Sequence[str], threshold: float = 0.5) -> pd.DataFrame:
    """Precision, recall, F1 and support per label, then micro / macro / weighted / samples.

    ``y_true`` is an ``(n, L)`` 0/1 matrix. ``y_pred`` is either 0/1 (used as is) or
    scores, which count as positive when ``> threshold`` (Keras' binary-accuracy rule).
    The aggregate rows carry the total number of positive labels as support; "samples"
    averages the per-row scores (a row with no true and no predicted labels scores 0).
    """
    true, pred, names = _check_multilabel(y_true, y_pred, label_names, threshold)
    return _multilabel_frame(true, pred, names)


def _multilabel_frame(true: np.ndarray, pred: np.ndarray, names: list[str]) -> pd.DataFrame:
    """Per-label and averaged scores of validated boolean indicator matrices."""
    tp, fp, fn = _indicator_counts(true, pred, axis=0)
    support = true.sum(axis=0)
    per_label = _precision_recall_f1(tp, fp, fn)
    micro = _precision_recall_f1(tp.sum(), fp.sum(), fn.sum())
    per_sample = _precision_recall_f1(*_indicator_counts(true, pred, axis=1))
    rows = {
        "micro": [float(metric) for metric in micro],
        "macro": [float(metric.mean()) for metric in per_label],
        "weighted": [_weighted_mean(metric, support) for metric in per_label],
        "samples": [float(metric.mean()) for metric in per_sample],
    }
    return _assemble_report(names, per_label, support, rows, MULTILABEL_AVERAGE_ROWS)


def _indicator_counts(true: np.ndarray, pred: np.ndarray, axis: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """True-positive, false-positive and false-negative counts summed along ``axis``."""
    tp = np.sum(true & pred, axis=axis)
    fp = np.sum(~true & pred, axis=axis)
    fn = np.sum(true & ~pred, axis=axis)
    return tp, fp, fn


def multilabel_summary(y_true, y_pred, label_names: Sequence[str], threshold: float = 0.5) -> dict[str, float]:
    """Headline multi-label scores as a flat dict of plain floats.

    Keys: micro_f1, macro_f1, micro_precision, micro_recall, subset_accuracy (rows whose
    every label is right) and hamming_accuracy (fraction of individual labels right).
    """
    true, pred, names = _check_multilabel(y_true, y_pred, label_names, threshold)
    report = _multilabel_frame(true, pred, names)
    return {
        "micro_f1": float(report.at["micro", "f1"]),
        "macro_f1": float(report.at["macro", "f1"]),
        "micro_precision": float(report.at["micro", "precision"]),
        "micro_recall": float(report.at["micro", "recall"]),
        "subset_accuracy": float(np.mean(np.all(true == pred, axis=1))),
        "hamming_accuracy": float(np.mean(true == pred)),
    }


__all__ = [
    "AVERAGE_ROWS",
    "MULTILABEL_AVERAGE_ROWS",
    "binary_auc",
    "classification_report",
    "confusion_matrix",
    "multilabel_report",
    "multilabel_summary",
    "summary",
]
