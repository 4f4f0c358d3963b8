"""The face's parts drawn one by one: background clutter, head and hair, eyes and brows,
cheeks, nose, mouth and chin, and the glasses and hand occluders."""
from __future__ import annotations

import dataclasses
import functools
import math
from typing import Mapping, Sequence

import cv2
import numpy as np

from ferkit.data.synthetic.painter import (Layout, Painter, Sided, arc, bezier, darker, ellipse,
                                           face_layout, grey_level, jaw_drop)
from ferkit.data.synthetic.sampling import Identity, Nuisance


# ----------------------------------------------------------------------------- head and hair

def draw_clutter(canvas: np.ndarray, amount: float, rng: np.random.Generator):
    """Random lines, boxes and blobs behind the head, more of them for larger ``amount``."""
    pixels = canvas.shape[0]
    for _ in range(int(round(amount * 14))):
        level = grey_level(rng.uniform(0.0, 1.0))
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


def _face_outline(g: Layout, gender: str, drop: float) -> np.ndarray:
    """Closed face contour: an oval top, a squarer jaw for "male", chin lowered by ``drop``."""
    unit = _superellipse(0.8 if gender == "male" else 1.0)
    points = unit * [g.face_w, g.face_h] + [g.cx, g.cy]
    if drop:
        below_eyes = (points[:, 1] - g.eye_y) / (g.cy + g.face_h - g.eye_y)
        points[:, 1] += drop * np.clip(below_eyes, 0.0, 1.0)
    return points


def _draw_head(p: Painter, g: Layout, identity: Identity, drop: float, clothes: float):
    """Long hair (behind), neck, clothes, ears, face and the hair cap, in that order."""
    if identity.gender == "female":
        crown = ellipse(g.cx, g.cy - 0.01, g.face_w + 0.05, g.face_h + 0.05)[16:]
        ends_y = 0.92 + 0.04 * identity.hair_style
        ends = [[g.cx + g.face_w + 0.07, ends_y], [g.cx - g.face_w - 0.07, ends_y]]
        p.fill(np.vstack([crown, ends]), g.hair, depth=0.0)
    neck = [[g.cx - 0.11, 0.74], [g.cx + 0.11, 0.74], [g.cx + 0.12, 1.05], [g.cx - 0.12, 1.05]]
    p.fill(neck, darker(g.skin, 0.1), depth=0.0)
    collar = np.vstack([[[-0.05, 1.05]],
                        bezier([0.0, 0.98], [0.04, 0.9], [g.cx - 0.1, 0.9], 8),
                        bezier([g.cx - 0.1, 0.9], [g.cx, 1.0], [g.cx + 0.1, 0.9], 8),
                        bezier([g.cx + 0.1, 0.9], [0.96, 0.9], [1.0, 0.98], 8),
                        [[1.05, 1.05]]])
    p.fill(collar, clothes, depth=0.0)
    if identity.gender == "male" or identity.hair_style == 2:
        for sx in (-1, 1):
            ear = ellipse(g.cx + sx * (g.face_w + 0.005), g.eye_y + 0.05, 0.03, 0.055)
            p.fill(ear, darker(g.skin, 0.06), depth=0.0)
    p.fill(_face_outline(g, identity.gender, drop), g.skin, depth=0.0)
    _draw_hair_cap(p, g, identity)


def _hairline(g: Layout, style: int, line: float) -> np.ndarray:
    """Hair edge across the forehead, right temple to left temple, for hair style 0..2."""
    right = [g.cx + g.face_w + 0.012, g.eye_y - 0.07]
    left = [g.cx - g.face_w - 0.012, g.eye_y - 0.07]
    if style == 0:      # rounded
        middle = [g.cx, line - 0.01]
        return np.vstack([bezier(right, [g.cx + g.face_w, line], middle, 8),
                          bezier(middle, [g.cx - g.face_w, line], left, 8)])
    if style == 1:      # side parting with a swept fringe
        parting = [g.cx - 0.06, line - 0.005]
        return np.vstack([bezier(right, [g.cx + 0.16, line + 0.03], parting, 8),
                          bezier(parting, [g.cx - 0.2, line - 0.04], left, 8)])
    fringe = line + 0.02  # straight fringe
    return np.array([right, [g.cx + g.face_w * 0.85, fringe], [g.cx - g.face_w * 0.85, fringe],
                     left])


