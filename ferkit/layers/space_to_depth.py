"""SpaceToDepth: lossless downsampling that folds pixel blocks into channels."""
from __future__ import annotations

import keras
import tensorflow as tf


@keras.saving.register_keras_serializable(package="ferkit")
class SpaceToDepth(keras.layers.Layer):
    """Fold each ``block x block`` patch of pixels into channels (lossless downsampling)."""

    def __init__(self, block: int = 2, **kwargs):
        super().__init__(**kwargs)
        if block < 1:
            raise ValueError(f"SpaceToDepth block must be >= 1, got {block}")
        self.block = block

    def call(self, inputs):
        return tf.nn.space_to_depth(inputs, self.block)

    def compute_output_shape(self, input_shape):
        batch, height, width, channels = input_shape
        fold = lambda size: None if size is None else size // self.block  # noqa: E731
        return batch, fold(height), fold(width), channels * self.block ** 2

    def get_config(self):
        return {**super().get_config(), "block": self.block}
