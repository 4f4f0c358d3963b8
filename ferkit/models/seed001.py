"""Seed 001's MainCnn and its two shallower variants for 48x48 grey faces in 4 classes.

The seed's classes are focused, happy, neutral and surprised. Every stage is
conv (padding k//2) -> BN -> LeakyReLU(0.01) -> 2x2 max-pool; the flattened features go through
dropout 0.1 into a single dense layer (the seed's only fully connected layer, here the softmax
``emotion`` head). The doubled final version is a preset of ``seed001_main``.
"""
from __future__ import annotations

from typing import Sequence

import keras

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


@register("seed001_main")
def seed001_main(input_shape: Sequence[int] = (48, 48, 1), num_classes: int = 4,
                 filters: Sequence[int] = (16, 32, 64), kernel_sizes: Sequence[int] = (3, 5, 7),
                 negative_slope: float = 0.01, pool_size: int = 2, dropout: float = 0.1,
                 conv_dropout: float = 0.0, name: str = "seed001_main") -> keras.Model:
    """Seed 001's MainCnn: conv-BN-LeakyReLU-pool stages with growing kernels (3, 5, 7).

    Defaults are the report's code: 16/32/64 filters, LeakyReLU slope 0.01, 2x2 pools
    (48 -> 24 -> 12 -> 6), dropout 0.1, one linear layer from 64*6*6 features to 4 classes.
    Where the dropout sits is not shown; here it acts on the flattened features.

    The final version (preset ``seed001_main_wide``) doubles every filter count, which is all
    the report's prose says changed; its settings listing also shows pool size 3 and dropout
    0.1 per convolutional layer. Pass ``pool_size=3, conv_dropout=0.1`` to follow that listing
    (48 -> 16 -> 5 -> 1).
    """
    if len(filters) != len(kernel_sizes) or not filters:
        raise ValueError(f"filters {list(filters)} and kernel_sizes {list(kernel_sizes)} must be "
                         "non-empty and of equal length (one entry per stage)")
    if num_classes < 2:
        raise ValueError(f"num_classes must be >= 2, got {num_classes}")
    inputs = keras.Input(tuple(input_shape), name="image")
    x = inputs
    for index, (width, kernel) in enumerate(zip(filters, kernel_sizes)):
        x = conv_stage(x, index, width, kernel, negative_slope, pool_size, conv_dropout)
    x = keras.layers.Flatten(name="flatten")(x)
    if dropout:
        x = keras.layers.Dropout(dropout, name="dropout")(x)
    outputs = {"emotion": keras.layers.Dense(num_classes, activation="softmax", dtype="float32",
                                             name="emotion")(x)}
    return keras.Model(inputs, outputs, name=name)


register_preset(
    "seed001_main_wide", "seed001_main",
    "Seed 001's final version: MainCnn with every filter count doubled (32/64/128)",
    filters=(32, 64, 128),
)


@register("seed001_variant1")
def seed001_variant1(input_shape: Sequence[int] = (48, 48, 1), num_classes: int = 4,
                     filters: Sequence[int] = (16, 32), kernel_sizes: Sequence[int] = (3, 5),
                     negative_slope: float = 0.01, pool_size: int = 2, dropout: float = 0.1,
                     conv_dropout: float = 0.0, name: str = "seed001_variant1") -> keras.Model:
    """Seed 001's VarCnn1: MainCnn without its third stage (linear from 32*12*12 features)."""
    return seed001_main(input_shape, num_classes, filters, kernel_sizes, negative_slope,
                        pool_size, dropout, conv_dropout, name)


@register("seed001_variant2")
def seed001_variant2(input_shape: Sequence[int] = (48, 48, 1), num_classes: int = 4,
                     filters: Sequence[int] = (16,), kernel_sizes: Sequence[int] = (3,),
                     negative_slope: float = 0.01, pool_size: int = 2, dropout: float = 0.1,
                     conv_dropout: float = 0.0, name: str = "seed001_variant2") -> keras.Model:
    """Seed 001's VarCnn2: a single 16-filter 3x3 stage (linear from 16*24*24 features)."""
    return seed001_main(input_shape, num_classes, filters, kernel_sizes, negative_slope,
                        pool_size, dropout, conv_dropout, name)
