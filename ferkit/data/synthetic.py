"""Seeded synthetic grey faces whose facial action units are drawn geometrically.

Real expression data is scarce, licensed and biased in ways nobody measured. This module
draws simple cartoon faces with OpenCV where every action unit (AU) is a known geometric
change (a brow moves, a lip corner rises, lines appear on the nose), so loaders, AU heads,
training loops and fairness reports can be tested end to end against labels that are true
by construction, and against a bias whose size the user chose.

Faces are drawn ``internal_scale`` times larger than the output with anti-aliased
primitives and shrunk with ``INTER_AREA``, which keeps thin lines as soft grey strokes.
Everything random flows from one seed, so the same seed and config give the same bytes.

Conventions: coordinates are fractions of the image, ``(x, y)`` with ``y`` down; the face
is centred at ``(0.5, 0.52)`` when pose is off. "left"/"right" mean the image's left and
right half (the viewer's side), not the subject's.
"""
from __future__ import annotations

import dataclasses
import functools
import math
import pathlib
from typing import Callable, Iterator, Mapping, Sequence

import cv2
import numpy as np
import pandas as pd

from ferkit.data.labels import CKPLUS_EMOTIONS, HIGH_LEVEL_OF, au_column

# ----------------------------------------------------------------------------- vocabulary

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


def _equal(names: Sequence[str]) -> dict[str, float]:
    return {name: 1.0 for name in names}


def _default_emotions() -> dict[str, float]:
    return _equal(CKPLUS_EMOTIONS[1:])


def _default_attributes() -> dict[str, dict[str, float]]:
    return {attribute: _equal(groups) for attribute, groups in ATTRIBUTE_GROUPS.items()}


# ----------------------------------------------------------------------------- configuration

@dataclasses.dataclass(frozen=True)
class SyntheticConfig:
    """Every knob of the generator; defaults give varied but clearly readable faces.

    Expression sampling: start from ``EMOTION_PROTOTYPES[emotion]``, drop each non-key AU
    with ``au_omit_prob``, add each ``OPTIONAL_AUS`` entry with ``optional_au_prob``, add
    any other AU with ``au_extra_prob`` (not for neutral), draw each intensity uniformly in
    ``intensity_range``.

    Nuisance: ``nuisance=False`` turns all of it off; each factor also turns off alone by
    setting its knob to 0 (ranges to a single value, e.g. ``scale_range=(1, 1)``).

    Bias injection: ``group_difficulty[attribute][group] = d`` in [0, 1]. A sample in that
    group gets AU intensities times ``1 - 0.6 d``, contrast (deviation from the image mean)
    times ``1 - 0.5 d`` and extra gaussian noise of std ``10 d`` grey levels. Labels are
    unchanged. Several matching groups combine as ``1 - prod(1 - d_i)``.
    """

    size: int = 48
    internal_scale: int = 4
    n_subjects: int = 100
    emotion_proportions: Mapping[str, float] = dataclasses.field(default_factory=_default_emotions)
    au_omit_prob: float = 0.1
    optional_au_prob: float = 0.5
    au_extra_prob: float = 0.01
    intensity_range: tuple[float, float] = (0.5, 1.0)
    attribute_proportions: Mapping[str, Mapping[str, float]] = dataclasses.field(
        default_factory=_default_attributes)
    group_difficulty: Mapping[str, Mapping[str, float]] = dataclasses.field(default_factory=dict)
    nuisance: bool = True
    roll_degrees: float = 8.0
    yaw: float = 0.35
    scale_range: tuple[float, float] = (0.92, 1.06)
    shift: float = 0.04
    gain_range: tuple[float, float] = (0.8, 1.15)
    offset_range: tuple[float, float] = (-15.0, 15.0)
    gradient: float = 0.25
    noise_std: float = 5.0
    blur_sigma: float = 0.5
    background_range: tuple[float, float] = (0.1, 0.9)
    clutter: float = 0.4
    glasses_prob: float = 0.1
    hand_prob: float = 0.05

    def __post_init__(self):
        _check_int("size", self.size, 8)
        _check_int("internal_scale", self.internal_scale, 1)
        _check_int("n_subjects", self.n_subjects, 1)
        object.__setattr__(self, "emotion_proportions", _checked_emotions(self.emotion_proportions))
        for name in ("au_omit_prob", "optional_au_prob", "au_extra_prob", "glasses_prob",
                     "hand_prob", "clutter", "yaw", "gradient"):
            _check_unit(name, getattr(self, name))
        for name in ("roll_degrees", "shift", "noise_std", "blur_sigma"):
            value = getattr(self, name)
            if not value >= 0:
                raise ValueError(f"SyntheticConfig.{name} must be >= 0, got {value!r}")
        _check_range("intensity_range", self.intensity_range, 0.0, 1.0)
        _check_range("background_range", self.background_range, 0.0, 1.0)
        _check_range("scale_range", self.scale_range, 0.3, 3.0)
        _check_range("gain_range", self.gain_range, 0.0, 10.0)
        _check_range("offset_range", self.offset_range, -255.0, 255.0)
        object.__setattr__(self, "attribute_proportions",
                           _checked_attributes(self.attribute_proportions))
        object.__setattr__(self, "group_difficulty", _checked_difficulty(self.group_difficulty))

    def without_nuisance(self) -> "SyntheticConfig":
        """A copy with every nuisance factor off (clean, centred, noiseless faces)."""
        return dataclasses.replace(self, nuisance=False)


def _check_int(name: str, value, low: int):
    if not isinstance(value, (int, np.integer)) or value < low:
        raise ValueError(f"SyntheticConfig.{name} must be an int >= {low}, got {value!r}")


def _check_unit(name: str, value):
    if not 0.0 <= float(value) <= 1.0:
        raise ValueError(f"{name} must be in [0, 1], got {value!r}")


def _check_range(name: str, pair, low: float, high: float):
    if len(pair) != 2 or not low <= pair[0] <= pair[1] <= high:
        raise ValueError(f"SyntheticConfig.{name} must be (lo, hi) with "
                         f"{low} <= lo <= hi <= {high}, got {pair!r}")


def _checked_weights(field: str, weights: Mapping[str, float], known: Sequence[str]) -> dict:
    unknown = [name for name in weights if name not in known]
    if unknown:
        raise ValueError(f"{field}: unknown name(s) {unknown}; known: {list(known)}")
    if any(not float(w) >= 0 for w in weights.values()) or sum(weights.values()) <= 0:
        raise ValueError(f"{field}: weights must be >= 0 with a positive sum, got {dict(weights)}")
    return {name: float(weights.get(name, 0.0)) for name in known}


def _checked_emotions(weights: Mapping[str, float]) -> dict[str, float]:
    return _checked_weights("emotion_proportions", weights, CKPLUS_EMOTIONS)


def _checked_attributes(proportions: Mapping[str, Mapping[str, float]]) -> dict:
    unknown = [name for name in proportions if name not in ATTRIBUTE_GROUPS]
    if unknown:
        raise ValueError(f"attribute_proportions: unknown attribute(s) {unknown}; "
                         f"known: {list(ATTRIBUTE_GROUPS)}")
    merged = _default_attributes()
    for attribute, weights in proportions.items():
        merged[attribute] = _checked_weights(f"attribute_proportions[{attribute!r}]", weights,
                                             ATTRIBUTE_GROUPS[attribute])
    return merged


