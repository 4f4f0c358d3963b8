"""Training-only augmentation as Keras preprocessing layers.

The pipeline applies the augmenter to the training split alone, after splitting, so no
augmented copy of an image can leak into validation or test data (seed 001's lesson).
"""
from __future__ import annotations

import dataclasses

import keras


@dataclasses.dataclass
class AugmentConfig:
    """Which augmentations to apply and how strongly.

    Attributes:
        flip: random horizontal flips.
        rotation: maximum rotation in degrees (seed 001: 10).
        shift: maximum translation as a fraction of the image side.
        zoom: maximum zoom in/out as a fraction.
        brightness: maximum brightness change, as a fraction of the [0, 1] range.
        contrast: maximum contrast factor change.
        erasing: probability of random erasing: one rectangle per image (each side 14-57 %
            of the image's, at most a third of its area) filled with clipped Gaussian noise,
            so the model cannot rest on any single facial region (Zhong et al., 2017).
    """

    flip: bool = True
    rotation: float = 10.0
    shift: float = 0.1
    zoom: float = 0.0
    brightness: float = 0.2
    contrast: float = 0.2
    erasing: float = 0.0

    def __post_init__(self):
        for name in ("rotation", "shift", "zoom", "brightness", "contrast", "erasing"):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or value < 0:
                raise ValueError(f"augment.{name} must be a number >= 0, got {value!r}")
        if self.erasing > 1:
            raise ValueError(f"augment.erasing is a probability in [0, 1], got {self.erasing!r}")


def build_augmenter(config: AugmentConfig | None = None, seed: int = 0) -> keras.Sequential:
    """A ``keras.Sequential`` of random layers for float images in [0, 1]."""
    config = config or AugmentConfig()
    layers: list[keras.layers.Layer] = []
    if config.flip:
        layers.append(keras.layers.RandomFlip("horizontal", seed=seed))
    if config.rotation:
        layers.append(keras.layers.RandomRotation(config.rotation / 360.0, fill_mode="reflect",
                                                  seed=seed + 1))
    if config.shift:
        layers.append(keras.layers.RandomTranslation(config.shift, config.shift,
                                                     fill_mode="reflect", seed=seed + 2))
    if config.zoom:
        layers.append(keras.layers.RandomZoom(config.zoom, fill_mode="reflect", seed=seed + 3))
    if config.brightness:
        layers.append(keras.layers.RandomBrightness(config.brightness, value_range=(0.0, 1.0),
                                                    seed=seed + 4))
    if config.contrast:
        layers.append(keras.layers.RandomContrast(config.contrast, seed=seed + 5))
    if config.erasing:
        layers.append(keras.layers.RandomErasing(factor=(config.erasing, config.erasing),
                                                 scale=(0.02, 0.33), value_range=(0.0, 1.0),
                                                 seed=seed + 6))
    return keras.Sequential(layers, name="augment")
