"""CK+ (Extended Cohn-Kanade): the full distribution tree and the CK+48 class-folder variant.

Full tree::

    cohn-kanade-images/S005/001/S005_001_00000001.png ... (a sequence, neutral -> peak)
    Emotion/S005/001/S005_001_00000011_emotion.txt        ("   3.0000000e+00": CK+ code)
    FACS/S005/001/S005_001_00000011_facs.txt              (one "AU intensity" line per AU)

CK+48 variant: ``CK+48/<emotion>/S005_001_00000011.png`` (the last frames of each labelled
sequence), optionally with a ``FACS/`` tree beside it. Either layout may carry a
``subjects.csv`` (subject + attribute columns), which ferkit's synthetic generator writes.
"""
from __future__ import annotations

import re
import warnings
from pathlib import Path
from typing import Literal, Sequence

import numpy as np
import pandas as pd

from ferkit.data.labels import CKPLUS7, CKPLUS_EMOTIONS, HIGH_LEVEL, HIGH_LEVEL_OF, au_column
from ferkit.data.samples import Samples
from ferkit.errors import CKPlusFormatError

LabelSet = Literal["ckplus7", "ckplus8", "3way"]
FILE_NAME = re.compile(r"^(S\d+)_(\d+)_(\d+)\.png$", re.IGNORECASE)


def _read_text(path: str | Path, kind: str) -> str:
    """A CK+ text file's content; unreadable or non-UTF-8 files are a :class:`CKPlusFormatError`."""
    try:
        return Path(path).read_bytes().decode("utf-8")
    except UnicodeDecodeError as error:
        raise CKPlusFormatError(f"CK+ {kind} file {path}: not UTF-8 text (byte "
                                f"0x{error.object[error.start]:02x} at position {error.start})"
                                ) from None
    except OSError as error:
        raise CKPlusFormatError(f"CK+ {kind} file {path} cannot be read: "
                                f"{error.strerror or error}") from None


def parse_emotion_file(path: str | Path) -> int:
    """The CK+ emotion code (0..7) written in an ``*_emotion.txt`` file."""
    text = _read_text(path, "emotion").split()
    if len(text) != 1:
        raise CKPlusFormatError(f"CK+ emotion file {path}: expected one number, got {len(text)} tokens")
    try:
        value = float(text[0])
    except ValueError:
        raise CKPlusFormatError(f"CK+ emotion file {path}: {text[0]!r} is not a number") from None
    if not value.is_integer() or not 0 <= value < len(CKPLUS_EMOTIONS):
        raise CKPlusFormatError(f"CK+ emotion file {path}: code {text[0]} is not an integer 0..7")
    return int(value)


def parse_facs_file(path: str | Path, on_error: Literal["raise", "warn"] = "raise") -> dict[int, float]:
    """AU code -> intensity from a CK+ ``*_facs.txt`` file.

    Each line holds an AU code and an intensity. A line whose AU code is not a whole number
    (real CK+ has one written as ``1.7``) raises :class:`CKPlusFormatError` naming the file and
    line, or with ``on_error="warn"`` is reported with a warning and skipped. A file without
    any line, or not UTF-8 text, is an error too (with ``"warn"``: a warning, and no AUs).
    """
    try:
        text = _read_text(path, "FACS")
    except CKPlusFormatError as error:
        return _facs_fault(str(error), on_error)
    if not text.strip():
        return _facs_fault(f"CK+ FACS file {path} is empty (expected one 'AU intensity' line "
                           "per coded action unit)", on_error)
    aus: dict[int, float] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        tokens = line.split()
        if not tokens:
            continue
        problem = _facs_line_problem(tokens)
        if problem:
            message = f"CK+ FACS file {path}, line {number}: {problem} in {line.strip()!r}"
            if on_error == "raise":
                raise CKPlusFormatError(message)
            warnings.warn(message + " (line skipped)", stacklevel=2)
            continue
        aus[int(float(tokens[0]))] = float(tokens[1])
    return aus


