"""From a detected face to the model's input pixels: the one function training data cleaning,
:class:`ferkit.inference.Predictor` and ``ferkit predict`` share.

:func:`prepare_face`: with eye landmarks (and ``align``), rotate about the eyes' midpoint so the
eyes are level; crop the (rotated) box grown by the model's ``margin``; then
:func:`ferkit.data.images.fit_image` (channels, area/cubic resize). Without landmarks the box
is grown by ``margin``, clipped to the image and cropped as it is.
"""
from __future__ import annotations

import math
from typing import Sequence

import cv2
import numpy as np

from ferkit.data.cleaning.detectors import Face
from ferkit.data.images import fit_image


def expand_box(box: Sequence[int], image_shape: Sequence[int], margin: float) -> tuple[int, int, int, int]:
    """``box`` grown by ``margin`` of its width/height on every side, clipped to the image."""
    x, y, w, h = box
    height, width = image_shape[:2]
    x0, y0 = max(0, int(round(x - margin * w))), max(0, int(round(y - margin * h)))
    x1, y1 = min(width, int(round(x + w + margin * w))), min(height, int(round(y + h + margin * h)))
    return x0, y0, x1 - x0, y1 - y0


def eye_angle(face: Face) -> float:
    """Degrees the eye line rises from left to right eye in the picture (0 without eyes)."""
    if face.eyes is None:
        return 0.0
    (lx, ly), (rx, ry) = face.eyes
    return math.degrees(math.atan2(ry - ly, rx - lx))


def aligned_crop(image: np.ndarray, face: Face, margin: float) -> np.ndarray:
    """The face's box grown by ``margin``, cut from ``image`` rotated so the eyes are level.

    The rotation is about the eyes' midpoint; the box keeps its size and its centre moves
    with the rotation. Pixels that fall outside the image repeat its edge.
    """
    (lx, ly), (rx, ry) = face.eyes
    x, y, w, h = face.box
    rotation = cv2.getRotationMatrix2D(((lx + rx) / 2, (ly + ry) / 2), eye_angle(face), 1.0)
    cx, cy = rotation @ np.array([x + w / 2, y + h / 2, 1.0])
    out_w, out_h = max(1, round(w * (1 + 2 * margin))), max(1, round(h * (1 + 2 * margin)))
    rotation[:, 2] -= (cx - out_w / 2, cy - out_h / 2)   # the crop's corner becomes (0, 0)
    crop = cv2.warpAffine(np.ascontiguousarray(image), rotation, (out_w, out_h),
                          flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    return crop.reshape(out_h, out_w, -1) if image.ndim == 3 else crop


def face_pixels(image: np.ndarray, face: Face, margin: float, align: bool = True) -> np.ndarray:
    """The face cut from ``image`` at full resolution: aligned when it can be, else boxed."""
    if align and face.eyes is not None:
        return aligned_crop(image, face, margin)
    x, y, w, h = expand_box(face.box, image.shape, margin)
    return image[y:y + h, x:x + w]


def prepare_face(image: np.ndarray, face: Face, size: Sequence[int], channels: int,
                 margin: float, align: bool = True) -> np.ndarray:
    """:func:`face_pixels` then :func:`~ferkit.data.images.fit_image`: ``(H, W, channels)``."""
    return fit_image(face_pixels(image, face, margin, align), size, channels)


__all__ = ["expand_box", "eye_angle", "aligned_crop", "face_pixels", "prepare_face"]
