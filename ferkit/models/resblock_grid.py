"""``resblock_grid``: full-resolution ResBlocks, adaptive average pooling and FC layers, and the
``B<channels>_N<blocks>_FC<fc layers>_K<kernel>`` names of its grid.

The network: N ResBlocks at full resolution (every convolution has stride 1 and padding k//2)
-> adaptive average pool to 20x20 -> flatten -> FC hidden layers with ReLU -> linear to the
classes. Each ResBlock is conv-BN-ReLU-conv-BN, plus the block's input, then ReLU.

Seed 002 (48x48 grey FER2013 faces relabelled from FER+ votes into Angry, Bored, Focused and
Neutral) trained 12 of these over kernel size (3/5/7), channels (16/32) and depth (4 ResBlocks
with 1 FC layer or 8 ResBlocks with 2 FC layers), named ``B16_N8_FC2_K5`` and so on, plus
``_AP20`` for the 20x20 pool every one of them used. Those 12 names and ``seed002_resnet`` (the
seed's best, the builder's defaults) are registered presets.
"""
from __future__ import annotations

import dataclasses
import re
from typing import Sequence

import keras

from ferkit.layers import AdaptiveAveragePool2D, ResidualBlock
from ferkit.models.registry import register, register_preset

#: ``B16_N8_FC2_K5`` or the seed's full form ``B16_N8_FC2_K5_AP20``.
NAME_PATTERN = re.compile(r"B(\d+)_N(\d+)_FC(\d+)_K(\d+)(?:_AP(\d+))?")
NAME_FORMAT = "B<channels>_N<blocks>_FC<fc layers>_K<kernel>[_AP<pool>]"
SEED_POOL_SIZE = 20
SEED_KERNELS = (3, 5, 7)
SEED_CHANNELS = (16, 32)
SEED_DEPTHS = ((4, 1), (8, 2))  # (ResBlocks, FC layers): the seed always paired these


@dataclasses.dataclass(frozen=True)
class GridConfig:
    """The four numbers a grid name encodes, plus the optional pool size."""

    kernel_size: int
    channels: int
    num_blocks: int
    fc_layers: int
    pool_size: int | None = None

    def kwargs(self) -> dict:
        """Keyword arguments for ``resblock_grid``."""
        out = dataclasses.asdict(self)
        if self.pool_size is None:
            del out["pool_size"]
        return out


def grid_name(kernel_size: int, channels: int, num_blocks: int, fc_layers: int,
              pool_size: int | None = None) -> str:
    """``grid_name(5, 16, 8, 2) == "B16_N8_FC2_K5"``; a ``pool_size`` appends ``_AP<n>``."""
    config = GridConfig(kernel_size, channels, num_blocks, fc_layers, pool_size)
    _check_config(config, _described(config))
    name = f"B{channels}_N{num_blocks}_FC{fc_layers}_K{kernel_size}"
    return name if pool_size is None else f"{name}_AP{pool_size}"


def parse_grid_name(name: str) -> GridConfig:
    """Parse ``B16_N8_FC2_K5`` (or ``B16_N8_FC2_K5_AP20``) into its configuration."""
    match = NAME_PATTERN.fullmatch(name)
    if not match:
        raise ValueError(f"ResBlock grid name {name!r} does not read as {NAME_FORMAT}, "
                         "e.g. 'B16_N8_FC2_K5'")
    channels, blocks, fc_layers, kernel, pool = match.groups()
    config = GridConfig(int(kernel), int(channels), int(blocks), int(fc_layers),
                        None if pool is None else int(pool))
    _check_config(config, repr(name))
    return config


def _config_problems(config: GridConfig) -> list[str]:
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


def _described(config: GridConfig) -> str:
    return ", ".join(f"{key}={value}" for key, value in dataclasses.asdict(config).items())


def _off_grid(config: GridConfig) -> list[str]:
    off = []
    if config.kernel_size not in SEED_KERNELS:
        off.append(f"K{config.kernel_size}")
    if config.channels not in SEED_CHANNELS:
        off.append(f"B{config.channels}")
    if (config.num_blocks, config.fc_layers) not in SEED_DEPTHS:
        off.append(f"N{config.num_blocks}_FC{config.fc_layers}")
    return off


