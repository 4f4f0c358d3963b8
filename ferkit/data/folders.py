"""Class-folder image datasets (``root/<class>/*.jpg``) and merging sources into one taxonomy.

Most public FER sets ship as one folder per class, sometimes under split folders::

    root/Angry/img001.jpg          root/train/angry/im0.png
    root/Happy/img002.jpg    or    root/test/angry/im0.png

Different datasets spell the same class differently (FANE's ``Angry``, AffectNet's
``Anger``), so every loader takes a ``label_map`` from the names found on disk to one
unified taxonomy. Anything a loader leaves out is reported with a
:class:`SkippedItemsWarning` whose ``report`` frame lists each item and why.
"""
from __future__ import annotations

import dataclasses
import warnings
import zlib
from pathlib import Path
from typing import Callable, Iterable, Literal, Mapping, Sequence

import numpy as np
import pandas as pd

from ferkit.data.samples import Samples
from ferkit.errors import DatasetLayoutError, UnknownLabelError

#: File name endings read as images (compared case-insensitively).
IMAGE_EXTENSIONS: tuple[str, ...] = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp")

#: Folder names recognised as split folders (compared case-insensitively).
SPLIT_FOLDERS: tuple[str, ...] = ("train", "training", "val", "valid", "validation", "test", "testing")

#: Raw name on disk -> unified class name, or None to exclude. A callable may raise
#: ``ValueError``/``KeyError`` for names it does not know (``canonical_emotion`` does).
LabelMap = Mapping[str, "str | None"] | Callable[[str], "str | None"]
OnError = Literal["raise", "skip"]


class SkippedItemsWarning(UserWarning):
    """Items a loader left out; ``report`` is a frame with one row per item (item, reason)."""

    def __init__(self, message: str, report: pd.DataFrame):
        super().__init__(message)
        self.report = report


# ----------------------------------------------------------------------------- shared helpers

def report_skipped(source: str, items: list[tuple[str, str]], stacklevel: int = 2) -> None:
    """Warn once about every ``(item, reason)`` left out of ``source`` (no-op when empty).

    ``stacklevel`` counts from the caller, as in ``warnings.warn``.
    """
    if not items:
        return
    report = pd.DataFrame(items, columns=["item", "reason"])
    shown = "; ".join(f"{item} ({reason})" for item, reason in items[:5])
    more = f"; and {len(items) - 5} more" if len(items) > 5 else ""
    message = (f"{source}: skipped {len(items)} item(s): {shown}{more}. "
               f"The warning's .report frame lists them all.")
    warnings.warn(SkippedItemsWarning(message, report), stacklevel=stacklevel + 1)


def check_on_error(on_error: str) -> None:
    if on_error not in ("raise", "skip"):
        raise ValueError(f"on_error must be 'raise' or 'skip', got {on_error!r}")


def resolve_label(raw: str, label_map: LabelMap | None) -> str | None:
    """The unified class of a raw label, None to exclude it; raises :class:`UnknownLabelError`."""
    if label_map is None:
        return raw
    if callable(label_map):
        try:
            name = label_map(raw)
        except (KeyError, ValueError) as error:
            raise UnknownLabelError(f"label_map does not know {raw!r}: {error}") from None
    elif raw in label_map:
        name = label_map[raw]
    else:
        raise UnknownLabelError(f"{raw!r} is not a key of label_map (keys: {sorted(label_map)}); "
                                f"map it to a class, or to None to exclude it")
    if name is not None and not isinstance(name, str):
        raise UnknownLabelError(f"label_map gave {name!r} for {raw!r}; expected a class name or None")
    return name


def class_vocabulary(found: Mapping[str, Sequence[str]], classes: Sequence[str] | None,
                     source: str) -> tuple[str, ...]:
    """The class tuple: ``classes`` checked against the data, or the sorted names found.

    ``found`` maps each class name to the places (folders, files, rows) it came from, so an
    error can say where an unexpected class was seen.
    """
    if classes is None:
        return tuple(sorted(found))
    classes = tuple(classes)
    if len(set(classes)) != len(classes):
        raise ValueError(f"{source}: classes has duplicates: {list(classes)}")
    unexpected = {name: where for name, where in found.items() if name not in classes}
    if unexpected:
        details = "; ".join(f"{name!r} from {', '.join(map(str, where[:3]))}"
                            for name, where in sorted(unexpected.items()))
        raise ValueError(f"{source}: classes {list(classes)} lack {details}; add them to classes, "
                         f"or map them to None in label_map to exclude them")
    absent = [name for name in classes if name not in found]
    if absent:
        warnings.warn(f"{source}: classes {absent} have no images", stacklevel=3)
    return classes


