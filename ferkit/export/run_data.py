"""The run's own images for an export: training rows to calibrate int8 on, evaluation rows
to check the export's accuracy on.

The images are read with the run's ``config.yaml`` (source, label set, image size, channels),
from ``data`` when given, else the config's ``data.path``; which rows are which comes from
the run's ``splits.csv`` (``split`` column, rows matched by their ``row`` or ``path`` key),
so calibration uses rows the model trained on and the parity check the split the run was
scored on (``run.json``'s ``evaluated_on``): the two never overlap.
"""
from __future__ import annotations

import dataclasses
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from ferkit.config import load_config
from ferkit.data.samples import Samples
from ferkit.data.sources import load_from_config
from ferkit.evaluation.selection import evaluated_on, match_classes
from ferkit.runs import RunDir, load_preprocessing

#: Columns that name a sample both in ``splits.csv`` and in freshly loaded samples.
KEY_COLUMNS = ("row", "path")
CALIBRATION_SPLIT = "train"
DEFAULT_CALIBRATION_IMAGES = 300


@dataclasses.dataclass
class SplitImages:
    """Model-ready float32 images ``(n, H, W, C)`` of one split and their class indices."""

    images: np.ndarray
    labels: np.ndarray
    split: str
    source: str


def run_data_path(run_dir: str | Path, data: str | Path | None = None) -> Path | None:
    """Where the run's images are: ``data``, else its config's ``data.path`` (None: the run
    trained on data it synthesised)."""
    if data is not None:
        return Path(data)
    path = _config(Path(run_dir), None).data.path
    return Path(path) if path else None


def calibration_batch(run_dir: str | Path, data: str | Path | None = None, *,
                      count: int = DEFAULT_CALIBRATION_IMAGES, seed: int = 0) -> np.ndarray:
    """``count`` training images of the run (a seeded random choice), model-ready float32."""
    if isinstance(count, bool) or not isinstance(count, (int, np.integer)) or count < 1:
        raise ValueError(f"calibration images must be a whole number >= 1, got {count!r}")
    train = split_images(run_dir, CALIBRATION_SPLIT, data)
    rows = np.random.default_rng(seed).permutation(len(train.images))[:count]
    return train.images[np.sort(rows)]


def evaluation_images(run_dir: str | Path, data: str | Path | None = None) -> SplitImages:
    """The images of the split the run was scored on (``test``, else ``val``)."""
    return split_images(run_dir, evaluated_on(run_dir), data)


def split_images(run_dir: str | Path, split: str, data: str | Path | None = None) -> SplitImages:
    """The run's rows of ``split`` (``splits.csv``), read from ``data`` with its settings."""
    run = RunDir(run_dir)
    samples = _loaded(run.path, data)
    chosen = _split_rows(run, split)
    key = next((k for k in KEY_COLUMNS if k in chosen.columns and k in samples.frame.columns),
               None)
    if key is None:
        raise ValueError(f"{run / RunDir.SPLITS}: no {' or '.join(KEY_COLUMNS)} column shared "
                         f"with the data {samples.source}, so its rows cannot be matched")
    where = pd.Index(samples.frame[key].astype(str)).get_indexer(chosen[key].astype(str))
    if (where < 0).any():
        raise ValueError(f"{run / RunDir.SPLITS}: {int((where < 0).sum())} of its {split!r} rows "
                         f"are not in the data {samples.source} (is --data the run's dataset?)")
    preprocessing = load_preprocessing(run.path)
    samples = match_classes(samples.subset(where), preprocessing.classes, run.path)
    images = samples.images[samples.frame["image_index"].to_numpy()]
    images = images.astype(np.float32) / np.float32(preprocessing.pixel_divisor)
    return SplitImages(images, samples.labels, split, f"{samples.source} ({split})")


def _split_rows(run: RunDir, split: str) -> pd.DataFrame:
    path = run / RunDir.SPLITS
    if not path.is_file():
        raise FileNotFoundError(f"{run.path}: no {RunDir.SPLITS}, so which rows the model trained "
                                "and was scored on is unknown")
    splits = pd.read_csv(path, low_memory=False)
    if "split" not in splits.columns:
        raise ValueError(f"{path}: no 'split' column")
    chosen = splits[splits["split"] == split]
    if chosen.empty:
        raise ValueError(f"{path}: no {split!r} rows (it has "
                         f"{splits['split'].value_counts().to_dict()})")
    return chosen


def _loaded(run_dir: Path, data: str | Path | None) -> Samples:
    config = _config(run_dir, data)
    if config.data.path is not None and not Path(config.data.path).exists():
        raise FileNotFoundError(f"data path {config.data.path} does not exist (the run's "
                                f"{RunDir.CONFIG} names it); pass the dataset with --data")
    with tempfile.TemporaryDirectory() as workdir:
        return load_from_config(config.data, workdir, config.seed)


def _config(run_dir: Path, data: str | Path | None):
    """The run's config reading ``data``, without the FER+ votes (only training uses them)."""
    path = RunDir(run_dir) / RunDir.CONFIG
    if not path.is_file():
        raise FileNotFoundError(f"{run_dir}: no {RunDir.CONFIG}, so how the run read its data "
                                "is unknown")
    overrides = ["data.ferplus_mix=0.0", "data.ferplus_aux=false"]
    return load_config(path, overrides + ([f"data.path={Path(data)}"] if data is not None else []))
