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
import re
import tempfile
import time
from pathlib import Path
from typing import Any, Sequence

import yaml

from ferkit.errors import RunDirectoryError, RunFormatError

RUN_FORMAT = "ferkit-run"
#: Bumped when a run directory's layout changes in a way older readers cannot follow.
RUN_FORMAT_VERSION = 1

PREPROCESSING_FORMAT = "ferkit-preprocessing"
PREPROCESSING_VERSION = 1
PIXEL_DIVISOR = 255.0
DEFAULT_MARGIN = 0.2
FACE_DETECTOR = "chosen at prediction time"  # not part of the model: Predictor(detector=...)


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
    except OSError as err:
        Path(temporary).unlink(missing_ok=True)
        if err.filename is None:  # e.g. ENOSPC from a flush: name the file it was for
            raise OSError(err.errno, f"cannot write {path}: {err.strerror or err}") from err
        raise
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return path


def write_json_atomic(path: str | Path, data: Any) -> Path:
    """:func:`write_text_atomic` of ``data`` as indented JSON."""
    return write_text_atomic(path, json.dumps(data, indent=1) + "\n")


def read_json(path: str | Path, *, expect: type | None = dict) -> Any:
    """A JSON file's content; a missing, empty, truncated or malformed file, or one whose top
    level is not an ``expect`` (None: anything), is a named error naming the file."""
    path = Path(path)
    text = _read_utf8(path, RunFormatError)
    if not text.strip():
        raise RunFormatError(f"{path}: empty file, expected JSON (a run killed while writing "
                             "it, or not written by ferkit)")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        ends_early = err.pos >= len(text.rstrip()) or err.msg.startswith("Unterminated string")
        cut = " (the file is truncated)" if ends_early else ""
        raise RunFormatError(f"{path}: not valid JSON{cut}: {err.msg} (line {err.lineno}, "
                             f"column {err.colno})") from None
    if expect is not None and not isinstance(data, expect):
        raise RunFormatError(f"{path}: expected a JSON {_JSON_NAMES.get(expect, expect.__name__)} "
                             f"at the top level, got {_JSON_NAMES.get(type(data), type(data).__name__)}")
    return data


_JSON_NAMES = {dict: "object", list: "array", str: "string", int: "number", float: "number",
               bool: "boolean", type(None): "null"}


