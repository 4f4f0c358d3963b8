"""Samples -> tf.data: images as float32 in [0, 1], targets as a dict keyed by head name.

Heads: ``emotion`` (one-hot over ``samples.classes``) and ``au`` (multi-hot over
``samples.aus``). Training datasets shuffle (seeded) and augment; evaluation datasets never
augment and keep their order.
"""
from __future__ import annotations

from typing import Sequence

import keras
import numpy as np
import tensorflow as tf

from ferkit.data.samples import Samples

HEADS = ("emotion", "au")


def targets(samples: Samples, heads: Sequence[str] = HEADS) -> dict[str, np.ndarray]:
    """The target arrays for each requested head."""
    unknown = sorted(set(heads) - set(HEADS))
    if unknown:
        raise ValueError(f"unknown heads {unknown}; ferkit heads are {list(HEADS)}")
    out = {}
    if "emotion" in heads:
        out["emotion"] = keras.utils.to_categorical(samples.labels, len(samples.classes)).astype("float32")
    if "au" in heads:
        if not samples.aus:
            raise ValueError(f"{samples.source}: an 'au' head needs AU labels, but none are encoded")
        out["au"] = samples.au_matrix
    return out


def _images(samples: Samples) -> np.ndarray:
    if samples.images is None:
        raise ValueError(f"{samples.source}: images are not loaded; call read_images() first")
    images = samples.images[samples.frame["image_index"].to_numpy()]
    return images[..., None] if images.ndim == 3 else images


def make_dataset(samples: Samples, *, batch_size: int = 32, training: bool = False,
                 augmenter: keras.layers.Layer | None = None, heads: Sequence[str] = HEADS,
                 seed: int = 0) -> tf.data.Dataset:
    """Batched ``(image, targets)`` dataset for ``model.fit`` / ``evaluate``.

    ``augmenter`` is applied only when ``training`` is True; passing one with
    ``training=False`` is an error, so evaluation data cannot be augmented by mistake.
    """
    if augmenter is not None and not training:
        raise ValueError("augmentation is for training data only; pass augmenter=None here")
    if len(samples) == 0:
        raise ValueError(f"{samples.source}: no samples to build a dataset from")
    dataset = tf.data.Dataset.from_tensor_slices((_images(samples), targets(samples, heads)))
    dataset = dataset.map(lambda x, y: (tf.cast(x, tf.float32) / 255.0, y),
                          num_parallel_calls=tf.data.AUTOTUNE)
    if training:
        dataset = dataset.shuffle(len(samples), seed=seed, reshuffle_each_iteration=True)
    dataset = dataset.batch(batch_size)
    if training and augmenter is not None:
        dataset = dataset.map(lambda x, y: (tf.clip_by_value(augmenter(x, training=True), 0.0, 1.0), y),
                              num_parallel_calls=tf.data.AUTOTUNE)
    return dataset.prefetch(tf.data.AUTOTUNE)
