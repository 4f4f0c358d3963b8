"""Seed 000's three plain CNNs for 96x96 RGB faces in 4 classes (Angry, Focused, Happy, Neutral).

All three share one shape: a stack of conv-BN-activation units with max-pooling after some of
them, dropout, a hidden dense layer and the softmax ``emotion`` head. They differ in depth,
kernels, strides and activation, and every one of those is an argument.
"""
from __future__ import annotations

from typing import Sequence

import keras

from ferkit.models.registry import register

ACTIVATIONS = ("leaky_relu", "prelu", "sigmoid", "relu")


def activation_layer(kind: str, name: str, negative_slope: float = 0.01,
                     rank: int = 4) -> keras.layers.Layer:
    """A fresh activation layer for a ``rank``-dimensional input (batch axis included).

    ``prelu`` learns one slope shared by the whole tensor, initialised to 0.25, as PyTorch's
    ``nn.PReLU()`` does.
    """
    if kind == "leaky_relu":
        return keras.layers.LeakyReLU(negative_slope, name=name)
    if kind == "prelu":
        return keras.layers.PReLU(alpha_initializer=keras.initializers.Constant(0.25),
                                  shared_axes=list(range(1, rank)), name=name)
    if kind in ("sigmoid", "relu"):
        return keras.layers.Activation(kind, name=name)
    raise ValueError(f"activation must be one of {ACTIVATIONS}, got {kind!r}")


def _check_per_layer_lengths(**per_layer: Sequence) -> int:
    lengths = {key: len(value) for key, value in per_layer.items()}
    if len(set(lengths.values())) != 1 or not next(iter(lengths.values())):
        raise ValueError(f"per-layer arguments must be non-empty and of equal length (one entry "
                         f"per convolution), got lengths {lengths}")
    return next(iter(lengths.values()))


def conv_stack(x, filters: Sequence[int], kernel_sizes: Sequence[int], strides: Sequence[int],
               pool_after: Sequence[bool], activation: str, negative_slope: float):
    """conv (padding "same") -> BN -> activation, then a 2x2 max-pool where ``pool_after`` says."""
    count = _check_per_layer_lengths(filters=filters, kernel_sizes=kernel_sizes, strides=strides,
                                     pool_after=pool_after)
    for index in range(count):
        unit = index + 1
        x = keras.layers.Conv2D(filters[index], kernel_sizes[index], strides=strides[index],
                                padding="same", name=f"conv{unit}")(x)
        x = keras.layers.BatchNormalization(name=f"bn{unit}")(x)
        x = activation_layer(activation, f"act{unit}", negative_slope)(x)
        if pool_after[index]:
            x = keras.layers.MaxPooling2D(2, name=f"pool{unit}")(x)
    return x


def dense_head(x, num_classes: int, dropout: float, dense_units: int, dense_activation: str,
               negative_slope: float) -> dict:
    """dropout -> flatten -> hidden dense + activation -> float32 softmax ``emotion``."""
    if num_classes < 2:
        raise ValueError(f"num_classes must be >= 2, got {num_classes}")
    if dropout:
        x = keras.layers.Dropout(dropout, name="dropout")(x)
    x = keras.layers.Flatten(name="flatten")(x)
    x = keras.layers.Dense(dense_units, name="dense")(x)
    x = activation_layer(dense_activation, "dense_act", negative_slope, rank=2)(x)
    return {"emotion": keras.layers.Dense(num_classes, activation="softmax", dtype="float32",
                                          name="emotion")(x)}


def seed000_cnn(input_shape: Sequence[int], num_classes: int, filters: Sequence[int],
                kernel_sizes: Sequence[int], strides: Sequence[int], pool_after: Sequence[bool],
                activation: str, negative_slope: float, dropout: float, dense_units: int,
                dense_activation: str, name: str) -> keras.Model:
    """The shared seed-000 layout; the registered builders only choose its defaults."""
    inputs = keras.Input(tuple(input_shape), name="image")
    features = conv_stack(inputs, filters, kernel_sizes, strides, pool_after, activation,
                          negative_slope)
    outputs = dense_head(features, num_classes, dropout, dense_units, dense_activation,
                         negative_slope)
    return keras.Model(inputs, outputs, name=name)


