"""Pretrained presets shipped inside the package: a registered model plus verified weights.

A preset is a builder of the model registry with fixed arguments, the weights it was trained
to (float16, except the variables listed as float32), the :class:`ferkit.runs.Preprocessing`
its faces need, and a record of how it was made (training data, command, date, accuracy,
licence). Everything lives in ``ferkit/models/weights/``: one manifest, ``presets.json``, and
one ``<name>.weights.npz`` per preset. Loading needs no network and runs no stored code: the
architecture is rebuilt from the registry, the weights file (a NumPy archive read with
``allow_pickle=False``) must match the SHA-256 of its manifest entry, and each array is
assigned to the variable of the same path.

``load_preset("fer2013")`` -> ``(keras.Model, Preprocessing)``; ``list_presets()`` and
``presets_frame()`` say what ships; :func:`pack_preset` turns a trained model into a preset.
"""
from __future__ import annotations

import dataclasses
import datetime
import hashlib
import io
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping, Sequence

import numpy as np

from ferkit.errors import PresetError, PresetIntegrityError, RunFormatError
from ferkit.models.registry import build
from ferkit.runs import Preprocessing, read_json, write_json_atomic

if TYPE_CHECKING:
    import keras
    import pandas as pd

#: The folder of the shipped presets (package data).
WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"
MANIFEST = "presets.json"
MANIFEST_FORMAT = "ferkit-presets"
MANIFEST_VERSION = 1
WEIGHTS_SUFFIX = ".weights.npz"
#: The preset ``ferkit predict`` and :meth:`ferkit.inference.Predictor.from_preset` use.
DEFAULT_PRESET = "fer2013"
#: Variable-path suffixes that stay float32 by default: none, since float16 storage changed no
#: shipped preset's test accuracy (batch-norm statistics included; the manifests' ``parity``).
DEFAULT_FLOAT32: tuple[str, ...] = ()
LICENCE = ("weights: Apache-2.0, like ferkit; the training data ({data}) is a research "
           "dataset whose own terms of use apply to what you do with models trained on it")


@dataclasses.dataclass(frozen=True)
class PresetInfo:
    """One manifest entry: what a preset is, how it was made and how well it scores.

    ``accuracy`` maps a figure's name (``publictest_accuracy``, ...) to its value; ``parity``
    compares the stored weights' predictions with the float32 model they were packed from.
    """

    name: str
    builder: str
    builder_args: dict[str, Any]
    preprocessing: dict[str, Any]
    weights: str
    sha256: str
    parameters: int
    training_data: str
    accuracy: dict[str, float]
    command: str
    date: str
    licence: str
    description: str = ""
    float32_variables: tuple[str, ...] = ()
    parity: dict[str, Any] = dataclasses.field(default_factory=dict)

    @property
    def classes(self) -> tuple[str, ...]:
        return self.preprocessing_contract().classes

    @property
    def aus(self) -> tuple[int, ...]:
        return self.preprocessing_contract().aus

    def preprocessing_contract(self) -> Preprocessing:
        """The preset's :class:`~ferkit.runs.Preprocessing`."""
        try:
            return Preprocessing.from_json(self.preprocessing, f"preset {self.name!r}")
        except RunFormatError as err:
            raise PresetError(str(err)) from None

    def to_json(self) -> dict[str, Any]:
        record = dataclasses.asdict(self)
        record["float32_variables"] = list(self.float32_variables)
        return record

    @classmethod
    def from_json(cls, record: Mapping[str, Any], source: str) -> "PresetInfo":
        """Parse a manifest entry; a missing or unknown field is a :class:`PresetError`."""
        fields = {f.name for f in dataclasses.fields(cls)}
        required = {f.name for f in dataclasses.fields(cls)
                    if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING}
        missing, unknown = required - set(record), set(record) - fields
        if missing or unknown:
            raise PresetError(f"{source}: preset entry {record.get('name')!r} lacks "
                              f"{sorted(missing)} or has unknown fields {sorted(unknown)}")
        values = dict(record)
        values["float32_variables"] = tuple(values.get("float32_variables", ()))
        return cls(**values)