def _checked_difficulty(difficulty: Mapping[str, Mapping[str, float]]) -> dict:
    checked = {}
    for attribute, groups in difficulty.items():
        if attribute not in ATTRIBUTE_GROUPS:
            raise ValueError(f"group_difficulty: unknown attribute {attribute!r}; "
                             f"known: {list(ATTRIBUTE_GROUPS)}")
        for group, value in groups.items():
            if group not in ATTRIBUTE_GROUPS[attribute]:
                raise ValueError(f"group_difficulty[{attribute!r}]: unknown group {group!r}; "
                                 f"known: {list(ATTRIBUTE_GROUPS[attribute])}")
            _check_unit(f"group_difficulty[{attribute!r}][{group!r}]", value)
        checked[attribute] = {group: float(value) for group, value in groups.items()}
    return checked


# ----------------------------------------------------------------------------- identity, nuisance

@dataclasses.dataclass(frozen=True)
class Identity:
    """Traits fixed per subject. Lengths are fractions of the image side.

    ``skin_level``/``hair_level`` (grey 0..1) default from ``skin_tone``/``age_group``.
    """

    subject: str = "S500"
    skin_tone: str = "medium"
    age_group: str = "young"
    gender: str = "female"
    face_width: float = 0.295
    face_height: float = 0.39
    eye_spacing: float = 0.33
    eye_width: float = 0.055
    brow_thickness: float = 0.028
    nose_length: float = 0.0
    mouth_width: float = 0.105
    hair_style: int = 0
    hairline: float = 0.2
    skin_level: float | None = None
    hair_level: float | None = None

    def __post_init__(self):
        for attribute, groups in ATTRIBUTE_GROUPS.items():
            if getattr(self, attribute) not in groups:
                raise ValueError(f"Identity.{attribute} must be one of {groups}, "
                                 f"got {getattr(self, attribute)!r}")

    @property
    def skin(self) -> float:
        return SKIN_LEVELS[self.skin_tone] if self.skin_level is None else self.skin_level

    @property
    def hair(self) -> float:
        if self.hair_level is not None:
            return self.hair_level
        return 0.65 if self.age_group == "older" else 0.15

    def attributes(self) -> dict[str, str]:
        return {"subject": self.subject, "skin_tone": self.skin_tone,
                "age_group": self.age_group, "gender": self.gender}


@dataclasses.dataclass(frozen=True)
class Nuisance:
    """Per-image nuisance values; the defaults mean "off" (frontal, clean, plain)."""

    roll_degrees: float = 0.0
    yaw: float = 0.0              # -1..1, turns the head: squashes and shifts features
    scale: float = 1.0
    shift_x: float = 0.0          # fraction of the image
    shift_y: float = 0.0
    gaze_x: float = 0.0
    gain: float = 1.0
    offset: float = 0.0           # grey levels
    gradient_x: float = 0.0       # relative brightness change from centre to the side
    gradient_y: float = 0.0
    noise_std: float = 0.0        # grey levels
    blur_sigma: float = 0.0       # output pixels
    background: float = 0.5       # grey 0..1
    clothes: float = 0.5          # grey 0..1
    clutter: float = 0.0          # 0..1, amount of background shapes
    glasses: bool = False
    hand: bool = False


@dataclasses.dataclass(frozen=True)
class Expression:
    """An emotion's drawn AUs: intensity per AU and the side of any one-sided AU."""

    emotion: str
    intensities: Mapping[int, float]
    unilateral: Mapping[int, str] = dataclasses.field(default_factory=dict)


def sample_identity(subject: str, attributes: Mapping[str, str],
                    rng: np.random.Generator) -> Identity:
    """Draw the fixed traits of one subject with the given attribute groups."""
    male = attributes["gender"] == "male"
    older = attributes["age_group"] == "older"
    hair = rng.uniform(0.55, 0.8) if older else rng.uniform(0.06, 0.3)
    return Identity(
        subject=subject, skin_tone=attributes["skin_tone"], age_group=attributes["age_group"],
        gender=attributes["gender"],
        face_width=rng.uniform(0.275, 0.31) + (0.012 if male else 0.0),
        face_height=rng.uniform(0.37, 0.405),
        eye_spacing=rng.uniform(0.31, 0.35),
        eye_width=rng.uniform(0.05, 0.06),
        brow_thickness=rng.uniform(0.022, 0.03) + (0.005 if male else 0.0),
        nose_length=rng.uniform(-0.018, 0.018),
        mouth_width=rng.uniform(0.095, 0.115),
        hair_style=int(rng.integers(3)),
        hairline=rng.uniform(0.15, 0.2) if male and older else rng.uniform(0.18, 0.22),
        skin_level=SKIN_LEVELS[attributes["skin_tone"]] + rng.uniform(-0.04, 0.04),
        hair_level=hair,
    )


def sample_nuisance(config: SyntheticConfig, rng: np.random.Generator) -> Nuisance:
    """Draw one image's nuisance values from the config (all off when ``nuisance=False``).

    The same number of random draws is made whatever the knobs, so turning one factor
    off leaves every other factor of every sample unchanged.
    """
    u = rng.uniform(-1.0, 1.0, size=8)
    scale = rng.uniform(*config.scale_range)
    gain = rng.uniform(*config.gain_range)
    offset = rng.uniform(*config.offset_range)
    background = rng.uniform(*config.background_range)
    clothes_level = rng.uniform(0.1, 0.9)
    noise, blur, clutter, glasses, hand = rng.uniform(size=5)
    if not config.nuisance:
        return Nuisance()
    return Nuisance(
        roll_degrees=config.roll_degrees * u[0], yaw=config.yaw * u[1], scale=scale,
        shift_x=config.shift * u[2], shift_y=config.shift * u[3], gaze_x=0.008 * u[4],
        gain=gain, offset=offset, gradient_x=config.gradient * u[5],
        gradient_y=config.gradient * u[6] * 0.5, noise_std=config.noise_std * noise,
        blur_sigma=config.blur_sigma * blur, background=background, clothes=clothes_level,
        clutter=config.clutter * clutter, glasses=bool(glasses < config.glasses_prob),
        hand=bool(hand < config.hand_prob),
    )


def sample_expression(emotion: str, config: SyntheticConfig,
                      rng: np.random.Generator) -> Expression:
    """Draw the AUs and intensities of one ``emotion`` display (see ``SyntheticConfig``)."""
    if emotion not in EMOTION_PROTOTYPES:
        raise ValueError(f"emotion: unknown {emotion!r}; known: {list(EMOTION_PROTOTYPES)}")
    chosen = [au for au in EMOTION_PROTOTYPES[emotion]
              if rng.random() >= config.au_omit_prob or au in KEY_AUS[emotion]]
    chosen += [au for au in OPTIONAL_AUS[emotion] if rng.random() < config.optional_au_prob]
    extra_draws = rng.random(len(AUS))
    if emotion != "neutral":
        chosen += [au for au, draw in zip(AUS, extra_draws)
                   if draw < config.au_extra_prob and au not in chosen]
    side = SIDES[int(rng.integers(2))]
    intensities = {au: float(rng.uniform(*config.intensity_range)) for au in sorted(chosen)}
    unilateral = {au: side for au in UNILATERAL_AUS.get(emotion, ()) if au in intensities}
    return Expression(emotion, intensities, unilateral)


