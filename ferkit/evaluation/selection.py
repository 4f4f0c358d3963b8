"""What a trained run is scored on: the split, the class order, the TTA views' name, the folder.

Splits are ferkit's ``train`` / ``val`` / ``test``, for FER2013 and FER+ data the CSV's
``Usage`` values (``Training``, ``PublicTest``, ``PrivateTest``), or ``all``. By default:
``PublicTest`` for FER2013 / FER+ data, otherwise the split the run was scored on
(``run.json``'s ``evaluated_on``). Scoring itself is :func:`ferkit.workflows.evaluate.evaluate_run`.
"""
from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ferkit.data.sources.fer2013 import USAGE_TO_SPLIT
from ferkit.data.samples import Samples
from ferkit.errors import RunDirectoryError, RunFormatError
from ferkit.runs import RunDir

FER_SOURCES = ("fer2013", "ferplus")
SPLITS = ("train", "val", "test")
ALL = "all"


def resolve_split(requested: str | None, source: str, run_dir: str | Path) -> str:
    """The split to score: ``requested``, checked, or the default for ``source``."""
    if requested is None:
        return "PublicTest" if source in FER_SOURCES else evaluated_on(run_dir)
    if requested == ALL or requested in SPLITS:
        return requested
    if requested in USAGE_TO_SPLIT:
        if source not in FER_SOURCES:
            raise ValueError(f"--split {requested}: FER2013 Usage names apply to the fer2013 "
                             f"and ferplus sources, not {source!r}; use one of {list(SPLITS)}")
        return requested
    raise ValueError(f"--split {requested!r} is not a split; choose one of "
                     f"{[*SPLITS, *USAGE_TO_SPLIT, ALL]}")


def evaluated_on(run_dir: str | Path) -> str:
    """The split ``run_dir``'s own scoring used (``run.json``), ``test`` when unknown."""
    try:
        split = RunDir(run_dir).read_run().get("evaluated_on", "test")
    except (RunDirectoryError, RunFormatError):
        return "test"
    return split if split in SPLITS else "test"


def match_classes(samples: Samples, classes: tuple[str, ...], run_dir: str | Path) -> Samples:
    """``samples`` relabelled into the run's class order; an error when the names differ."""
    if tuple(samples.classes) == tuple(classes):
        return samples
    missing = sorted(set(classes) - set(samples.classes))
    extra = sorted(set(samples.classes) - set(classes))
    if missing or extra:
        raise ValueError(f"class mismatch: the run {run_dir} predicts {list(classes)} but the "
                         f"data {samples.source} has {list(samples.classes)} (not in the data: "
                         f"{missing or 'none'}; not known to the model: {extra or 'none'})")
    order = np.array([classes.index(name) for name in samples.classes])
    frame = samples.frame.assign(label=order[samples.frame["label"].to_numpy()])
    return dataclasses.replace(samples, frame=frame, classes=tuple(classes))


def tta_label(flip_tta: bool, shift_tta: int = 0, zoom_tta: Sequence[float] = ()) -> str:
    """``"flip TTA"``, ``"flip + shift 2 px TTA"``, ``"flip + shift 2 px + zoom 1.08/1.16
    TTA"`` or ``""``."""
    parts = (["flip"] if flip_tta else []) + ([f"shift {shift_tta} px"] if shift_tta else [])
    parts += [f"zoom {'/'.join(f'{factor:g}' for factor in zoom_tta)}"] if zoom_tta else []
    return f"{' + '.join(parts)} TTA" if parts else ""


def default_out(run_dir: str | Path, data: str | Path, split_name: str, flip_tta: bool,
                shift_tta: int = 0, zoom_tta: Sequence[float] = ()) -> Path:
    """``RUN_DIR/evaluate_<dataset>_<split>[_tta][_shiftN][_zoomA-B]``; the dataset is the
    data path's stem."""
    dataset = Path(data).name.split(".")[0] or "data"
    suffix = ("_tta" if flip_tta else "") + (f"_shift{shift_tta}" if shift_tta else "")
    suffix += f"_zoom{'-'.join(f'{factor:g}' for factor in zoom_tta)}" if zoom_tta else ""
    return Path(run_dir) / f"evaluate_{dataset}_{split_name}{suffix}"


__all__ = ["ALL", "FER_SOURCES", "SPLITS", "default_out", "evaluated_on", "match_classes",
           "resolve_split", "tta_label"]
