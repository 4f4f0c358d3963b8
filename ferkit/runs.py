"""Run directories: the file names, the commit marker and the preprocessing contract.

A run directory is what a user keeps and shares. Every file ferkit writes in one is named
here, so no other module spells a file name. ``run.json`` is written **last and atomically**:
it is the commit marker. A folder without a valid ``run.json`` is unfinished, whatever else it
holds, and every workflow (train, grid, k-fold, occlusion, search) asks :meth:`RunDir.is_complete`
before it reuses a run. ``preprocessing.json`` says how a face must be prepared for the model
(size, channels, pixel scale, crop margin) and what its outputs mean.

This module is pure Python (json, yaml), so the CLI and the config layer can use it without
loading TensorFlow.
"""
from __future__ import annotations

import dataclasses
import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any, Sequence

from ferkit.errors import RunDirectoryError, RunFormatError

RUN_FORMAT = "ferkit-run"
#: Bumped when a run directory's layout changes in a way older readers cannot follow.
RUN_FORMAT_VERSION = 1

PREPROCESSING_FORMAT = "ferkit-preprocessing"
PREPROCESSING_VERSION = 1
PIXEL_DIVISOR = 255.0
DEFAULT_MARGIN = 0.2
FACE_DETECTOR = "opencv-haar-frontalface-default"


# ----------------------------------------------------------------------------- atomic writes
def write_text_atomic(path: str | Path, text: str) -> Path:
    """Write ``text`` to ``path`` through a temporary file in the same folder and a rename.

    A process killed at any moment leaves either the old file or the new one, never half of
    one. The temporary file is flushed to disk before the rename.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(text)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return path


def write_json_atomic(path: str | Path, data: Any) -> Path:
    """:func:`write_text_atomic` of ``data`` as indented JSON."""
    return write_text_atomic(path, json.dumps(data, indent=1) + "\n")


def read_json(path: str | Path) -> Any:
    """A JSON file's content; a missing, unreadable or malformed file is a named error."""
    path = Path(path)
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise RunDirectoryError(f"{path} does not exist") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise RunFormatError(f"{path}: not valid JSON ({err})") from None


# ----------------------------------------------------------------------------- run directory
class RunDir:
    """One run directory: its file names, its state and its commit marker.

    ``RunDir(path) / RunDir.MODEL`` is the path of a file in it. Start (or restart) work with
    :meth:`begin`, which withdraws an old commit marker, and end it with :meth:`commit`.
    """

    CONFIG = "config.yaml"
    RUN = "run.json"
    MODEL = "model.keras"
    PREPROCESSING = "preprocessing.json"
    HISTORY = "history.json"
    TRAINING_LOG = "training_log.csv"
    SPLITS = "splits.csv"
    METRICS = "metrics.json"
    PREDICTIONS = "predictions.csv"
    EVALUATION = "evaluation.json"
    BUDGET = "budget.json"
    SKIPPED = "skipped_images.csv"
    BACKUP = "backup"
    PLOTS = "plots"

    def __init__(self, path: str | Path):
        self.path = Path(path)

    def __truediv__(self, name: str) -> Path:
        return self.path / name

    def __fspath__(self) -> str:
        return str(self.path)

    def __repr__(self) -> str:
        return f"RunDir({str(self.path)!r})"

    def __eq__(self, other) -> bool:
        return isinstance(other, RunDir) and self.path == other.path

    def __hash__(self) -> int:
        return hash(self.path)

    def create(self) -> "RunDir":
        """Make the folder (and its parents); return ``self``."""
        self.path.mkdir(parents=True, exist_ok=True)
        return self

    def begin(self) -> "RunDir":
        """Create the folder and withdraw any commit marker: the run is unfinished from now on.

        Call this before (re)writing results into an existing run directory, so a run killed
        halfway is never taken for the finished one it replaces.
        """
        self.create()
        (self.path / self.RUN).unlink(missing_ok=True)
        return self

    def commit(self, info: dict[str, Any] | None = None) -> Path:
        """Write ``run.json`` (``info`` plus the format stamp) atomically; call it last."""
        record = {"format": RUN_FORMAT, "version": RUN_FORMAT_VERSION,
                  "finished": time.strftime("%Y-%m-%d %H:%M:%S"), **(info or {})}
        return write_json_atomic(self.path / self.RUN, record)

    def is_complete(self) -> bool:
        """True when ``run.json`` exists, parses, and is of a format this ferkit reads."""
        try:
            self.read_run()
        except (RunDirectoryError, RunFormatError):
            return False
        return True

    def read_run(self) -> dict[str, Any]:
        """``run.json`` as a dict; a missing, corrupt or newer-format file is a named error."""
        path = self.path / self.RUN
        if not path.is_file():
            raise RunDirectoryError(f"{self.path}: no {self.RUN}, so this is not a finished "
                                    "ferkit run (still running, killed, or not a run directory)")
        record = read_json(path)
        if not isinstance(record, dict):
            raise RunFormatError(f"{path}: expected a JSON object, got {type(record).__name__}")
        version = record.get("version", RUN_FORMAT_VERSION)
        if record.get("format", RUN_FORMAT) != RUN_FORMAT or not isinstance(version, int):
            raise RunFormatError(f"{path}: not a ferkit run record")
        if version > RUN_FORMAT_VERSION:
            raise RunFormatError(f"{path}: written by a newer ferkit (run format {version}; "
                                    f"this one reads up to {RUN_FORMAT_VERSION}): upgrade ferkit")
        return record

    def update_run(self, **fields) -> Path:
        """Add or replace fields of a committed ``run.json`` (atomically)."""
        record = self.read_run()
        record.update(fields)
        return write_json_atomic(self.path / self.RUN, record)

    def require_complete(self) -> "RunDir":
        """``self``, or :class:`RunDirectoryError` naming the folder when it is not finished."""
        if not self.path.is_dir():
            raise RunDirectoryError(f"run directory {self.path} does not exist")
        self.read_run()
        return self


