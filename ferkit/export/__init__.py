"""Export a run's model as a Keras file, a TensorFlow SavedModel or a TFLite flatbuffer, and
check that the export predicts what the Keras model predicts.

Formats (default file names under ``RUN_DIR/export/``):

* ``keras`` -> ``model.keras``: the model without optimizer state (inference only); load
  with ``keras.models.load_model(path, compile=False)`` after ``import ferkit.layers``.
* ``savedmodel`` -> ``savedmodel/``: Keras 3 ``model.export`` (an ``ExportArchive``). Call
  ``tf.saved_model.load(path).serve(images)``, or the ``serving_default`` signature.
* ``tflite`` -> ``model.tflite``: ``tf.lite.TFLiteConverter.from_saved_model`` on that
  SavedModel. ``quantize="float16"`` (``model_float16.tflite``) stores float16 weights;
  ``quantize="int8"`` (``model_int8.tflite``) is full-integer post-training quantisation
  calibrated on the run's training images, with float32 input and output
  (:mod:`ferkit.export.quantize`). Use the ``serving_default`` signature runner.

Every format keeps the head names: given a float32 batch ``(n, H, W, C)`` in [0, 1] (input
``image``), it returns a dict ``{"emotion": (n, classes) softmax, "au": (n, action units)
sigmoid}`` (``au`` only for multi-task models). With TFLite, read outputs by name through
``interpreter.get_signature_runner()``; the raw output tensor order is not the head order.
``preprocessing.json`` (:class:`ferkit.runs.Preprocessing`) is written next to the artefact
(inside the SavedModel folder) and names the classes and action units.

Two checks compare an export with the run's Keras model:

* :func:`check_export`, on a few images, output by output: the tolerance is 1e-5 absolute,
  for float32 exports (they differ only by operation order and kernel choice, about 1e-7 on
  probabilities).
* :func:`check_parity`, on the run's evaluation split: accuracy of both, the drop in points
  (at most ``MAX_DROP_POINTS`` = 0.5), label agreement, the largest probability difference;
  written to ``export_report.json`` / ``export_report.md`` beside the artefact. This is the
  check that quantised files (which differ by ~1e-2 per probability) must pass.

A model trained with ``train.mixed_precision`` is exported (and checked) as its float32 copy
(:func:`ferkit.training.precision.as_float32`): same weights, float32 arithmetic, so the
artefact runs fast on CPUs without bfloat16 units and TFLite gets float32 kernels.
"""
from __future__ import annotations

from ferkit.errors import ExportMismatchError
from ferkit.models.tflite import TFLiteModel, TFLiteRunner, tflite_interpreter
from ferkit.export.checking import (
    CHECK_IMAGES, RUNNERS, TOLERANCE, check_export, compare_outputs, exported_format,
    model_batch, run_export, synthetic_check_images,
)
from ferkit.export.parity import (
    MAX_DROP_POINTS, REPORT_JSON, REPORT_MARKDOWN, ParityReport, artefact_size, check_parity,
    enforce_max_drop, parity_figures, write_report,
)
from ferkit.export.quantize import QUANTIZATIONS
from ferkit.export.run_data import (
    DEFAULT_CALIBRATION_IMAGES, calibration_batch, evaluation_images, run_data_path,
)
from ferkit.export.writers import (
    DEFAULT_NAMES, EXPORT_DIR, FORMATS, SAVED_MODEL_FILE, WRITERS, ExportFormat, check_format,
    default_name, export_model, preprocessing_folder, write_tflite,
)

__all__ = [
    "CHECK_IMAGES", "DEFAULT_CALIBRATION_IMAGES", "DEFAULT_NAMES", "EXPORT_DIR", "ExportFormat",
    "ExportMismatchError", "FORMATS", "MAX_DROP_POINTS", "ParityReport", "QUANTIZATIONS",
    "REPORT_JSON", "REPORT_MARKDOWN", "RUNNERS", "SAVED_MODEL_FILE", "TFLiteModel", "TFLiteRunner", "TOLERANCE",
    "WRITERS", "artefact_size", "calibration_batch", "check_export", "check_format",
    "check_parity", "compare_outputs", "default_name", "enforce_max_drop", "evaluation_images", "export_model",
    "exported_format", "model_batch", "parity_figures", "preprocessing_folder", "run_data_path",
    "run_export", "synthetic_check_images", "tflite_interpreter", "write_report", "write_tflite",
]