def _facs_fault(message: str, on_error: str) -> dict[int, float]:
    """Raise ``message``, or with ``on_error="warn"`` warn and read the file as no AUs."""
    if on_error == "raise":
        raise CKPlusFormatError(message)
    warnings.warn(message + " (read as no action units)", stacklevel=3)
    return {}


def _facs_line_problem(tokens: list[str]) -> str:
    if len(tokens) != 2:
        return f"expected 'AU intensity', got {len(tokens)} values"
    try:
        code, _ = float(tokens[0]), float(tokens[1])
    except ValueError:
        return "non-numeric value"
    if not code.is_integer() or code < 1:
        return f"AU code {tokens[0]} is not a positive whole number"
    return ""


def parse_landmarks_file(path: str | Path) -> np.ndarray:
    """The ``(68, 2)`` float32 (x, y) points of a CK+ ``*_landmarks.txt`` file."""
    rows = []
    for number, line in enumerate(_read_text(path, "landmarks").splitlines(), start=1):
        tokens = line.split()
        if not tokens:
            continue
        try:
            if len(tokens) != 2:
                raise ValueError
            rows.append((float(tokens[0]), float(tokens[1])))
        except ValueError:
            raise CKPlusFormatError(f"CK+ landmarks file {path}, line {number}: expected 'x y', "
                                    f"got {line.strip()!r}") from None
    if len(rows) != 68:
        raise CKPlusFormatError(f"CK+ landmarks file {path}: {len(rows)} points, expected 68")
    return np.asarray(rows, dtype="float32")


def _frame_landmarks(root: Path, image_path: str) -> np.ndarray | None:
    image = Path(image_path)
    subject, sequence = image.parent.parent.name, image.parent.name
    path = root / "Landmarks" / subject / sequence / f"{image.stem}_landmarks.txt"
    return parse_landmarks_file(path) if path.is_file() else None


def detect_layout(root: Path) -> Literal["full", "ck48"]:
    """'full' when ``cohn-kanade-images/`` exists, 'ck48' for class folders."""
    if (root / "cohn-kanade-images").is_dir():
        return "full"
    if (root / "CK+48").is_dir() or any((root / name).is_dir() for name in CKPLUS7):
        return "ck48"
    raise CKPlusFormatError(
        f"{root}: not a CK+ tree (no cohn-kanade-images/ folder) nor CK+48 class folders "
        f"({', '.join(CKPLUS7)})")


def _sequence_facs(facs_root: Path, subject: str, sequence: str, on_error) -> dict[int, float] | None:
    files = sorted((facs_root / subject / sequence).glob("*_facs.txt"))
    return parse_facs_file(files[-1], on_error) if files else None


def _full_tree_rows(root: Path, n_peak: int, neutral_frames: int, on_error) -> list[dict]:
    images_root, emotion_root, facs_root = (root / "cohn-kanade-images", root / "Emotion", root / "FACS")
    if not emotion_root.is_dir():
        raise CKPlusFormatError(f"{root}: CK+ tree has no Emotion/ folder")
    rows = []
    for emotion_file in sorted(emotion_root.glob("S*/*/*_emotion.txt")):
        subject, sequence = emotion_file.parent.parent.name, emotion_file.parent.name
        code = parse_emotion_file(emotion_file)
        frames = sorted((images_root / subject / sequence).glob("*.png"))
        if not frames:
            raise CKPlusFormatError(f"{emotion_file}: no images in {images_root / subject / sequence}")
        facs = _sequence_facs(facs_root, subject, sequence, on_error)
        base = dict(subject=subject, sequence=sequence, facs=facs)
        rows += [dict(base, path=str(p), emotion=CKPLUS_EMOTIONS[code], peak=True)
                 for p in frames[-n_peak:]]
        rows += [dict(base, path=str(p), emotion="neutral", facs={}, peak=False)
                 for p in frames[:neutral_frames]]
    if not rows:
        raise CKPlusFormatError(f"{emotion_root}: no *_emotion.txt files found")
    return rows


