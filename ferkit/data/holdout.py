"""The honest protocol for sources with their own split: validation carved from train, the
source's validation split scored once as test, and the test rows that have a duplicate in
the data the model learnt from or was selected on marked.

FER2013 ships ``Training`` / ``PublicTest`` / ``PrivateTest``. Selecting checkpoints or
test-time augmentation on ``PublicTest`` and then reporting ``PublicTest`` flatters the
figure, and some ``PublicTest`` faces are (near-)copies of ``Training`` faces.
:func:`carve_validation` makes the split that avoids both: ``val`` is a seeded, label-
stratified share of the source's train rows in which every duplicate group lies wholly on
one side, and the source's ``val`` becomes ``test``. :func:`mark_held_out_duplicates` adds
the :data:`DUPLICATE_FLAG` column from which the de-duplicated test figures are computed.
"""
from __future__ import annotations

import dataclasses
from typing import Literal

import numpy as np
import pandas as pd

from ferkit.data.cleaning.dedupe import with_duplicate_groups
from ferkit.data.samples import Samples
from ferkit.data.splits import assert_disjoint, group_split, stratified_split

Duplicates = Literal["perceptual", "exact", "none"]

#: The duplicate-group id of each row (copies share one; every other image has its own).
DUPLICATE_GROUP = "duplicate_group"
#: True for a held-out row whose duplicate group also has rows the model learnt from or was
#: selected on: a ``test`` row with a copy in train or val, a ``val`` row with one in train.
DUPLICATE_FLAG = "test_has_train_duplicate"
#: The split name the source's own test rows (FER2013 ``PrivateTest``) get once its
#: validation rows have become ``test``: kept out of training, selection and scoring.
SOURCE_TEST = "source_test"
#: The source's split names and what they become in a carved split.
CARVED_NAMES: dict[str, str] = {"train": "train", "val": "test", "test": SOURCE_TEST}


def carve_validation(samples: Samples, val_fraction: float, duplicates: Duplicates = "perceptual",
                     seed: int = 0) -> Samples:
    """``samples`` with ``val`` carved from the source's ``train`` rows.

    ``val_fraction`` of the train rows become ``val``, stratified by ``label`` and fixed by
    ``seed``; with ``duplicates`` ``"perceptual"`` or ``"exact"``, duplicate groups (found on
    all rows, see :func:`~ferkit.data.cleaning.with_duplicate_groups`; kept in the
    :data:`DUPLICATE_GROUP` column) are never cut, so no val image has a copy in train.
    The source's ``val`` rows become ``test`` and its ``test`` rows :data:`SOURCE_TEST`.
    """
    _check_carvable(samples, val_fraction)
    if duplicates != "none":
        samples = with_duplicate_groups(samples, kind=duplicates, column=DUPLICATE_GROUP)
    frame = samples.frame
    is_train = (frame["split"] == "train").to_numpy()
    split = frame["split"].map(CARVED_NAMES).to_numpy(dtype=object)
    split[is_train] = _carve(frame[is_train], val_fraction, duplicates != "none", seed)
    frame = frame.assign(split=split)
    if duplicates != "none":
        assert_disjoint(frame[frame["split"].isin(["train", "val"])], DUPLICATE_GROUP)
    return dataclasses.replace(samples, frame=frame)


def _check_carvable(samples: Samples, val_fraction: float) -> None:
    if not 0.0 < val_fraction < 1.0:
        raise ValueError(f"val_fraction must be in (0, 1), got {val_fraction!r}")
    if "split" not in samples.frame.columns:
        raise ValueError(f"{samples.source or 'Samples'}: carving validation needs the "
                         "source's own split (a 'split' column)")
    unknown = sorted(set(samples.frame["split"].dropna()) - set(CARVED_NAMES), key=str)
    if unknown:
        raise ValueError(f"{samples.source or 'Samples'}: split values {unknown} are not the "
                         f"source's own {list(CARVED_NAMES)}")


def _carve(train: pd.DataFrame, val_fraction: float, grouped: bool, seed: int) -> np.ndarray:
    """``train`` / ``val`` per train row: whole duplicate groups, or single images."""
    fractions, names = (1.0 - val_fraction, val_fraction), ("train", "val")
    if grouped:
        carved = group_split(train, fractions, names, group=DUPLICATE_GROUP, stratify="label",
                             seed=seed)
    else:
        carved = stratified_split(train, fractions, names, stratify="label", seed=seed)
    return carved.to_numpy(dtype=object)


def mark_held_out_duplicates(samples: Samples, duplicates: Duplicates = "perceptual") -> Samples:
    """``samples`` with the :data:`DUPLICATE_FLAG` column (and :data:`DUPLICATE_GROUP`).

    An existing :data:`DUPLICATE_GROUP` column (e.g. from :func:`carve_validation`) is
    reused; otherwise groups of kind ``duplicates`` are found on all rows. Hashing 32,000
    48x48 images takes seconds.
    """
    if duplicates == "none":
        raise ValueError("marking held-out duplicates needs duplicate groups; duplicates is "
                         "'none' (use 'perceptual' or 'exact')")
    if "split" not in samples.frame.columns:
        raise ValueError(f"{samples.source or 'Samples'}: split the samples before marking "
                         "held-out duplicates")
    if DUPLICATE_GROUP not in samples.frame.columns:
        samples = with_duplicate_groups(samples, kind=duplicates, column=DUPLICATE_GROUP)
    flag = held_out_duplicates(samples.frame)
    return dataclasses.replace(samples, frame=samples.frame.assign(**{DUPLICATE_FLAG: flag}))


def held_out_duplicates(frame: pd.DataFrame, group: str = DUPLICATE_GROUP) -> np.ndarray:
    """Per row: is it a ``test`` row whose group has train or val rows, or a ``val`` row
    whose group has train rows? (Train rows and any other split: False.)"""
    split, groups = frame["split"], frame[group]
    in_train = set(groups[split == "train"])
    in_train_or_val = in_train | set(groups[split == "val"])
    flag = ((split == "test") & groups.isin(in_train_or_val)) | ((split == "val") & groups.isin(in_train))
    return flag.to_numpy(dtype=bool)


__all__ = ["CARVED_NAMES", "DUPLICATE_FLAG", "DUPLICATE_GROUP", "Duplicates", "SOURCE_TEST",
           "carve_validation", "held_out_duplicates", "mark_held_out_duplicates"]
