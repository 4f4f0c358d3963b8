"""De-duplicated figures: the emotion scores again on the scored rows without a duplicate in
the data the model learnt from or was selected on (:data:`ferkit.data.holdout.DUPLICATE_FLAG`).

A FER2013 ``PublicTest`` face whose near-copy is in ``Training`` is partly remembered, not
recognised; the de-duplicated accuracy says how the model does on faces it has never seen.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ferkit.data.holdout import DUPLICATE_FLAG
from ferkit.evaluation import metrics

#: The prefix of every de-duplicated figure in a summary (``dedup_emotion_accuracy``, ...).
PREFIX = "dedup_"


def dedup_summary(y_true, y_pred, classes: Sequence[str], has_duplicate,
                  y_score=None) -> dict[str, float]:
    """``dedup_emotion_<figure>`` for the rows where ``has_duplicate`` is False, plus
    ``dedup_rows`` (how many) and ``duplicate_rows`` (how many were left out).

    The figures are :func:`ferkit.evaluation.metrics.summary`'s; with no row left they are NaN.
    """
    has_duplicate = np.asarray(has_duplicate, dtype=bool)
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    if not len(has_duplicate) == len(y_true) == len(y_pred):
        raise ValueError(f"has_duplicate has {len(has_duplicate)} rows for {len(y_true)} labels "
                         f"and {len(y_pred)} predictions")
    keep = ~has_duplicate
    counts = {"dedup_rows": int(keep.sum()), "duplicate_rows": int(has_duplicate.sum())}
    if not keep.any():
        return {f"{PREFIX}emotion_accuracy": float("nan"),
                f"{PREFIX}emotion_macro_f1": float("nan"), **counts}
    score = None if y_score is None else np.asarray(y_score)[keep]
    figures = metrics.summary(y_true[keep], y_pred[keep], classes, score)
    return {**{f"{PREFIX}emotion_{name}": value for name, value in figures.items()}, **counts}


def has_duplicate_column(frame) -> bool:
    """Whether ``frame`` (samples or predictions) says which rows have a duplicate."""
    return DUPLICATE_FLAG in frame.columns


__all__ = ["DUPLICATE_FLAG", "PREFIX", "dedup_summary", "has_duplicate_column"]
