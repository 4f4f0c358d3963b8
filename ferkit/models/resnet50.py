"""``resnet50``: Keras' ResNet50 backbone with a softmax head, from scratch by default.

The defaults are seed 003's baseline (48x48 grey FER2013 faces, 7 classes), registered as the
preset ``seed003_resnet50``.
"""
from __future__ import annotations

import warnings
from pathlib import Path
from typing import Sequence

import keras

from ferkit.models.heads import emotion_head
from ferkit.models.registry import register, register_preset

POOLINGS = ("avg", "max", "flatten")
#: ResNet50 halves the resolution five times; Keras accepts inputs from 32x32 (1x1 at the end).
MIN_SIDE = 32


def _backbone_shape(input_shape: Sequence[int], num_classes: int, resize_to: int | None,
                    grey_to_rgb: bool, pooling: str) -> tuple[int, int, int]:
    """Validate the arguments and return the (height, width, channels) ResNet50 will see."""
    if len(input_shape) != 3:
        raise ValueError(f"input_shape must be (height, width, channels), got {tuple(input_shape)}")
    if num_classes < 2:
        raise ValueError(f"num_classes must be >= 2, got {num_classes}")
    if pooling not in POOLINGS:
        raise ValueError(f"pooling must be one of {POOLINGS}, got {pooling!r}")
    if grey_to_rgb and input_shape[-1] != 1:
        raise ValueError(f"grey_to_rgb needs a one-channel input, got {input_shape[-1]} channels")
    height, width = (resize_to, resize_to) if resize_to else tuple(input_shape[:2])
    if min(height, width) < MIN_SIDE:
        raise ValueError(f"ResNet50 halves the image 5 times and needs at least {MIN_SIDE}x"
                         f"{MIN_SIDE} pixels, got {height}x{width}; pass resize_to={MIN_SIDE} "
                         "or more")
    return height, width, 3 if grey_to_rgb else input_shape[-1]


def _adapt_input(inputs, resize_to: int | None, grey_to_rgb: bool):
    """Optional bilinear resize, then optional grey -> 3 identical channels."""
    x = inputs
    if resize_to:
        x = keras.layers.Resizing(resize_to, resize_to, name="resize")(x)
    if grey_to_rgb:
        x = keras.layers.Concatenate(name="grey_to_rgb")([x, x, x])
    return x


def _pool(x, pooling: str):
    if pooling == "avg":
        return keras.layers.GlobalAveragePooling2D(name="avg_pool")(x)
    if pooling == "max":
        return keras.layers.GlobalMaxPooling2D(name="max_pool")(x)
    return keras.layers.Flatten(name="flatten")(x)


def _summary(err: Exception, limit: int = 300) -> str:
    """The first two non-empty lines of an error (Keras puts the reason on the second)."""
    lines = [line.strip() for line in str(err).splitlines() if line.strip()]
    text = " ".join(lines[:2]) or type(err).__name__
    return text if len(text) <= limit else text[:limit] + "..."


def _try_load(target: keras.Model, path: Path, skip_mismatch: bool) -> str | None:
    """Load into ``target``; None on success (its warnings re-raised), else why it failed."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            target.load_weights(path, skip_mismatch=skip_mismatch)
        except (ValueError, KeyError, TypeError) as err:
            return _summary(err)
    for warning in caught:
        warnings.warn_explicit(warning.message, warning.category, warning.filename, warning.lineno)
    return None


def load_pretrained(model: keras.Model, backbone: keras.Model, weights_path: str | Path,
                    skip_mismatch: bool = False) -> None:
    """Load ``weights_path`` into the ResNet50 backbone, or failing that into the whole model.

    Backbone files are e.g. Keras' ImageNet "notop" ResNet50 weights (``.h5``); whole-model
    files are ``.weights.h5`` saved from a model this builder made with the same arguments.
    Raises ``ValueError`` saying why neither fits.
    """
    path = Path(weights_path)
    if not path.is_file():
        raise FileNotFoundError(f"weights file {path} does not exist")
    errors = []
    for target in (backbone, model):
        error = _try_load(target, path, skip_mismatch)
        if error is None:
            return
        errors.append(f"as {target.name} weights: {error}")
    hint = ""
    if backbone.input.shape[-1] == 1:
        hint = " (for a 3-channel file such as ImageNet weights pass grey_to_rgb=True)"
    raise ValueError(f"weights file {path} fits neither the ResNet50 backbone nor the whole "
                     f"{model.name} model{hint}; " + "; ".join(errors))


@register("resnet50")
def resnet50(input_shape: Sequence[int] = (48, 48, 1), num_classes: int = 7,
             resize_to: int | None = None, grey_to_rgb: bool = False, pooling: str = "avg",
             dropout: float = 0.0, weights_path: str | Path | None = None,
             skip_mismatch: bool = False, name: str = "resnet50_classifier") -> keras.Model:
    """Keras' ResNet50 (no top, random init) with a softmax head on its pooled features.

    By default the image goes straight in: ResNet50's first convolution takes its channels
    (one for grey faces) and the five halvings leave 2x2x2048 features at 48x48.
    ``resize_to`` upscales first (e.g. 96 or 197 for more spatial detail, at 4x-17x the
    compute) and must give at least 32 px. ``grey_to_rgb`` copies the grey channel three times
    so 3-channel weights fit. ``pooling`` is "avg" (as torchvision's ResNet50), "max" or
    "flatten"; ``dropout`` acts on the pooled features. ``weights_path`` loads a local file,
    see ``load_pretrained``.
    """
    backbone_shape = _backbone_shape(input_shape, num_classes, resize_to, grey_to_rgb, pooling)
    if weights_path is not None and not Path(weights_path).is_file():
        raise FileNotFoundError(f"weights file {weights_path} does not exist")
    inputs = keras.Input(tuple(input_shape), name="image")
    backbone = keras.applications.ResNet50(include_top=False, weights=None,
                                           input_shape=backbone_shape, name="resnet50")
    x = backbone(_adapt_input(inputs, resize_to, grey_to_rgb))
    x = _pool(x, pooling)
    outputs = {"emotion": emotion_head(x, num_classes, dropout)}
    model = keras.Model(inputs, outputs, name=name)
    if weights_path is not None:
        load_pretrained(model, backbone, weights_path, skip_mismatch)
    return model


# Seed 003 trained ResNet50 on 48x48 grey FER2013 images; the report does not say how it fed
# them in, so the grey image goes straight in.
register_preset(
    "seed003_resnet50", "resnet50",
    "Seed 003's baseline: Keras' ResNet50 (no top, random init) with a 7-way softmax head",
    name="seed003_resnet50",
)