def is_image_file(path: Path, extensions: Sequence[str]) -> bool:
    return path.suffix.lower() in extensions


def normalise_extensions(extensions: Iterable[str]) -> tuple[str, ...]:
    """Lower-case extensions, each with its leading dot (``"PNG"`` -> ``".png"``)."""
    result = tuple(e.lower() if e.startswith(".") else "." + e.lower() for e in extensions)
    if not result:
        raise ValueError("extensions is empty; no file could be read as an image")
    return result


def unreadable_images(paths: Iterable[str]) -> list[str]:
    """The paths OpenCV cannot decode (missing, truncated or not an image)."""
    import cv2

    return [path for path in paths if cv2.imread(path, cv2.IMREAD_UNCHANGED) is None]


def is_hidden(path: Path) -> bool:
    """Operating-system clutter (``.DS_Store``, ``.ipynb_checkpoints``): not data."""
    return path.name.startswith(".")


def visible_children(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if not is_hidden(p))


# ----------------------------------------------------------------------------- class folders

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
        if is_image_file(entry, extensions):
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


def _drop_unreadable(frame: pd.DataFrame, on_error: OnError, skipped: list) -> pd.DataFrame:
    bad = unreadable_images(frame["path"])
    if bad and on_error == "raise":
        raise OSError(f"{len(bad)} image(s) cannot be decoded (truncated or not images), e.g. {bad[:5]}")
    skipped += [(path, "cannot be decoded as an image") for path in bad]
    return frame[~frame["path"].isin(bad)].reset_index(drop=True)


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
        frame = _drop_unreadable(frame, on_error, skipped)
    report_skipped(source, stray + skipped, stacklevel=2)
    found: dict[str, list[str]] = {}
    for entry, name in labelled:
        found.setdefault(name, []).append(str(entry.folder))
    vocabulary = class_vocabulary(found, classes, f"class folders {root}")
    frame["label"] = frame["emotion"].map({name: i for i, name in enumerate(vocabulary)}).astype("int64")
    samples = Samples(frame=frame, classes=vocabulary, source=source)
    if limit_per_class is None:
        return samples
    return _sample_per_class(samples, limit_per_class, seed, stacklevel=3)


def _class_folder_frame(labelled: list[tuple[_ClassFolder, str]]) -> pd.DataFrame:
    rows = [dict(path=str(path), folder=entry.folder.name, emotion=name, split=entry.split)
            for entry, name in labelled for path in entry.images]
    frame = pd.DataFrame(rows)
    if frame["split"].isna().all():
        frame = frame.drop(columns="split")
    return frame.sort_values("path", kind="stable").reset_index(drop=True)


# ----------------------------------------------------------------------------- subsets and merging

def _group_rng(seed: int, key: str) -> np.random.Generator:
    """A generator that depends only on ``seed`` and the group, not on the other groups."""
    return np.random.default_rng([seed, zlib.crc32(key.encode("utf-8"))])


def sample_per_class(samples: Samples, limit: int, seed: int = 0) -> Samples:
    """At most ``limit`` seeded-random rows per class (per split and class if ``split`` exists).

    Classes with fewer rows keep them all, with a warning. Rows keep their original order,
    and each class's pick depends only on ``seed`` and that class's rows.
    """
    return _sample_per_class(samples, limit, seed, stacklevel=3)


def _sample_per_class(samples: Samples, limit: int, seed: int, stacklevel: int) -> Samples:
    if not isinstance(limit, (int, np.integer)) or limit < 1:
        raise ValueError(f"limit_per_class must be a whole number >= 1, got {limit!r}")
    if not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a whole number >= 0, got {seed!r}")
    keys = [samples.frame["split"].astype(str)] if "split" in samples.frame.columns else []
    groups = samples.frame.groupby(keys + [samples.frame["label"]], sort=True).indices
    keep, short = [], []
    for key, rows in groups.items():
        key = key if isinstance(key, tuple) else (key,)
        name = "/".join(map(str, key[:-1] + (samples.classes[key[-1]],)))
        if len(rows) <= limit:
            short += [f"{name} ({len(rows)})"] if len(rows) < limit else []
            keep.append(rows)
            continue
        keep.append(np.sort(_group_rng(int(seed), name).choice(rows, size=limit, replace=False)))
    if short:
        warnings.warn(f"{samples.source}: fewer than {limit} images, all kept: {', '.join(short)}",
                      stacklevel=stacklevel)
    return samples.subset(np.sort(np.concatenate(keep)))


