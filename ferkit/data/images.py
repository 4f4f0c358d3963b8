"""The one image path: decode a file, convert its channels, resize it to a model's input.

Training data (CK+ frames, class folders, manifests), evaluation, export checks and the
:class:`~ferkit.inference.Predictor` all prepare pixels through :func:`fit_image`, so a face
reaches a model the same way whether it came from a dataset or from a user's photo:

1. decode to uint8 RGB (:func:`read_image`; grey files become three equal channels),
2. convert to the model's channels (:func:`to_channels`; grey by OpenCV's BT.601 weights),
3. resize with area interpolation when shrinking and cubic when enlarging (:func:`resize_image`).

Every image file ferkit reads is opened by :func:`_decode` here, so an unreadable file (missing,
no read permission, empty, truncated, not an image) is always the same named error, and a
dataset applies one policy to them (:func:`load_images`: stop, or skip and list them).

Only OpenCV and NumPy are imported here.
"""
from __future__ import annotations

import contextlib
import dataclasses
import logging
from pathlib import Path
from typing import Literal, Sequence

import cv2
import numpy as np

from ferkit.errors import ImageNotFoundError, ImageReadError

#: File suffixes read as images, everywhere in ferkit (lower case).
IMAGE_EXTENSIONS: tuple[str, ...] = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp",
                                     ".pgm", ".ppm")
#: What a dataset does with an image file that cannot be read (``data.on_unreadable``).
OnUnreadable = Literal["error", "skip"]
#: Leading bytes of the formats ferkit's datasets use, to tell "truncated" from "not an image".
_SIGNATURES: dict[bytes, str] = {b"\x89PNG": "PNG", b"\xff\xd8\xff": "JPEG", b"BM": "BMP",
                                 b"II*\x00": "TIFF", b"MM\x00*": "TIFF", b"RIFF": "WebP",
                                 b"P5": "PGM", b"P6": "PPM", b"P2": "PGM", b"P3": "PPM"}

logger = logging.getLogger(__name__)

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
    """The decoded file (``cv2.IMREAD_*`` ``flag``), or an error naming it and what is wrong."""
    image, problem = _try_decode(Path(path), flag)
    if problem == _MISSING:
        raise ImageNotFoundError(f"image {path} does not exist")
    if problem:
        raise ImageReadError(f"cannot read image {path}: {problem}")
    return image


_MISSING = "the file does not exist"


def _try_decode(path: Path, flag: int) -> tuple[np.ndarray | None, str]:
    """``(image, "")``, or ``(None, what is wrong)``: the one place image files are opened."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None, _MISSING
    except PermissionError:
        return None, "permission denied (the file is not readable by this user)"
    except OSError as error:
        return None, f"the file cannot be opened ({error.strerror or error})"
    if not data:
        return None, "the file is empty (0 bytes)"
    with _opencv_quiet():  # its own warning would repeat, unnamed, what ferkit reports
        image = cv2.imdecode(np.frombuffer(data, np.uint8), flag)
    if image is None:
        return None, _decode_problem(data)
    return image, ""


@contextlib.contextmanager
def _opencv_quiet():
    """OpenCV's log level raised to errors only for the duration of the block."""
    level = cv2.utils.logging.getLogLevel()
    cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_ERROR)
    try:
        yield
    finally:
        cv2.utils.logging.setLogLevel(level)


def _decode_problem(data: bytes) -> str:
    """Why bytes did not decode: a known format cut short, or not a known image at all."""
    kind = next((name for magic, name in _SIGNATURES.items() if data.startswith(magic)), None)
    if kind is not None:
        return f"truncated or corrupt {kind} data ({len(data)} bytes)"
    return "truncated, corrupt or not an image format OpenCV decodes"


@dataclasses.dataclass
class LoadedImages:
    """What :func:`load_images` read: the pixels of the readable files and the rest.

    Attributes:
        images: uint8 ``(n_read, H, W, channels)``.
        rows: the positions (in the given paths) of those images.
        skipped: ``(path, reason)`` for each file left out (``on_unreadable="skip"``).
    """

    images: np.ndarray
    rows: np.ndarray
    skipped: list[tuple[str, str]]


def load_images(paths: Sequence[str | Path], size: Sequence[int], channels: int, *,
                on_unreadable: OnUnreadable = "error", source: str = "dataset") -> LoadedImages:
    """Every file of ``paths`` through :func:`load_image`, with one policy for unreadable ones.

    ``on_unreadable="error"`` raises :class:`~ferkit.errors.ImageReadError` naming each file
    that cannot be read and why (after trying all, so one run lists them all); ``"skip"``
    leaves them out, logs how many, and returns them in ``skipped``. ``source`` starts the
    messages.
    """
    if on_unreadable not in ("error", "skip"):
        raise ValueError(f"on_unreadable must be 'error' or 'skip', got {on_unreadable!r}")
    size = tuple(int(v) for v in size)
    images = np.empty((len(paths), *size, channels), dtype="uint8")
    rows, skipped = [], []
    for row, path in enumerate(paths):
        image, problem = _try_decode(Path(path), cv2.IMREAD_COLOR)
        if problem:
            skipped.append((str(path), problem))
            continue
        images[len(rows)] = fit_image(cv2.cvtColor(image, cv2.COLOR_BGR2RGB), size, channels)
        rows.append(row)
    if skipped and on_unreadable == "error":
        missing = any(reason == _MISSING for _, reason in skipped)
        error = ImageNotFoundError if missing else ImageReadError
        raise error(_unreadable_message(source, skipped))
    if skipped:
        logger.warning("%s: skipped %d unreadable image(s) of %d (data.on_unreadable: skip), "
                       "e.g. %s: %s", source, len(skipped), len(paths), *skipped[0])
    return LoadedImages(images[:len(rows)], np.asarray(rows, dtype="int64"), skipped)


def _unreadable_message(source: str, skipped: list[tuple[str, str]]) -> str:
    shown = "; ".join(f"{path}: {reason}" for path, reason in skipped[:3])
    more = f"; and {len(skipped) - 3} more" if len(skipped) > 3 else ""
    return (f"{source}: {len(skipped)} unreadable image(s): {shown}{more}. Replace or remove "
            "them, or set data.on_unreadable: skip to leave unreadable images out")


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


def image_problem(path: str | Path) -> str:
    """Why ``path`` cannot be read as an image (missing, empty, truncated, ...), or ``""``."""
    return _try_decode(Path(path), cv2.IMREAD_COLOR)[1]


__all__ = ["IMAGE_EXTENSIONS", "VIDEO_EXTENSIONS", "INTERPOLATIONS", "OnUnreadable",
           "LoadedImages", "is_image_file", "read_image", "read_image_as_stored",
           "check_pixels", "to_channels", "interpolation_code", "resize_image", "fit_image",
           "load_image", "load_images", "image_problem"]
