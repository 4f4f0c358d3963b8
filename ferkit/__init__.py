"""ferkit: facial expression recognition in Keras 3 on TensorFlow.

``ferkit.Predictor.from_preset("fer2013").predict_image("photo.jpg")`` runs a shipped,
pretrained model on a photo with nothing to train or download. The pieces live in their
packages: ``ferkit.data`` (sources, splits, tf.data pipelines), ``ferkit.layers``,
``ferkit.models`` (``build(name)``, pretrained presets), ``ferkit.training`` (the fit path),
``ferkit.evaluation`` (tidy metric frames), ``ferkit.inference``, ``ferkit.workflows``
(train + score + write a run directory) and ``ferkit.cli``.

Importing ``ferkit`` loads no TensorFlow and changes no environment variable; ``Predictor``
is imported on first use.
"""
from __future__ import annotations

import importlib

__version__ = "0.1.0"

#: Names served lazily from their packages, so ``import ferkit`` stays light.
_LAZY = {"Predictor": "ferkit.inference"}

__all__ = ["__version__", "Predictor"]


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'ferkit' has no attribute {name!r}")
