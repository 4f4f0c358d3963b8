"""``space_to_depth_cnn``: a space-to-depth stem and plain 3x3 conv-BN-ReLU stages.

Registered with its defaults as the preset ``fer_recipe``, the network of ferkit's CPU-budget
FER2013 recipe (``configs/fer2013_recipe.yaml``). Designed for throughput on a laptop-class CPU, where a training step is bound as much by
memory traffic (batch norm and activations of large feature maps) as by multiply-adds:

- **Space-to-depth stem**: the 48x48 grey face is folded into 24x24x4 (each 2x2 pixel block
  becomes four channels), losslessly, so no feature map is ever 48x48 wide; a 3x3
  convolution on the folded image sees a 6x6 pixel window.
- **Plain VGG-style stages** of 3x3 conv -> BN -> ReLU (one ``widths`` entry per stage, ``depths``
  convolutions each, 2x2 max-pooling between stages): dense 3x3 convolutions are what CPU
  kernels run fastest per multiply-add; depthwise convolutions are not (see
  ``docs/guide/model_zoo.md``). The default 1/2/3 convolutions put the depth where the maps are
  small (12x12, 6x6): one layer more than 2/2/2 for the same multiply-adds, and 1.15x faster
  to train, because a 24x24x64 map costs more memory traffic than a 6x6x256 one.
- Global average pooling, dropout and a softmax head: few parameters in the head, and the
  network accepts any input size that is a multiple of 2 (e.g. lower-resolution training).
- Optionally a second softmax head, ``ferplus``, on the same features, trained on the FER+
  annotators' vote shares (``data.ferplus_aux``); the ``emotion`` head still predicts the
  FER2013 classes.
"""
from __future__ import annotations

from typing import Sequence

import keras

from ferkit.layers import SpaceToDepth
from ferkit.models.registry import register, register_preset


def _regularizer(l2: float):
    return keras.regularizers.L2(l2) if l2 else None


def conv_bn_relu(x, filters: int, l2: float, bn_momentum: float, name: str):
    """3x3 convolution (no bias: BN follows), batch norm and ReLU."""
    x = keras.layers.Conv2D(filters, 3, padding="same", use_bias=False,
                            kernel_initializer="he_normal", kernel_regularizer=_regularizer(l2),
                            name=f"{name}_conv")(x)
    x = keras.layers.BatchNormalization(momentum=bn_momentum, name=f"{name}_bn")(x)
    return keras.layers.ReLU(name=f"{name}_relu")(x)


@register("space_to_depth_cnn")
def space_to_depth_cnn(input_shape: Sequence[int] = (48, 48, 1), num_classes: int = 7,
                       widths: Sequence[int] = (64, 128, 256), depths: Sequence[int] = (1, 2, 3),
                       stem: str = "space_to_depth", dropout: float = 0.4, l2: float = 0.0,
                       bn_momentum: float = 0.9, ferplus_classes: int = 0,
                       name: str = "space_to_depth_cnn") -> keras.Model:
    """A space-to-depth stem and plain 3x3 conv-BN-ReLU stages (the recipe's network).

    Args:
        widths / depths: filters and number of convolutions of each stage; stages after the
            first start with 2x2 max-pooling.
        stem: ``"space_to_depth"`` (fold 2x2 pixel blocks into channels) or ``"none"`` (the
            first stage works at the input resolution; about 4x the cost).
        dropout: rate before the classifier. ``l2``: kernel penalty (0 when the optimiser
            applies decoupled weight decay).
        ferplus_classes: units of an auxiliary ``ferplus`` softmax head (8 for the FER+
            votes; 0: none).
    """
    if len(widths) != len(depths) or not widths:
        raise ValueError(f"space_to_depth_cnn needs one depth per width, got widths={list(widths)} "
                         f"and depths={list(depths)}")
    if stem not in ("space_to_depth", "none"):
        raise ValueError(f"space_to_depth_cnn stem must be 'space_to_depth' or 'none', got {stem!r}")
    inputs = keras.Input(tuple(input_shape), name="image")
    x = SpaceToDepth(2, name="stem_fold")(inputs) if stem == "space_to_depth" else inputs
    for stage, (filters, depth) in enumerate(zip(widths, depths), start=1):
        if stage > 1:
            x = keras.layers.MaxPooling2D(name=f"stage{stage}_pool")(x)
        for index in range(1, depth + 1):
            x = conv_bn_relu(x, filters, l2, bn_momentum, f"stage{stage}_{index}")
    x = keras.layers.GlobalAveragePooling2D(name="pool")(x)
    x = keras.layers.Dropout(dropout, name="dropout")(x)
    outputs = {"emotion": keras.layers.Dense(num_classes, activation="softmax", dtype="float32",
                                             kernel_regularizer=_regularizer(l2),
                                             name="emotion")(x)}
    if ferplus_classes:
        outputs["ferplus"] = keras.layers.Dense(ferplus_classes, activation="softmax",
                                                dtype="float32", name="ferplus")(x)
    return keras.Model(inputs, outputs, name=name)


register_preset(
    "fer_recipe", "space_to_depth_cnn",
    "The CPU-budget FER2013 recipe's network (configs/fer2013_recipe.yaml), ~1.7 M parameters",
    name="fer_recipe",
)
register_preset(
    "fer_fast", "space_to_depth_cnn",
    "A faster, narrower recipe network (48/96/192 filters, 1/2/2 convolutions, ~0.6 M "
    "parameters, ~37 M multiply-adds per face); the fer2013_fast preset trains it widened "
    "to 56/112/224 (0.86 M parameters, ~50 M multiply-adds)",
    widths=(48, 96, 192), depths=(1, 2, 2), dropout=0.3, name="fer_fast",
)
