"""Write a run's model as a Keras file, a SavedModel or a TFLite flatbuffer (float32, float16
weights or full-integer int8)."""
from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Literal

import numpy as np

from ferkit.export.quantize import QUANTIZATIONS, check_quantize, configure_converter
from ferkit.models.loading import fitted_preprocessing, load_run_model
from ferkit.runs import RunDir, load_preprocessing

if TYPE_CHECKING:
    import keras

ExportFormat = Literal["keras", "savedmodel", "tflite"]
FORMATS: tuple[str, ...] = ("keras", "savedmodel", "tflite")
DEFAULT_NAMES = {"keras": RunDir.MODEL, "savedmodel": "savedmodel", "tflite": "model.tflite"}
#: The folder of a run directory that exports go to by default.
EXPORT_DIR = "export"
SAVED_MODEL_FILE = "saved_model.pb"


def check_format(format: str, quantize: str = "none") -> None:
    """A ValueError unless ``format`` is known and ``quantize`` fits it (TFLite only)."""
    if format not in FORMATS:
        raise ValueError(f"export format must be one of {list(FORMATS)}, got {format!r}")
    check_quantize(quantize)
    if quantize != "none" and format != "tflite":
        raise ValueError(f"quantize {quantize!r} applies to the tflite format only, not "
                         f"{format!r}; use --format tflite or --quantize none")


def default_name(format: ExportFormat, quantize: str = "none") -> str:
    """``model.keras``, ``savedmodel``, ``model.tflite``, ``model_int8.tflite``, ..."""
    if quantize == "none":
        return DEFAULT_NAMES[format]
    return f"model_{quantize}.tflite"


def export_model(run_dir: str | Path, format: ExportFormat = "keras",
                 out: str | Path | None = None, *, quantize: str = "none",
                 data: str | Path | None = None, calibration_images: int = 300) -> Path:
    """Write the run's model in ``format`` to ``out`` (default ``RUN_DIR/export/<name>``).

    ``quantize`` (TFLite only): ``none`` (float32), ``float16`` (float16 weights) or ``int8``
    (full-integer, calibrated on ``calibration_images`` of the run's *training* rows, read
    with the run's data settings from ``data`` or its config's ``data.path``).
    ``preprocessing.json`` goes into the folder holding the artefact (into the SavedModel
    folder itself), so keep one run per export folder. Returns the artefact's path.
    """
    check_format(format, quantize)
    run_dir = Path(run_dir)
    model = float32_run_model(run_dir)
    preprocessing = fitted_preprocessing(model, load_preprocessing(run_dir),
                                         str(run_dir / RunDir.MODEL))
    calibration = None
    if quantize == "int8":
        from ferkit.export.run_data import calibration_batch

        calibration = calibration_batch(run_dir, data, count=calibration_images)
    out = artefact_path(run_dir, format, quantize, out)
    if format == "tflite":
        write_tflite(model, out, quantize=quantize, calibration=calibration)
    else:
        WRITERS[format](model, out)
    preprocessing.save(preprocessing_folder(out, format))
    return out


#: The file suffix each single-file format's artefact must have.
SUFFIXES = {"keras": ".keras", "tflite": ".tflite"}


def artefact_path(run_dir: Path, format: ExportFormat, quantize: str,
                  out: str | Path | None) -> Path:
    """Where the artefact goes: ``out`` itself when it names a file of the format (``.keras``,
    ``.tflite``), else the default file name inside the folder ``out`` (default
    ``RUN_DIR/export``), so ``--out exports/`` and ``--out exports`` both mean a folder."""
    if out is None:
        return run_dir / EXPORT_DIR / default_name(format, quantize)
    out = Path(out)
    suffix = SUFFIXES.get(format)
    if suffix is None or out.suffix == suffix:
        return out
    if out.is_file():
        raise ValueError(f"--out {out}: an existing file without the {suffix} suffix; give a "
                         f"{suffix} file name or a folder")
    return out / default_name(format, quantize)


def preprocessing_folder(artefact: str | Path, format: ExportFormat) -> Path:
    """Where an export's ``preprocessing.json`` lies: inside a SavedModel, beside a file."""
    artefact = Path(artefact)
    return artefact if format == "savedmodel" else artefact.parent


def float32_run_model(run_dir: Path) -> "keras.Model":
    """The run's model in float32 arithmetic (a mixed-precision run's float32 copy)."""
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


def write_tflite(model: "keras.Model", out: str | Path, *, quantize: str = "none",
                 calibration: np.ndarray | None = None) -> Path:
    """Convert ``model`` (through a temporary SavedModel) to a TFLite file at ``out``.

    ``calibration``: model-ready float32 images ``(n, H, W, C)``, required for ``int8``.
    """
    import tensorflow as tf

    check_quantize(quantize)
    out = Path(out)
    with tempfile.TemporaryDirectory() as tmp:
        saved = Path(tmp) / "savedmodel"
        model.export(str(saved), format="tf_saved_model", verbose=False)
        converter = tf.lite.TFLiteConverter.from_saved_model(str(saved))
        configure_converter(converter, quantize, calibration, where=str(out))
        flatbuffer = converter.convert()
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(flatbuffer)
    return out


def _write_tflite(model: "keras.Model", out: Path) -> None:
    write_tflite(model, out)


#: Format -> ``writer(model, out)`` (float32; ``write_tflite`` takes the quantisation).
WRITERS: dict[str, Callable[["keras.Model", Path], None]] = {
    "keras": _write_keras, "savedmodel": _write_savedmodel, "tflite": _write_tflite}

__all__ = ["DEFAULT_NAMES", "EXPORT_DIR", "ExportFormat", "FORMATS", "QUANTIZATIONS",
           "SAVED_MODEL_FILE", "WRITERS", "check_format", "default_name", "export_model",
           "float32_run_model", "preprocessing_folder", "write_tflite"]
