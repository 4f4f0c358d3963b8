"""Locating the licensed files that the ferkit TFDS builders read from ``manual_dir``.

FER2013, FER+ and CK+ cannot be downloaded by a script: each user obtains them under the
datasets' own terms and places them in TFDS's manual folder (by default
``<data_dir>/downloads/manual/``, or ``DownloadConfig(manual_dir=...)``). The helpers here
look for them in that folder and in one dataset-named subfolder, and raise
:class:`ManualFilesMissingError` naming exactly what was expected and what was found.
"""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

from ferkit.errors import ManualFilesMissingError


def local_dir(manual_dir) -> Path:
    """``manual_dir`` (a path or ``epath.Path``) as a local :class:`Path`.

    The ferkit loaders read local files only, so a remote folder (``gs://...``) is refused
    with a message instead of failing later with a confusing one.
    """
    text = str(manual_dir)
    if "://" in text:
        raise ValueError(f"manual_dir {text} is not a local folder; the ferkit builders read "
                         "the licensed files with local file access, so copy them to a local "
                         "folder and pass that as DownloadConfig(manual_dir=...)")
    return Path(text)


def search_dirs(manual_dir: Path, subfolder: str) -> list[Path]:
    """``manual_dir`` itself, then ``manual_dir/<subfolder>``."""
    return [manual_dir, manual_dir / subfolder]


def _listing(folder: Path, limit: int = 12) -> str:
    if not folder.is_dir():
        return "it does not exist"
    names = sorted(p.name + ("/" if p.is_dir() else "") for p in folder.iterdir())
    if not names:
        return "it is empty"
    more = f", ... ({len(names) - limit} more)" if len(names) > limit else ""
    return "it holds " + ", ".join(names[:limit]) + more


def missing_error(dataset: str, what: str, manual_dir: Path, subfolder: str,
                  instructions: str) -> ManualFilesMissingError:
    """The error raised when ``what`` (a sentence naming files) is not found."""
    return ManualFilesMissingError(
        f"{dataset}: expected {what} in manual_dir {manual_dir} or in its {subfolder}/ "
        f"subfolder, but found none ({_listing(manual_dir)}).\n"
        f"How to prepare manual_dir for {dataset}:\n{instructions.strip()}")


def find_file(manual_dir: Path, names: Sequence[str], *, dataset: str, subfolder: str,
              instructions: str) -> Path:
    """The first of ``names`` that is a file in ``manual_dir`` or ``manual_dir/subfolder``."""
    for folder in search_dirs(manual_dir, subfolder):
        for name in names:
            if (folder / name).is_file():
                return folder / name
    what = " or ".join(repr(n) for n in names)
    raise missing_error(dataset, what, manual_dir, subfolder, instructions)


__all__ = ["ManualFilesMissingError", "local_dir", "search_dirs", "missing_error", "find_file"]
