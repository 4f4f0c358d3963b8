"""The generator's vocabulary: drawable action units, their FACS names and image regions,
the AUs of each emotion, attribute groups and how difficulty acts."""
from __future__ import annotations


#: Action units this generator can draw, in column order.
AUS: tuple[int, ...] = (1, 2, 4, 5, 6, 7, 9, 10, 12, 14, 15, 17, 20, 23, 24, 25, 26, 27)

#: FACS names of the drawn action units.
AU_NAMES: dict[int, str] = {
    1: "inner brow raiser", 2: "outer brow raiser", 4: "brow lowerer",
    5: "upper lid raiser", 6: "cheek raiser", 7: "lid tightener", 9: "nose wrinkler",
    10: "upper lip raiser", 12: "lip corner puller", 14: "dimpler",
    15: "lip corner depressor", 17: "chin raiser", 20: "lip stretcher",
    23: "lip tightener", 24: "lip presser", 25: "lips part", 26: "jaw drop",
    27: "mouth stretch",
}

#: Normalised ``(y0, y1, x0, x1)`` box of the output image where each AU is drawn when
#: pose is off (any identity). Pose nuisance moves the face, and so these boxes with it.
AU_REGIONS: dict[int, tuple[float, float, float, float]] = {
    1: (0.20, 0.46, 0.22, 0.78),     # inner brows, central forehead lines
    2: (0.20, 0.46, 0.18, 0.82),     # outer brows, lateral forehead lines
    4: (0.28, 0.52, 0.20, 0.80),     # brows down and in, vertical furrows between them
    5: (0.36, 0.52, 0.20, 0.80),     # upper lids
    6: (0.38, 0.60, 0.16, 0.84),     # lower lids, crow's feet, cheek arcs
    7: (0.38, 0.54, 0.22, 0.78),     # both lids
    9: (0.42, 0.68, 0.38, 0.62),     # nose bridge lines, nose wings
    10: (0.48, 0.80, 0.28, 0.72),    # upper lip, nose wings, nasolabial folds
    12: (0.52, 0.80, 0.26, 0.74),    # lip corners, nasolabial folds
    14: (0.56, 0.82, 0.28, 0.72),    # lip corners, dimples
    15: (0.60, 0.84, 0.28, 0.72),    # lip corners
    17: (0.64, 0.96, 0.30, 0.70),    # lower lip, chin boss
    20: (0.54, 0.82, 0.26, 0.76),    # lip corners, lips
    23: (0.54, 0.82, 0.28, 0.72),    # lips
    24: (0.56, 0.82, 0.28, 0.72),    # lips, bulge above them
    25: (0.64, 0.82, 0.30, 0.70),    # gap between the lips
    26: (0.44, 1.00, 0.14, 0.86),    # open mouth, lowered chin and jaw line
    27: (0.44, 1.00, 0.14, 0.86),    # wide open mouth, lowered chin and jaw line
}

#: EMFACS-style core AUs of each CK+ emotion (contempt's 12 and 14 are drawn on one side).
EMOTION_PROTOTYPES: dict[str, tuple[int, ...]] = {
    "neutral": (),
    "anger": (4, 5, 7, 23, 24),
    "contempt": (12, 14),
    "disgust": (9, 10, 15),
    "fear": (1, 2, 4, 5, 20, 26),
    "happy": (6, 12),
    "sadness": (1, 4, 15),
    "surprise": (1, 2, 5, 26),
}

#: AUs that often accompany a prototype; each is added with ``optional_au_prob``.
OPTIONAL_AUS: dict[str, tuple[int, ...]] = {
    "neutral": (), "anger": (17,), "contempt": (), "disgust": (17,), "fear": (7,),
    "happy": (25,), "sadness": (17,), "surprise": (25, 27),
}

#: Core AUs never omitted, so a sampled expression still reads as its emotion.
KEY_AUS: dict[str, tuple[int, ...]] = {
    "neutral": (), "anger": (4, 23), "contempt": (12, 14), "disgust": (9, 10),
    "fear": (4, 20), "happy": (12,), "sadness": (1, 15), "surprise": (2, 26),
}

#: AUs drawn on one side only for an emotion.
UNILATERAL_AUS: dict[str, tuple[int, ...]] = {"contempt": (12, 14)}

#: Demographic-style attributes and their groups (order = column categories).
ATTRIBUTE_GROUPS: dict[str, tuple[str, ...]] = {
    "skin_tone": ("light", "medium", "dark"),
    "age_group": ("young", "middle", "older"),
    "gender": ("female", "male"),
}

#: Mean face grey level (0..1) of each skin tone group; features are drawn as offsets
#: from it, so feature contrast is about equal across groups unless difficulty is set.
SKIN_LEVELS: dict[str, float] = {"light": 0.78, "medium": 0.58, "dark": 0.38}

#: How a group difficulty ``d`` in [0, 1] acts on a sample (see ``SyntheticConfig``).
DIFFICULTY_AU_SCALE = 0.6      # AU intensity *= 1 - 0.6 d
DIFFICULTY_CONTRAST = 0.5      # grey deviation from the image mean *= 1 - 0.5 d
DIFFICULTY_NOISE_STD = 10.0    # extra gaussian noise std (grey levels) = 10 d

SIDES: tuple[str, ...] = ("left", "right")
FIRST_SUBJECT = 501            # synthetic ids start at S501, clear of real CK+ ids
