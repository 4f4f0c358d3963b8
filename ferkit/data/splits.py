"""Leakage-free splits: group-disjoint (e.g. by subject) and class-stratified, all seeded."""
from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd


def _check_fractions(fractions: Sequence[float], names: Sequence[str]) -> np.ndarray:
    values = np.asarray(fractions, dtype="float64")
    if len(values) != len(names):
        raise ValueError(f"{len(values)} fractions for {len(names)} split names {list(names)}")
    if (values <= 0).any() or not np.isclose(values.sum(), 1.0):
        raise ValueError(f"fractions must be positive and sum to 1, got {list(fractions)}")
    return values


def group_split(frame: pd.DataFrame, fractions: Sequence[float] = (0.6, 0.2, 0.2),
                names: Sequence[str] = ("train", "val", "test"), group: str = "subject",
                stratify: str | None = "label", seed: int = 0) -> pd.Series:
    """Assign whole groups (subjects) to splits so no group appears in two splits.

    Groups are visited in a seeded random order and each goes to the split that still needs
    the most of its classes (greedy stratification); sizes land close to ``fractions``.
    Returns a Series of split names aligned with ``frame``.
    """
    targets = _check_fractions(fractions, names)
    for column in [group] + ([stratify] if stratify else []):
        if column not in frame.columns:
            raise ValueError(f"column {column!r} not in frame (columns: {list(frame.columns)})")
    classes = frame[stratify] if stratify else pd.Series(0, index=frame.index)
    counts = pd.crosstab(frame[group], classes)
    if len(counts) < len(names):
        raise ValueError(f"{len(counts)} distinct {group!r} values cannot fill {len(names)} splits")
    order = np.random.default_rng(seed).permutation(counts.index.to_numpy())
    need = np.outer(targets, counts.sum().to_numpy()).astype("float64")
    assignment = {}
    for g in order:
        row = counts.loc[g].to_numpy()
        score = need @ row / max(row.sum(), 1) + 1e-9 * targets
        best = int(np.argmax(score))
        need[best] -= row
        assignment[g] = names[best]
    return frame[group].map(assignment).rename("split")


def shared_groups(frame: pd.DataFrame, column: str = "subject", split: str = "split") -> pd.DataFrame:
    """Values of ``column`` found in more than one split (empty frame when disjoint)."""
    per_value = frame.groupby(column)[split].agg(lambda s: sorted(set(s)))
    leaked = per_value[per_value.map(len) > 1]
    return pd.DataFrame({column: leaked.index, "splits": leaked.to_numpy()})


def assert_disjoint(frame: pd.DataFrame, column: str = "subject", split: str = "split") -> None:
    """Raise when any ``column`` value (subject, duplicate hash) spans several splits."""
    leaked = shared_groups(frame, column, split)
    if len(leaked):
        examples = ", ".join(f"{v} in {s}" for v, s in leaked.head(5).itertuples(index=False))
        raise ValueError(f"{len(leaked)} {column} values are shared across splits: {examples}")
