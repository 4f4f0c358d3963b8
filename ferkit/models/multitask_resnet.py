"""``multitask_resnet``: one ResNet trunk, an emotion softmax head and a FACS AU sigmoid head.

The defaults are seed 004's network (preset ``seed004_resnet``); ``ckplus_small`` is a
CPU-friendly preset for 48x48 CK+ faces.
"""
from __future__ import annotations

from typing import Sequence

import keras

from ferkit.layers import ResidualBlock
from ferkit.models.registry import register, register_preset


def resnet_trunk(inputs, filters: Sequence[int], blocks: Sequence[int], kernel_size: int,
                 stem_filters: int, stem_strides: int, l2: float, bn_momentum: float = 0.9):
    """Stem conv-BN-ReLU, then one stage of ResidualBlocks per ``filters`` entry.

    Every stage after the first halves the spatial size in its first block.
    """
    if len(filters) != len(blocks) or not filters:
        raise ValueError(f"filters {list(filters)} and blocks {list(blocks)} must be non-empty "
                         "and of equal length (one entry per stage)")
    reg = keras.regularizers.L2(l2) if l2 else None
    x = keras.layers.Conv2D(stem_filters, 3, strides=stem_strides, padding="same", use_bias=False,
                            kernel_initializer="he_normal", kernel_regularizer=reg,
                            name="stem_conv")(inputs)
    x = keras.layers.BatchNormalization(momentum=bn_momentum, name="stem_bn")(x)
    x = keras.layers.ReLU(name="stem_relu")(x)
    for stage, (width, count) in enumerate(zip(filters, blocks)):
        for index in range(count):
            strides = 2 if stage > 0 and index == 0 else 1
            x = ResidualBlock(width, kernel_size, strides=strides, l2=l2, bn_momentum=bn_momentum,
                              name=f"stage{stage + 1}_block{index + 1}")(x)
    return keras.layers.GlobalAveragePooling2D(name="gap")(x)


@register("multitask_resnet")
def multitask_resnet(input_shape: Sequence[int] = (48, 48, 1), num_classes: int = 3,
                     num_aus: int = 15, filters: Sequence[int] = (64, 128, 256),
                     blocks: Sequence[int] = (3, 4, 6), kernel_size: int = 3,
                     stem_filters: int = 64, stem_strides: int = 1, l2: float = 1e-4,
                     dropout: float = 0.0, bn_momentum: float = 0.9,
                     name: str = "multitask_resnet") -> keras.Model:
    """A ResNet trunk with an ``emotion`` softmax head and an ``au`` sigmoid head.

    Defaults follow the seed: filters [64, 128, 256], blocks [3, 4, 6], 3 high-level emotions,
    15 FACS labels and L2 lambda 1e-4 (the seed's best). Set ``num_aus=0`` for an
    emotion-only model.
    """
    if num_classes < 2:
        raise ValueError(f"num_classes must be >= 2, got {num_classes}")
    if num_aus < 0:
        raise ValueError(f"num_aus must be >= 0, got {num_aus}")
    inputs = keras.Input(tuple(input_shape), name="image")
    features = resnet_trunk(inputs, filters, blocks, kernel_size, stem_filters, stem_strides, l2,
                            bn_momentum)
    if dropout:
        features = keras.layers.Dropout(dropout, name="dropout")(features)
    outputs = {"emotion": keras.layers.Dense(num_classes, activation="softmax", dtype="float32",
                                             name="emotion")(features)}
    if num_aus:
        outputs["au"] = keras.layers.Dense(num_aus, activation="sigmoid", dtype="float32",
                                           name="au")(features)
    return keras.Model(inputs, outputs, name=name)


register_preset(
    "seed004_resnet", "multitask_resnet",
    "Seed 004 as reported: filters [64,128,256], blocks [3,4,6], 3 emotions, 15 AUs",
)
register_preset(
    "ckplus_small", "multitask_resnet",
    "A CPU-friendly dual-head ResNet for 48x48 CK+ faces (the example's default)",
    filters=(32, 64, 128), blocks=(1, 1, 1), stem_filters=32, stem_strides=2, dropout=0.2,
)