def merge_samples(*samples: Samples, classes: Sequence[str] | None = None,
                  names: Sequence[str] | None = None) -> Samples:
    """Merge several sources into one taxonomy, aligning classes by name.

    Args:
        samples: the sources, each with its own ``classes``.
        classes: the merged class order; default: classes in order of first appearance.
            A source class missing from it is an error (map or subset the source first).
        names: the ``source`` column value of each source; default: each ``Samples.source``.
            Rows that already have a ``source`` column (an earlier merge) keep it.

    Sources must either all carry decoded ``images`` of one shape, or all be file-based.
    Action units are kept when every source encodes them; the others are reported.
    """
    if not samples:
        raise ValueError("merge_samples needs at least one Samples")
    names = _source_names(samples, names)
    merged_classes = _merged_classes(samples, names, classes)
    frames = [_relabelled(s, name, merged_classes) for s, name in zip(samples, names)]
    images = _merged_images(samples, names)
    frames = _offset_image_index(samples, frames) if images is not None else \
        [frame.drop(columns="image_index", errors="ignore") for frame in frames]
    aus = _common_aus(samples, names)
    frame = pd.concat(frames, ignore_index=True)
    return Samples(frame=frame, classes=merged_classes, images=images, aus=aus,
                   source=" + ".join(dict.fromkeys(names)))


def _source_names(samples: Sequence[Samples], names: Sequence[str] | None) -> list[str]:
    if names is None:
        names = [s.source or f"source {i}" for i, s in enumerate(samples)]
    names = list(names)
    if len(names) != len(samples):
        raise ValueError(f"names has {len(names)} entries for {len(samples)} sources")
    unlabelled = [n for s, n in zip(samples, names) if "source" not in s.frame.columns]
    repeated = sorted({n for n in unlabelled if unlabelled.count(n) > 1})
    if repeated:
        raise ValueError(f"sources {repeated} share a name; pass names=[...] or source_name= to "
                         f"tell them apart in the 'source' column")
    return names


def _merged_classes(samples, names, classes) -> tuple[str, ...]:
    if classes is None:
        return tuple(dict.fromkeys(c for s in samples for c in s.classes))
    classes = tuple(classes)
    for s, name in zip(samples, names):
        used = {s.classes[i] for i in np.unique(s.labels)}
        missing = sorted(used - set(classes))
        if missing:
            raise ValueError(f"merge_samples: source {name!r} has classes {missing} that are not in "
                             f"classes {list(classes)}; relabel or subset it first")
    return classes


def _relabelled(samples: Samples, name: str, classes: tuple[str, ...]) -> pd.DataFrame:
    index = {c: i for i, c in enumerate(classes)}
    lookup = np.array([index.get(c, -1) for c in samples.classes], dtype="int64")
    frame = samples.frame.copy()
    frame["label"] = lookup[samples.labels]
    if "source" not in frame.columns:
        frame["source"] = name
    return frame


def _merged_images(samples, names) -> np.ndarray | None:
    """All sources' decoded images stacked, or None when every source is file-based."""
    loaded = [s.images is not None for s in samples]
    if not any(loaded):
        return None
    if not all(loaded):
        without = [n for n, has in zip(names, loaded) if not has]
        raise ValueError(f"merge_samples: sources {without} have no decoded images while others do; "
                         f"call read_images() on every source (same size) or on none")
    shapes = {n: s.images.shape[1:] for s, n in zip(samples, names)}
    if len(set(shapes.values())) > 1:
        raise ValueError(f"merge_samples: image shapes differ between sources: {shapes}")
    return np.concatenate([s.images for s in samples])


def _offset_image_index(samples, frames) -> list[pd.DataFrame]:
    """Point each source's ``image_index`` into the stacked image array."""
    starts = np.cumsum([0] + [len(s.images) for s in samples[:-1]])
    return [frame.assign(image_index=frame["image_index"].to_numpy(dtype="int64") + start)
            for frame, start in zip(frames, starts)]


def _common_aus(samples, names) -> tuple[int, ...]:
    common = [a for a in samples[0].aus if all(a in s.aus for s in samples[1:])]
    dropped = {n: sorted(set(s.aus) - set(common)) for s, n in zip(samples, names)}
    dropped = {n: aus for n, aus in dropped.items() if aus}
    if dropped:
        warnings.warn(f"merge_samples: action units not encoded by every source are no longer "
                      f"targets (their columns stay in the frame): {dropped}", stacklevel=3)
    return tuple(common)
