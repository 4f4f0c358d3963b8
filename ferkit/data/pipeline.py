"""Samples -> tf.data: images as float32 in [0, 1], targets as a dict keyed by head name.

Heads: ``emotion`` (one-hot over ``samples.classes``, or the soft/multi-hot FER+ targets in
``target_<class>`` columns when the frame has them), ``au`` (multi-hot over ``samples.aus``)
and ``ferplus`` (the FER+ vote shares in ``ferplus_<emotion>`` columns, an auxiliary target
for FER2013). Training datasets shuffle (seeded), augment, and carry a ``sample_weight``
column as per-image loss weights when the frame has one; evaluation datasets never augment,
never weight, and keep their order.
"""
from __future__ import annotations

from typing import Sequence

import keras
import numpy as np
import tensorflow as tf

from ferkit.data.samples import Samples
from ferkit.data.sources.ferplus import FERPLUS_VOTE_TARGETS

HEADS = ("emotion", "au", "ferplus")
#: The heads a dataset carries unless told otherwise (``ferplus`` only when asked for).
DEFAULT_HEADS = ("emotion", "au")
#: A frame column of per-image loss weights (class balancing, group-weighted fairness
#: mitigation); training datasets yield it as Keras' ``sample_weight``.
WEIGHT_COLUMN = "sample_weight"


def targets(samples: Samples, heads: Sequence[str] = DEFAULT_HEADS) -> dict[str, np.ndarray]:
    """The target arrays for each requested head."""
    unknown = sorted(set(heads) - set(HEADS))
    if unknown:
        raise ValueError(f"unknown heads {unknown}; ferkit heads are {list(HEADS)}")
    out = {}
    if "emotion" in heads:
        out["emotion"] = emotion_targets(samples)
    if "au" in heads:
        if not samples.aus:
            raise ValueError(f"{samples.source}: an 'au' head needs AU labels, but none are encoded")
        out["au"] = samples.au_matrix
    if "ferplus" in heads:
        missing = set(FERPLUS_VOTE_TARGETS) - set(samples.frame.columns)
        if missing:
            raise ValueError(f"{samples.source}: a 'ferplus' head needs the FER+ vote columns "
                             "(data.ferplus_aux: true with FER2013 and fer2013new.csv)")
        out["ferplus"] = samples.frame[list(FERPLUS_VOTE_TARGETS)].to_numpy(dtype="float32")
    return out


def emotion_targets(samples: Samples) -> np.ndarray:
    """Soft targets from ``target_<class>`` columns (FER+ modes) when present, else one-hot."""
    soft = [f"target_{name}" for name in samples.classes]
    if set(soft) <= set(samples.frame.columns):
        return samples.frame[soft].to_numpy(dtype="float32")
    return keras.utils.to_categorical(samples.labels, len(samples.classes)).astype("float32")


def _images(samples: Samples) -> np.ndarray:
    images = samples.images[samples.frame["image_index"].to_numpy()]
    return images[..., None] if images.ndim == 3 else images


#: Leading bytes of the formats TensorFlow decodes: PNG, JPEG, GIF, BMP.
_SIGNATURES = (b"\x89PNG", b"\xff\xd8\xff", b"GIF8", b"BM")


def decode_file(path: tf.Tensor, image_size: Sequence[int], channels: int) -> tf.Tensor:
    """Read, decode and resize one image file to uint8 ``(H, W, channels)``.

    A file that is empty or not PNG/JPEG/GIF/BMP fails with an error that names it, instead
    of TensorFlow's anonymous decode error.
    """
    raw = tf.io.read_file(path)
    head = tf.strings.substr(raw, 0, 4)
    known = tf.reduce_any([tf.strings.substr(head, 0, len(s)) == s for s in _SIGNATURES])
    check = tf.debugging.Assert(known, ["not a PNG/JPEG/GIF/BMP image (empty or corrupt):", path])
    with tf.control_dependencies([check]):
        image = tf.io.decode_image(raw, channels=channels, expand_animations=False)
    image = tf.image.resize(image, tuple(image_size), method="area")
    return tf.cast(tf.round(image), tf.uint8)


def _decoded(samples: Samples, image_size, channels, cache) -> tf.data.Dataset:
    if "path" not in samples.frame.columns:
        raise ValueError(f"{samples.source}: no images loaded and no 'path' column")
    if image_size is None:
        raise ValueError(f"{samples.source}: images are not loaded; pass image_size= to decode "
                         "files in the pipeline, or call read_images() first")
    paths = tf.data.Dataset.from_tensor_slices(samples.frame["path"].astype(str).to_numpy())
    images = paths.map(lambda p: decode_file(p, image_size, channels),
                       num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    return images.cache(cache) if cache is not None else images


def make_dataset(samples: Samples, *, batch_size: int = 32, training: bool = False,
                 augmenter: keras.layers.Layer | None = None,
                 heads: Sequence[str] = DEFAULT_HEADS,
                 seed: int = 0, image_size: Sequence[int] | None = None, channels: int = 1,
                 cache: str | None = "") -> tf.data.Dataset:
    """Batched ``(image, targets)`` dataset for ``model.fit`` / ``evaluate``.

    In-memory images (``samples.images``) are used as they are. File-based samples are read
    and decoded in parallel inside the pipeline when ``image_size`` (and ``channels``) are
    given, then cached (``cache=""`` in memory, a path for a file cache, ``None`` for none).
    ``augmenter`` is applied only when ``training`` is True; passing one with
    ``training=False`` is an error, so evaluation data cannot be augmented by mistake.
    """
    if augmenter is not None and not training:
        raise ValueError("augmentation is for training data only; pass augmenter=None here")
    if len(samples) == 0:
        raise ValueError(f"{samples.source}: no samples to build a dataset from")
    if samples.images is not None:
        images = tf.data.Dataset.from_tensor_slices(_images(samples))
    else:
        images = _decoded(samples, image_size, channels, cache)
    labels = tf.data.Dataset.from_tensor_slices(targets(samples, heads))
    if training and WEIGHT_COLUMN in samples.frame.columns:
        weights = tf.data.Dataset.from_tensor_slices(
            samples.frame[WEIGHT_COLUMN].to_numpy(dtype="float32"))
        dataset = tf.data.Dataset.zip((images, labels, weights))
    else:
        dataset = tf.data.Dataset.zip((images, labels))
    if training:  # shuffle uint8 images: 4x less memory and a faster buffer fill than floats
        dataset = dataset.shuffle(len(samples), seed=seed, reshuffle_each_iteration=True)
    dataset = dataset.batch(batch_size)
    dataset = dataset.map(lambda x, *rest: (tf.cast(x, tf.float32) / 255.0, *rest),
                          num_parallel_calls=tf.data.AUTOTUNE)
    if training and augmenter is not None:
        dataset = dataset.map(lambda x, *rest: (tf.clip_by_value(augmenter(x, training=True), 0.0, 1.0),
                                                *rest),
                              num_parallel_calls=tf.data.AUTOTUNE)
    return dataset.prefetch(tf.data.AUTOTUNE)