# ----------------------------------------------------------------------------- preprocessing
@dataclasses.dataclass(frozen=True)
class Preprocessing:
    """What a model expects as input and what its outputs mean (``preprocessing.json``).

    A face is cropped from its detector box grown by ``margin`` on each side, converted to
    ``channels`` (1 grey, 3 RGB), resized to ``image_size`` by :func:`ferkit.data.images.fit_image`
    and divided by ``pixel_divisor``.
    """

    image_size: tuple[int, int]
    channels: int
    classes: tuple[str, ...]
    aus: tuple[int, ...] = ()
    margin: float = DEFAULT_MARGIN
    pixel_divisor: float = PIXEL_DIVISOR

    def __post_init__(self):
        size = tuple(int(v) for v in self.image_size)
        if len(size) != 2 or min(size) < 1:
            raise ValueError(f"image_size must be (height, width) > 0, got {self.image_size!r}")
        if self.channels not in (1, 3):
            raise ValueError(f"channels must be 1 (grey) or 3 (RGB), got {self.channels!r}")
        if len(self.classes) < 1 or len(set(self.classes)) != len(self.classes):
            raise ValueError(f"classes must be distinct names, got {list(self.classes)}")
        if not self.margin >= 0:
            raise ValueError(f"margin must be >= 0, got {self.margin!r}")
        if not self.pixel_divisor > 0:
            raise ValueError(f"pixel_divisor must be > 0, got {self.pixel_divisor!r}")
        object.__setattr__(self, "image_size", size)
        object.__setattr__(self, "classes", tuple(str(c) for c in self.classes))
        object.__setattr__(self, "aus", tuple(int(a) for a in self.aus))

    @property
    def input_shape(self) -> tuple[int, int, int]:
        return (*self.image_size, self.channels)

    def to_json(self) -> dict:
        """The ``preprocessing.json`` content."""
        outputs = {"emotion": {"activation": "softmax", "classes": list(self.classes)}}
        if self.aus:
            outputs["au"] = {"activation": "sigmoid", "action_units": list(self.aus)}
        return {"format": PREPROCESSING_FORMAT, "version": PREPROCESSING_VERSION,
                "input": {"image_size": list(self.image_size), "channels": self.channels,
                          "color": "grey" if self.channels == 1 else "rgb", "dtype": "float32",
                          "pixel_divisor": self.pixel_divisor, "layout": "NHWC"},
                "face": {"detector": FACE_DETECTOR, "margin": self.margin},
                "outputs": outputs}

    @classmethod
    def from_json(cls, data: dict, source: str) -> "Preprocessing":
        """Parse ``preprocessing.json`` content; errors name ``source``."""
        if not isinstance(data, dict) or data.get("format") != PREPROCESSING_FORMAT:
            raise RunFormatError(f"{source}: not a ferkit preprocessing file "
                                    f"(expected format {PREPROCESSING_FORMAT!r})")
        if data.get("version") != PREPROCESSING_VERSION:
            raise RunFormatError(f"{source}: preprocessing version {data.get('version')!r} "
                                    f"is not supported (this ferkit reads version "
                                    f"{PREPROCESSING_VERSION})")
        try:
            inputs, outputs = data["input"], data["outputs"]
            return cls(image_size=tuple(inputs["image_size"]), channels=inputs["channels"],
                       classes=tuple(outputs["emotion"]["classes"]),
                       aus=tuple(outputs.get("au", {}).get("action_units", ())),
                       margin=float(data.get("face", {}).get("margin", DEFAULT_MARGIN)),
                       pixel_divisor=float(inputs.get("pixel_divisor", PIXEL_DIVISOR)))
        except (KeyError, TypeError, ValueError) as err:
            raise RunFormatError(f"{source}: invalid preprocessing: "
                                    f"{type(err).__name__}: {err}") from None

    def save(self, folder: str | Path) -> Path:
        """Write ``folder/preprocessing.json`` (atomically) and return its path."""
        return write_json_atomic(Path(folder) / RunDir.PREPROCESSING, self.to_json())


