"""Export a run's model as a Keras file, a TensorFlow SavedModel or a TFLite flatbuffer, and
check that the export predicts what the Keras model predicts.

Formats (default file names under ``RUN_DIR/export/``):

* ``keras`` -> ``model.keras``: the model without optimizer state (inference only); load
  with ``keras.models.load_model(path, compile=False)`` after ``import ferkit.layers``.
* ``savedmodel`` -> ``savedmodel/``: Keras 3 ``model.export`` (an ``ExportArchive``). Call
  ``tf.saved_model.load(path).serve(images)``, or the ``serving_default`` signature.
* ``tflite`` -> ``model.tflite``: ``tf.lite.TFLiteConverter.from_saved_model`` on that
  SavedModel, float32, no quantisation. Use the ``serving_default`` signature runner.

Every format keeps the head names: given a float32 batch ``(n, H, W, C)`` in [0, 1] (input
``image``), it returns a dict ``{"emotion": (n, classes) softmax, "au": (n, action units)
sigmoid}`` (``au`` only for multi-task models). With TFLite, read outputs by name through
``interpreter.get_signature_runner()``; the raw output tensor order is not the head order.
``preprocessing.json`` (:class:`ferkit.runs.Preprocessing`) is written next to the artefact
(inside the SavedModel folder) and names the classes and action units.

:func:`check_export` compares an export with the run's Keras model on the same images.
The tolerance is 1e-5 absolute on every output: all formats compute in float32, so they
differ only by operation order and kernel choice (about 1e-7 on probabilities here). A model
trained with ``train.mixed_precision`` is exported (and checked) as its float32 copy
(:func:`ferkit.training.precision.as_float32`): same weights, float32 arithmetic, so the
artefact runs fast on CPUs without bfloat16 units and TFLite gets float32 kernels.
"""
from __future__ import annotations

import shutil
import tempfile
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Literal

import numpy as np

from ferkit.data.images import fit_image
from ferkit.errors import ExportMismatchError
from ferkit.models.loading import (fitted_preprocessing, head_outputs, load_model_file,
                                   load_run_model)
from ferkit.runs import Preprocessing, RunDir, load_preprocessing

if TYPE_CHECKING:
    import keras

ExportFormat = Literal["keras", "savedmodel", "tflite"]
FORMATS: tuple[str, ...] = ("keras", "savedmodel", "tflite")
DEFAULT_NAMES = {"keras": RunDir.MODEL, "savedmodel": "savedmodel", "tflite": "model.tflite"}
#: The folder of a run directory that exports go to by default.
EXPORT_DIR = "export"
SAVED_MODEL_FILE = "saved_model.pb"
TOLERANCE = 1e-5
CHECK_IMAGES = 4


def _check_format(format: str) -> None:
    if format not in FORMATS:
        raise ValueError(f"export format must be one of {list(FORMATS)}, got {format!r}")


# ----------------------------------------------------------------------------- writing
def export_model(run_dir: str | Path, format: ExportFormat = "keras",
                 out: str | Path | None = None) -> Path:
    """Write the run's model in ``format`` to ``out`` (default ``RUN_DIR/export/<name>``).

    ``preprocessing.json`` goes into the folder holding the artefact (into the SavedModel
    folder itself), so keep one run per export folder. Returns the artefact's path.
    """
    _check_format(format)
    run_dir = Path(run_dir)
    model = _float32_run_model(run_dir)
    preprocessing = fitted_preprocessing(model, load_preprocessing(run_dir),
                                         str(run_dir / RunDir.MODEL))
    out = Path(out) if out is not None else run_dir / EXPORT_DIR / DEFAULT_NAMES[format]
    WRITERS[format](model, out)
    preprocessing.save(preprocessing_folder(out, format))
    return out


def preprocessing_folder(artefact: str | Path, format: ExportFormat) -> Path:
    """Where an export's ``preprocessing.json`` lies: inside a SavedModel, beside a file."""
    artefact = Path(artefact)
    return artefact if format == "savedmodel" else artefact.parent


