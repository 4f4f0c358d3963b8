"""FER2013 and FER+: the Kaggle/ICML-2013 csv, Microsoft's crowd votes, and vote rules.

``fer2013.csv`` (optionally gzipped) has one row per 48x48 grey image::

    emotion,pixels,Usage
    0,70 80 82 72 ... (2304 values),Training

``fer2013new.csv`` (FER+) has one row per row of ``fer2013.csv``, in the same order, with
ten annotators' votes per image::

    Usage,Image name,neutral,happiness,surprise,sadness,anger,disgust,fear,contempt,unknown,NF
    Training,fer0000000.png,4,0,0,1,3,2,0,0,0,0

The FER+ label modes follow Microsoft's FERPlus reference reader (see :func:`ferplus_targets`).
Vote rules (:func:`apply_vote_rules`) turn the vote counts into classes of your own, such as
seed 002's Neutral / Angry / Focused / Bored (``configs/ferplus_seed002_rules.yaml``).

Row numbers in messages and in the ``row`` column are 0-based data rows (the header is not
counted): the position that aligns a FER+ row with its FER2013 row.
"""
from __future__ import annotations

import dataclasses
import difflib
import gzip
import logging
import re
import warnings
from pathlib import Path
from typing import Any, Literal, Mapping, Sequence

import numpy as np
import pandas as pd
import yaml

from ferkit.data.labels import FER2013_EMOTIONS
from ferkit.data.samples import Samples
from ferkit.errors import FER2013FormatError, VoteRuleError

logger = logging.getLogger(__name__)

IMAGE_SIZE = 48
PIXEL_COUNT = IMAGE_SIZE * IMAGE_SIZE
FER2013_COLUMNS: tuple[str, ...] = ("emotion", "pixels", "Usage")
#: FER2013 ``Usage`` values and the ferkit split each becomes.
USAGE_TO_SPLIT: dict[str, str] = {"Training": "train", "PublicTest": "val", "PrivateTest": "test"}

#: The eight FER+ emotions, in the vote-file column order (the label order of FER+ models).
FERPLUS_EMOTIONS: tuple[str, ...] = (
    "neutral", "happiness", "surprise", "sadness", "anger", "disgust", "fear", "contempt",
)
#: Every FER+ vote column: the emotions, then "unknown" and "NF" (not a face).
FERPLUS_VOTE_COLUMNS: tuple[str, ...] = FERPLUS_EMOTIONS + ("unknown", "NF")
FERPLUS_COLUMNS: tuple[str, ...] = ("Usage", "Image name") + FERPLUS_VOTE_COLUMNS
FERPLUS_MODES: tuple[str, ...] = ("majority", "probability", "crossentropy", "multi_target")

Usage = Literal["Training", "PublicTest", "PrivateTest"]
Mode = Literal["majority", "probability", "crossentropy", "multi_target"]
OnError = Literal["raise", "skip"]

_UNKNOWN, _NOT_FACE = len(FERPLUS_EMOTIONS), len(FERPLUS_EMOTIONS) + 1
#: multi_target: a class is a target with at least 3 in 10 of the (non-single) votes.
MULTI_TARGET_SHARE = (3, 10)


# ----------------------------------------------------------------------------- shared checks

def _check_file(path: Path, what: str) -> None:
    if not path.is_file():
        raise FileNotFoundError(f"{what} file {path} does not exist or is not a file")


def _check_columns(found: Sequence[str], expected: Sequence[str], path: Path, what: str) -> None:
    """Raise naming the missing columns, the ones found, and likely misspellings."""
    missing = [name for name in expected if name not in found]
    if not missing:
        return
    lowered = {str(f).lower(): str(f) for f in found}
    hints = []
    for name in missing:
        close = difflib.get_close_matches(name.lower(), list(lowered), n=1, cutoff=0.6)
        if close:
            hints.append(f"{lowered[close[0]]!r} for {name!r}?")
    hint = f" (did you mean {', '.join(hints)})" if hints else ""
    raise FER2013FormatError(
        f"{what} file {path}: missing column(s) {missing}{hint}; "
        f"found columns {list(found)}, expected {list(expected)}")


def _read_text(path: Path, what: str) -> str:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as stream:
        data = stream.read()
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise FER2013FormatError(f"{what} file {path}: not UTF-8 text ({error})") from None


def _split_plain_csv(text: str, path: Path, expected: Sequence[str], what: str
                     ) -> tuple[pd.DataFrame, dict[int, str]]:
    """A csv without quotes, split with str methods (several times faster than a csv parser
    on 2304-value cells). Rows with the wrong number of fields are returned as problems."""
    lines = [line for line in text.splitlines() if line.strip()]
    header = [name.strip() for name in lines[0].split(",")] if lines else []
    _check_columns(header, expected, path, what)
    rows, problems = [], {}
    for number, line in enumerate(lines[1:]):
        fields = line.split(",")
        if len(fields) != len(header):
            problems[number] = f"has {len(fields)} fields, expected {len(header)} ({', '.join(header)})"
            fields = [""] * len(header)
        rows.append(fields)
    return pd.DataFrame(rows, columns=header, dtype=object), problems


def _read_table(path: Path, expected: Sequence[str], what: str) -> tuple[pd.DataFrame, dict[int, str]]:
    """Every cell as text (nothing becomes NaN), after checking the header; plus the rows whose
    field count is wrong. Quoted csv files go through pandas' parser."""
    text = _read_text(path, what)
    if '"' not in text:
        return _split_plain_csv(text, path, expected, what)
    header = [str(name).strip() for name in pd.read_csv(path, nrows=0, compression="infer").columns]
    _check_columns(header, expected, path, what)
    try:
        table = pd.read_csv(path, dtype=str, keep_default_na=False, compression="infer")
    except pd.errors.ParserError as error:
        raise FER2013FormatError(f"{what} file {path}: not a well-formed csv: {error}") from None
    table.columns = header
    return table.fillna(""), {}


