"""TFLite files that ``ferkit export --format tflite`` writes: run them, and predict with them.

* :func:`tflite_interpreter`: LiteRT's interpreter when ``ai_edge_litert`` is installed, else
  TensorFlow's ``tf.lite`` one.
* :class:`TFLiteRunner`: a file's signature runner, batch in, ``{head: array}`` out, that
  names the file when a batch does not fit its input.
* :class:`TFLiteModel`: the same file behind the part of the Keras model API that
  :class:`ferkit.inference.Predictor` uses (``input_shape``, ``output``, ``predict_on_batch``),
  so an int8 or float16 export predicts on photos, folders and videos like the run's
  ``model.keras``.
"""
from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import NamedTuple

import numpy as np

from ferkit.errors import ExportMismatchError, ModelFileError, ModelNotFoundError
from ferkit.models.loading import head_outputs

#: What a file's lone unnamed output (``output_0``) is called: ferkit's emotion head.
LONE_HEAD = "emotion"


def tflite_interpreter(path: str | Path, threads: int | None = None):
    """A TFLite interpreter: LiteRT's (``ai_edge_litert``) when installed, else ``tf.lite``'s."""
    try:
        from ai_edge_litert.interpreter import Interpreter
    except ImportError:
        import tensorflow as tf

        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=r"\s*Warning: tf.lite.Interpreter is deprecated")
            return tf.lite.Interpreter(model_path=str(path), num_threads=threads)
    return Interpreter(model_path=str(path), num_threads=threads)


class TFLiteRunner:
    """A TFLite file's signature runner that checks each batch against the file's input.

    A file made from another model (another image size or channel count) is an
    :class:`~ferkit.errors.ExportMismatchError` naming the file and both shapes, not an
    interpreter crash.
    """

    def __init__(self, path: str | Path, threads: int | None = None):
        self.path = Path(path)
        self.runner = tflite_interpreter(self.path, threads).get_signature_runner()
        (self.input_name, details), = self.runner.get_input_details().items()
        self.input_shape = tuple(int(side) for side in details["shape"][1:])
        self.outputs = {name: tuple(int(side) for side in detail["shape"][1:])
                        for name, detail in self.runner.get_output_details().items()}

    def __call__(self, batch: np.ndarray) -> dict[str, np.ndarray]:
        if tuple(batch.shape[1:]) != self.input_shape:
            raise ExportMismatchError(
                f"{self.path}: the TFLite model takes images of shape {self.input_shape} "
                f"(H, W, C), but this run's images are {tuple(batch.shape[1:])}; the file was "
                "exported from another model")
        return head_outputs(self.runner(**{self.input_name: np.ascontiguousarray(batch)}))


class HeadShape(NamedTuple):
    """What :func:`ferkit.models.loading.model_heads` reads of an output: its ``shape``."""

    shape: tuple


class TFLiteModel:
    """A ``ferkit export`` TFLite file used where a Predictor expects a Keras model.

    Args:
        path: the ``.tflite`` file (float32, float16 or int8 weights; float input/output, as
            ``ferkit export`` writes them).
        threads: interpreter threads (default: every CPU core).

    A file that is not a TFLite model is a :class:`~ferkit.errors.ModelFileError` naming it.
    """

    def __init__(self, path: str | Path, threads: int | None = None):
        self.path = Path(path)
        if not self.path.is_file():
            raise ModelNotFoundError(f"TFLite model file {self.path} does not exist")
        self.threads = (os.cpu_count() or 1) if threads is None else int(threads)
        try:
            self.runner = TFLiteRunner(self.path, self.threads)
        except (ValueError, RuntimeError) as err:
            raise ModelFileError(f"{self.path}: not a TFLite model ferkit can run "
                                 f"({type(err).__name__}: {str(err).strip()[:200]})") from None
        names = list(self.runner.outputs)
        self._rename = {names[0]: LONE_HEAD} if len(names) == 1 else {}

    @property
    def input_shape(self) -> tuple:
        return (None, *self.runner.input_shape)

    @property
    def output(self) -> dict[str, HeadShape]:
        return {self._rename.get(name, name): HeadShape((None, *shape))
                for name, shape in self.runner.outputs.items()}

    def predict_on_batch(self, batch: np.ndarray) -> dict[str, np.ndarray]:
        """``{head: probabilities}`` of a float32 batch of model-ready images."""
        outputs = self.runner(np.asarray(batch, np.float32))
        return {self._rename.get(name, name): value for name, value in outputs.items()}


__all__ = ["tflite_interpreter", "TFLiteRunner", "TFLiteModel", "HeadShape", "LONE_HEAD"]
