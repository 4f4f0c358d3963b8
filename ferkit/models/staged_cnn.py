"""``staged_cnn``: conv-BN-LeakyReLU-max-pool stages and a single linear softmax layer.

Every stage is conv (padding "same") -> BN -> LeakyReLU -> max-pool, optionally followed by
dropout; the flattened features go through dropout into the softmax ``emotion`` layer, the only
fully connected layer. The defaults are seed 001's MainCnn (48x48 grey faces, 4 classes:
focused, happy, neutral, surprised) with kernels growing 3, 5, 7 stage by stage; seed 001's
networks are the presets ``seed001_main``, ``seed001_main_wide``, ``seed001_variant1`` and
``seed001_variant2``.
"""
from __future__ import annotations

from typing import Sequence

import keras

from ferkit.models.heads import emotion_head
from ferkit.models.registry import register, register_preset


def conv_stage(x, index: int, filters: int, kernel_size: int, negative_slope: float,
               pool_size: int, conv_dropout: float):
    """One conv-BN-LeakyReLU-max-pool stage, with optional dropout after the pool."""
    stage = index + 1
    x = keras.layers.Conv2D(filters, kernel_size, padding="same", name=f"conv{stage}")(x)
    x = keras.layers.BatchNormalization(name=f"bn{stage}")(x)
    x = keras.layers.LeakyReLU(negative_slope, name=f"act{stage}")(x)
    x = keras.layers.MaxPooling2D(pool_size, name=f"pool{stage}")(x)
    if conv_dropout:
        x = keras.layers.Dropout(conv_dropout, name=f"dropout{stage}")(x)
    return x


def _check_stages(filters: Sequence[int], kernel_sizes: Sequence[int], num_classes: int) -> None:
    if len(filters) != len(kernel_sizes) or not filters:
        raise ValueError(f"filters {list(filters)} and kernel_sizes {list(kernel_sizes)} must be "
                         "non-empty and of equal length (one entry per stage)")
    if num_classes < 2:
        raise ValueError(f"num_classes must be >= 2, got {num_classes}")


@register("staged_cnn")
def staged_cnn(input_shape: Sequence[int] = (48, 48, 1), num_classes: int = 4,
               filters: Sequence[int] = (16, 32, 64), kernel_sizes: Sequence[int] = (3, 5, 7),
               negative_slope: float = 0.01, pool_size: int = 2, dropout: float = 0.1,
               conv_dropout: float = 0.0, name: str = "staged_cnn") -> keras.Model:
    """Conv-BN-LeakyReLU-pool stages, then one linear softmax layer on the flat features.

    Args:
        filters / kernel_sizes: one entry per stage.
        negative_slope: LeakyReLU's slope. ``pool_size``: every stage's max-pool.
        dropout: rate on the flattened features. ``conv_dropout``: rate after every pool.

    The defaults are seed 001's MainCnn (preset ``seed001_main``): 48 -> 24 -> 12 -> 6, one
    linear layer from 64*6*6 features to 4 classes.
    """
    _check_stages(filters, kernel_sizes, num_classes)
    inputs = keras.Input(tuple(input_shape), name="image")
    x = inputs
    for index, (width, kernel) in enumerate(zip(filters, kernel_sizes)):
        x = conv_stage(x, index, width, kernel, negative_slope, pool_size, conv_dropout)
    x = keras.layers.Flatten(name="flatten")(x)
    outputs = {"emotion": emotion_head(x, num_classes, dropout)}
    return keras.Model(inputs, outputs, name=name)


# Seed 001's networks. MainCnn is the report's code: 16/32/64 filters, LeakyReLU slope 0.01,
# 2x2 pools, dropout 0.1, one linear layer; where the dropout sits is not shown, here it acts
# on the flattened features.
register_preset(
    "seed001_main", "staged_cnn",
    "Seed 001's MainCnn: conv-BN-LeakyReLU-pool stages with growing kernels (3, 5, 7)",
    name="seed001_main",
)
# The final version doubles every filter count, which is all the report's prose says changed;
# its settings listing also shows pool size 3 and dropout 0.1 per convolutional layer:
# ``pool_size=3, conv_dropout=0.1`` follows that listing (48 -> 16 -> 5 -> 1).
register_preset(
    "seed001_main_wide", "staged_cnn",
    "Seed 001's final version: MainCnn with every filter count doubled (32/64/128)",
    filters=(32, 64, 128), name="seed001_main",
)
register_preset(
    "seed001_variant1", "staged_cnn",
    "Seed 001's VarCnn1: MainCnn without its third stage (linear from 32*12*12 features)",
    filters=(16, 32), kernel_sizes=(3, 5), name="seed001_variant1",
)
register_preset(
    "seed001_variant2", "staged_cnn",
    "Seed 001's VarCnn2: a single 16-filter 3x3 stage (linear from 16*24*24 features)",
    filters=(16,), kernel_sizes=(3,), name="seed001_variant2",
)
