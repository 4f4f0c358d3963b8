"""``write_ckplus``: synthetic sequences in the real CK+ (or CK+48) on-disk layout."""
from __future__ import annotations

import dataclasses
import math
import pathlib
from typing import Sequence

import cv2
import numpy as np

from ferkit.data.labels import CKPLUS_EMOTIONS
from ferkit.data.synthetic.config import SyntheticConfig
from ferkit.data.synthetic.generator import SyntheticFaces
from ferkit.data.synthetic.sampling import Expression
from ferkit.data.synthetic.vocabulary import FIRST_SUBJECT


CK48_FOLDERS: tuple[str, ...] = CKPLUS_EMOTIONS[1:]


def facs_code(intensity: float) -> int:
    """FACS intensity A..E as 1..5: (0, 0.2] -> 1 (A, trace) ... (0.8, 1] -> 5 (E, maximum).

    0 (not drawn) stays 0, which CK+ also uses for "intensity not coded".
    """
    if intensity <= 0:
        return 0
    return int(min(5, max(1, math.ceil(intensity * 5 - 1e-9))))


def _ck_text(values: Sequence[float]) -> str:
    return "".join(f"   {v:.7e}" for v in values) + "\n"


def _write_facs(root: pathlib.Path, stem: str, folder: str, expression: Expression):
    """``FACS/<folder>/<stem>_facs.txt``: one ``AU  intensity-code`` line per drawn AU."""
    lines = [_ck_text([au, facs_code(value)])
             for au, value in sorted(expression.intensities.items())]
    _write_text(root / "FACS" / folder / f"{stem}_facs.txt", "".join(lines))


def _write_emotion(root: pathlib.Path, stem: str, folder: str, expression: Expression):
    """``Emotion/<folder>/<stem>_emotion.txt``: the CK+ code of the sequence's emotion."""
    code = CKPLUS_EMOTIONS.index(expression.emotion)
    _write_text(root / "Emotion" / folder / f"{stem}_emotion.txt", _ck_text([code]))


def _write_text(path: pathlib.Path, text: str):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def _write_png(path: pathlib.Path, image: np.ndarray):
    path.parent.mkdir(parents=True, exist_ok=True)
    if not cv2.imwrite(str(path), image):
        raise OSError(f"could not write {path}")


def write_ckplus(root: str | pathlib.Path, n_subjects: int = 40, sequences_per_subject: int = 7,
                 frames_per_sequence: int = 6, seed: int = 0, config: SyntheticConfig | None = None,
                 layout: str = "full") -> pathlib.Path:
    """Write synthetic sequences in the real CK+ on-disk layout and return ``root``.

    ``layout="full"``: ``cohn-kanade-images/S501/001/S501_001_00000001.png`` per frame,
    ``Emotion/S501/001/S501_001_0000000F_emotion.txt`` and ``FACS/.../*_facs.txt`` for the
    last frame F. ``layout="ck48"``: ``CK+48/<emotion>/S501_001_0000000K.png`` for the last
    three frames plus the ``FACS`` tree. Both add ``subjects.csv`` (subject, skin_tone,
    age_group, gender), which real CK+ does not have. ``config.n_subjects`` is replaced
    by ``n_subjects``.
    """
    if layout not in ("full", "ck48"):
        raise ValueError(f"layout must be 'full' or 'ck48', got {layout!r}")
    if not 1 <= n_subjects <= 999 - FIRST_SUBJECT + 1:
        raise ValueError(f"n_subjects must be in [1, {999 - FIRST_SUBJECT + 1}] "
                         f"(ids S501..S999), got {n_subjects}")
    if not 1 <= sequences_per_subject <= 999:
        raise ValueError(f"sequences_per_subject must be in [1, 999], got {sequences_per_subject}")
    root = pathlib.Path(root)
    config = dataclasses.replace(config or SyntheticConfig(), n_subjects=n_subjects)
    faces = SyntheticFaces(config, seed)
    sequences = faces.sequences(sequences_per_subject, frames_per_sequence)
    for identity, number, expression, frames in sequences:
        folder = f"{identity.subject}/{number:03d}"
        prefix = f"{identity.subject}_{number:03d}"
        last = len(frames)
        if layout == "full":
            for k, image in enumerate(frames, start=1):
                _write_png(root / "cohn-kanade-images" / folder / f"{prefix}_{k:08d}.png", image)
            _write_emotion(root, f"{prefix}_{last:08d}", folder, expression)
        else:
            for k in range(max(2, last - 2), last + 1):   # the last three, never the onset
                path = root / "CK+48" / expression.emotion / f"{prefix}_{k:08d}.png"
                _write_png(path, frames[k - 1])
        _write_facs(root, f"{prefix}_{last:08d}", folder, expression)
    root.mkdir(parents=True, exist_ok=True)
    faces.subject_frame().to_csv(root / "subjects.csv", index=False)
    return root
