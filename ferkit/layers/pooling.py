"""``AdaptiveAveragePool2D``: PyTorch's adaptive average pooling for a fixed-size image."""
from __future__ import annotations

import keras
import numpy as np


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

    ``nn.AdaptiveAvgPool2d(size)`` (seed 002 pools to 20x20); Keras only gained an adaptive
    pooling layer in recent releases. Channels-last, and the height and width must be known.
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
