"""From a detected face to the model's input pixels: the one function training data cleaning,
:class:`ferkit.inference.Predictor` and ``ferkit predict`` share.

:func:`prepare_face` uses one geometry with and without alignment: the detector box made square
around its centre (side ``max(w, h)``), grown by the model's ``margin`` on every side, cut from
the image (rotated about the eyes' midpoint so they are level, when aligning) with pixels outside
the image repeating its edge; then :func:`ferkit.data.images.fit_image` (channels, area/cubic
resize). Square crops match the square FER2013/CK+ training faces, so nothing is stretched.
"""
from __future__ import annotations

import math
from typing import Sequence

import cv2
import numpy as np

from ferkit.data.cleaning.detectors import Face
from ferkit.data.images import fit_image, to_channels


def expand_box(box: Sequence[int], image_shape: Sequence[int], margin: float) -> tuple[int, int, int, int]:
    """``box`` grown by ``margin`` of its width/height on every side, clipped to the image."""
    x, y, w, h = box
    height, width = image_shape[:2]
    x0, y0 = max(0, int(round(x - margin * w))), max(0, int(round(y - margin * h)))
    x1, y1 = min(width, int(round(x + w + margin * w))), min(height, int(round(y + h + margin * h)))
    return x0, y0, x1 - x0, y1 - y0


def crop_side(box: Sequence[int], margin: float) -> int:
    """Side of the square crop: the box's longer side grown by ``margin`` on both ends."""
    return max(1, round(max(box[2], box[3]) * (1 + 2 * margin)))


def square_box(box: Sequence[int], margin: float) -> tuple[int, int, int, int]:
    """The square crop ``(x, y, side, side)`` around ``box``'s centre, not clipped to the image."""
    x, y, w, h = box
    side = crop_side(box, margin)
    return _corner(x + w / 2, side), _corner(y + h / 2, side), side, side


def clip_box(box: Sequence[int], image_shape: Sequence[int]) -> tuple[int, int, int, int]:
    """The part of ``box`` that lies inside an image of ``image_shape``."""
    x, y, w, h = box
    height, width = image_shape[:2]
    x0, y0 = max(0, x), max(0, y)
    return x0, y0, max(0, min(width, x + w) - x0), max(0, min(height, y + h) - y0)


def eye_angle(face: Face) -> float:
    """Degrees the eye line rises from left to right eye in the picture (0 without eyes)."""
    if face.eyes is None:
        return 0.0
    (lx, ly), (rx, ry) = face.eyes
    return math.degrees(math.atan2(ry - ly, rx - lx))


def _corner(centre: float, side: int) -> int:
    """Whole-pixel start of a ``side``-long span centred on ``centre``."""
    return int(round(centre - side / 2))


def _cut_square(image: np.ndarray, transform: np.ndarray, centre: Sequence[float],
                side: int) -> np.ndarray:
    """The ``side`` square centred on ``centre`` of ``transform(image)``, edge pixels repeated."""
    transform = transform.astype(np.float64).copy()
    transform[:, 2] -= (_corner(centre[0], side), _corner(centre[1], side))
    crop = cv2.warpAffine(np.ascontiguousarray(image), transform, (side, side),
                          flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    return crop.reshape(side, side, -1) if image.ndim == 3 else crop


def aligned_crop(image: np.ndarray, face: Face, margin: float) -> np.ndarray:
    """The face's grown square, cut from ``image`` rotated so the eyes are level.

    The rotation is about the eyes' midpoint; the square keeps its size and its centre moves
    with the rotation. Pixels that fall outside the image repeat its edge.
    """
    (lx, ly), (rx, ry) = face.eyes
    x, y, w, h = face.box
    rotation = cv2.getRotationMatrix2D(((lx + rx) / 2, (ly + ry) / 2), eye_angle(face), 1.0)
    centre = rotation @ np.array([x + w / 2, y + h / 2, 1.0])
    return _cut_square(image, rotation, centre, crop_side(face.box, margin))


def boxed_crop(image: np.ndarray, face: Face, margin: float) -> np.ndarray:
    """The face's grown square cut from ``image`` as it is, edge pixels repeated outside it."""
    x, y, w, h = face.box
    return _cut_square(image, np.eye(2, 3), (x + w / 2, y + h / 2), crop_side(face.box, margin))


def face_pixels(image: np.ndarray, face: Face, margin: float, align: bool = True) -> np.ndarray:
    """The face cut from ``image`` at full resolution: aligned when it can be, else boxed."""
    if align and face.eyes is not None:
        return aligned_crop(image, face, margin)
    return boxed_crop(image, face, margin)


def prepare_face(image: np.ndarray, face: Face, size: Sequence[int], channels: int,
                 margin: float, align: bool = True) -> np.ndarray:
    """:func:`face_pixels` then :func:`~ferkit.data.images.fit_image`: ``(H, W, channels)``.

    For a grey model the image is made grey first, so only one channel is rotated and cut
    (a third of the work; the same pixels to within rounding, one grey level).
    """
    if channels == 1:
        image = to_channels(image, 1)
    return fit_image(face_pixels(image, face, margin, align), size, channels)


__all__ = ["expand_box", "crop_side", "square_box", "clip_box", "eye_angle", "aligned_crop", "boxed_crop",
           "face_pixels", "prepare_face"]