@register("seed000_main")
def seed000_main(input_shape: Sequence[int] = (96, 96, 3), num_classes: int = 4,
                 filters: Sequence[int] = (32, 32, 64, 64, 128),
                 kernel_sizes: Sequence[int] = (3, 3, 3, 3, 3),
                 strides: Sequence[int] = (1, 1, 1, 1, 1),
                 pool_after: Sequence[bool] = (False, True, False, True, True),
                 activation: str = "leaky_relu", negative_slope: float = 0.01,
                 dropout: float = 0.3, dense_units: int = 256, dense_activation: str = "relu",
                 name: str = "seed000_main") -> keras.Model:
    """Seed 000's main model: five 3x3 conv-BN-LeakyReLU units pooled 96 -> 48 -> 24 -> 12.

    From the report: 32, 32 | pool | 64, 64 | pool | 128 | pool, stride 1, padding 1,
    BN after every convolution, LeakyReLU, dropout 0.3, then two fully connected layers.
    The report does not give the hidden width or slope: 256 units with ReLU and PyTorch's
    default slope 0.01 are used (the seed's published code has the same). That code also
    pools after the third convolution, ending at 6x6 rather than the report's 12x12; pass
    ``pool_after=(False, True, True, True, True)`` to follow it.
    """
    return seed000_cnn(input_shape, num_classes, filters, kernel_sizes, strides, pool_after,
                       activation, negative_slope, dropout, dense_units, dense_activation, name)


@register("seed000_variant1")
def seed000_variant1(input_shape: Sequence[int] = (96, 96, 3), num_classes: int = 4,
                     filters: Sequence[int] = (32, 64, 128, 128),
                     kernel_sizes: Sequence[int] = (3, 3, 3, 3),
                     strides: Sequence[int] = (1, 1, 2, 1),
                     pool_after: Sequence[bool] = (False, True, False, True),
                     activation: str = "prelu", negative_slope: float = 0.01,
                     dropout: float = 0.3, dense_units: int = 256,
                     dense_activation: str = "prelu",
                     name: str = "seed000_variant1") -> keras.Model:
    """Seed 000's variant 1: four 3x3 conv-BN-PReLU units, a stride-2 conv instead of a pool.

    From the report: 32, 64 | pool (96 -> 48) | 128 stride 2 (-> 24) | 128 | pool (-> 12), PReLU
    throughout. Not in the report (chosen to match the main model): BN after each convolution,
    dropout 0.3 and a 256-unit PReLU hidden layer. Each PReLU learns one slope, as PyTorch's
    ``nn.PReLU()`` does (the seed's published code has the same layers).
    """
    return seed000_cnn(input_shape, num_classes, filters, kernel_sizes, strides, pool_after,
                       activation, negative_slope, dropout, dense_units, dense_activation, name)


@register("seed000_variant2")
def seed000_variant2(input_shape: Sequence[int] = (96, 96, 3), num_classes: int = 4,
                     filters: Sequence[int] = (32, 32, 64, 64, 128),
                     kernel_sizes: Sequence[int] = (7, 5, 3, 3, 2),
                     strides: Sequence[int] = (1, 1, 1, 1, 1),
                     pool_after: Sequence[bool] = (False, True, False, True, True),
                     activation: str = "sigmoid", negative_slope: float = 0.01,
                     dropout: float = 0.3, dense_units: int = 256,
                     dense_activation: str = "sigmoid",
                     name: str = "seed000_variant2") -> keras.Model:
    """Seed 000's variant 2: the main layout with sigmoid activations and 7/5/3/3/2 kernels.

    From the report: first kernel 7x7, second 5x5, last 2x2, sigmoid throughout, three pools
    96 -> 48 -> 24 -> 12. The report names only those three kernels and the pooling; the widths,
    the two middle 3x3 kernels, dropout 0.3 and the 256-unit hidden layer follow the main model.
    "same" padding keeps the 2x2 convolution at 12x12 (PyTorch's padding 1 would give 13x13).
    The seed's published code pools once more (after the third convolution, ending at 6x6);
    ``pool_after=(False, True, True, True, True)`` follows it.
    """
    return seed000_cnn(input_shape, num_classes, filters, kernel_sizes, strides, pool_after,
                       activation, negative_slope, dropout, dense_units, dense_activation, name)
