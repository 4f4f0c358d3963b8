"""TFLite post-training quantisation: float16 weights, or full-integer int8.

``int8`` quantises every weight and activation to 8 bits (``TFLITE_BUILTINS_INT8`` only, so
conversion fails rather than leave a float kernel inside), calibrated on representative
images: the activations' ranges come from running them through the model. The model's
input and output stay **float32**: the file takes the same ``(n, H, W, C)`` batch in [0, 1]
and returns the same softmax as the float32 export, and converts at its edges (one quantise
op after the input, one dequantise op before each output). Users change no code; the cost
is two cheap ops per call.

``float16`` stores the weights as float16 (half the file); TFLite's CPU kernels widen them to
float32 when the model is loaded, so the arithmetic stays float32.
"""
from __future__ import annotations

from collections.abc import Iterator

import numpy as np

QUANTIZATIONS: tuple[str, ...] = ("none", "float16", "int8")
#: Calibration images below this many give the activation ranges of a handful of faces.
MIN_CALIBRATION_IMAGES = 1


def check_quantize(quantize: str) -> None:
    if quantize not in QUANTIZATIONS:
        raise ValueError(f"quantize must be one of {list(QUANTIZATIONS)}, got {quantize!r}")


def configure_converter(converter, quantize: str, calibration: np.ndarray | None,
                        where: str = "export") -> None:
    """Set ``converter`` (a ``tf.lite.TFLiteConverter``) up for ``quantize``."""
    import tensorflow as tf

    check_quantize(quantize)
    if quantize == "none":
        return
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    if quantize == "float16":
        converter.target_spec.supported_types = [tf.float16]
        return
    images = _checked_calibration(calibration, where)
    converter.representative_dataset = lambda: representative_batches(images)
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]


def representative_batches(images: np.ndarray) -> Iterator[list[np.ndarray]]:
    """One image at a time, as the converter's representative dataset wants it."""
    for image in images:
        yield [image[None].astype(np.float32)]


def _checked_calibration(calibration: np.ndarray | None, where: str) -> np.ndarray:
    if calibration is None:
        raise ValueError(f"{where}: int8 quantisation needs calibration images (training "
                         "images the activation ranges are measured on)")
    images = np.asarray(calibration)
    if images.ndim != 4 or len(images) < MIN_CALIBRATION_IMAGES:
        raise ValueError(f"{where}: calibration images must be a batch (n, H, W, C) with n >= "
                         f"{MIN_CALIBRATION_IMAGES}, got shape {images.shape}")
    if images.dtype != np.float32 or not np.isfinite(images).all():
        raise ValueError(f"{where}: calibration images must be finite float32 pixels "
                         f"(model-ready), got {images.dtype}")
    return images
