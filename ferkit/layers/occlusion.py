"""Half-face occlusion (seed 003): zero the upper, lower, left or right half of each image.

Seed 003 asked how much each half of the face carries by evaluating (and fine-tuning) on
images with one half set to 0. :class:`HalfFaceMask` builds such evaluation sets;
:class:`RandomHalfFaceMask` uses the same masks as training augmentation.

Conventions:

* Images are channels-last, ``(batch, H, W, C)`` or a single ``(H, W, C)``, of any size
  and dtype; the output keeps the input's dtype (no autocast) and zeros are exact.
* ``left`` / ``right`` are the image's left and right (columns ``0..W/2``), i.e. the
  viewer's side; in an unmirrored photo that is the subject's right / left.
* For an odd height or width the middle row or column stays visible, so both halves of a
  pair hide the same ``n // 2`` lines and an upper mask is the mirror image of a lower one.
"""
from __future__ import annotations

from typing import Sequence

import keras
from keras import ops

#: The half that each mask zeroes.
REGIONS: tuple[str, ...] = ("upper", "lower", "left", "right")


def _check_region(region: str) -> None:
    if region not in REGIONS:
        raise ValueError(f"region must be one of {list(REGIONS)}, got {region!r}")


def _check_rank(images, layer_name: str) -> None:
    if len(images.shape) not in (3, 4):
        raise ValueError(f"{layer_name}: expects channels-last images (batch, H, W, C) or (H, W, C), "
                         f"got shape {tuple(images.shape)}")


def _visible(region: str, height, width):
    """Boolean ``(H, W)`` map, True where ``region``'s mask keeps the pixel."""
    rows = ops.arange(height)[:, None]
    cols = ops.arange(width)[None, :]
    if region == "upper":
        keep = rows >= height // 2
    elif region == "lower":
        keep = rows < height - height // 2
    elif region == "left":
        keep = cols >= width // 2
    else:
        keep = cols < width - width // 2
    return ops.broadcast_to(keep, (height, width))


def _image_size(images):
    shape = ops.shape(images)
    return shape[-3], shape[-2]


@keras.saving.register_keras_serializable(package="ferkit")
class HalfFaceMask(keras.layers.Layer):
    """Zero one half of every image (seed 003's selective occlusion), in training and inference.

    Args:
        region: the half to zero: ``"upper"``, ``"lower"``, ``"left"`` or ``"right"``.
    """

    def __init__(self, region: str, **kwargs):
        kwargs.setdefault("autocast", False)
        super().__init__(**kwargs)
        _check_region(region)
        self.region = region

    def call(self, images):
        _check_rank(images, self.name)
        height, width = _image_size(images)
        keep = _visible(self.region, height, width)[:, :, None]
        return ops.where(keep, images, ops.zeros_like(images))

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "region": self.region}


@keras.saving.register_keras_serializable(package="ferkit")
class RandomHalfFaceMask(keras.layers.Layer):
    """Training augmentation: with ``probability``, zero a randomly chosen half of each image.

    Each image draws independently whether it is masked and which of ``regions`` is used
    (uniformly). The layer is the identity unless called with ``training=True`` (as
    ``model.fit`` does), so evaluation and inference never see masked images.

    Args:
        regions: the halves to choose from, a non-empty subset of :data:`REGIONS`.
        probability: chance that an image is masked, in [0, 1].
        seed: seed of the random draws; None draws a fresh one.
    """

    def __init__(self, regions: Sequence[str] = REGIONS, probability: float = 0.5,
                 seed: int | None = None, **kwargs):
        kwargs.setdefault("autocast", False)
        super().__init__(**kwargs)
        regions = (regions,) if isinstance(regions, str) else tuple(regions)
        if not regions or len(set(regions)) != len(regions):
            raise ValueError(f"regions must be a non-empty list without repeats, got {list(regions)}")
        for region in regions:
            _check_region(region)
        if not 0.0 <= float(probability) <= 1.0:
            raise ValueError(f"probability must be in [0, 1], got {probability!r}")
        self.regions = regions
        self.probability = float(probability)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, images, training=None):
        _check_rank(images, self.name)
        if not training:
            return images
        single = len(images.shape) == 3
        batch = ops.expand_dims(images, 0) if single else images
        masked = self._mask_batch(batch)
        return masked[0] if single else masked

    def _mask_batch(self, images):
        count = ops.shape(images)[0]
        height, width = _image_size(images)
        choices = ops.stack([_visible(r, height, width) for r in self.regions])
        picked = keras.random.randint((count,), 0, len(self.regions), seed=self.seed_generator)
        applied = keras.random.uniform((count,), seed=self.seed_generator) < self.probability
        keep = ops.logical_or(ops.take(choices, picked, axis=0), ops.logical_not(applied)[:, None, None])
        return ops.where(keep[..., None], images, ops.zeros_like(images))

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "regions": list(self.regions),
                "probability": self.probability, "seed": self.seed}
