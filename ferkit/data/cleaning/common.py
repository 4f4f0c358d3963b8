"""Helpers the cleaning modules share: the pixels of a Samples row, read through
:mod:`ferkit.data.images` when they live in a file, the columns that say where a row came
from, and argument checks whose errors name the argument."""
from __future__ import annotations

from typing import Iterator, Sequence

import numpy as np

from ferkit.data.images import read_image, read_image_as_stored, to_channels
from ferkit.data.samples import Samples
from ferkit.errors import ImageReadError


def source_name(samples: Samples) -> str:
    """What error messages call ``samples``: its source, or "Samples"."""
    return samples.source or "Samples"


def image_at(samples: Samples, row: int, channels: int | None = None) -> np.ndarray:
    """The pixels of frame row ``row``: from ``samples.images`` if loaded, else the file.

    A file is read as stored (its own channels and bit depth) when ``channels`` is None,
    else as RGB converted to ``channels``; an unreadable one raises an error naming the row.
    """
    if samples.images is not None:
        index = int(samples.frame["image_index"].iat[row])
        if not 0 <= index < len(samples.images):
            raise IndexError(f"{source_name(samples)}, row {row}: image_index {index} is outside "
                             f"the {len(samples.images)} loaded images")
        return samples.images[index]
    path = samples.frame["path"].iat[row]
    try:
        if channels is None:
            return read_image_as_stored(path)
        return to_channels(read_image(path), channels)
    except ImageReadError as error:
        raise type(error)(f"{source_name(samples)}, row {row}: {error}") from None


def iter_images(samples: Samples, channels: int | None = None) -> Iterator[tuple[int, np.ndarray]]:
    """``(row, pixels)`` for every row of ``samples``, as :func:`image_at` reads them."""
    for row in range(len(samples)):
        yield row, image_at(samples, row, channels)


def where_columns(samples: Samples) -> list[str]:
    """Columns that tell a user which image a row is (file path or in-memory index)."""
    return [c for c in ("path", "image_index") if c in samples.frame.columns]


def check_choice(name: str, value: str, allowed: Sequence[str]):
    """Raise a ValueError naming ``name`` unless ``value`` is one of ``allowed``."""
    if value not in allowed:
        raise ValueError(f"{name} must be one of {list(allowed)}, got {value!r}")


def as_size(size: int | Sequence[int]) -> tuple[int, int]:
    """``(height, width)`` from one side or a pair, both checked positive."""
    height, width = (size, size) if isinstance(size, (int, np.integer)) else tuple(size)
    if height < 1 or width < 1:
        raise ValueError(f"size must be positive (height, width), got {size!r}")
    return int(height), int(width)


def as_batch(images: np.ndarray) -> np.ndarray:
    """``images`` as an array, checked to be ``(n, H, W)`` or ``(n, H, W, C)``."""
    images = np.asarray(images)
    if images.ndim not in (3, 4):
        raise ValueError(f"images must be (n, H, W) or (n, H, W, C), got shape {images.shape}")
    return images


def with_channels(images: np.ndarray) -> np.ndarray:
    """A batch as ``(n, H, W, C)``: grey ``(n, H, W)`` gains a channel axis of 1."""
    images = as_batch(images)
    return images[..., None] if images.ndim == 3 else images
