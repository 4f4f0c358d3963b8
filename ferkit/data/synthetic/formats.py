"""Synthetic faces written in the other real on-disk formats ferkit reads.

``write_ckplus`` (in :mod:`ferkit.data.synthetic.ckplus`) covers CK+. These writers cover class
folders with FANE-style file names (seed 000/001's datasets) and the FER2013 CSV with a FER+
vote file (seed 002/003), so every seed's config runs through its real loader by default.
"""
from __future__ import annotations

import gzip
from pathlib import Path
from typing import Mapping

import cv2
import numpy as np
import pandas as pd

from ferkit.data.labels import FER2013_EMOTIONS
from ferkit.data.synthetic.config import SyntheticConfig
from ferkit.data.synthetic.generator import SyntheticFaces

#: FER2013 code of each synthetic (CK+) emotion; contempt has none in FER2013.
FER2013_CODE = {"anger": 0, "disgust": 1, "fear": 2, "happy": 3, "sadness": 4, "surprise": 5,
                "neutral": 6}
#: FER+ vote column of each synthetic emotion.
FERPLUS_COLUMN = {"neutral": "neutral", "happy": "happiness", "surprise": "surprise",
                  "sadness": "sadness", "anger": "anger", "disgust": "disgust", "fear": "fear",
                  "contempt": "contempt"}
FERPLUS_COLUMNS = ["neutral", "happiness", "surprise", "sadness", "anger", "disgust", "fear",
                   "contempt", "unknown", "NF"]


def _faces(emotions: Mapping[str, float], n: int, size: int, seed: int,
           n_subjects: int) -> tuple[np.ndarray, pd.DataFrame]:
    config = SyntheticConfig(size=size, n_subjects=n_subjects,
                             emotion_proportions=dict(emotions))
    return SyntheticFaces(config, seed).sample(n)


def write_class_folders(root: str | Path, classes: Mapping[str, str], n_per_class: int = 60,
                        size: int = 48, seed: int = 0, n_subjects: int = 40) -> Path:
    """Class folders ``root/<class>/<Class>_<SkinTone>_<Gender>_<index>.png``.

    ``classes`` maps each folder name to the synthetic emotion drawn for it (e.g.
    ``{"Angry": "anger", "Focused": "contempt"}``; a stand-in where the generator has no such
    expression). File names follow FANE's ``Expression_Race_Gender_Index`` pattern with the
    skin-tone group as "race", so the file-name attribute parser can be exercised.
    """
    root = Path(root)
    for index, (folder, emotion) in enumerate(classes.items()):
        images, frame = _faces({emotion: 1.0}, n_per_class, size, seed + index, n_subjects)
        (root / folder).mkdir(parents=True, exist_ok=True)
        for k, (image, row) in enumerate(zip(images, frame.itertuples())):
            name = f"{folder}_{row.skin_tone.title()}_{row.gender.title()}_{k:04d}.png"
            cv2.imwrite(str(root / folder / name), image)
    return root


def _usage(n: int, fractions: tuple[float, float, float], rng: np.random.Generator) -> np.ndarray:
    names = np.array(["Training", "PublicTest", "PrivateTest"])
    return names[rng.choice(3, size=n, p=np.asarray(fractions) / sum(fractions))]


def _votes(emotions: pd.Series, rng: np.random.Generator, annotators: int = 10) -> pd.DataFrame:
    """FER+-style votes: most annotators pick the drawn emotion, the rest scatter."""
    votes = np.zeros((len(emotions), len(FERPLUS_COLUMNS)), dtype=int)
    for i, emotion in enumerate(emotions):
        agree = int(rng.integers(annotators // 2 + 1, annotators + 1))
        votes[i, FERPLUS_COLUMNS.index(FERPLUS_COLUMN[emotion])] += agree
        others = rng.choice(len(FERPLUS_COLUMNS) - 1, size=annotators - agree)
        np.add.at(votes[i], others, 1)
    return pd.DataFrame(votes, columns=FERPLUS_COLUMNS)


def write_fer2013(folder: str | Path, n: int = 600, seed: int = 0, n_subjects: int = 60,
                  usage_fractions: tuple[float, float, float] = (0.7, 0.15, 0.15),
                  with_ferplus: bool = True) -> Path:
    """``fer2013.csv.gz`` (``emotion,pixels,Usage``) and FER+'s ``fer2013new.csv``.

    Faces are 48x48 grey over FER2013's seven emotions (contempt, which FER2013 lacks, is not
    drawn). The vote file has one row per CSV row in the same order, ten votes each.
    Returns the CSV's path.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    emotions = {name: 1.0 for name in FER2013_CODE}
    images, frame = _faces(emotions, n, 48, seed, n_subjects)
    rng = np.random.default_rng(seed)
    usage = _usage(n, usage_fractions, rng)
    table = pd.DataFrame({
        "emotion": frame["emotion_name"].map(FER2013_CODE).astype(int),
        "pixels": [" ".join(map(str, image.ravel())) for image in images],
        "Usage": usage,
    })
    path = folder / "fer2013.csv.gz"
    with gzip.open(path, "wt", newline="") as handle:
        table.to_csv(handle, index=False)
    if with_ferplus:
        votes = _votes(frame["emotion_name"], rng)
        names = [f"fer{i:07d}.png" for i in range(n)]
        plus = pd.concat([pd.DataFrame({"Usage": usage, "Image name": names}), votes], axis=1)
        plus.to_csv(folder / "fer2013new.csv", index=False)
    assert len(FER2013_EMOTIONS) == 7
    return path
