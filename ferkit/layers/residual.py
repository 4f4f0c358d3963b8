"""`ResidualBlock`: the basic two-convolution residual unit (seed 004's custom layer)."""
from __future__ import annotations

import keras


def _l2(l2: float):
    return keras.regularizers.L2(l2) if l2 else None


@keras.saving.register_keras_serializable(package="ferkit")
class ResidualBlock(keras.layers.Layer):
    """conv-BN-ReLU-conv-BN plus a shortcut, then ReLU.

    The shortcut is the identity when the block keeps the shape, and a 1x1 strided
    convolution + BN (a projection) when ``strides > 1`` or the channel count changes.

    Args:
        filters: output channels of both convolutions.
        kernel_size: side of the square kernels.
        strides: stride of the first convolution (2 halves the spatial size).
        l2: L2 penalty on the convolution kernels (0 disables it).
        projection: force (True) or forbid (False) the projection shortcut; ``None``
            chooses it only when the shapes need it.
        bn_momentum: BatchNormalization momentum. 0.9 (PyTorch's default) lets the moving
            statistics settle within a few epochs on small datasets such as CK+.
    """

    def __init__(self, filters: int, kernel_size: int = 3, strides: int = 1, l2: float = 0.0,
                 projection: bool | None = None, bn_momentum: float = 0.9, **kwargs):
        super().__init__(**kwargs)
        if filters < 1 or kernel_size < 1 or strides < 1:
            raise ValueError(f"filters, kernel_size and strides must be >= 1, got "
                             f"{filters}, {kernel_size}, {strides}")
        if l2 < 0:
            raise ValueError(f"l2 must be >= 0, got {l2}")
        self.filters = int(filters)
        self.kernel_size = int(kernel_size)
        self.strides = int(strides)
        self.l2 = float(l2)
        self.projection = projection
        self.bn_momentum = float(bn_momentum)
        conv = dict(padding="same", use_bias=False, kernel_initializer="he_normal",
                    kernel_regularizer=_l2(self.l2))
        self.conv1 = keras.layers.Conv2D(filters, kernel_size, strides=strides, name="conv1", **conv)
        self.bn1 = keras.layers.BatchNormalization(momentum=self.bn_momentum, name="bn1")
        self.conv2 = keras.layers.Conv2D(filters, kernel_size, name="conv2", **conv)
        self.bn2 = keras.layers.BatchNormalization(momentum=self.bn_momentum, name="bn2")
        self.shortcut_conv = None
        self.shortcut_bn = None

    def build(self, input_shape):
        needs_projection = self.strides != 1 or input_shape[-1] != self.filters
        if self.projection is False and needs_projection:
            raise ValueError(
                f"{self.name}: identity shortcut impossible from {input_shape[-1]} channels "
                f"with strides {self.strides} to {self.filters} channels; use projection=None")
        use_projection = needs_projection if self.projection is None else self.projection
        self.conv1.build(input_shape)
        mid_shape = self.conv1.compute_output_shape(input_shape)
        self.bn1.build(mid_shape)
        self.conv2.build(mid_shape)
        self.bn2.build(mid_shape)
        if use_projection:
            self.shortcut_conv = keras.layers.Conv2D(
                self.filters, 1, strides=self.strides, padding="same", use_bias=False,
                kernel_initializer="he_normal", kernel_regularizer=_l2(self.l2), name="shortcut_conv")
            self.shortcut_bn = keras.layers.BatchNormalization(momentum=self.bn_momentum,
                                                                name="shortcut_bn")
            self.shortcut_conv.build(input_shape)
            self.shortcut_bn.build(mid_shape)
        super().build(input_shape)

    def call(self, inputs, training=None):
        x = keras.ops.relu(self.bn1(self.conv1(inputs), training=training))
        x = self.bn2(self.conv2(x), training=training)
        shortcut = inputs
        if self.shortcut_conv is not None:
            shortcut = self.shortcut_bn(self.shortcut_conv(inputs), training=training)
        return keras.ops.relu(x + shortcut)

    def compute_output_shape(self, input_shape):
        return self.conv1.compute_output_shape(input_shape)[:-1] + (self.filters,)

    def get_config(self):
        return {**super().get_config(), "filters": self.filters, "kernel_size": self.kernel_size,
                "strides": self.strides, "l2": self.l2, "projection": self.projection,
                "bn_momentum": self.bn_momentum}
