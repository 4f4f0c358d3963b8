"""Run an export on a batch and compare it with the run's Keras model, output by output."""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Callable

import numpy as np

from ferkit.data.images import fit_image
from ferkit.errors import ExportMismatchError
from ferkit.export.writers import SAVED_MODEL_FILE, float32_run_model
from ferkit.models.loading import head_outputs, load_model_file
from ferkit.models.tflite import TFLiteRunner
from ferkit.runs import Preprocessing, RunDir, load_preprocessing

if TYPE_CHECKING:
    import keras

TOLERANCE = 1e-5
CHECK_IMAGES = 4


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
    model = float32_run_model(run_dir)
    batch = model_batch(images, load_preprocessing(run_dir), model.input_shape)
    reference = keras_outputs(model, batch)
    exported = run_export(exported_path, batch)
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
    exported = named_like(exported, reference)
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


def named_like(exported: dict[str, np.ndarray], reference: dict[str, np.ndarray]) -> dict:
    """A lone unnamed export output (``output_0``) takes the lone reference head's name."""
    if len(exported) == 1 and len(reference) == 1 and set(exported) != set(reference):
        return {next(iter(reference)): next(iter(exported.values()))}
    return exported


def _max_difference(head: str, expected: np.ndarray, actual: np.ndarray, where: str) -> float:
    if expected.shape != actual.shape:
        raise ExportMismatchError(f"{where}: head {head!r} has shape {actual.shape}, "
                                  f"expected {expected.shape}")
    return float(np.max(np.abs(actual.astype(np.float64) - expected.astype(np.float64))))


def keras_outputs(model: "keras.Model", batch: np.ndarray) -> dict[str, np.ndarray]:
    """One eager call: no ``tf.function`` tracing for a model that predicts once."""
    return head_outputs(model(batch, training=False))


def run_export(path: str | Path, batch: np.ndarray) -> dict[str, np.ndarray]:
    """The export at ``path`` (any format) run on ``batch``: head name -> outputs."""
    path = Path(path)
    return RUNNERS[exported_format(path)](path, batch)


def _run_keras(path: Path, batch: np.ndarray) -> dict[str, np.ndarray]:
    return keras_outputs(load_model_file(path), batch)


def _run_savedmodel(path: Path, batch: np.ndarray) -> dict[str, np.ndarray]:
    import tensorflow as tf

    loaded = tf.saved_model.load(str(path))
    if hasattr(loaded, "serve"):
        return head_outputs(loaded.serve(tf.constant(batch)))
    signature = loaded.signatures["serving_default"]
    (name,) = signature.structured_input_signature[1]
    return head_outputs(signature(**{name: tf.constant(batch)}))


def _run_tflite(path: Path, batch: np.ndarray) -> dict[str, np.ndarray]:
    return TFLiteRunner(path)(batch)


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
