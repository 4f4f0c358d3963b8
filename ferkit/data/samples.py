"""`Samples`: the one in-memory description every source returns.

A pandas frame holds one row per image: where the pixels are (``path`` to an image file,
or ``index`` into ``images``), the labels, action units (``AU<n>`` columns, 0/1), subject
and attribute columns, and optionally ``split``. A group or attribute is just a column, so
splits, fairness and reports all read the same object.
"""
from __future__ import annotations

import dataclasses
from typing import Sequence

import numpy as np
import pandas as pd

from ferkit.data.labels import au_column


@dataclasses.dataclass
class Samples:
    """Images plus a tidy label frame.

    Attributes:
        frame: one row per image. Required: ``label`` (int class index into ``classes``).
            Either a ``path`` column (image files) or ``images`` is set (row ``i`` is
            ``images[frame.index_in_images[i]]``; see ``image_index``).
        classes: class names, ``label`` indexes into it.
        images: optional uint8 array ``(n, H, W)`` or ``(n, H, W, C)`` for in-memory sources.
        aus: the action units encoded as ``AU<n>`` columns, in target order.
        source: a short description of where the data came from (shown in errors/reports).
        skipped: ``(path, reason)`` of each image file left out because it could not be read
            (``data.on_unreadable: skip``); a run lists them in ``skipped_images.csv``.
    """

    frame: pd.DataFrame
    classes: tuple[str, ...]
    images: np.ndarray | None = None
    aus: tuple[int, ...] = ()
    source: str = ""
    skipped: tuple[tuple[str, str], ...] = ()

    def __post_init__(self):
        self.classes = tuple(self.classes)
        self.aus = tuple(int(a) for a in self.aus)
        self.skipped = tuple((str(path), str(reason)) for path, reason in self.skipped)
        if "label" not in self.frame.columns:
            raise ValueError(f"{self.source or 'Samples'}: frame has no 'label' column")
        if self.images is None and "path" not in self.frame.columns:
            raise ValueError(f"{self.source or 'Samples'}: needs a 'path' column or images")
        if self.images is not None and "image_index" not in self.frame.columns:
            self.frame = self.frame.assign(image_index=np.arange(len(self.frame)))
        missing = [au_column(a) for a in self.aus if au_column(a) not in self.frame.columns]
        if missing:
            raise ValueError(f"{self.source or 'Samples'}: AU columns missing: {missing}")

    def __len__(self) -> int:
        return len(self.frame)

    @property
    def au_columns(self) -> list[str]:
        return [au_column(a) for a in self.aus]

    @property
    def labels(self) -> np.ndarray:
        return self.frame["label"].to_numpy(dtype="int64")

    @property
    def au_matrix(self) -> np.ndarray:
        """``(n, len(aus))`` float32 multi-hot matrix of action units."""
        return self.frame[self.au_columns].to_numpy(dtype="float32")

    def subset(self, rows: Sequence[int] | np.ndarray | pd.Series) -> "Samples":
        """Rows by position (or a boolean mask), sharing ``images``."""
        rows = np.asarray(rows)
        if rows.dtype == bool:
            rows = np.flatnonzero(rows)
        return dataclasses.replace(self, frame=self.frame.iloc[rows].reset_index(drop=True))

    def split(self, name: str) -> "Samples":
        """The rows whose ``split`` column equals ``name``."""
        if "split" not in self.frame.columns:
            raise ValueError(f"{self.source or 'Samples'}: no 'split' column; split first")
        return self.subset(self.frame["split"].to_numpy() == name)

    def class_counts(self) -> pd.Series:
        counts = self.frame["label"].value_counts().reindex(range(len(self.classes)), fill_value=0)
        counts.index = list(self.classes)
        return counts
