"""Load a saved ferkit model and check it against the preprocessing it travels with.

Inference and export both start from a run's ``model.keras``; they are siblings that may not
import each other, so the loading and the model-versus-preprocessing checks live here, one
layer below them. Loading needs only :mod:`ferkit.layers` (every custom layer is registered
there), not the model builders.
"""
from __future__ import annotations

import contextlib
import contextvars
import dataclasses
import warnings
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING, Sequence

import numpy as np

from ferkit.errors import ModelFileError, ModelNotFoundError, RunDirectoryError
from ferkit.runs import Preprocessing, RunDir

if TYPE_CHECKING:
    import keras


#: ``True`` inside :func:`unsafe_loading`: the default of ``safe_mode`` becomes False.
_UNSAFE_DEFAULT: contextvars.ContextVar[bool] = contextvars.ContextVar("ferkit_unsafe_loading",
                                                                         default=False)
_HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"


@contextlib.contextmanager
def unsafe_loading():
    """Within this block ferkit loads ``.keras`` files with ``safe_mode=False`` unless a call
    says otherwise: what the CLI's ``--unsafe-load`` does around a command."""
    token = _UNSAFE_DEFAULT.set(True)
    try:
        yield
    finally:
        _UNSAFE_DEFAULT.reset(token)


def load_model_file(path: str | Path, *, safe_mode: bool | None = None) -> "keras.Model":
    """Load a ``.keras`` file for inference (no optimizer), with ferkit's layers registered.

    ``safe_mode`` (default True, or False inside :func:`unsafe_loading`) is Keras' guard:
    a file that would run Python code when loaded (a ``Lambda`` layer's function) is refused
    with a :class:`ModelFileError`. Pass ``safe_mode=False`` only for a file you trust; it is
    loaded with a warning. Errors say which file and what is wrong with it.
    """
    import keras

    import ferkit.layers  # noqa: F401  (registers every custom layer)

    path = Path(path)
    safe = not _UNSAFE_DEFAULT.get() if safe_mode is None else bool(safe_mode)
    check_model_archive(path)
    if not safe:
        warnings.warn(f"loading {path} with safe_mode=False: the file can run Python code",
                      UserWarning, stacklevel=2)
    try:
        return keras.models.load_model(path, compile=False, safe_mode=safe)
    except Exception as err:  # Keras raises many types for a bad or foreign file
        raise ModelFileError(f"{path}: {_load_problem(err)}") from err


def check_model_archive(path: Path) -> None:
    """Raise a :class:`ModelFileError` (or :class:`ModelNotFoundError`) unless ``path`` is a
    file that looks like a Keras 3 ``.keras`` archive: a zip holding ``config.json``."""
    if not path.exists():
        raise ModelNotFoundError(f"model file {path} does not exist")
    if not path.is_file():
        raise ModelFileError(f"{path}: is a folder, not a Keras .keras archive (a SavedModel "
                             "folder cannot be loaded here)")
    if not zipfile.is_zipfile(path):
        raise ModelFileError(f"{path}: not a Keras .keras archive (a zip with config.json; "
                             f"got {_describe_file(path)})")
    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
    except (zipfile.BadZipFile, OSError) as err:
        raise ModelFileError(f"{path}: not a Keras .keras archive (a damaged zip: {err})") from None
    if "config.json" not in names:
        listed = ", ".join(sorted(names)[:5]) or "nothing"
        raise ModelFileError(f"{path}: not a Keras .keras archive (a zip with config.json; "
                             f"got a zip holding {listed})")


def _describe_file(path: Path) -> str:
    """What a file that is no zip seems to be, for the error message."""
    with open(path, "rb") as stream:
        head = stream.read(64)
    if not head:
        return "an empty file"
    if head.startswith(_HDF5_SIGNATURE):
        return "an HDF5 file: a legacy .h5 model or .weights.h5 file"
    if head.startswith(b"\x1f\x8b"):
        return "a gzip file"
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:
        return f"a binary file of {path.stat().st_size} bytes starting {head[:8]!r}"
    return f"a text file starting {text.splitlines()[0][:40]!r}" if text.strip() else "whitespace"