# ----------------------------------------------------------------------------- drawing helpers

_CIRCLE = np.linspace(0.0, 2.0 * np.pi, 33)[:-1]
_COS, _SIN = np.cos(_CIRCLE), np.sin(_CIRCLE)


@functools.lru_cache(maxsize=None)
def _bezier_basis(n: int) -> np.ndarray:
    t = np.linspace(0.0, 1.0, n)[:, None]
    return np.hstack([(1 - t) ** 2, 2 * (1 - t) * t, t ** 2])


def _bezier(p0, p1, p2, n: int = 12) -> np.ndarray:
    """``n`` points of the quadratic Bezier curve from ``p0`` to ``p2`` pulled towards ``p1``."""
    return _bezier_basis(n) @ np.array([p0, p1, p2], dtype=float)


def _arc(cx: float, y: float, half_width: float, rise: float, n: int = 8) -> np.ndarray:
    """Symmetric curve from ``(cx - half_width, y)`` to ``(cx + half_width, y)`` whose middle
    is lifted by about ``rise / 2`` (a negative ``rise`` sags downwards)."""
    return _bezier([cx - half_width, y], [cx, y - rise], [cx + half_width, y], n)


def _ellipse(cx: float, cy: float, ax: float, ay: float, angle: float = 0.0) -> np.ndarray:
    c, s = math.cos(angle), math.sin(angle)
    points = np.empty((len(_CIRCLE), 2))
    points[:, 0] = cx + (c * ax) * _COS - (s * ay) * _SIN
    points[:, 1] = cy + (s * ax) * _COS + (c * ay) * _SIN
    return points


def _darker(level: float, amount: float) -> float:
    return max(0.02, level - amount)


class _Painter:
    """Draws shapes given in face coordinates onto the large canvas, applying pose.

    Yaw is faked as a 2-D effect: the whole head narrows and inner features (``depth``
    above 0) slide sideways more than the outline, like a turned head seen from the front.
    Shapes are queued and drawn by ``flush``, which maps all their points at once
    (pose, squash and pixel scale fold into one affine map): far faster than per shape.
    """

    _SUBPIXEL_BITS = 4

    def __init__(self, canvas: np.ndarray, nuisance: Nuisance):
        self.canvas = canvas
        pixels = canvas.shape[0]
        self.unit = pixels * nuisance.scale
        squash = 1.0 - 0.18 * abs(nuisance.yaw)
        self.parallax = 0.05 * nuisance.yaw
        angle = math.radians(nuisance.roll_degrees)
        c, s = math.cos(angle) * nuisance.scale, math.sin(angle) * nuisance.scale
        rotation = np.array([[c, -s], [s, c]])
        centre = np.array([0.5, 0.55])
        offset = centre - rotation @ centre + [nuisance.shift_x, nuisance.shift_y]
        to_fixed = pixels * (1 << self._SUBPIXEL_BITS)
        self.linear_t = (to_fixed * rotation @ np.diag([squash, 1.0])).T
        self._rotation_x = to_fixed * rotation[:, 0]
        self._base = to_fixed * (rotation @ [0.5 - 0.5 * squash, 0.0] + offset)
        self._queue: list[tuple] = []

    def fill(self, points, level: float, depth: float = 1.0):
        self._queue.append((points, depth, _grey(level), -1, True))

    def stroke(self, points, level: float, width: float, depth: float = 1.0,
               closed: bool = False):
        thickness = max(1, int(round(width * self.unit)))
        self._queue.append((points, depth, _grey(level), thickness, closed))

    def disc(self, cx: float, cy: float, radius: float, level: float, depth: float = 1.0):
        self.fill(_ellipse(cx, cy, radius, radius), level, depth)

    def flush(self):
        """Map every queued shape to pixels in one go, then draw them in queue order."""
        if not self._queue:
            return
        arrays = [np.asarray(shape[0], dtype=float) for shape in self._queue]
        lengths = [len(points) for points in arrays]
        depths = np.repeat([shape[1] for shape in self._queue], lengths)
        moved = np.concatenate(arrays) @ self.linear_t + self._base
        moved += np.outer(depths, self._rotation_x * self.parallax)
        fixed = np.rint(moved).astype(np.int32)
        start = 0
        for (_, _, grey, thickness, closed), length in zip(self._queue, lengths):
            points = [fixed[start:start + length]]
            start += length
            if thickness < 0:
                cv2.fillPoly(self.canvas, points, grey, cv2.LINE_AA, self._SUBPIXEL_BITS)
            else:
                cv2.polylines(self.canvas, points, closed, grey, thickness, cv2.LINE_AA,
                              self._SUBPIXEL_BITS)
        self._queue.clear()


def _grey(level: float) -> int:
    return int(min(255, max(0, round(level * 255))))


class _Sided:
    """AU intensities as seen on one side of the face (one-sided AUs are 0 elsewhere)."""

    def __init__(self, intensities: Mapping[int, float], unilateral: Mapping[int, str],
                 side: str):
        self.values = {au: value for au, value in intensities.items()
                       if unilateral.get(au, side) == side}

    def __getitem__(self, au: int) -> float:
        return self.values.get(au, 0.0)


@dataclasses.dataclass
class _Layout:
    """Where the features of one identity sit, before any AU moves them."""

    skin: float
    hair: float
    face_w: float
    face_h: float
    eye_dx: float
    eye_w: float
    brow_t: float
    mouth_w: float
    eye_y: float = 0.455
    brow_y: float = 0.375
    nose_y: float = 0.6
    mouth_y: float = 0.725
    cx: float = 0.5
    cy: float = 0.52


def _layout(identity: Identity) -> _Layout:
    return _Layout(skin=identity.skin, hair=identity.hair, face_w=identity.face_width,
                   face_h=identity.face_height, eye_dx=identity.eye_spacing / 2,
                   eye_w=identity.eye_width, brow_t=identity.brow_thickness,
                   mouth_w=identity.mouth_width, nose_y=0.6 + identity.nose_length)


def _jaw_drop(aus: Mapping[int, float]) -> float:
    """How far AU26/AU27 lower the chin (fraction of the image)."""
    return 0.035 * aus.get(26, 0.0) + 0.07 * aus.get(27, 0.0)


# ----------------------------------------------------------------------------- head and hair