def _ck48_rows(root: Path, on_error) -> list[dict]:
    class_root = root / "CK+48" if (root / "CK+48").is_dir() else root
    facs_root = root / "FACS"
    rows = []
    for folder in sorted(p for p in class_root.iterdir() if p.is_dir() and p.name != "FACS"):
        emotion = folder.name.lower()
        if emotion not in CKPLUS_EMOTIONS:
            raise CKPlusFormatError(f"{folder}: unknown CK+ class folder {folder.name!r}; "
                                    f"expected one of {', '.join(CKPLUS_EMOTIONS)}")
        files = sorted(folder.glob("*.png"))
        if not files:
            raise CKPlusFormatError(f"{folder}: class folder holds no .png images")
        for path in files:
            match = FILE_NAME.match(path.name)
            if not match:
                raise CKPlusFormatError(f"{path}: file name is not Sxxx_yyy_zzzzzzzz.png")
            subject, sequence = match.group(1), match.group(2)
            facs = _sequence_facs(facs_root, subject, sequence, on_error) if facs_root.is_dir() else None
            rows.append(dict(path=str(path), subject=subject, sequence=sequence, emotion=emotion,
                             facs=facs, peak=True))
    return rows


def _check_facs_frames(root: Path, layout: str, rows: list[dict], on_error: str) -> None:
    """Every ``FACS/*_facs.txt`` codes a frame the tree holds, or the file is named (with
    ``on_error="warn"``: a warning), so AUs are never attached to an image that is not there."""
    facs_root = root / "FACS"
    if not facs_root.is_dir():
        return
    ck48_stems = {Path(row["path"]).stem for row in rows}
    for facs in sorted(facs_root.glob("S*/*/*_facs.txt")):
        stem = facs.name[: -len("_facs.txt")]
        subject, sequence = facs.parent.parent.name, facs.parent.name
        if layout == "full":
            image = root / "cohn-kanade-images" / subject / sequence / f"{stem}.png"
            missing = None if image.is_file() else f"its image {image} does not exist"
        else:
            missing = None if stem in ck48_stems else f"no CK+48 image is named {stem}.png"
        if missing is None:
            continue
        message = f"CK+ FACS file {facs} codes frame {stem}, but {missing}"
        if on_error == "raise":
            raise CKPlusFormatError(message)
        warnings.warn(message + " (file ignored)", stacklevel=3)


def _label_vocabulary(labels: LabelSet) -> tuple[str, ...]:
    vocabularies = {"ckplus7": CKPLUS7, "ckplus8": CKPLUS_EMOTIONS, "3way": HIGH_LEVEL}
    if labels not in vocabularies:
        raise ValueError(f"labels must be one of {sorted(vocabularies)}, got {labels!r}")
    return vocabularies[labels]


def _choose_aus(rows: list[dict], aus, min_au_count: int) -> tuple[int, ...]:
    if aus != "auto":
        return tuple(int(a) for a in aus)
    sequences = {(r["subject"], r["sequence"]): r["facs"] for r in rows if r["peak"] and r["facs"]}
    counts = pd.Series([au for facs in sequences.values() for au in facs]).value_counts()
    return tuple(sorted(int(a) for a, n in counts.items() if n >= min_au_count))


def _attach_subject_attributes(frame: pd.DataFrame, root: Path) -> pd.DataFrame:
    table = root / "subjects.csv"
    if not table.is_file():
        return frame
    try:
        attributes = pd.read_csv(table, dtype=str)
    except (pd.errors.EmptyDataError, pd.errors.ParserError, UnicodeDecodeError) as error:
        raise CKPlusFormatError(f"{table}: not a readable CSV table "
                                f"({str(error).splitlines()[0]})") from None
    if "subject" not in attributes.columns:
        raise CKPlusFormatError(f"{table}: needs a 'subject' column, has {list(attributes.columns)}")
    return frame.merge(attributes, on="subject", how="left", validate="many_to_one")