def _read_utf8(path: Path, error: type[Exception],
               missing: type[Exception] = RunDirectoryError) -> str:
    """``path`` decoded as UTF-8 (a BOM is dropped); a missing file is a ``missing`` error,
    a folder or undecodable bytes an ``error`` naming the file (and the line)."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise missing(f"{path} does not exist") from None
    except IsADirectoryError:
        raise error(f"{path}: is a folder, expected a file") from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = data.count(b"\n", 0, err.start) + 1
        raise error(f"{path}, line {line}: not UTF-8 text (byte 0x{data[err.start]:02x} at "
                    f"offset {err.start}); save the file as UTF-8") from None


# ----------------------------------------------------------------------------- YAML
#: The most values (scalars, list items, mapping keys and values) a YAML file may expand to
#: once its aliases are followed; ferkit's configs hold a few hundred. More is taken for a
#: "billion laughs" alias bomb and refused before anything is built.
YAML_MAX_EXPANDED_NODES = 100_000


class _ConfigLoader(yaml.SafeLoader):
    """PyYAML's safe loader, reading ``1e-3`` and ``5E+4`` as numbers (as YAML 1.2 and JSON
    do; YAML 1.1 needs a dot, so ``learning_rate: 1e-3`` would be the string ``'1e-3'``),
    and refusing a key given twice in one mapping (PyYAML keeps the last one silently)."""

    def construct_mapping(self, node, deep=False):
        seen = set()
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":  # ``<<: *defaults`` may be overridden
                continue
            key = self.construct_object(key_node, deep=True)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key!r}: it is given twice in one mapping",
                    key_node.start_mark)
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


_ConfigLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:[0-9][0-9_]*)(?:\.[0-9_]*)?[eE][-+]?[0-9]+$"),
    list("-+0123456789"))


def _expanded_size(node: yaml.Node, sizes: dict[int, int]) -> int:
    """Values in ``node`` with every alias followed (an alias is the node it names, shared,
    so each node is sized once); stops counting once over the limit."""
    if id(node) in sizes:
        return sizes[id(node)]
    sizes[id(node)] = YAML_MAX_EXPANDED_NODES + 1  # a node that contains itself is too big
    size = 1
    if isinstance(node, yaml.SequenceNode):
        children = node.value
    elif isinstance(node, yaml.MappingNode):
        children = [child for pair in node.value for child in pair]
    else:
        children = []
    for child in children:
        size += _expanded_size(child, sizes)
        if size > YAML_MAX_EXPANDED_NODES:
            break
    sizes[id(node)] = size
    return size


def parse_yaml(text: str, source: str, error: type[Exception]) -> Any:
    """``text`` parsed as YAML with PyYAML's safe loader (plain data only); a syntax error
    (line and column), a tag that would build a Python object, or aliases that expand the
    document beyond :data:`YAML_MAX_EXPANDED_NODES` values is an ``error`` naming ``source``."""
    loader = _ConfigLoader(text)
    try:
        node = loader.get_single_node()  # composed, aliases shared: nothing expanded yet
        size = _expanded_size(node, {}) if node is not None else 0
        if size > YAML_MAX_EXPANDED_NODES:
            raise error(f"{source}: YAML anchors/aliases expand to over "
                        f"{YAML_MAX_EXPANDED_NODES} values; refusing a possible alias bomb "
                        "(billion laughs): write the values out or use fewer alias references")
        return loader.construct_document(node) if node is not None else None
    except yaml.constructor.ConstructorError as err:
        raise error(f"{source}{_yaml_where(err)}: {_constructor_problem(err)}") from None
    except yaml.MarkedYAMLError as err:
        raise error(f"{source}{_yaml_where(err)}: not valid YAML: {err.problem or err}") from None
    except yaml.YAMLError as err:
        raise error(f"{source}: not valid YAML: {err}") from None
    except RecursionError:
        raise error(f"{source}: YAML nested too deeply to read") from None
    finally:
        loader.dispose()


def _yaml_where(err: yaml.MarkedYAMLError) -> str:
    mark = err.problem_mark or err.context_mark
    return f", line {mark.line + 1}, column {mark.column + 1}" if mark else ""


def _constructor_problem(err: yaml.constructor.ConstructorError) -> str:
    tag = re.search(r"for the tag '([^']+)'", str(err.problem))
    if not tag and str(err.problem).startswith("duplicate key"):
        return str(err.problem)
    if not tag:
        return f"not valid YAML: {err.problem}"
    short = tag.group(1).replace("tag:yaml.org,2002:", "!!")
    return (f"tag {short} is not allowed: ferkit reads YAML with a safe loader, which builds "
            "plain data only (mappings, lists, strings, numbers), never Python objects")


def read_yaml(path: str | Path, error: type[Exception]) -> Any:
    """A YAML file parsed by :func:`parse_yaml`; a missing file, undecodable bytes, bad
    syntax, an unsafe tag or an alias bomb is an ``error`` naming the file."""
    path = Path(path)
    return parse_yaml(_read_utf8(path, error, missing=error), str(path), error)


def check_format_version(found: Any, supported: int, what: str) -> None:
    """Raise :class:`RunFormatError` unless ``found`` is the ``supported`` version; the
    message says which version was found, whether it is newer or older, and what to do."""
    if found == supported and isinstance(found, int) and not isinstance(found, bool):
        return
    if not isinstance(found, int) or isinstance(found, bool):
        raise RunFormatError(f"{what} version {found!r} is not a version number (this ferkit "
                             f"reads version {supported})")
    if found > supported:
        raise RunFormatError(f"{what} version {found} was written by a newer ferkit; this one "
                             f"reads version {supported}: upgrade ferkit to read it")
    raise RunFormatError(f"{what} version {found} was written by an older ferkit; this one "
                         f"reads version {supported}: rerun the job with this ferkit")


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
        if record.get("format", RUN_FORMAT) != RUN_FORMAT:
            raise RunFormatError(f"{path}: not a ferkit run record (format "
                                 f"{record.get('format')!r}, expected {RUN_FORMAT!r})")
        check_format_version(record.get("version", RUN_FORMAT_VERSION), RUN_FORMAT_VERSION,
                             f"{path}: run format")
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
        check_format_version(data.get("version"), PREPROCESSING_VERSION,
                             f"{source}: preprocessing format")
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
    path = run_dir / RunDir.CONFIG
    if not path.is_file():
        return {}
    config = read_yaml(path, RunFormatError) or {}
    data = config.get("data") if isinstance(config, dict) else None
    return data if isinstance(data, dict) else {}


__all__ = [
    "RunDir", "Preprocessing", "save_preprocessing", "load_preprocessing", "write_text_atomic",
    "write_json_atomic", "read_json", "check_format_version", "read_yaml", "parse_yaml", "YAML_MAX_EXPANDED_NODES", "RUN_FORMAT", "RUN_FORMAT_VERSION", "DEFAULT_MARGIN",
    "PIXEL_DIVISOR", "FACE_DETECTOR",
]