def _draw_hair_cap(p: Painter, g: Layout, identity: Identity):
    """Hair over the top of the head down to the hairline."""
    crown = ellipse(g.cx, g.cy, g.face_w + 0.025, g.face_h + 0.035)[16:]  # left, over, right
    p.fill(np.vstack([crown, _hairline(g, identity.hair_style, identity.hairline)]), g.hair, 0.0)


def _draw_age_lines(p: Painter, g: Layout, age_group: str):
    """Eye bags for "middle" (faint) and "older"; forehead lines for "older"."""
    if age_group == "young":
        return
    level = darker(g.skin, 0.1 if age_group == "older" else 0.04)
    for sx in (-1, 1):
        p.stroke(arc(g.cx + sx * g.eye_dx, g.eye_y + 0.035, 0.035, -0.015), level, 0.006)
    if age_group == "older":
        for rise in (0.075, 0.1):
            p.stroke(arc(g.cx, g.brow_y - rise + 0.01, 0.13, 0.02, 10), level, 0.006)


# ----------------------------------------------------------------------------- upper face

_EYE_U = np.linspace(-1.0, 1.0, 15)
_EYE_BULGE = (1 - _EYE_U ** 2) ** 0.7


def _lids(g: Layout, sx: int, au: Sided) -> tuple[np.ndarray, np.ndarray]:
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


def _draw_eye(p: Painter, g: Layout, sx: int, au: Sided, gaze: float):
    """White, iris and pupil, then skin over whatever lies outside the lids, then lid lines."""
    ex, ey = g.cx + sx * g.eye_dx + gaze, g.eye_y + 0.002
    top, bottom = _lids(g, sx, au)
    p.fill(np.vstack([top, bottom[::-1]]), 0.9)
    p.disc(ex, ey, 0.019, 0.2)
    p.disc(ex, ey, 0.008, 0.04)
    p.fill(np.vstack([top, top[::-1] - [0, 0.04]]), g.skin)
    p.fill(np.vstack([bottom, bottom[::-1] + [0, 0.03]]), g.skin)
    p.stroke(top, darker(g.skin, 0.45), 0.011)
    p.stroke(bottom, darker(g.skin, 0.15), 0.005)
    p.stroke(top[2:-2] - [0, 0.013 + 0.004 * au[5]], darker(g.skin, 0.08), 0.005)  # crease


_BROW_TAPER = np.linspace(0.55, 0.3, 12)


def _draw_brow(p: Painter, g: Layout, sx: int, au: Sided):
    """Tapered brow: AU1 lifts the inner end, AU2 the outer end, AU4 pulls it down and in."""
    inner_x = g.cx + sx * (g.eye_dx - g.eye_w * 0.95 - 0.028 * au[4])
    outer_x = g.cx + sx * (g.eye_dx + g.eye_w + 0.025)
    inner_y = g.brow_y - 0.05 * au[1] + 0.03 * au[4]
    arch_y = g.brow_y - 0.03 - 0.018 * au[1] - 0.035 * au[2] + 0.022 * au[4]
    outer_y = g.brow_y + 0.004 - 0.045 * au[2] + 0.012 * au[4]
    arch_x = inner_x + 0.62 * (outer_x - inner_x)
    centre = bezier([inner_x, inner_y], [arch_x, arch_y], [outer_x, outer_y], 12)
    half = np.zeros((12, 2))
    half[:, 1] = g.brow_t * _BROW_TAPER
    p.fill(np.vstack([centre - half, (centre + half)[::-1]]), darker(g.skin, 0.42))


def _draw_brow_lines(p: Painter, g: Layout, au_left: Sided, au_right: Sided):
    """AU4 vertical furrows between the brows; AU1 central and AU2 lateral forehead lines."""
    a1, a4 = max(au_left[1], au_right[1]), max(au_left[4], au_right[4])
    if a4 > 0:
        for sx in (-1, 1):
            x = g.cx + sx * 0.016
            furrow = [[x + sx * 0.004, g.brow_y - 0.005], [x, g.brow_y + 0.045]]
            p.stroke(furrow, darker(g.skin, 0.32 * a4), 0.009)
    if a1 > 0:
        for rise in (0.07, 0.1):
            line = arc(g.cx, g.brow_y - rise + 0.008, 0.075, 0.016)
            p.stroke(line, darker(g.skin, 0.26 * a1), 0.008)
    for sx, au in ((-1, au_left), (1, au_right)):
        if au[2] > 0:
            for rise in (0.085, 0.115):
                line = arc(g.cx + sx * (g.eye_dx + 0.01), g.brow_y - rise + 0.006, 0.05, 0.012)
                p.stroke(line, darker(g.skin, 0.24 * au[2]), 0.008)


