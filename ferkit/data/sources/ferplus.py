"""FER+: Microsoft's crowd votes for every FER2013 image, its label modes, and the votes
attached to FER2013 samples as soft labels or as a second target.

``fer2013new.csv`` has one row per row of ``fer2013.csv``, in the same order, with ten
annotators' votes per image::

    Usage,Image name,neutral,happiness,surprise,sadness,anger,disgust,fear,contempt,unknown,NF
    Training,fer0000000.png,4,0,0,1,3,2,0,0,0,0

The label modes follow Microsoft's FERPlus reference reader (see :func:`ferplus_targets`).
Row numbers are 0-based data rows, the position that aligns a FER+ row with its FER2013 row.
"""
from __future__ import annotations

import dataclasses
import logging
from pathlib import Path
from typing import Literal, Sequence

import numpy as np
import pandas as pd

from ferkit.data.labels import FER2013_EMOTIONS
from ferkit.data.samples import Samples
from ferkit.data.sources.common import OnError, check_on_error
from ferkit.data.sources.fer2013 import Usage, read_fer2013_table, usage_filter
from ferkit.data.sources.fer_csv import check_file, raise_or_skip, read_table
from ferkit.errors import FER2013FormatError

logger = logging.getLogger(__name__)

#: The eight FER+ emotions, in the vote-file column order (the label order of FER+ models).
FERPLUS_EMOTIONS: tuple[str, ...] = (
    "neutral", "happiness", "surprise", "sadness", "anger", "disgust", "fear", "contempt",
)
#: Every FER+ vote column: the emotions, then "unknown" and "NF" (not a face).
FERPLUS_VOTE_COLUMNS: tuple[str, ...] = FERPLUS_EMOTIONS + ("unknown", "NF")
FERPLUS_COLUMNS: tuple[str, ...] = ("Usage", "Image name") + FERPLUS_VOTE_COLUMNS
FERPLUS_MODES: tuple[str, ...] = ("majority", "probability", "crossentropy", "multi_target")

Mode = Literal["majority", "probability", "crossentropy", "multi_target"]

_UNKNOWN, _NOT_FACE = len(FERPLUS_EMOTIONS), len(FERPLUS_EMOTIONS) + 1
#: multi_target: a class is a target with at least 3 in 10 of the (non-single) votes.
MULTI_TARGET_SHARE = (3, 10)


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
    check_on_error(on_error)
    path = Path(path)
    check_file(path, "FER+")
    table, problems = read_table(path, FERPLUS_COLUMNS, "FER+")
    votes, vote_problems = _parse_votes(table)
    problems = {**vote_problems, **problems}
    skipped = raise_or_skip(problems, path, "FER+", on_error)
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


def aligned_frames(fer2013_path, ferplus_path, usage, on_error):
    """FER2013 rows joined with their FER+ votes, the images, and the rows lost on either
    side: ``{reason: [row, ...]}`` plus the skipped-row problems."""
    check_on_error(on_error)
    fer_path, plus_path = Path(fer2013_path), Path(ferplus_path)
    votes = read_ferplus_votes(plus_path, on_error)
    fer = read_fer2013_table(fer_path, usage_filter(usage), on_error)
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


def report_dropped(dropped: dict[str, list[int]], frame: pd.DataFrame, source: str) -> None:
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
    frame, images, dropped, skipped = aligned_frames(fer2013_path, ferplus_path, usage, on_error)
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
    report_dropped(dropped, frame, source)
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