def load_ckplus(root: str | Path, *, labels: LabelSet = "ckplus7", n_peak: int = 3,
                neutral_frames: int = 0, aus: Sequence[int] | Literal["auto"] = "auto",
                min_au_count: int = 10, require_facs: bool = False, landmarks: bool = False,
                on_error: Literal["raise", "warn"] = "raise") -> Samples:
    """Read a CK+ tree (full or CK+48 layout) into :class:`Samples`.

    Args:
        root: the folder holding ``cohn-kanade-images/`` + ``Emotion/`` (+ ``FACS/``), or
            ``CK+48/`` class folders (+ ``FACS/``).
        labels: ``"ckplus7"`` (the 7 emotions), ``"ckplus8"`` (with neutral) or ``"3way"``
            (seed 004: negative / positive / surprise; neutral frames are not allowed).
        n_peak: last frames of each labelled sequence to keep (full layout).
        neutral_frames: first frames of each sequence to add as "neutral", with no AUs (full
            layout, ``labels="ckplus8"``).
        aus: the AU list to encode, or ``"auto"``: every AU coded in ``min_au_count`` or more
            labelled sequences.
        require_facs: raise if a sequence has no FACS file (otherwise its AUs are all 0 and
            its ``has_facs`` column is False).
        landmarks: add a ``landmarks`` column of ``(68, 2)`` (x, y) arrays read from the full
            tree's optional ``Landmarks/`` folder (None where a frame has no file).
        on_error: ``"raise"`` on a malformed FACS line, or ``"warn"`` and skip the line.
    """
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"CK+ root {root} does not exist or is not a folder")
    vocabulary = _label_vocabulary(labels)
    layout = detect_layout(root)
    rows = (_full_tree_rows(root, n_peak, neutral_frames, on_error) if layout == "full"
            else _ck48_rows(root, on_error))
    _check_facs_frames(root, layout, rows, on_error)
    if neutral_frames and labels != "ckplus8":
        raise ValueError("neutral_frames needs labels='ckplus8' (neutral is not a class otherwise)")
    missing = sorted({f"{r['subject']}/{r['sequence']}" for r in rows if r["facs"] is None})
    if missing and require_facs:
        raise CKPlusFormatError(f"{root}: {len(missing)} sequences have no FACS file, e.g. {missing[:5]}")
    au_list = _choose_aus(rows, aus, min_au_count)
    frame = _rows_to_frame(rows, au_list, labels, vocabulary)
    frame = _attach_subject_attributes(frame, root)
    if landmarks:
        if layout != "full" or not (root / "Landmarks").is_dir():
            raise CKPlusFormatError(f"{root}: landmarks=True needs the full CK+ tree's Landmarks/ folder")
        frame["landmarks"] = [_frame_landmarks(root, p) for p in frame["path"]]
    return Samples(frame=frame, classes=vocabulary, aus=au_list, source=f"CK+ {layout} {root}")


def _rows_to_frame(rows, au_list, labels, vocabulary) -> pd.DataFrame:
    frame = pd.DataFrame({k: [r[k] for r in rows] for k in ("path", "subject", "sequence", "emotion")})
    frame["has_facs"] = [r["facs"] is not None for r in rows]
    for au in au_list:
        frame[au_column(au)] = [int(au in (r["facs"] or {})) for r in rows]
    names = frame["emotion"].map(HIGH_LEVEL_OF) if labels == "3way" else frame["emotion"]
    if names.isna().any():
        bad = frame.loc[names.isna(), "emotion"].unique().tolist()
        raise ValueError(f"labels={labels!r} has no class for {bad}")
    index = {name: i for i, name in enumerate(vocabulary)}
    unknown = sorted(set(names) - set(index))
    if unknown:
        raise ValueError(f"labels={labels!r} has no class for {unknown}; classes: {list(vocabulary)}")
    frame["label"] = names.map(index).astype("int64")
    return frame
