"""What one face shows: a subject's ``Identity``, an image's ``Nuisance`` and an
``Expression``, and the seeded samplers that draw them from a ``SyntheticConfig``."""
from __future__ import annotations

import dataclasses
from typing import Mapping

import numpy as np

from ferkit.data.synthetic.config import SyntheticConfig
from ferkit.data.synthetic.vocabulary import (ATTRIBUTE_GROUPS, AUS, EMOTION_PROTOTYPES, KEY_AUS,
                                              OPTIONAL_AUS, SIDES, SKIN_LEVELS, UNILATERAL_AUS)


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
