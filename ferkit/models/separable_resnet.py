"""``separable_resnet``: depthwise-separable residual stages with squeeze-excite gates.

ferkit's own small network for 48x48 grey faces, sized for CPU training (no seed); registered
with its defaults as the preset ``fer_compact``.
"""
from __future__ import annotations

from typing import Sequence

import keras

from ferkit.models.heads import emotion_head
from ferkit.models.registry import register, register_preset


def _regularizer(l2: float):
    return keras.regularizers.L2(l2) if l2 else None


def conv_bn_act(x, filters: int, activation: str, l2: float, bn_momentum: float, name: str):
    """A full 3x3 convolution, BN and the activation (used only in the stem)."""
    x = keras.layers.Conv2D(filters, 3, padding="same", use_bias=False,
                            kernel_initializer="he_normal", kernel_regularizer=_regularizer(l2),
                            name=f"{name}_conv")(x)
    x = keras.layers.BatchNormalization(momentum=bn_momentum, name=f"{name}_bn")(x)
    return keras.layers.Activation(activation, name=f"{name}_act")(x)


def separable_bn(x, filters: int, strides: int, l2: float, bn_momentum: float, name: str):
    """Depthwise 3x3 (optionally strided) + pointwise 1x1, then BN."""
    x = keras.layers.SeparableConv2D(filters, 3, strides=strides, padding="same", use_bias=False,
                                     depthwise_regularizer=_regularizer(l2),
                                     pointwise_regularizer=_regularizer(l2),
                                     name=f"{name}_sep")(x)
    return keras.layers.BatchNormalization(momentum=bn_momentum, name=f"{name}_bn")(x)


def squeeze_excite(x, ratio: float, activation: str, name: str):
    """Channel attention: global pool -> bottleneck -> sigmoid gates that rescale each channel."""
    channels = x.shape[-1]
    gates = keras.layers.GlobalAveragePooling2D(keepdims=True, name=f"{name}_se_pool")(x)
    gates = keras.layers.Dense(max(8, int(channels * ratio)), activation=activation,
                               name=f"{name}_se_reduce")(gates)
    gates = keras.layers.Dense(channels, activation="sigmoid", name=f"{name}_se_expand")(gates)
    return keras.layers.Multiply(name=f"{name}_se_scale")([x, gates])


def separable_residual_block(x, filters: int, strides: int, activation: str, se_ratio: float,
                             l2: float, bn_momentum: float, name: str):
    """Two separable convolutions with BN, optional squeeze-excite, a shortcut, then activation.

    The shortcut is the identity, or a strided 1x1 convolution + BN when the block halves the
    resolution or changes the width.
    """
    y = separable_bn(x, filters, strides, l2, bn_momentum, f"{name}_a")
    y = keras.layers.Activation(activation, name=f"{name}_a_act")(y)
    y = separable_bn(y, filters, 1, l2, bn_momentum, f"{name}_b")
    if se_ratio:
        y = squeeze_excite(y, se_ratio, activation, name)
    shortcut = x
    if strides != 1 or x.shape[-1] != filters:
        shortcut = keras.layers.Conv2D(filters, 1, strides=strides, use_bias=False,
                                       kernel_regularizer=_regularizer(l2),
                                       name=f"{name}_shortcut_conv")(x)
        shortcut = keras.layers.BatchNormalization(momentum=bn_momentum,
                                                   name=f"{name}_shortcut_bn")(shortcut)
    y = keras.layers.Add(name=f"{name}_add")([y, shortcut])
    return keras.layers.Activation(activation, name=f"{name}_out")(y)


@register("separable_resnet")
def separable_resnet(input_shape: Sequence[int] = (48, 48, 1), num_classes: int = 7,
                     stem_filters: int = 32, widths: Sequence[int] = (64, 128, 256),
                     depths: Sequence[int] = (2, 2, 2), activation: str = "silu",
                     se_ratio: float = 0.25, dropout: float = 0.3, l2: float = 0.0,
                     bn_momentum: float = 0.9, name: str = "separable_resnet") -> keras.Model:
    """A full-conv stem, then separable residual stages with squeeze-excite, ~0.5 M parameters.

    Design, for 48x48 grey FER2013 faces and a 2-core CPU budget:

    - Stem: two full 3x3 conv-BN-activation layers at the full 48x48 resolution. Expression
      cues (eye and mouth corners, brow furrows) are a few pixels wide, so nothing is
      downsampled before the network has built edge detectors. This is the costliest part
      (the second stem layer is ~40% of the multiply-adds); ``stem_filters`` trades it off.
    - Stages: one per ``widths`` entry (64, 128, 256), each opening with a stride-2 block
      (48 -> 24 -> 12 -> 6). Blocks use depthwise-separable 3x3 convolutions, about 8x cheaper
      than full convolutions at these widths, which is where the CPU budget goes further.
    - Residual shortcuts keep the 14 convolution layers easy to optimise from scratch;
      squeeze-excite gates (``se_ratio``) let each block re-weight its channels by global
      context (87 k of the 466 k parameters, almost no compute). The activation defaults to
      SiLU, the smooth choice of recent compact networks; "relu" is a little cheaper.
    - Head: global average pooling (no large dense layer to overfit FER2013's 28k images),
      dropout, and the float32 softmax ``emotion`` output.

    About 52 M multiply-adds per image. Everything is an argument: ``widths``/``depths``
    resize the stages, ``activation`` takes any Keras activation name, ``l2`` adds a kernel
    penalty and ``se_ratio=0`` drops the attention gates.
    """
    if len(widths) != len(depths) or not widths or min(depths) < 1:
        raise ValueError(f"widths {list(widths)} and depths {list(depths)} must be non-empty, "
                         "of equal length and every depth >= 1")
    if num_classes < 2:
        raise ValueError(f"num_classes must be >= 2, got {num_classes}")
    inputs = keras.Input(tuple(input_shape), name="image")
    x = conv_bn_act(inputs, stem_filters, activation, l2, bn_momentum, "stem1")
    x = conv_bn_act(x, stem_filters, activation, l2, bn_momentum, "stem2")
    for stage, (width, depth) in enumerate(zip(widths, depths)):
        for index in range(depth):
            x = separable_residual_block(x, width, 2 if index == 0 else 1, activation, se_ratio,
                                         l2, bn_momentum, f"stage{stage + 1}_block{index + 1}")
    x = keras.layers.GlobalAveragePooling2D(name="gap")(x)
    outputs = {"emotion": emotion_head(x, num_classes, dropout)}
    return keras.Model(inputs, outputs, name=name)


register_preset(
    "fer_compact", "separable_resnet",
    "ferkit's compact FER network (no seed): separable residual stages, ~0.5 M parameters",
    name="fer_compact",
)