# ----------------------------------------------------------------------------- the manifest
def _folder(folder: str | Path | None) -> Path:
    return Path(WEIGHTS_DIR if folder is None else folder)


def _manifest_path(folder: str | Path | None) -> Path:
    return _folder(folder) / MANIFEST


def read_manifest(folder: str | Path | None = None) -> dict[str, PresetInfo]:
    """Preset name -> entry, from ``folder/presets.json`` (default: the shipped presets)."""
    path = _manifest_path(folder)
    if not path.is_file():
        return {}
    try:
        data = read_json(path)
    except RunFormatError as err:
        raise PresetError(str(err)) from None
    if not isinstance(data, dict) or data.get("format") != MANIFEST_FORMAT:
        raise PresetError(f"{path}: not a ferkit preset manifest (format {MANIFEST_FORMAT!r})")
    if data.get("version") != MANIFEST_VERSION:
        raise PresetError(f"{path}: manifest version {data.get('version')!r}; this ferkit "
                          f"reads version {MANIFEST_VERSION}")
    return {name: PresetInfo.from_json(entry, str(path))
            for name, entry in sorted(data.get("presets", {}).items())}


def write_manifest(entries: Mapping[str, PresetInfo], folder: str | Path) -> Path:
    """Write ``folder/presets.json`` (atomically) with ``entries``, sorted by name."""
    record = {"format": MANIFEST_FORMAT, "version": MANIFEST_VERSION,
              "presets": {name: entries[name].to_json() for name in sorted(entries)}}
    path = write_json_atomic(_manifest_path(folder), record)
    path.chmod(0o644)  # package data: readable by every user of an installed ferkit
    return path


def list_presets(folder: str | Path | None = None) -> list[PresetInfo]:
    """Every preset in ``folder`` (default: the shipped ones), sorted by name."""
    return list(read_manifest(folder).values())


def presets_frame(folder: str | Path | None = None) -> "pd.DataFrame":
    """One row per preset: name, classes, AUs, training data, parameters, accuracy, licence,
    command."""
    import pandas as pd

    rows = [{"name": p.name, "classes": len(p.classes), "aus": len(p.aus),
             "training_data": p.training_data, "parameters": p.parameters,
             **p.accuracy, "weights_mb": round(_size_mb(_folder(folder) / p.weights), 2),
             "licence": p.licence,
             "command": p.command} for p in list_presets(folder)]
    return pd.DataFrame(rows)


def preset_info(name: str, folder: str | Path | None = None) -> PresetInfo:
    """The manifest entry of ``name``; an unknown name lists the available presets."""
    entries = read_manifest(folder)
    if name not in entries:
        shipped = ", ".join(entries) or "none"
        raise PresetError(f"unknown preset {name!r}; available: {shipped} "
                          f"(manifest {_manifest_path(folder)})")
    return entries[name]


def _size_mb(path: Path) -> float:
    return path.stat().st_size / 1e6 if path.is_file() else float("nan")


