"""What the file-based loaders share: label maps, the report of skipped items, class
vocabularies, and the checks on extensions, hidden files and undecodable images.

Different datasets spell the same class differently (FANE's ``Angry``, AffectNet's
``Anger``), so every loader takes a ``label_map`` from the names found on disk to one
unified taxonomy. Anything a loader leaves out is reported with a
:class:`SkippedItemsWarning` whose ``report`` frame lists each item and why.
"""
from __future__ import annotations

import warnings
from pathlib import Path
from typing import Callable, Iterable, Literal, Mapping, Sequence

import pandas as pd

from ferkit.data.images import image_problem
from ferkit.errors import DataError, UnknownLabelError

#: Raw name on disk -> unified class name, or None to exclude. A callable may raise
#: ``ValueError``/``KeyError`` for names it does not know (``canonical_emotion`` does).
LabelMap = Mapping[str, "str | None"] | Callable[[str], "str | None"]
OnError = Literal["raise", "skip"]


class SkippedItemsWarning(UserWarning):
    """Items a loader left out; ``report`` is a frame with one row per item (item, reason)."""

    def __init__(self, message: str, report: pd.DataFrame):
        super().__init__(message)
        self.report = report


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
    """Raise a ValueError unless ``on_error`` is "raise" or "skip"."""
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
        raise DataError(f"{source}: classes has duplicates: {list(classes)}")
    unexpected = {name: where for name, where in found.items() if name not in classes}
    if unexpected:
        details = "; ".join(f"{name!r} from {', '.join(map(str, where[:3]))}"
                            for name, where in sorted(unexpected.items()))
        raise UnknownLabelError(f"{source}: classes {list(classes)} lack {details}; add them to "
                                "classes, or map them to None in label_map to exclude them")
    absent = [name for name in classes if name not in found]
    if absent:
        warnings.warn(f"{source}: classes {absent} have no images", stacklevel=3)
    return classes


def has_extension(path: Path, extensions: Sequence[str]) -> bool:
    """Whether ``path`` ends in one of ``extensions`` (lower case, as from
    :func:`normalise_extensions`)."""
    return path.suffix.lower() in extensions


def normalise_extensions(extensions: Iterable[str]) -> tuple[str, ...]:
    """Lower-case extensions, each with its leading dot (``"PNG"`` -> ``".png"``)."""
    result = tuple(e.lower() if e.startswith(".") else "." + e.lower() for e in extensions)
    if not result:
        raise ValueError("extensions is empty; no file could be read as an image")
    return result


def unreadable_images(paths: Iterable[str]) -> list[tuple[str, str]]:
    """``(path, reason)`` for each path :func:`ferkit.data.images.read_image` cannot read
    (missing, no permission, empty, truncated, not an image), so a loader can report them
    before training meets them."""
    found = ((str(path), image_problem(path)) for path in paths)
    return [(path, reason) for path, reason in found if reason]


def is_hidden(path: Path) -> bool:
    """Operating-system clutter (``.DS_Store``, ``.ipynb_checkpoints``): not data."""
    return path.name.startswith(".")


def visible_children(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if not is_hidden(p))
