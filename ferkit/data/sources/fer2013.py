"""FER2013: the Kaggle/ICML-2013 csv of 48x48 grey faces.

``fer2013.csv`` (optionally gzipped) has one row per image::

    emotion,pixels,Usage
    0,70 80 82 72 ... (2304 values),Training

Row numbers in messages and in the ``row`` column are 0-based data rows (the header is not
counted): the position that aligns a FER+ row with its FER2013 row
(:mod:`ferkit.data.sources.ferplus`).
"""
from __future__ import annotations

import dataclasses
import math
import warnings
from pathlib import Path
from typing import Literal, Sequence

import numpy as np
import pandas as pd

from ferkit.data.labels import FER2013_EMOTIONS
from ferkit.data.samples import Samples
from ferkit.data.sources.common import OnError, check_on_error
from ferkit.data.sources.fer_csv import check_file, raise_or_skip, read_table

IMAGE_SIZE = 48
PIXEL_COUNT = IMAGE_SIZE * IMAGE_SIZE
FER2013_COLUMNS: tuple[str, ...] = ("emotion", "pixels", "Usage")
#: FER2013 ``Usage`` values and the ferkit split each becomes.
USAGE_TO_SPLIT: dict[str, str] = {"Training": "train", "PublicTest": "val", "PrivateTest": "test"}

Usage = Literal["Training", "PublicTest", "PrivateTest"]


# ----------------------------------------------------------------------------- FER2013 fields

def _parse_usage(texts: pd.Series) -> tuple[np.ndarray, dict[int, str]]:
    values = texts.str.strip().to_numpy(dtype=object)
    bad = ~np.isin(values, list(USAGE_TO_SPLIT))
    problems = {int(row): f"'Usage' is {texts.iat[row]!r}, expected one of {', '.join(USAGE_TO_SPLIT)}"
                for row in np.flatnonzero(bad)}
    return values, problems


def _parse_emotion(texts: pd.Series) -> tuple[np.ndarray, dict[int, str]]:
    numbers = pd.to_numeric(texts.str.strip(), errors="coerce").to_numpy(dtype="float64")
    good = np.isfinite(numbers) & (numbers == np.round(numbers))
    good &= (numbers >= 0) & (numbers < len(FER2013_EMOTIONS))
    codes = np.where(good, numbers, 0).astype("int64")
    names = ", ".join(f"{code}={name}" for code, name in enumerate(FER2013_EMOTIONS))
    problems = {int(row): f"'emotion' is {texts.iat[row]!r}, expected an integer code 0..6 ({names})"
                for row in np.flatnonzero(~good)}
    return codes, problems


def _pixels_fast(text: str) -> np.ndarray | None:
    """The 2304 values, or None when anything is off (then the slow path says what)."""
    try:
        values = np.fromstring(text, dtype=np.int64, sep=" ")
    except (ValueError, DeprecationWarning):  # numpy >= 2 raises; older numpy warns
        return None
    if values.size != PIXEL_COUNT or values.min() < 0 or values.max() > 255:
        return None
    return values


def _pixels_slow(text: str) -> tuple[np.ndarray | None, str]:
    """Token-by-token parse that names the first problem; accepts what the fast path accepts."""
    tokens = text.split()
    if len(tokens) != PIXEL_COUNT:
        side = math.isqrt(len(tokens))
        other = f" (a {side}x{side} image?)" if side > 0 and side * side == len(tokens) else ""
        return None, (f"'pixels' has {len(tokens)} values{other}, expected {PIXEL_COUNT} "
                      f"({IMAGE_SIZE}x{IMAGE_SIZE})")
    values = np.empty(PIXEL_COUNT, dtype=np.int64)
    for position, token in enumerate(tokens):
        try:
            values[position] = int(token)
        except (ValueError, OverflowError):
            return None, f"'pixels' value {position} is {token!r}, not an integer 0..255"
        if not 0 <= values[position] <= 255:
            return None, f"'pixels' value {position} is {token}, outside 0..255"
    return values, ""


def _pixels_block(texts: Sequence[str]) -> np.ndarray | None:
    """All rows of a block at once, with numpy on the bytes; None unless every row is plain
    (digits and single spaces only, 2304 values of at most 3 digits, all <= 255)."""
    joined = (" " + " ".join(texts) + " ").encode("ascii", errors="replace")
    digits = np.frombuffer(joined, dtype=np.uint8) - np.uint8(ord("0"))  # a space becomes 240
    spaces = np.flatnonzero(digits == 240)
    if np.count_nonzero(digits <= 9) + len(spaces) != len(digits):
        return None  # a character other than a digit or a space
    length = np.diff(spaces) - 1  # digits in each value
    if len(length) != len(texts) * PIXEL_COUNT or length.min() < 1 or length.max() > 3:
        return None  # wrong count, an empty value (extra space) or over 3 digits
    row_starts = 1 + np.cumsum([0] + [len(text) + 1 for text in texts[:-1]])
    if not np.array_equal(spaces[:-1:PIXEL_COUNT] + 1, row_starts):
        return None  # some row does not hold exactly 2304 values
    ends = spaces[1:] - 1
    values = digits[ends].astype(np.int16)
    values += 10 * np.where(length >= 2, digits[ends - 1], 0).astype(np.int16)
    values += 100 * np.where(length == 3, digits[ends - 2], 0).astype(np.int16)
    if values.max() > 255:
        return None
    return values.reshape(len(texts), PIXEL_COUNT).astype(np.uint8)


