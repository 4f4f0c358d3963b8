"""The one image path: decode a file, convert its channels, resize it to a model's input.

Training data (CK+ frames, class folders, manifests), evaluation, export checks and the
:class:`~ferkit.inference.Predictor` all prepare pixels through :func:`fit_image`, so a face
reaches a model the same way whether it came from a dataset or from a user's photo:

1. decode to uint8 RGB (:func:`read_image`; grey files become three equal channels),
2. convert to the model's channels (:func:`to_channels`; grey by OpenCV's BT.601 weights),
3. resize with area interpolation when shrinking and cubic when enlarging (:func:`resize_image`).

Only OpenCV and NumPy are imported here.
"""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

import cv2
import numpy as np

from ferkit.errors import ImageNotFoundError, ImageReadError

#: File suffixes read as images, everywhere in ferkit (lower case).
IMAGE_EXTENSIONS: tuple[str, ...] = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp",
                                     ".pgm", ".ppm")
#: File suffixes read as videos by ``ferkit predict``.
VIDEO_EXTENSIONS: tuple[str, ...] = (".avi", ".mp4", ".mov", ".mkv", ".webm", ".m4v", ".mpg",
                                     ".mpeg", ".wmv")


def is_image_file(path: str | Path) -> bool:
    """True for a path whose suffix is one of :data:`IMAGE_EXTENSIONS` (any case)."""
    return Path(path).suffix.lower() in IMAGE_EXTENSIONS


def read_image(path: str | Path) -> np.ndarray:
    """An image file as uint8 RGB ``(H, W, 3)``.

    Raises :class:`~ferkit.errors.ImageNotFoundError` (a ``FileNotFoundError``) naming a missing
    file, :class:`~ferkit.errors.ImageReadError` (an ``OSError``) naming one that is empty,
    truncated or not a format OpenCV decodes.
    """
    path = Path(path)
    if not path.is_file():
        raise ImageNotFoundError(f"image {path} does not exist")
    if path.stat().st_size == 0:
        raise ImageReadError(f"cannot read image {path}: the file is empty (0 bytes)")
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        raise ImageReadError(f"cannot read image {path}: truncated, corrupt or not an image "
                             "format OpenCV decodes")
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def check_pixels(image: np.ndarray, name: str = "image") -> np.ndarray:
    """``image`` as ``(H, W, C)`` uint8 with C in 1/3 (alpha dropped); errors name ``name``."""
    image = np.asarray(image)
    if image.dtype != np.uint8:
        raise ValueError(f"{name}: image arrays must be uint8 pixels 0-255, got {image.dtype}")
    if image.ndim == 2:
        image = image[..., None]
    if image.ndim != 3 or image.shape[-1] not in (1, 3, 4) or min(image.shape[:2]) < 1:
        raise ValueError(f"{name}: expected an (H, W) grey, (H, W, 3) RGB or (H, W, 4) RGBA "
                         f"image, got shape {image.shape}")
    return image[..., :3]


def to_channels(image: np.ndarray, channels: int) -> np.ndarray:
    """``(H, W, channels)``: RGB to grey by BT.601 weights, or grey repeated to RGB."""
    if channels not in (1, 3):
        raise ValueError(f"channels must be 1 (grey) or 3 (RGB), got {channels!r}")
    image = image[..., None] if image.ndim == 2 else image
    have = image.shape[-1]
    if have == channels:
        return image
    if channels == 3 and have == 1:
        return np.repeat(image, 3, axis=-1)
    codes = {3: cv2.COLOR_RGB2GRAY, 4: cv2.COLOR_RGBA2GRAY}
    if channels == 1 and have in codes:
        return cv2.cvtColor(_cv2_pixels(image), codes[have])[..., None]
    raise ValueError(f"cannot convert an image with {have} channels to {channels}")


def _cv2_pixels(image: np.ndarray) -> np.ndarray:
    return image if image.dtype in (np.uint8, np.uint16, np.float32) else image.astype(np.float32)


def resize_image(image: np.ndarray, size: Sequence[int]) -> np.ndarray:
    """Resize ``(h, w, C)`` to ``(H, W, C)``: area interpolation to shrink, cubic to enlarge.

    Area averaging keeps thin strokes when shrinking; cubic is the sharper choice when a small
    face is enlarged. An image already at ``size`` is returned as it is.
    """
    height, width = (int(v) for v in size)
    image = image[..., None] if image.ndim == 2 else image
    if image.shape[:2] == (height, width):
        return image
    shrinking = image.shape[0] >= height and image.shape[1] >= width
    code = cv2.INTER_AREA if shrinking else cv2.INTER_CUBIC
    resized = cv2.resize(_cv2_pixels(image), (width, height), interpolation=code)
    return resized.reshape(height, width, image.shape[-1])


def fit_image(image: np.ndarray, size: Sequence[int], channels: int) -> np.ndarray:
    """``image`` converted to ``channels`` and resized to ``size``: the model-input pixels."""
    return resize_image(to_channels(image, channels), size)


def load_image(path: str | Path, size: Sequence[int], channels: int) -> np.ndarray:
    """:func:`read_image` then :func:`fit_image`: one file as ``(H, W, channels)`` uint8."""
    return fit_image(read_image(path), size, channels)


__all__ = ["IMAGE_EXTENSIONS", "VIDEO_EXTENSIONS", "is_image_file", "read_image",
           "check_pixels", "to_channels", "resize_image", "fit_image", "load_image"]