def _load_problem(err: Exception) -> str:
    """One line saying why Keras could not load a ``.keras`` archive."""
    text = " ".join(str(err).split())
    if "safe_mode" in text:
        return ("refused by Keras safe_mode: the model holds Python code that would run on "
                "loading (e.g. a Lambda layer's function); load it with safe_mode=False (CLI: "
                "--unsafe-load) only if you trust the file")
    if any(words in text for words in _UNKNOWN_LAYER_WORDS):
        return ("the model uses a layer or function Keras does not know (a custom layer whose "
                f"module is not imported, or a file from another library): {text[:300]}")
    return (f"cannot load the Keras archive (damaged, or written by another Keras version): "
            f"{type(err).__name__}: {text[:300]}")


#: Phrases of Keras' errors for a class it cannot find when deserializing.
_UNKNOWN_LAYER_WORDS = ("Could not locate", "Could not deserialize", "Unknown layer")


def load_run_model(run_dir: str | Path, *, safe_mode: bool | None = None) -> "keras.Model":
    """The ``model.keras`` of a run directory (see :func:`load_model_file` for
    ``safe_mode``); errors say what is missing.

    A run still training (no ``run.json`` yet) loads its last checkpoint; a finished run whose
    ``run.json`` is corrupt or of another ferkit's format is a :class:`RunFormatError`.
    """
    run = RunDir(run_dir)
    if not run.path.is_dir():
        raise RunDirectoryError(f"run directory {run.path} does not exist")
    if (run / RunDir.RUN).exists():
        run.read_run()  # a newer/older format or a damaged record stops here, named
    path = run / RunDir.MODEL
    if not path.is_file():
        raise RunDirectoryError(f"{run.path}: no {RunDir.MODEL} (not a trained ferkit run, or "
                                "training stopped before its first checkpoint)")
    return load_model_file(path, safe_mode=safe_mode)


def model_heads(model: "keras.Model", source: str = "model") -> dict[str, int]:
    """Output head name -> number of units; a single unnamed output counts as ``emotion``."""
    output = model.output
    if isinstance(output, dict):
        return {name: int(tensor.shape[-1]) for name, tensor in output.items()}
    if isinstance(output, (list, tuple)):
        raise ValueError(f"{source}: the model has {len(output)} unnamed outputs; ferkit "
                         "predicts with models whose outputs are a dict of named heads")
    return {"emotion": int(output.shape[-1])}


def check_model(model: "keras.Model", preprocessing: Preprocessing,
                source: str = "model") -> dict[str, int]:
    """Raise when the model's input or heads disagree with ``preprocessing``; return the heads."""
    shape = model.input_shape
    if isinstance(shape, (list, dict)):
        raise ValueError(f"{source}: the model has several inputs; ferkit predicts with "
                         "single-image models")
    actual, expected = tuple(shape[1:]), preprocessing.input_shape
    if len(actual) != 3 or any(a is not None and a != e for a, e in zip(actual, expected)):
        raise ValueError(f"{source}: the model takes images of shape {actual}, but its "
                         f"preprocessing makes {expected}; the preprocessing belongs to another model")
    heads = model_heads(model, source)
    if "emotion" not in heads:
        raise ValueError(f"{source}: the model has no 'emotion' output (outputs: {sorted(heads)})")
    _check_units(source, "emotion", heads["emotion"], "classes", preprocessing.classes)
    if "au" in heads:
        _check_units(source, "au", heads["au"], "action units", preprocessing.aus)
    return heads


def fitted_preprocessing(model: "keras.Model", preprocessing: Preprocessing,
                         source: str = "model") -> Preprocessing:
    """:func:`check_model`, then ``preprocessing`` without AUs when the model has no AU head."""
    heads = check_model(model, preprocessing, source)
    return preprocessing if "au" in heads else dataclasses.replace(preprocessing, aus=())


def _check_units(source: str, head: str, units: int, what: str, names: Sequence) -> None:
    if units != len(names):
        raise ValueError(f"{source}: the '{head}' head has {units} outputs but the run lists "
                         f"{len(names)} {what} {list(names)}; the checkpoint comes from another "
                         "run or architecture")


def head_outputs(outputs) -> dict[str, np.ndarray]:
    """Model outputs as ``{head: array}`` (a single array is the ``emotion`` head)."""
    if isinstance(outputs, dict):
        return {name: np.asarray(value) for name, value in outputs.items()}
    return {"emotion": np.asarray(outputs)}


__all__ = ["load_model_file", "load_run_model", "unsafe_loading", "check_model_archive",
           "model_heads", "check_model", "fitted_preprocessing", "head_outputs"]
