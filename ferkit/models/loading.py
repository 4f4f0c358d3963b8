"""Load a saved ferkit model and check it against the preprocessing it travels with.

Inference and export both start from a run's ``model.keras``; they are siblings that may not
import each other, so the loading and the model-versus-preprocessing checks live here, one
layer below them. Loading needs only :mod:`ferkit.layers` (every custom layer is registered
there), not the model builders.
"""
from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import TYPE_CHECKING, Sequence

import numpy as np

from ferkit.errors import RunDirectoryError
from ferkit.runs import Preprocessing, RunDir

if TYPE_CHECKING:
    import keras


def load_model_file(path: str | Path) -> "keras.Model":
    """Load a ``.keras`` file for inference (no optimizer), with ferkit's layers registered."""
    import keras

    import ferkit.layers  # noqa: F401  (registers every custom layer)

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"model file {path} does not exist")
    try:
        return keras.models.load_model(path, compile=False)
    except Exception as err:  # Keras raises many types for a bad or foreign file
        raise ValueError(f"cannot load Keras model {path}: {type(err).__name__}: {err} (a damaged "
                         "file, or a custom layer whose module is not imported)") from err


def load_run_model(run_dir: str | Path) -> "keras.Model":
    """The ``model.keras`` of a run directory; errors say what is missing."""
    run = RunDir(run_dir)
    if not run.path.is_dir():
        raise RunDirectoryError(f"run directory {run.path} does not exist")
    path = run / RunDir.MODEL
    if not path.is_file():
        raise RunDirectoryError(f"{run.path}: no {RunDir.MODEL} (not a trained ferkit run, or "
                                "training stopped before its first checkpoint)")
    return load_model_file(path)


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


__all__ = ["load_model_file", "load_run_model", "model_heads", "check_model",
           "fitted_preprocessing", "head_outputs"]
