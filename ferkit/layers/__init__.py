"""Every ferkit Keras layer; each keeps its constructor arguments and round-trips via get_config.

Importing this package registers them all (``package="ferkit"``), which is all that loading a
saved ferkit model needs: ``import ferkit.layers`` then ``keras.models.load_model(path)``.
"""
from ferkit.layers.occlusion import REGIONS, HalfFaceMask, RandomHalfFaceMask
from ferkit.layers.pooling import AdaptiveAveragePool2D, adaptive_bins
from ferkit.layers.residual import ResidualBlock
from ferkit.layers.space_to_depth import SpaceToDepth

__all__ = ["REGIONS", "AdaptiveAveragePool2D", "HalfFaceMask", "RandomHalfFaceMask",
           "ResidualBlock", "SpaceToDepth", "adaptive_bins"]
