"""Read a finished run directory: its records, and the tables and figures it holds.

Every ``*.csv`` table and ``*.png`` figure is found, grouped by the folder it sits in, so a
new evaluation that writes e.g. ``fairness/by_group.csv`` shows up without changes here.
Folders that hold data or training state rather than results (the synthesised data set,
Keras' epoch backup, TensorBoard logs, dataset trees, nested run directories, deep or
image-heavy folders) are only summarised.
"""
from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable
from pathlib import Path

import yaml

from ferkit.errors import NotARunDirectory, RunFormatError
from ferkit.runs import RunDir

#: Files without which a folder is not a run directory the report can describe.
REQUIRED_FILES = (RunDir.CONFIG, RunDir.RUN, RunDir.METRICS)

# Folders below the run directory that are scanned for tables and figures; others are
# summarised (file count and size) in the file list.
MAX_DEPTH = 2
MAX_FIGURES_PER_FOLDER = 64
SUMMARISED_FOLDERS = frozenset({"synthetic_data", "synthetic_ckplus", RunDir.BACKUP, "logs"})
DATASET_MARKERS = ("cohn-kanade-images", "Emotion", "CK+48")

TABLE_ORDER = ("emotion_report.csv", "confusion_matrix.csv", "au_report.csv", "kfold.csv",
               RunDir.TRAINING_LOG)
FIGURE_ORDER = ("history.png", "confusion_matrix.png", "emotion_f1.png", "au_f1.png")


@dataclasses.dataclass(frozen=True)
class RunContents:
    """Files of a run directory, as paths relative to it.

    Attributes:
        tables: folder (``""`` for the top level) -> CSV files, in report order.
        figures: folder -> PNG files, in report order.
        files: every file that was scanned, sorted.
        skipped: folders only summarised: (folder, number of files, bytes).
    """

    tables: dict[str, list[Path]]
    figures: dict[str, list[Path]]
    files: list[Path]
    skipped: list[tuple[Path, int, int]]


def check_run_dir(run_dir: str | Path) -> Path:
    """``run_dir`` as a Path, or an error naming what makes it no finished run directory.

    The run must be committed (:meth:`ferkit.runs.RunDir.require_complete`: a readable
    ``run.json`` of a format this ferkit reads) and hold its config and metrics.
    """
    run_dir = Path(run_dir)
    if not run_dir.exists():
        raise FileNotFoundError(f"run directory {run_dir} does not exist")
    if not run_dir.is_dir():
        raise NotADirectoryError(f"{run_dir} is a file, not a run directory")
    missing = [name for name in REQUIRED_FILES if not (run_dir / name).is_file()]
    if missing:
        raise NotARunDirectory(f"{run_dir} is not a ferkit run directory: missing "
                               f"{', '.join(missing)} (written by `ferkit train`)")
    RunDir(run_dir).require_complete()
    return run_dir


def read_text(path: Path) -> str:
    """A run file's UTF-8 text; other bytes are a :class:`RunFormatError` naming the file."""
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as err:
        raise RunFormatError(f"{path} is not UTF-8 text (byte {err.start}: "
                             f"{err.reason}); the run directory is damaged") from None


def read_json(path: Path) -> dict:
    """A JSON object from ``path``; the error (a :class:`RunFormatError`) names the file."""
    try:
        value = json.loads(read_text(path))
    except json.JSONDecodeError as err:
        raise RunFormatError(f"{path} is not valid JSON: {err}") from None
    if not isinstance(value, dict):
        raise RunFormatError(f"{path} should hold a JSON object, found {type(value).__name__}")
    return value


def read_config(path: Path) -> tuple[str, dict]:
    """The config's YAML text and its parsed mapping (empty when it does not parse: the page
    still shows the text); text that is not UTF-8 is a :class:`RunFormatError`."""
    text = read_text(path)
    try:
        parsed = yaml.safe_load(text)
    except yaml.YAMLError:
        parsed = None
    return text, parsed if isinstance(parsed, dict) else {}


def _is_data_folder(folder: Path, depth: int) -> bool:
    """Whether ``folder`` holds data, training state or another run rather than results."""
    return (depth > MAX_DEPTH or folder.name in SUMMARISED_FOLDERS or folder.name.startswith(".")
            or (folder / RunDir.RUN).is_file()
            or any((folder / marker).is_dir() for marker in DATASET_MARKERS)
            or sum(1 for _ in folder.glob("*.png")) > MAX_FIGURES_PER_FOLDER)


def _folder_size(folder: Path) -> tuple[int, int]:
    files = [path for path in folder.rglob("*") if path.is_file()]
    return len(files), sum(path.stat().st_size for path in files)


def _walk(folder: Path, root: Path, depth: int, files: list, skipped: list) -> None:
    for entry in sorted(folder.iterdir()):
        if entry.is_dir():
            if _is_data_folder(entry, depth + 1):
                skipped.append((entry.relative_to(root), *_folder_size(entry)))
            else:
                _walk(entry, root, depth + 1, files, skipped)
        elif entry.is_file() and not entry.name.startswith("."):
            files.append(entry.relative_to(root))


def _ordered(paths: Iterable[Path], first: tuple[str, ...]) -> list[Path]:
    rank = {name: i for i, name in enumerate(first)}
    return sorted(paths, key=lambda p: (rank.get(p.name, len(rank)), p.name))


def _by_folder(files: list[Path], suffix: str, first: tuple[str, ...]) -> dict[str, list[Path]]:
    groups: dict[str, list[Path]] = {}
    for path in files:
        if path.suffix.lower() == suffix:
            folder = "" if path.parent == Path(".") else path.parent.as_posix()
            groups.setdefault(folder, []).append(path)
    order = sorted(groups, key=lambda f: (f != "", f != RunDir.PLOTS, f))
    return {folder: _ordered(groups[folder], first) for folder in order}


def scan_run(run_dir: Path, exclude: Iterable[Path] = ()) -> RunContents:
    """Find the tables, figures and other files of ``run_dir`` (``exclude``: absolute paths)."""
    files: list[Path] = []
    skipped: list[tuple[Path, int, int]] = []
    _walk(run_dir, run_dir, 0, files, skipped)
    excluded = {Path(path).resolve() for path in exclude}
    files = sorted(path for path in files if (run_dir / path).resolve() not in excluded)
    return RunContents(_by_folder(files, ".csv", TABLE_ORDER),
                       _by_folder(files, ".png", FIGURE_ORDER), files, skipped)