def _raise_or_skip(problems: dict[int, str], path: Path, what: str, on_error: OnError) -> list[dict]:
    """Raise on the first problem row, or warn and return a report of the skipped rows."""
    if not problems:
        return []
    rows = sorted(problems)
    if on_error == "raise":
        more = f" (and {len(rows) - 1} more rows with problems)" if len(rows) > 1 else ""
        raise FER2013FormatError(f"{what} file {path}, row {rows[0]}: {problems[rows[0]]}{more}")
    examples = "; ".join(f"row {row}: {problems[row]}" for row in rows[:3])
    warnings.warn(f"{what} file {path}: skipped {len(rows)} rows with problems, e.g. {examples}; "
                  "see frame.attrs['skipped']", stacklevel=3)
    return [{"row": row, "problem": problems[row]} for row in rows]


def _check_on_error(on_error: str) -> None:
    if on_error not in ("raise", "skip"):
        raise ValueError(f"on_error must be 'raise' or 'skip', got {on_error!r}")


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
        return None, (f"'pixels' has {len(tokens)} values, expected {PIXEL_COUNT} "
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


def _usage_filter(usage: str | Sequence[str] | None) -> list[str] | None:
    if usage is None:
        return None
    wanted = [usage] if isinstance(usage, str) else list(usage)
    unknown = [u for u in wanted if u not in USAGE_TO_SPLIT]
    if unknown or not wanted:
        raise ValueError(f"usage must be None or some of {list(USAGE_TO_SPLIT)}, got {usage!r}")
    return wanted


# ----------------------------------------------------------------------------- FER2013 loader

@dataclasses.dataclass
class _Fer2013Table:
    """Parsed FER2013 rows (``row`` = position in the file) before they become Samples."""

    frame: pd.DataFrame
    images: np.ndarray
    n_rows: int
    skipped: list[dict]


def _read_fer2013(path: Path, usage: list[str] | None, on_error: OnError) -> _Fer2013Table:
    _check_file(path, "FER2013")
    table, problems = _read_table(path, FER2013_COLUMNS, "FER2013")
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
    skipped = _raise_or_skip(problems, path, "FER2013", on_error)
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
    return _Fer2013Table(frame, images[keep], n_rows, skipped)


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
    _check_on_error(on_error)
    path = Path(path)
    parsed = _read_fer2013(path, _usage_filter(usage), on_error)
    frame = parsed.frame
    frame.attrs.update(skipped=parsed.skipped, n_rows_in_file=parsed.n_rows)
    return Samples(frame=frame, classes=FER2013_EMOTIONS, images=parsed.images,
                   source=f"FER2013 {path}")


# ----------------------------------------------------------------------------- FER+ votes

def _parse_votes(table: pd.DataFrame) -> tuple[np.ndarray, dict[int, str]]:
    votes = np.zeros((len(table), len(FERPLUS_VOTE_COLUMNS)), dtype=np.int64)
    problems: dict[int, str] = {}
    for j, column in enumerate(FERPLUS_VOTE_COLUMNS):
        texts = table[column]
        numbers = pd.to_numeric(texts.str.strip(), errors="coerce").to_numpy(dtype="float64")
        good = np.isfinite(numbers) & (numbers == np.round(numbers)) & (numbers >= 0)
        votes[:, j] = np.where(good, numbers, 0)
        for row in np.flatnonzero(~good):
            problems.setdefault(int(row), f"{column!r} is {texts.iat[row]!r}, "
                                          "expected a whole vote count >= 0")
    return votes, problems


def read_ferplus_votes(path: str | Path, on_error: OnError = "raise") -> pd.DataFrame:
    """Microsoft's ``fer2013new.csv`` as a frame: ``row``, ``usage``, ``image_name`` and the
    ten integer vote columns. A row without an image name is kept (FER+ marks such images
    unusable; :func:`load_ferplus` drops them with a report). Bad rows raise or, with
    ``on_error="skip"``, are dropped with a warning and listed in ``attrs["skipped"]``.
    """
    _check_on_error(on_error)
    path = Path(path)
    _check_file(path, "FER+")
    table, problems = _read_table(path, FERPLUS_COLUMNS, "FER+")
    votes, vote_problems = _parse_votes(table)
    problems = {**vote_problems, **problems}
    skipped = _raise_or_skip(problems, path, "FER+", on_error)
    keep = ~np.isin(np.arange(len(table)), list(problems))
    frame = pd.DataFrame({"row": np.flatnonzero(keep),
                          "usage": table["Usage"].str.strip().to_numpy()[keep],
                          "image_name": table["Image name"].str.strip().to_numpy()[keep]})
    for j, column in enumerate(FERPLUS_VOTE_COLUMNS):
        frame[column] = votes[keep, j]
    frame.attrs.update(skipped=skipped, n_rows_in_file=len(table))
    return frame


# ----------------------------------------------------------------------------- FER+ label modes

def drop_single_votes(votes: np.ndarray) -> np.ndarray:
    """Votes of 1 set to 0: the reference treats a lone annotator's choice as noise."""
    votes = np.asarray(votes, dtype=np.int64)
    return np.where(votes <= 1, 0, votes)


def _reason_of_class(index: np.ndarray) -> np.ndarray:
    return np.where(index == _UNKNOWN, "unknown", np.where(index == _NOT_FACE, "not_face", ""))


def _majority(votes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """One-hot on the class with more than half of the votes; else discarded."""
    total = votes.sum(axis=1)
    top = votes.argmax(axis=1)
    has_majority = 2 * votes.max(axis=1) > total
    reasons = np.where(has_majority, _reason_of_class(top), "no_majority")
    targets = np.zeros((len(votes), len(FERPLUS_EMOTIONS)))
    kept = np.flatnonzero(reasons == "")
    targets[kept, top[kept]] = 1.0
    return targets, reasons


def _top_groups(row: np.ndarray) -> tuple[np.ndarray, int]:
    """The reference's probability selection for one image: take the most-voted classes, a tie
    group at a time, until they hold 75% of the votes or 3 are taken. In a group that reaches
    unknown/NF, the emotions listed before it are taken and the selection stops; unknown/NF is
    itself taken only when no emotion was taken yet (the image is then discarded)."""
    total = row.sum()
    remaining = row.copy()
    taken = np.zeros_like(row)
    count = covered = 0
    while 4 * covered < 3 * total and count < 3:
        level = remaining.max()
        for index in np.flatnonzero(remaining == level):
            remaining[index] = 0
            covered += level
            if index >= _UNKNOWN:
                if taken.sum() == 0:
                    taken[index], count = level, count + 1
                return taken, count
            taken[index], count = level, count + 1
    return taken, count


def _distribution(votes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Probability / crossentropy: the vote share of the top (at most 3) emotions."""
    targets = np.zeros((len(votes), len(FERPLUS_EMOTIONS)))
    reasons = np.full(len(votes), "", dtype=object)
    for i, row in enumerate(votes):
        taken, count = _top_groups(row)
        top = int(taken.argmax())
        if top >= _UNKNOWN:
            reasons[i] = "unknown" if top == _UNKNOWN else "not_face"
        elif 2 * taken.sum() <= row.sum() or count > 3:
            reasons[i] = "no_consensus"
        else:
            targets[i] = taken[:_UNKNOWN] / taken[:_UNKNOWN].sum()
    return targets, reasons.astype(str)


def _multi_target(votes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Multi-hot of the classes with at least 30% of the votes, if they hold over half of them."""
    total = votes.sum(axis=1, keepdims=True)
    part, whole = MULTI_TARGET_SHARE  # integers: same result as the reference's 0.3 * total
    chosen = np.where(whole * votes >= part * total, votes, 0)
    top = chosen.argmax(axis=1)
    enough = 2 * chosen.sum(axis=1) > total[:, 0]
    reasons = np.where(enough, _reason_of_class(top), "no_consensus")
    targets = (chosen[:, :_UNKNOWN] > 0).astype("float64")
    targets[reasons != ""] = 0.0
    return targets, reasons


def ferplus_targets(votes: np.ndarray | pd.DataFrame, mode: Mode
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """FER+ targets for raw vote counts, following Microsoft's FERPlus reference reader.

    Votes of 1 are first set to 0 (noise). Then, per ``mode``:

    - ``majority``: one-hot on the class with strictly more than half of the remaining votes
      (``2 * max > total``); no such class -> discarded (``no_majority``).
    - ``probability`` / ``crossentropy``: the most-voted classes, a tie group at a time, until
      they hold >= 75% of the votes or 3 classes are taken; their vote shares, renormalised
      over the 8 emotions, are the target. Discarded (``no_consensus``) when they hold <= 50%
      of the votes or a tie pushed them past 3 classes. (The reference trains
      ``probability`` by drawing one label per epoch from this distribution; see
      :func:`draw_hard_targets`. ``crossentropy`` uses it directly as a soft target.)
    - ``multi_target``: multi-hot of every class with at least 30% of the remaining votes;
      discarded (``no_consensus``) when these classes hold <= 50% of the votes.

    In every mode an image whose winning class is ``unknown`` or ``NF`` is discarded
    (``unknown`` / ``not_face``), ties going to the earlier column as in the reference, and an
    image with no vote above 1 is discarded (``single_votes_only``).

    Args:
        votes: ``(n, 10)`` counts in ``FERPLUS_VOTE_COLUMNS`` order, or a frame with them.
        mode: one of ``FERPLUS_MODES``.

    Returns:
        ``targets`` ``(n, 8)`` float64 (a distribution, or multi-hot for ``multi_target``;
        all zero for discarded rows); ``labels`` ``(n,)`` int64, the target emotion with the
        most votes (the earlier column on ties; the class the reference counts the image
        under), -1 for discarded rows; ``reasons`` ``(n,)`` str objects, ``""`` for kept
        rows, else why the row is discarded.
    """
    if mode not in FERPLUS_MODES:
        raise ValueError(f"FER+ mode must be one of {list(FERPLUS_MODES)}, got {mode!r}")
    if isinstance(votes, pd.DataFrame):
        votes = votes[list(FERPLUS_VOTE_COLUMNS)].to_numpy()
    votes = np.asarray(votes)
    if votes.ndim != 2 or votes.shape[1] != len(FERPLUS_VOTE_COLUMNS):
        raise ValueError(f"votes must have shape (n, {len(FERPLUS_VOTE_COLUMNS)}) in the order "
                         f"{list(FERPLUS_VOTE_COLUMNS)}, got {votes.shape}")
    cleaned = drop_single_votes(votes)
    rule = {"majority": _majority, "multi_target": _multi_target}.get(mode, _distribution)
    targets, reasons = rule(cleaned)
    no_votes = cleaned.sum(axis=1) == 0
    reasons = np.where(no_votes, "single_votes_only", reasons)
    targets[no_votes] = 0.0
    labels = np.where(targets > 0, cleaned[:, :_UNKNOWN], -1).argmax(axis=1)
    labels[reasons != ""] = -1
    return targets, labels.astype(np.int64), reasons.astype(object)


# ----------------------------------------------------------------------------- FER+ loader

def _check_usage_agrees(fer: pd.DataFrame, votes: pd.DataFrame, fer_path: Path,
                        plus_path: Path) -> None:
    """Same Usage on every aligned row, else the two files are not from the same release."""
    usage = votes.set_index("row")["usage"]
    both = fer[["row", "usage"]].assign(plus=usage.reindex(fer["row"]).to_numpy())
    both = both[both["plus"].notna()]
    differ = both[both["usage"] != both["plus"]]
    if len(differ):
        first = differ.iloc[0]
        raise FER2013FormatError(
            f"row {first['row']}: FER2013 file {fer_path} says Usage {first['usage']!r} but FER+ "
            f"file {plus_path} says {first['plus']!r} ({len(differ)} rows differ); the files "
            "are aligned by row position, so they must come from the same release")


def _aligned_frames(fer2013_path, ferplus_path, usage, on_error):
    """FER2013 rows joined with their FER+ votes, the images, and the rows lost on either
    side: ``{reason: [row, ...]}`` plus the skipped-row problems."""
    _check_on_error(on_error)
    fer_path, plus_path = Path(fer2013_path), Path(ferplus_path)
    votes = read_ferplus_votes(plus_path, on_error)
    fer = _read_fer2013(fer_path, _usage_filter(usage), on_error)
    if fer.n_rows != votes.attrs["n_rows_in_file"]:
        raise FER2013FormatError(
            f"FER2013 file {fer_path} has {fer.n_rows} rows but FER+ file {plus_path} has "
            f"{votes.attrs['n_rows_in_file']}; FER+ is aligned with FER2013 by row position, "
            "so both files must have the same rows in the same order")
    _check_usage_agrees(fer.frame, votes, fer_path, plus_path)
    frame = fer.frame.rename(columns={"emotion": "fer2013_emotion", "label": "fer2013_label"})
    frame["image_index"] = np.arange(len(frame))
    frame = frame.merge(votes.drop(columns="usage"), on="row", how="inner", validate="one_to_one")
    frame.attrs = {}
    loaded = set(fer.frame["row"])
    dropped = {"fer2013_row_skipped": [s["row"] for s in fer.skipped],
               "ferplus_row_skipped": [s["row"] for s in votes.attrs["skipped"] if s["row"] in loaded]}
    unnamed = frame["image_name"] == ""
    dropped["no_image_name"] = frame.loc[unnamed, "row"].tolist()
    skipped = ([dict(s, file="FER2013") for s in fer.skipped]
               + [dict(s, file="FER+") for s in votes.attrs["skipped"]])
    return frame[~unnamed].reset_index(drop=True), fer.images, dropped, skipped


def _report(dropped: dict[str, list[int]], frame: pd.DataFrame, source: str) -> None:
    """Store the drop report on the frame (counts and row numbers per reason) and log it."""
    dropped = {reason: sorted(int(r) for r in rows) for reason, rows in dropped.items() if rows}
    frame.attrs["dropped"] = {reason: len(rows) for reason, rows in dropped.items()}
    frame.attrs["dropped_rows"] = dropped
    logger.info("%s: kept %d rows, dropped %s", source, len(frame), frame.attrs["dropped"] or "none")


def load_ferplus(fer2013_path: str | Path, ferplus_path: str | Path, mode: Mode = "majority", *,
                 eval_mode: Mode | None = None, usage: Usage | Sequence[Usage] | None = None,
                 on_error: OnError = "raise") -> Samples:
    """FER2013 images with FER+ vote-based labels (8 classes, ``FERPLUS_EMOTIONS``).

    Args:
        fer2013_path: ``fer2013.csv`` / ``.csv.gz``; gives the images and the split.
        ferplus_path: ``fer2013new.csv``, one row per FER2013 row in the same order.
        mode: the label mode, see :func:`ferplus_targets`.
        eval_mode: another mode for the val and test rows; the FERPlus reference trains with
            ``mode`` but always evaluates with ``"majority"``. None uses ``mode`` everywhere.
        usage: keep only these FER2013 ``Usage`` values.
        on_error: ``"raise"`` or ``"skip"`` bad rows of either file (reported, see below).

    The frame has the FER2013 columns (``row``, ``usage``, ``split``, ``fer2013_emotion``,
    ``fer2013_label``), ``image_name``, the ten raw vote columns, ``target_<emotion>`` (the
    mode's soft or multi-hot target), ``label`` (the target emotion with the most votes, for
    metrics and class counts) and ``emotion`` (its name). Discarded rows are never silent:
    ``frame.attrs["dropped"]`` counts them per reason and ``frame.attrs["dropped_rows"]`` lists
    their ``row`` numbers; ``frame.attrs["skipped"]`` says what was wrong with skipped rows.
    """
    for name, value in (("mode", mode), ("eval_mode", eval_mode or mode)):
        if value not in FERPLUS_MODES:
            raise ValueError(f"FER+ {name} must be one of {list(FERPLUS_MODES)}, got {value!r}")
    frame, images, dropped, skipped = _aligned_frames(fer2013_path, ferplus_path, usage, on_error)
    targets, labels, reasons = ferplus_targets(frame, mode)
    if eval_mode is not None and eval_mode != mode:
        evaluated = frame["split"].isin(["val", "test"]).to_numpy()
        for mine, theirs in zip((targets, labels, reasons), ferplus_targets(frame, eval_mode)):
            mine[evaluated] = theirs[evaluated]
    for reason in sorted(set(reasons) - {""}):
        dropped[reason] = frame.loc[reasons == reason, "row"].tolist()
    kept = reasons == ""
    frame = _with_targets(frame[kept].reset_index(drop=True), targets[kept], labels[kept])
    source = f"FER+ {mode} {ferplus_path}"
    _report(dropped, frame, source)
    frame.attrs.update(mode=mode, eval_mode=eval_mode or mode, skipped=skipped)
    return Samples(frame=frame, classes=FERPLUS_EMOTIONS, images=images, source=source)


def _with_targets(frame: pd.DataFrame, targets: np.ndarray, labels: np.ndarray) -> pd.DataFrame:
    columns = {f"target_{name}": targets[:, j] for j, name in enumerate(FERPLUS_EMOTIONS)}
    names = np.asarray(FERPLUS_EMOTIONS, dtype=object)[labels]
    return frame.assign(**columns, label=labels, emotion=names)


def target_columns(classes: Sequence[str]) -> list[str]:
    """The ``target_<class>`` column names of a soft-label frame."""
    return [f"target_{name}" for name in classes]


def soft_targets(samples: Samples) -> np.ndarray:
    """``(n, classes)`` float32 targets from the ``target_<class>`` columns (FER+ modes)."""
    columns = target_columns(samples.classes)
    missing = [c for c in columns if c not in samples.frame.columns]
    if missing:
        raise ValueError(f"{samples.source}: no soft targets, columns {missing} are missing")
    return samples.frame[columns].to_numpy(dtype="float32")


def draw_hard_targets(samples: Samples, rng: np.random.Generator | int | None = None) -> np.ndarray:
    """One-hot targets drawn from each row's soft target, as the reference's ``probability``
    mode does once per epoch (a multi-hot row gives each of its classes an equal chance).
    Gumbel-max sampling: exact, vectorised, and a zero-probability class is never drawn."""
    rng = np.random.default_rng(rng)
    targets = soft_targets(samples).astype("float64")
    with np.errstate(divide="ignore"):
        scores = np.log(targets) + rng.gumbel(size=targets.shape)
    return np.eye(targets.shape[1], dtype="float32")[scores.argmax(axis=1)]


# ----------------------------------------------------------------------------- vote rules

_TOKEN = re.compile(r"\s*(?:(?P<number>\d+)|(?P<name>[A-Za-z_][A-Za-z0-9_]*)"
                    r"|(?P<compare>>=|<=|==|!=|>|<)|(?P<symbol>[-+(),]))")
_COMPARE = {">": np.greater, ">=": np.greater_equal, "<": np.less, "<=": np.less_equal,
            "==": np.equal, "!=": np.not_equal}
_FUNCTIONS = {"max": np.max, "min": np.min, "sum": np.sum}


def _tokenize(text: str) -> list[tuple[str, str]]:
    tokens, position = [], 0
    while position < len(text.rstrip()):
        match = _TOKEN.match(text, position)
        if not match:
            raise ValueError(f"unexpected {text[position:].strip()[:10]!r} at character {position}")
        kind = match.lastgroup
        tokens.append((kind, match.group(kind)))
        position = match.end()
    return tokens


@dataclasses.dataclass(frozen=True)
class _Term:
    """A number, a vote column, or max/min/sum over vote columns, with its sign."""

    sign: int
    number: int | None = None
    columns: tuple[str, ...] = ()
    function: str | None = None

    def value(self, frame: pd.DataFrame) -> np.ndarray | int:
        if self.number is not None:
            return self.sign * self.number
        data = frame[list(self.columns)].to_numpy(dtype="int64")
        reduce = _FUNCTIONS[self.function] if self.function else np.sum
        return self.sign * reduce(data, axis=1)


def _parse_term(tokens: list[tuple[str, str]], at: int, sign: int) -> tuple[_Term, int]:
    if at >= len(tokens):
        raise ValueError("expression ends where a number or vote column was expected")
    kind, text = tokens[at]
    if kind == "number":
        return _Term(sign, number=int(text)), at + 1
    if kind != "name":
        raise ValueError(f"expected a number, a vote column or max(...), got {text!r}")
    if text not in _FUNCTIONS:
        return _Term(sign, columns=(text,)), at + 1
    return _parse_call(tokens, at, sign)


def _parse_call(tokens: list[tuple[str, str]], at: int, sign: int) -> tuple[_Term, int]:
    """``max(a, b, ...)``: a function over one or more vote columns."""
    function, at = tokens[at][1], at + 1
    if at >= len(tokens) or tokens[at][1] != "(":
        raise ValueError(f"{function} needs '(' and vote columns, e.g. {function}(anger, fear)")
    columns, at = [], at + 1
    while True:
        if at >= len(tokens) or tokens[at][0] != "name" or tokens[at][1] in _FUNCTIONS:
            raise ValueError(f"{function}(...) takes vote column names separated by commas")
        columns.append(tokens[at][1])
        if at + 1 < len(tokens) and tokens[at + 1][1] == ",":
            at += 2
            continue
        if at + 1 < len(tokens) and tokens[at + 1][1] == ")":
            return _Term(sign, columns=tuple(columns), function=function), at + 2
        raise ValueError(f"{function}(...) is missing its closing ')'")


def _parse_expression(tokens: list[tuple[str, str]]) -> tuple[_Term, ...]:
    terms, at, sign = [], 0, 1
    while True:
        term, at = _parse_term(tokens, at, sign)
        terms.append(term)
        if at == len(tokens):
            return tuple(terms)
        if tokens[at][1] not in ("+", "-"):
            raise ValueError(f"expected '+' or '-' after a term, got {tokens[at][1]!r}")
        sign, at = (1 if tokens[at][1] == "+" else -1), at + 1


@dataclasses.dataclass(frozen=True)
class VoteCondition:
    """``<expression> <comparison> <expression>`` over vote columns, e.g. ``anger + 2 < sadness``.

    An expression adds and subtracts whole numbers, vote columns and ``max(...)``, ``min(...)``
    or ``sum(...)`` of vote columns. Comparisons: ``> >= < <= == !=``. Parsed, never evaluated
    as Python.
    """

    text: str
    left: tuple[_Term, ...]
    compare: str
    right: tuple[_Term, ...]

    @classmethod
    def parse(cls, text: str, columns: Sequence[str] | None = FERPLUS_VOTE_COLUMNS) -> "VoteCondition":
        """Parse ``text``; with ``columns``, every column it names must be one of them."""
        tokens = _tokenize(text)
        compares = [i for i, (kind, _) in enumerate(tokens) if kind == "compare"]
        if len(compares) != 1:
            raise ValueError(f"needs exactly one comparison (> >= < <= == !=), found {len(compares)}")
        at = compares[0]
        if at == 0 or at == len(tokens) - 1:
            raise ValueError(f"comparison {tokens[at][1]!r} needs an expression on both sides")
        condition = cls(text, _parse_expression(tokens[:at]), tokens[at][1],
                        _parse_expression(tokens[at + 1:]))
        if not condition.columns:
            raise ValueError("compares only numbers; name at least one vote column")
        unknown = sorted(set(condition.columns) - set(columns)) if columns is not None else []
        if unknown:
            raise ValueError(f"unknown vote column(s) {unknown}; vote columns are {list(columns)}")
        return condition

    @property
    def columns(self) -> tuple[str, ...]:
        return tuple(c for term in self.left + self.right for c in term.columns)

    def holds(self, frame: pd.DataFrame) -> np.ndarray:
        """Boolean mask of the rows of ``frame`` where the condition holds."""
        left = sum(term.value(frame) for term in self.left)
        right = sum(term.value(frame) for term in self.right)
        return np.broadcast_to(_COMPARE[self.compare](left, right), (len(frame),))


@dataclasses.dataclass(frozen=True)
class VoteRule:
    """Rows whose votes meet every condition (an empty list matches every row) get ``label``."""

    label: str
    conditions: tuple[VoteCondition, ...]

    def matches(self, frame: pd.DataFrame) -> np.ndarray:
        mask = np.ones(len(frame), dtype=bool)
        for condition in self.conditions:
            mask &= condition.holds(frame)
        return mask


@dataclasses.dataclass(frozen=True)
class VoteRules:
    """Ordered rules (first match wins) and the class order that labels index."""

    rules: tuple[VoteRule, ...]
    classes: tuple[str, ...]


#: What the rule functions accept: parsed rules, plain rule data, or a YAML file path.
RuleSource = VoteRules | Sequence[VoteRule | Mapping] | Mapping | str | Path


def _conditions_of(when: Any) -> list[str]:
    """Condition texts from a list of strings or a ``{column: "op value" | [..] | int}`` map."""
    if isinstance(when, str):
        return [when]
    if isinstance(when, Mapping):
        texts = []
        for column, tests in when.items():
            for test in tests if isinstance(tests, list) else [tests]:
                if isinstance(test, bool) or not isinstance(test, (int, str)):
                    raise ValueError(f"'when' entry for {column!r} must be a comparison such as "
                                     f"'>= 5' or a whole number, got {test!r}")
                texts.append(f"{column} == {test}" if isinstance(test, int) else f"{column} {test}")
        return texts
    if isinstance(when, list) and all(isinstance(t, str) for t in when):
        return list(when)
    raise ValueError("'when' must be a list of conditions such as 'anger > 2', or a mapping "
                     f"such as {{neutral: '>= 5'}}; got {when!r}")


def _parse_rule(spec: Any, number: int, columns: Sequence[str] | None) -> VoteRule:
    where = f"rule {number}"
    if isinstance(spec, VoteRule):
        return spec
    if not isinstance(spec, Mapping):
        raise VoteRuleError(f"{where}: must be a mapping with 'class' and 'when', got {spec!r}")
    extra = sorted(set(spec) - {"class", "when"})
    if extra:
        raise VoteRuleError(f"{where}: unknown field(s) {extra}; a rule has 'class' and 'when'")
    for field in ("class", "when"):
        if field not in spec:
            raise VoteRuleError(f"{where}: field '{field}' is missing")
    label = spec["class"]
    if not isinstance(label, str) or not label.strip():
        raise VoteRuleError(f"{where}, field 'class': must be a non-empty name, got {label!r}")
    where = f"rule {number} ({label!r})"
    if spec["when"] is None:
        raise VoteRuleError(f"{where}, field 'when': is empty; write 'when: []' for a rule "
                            "that matches every row")
    try:
        texts = _conditions_of(spec["when"])
    except ValueError as error:
        raise VoteRuleError(f"{where}, field 'when': {error}") from None
    conditions = []
    for text in texts:
        try:
            conditions.append(VoteCondition.parse(text, columns))
        except ValueError as error:
            raise VoteRuleError(f"{where}, field 'when', condition {text!r}: {error}") from None
    return VoteRule(label.strip(), tuple(conditions))


def parse_vote_rules(spec: Any, columns: Sequence[str] | None = FERPLUS_VOTE_COLUMNS) -> VoteRules:
    """Rules from plain data: a list of ``{"class": ..., "when": ...}`` or a mapping with
    ``rules`` and optionally ``classes`` (the label order; default: first appearance).

    ``columns`` are the allowed vote column names (None: any name). Rules are numbered from
    1 in messages.
    """
    if isinstance(spec, VoteRules):
        return spec
    classes = None
    if isinstance(spec, Mapping):
        extra = sorted(set(spec) - {"rules", "classes", "description"})
        if extra:
            raise VoteRuleError(f"unknown top-level field(s) {extra}; expected 'rules', "
                                "optional 'classes' and 'description'")
        if "rules" not in spec:
            raise VoteRuleError("top-level field 'rules' is missing")
        classes, spec = spec.get("classes"), spec["rules"]
    if not isinstance(spec, list) or not spec:
        raise VoteRuleError(f"'rules' must be a non-empty list of rules, got {spec!r}")
    rules = tuple(_parse_rule(item, number, columns) for number, item in enumerate(spec, start=1))
    return VoteRules(rules, _rule_classes(rules, classes))


def _rule_classes(rules: Sequence[VoteRule], classes: Any) -> tuple[str, ...]:
    used = list(dict.fromkeys(rule.label for rule in rules))
    if classes is None:
        return tuple(used)
    if not isinstance(classes, list) or not all(isinstance(c, str) for c in classes):
        raise VoteRuleError(f"field 'classes': must be a list of class names, got {classes!r}")
    if len(set(classes)) != len(classes):
        raise VoteRuleError(f"field 'classes': names repeat in {classes}")
    for number, rule in enumerate(rules, start=1):
        if rule.label not in classes:
            raise VoteRuleError(f"rule {number}, field 'class': {rule.label!r} is not in "
                                f"'classes' {classes}")
    unused = [c for c in classes if c not in used]
    if unused:
        raise VoteRuleError(f"field 'classes': {unused} have no rule, so they would stay empty")
    return tuple(classes)


def load_vote_rules(path: str | Path) -> VoteRules:
    """Read vote rules from a YAML file (see :func:`parse_vote_rules` for the layout)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"vote rules file {path} does not exist")
    try:
        spec = yaml.safe_load(path.read_text())
    except yaml.YAMLError as error:
        raise VoteRuleError(f"vote rules {path}: not valid YAML: {error}") from None
    try:
        return parse_vote_rules(spec)
    except VoteRuleError as error:
        raise VoteRuleError(f"vote rules {path}: {error}") from None


def _as_rules(rules: RuleSource) -> VoteRules:
    if isinstance(rules, (str, Path)):
        return load_vote_rules(rules)
    return parse_vote_rules(list(rules) if isinstance(rules, tuple) else rules)


def apply_vote_rules(votes_frame: pd.DataFrame, rules: RuleSource) -> pd.DataFrame:
    """Label each row with the class of the first rule it matches.

    Returns the matching rows with ``label`` (index into the rules' ``classes``),
    ``class_name`` and ``rule`` (1-based number of the rule that matched). Rows matching no
    rule are dropped and reported: ``attrs["dropped"] == {"no_rule_matched": n}`` and
    ``attrs["dropped_rows"]`` (their ``row`` values, or index labels without a ``row``
    column). ``attrs["classes"]`` holds the class order.
    """
    rules = _as_rules(rules)
    needed = sorted({c for rule in rules.rules for cond in rule.conditions for c in cond.columns})
    missing = [c for c in needed if c not in votes_frame.columns]
    if missing:
        raise ValueError(f"vote rules use column(s) {missing} that the frame lacks "
                         f"(it has {list(votes_frame.columns)})")
    matched = np.zeros(len(votes_frame), dtype=np.int64)  # 0 = none yet, else rule number
    for number, rule in enumerate(rules.rules, start=1):
        matched[(matched == 0) & rule.matches(votes_frame)] = number
    labels = np.array([rules.classes.index(rule.label) for rule in rules.rules], dtype=np.int64)
    kept = matched > 0
    ids = votes_frame["row"] if "row" in votes_frame.columns else votes_frame.index.to_series()
    frame = votes_frame[kept].assign(
        label=labels[matched[kept] - 1],
        class_name=np.asarray(rules.classes, dtype=object)[labels[matched[kept] - 1]],
        rule=matched[kept])
    _report({"no_rule_matched": ids[~kept].tolist()}, frame, "vote rules")
    frame.attrs["classes"] = list(rules.classes)
    return frame


def load_ferplus_rules(fer2013_path: str | Path, ferplus_path: str | Path,
                       rules: RuleSource, *,
                       usage: Usage | Sequence[Usage] | None = None,
                       on_error: OnError = "raise") -> Samples:
    """FER2013 images labelled by vote rules applied to the raw FER+ votes (no vote is
    dropped first); ``classes`` are the rules' classes.

    The frame is :func:`load_ferplus`'s without ``target_*`` columns, plus ``class_name`` and
    ``rule``. ``attrs["dropped"]`` / ``attrs["dropped_rows"]`` report rows without an image
    name, skipped bad rows and rows no rule matched.
    """
    rules = _as_rules(rules)
    frame, images, dropped, skipped = _aligned_frames(fer2013_path, ferplus_path, usage, on_error)
    labelled = apply_vote_rules(frame, rules).reset_index(drop=True)
    dropped.update(labelled.attrs["dropped_rows"])
    source = f"FER+ vote rules {ferplus_path}"
    _report(dropped, labelled, source)
    labelled.attrs.update(classes=list(rules.classes), skipped=skipped)
    return Samples(frame=labelled, classes=rules.classes, images=images, source=source)


__all__ = [
    "FER2013FormatError", "VoteRuleError", "load_fer2013", "parse_pixels", "read_ferplus_votes",
    "drop_single_votes", "ferplus_targets", "load_ferplus", "load_ferplus_rules", "soft_targets",
    "target_columns", "draw_hard_targets", "VoteCondition", "VoteRule", "VoteRules",
    "parse_vote_rules", "load_vote_rules", "apply_vote_rules", "RuleSource", "FERPLUS_EMOTIONS",
    "FERPLUS_VOTE_COLUMNS", "FERPLUS_MODES", "USAGE_TO_SPLIT",
]


# ----------------------------------------------------------------------------- FER+ votes as FER2013 soft labels

#: FER+ vote column -> FER2013 class; contempt, unknown and NF have no FER2013 class.
FERPLUS_TO_FER2013: dict[str, str] = {
    "anger": "angry", "disgust": "disgust", "fear": "fear", "happiness": "happy",
    "sadness": "sad", "surprise": "surprise", "neutral": "neutral",
}


def ferplus_vote_shares(votes: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Each row's FER+ votes as a distribution over the seven FER2013 classes.

    Returns ``(shares, usable)``: ``shares`` is ``(n, 7)`` in ``FER2013_EMOTIONS`` order;
    ``usable`` is False where no vote went to a FER2013 class (only contempt, unknown or
    not-a-face votes), and those rows' shares are zero.
    """
    counts = np.zeros((len(votes), len(FER2013_EMOTIONS)), dtype="float64")
    for column, name in FERPLUS_TO_FER2013.items():
        counts[:, FER2013_EMOTIONS.index(name)] = votes[column].to_numpy(dtype="float64")
    totals = counts.sum(axis=1, keepdims=True)
    usable = totals[:, 0] > 0
    shares = np.divide(counts, totals, out=np.zeros_like(counts), where=totals > 0)
    return shares, usable


def mix_ferplus_targets(samples: Samples, votes: pd.DataFrame | str | Path, weight: float,
                        usages: Sequence[str] = ("Training",)) -> Samples:
    """FER2013 samples with soft ``target_<class>`` columns: ``(1 - weight)`` x the FER2013
    label + ``weight`` x the FER+ annotators' vote shares, on rows whose ``usage`` is in
    ``usages`` (the training rows, by default).

    Ten crowd votes per image say how ambiguous a face is; mixing them into the one-hot
    FER2013 label is a data-driven label smoothing that keeps the FER2013 label the most
    likely class whenever ``weight < 0.5``. Other rows, and rows whose votes have no
    FER2013 class, keep their one-hot label. Votes align with FER2013 by ``row`` (the file
    position), as Microsoft's reader does; a FER2013 row with no vote row is an error.
    """
    if not 0.0 <= weight <= 1.0:
        raise ValueError(f"FER+ mix weight must be in [0, 1], got {weight}")
    if list(samples.classes) != list(FER2013_EMOTIONS):
        raise ValueError(f"{samples.source}: FER+ mixing needs the FER2013 classes "
                         f"{list(FER2013_EMOTIONS)}, found {list(samples.classes)}")
    frame = samples.frame
    shares, usable = ferplus_vote_shares(_votes_of_rows(frame, votes))
    one_hot = np.eye(len(FER2013_EMOTIONS))[frame["label"].to_numpy()]
    mixed = frame["usage"].isin(list(usages)).to_numpy() & usable
    targets = np.where(mixed[:, None], (1 - weight) * one_hot + weight * shares, one_hot)
    columns = {name: targets[:, j].astype("float32")
               for j, name in enumerate(target_columns(samples.classes))}
    return dataclasses.replace(samples, frame=frame.assign(**columns))


def _votes_of_rows(frame: pd.DataFrame, votes: pd.DataFrame | str | Path) -> pd.DataFrame:
    """The FER+ vote rows of ``frame``'s FER2013 rows, aligned by ``row`` (file position, as
    Microsoft's reader aligns them); a FER2013 row with no vote row is an error."""
    if not isinstance(votes, pd.DataFrame):
        votes = read_ferplus_votes(votes)
    by_row = votes.set_index("row")
    missing = np.setdiff1d(frame["row"].to_numpy(), by_row.index.to_numpy())
    if len(missing):
        raise FER2013FormatError(f"FER+ votes have no row for {len(missing)} FER2013 rows "
                                 f"(first: {missing[:5].tolist()}); are the files aligned?")
    return by_row.loc[frame["row"].to_numpy()]


# ----------------------------------------------------------------------------- FER+ votes as a second target

#: Frame columns of the FER+ vote distribution that :func:`add_ferplus_votes` adds.
FERPLUS_VOTE_TARGETS: tuple[str, ...] = tuple(f"ferplus_{name}" for name in FERPLUS_EMOTIONS)


def ferplus_vote_distribution(votes: pd.DataFrame) -> np.ndarray:
    """Each row's votes as shares of its eight emotion votes (``FERPLUS_EMOTIONS`` order);
    ``unknown`` and ``NF`` votes are left out, and a row with no emotion vote is all zeros."""
    counts = votes[list(FERPLUS_EMOTIONS)].to_numpy(dtype="float64")
    totals = counts.sum(axis=1, keepdims=True)
    return np.divide(counts, totals, out=np.zeros_like(counts), where=totals > 0)


def add_ferplus_votes(samples: Samples, votes: pd.DataFrame | str | Path) -> Samples:
    """FER2013 samples with the FER+ annotators' vote shares as ``ferplus_<emotion>`` columns.

    The FER2013 ``label`` is untouched: the votes are a second, auxiliary target (the
    ``ferplus`` head of a model trained with ``data.ferplus_aux``). Ten annotators per face say
    how ambiguous it is and what else it resembles, which the single FER2013 label cannot; as
    a separate head they shape the shared features without pulling the FER2013 prediction
    towards FER+'s own label habits (FER+ calls many FER2013 faces neutral). Rows whose
    votes are all unknown / not-a-face get zero targets, which add nothing to the loss.
    """
    frame = samples.frame
    shares = ferplus_vote_distribution(_votes_of_rows(frame, votes))
    columns = {name: shares[:, j].astype("float32") for j, name in enumerate(FERPLUS_VOTE_TARGETS)}
    return dataclasses.replace(samples, frame=frame.assign(**columns))
