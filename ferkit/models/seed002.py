"""Seed 002's ResBlock networks for 48x48 grey FER2013/FER+ faces in 4 classes, and their names.

The seed's classes are Angry, Bored, Focused and Neutral, relabelled from FER+ votes. It trained
12 networks over kernel size (3/5/7), channels (16/32) and depth (4 ResBlocks with 1 FC layer or
8 ResBlocks with 2 FC layers), named ``B<channels>_N<blocks>_FC<fc layers>_K<kernel>`` plus
``_AP20`` for the 20x20 adaptive average pool every one of them used.

The network: N ResBlocks at full resolution (every convolution has stride 1 and padding k//2)
-> adaptive average pool to 20x20 -> flatten -> FC hidden layers with ReLU -> linear to the
classes. Each ResBlock is conv-BN-ReLU-conv-BN, plus the block's input, then ReLU.
"""
from __future__ import annotations

import dataclasses
import re
from typing import Sequence

import keras
import numpy as np

from ferkit.layers import ResidualBlock
from ferkit.models.registry import register, register_preset

#: ``B16_N8_FC2_K5`` or the seed's full form ``B16_N8_FC2_K5_AP20``.
NAME_PATTERN = re.compile(r"B(\d+)_N(\d+)_FC(\d+)_K(\d+)(?:_AP(\d+))?")
NAME_FORMAT = "B<channels>_N<blocks>_FC<fc layers>_K<kernel>[_AP<pool>]"
SEED_POOL_SIZE = 20
SEED_KERNELS = (3, 5, 7)
SEED_CHANNELS = (16, 32)
SEED_DEPTHS = ((4, 1), (8, 2))  # (ResBlocks, FC layers): the seed always paired these


@dataclasses.dataclass(frozen=True)
class Seed002Config:
    """The four numbers a seed-002 name encodes, plus the optional pool size."""

    kernel_size: int
    channels: int
    num_blocks: int
    fc_layers: int
    pool_size: int | None = None

    def kwargs(self) -> dict:
        """Keyword arguments for ``seed002_resnet``."""
        out = dataclasses.asdict(self)
        if self.pool_size is None:
            del out["pool_size"]
        return out


def seed002_name(kernel_size: int, channels: int, num_blocks: int, fc_layers: int,
                 pool_size: int | None = None) -> str:
    """``seed002_name(5, 16, 8, 2) == "B16_N8_FC2_K5"``; a ``pool_size`` appends ``_AP<n>``."""
    config = Seed002Config(kernel_size, channels, num_blocks, fc_layers, pool_size)
    _check_config(config, _described(config))
    name = f"B{channels}_N{num_blocks}_FC{fc_layers}_K{kernel_size}"
    return name if pool_size is None else f"{name}_AP{pool_size}"


def parse_seed002_name(name: str) -> Seed002Config:
    """Parse ``B16_N8_FC2_K5`` (or ``B16_N8_FC2_K5_AP20``) into its configuration."""
    match = NAME_PATTERN.fullmatch(name)
    if not match:
        raise ValueError(f"seed-002 model name {name!r} does not read as {NAME_FORMAT}, "
                         "e.g. 'B16_N8_FC2_K5'")
    channels, blocks, fc_layers, kernel, pool = match.groups()
    config = Seed002Config(int(kernel), int(channels), int(blocks), int(fc_layers),
                           None if pool is None else int(pool))
    _check_config(config, repr(name))
    return config


def _config_problems(config: Seed002Config) -> list[str]:
    problems = []
    if config.kernel_size < 1 or config.kernel_size % 2 == 0:
        problems.append(f"kernel size {config.kernel_size} must be odd (padding k//2 keeps the "
                        "48x48 resolution only for odd kernels)")
    if config.channels < 1 or config.num_blocks < 1 or config.fc_layers < 0:
        problems.append(f"channels ({config.channels}) and ResBlocks ({config.num_blocks}) must "
                        f"be >= 1 and FC layers ({config.fc_layers}) >= 0")
    if config.pool_size is not None and config.pool_size < 1:
        problems.append(f"pool size {config.pool_size} must be >= 1")
    return problems


