"""Pixel preprocessing of image batches.

:func:`resize` (seed 000 resizes to 96x96), :func:`minmax_normalize` (seed 000's
per-channel ``cv2.NORM_MINMAX``), :class:`Standardizer` (seed 001's StandardScaler, but
fitted on training images only), :func:`to_grayscale` and :func:`to_rgb`. The resizing and
channel conversions are loops over :mod:`ferkit.data.images`, the one implementation that
training, evaluation and inference share. A batch is ``(n, H, W)`` or ``(n, H, W, C)``;
colour images are RGB.
"""
from __future__ import annotations

from typing import Any, Literal, Sequence

import numpy as np

from ferkit.data.cleaning.common import as_batch, as_size, check_choice, source_name, with_channels
from ferkit.data.images import interpolation_code, resize_image, to_channels
from ferkit.data.samples import Samples


def resize_exactly(image: np.ndarray, size: tuple[int, int], interpolation: str | int) -> np.ndarray:
    """One image resized with the given interpolation, its channel axis (or none) kept."""
    resized = resize_image(image, size, interpolation).reshape(size + image.shape[2:])
    return resized.copy() if resized is image else resized


def resize(images: np.ndarray | Sequence[np.ndarray], size: int | Sequence[int] = (96, 96),
           interpolation: str | int = "area") -> np.ndarray:
    """Resize a batch to ``size`` = (height, width); the dtype and channel axis are kept.

    ``images`` is an ``(n, H, W)`` / ``(n, H, W, C)`` array, or a list of ``(H, W)`` /
    ``(H, W, C)`` images of different sizes (seed 000's photos), which come back stacked.
    ``"area"`` suits shrinking; use ``"cubic"`` or ``"lanczos"`` to enlarge.
    """
    height, width = as_size(size)
    code = interpolation_code(interpolation)
    if isinstance(images, np.ndarray):
        if images.ndim not in (3, 4):
            raise ValueError(f"images must be (n, H, W) or (n, H, W, C), got shape {images.shape}")
        batch = list(images)
    else:
        batch = [np.asarray(image) for image in images]
    shapes = {image.shape[2:] for image in batch}
    if len(shapes) > 1:
        raise ValueError(f"images have different channel counts {sorted(shapes)}; "
                         "convert with to_grayscale or to_rgb first")
    if not batch:
        return np.asarray(images).reshape((0, height, width) + np.asarray(images).shape[3:])
    return np.stack([resize_exactly(image, (height, width), code) for image in batch])


def _minmax_apply(values: np.ndarray, smallest: np.ndarray, scale: np.ndarray, low: float,
                  out_type: np.dtype) -> np.ndarray:
    """``values * scale + shift`` rounded the way ``cv2.normalize`` rounds for ``out_type``."""
    if out_type == np.float32:  # OpenCV rounds scale and shift to float32 for a float32 result
        scale32 = scale.astype(np.float32).astype(np.float64)
        shift32 = np.float32(low) - (smallest * scale32).astype(np.float32)
        return (values * scale32 + shift32.astype(np.float64)).astype(np.float32)
    shift = low - smallest * scale
    if not np.issubdtype(out_type, np.integer):
        return (values * scale + shift).astype(out_type)
    # integer results: float32 coefficients, one fused multiply-add, round half to even
    fused = values * scale.astype(np.float32) + shift.astype(np.float32).astype(np.float64)
    limits = np.iinfo(out_type)
    return np.clip(np.rint(fused.astype(np.float32)), limits.min, limits.max).astype(out_type)


def minmax_normalize(images: np.ndarray, per_channel: bool = True, low: float = 0.0,
                     high: float = 1.0, dtype: Any = "float32") -> np.ndarray:
    """Stretch each image (and channel) so its minimum becomes ``low`` and maximum ``high``.

    Equal to ``cv2.normalize(image, None, low, high, cv2.NORM_MINMAX, dtype)`` applied to
    each image, and to each channel separately when ``per_channel`` (seed 000 normalises
    the RGB channels independently); ``per_channel=False`` is what ``cv2.normalize`` does to
    a whole colour image. A constant image (or channel) becomes ``low``. Integer results
    are rounded half to even and clipped, as OpenCV does.
    """
    images = as_batch(images)
    low, high = min(low, high), max(low, high)
    axes = (1, 2) if per_channel or images.ndim == 3 else (1, 2, 3)
    values = images.astype(np.float64)
    smallest = values.min(axis=axes, keepdims=True)
    spread = values.max(axis=axes, keepdims=True) - smallest
    scale = (high - low) * (1.0 / np.where(spread > np.finfo(np.float64).eps, spread, np.inf))
    return _minmax_apply(values, smallest, scale, low, np.dtype(dtype))


def _chunked_sums(images: np.ndarray, axes: tuple[int, ...], chunk: int) -> tuple[np.ndarray, np.ndarray]:
    """Sum and sum of squares in float64, a chunk of images at a time (bounded memory)."""
    total = squares = 0.0
    for start in range(0, len(images), chunk):
        part = images[start:start + chunk].astype(np.float64)
        total = total + part.sum(axis=axes)
        squares = squares + np.square(part).sum(axis=axes)
    return np.asarray(total), np.asarray(squares)