# ----------------------------------------------------------------------------- loading
def file_sha256(path: str | Path) -> str:
    """The hex SHA-256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def verified_weights(info: PresetInfo, folder: str | Path | None = None) -> dict[str, np.ndarray]:
    """The preset's arrays by variable path, after checking the file's SHA-256."""
    path = _folder(folder) / info.weights
    if not path.is_file():
        raise PresetIntegrityError(f"{path}: weights file of preset {info.name!r} is missing "
                                   "(a broken install? reinstall ferkit)")
    actual = file_sha256(path)
    if actual != info.sha256:
        raise PresetIntegrityError(f"{path}: SHA-256 {actual} does not match {info.sha256} in "
                                   f"the manifest: the weights of preset {info.name!r} are "
                                   "damaged or were replaced (reinstall ferkit)")
    try:
        with np.load(path, allow_pickle=False) as archive:
            return {key: archive[key] for key in archive.files}
    except (OSError, ValueError) as err:
        raise PresetIntegrityError(f"{path}: not a readable weights archive ({err})") from None


def load_preset(name: str = DEFAULT_PRESET,
                folder: str | Path | None = None) -> tuple["keras.Model", Preprocessing]:
    """Rebuild preset ``name`` from the registry and set its verified weights.

    Returns the model (float32 variables, not compiled) and the preprocessing its faces need.
    ``folder`` holds the manifest and weights (default: the presets shipped with ferkit).
    """
    info = preset_info(name, folder)
    arrays = verified_weights(info, folder)
    model = build(info.builder, **info.builder_args)
    _assign(model, arrays, str(_folder(folder) / info.weights))
    return model, info.preprocessing_contract()


def _assign(model: "keras.Model", arrays: Mapping[str, np.ndarray], source: str) -> None:
    variables = {v.path: v for v in model.weights}
    missing, extra = sorted(set(variables) - set(arrays)), sorted(set(arrays) - set(variables))
    if missing or extra:
        raise PresetIntegrityError(f"{source}: weights do not fit the architecture: missing "
                                   f"{missing[:5]}, unexpected {extra[:5]}")
    for path, variable in variables.items():
        if tuple(variable.shape) != arrays[path].shape:
            raise PresetIntegrityError(f"{source}: {path} has shape {arrays[path].shape}, the "
                                       f"architecture's is {tuple(variable.shape)}")
        variable.assign(arrays[path].astype(variable.dtype))


# ----------------------------------------------------------------------------- packing
def compact_weights(model: "keras.Model",
                    keep_float32: Sequence[str] = DEFAULT_FLOAT32) -> dict[str, np.ndarray]:
    """The model's variables by path: float16, except paths ending with a ``keep_float32``
    suffix (e.g. ``"moving_variance"``), which stay float32."""
    out = {}
    for variable in model.weights:
        value = np.asarray(variable.numpy(), dtype=np.float32)
        keep = any(variable.path.endswith(suffix) for suffix in keep_float32)
        out[variable.path] = value if keep else value.astype(np.float16)
    return out


def _npz_bytes(arrays: Mapping[str, np.ndarray]) -> bytes:
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)
    return buffer.getvalue()


def pack_preset(model: "keras.Model", preprocessing: Preprocessing, name: str, builder: str,
                builder_args: Mapping[str, Any], folder: str | Path, *, training_data: str,
                accuracy: Mapping[str, float], command: str, description: str = "",
                keep_float32: Sequence[str] = DEFAULT_FLOAT32,
                parity: Mapping[str, Any] | None = None, date: str | None = None,
                licence: str | None = None) -> PresetInfo:
    """Write ``model``'s weights as preset ``name`` into ``folder`` and add its manifest entry.

    ``builder`` and ``builder_args`` must rebuild ``model``'s architecture from the registry
    (checked: the weights are assigned to a freshly built model before anything is written).
    Returns the new entry; an entry of the same name is replaced.
    """
    folder = Path(folder)
    arrays = compact_weights(model, keep_float32)
    _assign(build(builder, **builder_args), arrays, f"{builder}({dict(builder_args)})")
    weights = f"{name}{WEIGHTS_SUFFIX}"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / weights).write_bytes(_npz_bytes(arrays))
    info = PresetInfo(
        name=name, builder=builder, builder_args=_plain(builder_args),
        preprocessing=preprocessing.to_json(), weights=weights,
        sha256=file_sha256(folder / weights), parameters=int(model.count_params()),
        training_data=training_data, accuracy={k: float(v) for k, v in accuracy.items()},
        command=command, date=date or datetime.date.today().isoformat(),
        licence=licence or LICENCE.format(data=training_data), description=description,
        float32_variables=tuple(p for p, a in arrays.items() if a.dtype == np.float32),
        parity=_plain(parity or {}))
    write_manifest({**read_manifest(folder), name: info}, folder)
    return info


def _plain(value):
    """JSON-ready copy: tuples become lists, NumPy scalars Python numbers."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value


__all__ = [
    "PresetInfo", "DEFAULT_PRESET", "WEIGHTS_DIR", "MANIFEST", "list_presets", "presets_frame",
    "preset_info", "load_preset", "read_manifest", "write_manifest", "file_sha256",
    "verified_weights", "compact_weights", "pack_preset",
]