def _described(config: Seed002Config) -> str:
    return ", ".join(f"{key}={value}" for key, value in dataclasses.asdict(config).items())


def _off_grid(config: Seed002Config) -> list[str]:
    off = []
    if config.kernel_size not in SEED_KERNELS:
        off.append(f"K{config.kernel_size}")
    if config.channels not in SEED_CHANNELS:
        off.append(f"B{config.channels}")
    if (config.num_blocks, config.fc_layers) not in SEED_DEPTHS:
        off.append(f"N{config.num_blocks}_FC{config.fc_layers}")
    return off


def _check_config(config: Seed002Config, described: str) -> None:
    problems = _config_problems(config)
    if not problems:
        return
    grid = (f"K{'/K'.join(map(str, SEED_KERNELS))}, B{'/B'.join(map(str, SEED_CHANNELS))}, "
            + " or ".join(f"N{n}_FC{f}" for n, f in SEED_DEPTHS))
    off = _off_grid(config)
    note = f"; outside the seed's grid ({grid}): {', '.join(off)}" if off else ""
    raise ValueError(f"seed-002 model {described}: " + "; ".join(problems) + note)


def seed002_grid() -> list[str]:
    """The 12 names the seed trained, in the order of its results table (K3, K5, K7)."""
    return [seed002_name(kernel, channels, blocks, fc_layers)
            for kernel in SEED_KERNELS
            for blocks, fc_layers in SEED_DEPTHS
            for channels in SEED_CHANNELS]


def adaptive_bins(length: int, size: int) -> np.ndarray:
    """A (size, length) matrix averaging PyTorch's adaptive-pooling bins along one axis.

    Bin i covers [floor(i*length/size), ceil((i+1)*length/size)); bins overlap when ``size``
    does not divide ``length`` (48 -> 20 gives bins of 3 and 4 pixels).
    """
    weights = np.zeros((size, length), "float32")
    for index in range(size):
        start, stop = (index * length) // size, -(-((index + 1) * length) // size)
        weights[index, start:stop] = 1.0 / (stop - start)
    return weights


@keras.saving.register_keras_serializable(package="ferkit")
class AdaptiveAveragePool2D(keras.layers.Layer):
    """Average-pool a fixed-size image to ``size`` x ``size`` bins, as PyTorch's pool does.

    Seed 002's ``nn.AdaptiveAvgPool2d(avg_pool_size)``; Keras only gained an adaptive pooling
    layer in recent releases. Channels-last, and the height and width must be known.
    """

    def __init__(self, size: int, **kwargs):
        super().__init__(**kwargs)
        if size < 1:
            raise ValueError(f"size must be >= 1, got {size}")
        self.size = int(size)
        self._rows = self._cols = None

    def build(self, input_shape):
        height, width = input_shape[1], input_shape[2]
        if height is None or width is None:
            raise ValueError(f"{self.name} needs a fixed height and width, got {input_shape}")
        self._rows = adaptive_bins(height, self.size)
        self._cols = adaptive_bins(width, self.size)
        super().build(input_shape)

    def call(self, inputs):
        rows = keras.ops.convert_to_tensor(self._rows, dtype=inputs.dtype)
        cols = keras.ops.convert_to_tensor(self._cols, dtype=inputs.dtype)
        pooled_rows = keras.ops.einsum("ih,bhwc->biwc", rows, inputs)
        return keras.ops.einsum("jw,biwc->bijc", cols, pooled_rows)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.size, self.size, input_shape[-1])

    def get_config(self):
        return {**super().get_config(), "size": self.size}


