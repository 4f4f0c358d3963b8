"""Training-only augmentation as Keras preprocessing layers.

The pipeline applies the augmenter to the training split alone, after splitting, so no
augmented copy of an image can leak into validation or test data (seed 001's lesson).
"""
from __future__ import annotations

import keras

from ferkit.config import AugmentConfig


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
