"""Leakage-free splits: group-disjoint (e.g. by subject), class-stratified and k-fold, all seeded."""
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


# --------------------------------------------------------------------------- stratified splits
def _require_columns(frame: pd.DataFrame, columns: Sequence[str | None]) -> None:
    for column in columns:
        if column is not None and column not in frame.columns:
            raise ValueError(f"column {column!r} not in frame (columns: {list(frame.columns)})")


def _strata(frame: pd.DataFrame, stratify: str | None) -> pd.Series:
    """The column to stratify by, or one constant stratum when ``stratify`` is None."""
    if not stratify:
        return pd.Series(0, index=frame.index)
    missing = int(frame[stratify].isna().sum())
    if missing:
        raise ValueError(f"column {stratify!r} has {missing} missing values; cannot stratify by it")
    return frame[stratify]


def _allocate(n: int, fractions: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Split ``n`` items into ``fractions`` by largest remainder, breaking ties at random.

    Random tie-breaking keeps small classes from always rounding toward the same split.
    """
    share = fractions * n
    counts = np.floor(share).astype(int)
    remainders = share - counts + rng.random(len(share)) * 1e-6
    for k in np.argsort(-remainders)[: n - counts.sum()]:
        counts[k] += 1
    return counts


def stratified_split(frame: pd.DataFrame, fractions: Sequence[float] = (0.7, 0.15, 0.15),
                     names: Sequence[str] = ("train", "val", "test"), stratify: str | None = "label",
                     seed: int = 0) -> pd.Series:
    """Assign single images to splits so each class is divided in ``fractions``.

    Image-level: use it when images are independent (one image per person, as in FER2013);
    use :func:`group_split` or ``kfold(group=...)`` when a person has several images.
    Each class is shuffled with the seed and cut by largest remainder, so per-class shares
    are exact up to one image. Returns a Series of split names aligned with ``frame``.
    """
    targets = _check_fractions(fractions, names)
    _require_columns(frame, [stratify])
    rng = np.random.default_rng(seed)
    strata = _strata(frame, stratify).reset_index(drop=True)
    assigned = np.empty(len(frame), dtype=object)
    for members in strata.groupby(strata, sort=True).indices.values():
        members = rng.permutation(members)
        bounds = np.cumsum(_allocate(len(members), targets, rng))[:-1]
        for name, part in zip(names, np.split(members, bounds)):
            assigned[part] = name
    return pd.Series(assigned, index=frame.index, name="split")


# --------------------------------------------------------------------------- k-fold
def _check_kfold_args(frame: pd.DataFrame, k: int, stratify: str | None, group: str | None,
                      val_fraction: float) -> None:
    _require_columns(frame, [stratify, group])
    if k < 2:
        raise ValueError(f"k must be at least 2, got {k}")
    if not 0 < val_fraction < 1:
        raise ValueError(f"val_fraction must be in (0, 1), got {val_fraction}")
    if group is not None:
        n_groups = frame[group].nunique()
        if k > n_groups:
            raise ValueError(f"k={k} folds need at least {k} distinct {group!r} values, "
                             f"the frame has {n_groups}")
    if stratify is not None:
        _check_class_support(frame, k, stratify, group)


def _check_class_support(frame: pd.DataFrame, k: int, stratify: str, group: str | None) -> None:
    """Every class must be able to reach every test fold: k <= its images (or groups)."""
    unit = "images" if group is None else f"distinct {group!r} values"
    support = (frame[stratify].value_counts() if group is None
               else frame.groupby(stratify)[group].nunique())
    short = support[support < k].sort_values()
    if len(short):
        listed = ", ".join(f"{cls!r}: {n}" for cls, n in short.items())
        raise ValueError(f"k={k} is larger than the number of {unit} in {len(short)} {stratify!r} "
                         f"classes ({listed}); each class needs at least k to reach every test "
                         f"fold. Lower k or pass stratify=None")


def _test_folds(frame: pd.DataFrame, k: int, stratify: str | None, group: str | None,
                seed: int) -> list[np.ndarray]:
    """Positions of each fold's test rows, from scikit-learn's (grouped) stratified k-fold."""
    from sklearn.model_selection import StratifiedGroupKFold, StratifiedKFold

    strata = _strata(frame, stratify).to_numpy()
    if group is None:
        splitter = StratifiedKFold(n_splits=k, shuffle=True, random_state=seed)
        folds = splitter.split(np.zeros(len(frame)), strata)
    else:
        splitter = StratifiedGroupKFold(n_splits=k, shuffle=True, random_state=seed)
        folds = splitter.split(np.zeros(len(frame)), strata, frame[group].to_numpy())
    return [test for _, test in folds]


def kfold(frame: pd.DataFrame, k: int = 10, stratify: str | None = "label", group: str | None = None,
          val_fraction: float = 0.15, seed: int = 0) -> list[pd.Series]:
    """Stratified k-fold cross-validation with a validation split inside each fold.

    Fold ``i`` uses the ``i``-th of ``k`` stratified folds as ``test``; the remaining rows
    are split ``1 - val_fraction`` / ``val_fraction`` into ``train`` / ``val``, stratified
    by the same column (seed 000's protocol: 10 folds, 85/15 inside). With ``group`` (e.g.
    ``"subject"``), test folds come from scikit-learn's ``StratifiedGroupKFold`` and the
    val cut from :func:`group_split`, so no group spans two of train/val/test.

    Returns ``k`` Series of split names aligned with ``frame``; every row is ``test`` in
    exactly one of them. Raises when ``k`` exceeds a class's images (or, grouped, its
    groups) or the number of groups.
    """
    _check_kfold_args(frame, k, stratify, group, val_fraction)
    inner = (1.0 - val_fraction, val_fraction)
    splits = []
    for fold, test in enumerate(_test_folds(frame, k, stratify, group, seed)):
        rest = np.setdiff1d(np.arange(len(frame)), test)
        if group is None:
            train_val = stratified_split(frame.iloc[rest], inner, ("train", "val"), stratify, seed + fold)
        else:
            train_val = group_split(frame.iloc[rest], inner, ("train", "val"), group, stratify, seed + fold)
        values = np.full(len(frame), "test", dtype=object)
        values[rest] = train_val.to_numpy()
        splits.append(pd.Series(values, index=frame.index, name="split"))
    return splits


# --------------------------------------------------------------------------- reports
def _split_order(values: pd.Series) -> list:
    """train, val, test first (when present), then any other split names sorted."""
    known = [name for name in ("train", "val", "test") if name in set(values)]
    return known + sorted(set(values) - set(known), key=str)


def split_report(frame: pd.DataFrame, split: str = "split",
                 by: str | Sequence[str] = ("label",)) -> pd.DataFrame:
    """Tidy counts per split and ``by`` value(s), zeros included, with shares.

    One row per split × combination of ``by`` values that occurs anywhere in ``frame``:
    ``count``, ``share`` (of that split's rows) and ``overall_share`` (of all rows with
    that combination, i.e. how a class was divided among splits). A class missing from a
    split shows as a zero row instead of silently vanishing.
    """
    by = [by] if isinstance(by, str) else list(by)
    if not by:
        raise ValueError("split_report needs at least one 'by' column")
    _require_columns(frame, [split, *by])
    counts = frame.groupby([split, *by], observed=True, dropna=False).size()
    combos = list(frame[by].drop_duplicates().sort_values(by).itertuples(index=False, name=None))
    order = _split_order(frame[split])
    full = pd.MultiIndex.from_tuples([(s, *c) for s in order for c in combos], names=[split, *by])
    report = counts.reindex(full, fill_value=0).rename("count").reset_index()
    report["share"] = report["count"] / report.groupby(split)["count"].transform("sum")
    report["overall_share"] = report["count"] / report.groupby(by, dropna=False)["count"].transform("sum")
    return report