def input_resblock(x, channels: int, kernel_size: int, l2: float, bn_momentum: float):
    """The first ResBlock, whose input still has the image's channels.

    The seed adds the input itself: a one-channel image broadcasts onto every feature channel.
    Inputs with other channel counts get a 1x1 projection (conv + BN) instead.
    """
    in_channels = x.shape[-1]
    conv = dict(padding="same", use_bias=False, kernel_initializer="he_normal",
                kernel_regularizer=keras.regularizers.L2(l2) if l2 else None)
    y = keras.layers.Conv2D(channels, kernel_size, name="block1_conv1", **conv)(x)
    y = keras.layers.BatchNormalization(momentum=bn_momentum, name="block1_bn1")(y)
    y = keras.layers.ReLU(name="block1_relu1")(y)
    y = keras.layers.Conv2D(channels, kernel_size, name="block1_conv2", **conv)(y)
    y = keras.layers.BatchNormalization(momentum=bn_momentum, name="block1_bn2")(y)
    shortcut = x
    if in_channels not in (1, channels):
        shortcut = keras.layers.Conv2D(channels, 1, name="block1_shortcut_conv", **conv)(x)
        shortcut = keras.layers.BatchNormalization(momentum=bn_momentum,
                                                   name="block1_shortcut_bn")(shortcut)
    y = keras.layers.Add(name="block1_add")([y, shortcut])
    return keras.layers.ReLU(name="block1_out")(y)


def fc_classifier(x, num_classes: int, fc_layers: int, fc_units: int | None, dropout: float):
    """``fc_layers`` hidden Dense+ReLU layers (as wide as their input by default), then softmax."""
    width = fc_units or x.shape[-1]
    for index in range(fc_layers):
        x = keras.layers.Dense(width, activation="relu", name=f"fc{index + 1}")(x)
        if dropout:
            x = keras.layers.Dropout(dropout, name=f"fc{index + 1}_dropout")(x)
    return keras.layers.Dense(num_classes, activation="softmax", dtype="float32",
                              name="emotion")(x)


@register("seed002_resnet")
def seed002_resnet(kernel_size: int = 5, channels: int = 16, num_blocks: int = 8,
                   fc_layers: int = 2, input_shape: Sequence[int] = (48, 48, 1),
                   num_classes: int = 4, pool_size: int = SEED_POOL_SIZE,
                   fc_units: int | None = None, dropout: float = 0.0, l2: float = 0.0,
                   bn_momentum: float = 0.9, name: str | None = None) -> keras.Model:
    """Seed 002's ResBlock network; the defaults are its best model, B16_N8_FC2_K5 (AP20).

    The report gives kernels, channels, block and FC counts, the 20x20 pool (``_AP20``) and
    4 classes; its figures of the network are not available, so the block layout and FC widths
    follow the seed's published code: every FC hidden layer is as wide as the flattened pool
    (channels*20*20 = 6400 or 12800), which makes these models 41 M to 328 M parameters, almost
    all in the FC layers. ``fc_units`` sets a narrower width. The seed trained with Adam
    weight decay 1e-4 (an L2 gradient term, matched by ``l2=5e-5`` on the kernels here if
    wanted). ResBlocks 2..N are ``ferkit.layers.ResidualBlock`` (identity shortcut); the first
    is built here because its shortcut adds the grey input onto every channel.
    """
    config = Seed002Config(kernel_size, channels, num_blocks, fc_layers, pool_size)
    _check_config(config, _described(config))
    if num_classes < 2:
        raise ValueError(f"num_classes must be >= 2, got {num_classes}")
    model_name = name or "seed002_" + seed002_name(kernel_size, channels, num_blocks, fc_layers)
    inputs = keras.Input(tuple(input_shape), name="image")
    x = input_resblock(inputs, channels, kernel_size, l2, bn_momentum)
    for index in range(1, num_blocks):
        x = ResidualBlock(channels, kernel_size, l2=l2, projection=False, bn_momentum=bn_momentum,
                          name=f"block{index + 1}")(x)
    x = AdaptiveAveragePool2D(pool_size, name="avg_pool")(x)
    x = keras.layers.Flatten(name="flatten")(x)
    outputs = {"emotion": fc_classifier(x, num_classes, fc_layers, fc_units, dropout)}
    return keras.Model(inputs, outputs, name=model_name)


def _register_grid() -> None:
    for grid_name in seed002_grid():
        config = parse_seed002_name(grid_name)
        register_preset(
            grid_name, "seed002_resnet",
            f"Seed 002 grid: {config.channels} channels, {config.num_blocks} ResBlocks, "
            f"{config.fc_layers} FC, {config.kernel_size}x{config.kernel_size} kernels, AP20",
            **config.kwargs(),
        )


_register_grid()
