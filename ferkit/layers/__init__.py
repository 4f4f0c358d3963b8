"""Reusable Keras layers; each keeps its constructor arguments and round-trips via get_config."""
from ferkit.layers.occlusion import REGIONS, HalfFaceMask, RandomHalfFaceMask
from ferkit.layers.residual import ResidualBlock
from ferkit.layers.space_to_depth import SpaceToDepth

__all__ = ["REGIONS", "HalfFaceMask", "RandomHalfFaceMask", "ResidualBlock", "SpaceToDepth"]