def _draw_clutter(canvas: np.ndarray, amount: float, rng: np.random.Generator):
    """Random lines, boxes and blobs behind the head, more of them for larger ``amount``."""
    pixels = canvas.shape[0]
    for _ in range(int(round(amount * 14))):
        level = _grey(rng.uniform(0.0, 1.0))
        x0, y0, x1, y1 = (int(v) for v in rng.integers(0, pixels, size=4))
        kind = rng.integers(3)
        if kind == 0:
            width = int(rng.integers(1, pixels // 24 + 2))
            cv2.line(canvas, (x0, y0), (x1, y1), level, width, cv2.LINE_AA)
        elif kind == 1:
            cv2.rectangle(canvas, (x0, y0), (x1, y1), level, -1)
        else:
            radius = int(rng.integers(2, pixels // 6))
            cv2.circle(canvas, (x0, y0), radius, level, -1, cv2.LINE_AA)


_OUTLINE_T = np.linspace(0.0, 2.0 * np.pi, 49)[:-1]
_OUTLINE_COS, _OUTLINE_SIN = np.cos(_OUTLINE_T), np.sin(_OUTLINE_T)
_LOWER = _OUTLINE_SIN > 0
_TAPER = np.where(_LOWER, 1.0 - 0.22 * _OUTLINE_SIN ** 2, 1.0)


@functools.lru_cache(maxsize=4)
def _superellipse(power_below: float) -> np.ndarray:
    """Unit face contour; below the middle, powers under 1 give a squarer jaw."""
    power = np.where(_LOWER, power_below, 1.0)
    x = np.sign(_OUTLINE_COS) * np.abs(_OUTLINE_COS) ** power * _TAPER
    y = np.sign(_OUTLINE_SIN) * np.abs(_OUTLINE_SIN) ** power
    return np.stack([x, y], axis=1)


def _face_outline(g: _Layout, gender: str, drop: float) -> np.ndarray:
    """Closed face contour: an oval top, a squarer jaw for "male", chin lowered by ``drop``."""
    unit = _superellipse(0.8 if gender == "male" else 1.0)
    points = unit * [g.face_w, g.face_h] + [g.cx, g.cy]
    if drop:
        below_eyes = (points[:, 1] - g.eye_y) / (g.cy + g.face_h - g.eye_y)
        points[:, 1] += drop * np.clip(below_eyes, 0.0, 1.0)
    return points


def _draw_head(p: _Painter, g: _Layout, identity: Identity, drop: float, clothes: float):
    """Long hair (behind), neck, clothes, ears, face and the hair cap, in that order."""
    if identity.gender == "female":
        crown = _ellipse(g.cx, g.cy - 0.01, g.face_w + 0.05, g.face_h + 0.05)[16:]
        ends_y = 0.92 + 0.04 * identity.hair_style
        ends = [[g.cx + g.face_w + 0.07, ends_y], [g.cx - g.face_w - 0.07, ends_y]]
        p.fill(np.vstack([crown, ends]), g.hair, depth=0.0)
    neck = [[g.cx - 0.11, 0.74], [g.cx + 0.11, 0.74], [g.cx + 0.12, 1.05], [g.cx - 0.12, 1.05]]
    p.fill(neck, _darker(g.skin, 0.1), depth=0.0)
    collar = np.vstack([[[-0.05, 1.05]],
                        _bezier([0.0, 0.98], [0.04, 0.9], [g.cx - 0.1, 0.9], 8),
                        _bezier([g.cx - 0.1, 0.9], [g.cx, 1.0], [g.cx + 0.1, 0.9], 8),
                        _bezier([g.cx + 0.1, 0.9], [0.96, 0.9], [1.0, 0.98], 8),
                        [[1.05, 1.05]]])
    p.fill(collar, clothes, depth=0.0)
    if identity.gender == "male" or identity.hair_style == 2:
        for sx in (-1, 1):
            ear = _ellipse(g.cx + sx * (g.face_w + 0.005), g.eye_y + 0.05, 0.03, 0.055)
            p.fill(ear, _darker(g.skin, 0.06), depth=0.0)
    p.fill(_face_outline(g, identity.gender, drop), g.skin, depth=0.0)
    _draw_hair_cap(p, g, identity)


def _hairline(g: _Layout, style: int, line: float) -> np.ndarray:
    """Hair edge across the forehead, right temple to left temple, for hair style 0..2."""
    right = [g.cx + g.face_w + 0.012, g.eye_y - 0.07]
    left = [g.cx - g.face_w - 0.012, g.eye_y - 0.07]
    if style == 0:      # rounded
        middle = [g.cx, line - 0.01]
        return np.vstack([_bezier(right, [g.cx + g.face_w, line], middle, 8),
                          _bezier(middle, [g.cx - g.face_w, line], left, 8)])
    if style == 1:      # side parting with a swept fringe
        parting = [g.cx - 0.06, line - 0.005]
        return np.vstack([_bezier(right, [g.cx + 0.16, line + 0.03], parting, 8),
                          _bezier(parting, [g.cx - 0.2, line - 0.04], left, 8)])
    fringe = line + 0.02  # straight fringe
    return np.array([right, [g.cx + g.face_w * 0.85, fringe], [g.cx - g.face_w * 0.85, fringe],
                     left])


def _draw_hair_cap(p: _Painter, g: _Layout, identity: Identity):
    """Hair over the top of the head down to the hairline."""
    crown = _ellipse(g.cx, g.cy, g.face_w + 0.025, g.face_h + 0.035)[16:]  # left, over, right
    p.fill(np.vstack([crown, _hairline(g, identity.hair_style, identity.hairline)]), g.hair, 0.0)


def _draw_age_lines(p: _Painter, g: _Layout, age_group: str):
    """Eye bags for "middle" (faint) and "older"; forehead lines for "older"."""
    if age_group == "young":
        return
    level = _darker(g.skin, 0.1 if age_group == "older" else 0.04)
    for sx in (-1, 1):
        p.stroke(_arc(g.cx + sx * g.eye_dx, g.eye_y + 0.035, 0.035, -0.015), level, 0.006)
    if age_group == "older":
        for rise in (0.075, 0.1):
            p.stroke(_arc(g.cx, g.brow_y - rise + 0.01, 0.13, 0.02, 10), level, 0.006)


# ----------------------------------------------------------------------------- upper face

_EYE_U = np.linspace(-1.0, 1.0, 15)
_EYE_BULGE = (1 - _EYE_U ** 2) ** 0.7


def _lids(g: _Layout, sx: int, au: _Sided) -> tuple[np.ndarray, np.ndarray]:
    """Upper and lower lid curves, inner to outer: AU5 lifts the upper lid, AU6 pushes the
    lower lid up, AU7 tightens both and flattens the lower one, AU4 lowers the upper one."""
    ex, ey = g.cx + sx * g.eye_dx, g.eye_y
    upper = 0.02 + 0.022 * au[5] - 0.009 * au[7] - 0.004 * au[6] - 0.004 * au[4]
    lower = 0.013 - 0.009 * au[7] - 0.008 * au[6]
    lower_shape = _EYE_BULGE if au[7] == 0 else (1 - _EYE_U ** 2) ** (0.7 - 0.4 * au[7])
    top, bottom = np.empty((len(_EYE_U), 2)), np.empty((len(_EYE_U), 2))
    top[:, 0] = bottom[:, 0] = ex + g.eye_w * _EYE_U
    tilt = ey - 0.004 * sx * _EYE_U          # outer corners sit slightly higher
    top[:, 1] = tilt - upper * _EYE_BULGE
    bottom[:, 1] = tilt + lower * lower_shape
    return top, bottom


def _draw_eye(p: _Painter, g: _Layout, sx: int, au: _Sided, gaze: float):
    """White, iris and pupil, then skin over whatever lies outside the lids, then lid lines."""
    ex, ey = g.cx + sx * g.eye_dx + gaze, g.eye_y + 0.002
    top, bottom = _lids(g, sx, au)
    p.fill(np.vstack([top, bottom[::-1]]), 0.9)
    p.disc(ex, ey, 0.019, 0.2)
    p.disc(ex, ey, 0.008, 0.04)
    p.fill(np.vstack([top, top[::-1] - [0, 0.04]]), g.skin)
    p.fill(np.vstack([bottom, bottom[::-1] + [0, 0.03]]), g.skin)
    p.stroke(top, _darker(g.skin, 0.45), 0.011)
    p.stroke(bottom, _darker(g.skin, 0.15), 0.005)
    p.stroke(top[2:-2] - [0, 0.013 + 0.004 * au[5]], _darker(g.skin, 0.08), 0.005)  # crease


_BROW_TAPER = np.linspace(0.55, 0.3, 12)


def _draw_brow(p: _Painter, g: _Layout, sx: int, au: _Sided):
    """Tapered brow: AU1 lifts the inner end, AU2 the outer end, AU4 pulls it down and in."""
    inner_x = g.cx + sx * (g.eye_dx - g.eye_w * 0.95 - 0.028 * au[4])
    outer_x = g.cx + sx * (g.eye_dx + g.eye_w + 0.025)
    inner_y = g.brow_y - 0.05 * au[1] + 0.03 * au[4]
    arch_y = g.brow_y - 0.03 - 0.018 * au[1] - 0.035 * au[2] + 0.022 * au[4]
    outer_y = g.brow_y + 0.004 - 0.045 * au[2] + 0.012 * au[4]
    arch_x = inner_x + 0.62 * (outer_x - inner_x)
    centre = _bezier([inner_x, inner_y], [arch_x, arch_y], [outer_x, outer_y], 12)
    half = np.zeros((12, 2))
    half[:, 1] = g.brow_t * _BROW_TAPER
    p.fill(np.vstack([centre - half, (centre + half)[::-1]]), _darker(g.skin, 0.42))


def _draw_brow_lines(p: _Painter, g: _Layout, au_left: _Sided, au_right: _Sided):
    """AU4 vertical furrows between the brows; AU1 central and AU2 lateral forehead lines."""
    a1, a4 = max(au_left[1], au_right[1]), max(au_left[4], au_right[4])
    if a4 > 0:
        for sx in (-1, 1):
            x = g.cx + sx * 0.016
            furrow = [[x + sx * 0.004, g.brow_y - 0.005], [x, g.brow_y + 0.045]]
            p.stroke(furrow, _darker(g.skin, 0.32 * a4), 0.009)
    if a1 > 0:
        for rise in (0.07, 0.1):
            line = _arc(g.cx, g.brow_y - rise + 0.008, 0.075, 0.016)
            p.stroke(line, _darker(g.skin, 0.26 * a1), 0.008)
    for sx, au in ((-1, au_left), (1, au_right)):
        if au[2] > 0:
            for rise in (0.085, 0.115):
                line = _arc(g.cx + sx * (g.eye_dx + 0.01), g.brow_y - rise + 0.006, 0.05, 0.012)
                p.stroke(line, _darker(g.skin, 0.24 * au[2]), 0.008)


def _draw_cheek(p: _Painter, g: _Layout, sx: int, au: _Sided):
    """AU6: lower-lid bulge, crow's feet at the outer corner and a raised cheek arc."""
    a6 = au[6]
    if a6 <= 0:
        return
    ex, ey = g.cx + sx * g.eye_dx, g.eye_y
    level = _darker(g.skin, 0.28 * a6)
    p.stroke(_arc(ex, ey + 0.03, 0.045, -0.02, 10), level, 0.008)
    corner = np.array([ex + sx * (g.eye_w + 0.012), ey])
    for angle in (-0.5, 0.0, 0.5):
        p.stroke([corner, corner + 0.035 * np.array([sx * math.cos(angle), math.sin(angle)])],
                 level, 0.007)
    cheek = _bezier([ex - sx * 0.035, ey + 0.09], [ex + sx * 0.02, ey + 0.065],
                    [ex + sx * 0.07, ey + 0.08], 10)
    p.stroke(cheek, _darker(g.skin, 0.18 * a6), 0.008)


# ----------------------------------------------------------------------------- nose

def _draw_nose(p: _Painter, g: _Layout, au_left: _Sided, au_right: _Sided):
    """Bridge, wings and nostrils; AU9 wrinkles the bridge and, like AU10, lifts the wings."""
    tip = g.nose_y
    for sx, au in ((-1, au_left), (1, au_right)):
        lift = 0.014 * au[9] + 0.007 * au[10]
        wing = 0.062 + 0.01 * au[9]
        bridge = [[g.cx + sx * 0.028, g.eye_y + 0.005], [g.cx + sx * 0.035, tip - 0.04]]
        p.stroke(bridge, _darker(g.skin, 0.06), 0.006)
        ala = _bezier([g.cx + sx * 0.032, tip - 0.035 - lift], [g.cx + sx * wing, tip - lift],
                      [g.cx + sx * 0.026, tip + 0.013 - lift], 10)
        p.stroke(ala, _darker(g.skin, 0.18), 0.008)
        p.fill(_ellipse(g.cx + sx * 0.022, tip + 0.006 - lift, 0.012, 0.006), _darker(g.skin, 0.32))
    p.stroke(_arc(g.cx, tip + 0.004, 0.014, -0.008, 6), _darker(g.skin, 0.1), 0.006)
    a9 = max(au_left[9], au_right[9])
    if a9 > 0:
        for k in range(3):
            wrinkle = _arc(g.cx, g.eye_y + 0.021 + k * 0.026, 0.038, 0.014)
            p.stroke(wrinkle, _darker(g.skin, 0.3 * a9), 0.008)


# ----------------------------------------------------------------------------- mouth and chin

@dataclasses.dataclass
class _Mouth:
    """Lip curves, each running from the left corner to the right corner."""

    corners: np.ndarray        # (2, 2): left and right corner points
    upper_outer: np.ndarray
    upper_inner: np.ndarray
    lower_inner: np.ndarray
    lower_outer: np.ndarray

    @property
    def is_open(self) -> bool:
        return float(np.max(self.lower_inner[:, 1] - self.upper_inner[:, 1])) > 0.004


def _mouth_corner(g: _Layout, sx: int, au: _Sided, gap: float) -> list[float]:
    """Corner on side ``sx``: AU12 up and out, AU15 down, AU20 out, AU14/23/24/27 in."""
    out = (g.mouth_w + 0.03 * au[12] + 0.045 * au[20] - 0.024 * au[23] - 0.02 * au[14]
           - 0.01 * au[24] - 0.03 * au[27])
    down = (-0.038 * au[12] + 0.034 * au[15] + 0.006 * au[20] - 0.006 * au[14]
            - 0.004 * au[17] + 0.45 * gap)
    return [g.cx + sx * out, g.mouth_y + down]


_LIP_U = np.linspace(-1.0, 1.0, 21)
_LIP_T = ((_LIP_U + 1) / 2)[:, None]
_LIP_LINE = 1 - _LIP_U ** 2               # profile of the lip line between the corners
_LIP_FULL = (1 - _LIP_U ** 2) ** 0.6      # fuller profile of the outer lip edges
_CUPIDS_BOW = np.exp(-(_LIP_U / 0.15) ** 2)


def _lip_curve(corners: np.ndarray, centre_y: float, profile: np.ndarray) -> np.ndarray:
    """Curve between the corners whose middle sits at ``centre_y``, shaped by ``profile``."""
    base = corners[0] * (1 - _LIP_T) + corners[1] * _LIP_T
    base[:, 1] += (centre_y - (corners[0, 1] + corners[1, 1]) / 2) * profile
    return base


def _mouth_shape(g: _Layout, left: _Sided, right: _Sided) -> _Mouth:
    """Lip curves from the AUs: corners move (12, 14, 15, 20, 23, 27), lips thin (20, 23,
    24), the upper lip rises (10), the lower lip pushes up (17), the mouth opens (25-27)."""
    a = {n: max(left[n], right[n]) for n in (10, 17, 20, 23, 24, 25, 26, 27)}
    gap = 0.018 * a[25] + 0.04 * a[26] + 0.085 * a[27]
    corners = np.array([_mouth_corner(g, -1, left, gap), _mouth_corner(g, 1, right, gap)])
    thickness = 1.0 - 0.5 * a[23] - 0.6 * a[24] - 0.35 * a[20]
    closed_y = g.mouth_y + 0.003 - 0.01 * a[17] + 0.008 * a[24]
    upper_inner_y = closed_y - 0.022 * a[10]
    lower_inner_y = max(upper_inner_y, closed_y + gap - 0.002 * a[17])
    upper_outer = _lip_curve(corners, upper_inner_y - 0.02 * thickness - 0.004 * a[10], _LIP_FULL)
    upper_outer[:, 1] += 0.005 * thickness * _CUPIDS_BOW
    lower_outer = _lip_curve(corners, lower_inner_y + 0.026 * thickness + 0.004 * a[17], _LIP_FULL)
    return _Mouth(corners, upper_outer, _lip_curve(corners, upper_inner_y, _LIP_LINE),
                  _lip_curve(corners, lower_inner_y, _LIP_LINE), lower_outer)


def _draw_nasolabial(p: _Painter, g: _Layout, mouth: _Mouth, sides: Sequence[_Sided],
                     age_group: str):
    """Folds from nose wing to just outside the mouth corner, deepened by AU10, AU12, age."""
    age = {"young": 0.0, "middle": 0.05, "older": 0.1}[age_group]
    for sx, au, corner in zip((-1, 1), sides, mouth.corners):
        start = [g.cx + sx * 0.062, g.nose_y - 0.008 - 0.01 * au[10]]
        end = [corner[0] + sx * 0.025, corner[1] + 0.012]
        widest = max(abs(start[0] - g.cx), abs(end[0] - g.cx))
        bend = [g.cx + sx * (widest + 0.02), g.mouth_y - 0.05]
        depth = 0.04 + age + 0.26 * au[12] + 0.2 * au[10]
        p.stroke(_bezier(start, bend, end, 10), _darker(g.skin, depth), 0.008)


def _draw_mouth(p: _Painter, g: _Layout, mouth: _Mouth, sides: Sequence[_Sided]):
    """Dark opening and upper teeth when open, both lips, the lip line, AU14 dimples."""
    if mouth.is_open:
        p.fill(np.vstack([mouth.upper_inner, mouth.lower_inner[::-1]]), 0.06)
        teeth_edge = mouth.upper_inner.copy()
        teeth_edge[:, 1] = np.minimum(mouth.upper_inner[:, 1] + 0.02, mouth.lower_inner[:, 1])
        p.fill(np.vstack([mouth.upper_inner, teeth_edge[::-1]]), 0.85)
    p.fill(np.vstack([mouth.upper_outer, mouth.upper_inner[::-1]]), _darker(g.skin, 0.24))
    p.fill(np.vstack([mouth.lower_inner, mouth.lower_outer[::-1]]), _darker(g.skin, 0.2))
    lip_line = mouth.lower_inner if mouth.is_open else mouth.upper_inner
    p.stroke(lip_line, _darker(g.skin, 0.42), 0.009)
    for sx, au, (x, y) in zip((-1, 1), sides, mouth.corners):
        if au[14] > 0:
            x += sx * 0.022
            dimple = _bezier([x, y - 0.024], [x + sx * 0.014, y], [x, y + 0.024], 6)
            p.stroke(dimple, _darker(g.skin, 0.4 * au[14]), 0.011)


def _draw_lip_press_lines(p: _Painter, g: _Layout, mouth: _Mouth, a23: float, a24: float):
    """AU24 bulges the skin above the pressed lips; AU23 creases the lips near the corners."""
    if a24 > 0:
        top = float(np.min(mouth.upper_outer[:, 1])) - 0.01
        p.stroke(_arc(g.cx, top, 0.05, 0.01), _darker(g.skin, 0.22 * a24), 0.007)
    if a23 > 0:
        for inward, (x, y) in zip((1, -1), mouth.corners):
            x += inward * 0.012
            p.stroke([[x, y - 0.012], [x, y + 0.012]], _darker(g.skin, 0.25 * a23), 0.007)


def _draw_chin(p: _Painter, g: _Layout, mouth: _Mouth, a17: float, drop: float):
    """AU17: a deepened fold under the lower lip, a chin boss outline and dimpled skin."""
    if a17 <= 0:
        return
    fold_y = float(np.max(mouth.lower_outer[:, 1])) + 0.016
    p.stroke(_arc(g.cx, fold_y, 0.045, -0.018), _darker(g.skin, 0.3 * a17), 0.009)
    chin_y = g.cy + g.face_h + drop
    p.stroke(_arc(g.cx, chin_y - 0.015, 0.06, 0.07, 10), _darker(g.skin, 0.2 * a17), 0.008)
    for dx, dy in ((-0.02, 0.045), (0.02, 0.045), (0.0, 0.035)):
        p.disc(g.cx + dx, chin_y - dy, 0.006, _darker(g.skin, 0.2 * a17))


# ----------------------------------------------------------------------------- occluders

def _draw_glasses(p: _Painter, g: _Layout):
    """Clear glasses: two rims, a bridge and the arms running to the sides of the face."""
    frame, rim_w = 0.06, g.eye_w + 0.024
    for sx in (-1, 1):
        ex = g.cx + sx * g.eye_dx
        p.stroke(_ellipse(ex, g.eye_y + 0.003, rim_w, 0.045), frame, 0.011, closed=True)
        arm = [[ex + sx * rim_w, g.eye_y - 0.01], [g.cx + sx * g.face_w, g.eye_y - 0.005]]
        p.stroke(arm, frame, 0.01)
    p.stroke(_arc(g.cx, g.eye_y - 0.005, g.eye_dx - rim_w, 0.025, 6), frame, 0.01)


def _draw_hand(p: _Painter, g: _Layout, rng: np.random.Generator):
    """A palm with four fingers, or a plain bar, laid over a random part of the face."""
    level = rng.uniform(0.2, 0.9)
    centre = np.array([g.cx + rng.uniform(-0.22, 0.22), rng.uniform(0.42, 0.85)])
    angle = rng.uniform(0.0, 2.0 * np.pi)
    along = np.array([math.cos(angle), math.sin(angle)])
    if rng.random() < 0.4:
        p.stroke([centre - 0.6 * along, centre + 0.6 * along], level, rng.uniform(0.07, 0.14), 1.5)
        return
    p.fill(_ellipse(centre[0], centre[1], 0.13, 0.1, angle), level, depth=1.5)
    across = np.array([-along[1], along[0]])
    for k in (-1.5, -0.5, 0.5, 1.5):
        base = centre + 0.1 * along + 0.045 * k * across
        p.stroke([base, base + 0.13 * along], level, 0.04, depth=1.5)
        gap = base + 0.0225 * across
        p.stroke([gap, gap + 0.12 * along], _darker(level, 0.15), 0.004, depth=1.5)


# ----------------------------------------------------------------------------- rendering

@functools.lru_cache(maxsize=16)
def _ramps(size: int) -> tuple[np.ndarray, np.ndarray]:
    ramp = np.linspace(-1.0, 1.0, size, dtype=np.float32)
    return ramp[None, :], ramp[:, None]


def _photometric(canvas: np.ndarray, size: int, nuisance: Nuisance, difficulty: float,
                 rng: np.random.Generator) -> np.ndarray:
    """Shrink the canvas, then light it, lower contrast by difficulty, blur and add noise."""
    image = cv2.resize(canvas, (size, size), interpolation=cv2.INTER_AREA).astype(np.float32)
    image = image * nuisance.gain + nuisance.offset
    if nuisance.gradient_x or nuisance.gradient_y:
        across, down = _ramps(size)
        image *= 1.0 + nuisance.gradient_x * across + nuisance.gradient_y * down
    if difficulty > 0:
        mean = float(image.mean())
        image = mean + (image - mean) * (1.0 - DIFFICULTY_CONTRAST * difficulty)
    if nuisance.blur_sigma > 0.05:
        image = cv2.GaussianBlur(image, (0, 0), nuisance.blur_sigma)
    noise_std = nuisance.noise_std + DIFFICULTY_NOISE_STD * difficulty
    if noise_std > 0:
        image += rng.normal(0.0, noise_std, image.shape).astype(np.float32)
    return np.clip(np.rint(image), 0, 255).astype(np.uint8)


def _checked_aus(aus: Mapping[int, float] | None, unilateral: Mapping[int, str] | None):
    aus = dict(aus or {})
    unknown = [au for au in aus if au not in AUS]
    if unknown:
        raise ValueError(f"aus: cannot draw AU(s) {unknown}; drawable: {list(AUS)}")
    for au, value in aus.items():
        _check_unit(f"aus[{au}]", value)
    unilateral = dict(unilateral or {})
    bad = {au: side for au, side in unilateral.items() if side not in SIDES}
    if bad:
        raise ValueError(f"unilateral: sides must be 'left' or 'right', got {bad}")
    return aus, unilateral


def render_face(aus: Mapping[int, float] | None = None, identity: Identity | None = None,
                nuisance: Nuisance | None = None, size: int = 48, seed: int = 0, *,
                unilateral: Mapping[int, str] | None = None, difficulty: float = 0.0,
                internal_scale: int = 4, noise_seed: int | None = None) -> np.ndarray:
    """Draw one grey face, uint8 ``(size, size)``, with exactly the given AU intensities.

    Args:
        aus: intensity in [0, 1] per AU of ``AUS``; missing AUs are off.
        identity: the subject's traits (default: an average "medium", "young" face).
        nuisance: pose, lighting, noise and occluders (default: all off).
        seed: drives the random parts of the scene (clutter shapes, hand placement) and,
            unless ``noise_seed`` is given, the pixel noise.
        unilateral: AU -> "left"/"right" for AUs drawn on one image side only.
        difficulty: group difficulty in [0, 1] (see ``SyntheticConfig``).
        internal_scale: drawing happens at ``size * internal_scale`` pixels, then shrinks.
        noise_seed: seed of the pixel noise alone, so frames can share a scene.
    """
    aus, unilateral = _checked_aus(aus, unilateral)
    _check_unit("difficulty", difficulty)
    if size < 8 or internal_scale < 1:
        raise ValueError(f"size must be >= 8 and internal_scale >= 1, got {size}, {internal_scale}")
    identity = identity or Identity()
    nuisance = nuisance or Nuisance()
    scene_rng = np.random.default_rng([seed, 0])
    noise_rng = np.random.default_rng([seed if noise_seed is None else noise_seed, 1])
    weaken = 1.0 - DIFFICULTY_AU_SCALE * difficulty
    scaled = {au: value * weaken for au, value in aus.items()}
    pixels = size * internal_scale
    canvas = np.full((pixels, pixels), _grey(nuisance.background), np.uint8)
    _draw_clutter(canvas, nuisance.clutter, scene_rng)
    painter = _Painter(canvas, nuisance)
    _draw_face(painter, identity, scaled, unilateral, nuisance, scene_rng)
    painter.flush()
    return _photometric(canvas, size, nuisance, difficulty, noise_rng)


def _draw_face(p: _Painter, identity: Identity, aus: Mapping[int, float],
               unilateral: Mapping[int, str], nuisance: Nuisance, rng: np.random.Generator):
    g = _layout(identity)
    left, right = _Sided(aus, unilateral, "left"), _Sided(aus, unilateral, "right")
    drop = _jaw_drop(aus)
    _draw_head(p, g, identity, drop, nuisance.clothes)
    _draw_age_lines(p, g, identity.age_group)
    for sx, au in ((-1, left), (1, right)):
        _draw_eye(p, g, sx, au, nuisance.gaze_x)
        _draw_brow(p, g, sx, au)
        _draw_cheek(p, g, sx, au)
    _draw_brow_lines(p, g, left, right)
    _draw_nose(p, g, left, right)
    mouth = _mouth_shape(g, left, right)
    _draw_nasolabial(p, g, mouth, (left, right), identity.age_group)
    _draw_mouth(p, g, mouth, (left, right))
    _draw_lip_press_lines(p, g, mouth, max(left[23], right[23]), max(left[24], right[24]))
    _draw_chin(p, g, mouth, max(left[17], right[17]), drop)
    if nuisance.glasses:
        _draw_glasses(p, g)
    if nuisance.hand:
        _draw_hand(p, g, rng)


# ----------------------------------------------------------------------------- the generator

def _quota(weights: Mapping[str, float], n: int) -> list[str]:
    """``n`` group names in the given proportions, rounded by largest remainder."""
    names = list(weights)
    share = np.array([weights[name] for name in names]) / sum(weights.values()) * n
    counts = np.floor(share).astype(int)
    for k in np.argsort(-(share - counts), kind="stable")[: n - counts.sum()]:
        counts[k] += 1
    return [name for name, count in zip(names, counts) for _ in range(count)]


def _combined_difficulty(identity: Identity,
                         difficulty: Mapping[str, Mapping[str, float]]) -> float:
    """``1 - prod(1 - d)`` over the identity's groups that have a difficulty ``d``."""
    keep = 1.0
    for attribute, groups in difficulty.items():
        keep *= 1.0 - groups.get(getattr(identity, attribute), 0.0)
    return 1.0 - keep


def _weighted_picker(weights: Mapping[str, float]) -> Callable[[np.random.Generator], str]:
    """A function drawing one name with probability proportional to its weight."""
    names = [name for name, weight in weights.items() if weight > 0]
    cumulative = np.cumsum([weights[name] for name in names])

    def pick(rng: np.random.Generator) -> str:
        k = int(np.searchsorted(cumulative, rng.random() * cumulative[-1], side="right"))
        return names[min(k, len(names) - 1)]

    return pick


class SyntheticFaces:
    """A seeded population of synthetic subjects that draws labelled face images.

    Subjects (``S501``, ``S502``, ...) are created once from the seed, with attribute
    groups assigned by quota so the subject population matches ``attribute_proportions``
    exactly (up to rounding). Successive ``sample`` calls continue one random stream, so a
    fresh object with the same seed and config replays the same images.
    """

    def __init__(self, config: SyntheticConfig | None = None, seed: int = 0):
        self.config = config or SyntheticConfig()
        self.seed = seed
        self._rng = np.random.default_rng([seed, 1])
        self.subjects: list[Identity] = self._make_subjects(self.config.n_subjects)

    def _make_subjects(self, n: int) -> list[Identity]:
        rng = np.random.default_rng([self.seed, 0])
        groups = {}
        for attribute, weights in self.config.attribute_proportions.items():
            names = _quota(weights, n)
            groups[attribute] = [names[k] for k in rng.permutation(n)]
        return [sample_identity(f"S{FIRST_SUBJECT + k:03d}",
                                {attribute: groups[attribute][k] for attribute in groups}, rng)
                for k in range(n)]

    def subject_frame(self) -> pd.DataFrame:
        """One row per subject: subject, skin_tone, age_group, gender."""
        return pd.DataFrame([s.attributes() for s in self.subjects])

    def difficulty_of(self, identity: Identity) -> float:
        """Combined group difficulty of a subject under this config."""
        return _combined_difficulty(identity, self.config.group_difficulty)

    def _emotion_picker(self, include_neutral: bool) -> Callable[[np.random.Generator], str]:
        weights = dict(self.config.emotion_proportions)
        if not include_neutral:
            weights["neutral"] = 0.0
        if sum(weights.values()) <= 0:
            raise ValueError("emotion_proportions: no non-neutral emotion has a positive weight")
        return _weighted_picker(weights)

    def render(self, expression: Expression, identity: Identity, nuisance: Nuisance,
               seed: int, strength: float = 1.0, noise_seed: int | None = None) -> np.ndarray:
        """Draw ``expression`` at ``strength`` (0..1 of its intensities) on ``identity``."""
        aus = {au: value * strength for au, value in expression.intensities.items()}
        return render_face(aus, identity, nuisance, self.config.size, seed,
                           unilateral=expression.unilateral,
                           difficulty=self.difficulty_of(identity),
                           internal_scale=self.config.internal_scale, noise_seed=noise_seed)

    def sample(self, n: int) -> tuple[np.ndarray, pd.DataFrame]:
        """Draw ``n`` labelled faces: uint8 images ``(n, H, W)`` and one frame row each."""
        if n < 0:
            raise ValueError(f"n must be >= 0, got {n}")
        size = self.config.size
        images = np.empty((n, size, size), np.uint8)
        pick_emotion = self._emotion_picker(include_neutral=True)
        rows = []
        for k in range(n):
            identity = self.subjects[int(self._rng.integers(len(self.subjects)))]
            expression = sample_expression(pick_emotion(self._rng), self.config, self._rng)
            nuisance = sample_nuisance(self.config, self._rng)
            seed = int(self._rng.integers(2 ** 31))
            images[k] = self.render(expression, identity, nuisance, seed)
            rows.append(_row(expression, identity))
        return images, _frame(rows)

    def sequences(self, sequences_per_subject: int, frames: int
                  ) -> Iterator[tuple[Identity, int, Expression, list[np.ndarray]]]:
        """CK+-style sequences: per subject and sequence, frames ramping from neutral to peak.

        Yields ``(identity, sequence_number, expression, frames)``. Identity, nuisance and
        scene (clutter, occluder) stay fixed within a sequence; each frame adds a little head
        jitter and fresh pixel noise.
        """
        if frames < 2:
            raise ValueError(f"frames_per_sequence must be >= 2 (neutral + peak), got {frames}")
        pick_emotion = self._emotion_picker(include_neutral=False)
        for identity in self.subjects:
            for number in range(1, sequences_per_subject + 1):
                expression = sample_expression(pick_emotion(self._rng), self.config, self._rng)
                nuisance = sample_nuisance(self.config, self._rng)
                seed = int(self._rng.integers(2 ** 31))
                images = [self.render(expression, identity, _jitter(nuisance, seed, step), seed,
                                      strength=step / (frames - 1), noise_seed=seed + step)
                          for step in range(frames)]
                yield identity, number, expression, images


def _jitter(nuisance: Nuisance, seed: int, step: int) -> Nuisance:
    """The sequence's nuisance with a small per-frame head movement (none at frame 0)."""
    if step == 0 or nuisance == Nuisance():
        return nuisance
    wobble = np.random.default_rng([seed, step]).uniform(-1.0, 1.0, size=3)
    return dataclasses.replace(nuisance, roll_degrees=nuisance.roll_degrees + 0.6 * wobble[0],
                               shift_x=nuisance.shift_x + 0.004 * wobble[1],
                               shift_y=nuisance.shift_y + 0.004 * wobble[2])


def _row(expression: Expression, identity: Identity) -> dict:
    name = expression.emotion
    row = {"emotion": CKPLUS_EMOTIONS.index(name), "emotion_name": name,
           "high_level": HIGH_LEVEL_OF.get(name, "neutral")}
    row.update({au_column(au): int(expression.intensities.get(au, 0.0) > 0) for au in AUS})
    row.update(identity.attributes())
    return row


def _frame(rows: list[dict]) -> pd.DataFrame:
    columns = (["emotion", "emotion_name", "high_level"] + [au_column(au) for au in AUS]
               + ["subject", "skin_tone", "age_group", "gender"])
    frame = pd.DataFrame(rows, columns=columns)
    return frame.astype({"emotion": "int64", **{au_column(au): "int64" for au in AUS}})


# ----------------------------------------------------------------------------- CK+ writer

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


# ----------------------------------------------------------------------------- plotting

def plot_grid(images: np.ndarray, frame: pd.DataFrame, path: str | pathlib.Path,
              columns: int = 8, title_column: str = "emotion_name") -> pathlib.Path:
    """Save a grid of ``images`` titled by ``frame[title_column]`` as a PNG.

    Uses a bare matplotlib ``Figure`` (Agg), so no pyplot state or backend is touched.
    """
    from matplotlib.figure import Figure

    rows = max(1, math.ceil(len(images) / columns))
    figure = Figure(figsize=(columns * 1.3, rows * 1.45))
    axes = figure.subplots(rows, columns, squeeze=False)
    for k, axis in enumerate(axes.ravel()):
        axis.axis("off")
        if k < len(images):
            axis.imshow(images[k], cmap="gray", vmin=0, vmax=255, interpolation="nearest")
            axis.set_title(str(frame[title_column].iloc[k]), fontsize=7)
    figure.tight_layout()
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)
    return path
