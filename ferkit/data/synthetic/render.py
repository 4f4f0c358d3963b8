"""``render_face``: one grey face with exactly the given AU intensities."""
from __future__ import annotations

import functools
from typing import Mapping

import cv2
import numpy as np

from ferkit.data.images import resize_image
from ferkit.data.synthetic.config import check_unit
from ferkit.data.synthetic.drawing import draw_clutter, draw_face
from ferkit.data.synthetic.painter import Painter, grey_level
from ferkit.data.synthetic.sampling import Identity, Nuisance
from ferkit.data.synthetic.vocabulary import (AUS, DIFFICULTY_AU_SCALE, DIFFICULTY_CONTRAST,
                                              DIFFICULTY_NOISE_STD, SIDES)


@functools.lru_cache(maxsize=16)
def _ramps(size: int) -> tuple[np.ndarray, np.ndarray]:
    ramp = np.linspace(-1.0, 1.0, size, dtype=np.float32)
    return ramp[None, :], ramp[:, None]


def _photometric(canvas: np.ndarray, size: int, nuisance: Nuisance, difficulty: float,
                 rng: np.random.Generator) -> np.ndarray:
    """Shrink the canvas, then light it, lower contrast by difficulty, blur and add noise."""
    image = resize_image(canvas, (size, size), "area")[..., 0].astype(np.float32)
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
        check_unit(f"aus[{au}]", value)
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
    check_unit("difficulty", difficulty)
    if size < 8 or internal_scale < 1:
        raise ValueError(f"size must be >= 8 and internal_scale >= 1, got {size}, {internal_scale}")
    identity = identity or Identity()
    nuisance = nuisance or Nuisance()
    scene_rng = np.random.default_rng([seed, 0])
    noise_rng = np.random.default_rng([seed if noise_seed is None else noise_seed, 1])
    weaken = 1.0 - DIFFICULTY_AU_SCALE * difficulty
    scaled = {au: value * weaken for au, value in aus.items()}
    pixels = size * internal_scale
    canvas = np.full((pixels, pixels), grey_level(nuisance.background), np.uint8)
    draw_clutter(canvas, nuisance.clutter, scene_rng)
    painter = Painter(canvas, nuisance)
    draw_face(painter, identity, scaled, unilateral, nuisance, scene_rng)
    painter.flush()
    return _photometric(canvas, size, nuisance, difficulty, noise_rng)