def _draw_cheek(p: Painter, g: Layout, sx: int, au: Sided):
    """AU6: lower-lid bulge, crow's feet at the outer corner and a raised cheek arc."""
    a6 = au[6]
    if a6 <= 0:
        return
    ex, ey = g.cx + sx * g.eye_dx, g.eye_y
    level = darker(g.skin, 0.28 * a6)
    p.stroke(arc(ex, ey + 0.03, 0.045, -0.02, 10), level, 0.008)
    corner = np.array([ex + sx * (g.eye_w + 0.012), ey])
    for angle in (-0.5, 0.0, 0.5):
        p.stroke([corner, corner + 0.035 * np.array([sx * math.cos(angle), math.sin(angle)])],
                 level, 0.007)
    cheek = bezier([ex - sx * 0.035, ey + 0.09], [ex + sx * 0.02, ey + 0.065],
                    [ex + sx * 0.07, ey + 0.08], 10)
    p.stroke(cheek, darker(g.skin, 0.18 * a6), 0.008)


# ----------------------------------------------------------------------------- nose

def _draw_nose(p: Painter, g: Layout, au_left: Sided, au_right: Sided):
    """Bridge, wings and nostrils; AU9 wrinkles the bridge and, like AU10, lifts the wings."""
    tip = g.nose_y
    for sx, au in ((-1, au_left), (1, au_right)):
        lift = 0.014 * au[9] + 0.007 * au[10]
        wing = 0.062 + 0.01 * au[9]
        bridge = [[g.cx + sx * 0.028, g.eye_y + 0.005], [g.cx + sx * 0.035, tip - 0.04]]
        p.stroke(bridge, darker(g.skin, 0.06), 0.006)
        ala = bezier([g.cx + sx * 0.032, tip - 0.035 - lift], [g.cx + sx * wing, tip - lift],
                      [g.cx + sx * 0.026, tip + 0.013 - lift], 10)
        p.stroke(ala, darker(g.skin, 0.18), 0.008)
        p.fill(ellipse(g.cx + sx * 0.022, tip + 0.006 - lift, 0.012, 0.006), darker(g.skin, 0.32))
    p.stroke(arc(g.cx, tip + 0.004, 0.014, -0.008, 6), darker(g.skin, 0.1), 0.006)
    a9 = max(au_left[9], au_right[9])
    if a9 > 0:
        for k in range(3):
            wrinkle = arc(g.cx, g.eye_y + 0.021 + k * 0.026, 0.038, 0.014)
            p.stroke(wrinkle, darker(g.skin, 0.3 * a9), 0.008)


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


def _mouth_corner(g: Layout, sx: int, au: Sided, gap: float) -> list[float]:
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


def _mouth_shape(g: Layout, left: Sided, right: Sided) -> _Mouth:
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


def _draw_nasolabial(p: Painter, g: Layout, mouth: _Mouth, sides: Sequence[Sided],
                     age_group: str):
    """Folds from nose wing to just outside the mouth corner, deepened by AU10, AU12, age."""
    age = {"young": 0.0, "middle": 0.05, "older": 0.1}[age_group]
    for sx, au, corner in zip((-1, 1), sides, mouth.corners):
        start = [g.cx + sx * 0.062, g.nose_y - 0.008 - 0.01 * au[10]]
        end = [corner[0] + sx * 0.025, corner[1] + 0.012]
        widest = max(abs(start[0] - g.cx), abs(end[0] - g.cx))
        bend = [g.cx + sx * (widest + 0.02), g.mouth_y - 0.05]
        depth = 0.04 + age + 0.26 * au[12] + 0.2 * au[10]
        p.stroke(bezier(start, bend, end, 10), darker(g.skin, depth), 0.008)


def _draw_mouth(p: Painter, g: Layout, mouth: _Mouth, sides: Sequence[Sided]):
    """Dark opening and upper teeth when open, both lips, the lip line, AU14 dimples."""
    if mouth.is_open:
        p.fill(np.vstack([mouth.upper_inner, mouth.lower_inner[::-1]]), 0.06)
        teeth_edge = mouth.upper_inner.copy()
        teeth_edge[:, 1] = np.minimum(mouth.upper_inner[:, 1] + 0.02, mouth.lower_inner[:, 1])
        p.fill(np.vstack([mouth.upper_inner, teeth_edge[::-1]]), 0.85)
    p.fill(np.vstack([mouth.upper_outer, mouth.upper_inner[::-1]]), darker(g.skin, 0.24))
    p.fill(np.vstack([mouth.lower_inner, mouth.lower_outer[::-1]]), darker(g.skin, 0.2))
    lip_line = mouth.lower_inner if mouth.is_open else mouth.upper_inner
    p.stroke(lip_line, darker(g.skin, 0.42), 0.009)
    for sx, au, (x, y) in zip((-1, 1), sides, mouth.corners):
        if au[14] > 0:
            x += sx * 0.022
            dimple = bezier([x, y - 0.024], [x + sx * 0.014, y], [x, y + 0.024], 6)
            p.stroke(dimple, darker(g.skin, 0.4 * au[14]), 0.011)


