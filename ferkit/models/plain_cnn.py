"""``plain_cnn``: conv-BN-activation units, some followed by max-pooling, and a dense head.

No shortcuts and no global pooling: a stack of conv (padding "same") -> BN -> activation units
with a 2x2 max-pool where asked, dropout, a hidden dense layer and the softmax ``emotion`` head.
Depth, kernels, strides and activations are all arguments. The defaults are seed 000's main
model (96x96 RGB faces, 4 classes: Angry, Focused, Happy, Neutral); its three networks are the
presets ``seed000_main``, ``seed000_variant1`` and ``seed000_variant2``.
"""
from __future__ import annotations

from typing import Sequence

import keras

from ferkit.models.registry import register, register_preset

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


@register("plain_cnn")
def plain_cnn(input_shape: Sequence[int] = (96, 96, 3), num_classes: int = 4,
              filters: Sequence[int] = (32, 32, 64, 64, 128),
              kernel_sizes: Sequence[int] = (3, 3, 3, 3, 3),
              strides: Sequence[int] = (1, 1, 1, 1, 1),
              pool_after: Sequence[bool] = (False, True, False, True, True),
              activation: str = "leaky_relu", negative_slope: float = 0.01,
              dropout: float = 0.3, dense_units: int = 256, dense_activation: str = "relu",
              name: str = "plain_cnn") -> keras.Model:
    """A plain CNN: conv-BN-activation units with max-pools between them, then a dense head.

    Args:
        filters / kernel_sizes / strides / pool_after: one entry per convolution;
            ``pool_after`` puts a 2x2 max-pool after that unit.
        activation / dense_activation: "leaky_relu", "prelu", "sigmoid" or "relu" for the
            convolutions and the hidden dense layer; ``negative_slope`` is LeakyReLU's.
        dropout: rate on the last feature map, before it is flattened.
        dense_units: width of the hidden dense layer.

    The defaults are seed 000's main model (preset ``seed000_main``).
    """
    inputs = keras.Input(tuple(input_shape), name="image")
    features = conv_stack(inputs, filters, kernel_sizes, strides, pool_after, activation,
                          negative_slope)
    outputs = dense_head(features, num_classes, dropout, dense_units, dense_activation,
                         negative_slope)
    return keras.Model(inputs, outputs, name=name)


# Seed 000's networks. The report's layouts; where it is silent (hidden width, LeakyReLU slope,
# and for the variants BN, dropout and widths) the values match the main model and the seed's
# published code, which has the same layers.

# 32, 32 | pool | 64, 64 | pool | 128 | pool, stride 1, padding 1, BN after every convolution,
# LeakyReLU (PyTorch's slope 0.01), dropout 0.3, a 256-unit ReLU hidden layer. The seed's code
# also pools after the third convolution, ending at 6x6 rather than the report's 12x12;
# ``pool_after=(False, True, True, True, True)`` follows it.
register_preset(
    "seed000_main", "plain_cnn",
    "Seed 000's main model: five 3x3 conv-BN-LeakyReLU units pooled 96 -> 48 -> 24 -> 12",
    name="seed000_main",
)
# 32, 64 | pool (96 -> 48) | 128 stride 2 (-> 24) | 128 | pool (-> 12), PReLU throughout; each
# PReLU learns one slope shared by the whole tensor, as PyTorch's ``nn.PReLU()`` does.
register_preset(
    "seed000_variant1", "plain_cnn",
    "Seed 000's variant 1: four 3x3 conv-BN-PReLU units, a stride-2 conv instead of a pool",
    filters=(32, 64, 128, 128), kernel_sizes=(3, 3, 3, 3), strides=(1, 1, 2, 1),
    pool_after=(False, True, False, True), activation="prelu", dense_activation="prelu",
    name="seed000_variant1",
)
# First kernel 7x7, second 5x5, last 2x2, sigmoid throughout, three pools 96 -> 48 -> 24 -> 12;
# the two middle 3x3 kernels follow the main model. "same" padding keeps the 2x2 convolution at
# 12x12 (PyTorch's padding 1 would give 13x13). The seed's code pools once more, as for main.
register_preset(
    "seed000_variant2", "plain_cnn",
    "Seed 000's variant 2: the main layout with sigmoid activations and 7/5/3/3/2 kernels",
    kernel_sizes=(7, 5, 3, 3, 2), activation="sigmoid", dense_activation="sigmoid",
    name="seed000_variant2",
)
