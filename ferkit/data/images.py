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
    return cv2.cvtColor(_decode(path, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)


def read_image_as_stored(path: str | Path) -> np.ndarray:
    """An image file's own pixels: its bit depth, and grey ``(H, W)``, RGB or RGBA channels.

    For work that must see a file exactly as it was written, such as duplicate hashes, where a
    grey PNG has to hash like the grey array it was saved from. Errors as :func:`read_image`.
    """
    image = _decode(path, cv2.IMREAD_UNCHANGED)
    if image.ndim == 3 and image.shape[2] in (3, 4):
        code = cv2.COLOR_BGR2RGB if image.shape[2] == 3 else cv2.COLOR_BGRA2RGBA
        image = cv2.cvtColor(image, code)
    return image


def _decode(path: str | Path, flag: int) -> np.ndarray:
    """``cv2.imread(path, flag)``, or an error that names the file and what is wrong with it."""
    path = Path(path)
    if not path.is_file():
        raise ImageNotFoundError(f"image {path} does not exist")
    if path.stat().st_size == 0:
        raise ImageReadError(f"cannot read image {path}: the file is empty (0 bytes)")
    image = cv2.imread(str(path), flag)
    if image is None:
        raise ImageReadError(f"cannot read image {path}: truncated, corrupt or not an image "
                             "format OpenCV decodes")
    return image


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


#: dtypes ``cv2.resize`` keeps as they are (others are resized as float32).
_RESIZABLE = (np.uint8, np.uint16, np.int16, np.float32, np.float64)


def _cv2_pixels(image: np.ndarray) -> np.ndarray:
    return image if image.dtype in (np.uint8, np.uint16, np.float32) else image.astype(np.float32)


#: OpenCV interpolation codes by name, for callers that choose one themselves.
INTERPOLATIONS: dict[str, int] = {
    "nearest": cv2.INTER_NEAREST, "linear": cv2.INTER_LINEAR, "cubic": cv2.INTER_CUBIC,
    "area": cv2.INTER_AREA, "lanczos": cv2.INTER_LANCZOS4,
}


def interpolation_code(interpolation: str | int) -> int:
    """The ``cv2.INTER_*`` code of a name in :data:`INTERPOLATIONS` (a code passes through)."""
    if isinstance(interpolation, (int, np.integer)):
        return int(interpolation)
    if interpolation not in INTERPOLATIONS:
        raise ValueError(f"interpolation must be one of {sorted(INTERPOLATIONS)} or a cv2.INTER_* "
                         f"code, got {interpolation!r}")
    return INTERPOLATIONS[interpolation]


def resize_image(image: np.ndarray, size: Sequence[int],
                 interpolation: str | int | None = None) -> np.ndarray:
    """Resize ``(h, w, C)`` to ``(H, W, C)``: area interpolation to shrink, cubic to enlarge.

    Area averaging keeps thin strokes when shrinking; cubic is the sharper choice when a small
    face is enlarged. ``interpolation`` (a name of :data:`INTERPOLATIONS` or a ``cv2.INTER_*``
    code) overrides that choice. An image already at ``size`` is returned as it is.
    """
    height, width = (int(v) for v in size)
    image = image[..., None] if image.ndim == 2 else image
    if image.shape[:2] == (height, width):
        return image
    if interpolation is None:
        shrinking = image.shape[0] >= height and image.shape[1] >= width
        code = cv2.INTER_AREA if shrinking else cv2.INTER_CUBIC
    else:
        code = interpolation_code(interpolation)
    pixels = image if image.dtype in _RESIZABLE else _cv2_pixels(image)
    resized = cv2.resize(pixels, (width, height), interpolation=code)
    return resized.reshape(height, width, image.shape[-1])


def fit_image(image: np.ndarray, size: Sequence[int], channels: int) -> np.ndarray:
    """``image`` converted to ``channels`` and resized to ``size``: the model-input pixels."""
    return resize_image(to_channels(image, channels), size)


def load_image(path: str | Path, size: Sequence[int], channels: int) -> np.ndarray:
    """:func:`read_image` then :func:`fit_image`: one file as ``(H, W, channels)`` uint8."""
    return fit_image(read_image(path), size, channels)


__all__ = ["IMAGE_EXTENSIONS", "VIDEO_EXTENSIONS", "INTERPOLATIONS", "is_image_file",
           "read_image", "read_image_as_stored", "check_pixels", "to_channels",
           "interpolation_code", "resize_image", "fit_image", "load_image"]