def _draw_lip_press_lines(p: Painter, g: Layout, mouth: _Mouth, a23: float, a24: float):
    """AU24 bulges the skin above the pressed lips; AU23 creases the lips near the corners."""
    if a24 > 0:
        top = float(np.min(mouth.upper_outer[:, 1])) - 0.01
        p.stroke(arc(g.cx, top, 0.05, 0.01), darker(g.skin, 0.22 * a24), 0.007)
    if a23 > 0:
        for inward, (x, y) in zip((1, -1), mouth.corners):
            x += inward * 0.012
            p.stroke([[x, y - 0.012], [x, y + 0.012]], darker(g.skin, 0.25 * a23), 0.007)


def _draw_chin(p: Painter, g: Layout, mouth: _Mouth, a17: float, drop: float):
    """AU17: a deepened fold under the lower lip, a chin boss outline and dimpled skin."""
    if a17 <= 0:
        return
    fold_y = float(np.max(mouth.lower_outer[:, 1])) + 0.016
    p.stroke(arc(g.cx, fold_y, 0.045, -0.018), darker(g.skin, 0.3 * a17), 0.009)
    chin_y = g.cy + g.face_h + drop
    p.stroke(arc(g.cx, chin_y - 0.015, 0.06, 0.07, 10), darker(g.skin, 0.2 * a17), 0.008)
    for dx, dy in ((-0.02, 0.045), (0.02, 0.045), (0.0, 0.035)):
        p.disc(g.cx + dx, chin_y - dy, 0.006, darker(g.skin, 0.2 * a17))


# ----------------------------------------------------------------------------- occluders

def _draw_glasses(p: Painter, g: Layout):
    """Clear glasses: two rims, a bridge and the arms running to the sides of the face."""
    frame, rim_w = 0.06, g.eye_w + 0.024
    for sx in (-1, 1):
        ex = g.cx + sx * g.eye_dx
        p.stroke(ellipse(ex, g.eye_y + 0.003, rim_w, 0.045), frame, 0.011, closed=True)
        arm = [[ex + sx * rim_w, g.eye_y - 0.01], [g.cx + sx * g.face_w, g.eye_y - 0.005]]
        p.stroke(arm, frame, 0.01)
    p.stroke(arc(g.cx, g.eye_y - 0.005, g.eye_dx - rim_w, 0.025, 6), frame, 0.01)


def _draw_hand(p: Painter, g: Layout, rng: np.random.Generator):
    """A palm with four fingers, or a plain bar, laid over a random part of the face."""
    level = rng.uniform(0.2, 0.9)
    centre = np.array([g.cx + rng.uniform(-0.22, 0.22), rng.uniform(0.42, 0.85)])
    angle = rng.uniform(0.0, 2.0 * np.pi)
    along = np.array([math.cos(angle), math.sin(angle)])
    if rng.random() < 0.4:
        p.stroke([centre - 0.6 * along, centre + 0.6 * along], level, rng.uniform(0.07, 0.14), 1.5)
        return
    p.fill(ellipse(centre[0], centre[1], 0.13, 0.1, angle), level, depth=1.5)
    across = np.array([-along[1], along[0]])
    for k in (-1.5, -0.5, 0.5, 1.5):
        base = centre + 0.1 * along + 0.045 * k * across
        p.stroke([base, base + 0.13 * along], level, 0.04, depth=1.5)
        gap = base + 0.0225 * across
        p.stroke([gap, gap + 0.12 * along], darker(level, 0.15), 0.004, depth=1.5)


def draw_face(p: Painter, identity: Identity, aus: Mapping[int, float],
               unilateral: Mapping[int, str], nuisance: Nuisance, rng: np.random.Generator):
    g = face_layout(identity)
    left, right = Sided(aus, unilateral, "left"), Sided(aus, unilateral, "right")
    drop = jaw_drop(aus)
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
