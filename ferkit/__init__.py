"""ferkit: facial expression recognition in Keras 3 on TensorFlow.

Import the pieces by package: ``ferkit.data`` (sources, splits, tf.data pipelines),
``ferkit.layers``, ``ferkit.models`` (``build(name)``), ``ferkit.training`` (``fit`` into a
run directory) and ``ferkit.evaluation`` (tidy metric frames).
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
