"""Class-folder image datasets: ``root/<class>/*.jpg``, optionally under split folders.

Most public FER sets ship as one folder per class, sometimes under split folders::

    root/Angry/img001.jpg          root/train/angry/im0.png
    root/Happy/img002.jpg    or    root/test/angry/im0.png

Folder names become classes through a ``label_map`` (see
:mod:`ferkit.data.sources.common`); skipped items are reported, never silently lost.
"""
from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Sequence

import pandas as pd

from ferkit.data.images import IMAGE_EXTENSIONS
from ferkit.data.samples import Samples
from ferkit.data.sources.common import (
    LabelMap, OnError, check_on_error, class_vocabulary, has_extension, normalise_extensions,
    report_skipped, resolve_label, unreadable_images, visible_children,
)
from ferkit.data.sources.merge import pick_per_class
from ferkit.errors import DatasetLayoutError, ImageReadError, UnknownLabelError

#: Folder names recognised as split folders (compared case-insensitively).
SPLIT_FOLDERS: tuple[str, ...] = ("train", "training", "val", "valid", "validation", "test", "testing")


@dataclasses.dataclass
class _ClassFolder:
    """One ``<class>`` folder: its split (or None), raw name, and image files."""

    folder: Path
    split: str | None
    images: list[Path]


def _split_parents(root: Path, split_folders: Sequence[str]) -> list[tuple[str | None, Path]]:
    """``[(split, folder holding class folders)]``: split folders when root has them, else root."""
    folders = [p for p in visible_children(root) if p.is_dir()]
    wanted = {name.lower() for name in split_folders}
    splits = [p for p in folders if p.name.lower() in wanted]
    if not splits:
        return [(None, root)]
    others = [p.name for p in folders if p not in splits]
    if others:
        raise DatasetLayoutError(
            f"{root}: mixes split folders {[p.name for p in splits]} with other folders {others}; "
            f"put every class folder inside a split folder, or pass split_folders=() to read "
            f"the top-level folders as classes")
    return [(p.name.lower(), p) for p in splits]


def _scan_class_folders(root: Path, split_folders: Sequence[str], extensions: Sequence[str],
                        on_error: OnError, stray: list[tuple[str, str]]) -> list[_ClassFolder]:
    """Every class folder under ``root``; files outside class folders or not images go to ``stray``."""
    found = []
    parents = _split_parents(root, split_folders)
    if parents[0][0] is not None:
        stray += [(str(p), "file outside any split folder") for p in visible_children(root) if not p.is_dir()]
    for split, parent in parents:
        for entry in visible_children(parent):
            if not entry.is_dir():
                stray.append((str(entry), "file outside any class folder"))
                continue
            images = _class_folder_images(entry, extensions, on_error, stray)
            found.append(_ClassFolder(entry, split, images))
    if not found:
        raise DatasetLayoutError(f"{root}: holds no class folders (expected root/<class>/*.jpg)")
    return found


def _class_folder_images(folder: Path, extensions: Sequence[str], on_error: OnError,
                         stray: list) -> list[Path]:
    images = []
    for entry in visible_children(folder):
        if entry.is_dir() and on_error == "skip":
            stray.append((str(entry), "sub-folder inside a class folder, not read"))
        elif entry.is_dir():
            raise DatasetLayoutError(
                f"class folder {folder} holds a sub-folder {entry.name!r}; images must lie directly "
                f"in class folders (if {folder.name!r} is a split folder, add it to split_folders)")
        if has_extension(entry, extensions):
            images.append(entry)
        else:
            stray.append((str(entry), f"extension {entry.suffix or '(none)'!r} is not in extensions"))
    return images


def _label_folders(folders: list[_ClassFolder], label_map: LabelMap | None, on_error: OnError,
                   extensions: Sequence[str],
                   skipped: list[tuple[str, str]]) -> list[tuple[_ClassFolder, str]]:
    """``(folder, class)`` pairs; excluded, unknown (skip mode) and empty folders go to ``skipped``."""
    labelled = []
    for entry in folders:
        try:
            name = resolve_label(entry.folder.name, label_map)
        except UnknownLabelError as error:
            if on_error == "raise":
                raise DatasetLayoutError(f"class folder {entry.folder}: {error}") from None
            skipped.append((str(entry.folder), f"unknown folder name, {len(entry.images)} images"))
            continue
        if name is None:
            skipped.append((str(entry.folder), f"excluded by label_map, {len(entry.images)} images"))
        elif not entry.images:
            if on_error == "raise":
                raise DatasetLayoutError(f"class folder {entry.folder} holds no images with "
                                         f"extensions {', '.join(extensions)}")
            skipped.append((str(entry.folder), "empty class folder"))
        else:
            labelled.append((entry, name))
    return labelled