def _pixels_rows(texts: Sequence[str]) -> tuple[np.ndarray, dict[int, str]]:
    """Row by row: numpy's text parser first, then the token-by-token parse on failure."""
    images = np.zeros((len(texts), PIXEL_COUNT), dtype=np.uint8)
    problems: dict[int, str] = {}
    with warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)
        for position, text in enumerate(texts):
            values = _pixels_fast(text)
            if values is None:
                values, problem = _pixels_slow(text)
                if values is None:
                    problems[position] = problem
                    continue
            images[position] = values
    return images, problems


def parse_pixels(texts: Sequence[str], block: int = 256) -> tuple[np.ndarray, dict[int, str]]:
    """Parse FER2013 pixel strings into ``(n, 48, 48)`` uint8 images.

    Returns the images and ``{position: problem}`` for the strings that could not be parsed
    (their images are left black). Blocks of ``block`` plain rows are decoded in a few numpy
    operations; a block with anything unusual (tabs, double spaces, leading zeros, bad
    values) is re-read row by row, which accepts any whitespace and names each problem.
    """
    images = np.zeros((len(texts), PIXEL_COUNT), dtype=np.uint8)
    problems: dict[int, str] = {}
    for start in range(0, len(texts), block):
        chunk = list(texts[start:start + block])
        values = _pixels_block(chunk)
        if values is None:
            values, chunk_problems = _pixels_rows(chunk)
            problems.update({start + i: problem for i, problem in chunk_problems.items()})
        images[start:start + len(chunk)] = values
    return images.reshape(len(texts), IMAGE_SIZE, IMAGE_SIZE), problems


def usage_filter(usage: str | Sequence[str] | None) -> list[str] | None:
    if usage is None:
        return None
    wanted = [usage] if isinstance(usage, str) else list(usage)
    unknown = [u for u in wanted if u not in USAGE_TO_SPLIT]
    if unknown or not wanted:
        raise ValueError(f"usage must be None or some of {list(USAGE_TO_SPLIT)}, got {usage!r}")
    return wanted


# ----------------------------------------------------------------------------- FER2013 loader

@dataclasses.dataclass
class Fer2013Table:
    """Parsed FER2013 rows (``row`` = position in the file) before they become Samples."""

    frame: pd.DataFrame
    images: np.ndarray
    n_rows: int
    skipped: list[dict]


def read_fer2013_table(path: Path, usage: list[str] | None, on_error: OnError) -> Fer2013Table:
    check_file(path, "FER2013")
    table, problems = read_table(path, FER2013_COLUMNS, "FER2013")
    n_rows = len(table)
    usage_values, usage_problems = _parse_usage(table["Usage"])
    problems = {**usage_problems, **problems}
    selected = np.ones(n_rows, dtype=bool) if usage is None else np.isin(usage_values, usage)
    selected |= np.isin(np.arange(n_rows), list(problems))  # a bad Usage is never filtered away
    rows = np.flatnonzero(selected)
    chosen = table.iloc[rows]
    codes, emotion_problems = _parse_emotion(chosen["emotion"])
    images, pixel_problems = parse_pixels(chosen["pixels"].tolist())
    for position, problem in {**pixel_problems, **emotion_problems}.items():
        problems.setdefault(int(rows[position]), problem)
    skipped = raise_or_skip(problems, path, "FER2013", on_error)
    keep = ~np.isin(rows, list(problems))
    extra = [c for c in table.columns if c not in FER2013_COLUMNS]
    frame = pd.DataFrame({
        "row": rows[keep],
        "emotion": np.asarray(FER2013_EMOTIONS, dtype=object)[codes[keep]],
        "label": codes[keep],
        "usage": usage_values[rows[keep]],
    })
    frame["split"] = frame["usage"].map(USAGE_TO_SPLIT)
    for column in extra:
        frame[column] = chosen[column].to_numpy()[keep]
    return Fer2013Table(frame, images[keep], n_rows, skipped)


def load_fer2013(path: str | Path, usage: Usage | Sequence[Usage] | None = None,
                 on_error: OnError = "raise") -> Samples:
    """Read ``fer2013.csv`` or ``fer2013.csv.gz`` into :class:`Samples` with in-memory images.

    Args:
        path: the csv (``emotion,pixels,Usage``; gzip is detected from the ``.gz`` suffix).
        usage: keep only these ``Usage`` values (one or a list); None keeps all rows.
        on_error: ``"raise"`` at the first bad row, or ``"skip"``: drop bad rows with a
            warning and list them in ``frame.attrs["skipped"]`` (``row`` and ``problem``).

    The frame has ``row`` (0-based position in the file), ``emotion`` (name), ``label``
    (index into ``FER2013_EMOTIONS``), ``usage`` (raw), ``split`` (train / val / test for
    Training / PublicTest / PrivateTest), ``image_index`` and any extra file columns.
    Every row's ``Usage`` is checked; ``emotion`` and ``pixels`` only in the selected rows.
    """
    check_on_error(on_error)
    path = Path(path)
    parsed = read_fer2013_table(path, usage_filter(usage), on_error)
    frame = parsed.frame
    frame.attrs.update(skipped=parsed.skipped, n_rows_in_file=parsed.n_rows)
    return Samples(frame=frame, classes=FER2013_EMOTIONS, images=parsed.images,
                   source=f"FER2013 {path}")


