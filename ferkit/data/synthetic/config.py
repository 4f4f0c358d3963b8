"""``SyntheticConfig``: every knob of the generator, validated when it is built."""
from __future__ import annotations

import dataclasses
from typing import Mapping, Sequence

import numpy as np

from ferkit.data.labels import CKPLUS_EMOTIONS
from ferkit.data.synthetic.vocabulary import ATTRIBUTE_GROUPS


def _equal(names: Sequence[str]) -> dict[str, float]:
    return {name: 1.0 for name in names}


def _default_emotions() -> dict[str, float]:
    return _equal(CKPLUS_EMOTIONS[1:])


def _default_attributes() -> dict[str, dict[str, float]]:
    return {attribute: _equal(groups) for attribute, groups in ATTRIBUTE_GROUPS.items()}

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
            check_unit(name, getattr(self, name))
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


def check_unit(name: str, value):
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
            check_unit(f"group_difficulty[{attribute!r}][{group!r}]", value)
        checked[attribute] = {group: float(value) for group, value in groups.items()}
    return checked
