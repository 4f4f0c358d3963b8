"""Text for the report: escaping, readable titles, and numbers, sizes and durations rounded."""
from __future__ import annotations

import html
import json
import math
import numbers
from pathlib import Path

import pandas as pd

from ferkit.runs import RunDir

DIGITS = 3
TITLES = {
    "emotion_report.csv": "Emotion report",
    "confusion_matrix.csv": "Confusion matrix (rows: true, columns: predicted)",
    "au_report.csv": "Action-unit report",
    "kfold.csv": "K-fold results",
    RunDir.TRAINING_LOG: "Training log (per epoch)",
    RunDir.PREDICTIONS: "Predictions (one row per test sample)",
    RunDir.SPLITS: "Splits (one row per sample)",
    "history.png": "Training history",
    "confusion_matrix.png": "Confusion matrix",
    "emotion_f1.png": "Per-class F1 (emotions)",
    "au_f1.png": "Per-AU F1",
}
FOLDER_TITLES = {"": "Evaluation", RunDir.PLOTS: "Training and evaluation"}
ACRONYMS = {"au": "AU", "aus": "AUs", "auc": "AUC", "f1": "F1", "csv": "CSV", "png": "PNG"}


def escape(value: object) -> str:
    """``value`` as text safe inside HTML elements and attribute values."""
    return html.escape(str(value), quote=True)


def humanise(name: str) -> str:
    """``emotion_macro_f1`` -> ``Emotion macro F1``."""
    words = [ACRONYMS.get(word.lower(), word) for word in name.replace("-", "_").split("_") if word]
    text = " ".join(words)
    return text[:1].upper() + text[1:]


def title_of(path: Path) -> str:
    """A readable title for a table or figure file."""
    return TITLES.get(path.name) or humanise(path.stem)


def folder_title(folder: str) -> str:
    """A readable heading for a folder of results (``""`` is the run directory itself)."""
    return FOLDER_TITLES.get(folder) or " / ".join(humanise(part) for part in folder.split("/"))


def format_number(value: float, digits: int = DIGITS) -> str:
    """``value`` rounded for reading: fixed decimals, scientific when tiny, "–" for NaN."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        return str(value)
    if isinstance(value, numbers.Integral):
        return str(value)
    if math.isnan(value):
        return "–"
    if value != 0 and abs(value) < 10 ** -digits:
        return f"{value:.{max(digits - 1, 1)}e}"
    return f"{value:.{digits}f}"


def format_bytes(size: int) -> str:
    """``size`` in B, KiB, MiB or GiB."""
    for unit in ("B", "KiB", "MiB"):
        if size < 1024:
            return f"{size} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} GiB"


def format_duration(seconds: float) -> str:
    """``seconds`` as e.g. ``42.9 s``, ``3 min 05 s`` or ``2 h 07 min``."""
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(int(round(seconds)), 60)
    if minutes < 60:
        return f"{minutes} min {secs:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def column_formatter(column: pd.Series, digits: int):
    """Cells of an all-whole-number float column print as integers, others rounded."""
    values = column.dropna()
    if (pd.api.types.is_float_dtype(column) and len(values)
            and bool((values == values.round()).all()) and values.abs().max() < 1e15):
        return lambda v: "–" if pd.isna(v) else str(int(v))
    return lambda v: format_number(v, digits)


def plain(value: object) -> str:
    """A JSON value as short text: rounded floats, comma-separated lists."""
    if isinstance(value, float):
        return format_number(value)
    if isinstance(value, list):
        return ", ".join(plain(item) for item in value)
    if isinstance(value, dict):
        return json.dumps(value)
    return str(value)
