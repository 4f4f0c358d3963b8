"""ferkit: facial expression recognition in Keras 3 on TensorFlow.

Import the pieces by package: ``ferkit.data`` (sources, splits, tf.data pipelines),
``ferkit.layers``, ``ferkit.models`` (``build(name)``), ``ferkit.training`` (``fit`` into a
run directory) and ``ferkit.evaluation`` (tidy metric frames).
"""
import os as _os

# TensorFlow's C++ start-up chatter (CUDA probes, CPU feature notes) hides ferkit's own
# output; keep warnings and errors. Users who set the variable themselves win.
_os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

__version__ = "0.1.0"

__all__ = ["__version__"]