def _check_config(config: GridConfig, described: str) -> None:
    problems = _config_problems(config)
    if not problems:
        return
    grid = (f"K{'/K'.join(map(str, SEED_KERNELS))}, B{'/B'.join(map(str, SEED_CHANNELS))}, "
            + " or ".join(f"N{n}_FC{f}" for n, f in SEED_DEPTHS))
    off = _off_grid(config)
    note = f"; outside the seed's grid ({grid}): {', '.join(off)}" if off else ""
    raise ValueError(f"resblock_grid model {described}: " + "; ".join(problems) + note)


def seed002_grid() -> list[str]:
    """The 12 names the seed trained, in the order of its results table (K3, K5, K7)."""
    return [grid_name(kernel, channels, blocks, fc_layers)
            for kernel in SEED_KERNELS
            for blocks, fc_layers in SEED_DEPTHS
            for channels in SEED_CHANNELS]


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


@register("resblock_grid")
def resblock_grid(kernel_size: int = 5, channels: int = 16, num_blocks: int = 8,
                  fc_layers: int = 2, input_shape: Sequence[int] = (48, 48, 1),
                  num_classes: int = 4, pool_size: int = SEED_POOL_SIZE,
                  fc_units: int | None = None, dropout: float = 0.0, l2: float = 0.0,
                  bn_momentum: float = 0.9, name: str | None = None) -> keras.Model:
    """Full-resolution ResBlocks, a 20x20 adaptive average pool and FC layers (B16_N8_FC2_K5).

    Every FC hidden layer is as wide as the flattened pool (channels*20*20 = 6400 or 12800),
    as in seed 002's published code, which makes these models 41 M to 328 M parameters,
    almost all in the FC layers; ``fc_units`` sets a narrower width. ``l2`` penalises the
    kernels. ResBlocks 2..N are ``ferkit.layers.ResidualBlock`` (identity shortcut); the first
    is built here because its shortcut adds a grey input onto every channel. ``name`` may hold
    ``{grid}``, replaced by the grid name (default ``resblock_grid_{grid}``).
    """
    config = GridConfig(kernel_size, channels, num_blocks, fc_layers, pool_size)
    _check_config(config, _described(config))
    if num_classes < 2:
        raise ValueError(f"num_classes must be >= 2, got {num_classes}")
    grid = grid_name(kernel_size, channels, num_blocks, fc_layers)
    inputs = keras.Input(tuple(input_shape), name="image")
    x = input_resblock(inputs, channels, kernel_size, l2, bn_momentum)
    for index in range(1, num_blocks):
        x = ResidualBlock(channels, kernel_size, l2=l2, projection=False, bn_momentum=bn_momentum,
                          name=f"block{index + 1}")(x)
    x = AdaptiveAveragePool2D(pool_size, name="avg_pool")(x)
    x = keras.layers.Flatten(name="flatten")(x)
    outputs = {"emotion": fc_classifier(x, num_classes, fc_layers, fc_units, dropout)}
    return keras.Model(inputs, outputs, name=(name or "resblock_grid_{grid}").format(grid=grid))


# Seed 002's report gives kernels, channels, block and FC counts, the 20x20 pool (``_AP20``)
# and 4 classes; its figures of the network are not available, so the block layout and FC
# widths follow the seed's published code. The seed trained with Adam weight decay 1e-4 (an
# L2 gradient term, matched by ``l2=5e-5`` on the kernels here if wanted).
register_preset(
    "seed002_resnet", "resblock_grid",
    "Seed 002's ResBlock network; the defaults are its best model, B16_N8_FC2_K5 (AP20)",
    name="seed002_{grid}",
)


def _register_grid() -> None:
    for name in seed002_grid():
        config = parse_grid_name(name)
        register_preset(
            name, "resblock_grid",
            f"Seed 002 grid: {config.channels} channels, {config.num_blocks} ResBlocks, "
            f"{config.fc_layers} FC, {config.kernel_size}x{config.kernel_size} kernels, AP20",
            **config.kwargs(), name="seed002_{grid}",
        )


_register_grid()
