"""``inspect_dataset``: detect a dataset's format, count it, find duplicates, plot it.

Backs ``ferkit data inspect PATH``. Formats: a FER2013 CSV (or a folder holding one, with the
FER+ vote file beside it), a CK+ tree (full or CK+48), a CSV manifest, or class folders.
"""
from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd

from ferkit.data import plots
from ferkit.data.cleaning import duplicate_report
from ferkit.data.samples import Samples
from ferkit.data.sources import (
    load_ckplus, load_class_folders, load_fer2013, load_ferplus, load_manifest, read_images,
)
from ferkit.data.sources.fer_csv import read_header
from ferkit.data.splits import split_report

FER2013_NAMES = ("fer2013.csv.gz", "fer2013.csv")
FERPLUS_NAME = "fer2013new.csv"
#: Columns that describe who is in an image, counted when present.
ATTRIBUTE_COLUMNS = ("skin_tone", "age_group", "gender", "race", "age", "source")


@dataclasses.dataclass
class Inspection:
    """What ``inspect_dataset`` found; ``to_text()`` is what the CLI prints."""

    path: Path
    format: str
    samples: Samples
    counts: pd.DataFrame
    attributes: dict[str, pd.Series]
    duplicates: pd.Series | None
    extra: dict[str, pd.Series]
    plots: list[Path]

    def to_text(self) -> str:
        table = self.counts.pivot_table(index=self.counts.columns[1], columns="split",
                                        values="count", aggfunc="sum", fill_value=0, sort=False)
        lines = [f"{self.path}: {self.format}, {len(self.samples)} images, "
                 f"{len(self.samples.classes)} classes", "", table.to_string(), ""]
        for name, counts in self.attributes.items():
            lines += [f"{name}: " + ", ".join(f"{k} {v}" for k, v in counts.items())]
        if "subject" in self.samples.frame.columns:
            lines += [f"subjects: {self.samples.frame['subject'].nunique()}"]
        if self.samples.aus:
            lines += [f"action units ({len(self.samples.aus)}): "
                      + ", ".join(str(a) for a in self.samples.aus)]
        if self.duplicates is not None:
            lines += ["", "exact duplicates: " + ", ".join(f"{k.replace('_', ' ')} {v}"
                                                           for k, v in self.duplicates.items())]
        for name, series in self.extra.items():
            lines += ["", f"{name}: " + ", ".join(f"{k} {v}" for k, v in series.items())]
        lines += ["", "plots:"] + [f"  {p}" for p in self.plots]
        return "\n".join(lines)


def _csv_header(path: Path) -> list[str]:
    return read_header(path, "CSV")


def detect_format(path: str | Path) -> str:
    """``"fer2013"``, ``"ckplus"``, ``"manifest"`` or ``"folders"``; raises if none fits."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path} does not exist")
    if path.is_file():
        if path.name.endswith((".csv", ".csv.gz")):
            return "fer2013" if {"emotion", "pixels"} <= set(_csv_header(path)) else "manifest"
        raise ValueError(f"{path}: a file must be a FER2013 CSV or a manifest CSV")
    if any((path / name).is_file() for name in FER2013_NAMES):
        return "fer2013"
    if (path / "cohn-kanade-images").is_dir() or (path / "CK+48").is_dir():
        return "ckplus"
    return "folders"


def _fer2013_file(path: Path) -> Path:
    return path if path.is_file() else next(path / n for n in FER2013_NAMES if (path / n).is_file())


def load_any(path: str | Path, image_size=(48, 48)) -> tuple[str, Samples, dict[str, pd.Series]]:
    """Load ``path`` with the loader its format needs; images are read for path sources."""
    path = Path(path)
    kind = detect_format(path)
    extra: dict[str, pd.Series] = {}
    if kind == "fer2013":
        csv = _fer2013_file(path)
        samples = load_fer2013(csv)
        votes = csv.parent / FERPLUS_NAME
        if votes.is_file():
            plus = load_ferplus(csv, votes, mode="majority")
            extra["FER+ majority labels"] = plus.class_counts()
            extra["FER+ rows dropped"] = pd.Series(plus.frame.attrs.get("dropped", {}), dtype="int64")
        return kind, samples, extra
    if kind == "ckplus":
        samples = load_ckplus(path)
    elif kind == "manifest":
        samples = load_manifest(path)
    else:
        samples = load_class_folders(path)
    return kind, read_images(samples, tuple(image_size), 1), extra


def _with_split(samples: Samples) -> Samples:
    if "split" in samples.frame.columns:
        return samples
    return dataclasses.replace(samples, frame=samples.frame.assign(split="all"))


def inspect_dataset(path: str | Path, out_dir: str | Path, duplicates: bool = True) -> Inspection:
    """Count ``path`` per split / class / attribute, report duplicates, and write plots."""
    kind, samples, extra = load_any(path)
    samples = _with_split(samples)
    frame = samples.frame.assign(**{"class": [samples.classes[i] for i in samples.labels]})
    counts = split_report(frame, by=("class",))
    attributes = {c: frame[c].value_counts().sort_index() for c in ATTRIBUTE_COLUMNS
                  if c in frame.columns}
    report = duplicate_report(samples).summary if duplicates else None
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = [plots.plot_class_distribution(samples, out / "class_distribution.png"),
               plots.plot_intensity_histograms(_sample_rows(samples, 5000), out / "intensity_histograms.png"),
               plots.plot_sample_grid(samples, out / "sample_grid.png")]
    if len(samples.aus) >= 2:
        written += [plots.plot_au_frequency(samples, out / "au_frequency.png"),
                    plots.plot_au_correlation(samples, out / "au_correlation.png")]
    counts.to_csv(out / "counts.csv", index=False)
    return Inspection(Path(path), kind, samples, counts, attributes, report, extra, written)


def _sample_rows(samples: Samples, limit: int) -> Samples:
    if len(samples) <= limit:
        return samples
    return samples.subset(np.sort(np.random.default_rng(0).choice(len(samples), limit, replace=False)))