def _drop_unreadable(frame: pd.DataFrame, on_error: OnError, skipped: list,
                     root: Path) -> pd.DataFrame:
    bad = unreadable_images(frame["path"])
    if bad and on_error == "raise":
        shown = "; ".join(f"{path}: {reason}" for path, reason in bad[:5])
        raise ImageReadError(f"class folders {root}: {len(bad)} unreadable image(s): {shown}")
    skipped += bad
    unreadable = {path for path, _ in bad}
    return frame[~frame["path"].isin(unreadable)].reset_index(drop=True)


def load_class_folders(root: str | Path, label_map: LabelMap | None = None,
                       classes: Sequence[str] | None = None, limit_per_class: int | None = None,
                       seed: int = 0, extensions: Sequence[str] = IMAGE_EXTENSIONS,
                       on_error: OnError = "raise", source_name: str | None = None, *,
                       split_folders: Sequence[str] = SPLIT_FOLDERS,
                       check_images: bool = False) -> Samples:
    """Read a ``root/<class>/<image>`` dataset (optionally ``root/<split>/<class>/<image>``).

    Args:
        root: the dataset folder.
        label_map: folder name -> unified class name (``{"Anger": "Angry", "angry": "Angry"}``),
            or a callable such as ``canonical_emotion``. Folders mapped to None are excluded
            (and reported); with a map, a folder it does not know is an error.
        classes: class order for ``label``; default: the sorted unified names found.
        limit_per_class: keep a seeded random subset of at most this many images per class
            (per split and class with split folders), as seed 001's 400-per-class subset.
        seed: seed of that subset; the same seed always picks the same files.
        extensions: file endings read as images; other files are reported and left out.
        on_error: ``"raise"`` on an unknown or empty class folder, a sub-folder inside a class
            folder (or an undecodable image), or ``"skip"`` it with a :class:`SkippedItemsWarning`.
        source_name: shown in errors and used by :func:`merge_samples`; default: root's name.
        split_folders: top-level folder names read as splits into a ``split`` column
            (lower-cased folder name).
        check_images: decode every image once to catch truncated or mislabelled files.

    Returns:
        Samples with columns ``path``, ``folder`` (the name on disk), ``emotion`` (unified
        class), ``label`` and, with split folders, ``split``.
    """
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"dataset folder {root} does not exist or is not a folder")
    check_on_error(on_error)
    source = source_name or root.name
    stray: list[tuple[str, str]] = []
    skipped: list[tuple[str, str]] = []
    extensions = normalise_extensions(extensions)
    folders = _scan_class_folders(root, split_folders, extensions, on_error, stray)
    labelled = _label_folders(folders, label_map, on_error, extensions, skipped)
    if not labelled:
        report_skipped(source, stray + skipped, stacklevel=2)
        raise DatasetLayoutError(f"{root}: no class folder with images is left to read")
    frame = _class_folder_frame(labelled)
    if check_images:
        frame = _drop_unreadable(frame, on_error, skipped, root)
    report_skipped(source, stray + skipped, stacklevel=2)
    found: dict[str, list[str]] = {}
    for entry, name in labelled:
        found.setdefault(name, []).append(str(entry.folder))
    vocabulary = class_vocabulary(found, classes, f"class folders {root}")
    frame["label"] = frame["emotion"].map({name: i for i, name in enumerate(vocabulary)}).astype("int64")
    samples = Samples(frame=frame, classes=vocabulary, source=source)
    if limit_per_class is None:
        return samples
    return pick_per_class(samples, limit_per_class, seed, stacklevel=3)


def _class_folder_frame(labelled: list[tuple[_ClassFolder, str]]) -> pd.DataFrame:
    rows = [dict(path=str(path), folder=entry.folder.name, emotion=name, split=entry.split)
            for entry, name in labelled for path in entry.images]
    frame = pd.DataFrame(rows)
    if frame["split"].isna().all():
        frame = frame.drop(columns="split")
    return frame.sort_values("path", kind="stable").reset_index(drop=True)