def save_preprocessing(run_dir: str | Path, image_size: Sequence[int], channels: int,
                       classes: Sequence[str], aus: Sequence[int] = (),
                       margin: float = DEFAULT_MARGIN) -> Path:
    """Write ``run_dir/preprocessing.json`` for the model trained in ``run_dir``."""
    return Preprocessing(tuple(image_size), channels, tuple(classes), tuple(aus), margin).save(run_dir)


def load_preprocessing(run_dir: str | Path) -> Preprocessing:
    """``run_dir/preprocessing.json``, or for older runs ``run.json`` + ``config.yaml``."""
    run_dir = Path(run_dir)
    path = run_dir / RunDir.PREPROCESSING
    if path.is_file():
        return Preprocessing.from_json(read_json(path), str(path))
    return _legacy_preprocessing(run_dir)


def _legacy_preprocessing(run_dir: Path) -> Preprocessing:
    run_json = run_dir / RunDir.RUN
    if not run_json.is_file():
        raise RunDirectoryError(f"{run_dir}: neither {RunDir.PREPROCESSING} nor {RunDir.RUN} "
                                "found, so the class names and input size are unknown "
                                "(not a ferkit run?)")
    run = read_json(run_json)
    if "classes" not in run:
        raise RunFormatError(f"{run_json}: no 'classes' list; cannot name the model's outputs")
    data = _config_data_section(run_dir)
    size = run.get("image_size", data.get("image_size", [48, 48]))
    channels = run.get("channels", data.get("channels", 1))
    try:
        return Preprocessing(tuple(size), channels, tuple(run["classes"]), tuple(run.get("aus", ())))
    except (TypeError, ValueError) as err:
        raise RunFormatError(f"{run_dir}: run.json/config.yaml describe no valid input: "
                                f"{err}") from None


def _config_data_section(run_dir: Path) -> dict:
    import yaml

    path = run_dir / RunDir.CONFIG
    if not path.is_file():
        return {}
    try:
        config = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as err:
        raise RunFormatError(f"{path}: not valid YAML ({err})") from None
    data = config.get("data") if isinstance(config, dict) else None
    return data if isinstance(data, dict) else {}


__all__ = [
    "RunDir", "Preprocessing", "save_preprocessing", "load_preprocessing", "write_text_atomic",
    "write_json_atomic", "read_json", "RUN_FORMAT", "RUN_FORMAT_VERSION", "DEFAULT_MARGIN",
    "PIXEL_DIVISOR", "FACE_DETECTOR",
]