def _float32_run_model(run_dir: Path) -> "keras.Model":
    from ferkit.training.precision import as_float32

    return as_float32(load_run_model(run_dir))


def _write_keras(model: "keras.Model", out: Path) -> None:
    if out.suffix != ".keras":
        raise ValueError(f"{out}: a Keras export needs a file name ending in .keras")
    out.parent.mkdir(parents=True, exist_ok=True)
    model.save(out)


def _write_savedmodel(model: "keras.Model", out: Path) -> None:
    _clear_saved_model_folder(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    model.export(str(out), format="tf_saved_model", verbose=False)


def _clear_saved_model_folder(out: Path) -> None:
    """Remove an earlier SavedModel at ``out``; refuse to overwrite anything else."""
    if not out.exists():
        return
    if out.is_dir() and (out / SAVED_MODEL_FILE).is_file():
        shutil.rmtree(out)
    elif not out.is_dir() or any(out.iterdir()):
        raise FileExistsError(f"{out} exists and is not a SavedModel folder; choose another "
                              "output path")


def _write_tflite(model: "keras.Model", out: Path) -> None:
    import tensorflow as tf

    with tempfile.TemporaryDirectory() as tmp:
        saved = Path(tmp) / "savedmodel"
        model.export(str(saved), format="tf_saved_model", verbose=False)
        flatbuffer = tf.lite.TFLiteConverter.from_saved_model(str(saved)).convert()
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(flatbuffer)


WRITERS: dict[str, Callable[["keras.Model", Path], None]] = {
    "keras": _write_keras, "savedmodel": _write_savedmodel, "tflite": _write_tflite}


# ----------------------------------------------------------------------------- checking
def exported_format(path: str | Path) -> str:
    """``keras``, ``savedmodel`` or ``tflite``, from the artefact at ``path``."""
    path = Path(path)
    if path.is_dir() and (path / SAVED_MODEL_FILE).is_file():
        return "savedmodel"
    if path.is_file() and path.suffix in (".keras", ".tflite"):
        return path.suffix[1:]
    if not path.exists():
        raise FileNotFoundError(f"exported model {path} does not exist")
    raise ValueError(f"{path}: not a .keras file, a .tflite file or a SavedModel folder "
                     f"(with {SAVED_MODEL_FILE})")


def check_export(run_dir: str | Path, exported_path: str | Path, images: np.ndarray,
                 tolerance: float = TOLERANCE) -> float:
    """Largest absolute difference between the export's and the Keras model's outputs.

    ``images`` is a model-ready float32 batch ``(n, H, W, C)`` in [0, 1] (uint8 pixels are
    scaled with the run's preprocessing). Raises :class:`ExportMismatchError` with the
    per-head numbers when a head is missing or differs by more than ``tolerance``.
    """
    run_dir, exported_path = Path(run_dir), Path(exported_path)
    model = _float32_run_model(run_dir)
    batch = model_batch(images, load_preprocessing(run_dir), model.input_shape)
    reference = _keras_outputs(model, batch)
    exported = RUNNERS[exported_format(exported_path)](exported_path, batch)
    where = f"{exported_path} against {run_dir / RunDir.MODEL}"
    return compare_outputs(reference, exported, tolerance, where)


def model_batch(images: np.ndarray, preprocessing: Preprocessing, input_shape) -> np.ndarray:
    """``images`` as a float32 model batch, checked against the model's input shape."""
    images = np.asarray(images)
    if images.dtype == np.uint8:
        images = images.astype(np.float32) / np.float32(preprocessing.pixel_divisor)
    expected = tuple(input_shape[1:])
    if images.ndim != 4 or any(e is not None and e != a for e, a in zip(expected, images.shape[1:])):
        raise ValueError(f"check images have shape {images.shape}; the model takes "
                         f"(n, {', '.join(str(e) for e in expected)})")
    return images.astype(np.float32)


def compare_outputs(reference: dict[str, np.ndarray], exported: dict[str, np.ndarray],
                    tolerance: float, where: str) -> float:
    """Max absolute difference over all heads; raises when it exceeds ``tolerance``."""
    exported = _named_like(exported, reference)
    missing = sorted(set(reference) - set(exported))
    if missing:
        raise ExportMismatchError(f"{where}: the export lacks head(s) {missing} "
                                  f"(it returns {sorted(exported)})")
    differences = {head: _max_difference(head, reference[head], exported[head], where)
                   for head in reference}
    worst = max(differences.values())
    if not worst <= tolerance:
        detail = ", ".join(f"{head} {value:.3g}" for head, value in differences.items())
        raise ExportMismatchError(f"{where}: outputs differ by up to {worst:.3g} > tolerance "
                                  f"{tolerance:g} on {len(next(iter(reference.values())))} "
                                  f"images ({detail})")
    return worst


def _named_like(exported: dict[str, np.ndarray], reference: dict[str, np.ndarray]) -> dict:
    """A lone unnamed export output (``output_0``) takes the lone reference head's name."""
    if len(exported) == 1 and len(reference) == 1 and set(exported) != set(reference):
        return {next(iter(reference)): next(iter(exported.values()))}
    return exported


def _max_difference(head: str, expected: np.ndarray, actual: np.ndarray, where: str) -> float:
    if expected.shape != actual.shape:
        raise ExportMismatchError(f"{where}: head {head!r} has shape {actual.shape}, "
                                  f"expected {expected.shape}")
    return float(np.max(np.abs(actual.astype(np.float64) - expected.astype(np.float64))))


def _keras_outputs(model: "keras.Model", batch: np.ndarray) -> dict[str, np.ndarray]:
    """One eager call: no ``tf.function`` tracing for a model that predicts once."""
    return head_outputs(model(batch, training=False))


def _run_keras(path: Path, batch: np.ndarray) -> dict[str, np.ndarray]:
    return _keras_outputs(load_model_file(path), batch)


def _run_savedmodel(path: Path, batch: np.ndarray) -> dict[str, np.ndarray]:
    import tensorflow as tf

    loaded = tf.saved_model.load(str(path))
    if hasattr(loaded, "serve"):
        return head_outputs(loaded.serve(tf.constant(batch)))
    signature = loaded.signatures["serving_default"]
    (name,) = signature.structured_input_signature[1]
    return head_outputs(signature(**{name: tf.constant(batch)}))


def _run_tflite(path: Path, batch: np.ndarray) -> dict[str, np.ndarray]:
    runner = tflite_interpreter(path).get_signature_runner()
    (name,) = runner.get_input_details()
    return head_outputs(runner(**{name: batch}))


def tflite_interpreter(path: str | Path):
    """A TFLite interpreter: LiteRT's (``ai_edge_litert``) when installed, else ``tf.lite``'s."""
    try:
        from ai_edge_litert.interpreter import Interpreter
    except ImportError:
        import tensorflow as tf

        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=r"\s*Warning: tf.lite.Interpreter is deprecated")
            return tf.lite.Interpreter(model_path=str(path))
    return Interpreter(model_path=str(path))


RUNNERS: dict[str, Callable[[Path, np.ndarray], dict[str, np.ndarray]]] = {
    "keras": _run_keras, "savedmodel": _run_savedmodel, "tflite": _run_tflite}


def synthetic_check_images(preprocessing: Preprocessing, count: int = CHECK_IMAGES) -> np.ndarray:
    """``count`` synthetic faces (one per emotion prototype) as a model-ready float32 batch."""
    from ferkit.data.synthetic import EMOTION_PROTOTYPES, render_face

    emotions = list(EMOTION_PROTOTYPES)
    side = max(8, *preprocessing.image_size)
    faces = []
    for index in range(count):
        aus = {au: 1.0 for au in EMOTION_PROTOTYPES[emotions[index % len(emotions)]]}
        face = render_face(aus, size=side, seed=index)
        faces.append(fit_image(face, preprocessing.image_size, preprocessing.channels))
    return np.stack(faces).astype(np.float32) / np.float32(preprocessing.pixel_divisor)