class Standardizer:
    """Zero mean, unit variance, with statistics from the training images only.

    Seed 001 fitted a StandardScaler on every image before splitting, which lets test
    pixels shape the training inputs. Fit this on the training split, then transform any
    split with the same numbers; ``get_config()`` / ``from_config()`` save and restore them.

    Args:
        per: ``"channel"`` (one mean/std per colour channel) or ``"pixel"`` (one per pixel
            and channel, as a StandardScaler on flattened images). A std of 0 becomes 1.
    """

    def __init__(self, per: Literal["channel", "pixel"] = "channel"):
        check_choice("per", per, ("channel", "pixel"))
        self.per = per
        self.mean: np.ndarray | None = None
        self.std: np.ndarray | None = None

    @property
    def is_fitted(self) -> bool:
        return self.mean is not None

    def fit(self, images: np.ndarray, chunk: int = 1024) -> "Standardizer":
        """Compute the mean and std of ``images`` (``(n, H, W)`` or ``(n, H, W, C)``)."""
        images = with_channels(images)
        if len(images) == 0:
            raise ValueError("Standardizer.fit: got no images; fit on the training images")
        axes = (0, 1, 2) if self.per == "channel" else (0,)
        total, squares = _chunked_sums(images, axes, chunk)
        count = np.prod([images.shape[a] for a in axes])
        self.mean = total / count
        std = np.sqrt(np.maximum(squares / count - self.mean ** 2, 0.0))
        self.std = np.where(std < 1e-8, 1.0, std)
        return self

    def fit_split(self, samples: Samples, split: str = "train") -> "Standardizer":
        """Fit on the in-memory images of one split (the training split) of ``samples``."""
        part = samples.split(split)
        if len(part) == 0:
            present = sorted(samples.frame["split"].astype(str).unique())
            raise ValueError(f"{source_name(samples)}: split {split!r} has no rows (splits: {present})")
        if part.images is None:
            raise ValueError(f"{source_name(samples)}: images are not loaded; call read_images() first")
        return self.fit(part.images[part.frame["image_index"].to_numpy()])

    def transform(self, images: np.ndarray) -> np.ndarray:
        """``(images - mean) / std`` as float32, in the input's shape."""
        if not self.is_fitted:
            raise RuntimeError("Standardizer.transform called before fit: fit it on the "
                               "training images first (fit or fit_split)")
        batch = with_channels(images)
        expected = self.mean.shape if self.per == "pixel" else self.mean.shape[-1:]
        if batch.shape[-len(expected):] != expected:
            raise ValueError(f"Standardizer fitted on shape {expected} (per={self.per!r}), "
                             f"got images of shape {batch.shape[1:]}")
        result = ((batch - self.mean) / self.std).astype(np.float32)
        return result.reshape(np.shape(images))

    def fit_transform(self, images: np.ndarray) -> np.ndarray:
        return self.fit(images).transform(images)

    def get_config(self) -> dict:
        """Plain-Python settings and statistics (JSON/YAML-safe)."""
        return {"per": self.per,
                "mean": None if self.mean is None else self.mean.tolist(),
                "std": None if self.std is None else self.std.tolist()}

    @classmethod
    def from_config(cls, config: dict) -> "Standardizer":
        standardizer = cls(per=config.get("per", "channel"))
        if config.get("mean") is not None:
            standardizer.mean = np.asarray(config["mean"], dtype=np.float64)
            standardizer.std = np.asarray(config["std"], dtype=np.float64)
        return standardizer


def to_grayscale(images: np.ndarray, order: Literal["rgb", "bgr"] = "rgb") -> np.ndarray:
    """``(n, H, W, 1)`` grey images from RGB(A) or BGR(A) ones (OpenCV's BT.601 weights).

    Grey input, ``(n, H, W)`` or ``(n, H, W, 1)``, comes back as ``(n, H, W, 1)`` unchanged.
    """
    batch = with_channels(images)
    channels = batch.shape[-1]
    if channels == 1:
        return batch.copy()
    check_choice("order", order, ("rgb", "bgr"))
    if channels not in (3, 4):
        raise ValueError(f"to_grayscale needs 1, 3 or 4 channels, got {channels}")
    if order == "bgr":
        batch = batch[..., [2, 1, 0, 3][:channels]]
    grey = [to_channels(image, 1) for image in batch]
    return np.stack(grey) if grey else batch[..., :1].copy()


def to_rgb(images: np.ndarray) -> np.ndarray:
    """``(n, H, W, 3)`` images: grey ones repeated on three channels, RGB ones unchanged."""
    batch = with_channels(images)
    if batch.shape[-1] == 3:
        return batch.copy()
    if batch.shape[-1] != 1:
        raise ValueError(f"to_rgb needs 1 or 3 channels, got {batch.shape[-1]}")
    rgb = [to_channels(image, 3) for image in batch]
    return np.stack(rgb) if rgb else np.repeat(batch, 3, axis=-1)
