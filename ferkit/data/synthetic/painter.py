"""Drawing primitives: curves in face coordinates, the ``Painter`` that maps them through the
pose onto the canvas, and the per-identity feature layout."""
from __future__ import annotations

import dataclasses
import functools
import math
from typing import Mapping

import cv2
import numpy as np

from ferkit.data.synthetic.sampling import Identity, Nuisance


_CIRCLE = np.linspace(0.0, 2.0 * np.pi, 33)[:-1]
_COS, _SIN = np.cos(_CIRCLE), np.sin(_CIRCLE)


@functools.lru_cache(maxsize=None)
def _bezier_basis(n: int) -> np.ndarray:
    t = np.linspace(0.0, 1.0, n)[:, None]
    return np.hstack([(1 - t) ** 2, 2 * (1 - t) * t, t ** 2])


def bezier(p0, p1, p2, n: int = 12) -> np.ndarray:
    """``n`` points of the quadratic Bezier curve from ``p0`` to ``p2`` pulled towards ``p1``."""
    return _bezier_basis(n) @ np.array([p0, p1, p2], dtype=float)


def arc(cx: float, y: float, half_width: float, rise: float, n: int = 8) -> np.ndarray:
    """Symmetric curve from ``(cx - half_width, y)`` to ``(cx + half_width, y)`` whose middle
    is lifted by about ``rise / 2`` (a negative ``rise`` sags downwards)."""
    return bezier([cx - half_width, y], [cx, y - rise], [cx + half_width, y], n)


def ellipse(cx: float, cy: float, ax: float, ay: float, angle: float = 0.0) -> np.ndarray:
    c, s = math.cos(angle), math.sin(angle)
    points = np.empty((len(_CIRCLE), 2))
    points[:, 0] = cx + (c * ax) * _COS - (s * ay) * _SIN
    points[:, 1] = cy + (s * ax) * _COS + (c * ay) * _SIN
    return points


def darker(level: float, amount: float) -> float:
    return max(0.02, level - amount)


class Painter:
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
        self._queue.append((points, depth, grey_level(level), -1, True))

    def stroke(self, points, level: float, width: float, depth: float = 1.0,
               closed: bool = False):
        thickness = max(1, int(round(width * self.unit)))
        self._queue.append((points, depth, grey_level(level), thickness, closed))

    def disc(self, cx: float, cy: float, radius: float, level: float, depth: float = 1.0):
        self.fill(ellipse(cx, cy, radius, radius), level, depth)

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


def grey_level(level: float) -> int:
    return int(min(255, max(0, round(level * 255))))


class Sided:
    """AU intensities as seen on one side of the face (one-sided AUs are 0 elsewhere)."""

    def __init__(self, intensities: Mapping[int, float], unilateral: Mapping[int, str],
                 side: str):
        self.values = {au: value for au, value in intensities.items()
                       if unilateral.get(au, side) == side}

    def __getitem__(self, au: int) -> float:
        return self.values.get(au, 0.0)


@dataclasses.dataclass
class Layout:
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


def face_layout(identity: Identity) -> Layout:
    return Layout(skin=identity.skin, hair=identity.hair, face_w=identity.face_width,
                   face_h=identity.face_height, eye_dx=identity.eye_spacing / 2,
                   eye_w=identity.eye_width, brow_t=identity.brow_thickness,
                   mouth_w=identity.mouth_width, nose_y=0.6 + identity.nose_length)


def jaw_drop(aus: Mapping[int, float]) -> float:
    """How far AU26/AU27 lower the chin (fraction of the image)."""
    return 0.035 * aus.get(26, 0.0) + 0.07 * aus.get(27, 0.0)
