"""Label vocabularies shared by every data source.

CK+ codes its emotions 0..7; FER2013 codes 0..6 in another order. Keeping both here,
with the mappings between them, lets sources merge into one taxonomy by name.
"""
from __future__ import annotations

#: CK+ emotion codes: the index is the code written in ``Emotion/*_emotion.txt``.
CKPLUS_EMOTIONS: tuple[str, ...] = (
    "neutral", "anger", "contempt", "disgust", "fear", "happy", "sadness", "surprise",
)

#: The seven CK+ emotions without neutral, in code order (the CK+48 class folders).
CKPLUS7: tuple[str, ...] = CKPLUS_EMOTIONS[1:]

#: FER2013 ``emotion`` column codes.
FER2013_EMOTIONS: tuple[str, ...] = (
    "angry", "disgust", "fear", "happy", "sad", "surprise", "neutral",
)

#: Seed 004's high-level label: happiness is positive, surprise its own class, the rest negative.
HIGH_LEVEL: tuple[str, ...] = ("negative", "positive", "surprise")
HIGH_LEVEL_OF: dict[str, str] = {
    "anger": "negative", "contempt": "negative", "disgust": "negative", "fear": "negative",
    "sadness": "negative", "happy": "positive", "surprise": "surprise",
}

#: Names that mean the same emotion across datasets, mapped to the CK+ spelling.
SYNONYMS: dict[str, str] = {
    "angry": "anger", "anger": "anger", "mad": "anger",
    "disgust": "disgust", "disgusted": "disgust",
    "fear": "fear", "fearful": "fear", "scared": "fear",
    "happy": "happy", "happiness": "happy", "joy": "happy",
    "sad": "sadness", "sadness": "sadness",
    "surprise": "surprise", "surprised": "surprise",
    "neutral": "neutral", "contempt": "contempt",
}


def canonical_emotion(name: str) -> str:
    """Return the CK+ spelling of an emotion name (case-insensitive), or raise."""
    key = name.strip().lower()
    if key not in SYNONYMS:
        raise ValueError(f"unknown emotion name {name!r}; known: {sorted(set(SYNONYMS))}")
    return SYNONYMS[key]


def au_column(au: int) -> str:
    """Column name of an action unit in a Samples frame (``AU12``)."""
    return f"AU{int(au)}"
