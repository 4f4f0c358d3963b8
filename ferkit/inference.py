"""Predict expressions on photos, folders of images and videos with a trained ferkit run.

A :class:`Predictor` wraps a Keras model with the preprocessing it was trained with: find
faces (OpenCV's Haar frontal-face cascade) or take the whole image as one face, grow each
box by ``margin``, convert to grey or RGB, resize to the model input (area interpolation
when shrinking, cubic when enlarging) and scale pixels to float32 in [0, 1].

Preprocessing contract
----------------------
The preprocessing travels with the model as ``preprocessing.json`` next to ``model.keras``
(written by :func:`save_preprocessing`; :func:`ferkit.export.export_model` copies it next to
every exported artefact). Its fields::

    {"format": "ferkit-preprocessing", "version": 1,
     "input":   {"image_size": [H, W], "channels": 1 | 3, "color": "grey" | "rgb",
                 "dtype": "float32", "pixel_divisor": 255.0, "layout": "NHWC"},
     "face":    {"detector": "opencv-haar-frontalface-default", "margin": 0.2},
     "outputs": {"emotion": {"activation": "softmax", "classes": [...]},
                 "au":      {"activation": "sigmoid", "action_units": [1, 2, ...]}}}

The model input is ``float32(uint8 pixels) / pixel_divisor``, batch-first, channels last
(exactly what :func:`ferkit.data.pipeline.make_dataset` feeds the model in training).
``outputs.au`` is absent for emotion-only models. Runs that predate the file are read from
``run.json`` (``classes``, ``aus``, and ``image_size``/``channels`` when present) and
``config.yaml`` (``data.image_size``, ``data.channels``), with the default margin.

Image arrays given to the predictor are uint8, ``(H, W)`` grey or ``(H, W, 3)`` RGB
(``(H, W, 4)`` RGBA loses its alpha); files are read with OpenCV and turned into RGB.
"""
from __future__ import annotations

import argparse
import contextlib
import dataclasses
import importlib
import itertools
import json
import math
import pkgutil
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterable, Iterator, Literal, Sequence

import cv2
import numpy as np
import pandas as pd

from ferkit.errors import NoFaceError

if TYPE_CHECKING:
    import keras

MODEL_FILE = "model.keras"
PREPROCESSING_FILE = "preprocessing.json"
PREPROCESSING_FORMAT = "ferkit-preprocessing"
PREPROCESSING_VERSION = 1
PIXEL_DIVISOR = 255.0
DEFAULT_MARGIN = 0.2
FACE_DETECTOR = "opencv-haar-frontalface-default"

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp", ".pgm", ".ppm")
VIDEO_EXTENSIONS = (".avi", ".mp4", ".mov", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg", ".wmv")

FaceMode = Literal["detect", "whole"]
FACE_MODES = ("detect", "whole")
NO_FACE = "no face"
OK = "ok"
Box = tuple[int, int, int, int]
Detector = Callable[[np.ndarray], Sequence[Sequence[int]]]

#: Images smaller than this (shorter side, pixels) are enlarged before labels are drawn.
MIN_ANNOTATED_SIDE = 240
BOX_COLOUR = (0, 200, 80)          # RGB
TEXT_COLOUR = (0, 0, 0)


# ----------------------------------------------------------------------------- preprocessing
@dataclasses.dataclass(frozen=True)
class Preprocessing:
    """What a model expects as input and what its outputs mean (see the module docstring)."""

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
            raise ValueError(f"{source}: not a ferkit preprocessing file "
                             f"(expected format {PREPROCESSING_FORMAT!r})")
        if data.get("version") != PREPROCESSING_VERSION:
            raise ValueError(f"{source}: preprocessing version {data.get('version')!r} is not "
                             f"supported (this ferkit reads version {PREPROCESSING_VERSION})")
        try:
            inputs, outputs = data["input"], data["outputs"]
            return cls(image_size=tuple(inputs["image_size"]), channels=inputs["channels"],
                       classes=tuple(outputs["emotion"]["classes"]),
                       aus=tuple(outputs.get("au", {}).get("action_units", ())),
                       margin=float(data.get("face", {}).get("margin", DEFAULT_MARGIN)),
                       pixel_divisor=float(inputs.get("pixel_divisor", PIXEL_DIVISOR)))
        except (KeyError, TypeError, ValueError) as err:
            raise ValueError(f"{source}: invalid preprocessing: {type(err).__name__}: {err}") from None

    def save(self, folder: str | Path) -> Path:
        """Write ``folder/preprocessing.json`` and return its path."""
        path = Path(folder) / PREPROCESSING_FILE
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.to_json(), indent=1))
        return path


def save_preprocessing(run_dir: str | Path, image_size: Sequence[int], channels: int,
                       classes: Sequence[str], aus: Sequence[int] = (),
                       margin: float = DEFAULT_MARGIN) -> Path:
    """Write ``run_dir/preprocessing.json`` for the model trained in ``run_dir``."""
    return Preprocessing(tuple(image_size), channels, tuple(classes), tuple(aus), margin).save(run_dir)


def load_preprocessing(run_dir: str | Path) -> Preprocessing:
    """``run_dir/preprocessing.json``, or for older runs ``run.json`` + ``config.yaml``."""
    run_dir = Path(run_dir)
    path = run_dir / PREPROCESSING_FILE
    if path.is_file():
        return Preprocessing.from_json(_read_json(path), str(path))
    return _legacy_preprocessing(run_dir)


def _read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise ValueError(f"{path}: not valid JSON ({err})") from None


def _legacy_preprocessing(run_dir: Path) -> Preprocessing:
    run_json = run_dir / "run.json"
    if not run_json.is_file():
        raise FileNotFoundError(f"{run_dir}: neither {PREPROCESSING_FILE} nor run.json found, so "
                                "the class names and input size are unknown (not a ferkit run?)")
    run = _read_json(run_json)
    if "classes" not in run:
        raise ValueError(f"{run_json}: no 'classes' list; cannot name the model's outputs")
    data = _config_data_section(run_dir)
    size = run.get("image_size", data.get("image_size", [48, 48]))
    channels = run.get("channels", data.get("channels", 1))
    try:
        return Preprocessing(tuple(size), channels, tuple(run["classes"]), tuple(run.get("aus", ())))
    except (TypeError, ValueError) as err:
        raise ValueError(f"{run_dir}: run.json/config.yaml describe no valid input: {err}") from None


def _config_data_section(run_dir: Path) -> dict:
    import yaml

    path = run_dir / "config.yaml"
    if not path.is_file():
        return {}
    try:
        config = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as err:
        raise ValueError(f"{path}: not valid YAML ({err})") from None
    data = config.get("data") if isinstance(config, dict) else None
    return data if isinstance(data, dict) else {}


# ----------------------------------------------------------------------------- model checks
def load_model_file(path: str | Path) -> "keras.Model":
    """Load a ``.keras`` file for inference (no optimizer), with ferkit's layers registered."""
    import keras

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"model file {path} does not exist")
    _import_ferkit_layers()
    try:
        return keras.models.load_model(path, compile=False)
    except Exception as err:  # Keras raises many types for a bad or foreign file
        raise ValueError(f"cannot load Keras model {path}: {type(err).__name__}: {err} (a damaged "
                         "file, or a custom layer whose module is not imported)") from err


def _import_ferkit_layers() -> None:
    """Import every module that registers Keras objects, so saved models deserialise."""
    import ferkit.layers  # noqa: F401
    import ferkit.models

    for module in pkgutil.iter_modules(ferkit.models.__path__):
        importlib.import_module(f"ferkit.models.{module.name}")


def load_run_model(run_dir: str | Path) -> "keras.Model":
    """The ``model.keras`` of a run directory; errors say what is missing."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise FileNotFoundError(f"run directory {run_dir} does not exist")
    path = run_dir / MODEL_FILE
    if not path.is_file():
        raise FileNotFoundError(f"{run_dir}: no {MODEL_FILE} (not a trained ferkit run, or "
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


# ----------------------------------------------------------------------------- pixels
def read_image(path: str | Path) -> np.ndarray:
    """An image file as uint8 RGB ``(H, W, 3)``; errors name the file."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"image {path} does not exist")
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        raise OSError(f"cannot read image {path}: empty, truncated or not an image format "
                      "OpenCV decodes")
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def _checked_pixels(image: np.ndarray, name: str) -> np.ndarray:
    image = np.asarray(image)
    if image.dtype != np.uint8:
        raise ValueError(f"{name}: image arrays must be uint8 pixels 0-255, got {image.dtype}")
    if image.ndim == 2:
        image = image[..., None]
    if image.ndim != 3 or image.shape[-1] not in (1, 3, 4) or min(image.shape[:2]) < 1:
        raise ValueError(f"{name}: expected an (H, W) grey, (H, W, 3) RGB or (H, W, 4) RGBA "
                         f"image, got shape {image.shape}")
    return image[..., :3]


def to_channels(image: np.ndarray, channels: int) -> np.ndarray:
    """``(H, W, channels)`` uint8: grey by BT.601 weights, or grey repeated to RGB."""
    from ferkit.data.cleaning import to_grayscale, to_rgb

    return (to_grayscale if channels == 1 else to_rgb)(image[None])[0]


def resize_face(crop: np.ndarray, image_size: Sequence[int]) -> np.ndarray:
    """Resize ``(h, w, C)`` to ``(H, W, C)``: area interpolation to shrink, cubic to enlarge."""
    height, width = image_size
    if crop.shape[:2] == (height, width):
        return crop
    shrinking = crop.shape[0] >= height and crop.shape[1] >= width
    code = cv2.INTER_AREA if shrinking else cv2.INTER_CUBIC
    return cv2.resize(crop, (width, height), interpolation=code).reshape(height, width, -1)


def _check_face_mode(face: str) -> None:
    if face not in FACE_MODES:
        raise ValueError(f"face must be one of {list(FACE_MODES)}, got {face!r}")


# ----------------------------------------------------------------------------- results
@dataclasses.dataclass(frozen=True)
class FacePrediction:
    """One face: its box ``(x, y, width, height)`` in the image and the model's outputs."""

    box: Box
    probabilities: dict[str, float]
    aus: dict[str, float] = dataclasses.field(default_factory=dict)

    @property
    def label(self) -> str:
        """The most probable class."""
        return max(self.probabilities, key=self.probabilities.get)

    @property
    def score(self) -> float:
        """The probability of :attr:`label`."""
        return self.probabilities[self.label]

    def to_row(self) -> dict:
        """Flat columns: box, label, score, ``prob_<class>`` and ``prob_AU<n>``."""
        x, y, width, height = self.box
        row = dict(x=x, y=y, width=width, height=height, label=self.label, score=self.score)
        row.update({f"prob_{name}": value for name, value in self.probabilities.items()})
        row.update({f"prob_{name}": value for name, value in self.aus.items()})
        return row


def prediction_rows(where: dict, predictions: Sequence[FacePrediction]) -> list[dict]:
    """One row per face, or one ``"no face"`` row, each starting with ``where``."""
    if not predictions:
        return [{**where, "face": None, "status": NO_FACE}]
    return [{**where, "face": index, "status": OK, **prediction.to_row()}
            for index, prediction in enumerate(predictions)]


def _chunks(items: Iterable, size: int) -> Iterator[list]:
    iterator = iter(items)
    while chunk := list(itertools.islice(iterator, size)):
        yield chunk


# ----------------------------------------------------------------------------- predictor
class Predictor:
    """A model plus its preprocessing: images, folders and videos in, face predictions out.

    Args:
        model: a ferkit Keras model (dict outputs ``emotion`` and optionally ``au``).
        classes: emotion class names, in the order of the ``emotion`` outputs.
        aus: action unit numbers, in the order of the ``au`` outputs (ignored without one).
        image_size, channels: the model input (checked against the model).
        detector: ``detector(grey_uint8) -> [(x, y, w, h), ...]``; default Haar frontal face.
        margin: detected boxes grow by this fraction of their size on every side.
        source: how errors name the model (``from_run`` uses the file path).
        batch_size: faces per model call.
        pixel_divisor: model input = uint8 pixels / this (255: the training pipeline's).
    """

    def __init__(self, model: "keras.Model", classes: Sequence[str], aus: Sequence[int] = (),
                 image_size: Sequence[int] = (48, 48), channels: int = 1,
                 detector: Detector | None = None, margin: float = DEFAULT_MARGIN, *,
                 source: str = "model", batch_size: int = 64,
                 pixel_divisor: float = PIXEL_DIVISOR):
        self.model = model
        self.source = source
        self.detector = detector
        self.batch_size = int(batch_size)
        wanted = Preprocessing(tuple(image_size), channels, tuple(classes), tuple(aus), margin,
                               pixel_divisor)
        self.preprocessing = fitted_preprocessing(model, wanted, source)

    @classmethod
    def from_run(cls, run_dir: str | Path, *, detector: Detector | None = None,
                 margin: float | None = None, batch_size: int = 64) -> "Predictor":
        """Load ``run_dir/model.keras`` with its preprocessing (see the module docstring)."""
        model = load_run_model(run_dir)
        return cls.from_model(model, load_preprocessing(run_dir), detector=detector, margin=margin,
                              source=str(Path(run_dir) / MODEL_FILE), batch_size=batch_size)

    @classmethod
    def from_model(cls, model: "keras.Model", preprocessing: Preprocessing, *,
                   detector: Detector | None = None, margin: float | None = None,
                   source: str = "model", batch_size: int = 64) -> "Predictor":
        """A predictor from a loaded model and a :class:`Preprocessing`."""
        p = preprocessing
        return cls(model, p.classes, p.aus, p.image_size, p.channels, detector,
                   p.margin if margin is None else margin, source=source, batch_size=batch_size,
                   pixel_divisor=p.pixel_divisor)

    @property
    def classes(self) -> tuple[str, ...]:
        return self.preprocessing.classes

    @property
    def aus(self) -> tuple[int, ...]:
        return self.preprocessing.aus

    # ------------------------------------------------------------------ one image
    def predict_image(self, image_or_path: np.ndarray | str | Path, face: FaceMode = "detect",
                      require_face: bool = False) -> list[FacePrediction]:
        """Predictions for every face in one image, largest face first.

        ``face="whole"`` treats the image as one face crop (CK+, FER2013 images). An image
        without a face gives ``[]``, or raises :class:`NoFaceError` with ``require_face``.
        """
        _check_face_mode(face)
        name, image = self._loaded(image_or_path)
        predictions = self.predict_arrays([image], face)[0]
        if require_face and not predictions:
            raise NoFaceError(f"{name}: no face found by the face detector; pass face='whole' "
                              "for images that are already face crops")
        return predictions

    def predict_arrays(self, images: Sequence[np.ndarray],
                       face: FaceMode = "detect") -> list[list[FacePrediction]]:
        """Predictions for a list of uint8 images; all their faces go through the model together."""
        _check_face_mode(face)
        found = [self._faces(image, face) for image in images]
        crops = [crop for _, image_crops in found for crop in image_crops]
        outputs = self._predict_crops(crops)
        results, start = [], 0
        for boxes, _ in found:
            results.append([self._prediction(box, outputs, start + i) for i, box in enumerate(boxes)])
            start += len(boxes)
        return results

    def _loaded(self, image_or_path) -> tuple[str, np.ndarray]:
        if isinstance(image_or_path, (str, Path)):
            return str(image_or_path), read_image(image_or_path)
        return "image array", _checked_pixels(image_or_path, "image array")

    def _faces(self, image: np.ndarray, face: FaceMode) -> tuple[list[Box], list[np.ndarray]]:
        image = _checked_pixels(image, "image")
        pixels = to_channels(image, self.preprocessing.channels)
        if face == "whole":
            box = (0, 0, image.shape[1], image.shape[0])
            return [box], [resize_face(pixels, self.preprocessing.image_size)]
        from ferkit.data.cleaning import detect_faces, expand_box

        boxes = detect_faces(image, self.detector)
        crops = []
        for box in boxes:
            x, y, w, h = expand_box(box, image.shape, self.preprocessing.margin)
            crops.append(resize_face(pixels[y:y + h, x:x + w], self.preprocessing.image_size))
        return boxes, crops

    def _predict_crops(self, crops: list[np.ndarray]) -> dict[str, np.ndarray]:
        if not crops:
            return {}
        batches = []
        for chunk in _chunks(crops, self.batch_size):
            batch = np.stack(chunk).astype(np.float32) / np.float32(self.preprocessing.pixel_divisor)
            batches.append(head_outputs(self.model.predict_on_batch(batch)))
        return {head: np.concatenate([b[head] for b in batches]) for head in batches[0]}

    def _prediction(self, box: Sequence[int], outputs: dict[str, np.ndarray],
                    row: int) -> FacePrediction:
        probabilities = dict(zip(self.classes, map(float, outputs["emotion"][row])))
        aus = {}
        if self.aus:
            aus = {f"AU{au}": float(v) for au, v in zip(self.aus, outputs["au"][row])}
        return FacePrediction(tuple(int(v) for v in box), probabilities, aus)

    # ------------------------------------------------------------------ many images
    def predict_files(self, paths: Sequence[str | Path], face: FaceMode = "detect",
                      annotate_to: str | Path | None = None,
                      on_unreadable: Literal["raise", "report"] = "raise") -> pd.DataFrame:
        """One row per face (``file``, ``face``, ``status``, box, label, score, probabilities).

        An image without a face gets one row with status ``"no face"``; an unreadable one
        raises, or with ``on_unreadable="report"`` gets a row with status ``"unreadable: ..."``.
        ``annotate_to`` saves an annotated PNG per image into that folder.
        """
        if on_unreadable not in ("raise", "report"):
            raise ValueError(f"on_unreadable must be 'raise' or 'report', got {on_unreadable!r}")
        rows = []
        for chunk in _chunks(paths, self.batch_size):
            loaded = [(path, self._read_or_report(path, on_unreadable)) for path in chunk]
            images = [image for _, image in loaded if not isinstance(image, str)]
            predictions = iter(self.predict_arrays(images, face))
            for path, image in loaded:
                where = {"file": str(path)}
                if isinstance(image, str):
                    rows.append({**where, "status": f"unreadable: {image}"})
                    continue
                found = next(predictions)
                rows.extend(prediction_rows(where, found))
                if annotate_to is not None:
                    save_annotated(image, found, Path(annotate_to) / f"{Path(path).stem}.png")
        return self._frame(rows, ["file"])

    def predict_folder(self, folder: str | Path, face: FaceMode = "detect", *,
                       recursive: bool = False, annotate_to: str | Path | None = None,
                       on_unreadable: Literal["raise", "report"] = "raise") -> pd.DataFrame:
        """:meth:`predict_files` on the images in ``folder`` (by extension, sorted)."""
        return self.predict_files(image_files(folder, recursive), face, annotate_to, on_unreadable)

    @staticmethod
    def _read_or_report(path, on_unreadable: str) -> np.ndarray | str:
        try:
            return read_image(path)
        except OSError as err:  # FileNotFoundError included
            if on_unreadable == "raise":
                raise
            return str(err)

    def predict_video(self, path: str | Path, every_n_frames: int = 1, face: FaceMode = "detect",
                      *, annotate_to: str | Path | None = None,
                      max_frames: int | None = None) -> pd.DataFrame:
        """One row per face in every ``every_n_frames``-th frame (``frame``, ``time_s`` added).

        Frames without a face get a ``"no face"`` row. ``annotate_to`` writes the sampled
        frames, annotated, as an MJPG ``.avi``. ``max_frames`` stops after that many frames.
        """
        _check_face_mode(face)
        if int(every_n_frames) < 1:
            raise ValueError(f"every_n_frames must be >= 1, got {every_n_frames!r}")
        rows = []
        with _opened_video(path) as capture, _AnnotatedVideo(annotate_to) as annotated:
            fps = capture.get(cv2.CAP_PROP_FPS)
            annotated.fps = fps / every_n_frames if fps > 0 else 10.0
            frames = _sampled_frames(capture, path, int(every_n_frames), max_frames)
            for chunk in _chunks(frames, self.batch_size):
                predictions = self.predict_arrays([frame for _, frame in chunk], face)
                for (index, frame), found in zip(chunk, predictions):
                    seconds = index / fps if fps > 0 else math.nan
                    rows.extend(prediction_rows(
                        {"file": str(path), "frame": index, "time_s": seconds}, found))
                    annotated.write(frame, found)
        return self._frame(rows, ["file", "frame", "time_s"])

    def _frame(self, rows: list[dict], where: list[str]) -> pd.DataFrame:
        columns = [*where, "face", "status", "x", "y", "width", "height", "label", "score",
                   *(f"prob_{c}" for c in self.classes), *(f"prob_AU{a}" for a in self.aus)]
        frame = pd.DataFrame(rows, columns=columns)
        return frame.astype({c: "Int64" for c in ("face", "x", "y", "width", "height")})


def image_files(folder: str | Path, recursive: bool = False) -> list[Path]:
    """Image files in ``folder`` by extension, sorted; an error when there are none."""
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"image folder {folder} does not exist or is not a folder")
    candidates = folder.rglob("*") if recursive else folder.iterdir()
    files = sorted(p for p in candidates if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS)
    if not files:
        raise FileNotFoundError(f"image folder {folder} holds no images "
                                f"({', '.join(IMAGE_EXTENSIONS)})")
    return files


# ----------------------------------------------------------------------------- video
@contextlib.contextmanager
def _opened_video(path: str | Path) -> Iterator[cv2.VideoCapture]:
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"video {path} does not exist")
    capture = cv2.VideoCapture(str(path))
    try:
        if not capture.isOpened():
            raise OSError(f"cannot open video {path}: not a video format OpenCV decodes")
        yield capture
    finally:
        capture.release()


def _sampled_frames(capture: cv2.VideoCapture, path, every: int,
                    max_frames: int | None) -> Iterator[tuple[int, np.ndarray]]:
    index = 0
    while max_frames is None or index < max_frames:
        ok, frame = capture.read()
        if not ok:
            break
        if index % every == 0:
            yield index, cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)
        index += 1
    if index == 0:
        raise OSError(f"cannot read video {path}: no frame could be decoded (empty or damaged)")


class _AnnotatedVideo:
    """Writes :func:`annotate`'d RGB frames to an MJPG ``.avi``; does nothing without a path."""

    def __init__(self, path: str | Path | None):
        self.path = None if path is None else Path(path)
        self.fps = 10.0
        self.writer = None

    def __enter__(self) -> "_AnnotatedVideo":
        return self

    def write(self, frame: np.ndarray, predictions: Sequence[FacePrediction]) -> None:
        if self.path is None:
            return
        frame = annotate(frame, predictions)
        if self.writer is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            size = (frame.shape[1], frame.shape[0])
            self.writer = cv2.VideoWriter(str(self.path), cv2.VideoWriter_fourcc(*"MJPG"),
                                          self.fps, size)
            if not self.writer.isOpened():
                raise OSError(f"cannot write video {self.path}: OpenCV has no MJPG writer here")
        self.writer.write(cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))

    def __exit__(self, *exc) -> None:
        if self.writer is not None:
            self.writer.release()


# ----------------------------------------------------------------------------- drawing
def annotate(image: np.ndarray, predictions: Sequence[FacePrediction]) -> np.ndarray:
    """An RGB copy of ``image`` with each face's box and ``label probability`` drawn.

    Images whose shorter side is under ``MIN_ANNOTATED_SIDE`` pixels are enlarged
    (nearest neighbour) first so the text is legible; an empty list writes "no face".
    """
    canvas = to_channels(_checked_pixels(image, "image"), 3).copy()
    factor = max(1, math.ceil(MIN_ANNOTATED_SIDE / min(canvas.shape[:2])))
    if factor > 1:
        canvas = cv2.resize(canvas, None, fx=factor, fy=factor, interpolation=cv2.INTER_NEAREST)
    scale = max(0.4, min(canvas.shape[:2]) / 500)
    if not predictions:
        _draw_label(canvas, NO_FACE, (0, 0), scale, inside=True)
    for prediction in predictions:
        x, y, w, h = (v * factor for v in prediction.box)
        thickness = max(1, round(2 * scale))
        cv2.rectangle(canvas, (x, y), (x + w - 1, y + h - 1), BOX_COLOUR, thickness)
        _draw_label(canvas, f"{prediction.label} {prediction.score:.2f}", (x, y), scale,
                    inside=y < 20 * scale)
    return canvas


def _draw_label(canvas: np.ndarray, text: str, corner: tuple[int, int], scale: float,
                inside: bool) -> None:
    """Text on a filled box, above ``corner`` (or just inside the box when ``inside``)."""
    font = cv2.FONT_HERSHEY_SIMPLEX
    (width, height), baseline = cv2.getTextSize(text, font, scale, 1)
    x, y = corner
    top = y if inside else max(0, y - height - baseline - 4)
    cv2.rectangle(canvas, (x, top), (x + width + 4, top + height + baseline + 4), BOX_COLOUR, -1)
    cv2.putText(canvas, text, (x + 2, top + height + 2), font, scale, TEXT_COLOUR, 1, cv2.LINE_AA)


def save_annotated(image_or_path: np.ndarray | str | Path, predictions: Sequence[FacePrediction],
                   path: str | Path) -> Path:
    """Write :func:`annotate`'s picture to ``path`` (format by extension) and return it."""
    image = read_image(image_or_path) if isinstance(image_or_path, (str, Path)) else image_or_path
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if not cv2.imwrite(str(path), cv2.cvtColor(annotate(image, predictions), cv2.COLOR_RGB2BGR)):
        raise OSError(f"cannot write annotated image {path}: unknown extension or unwritable folder")
    return path


# ----------------------------------------------------------------------------- command line
def input_kind(path: str | Path) -> Literal["image", "folder", "video"]:
    """Whether ``path`` is a folder, an image or a video (by extension)."""
    path = Path(path)
    if path.is_dir():
        return "folder"
    if not path.exists():
        raise FileNotFoundError(f"input {path} does not exist")
    suffix = path.suffix.lower()
    if suffix in IMAGE_EXTENSIONS:
        return "image"
    if suffix in VIDEO_EXTENSIONS:
        return "video"
    raise ValueError(f"input {path}: unknown extension {suffix!r}; images: "
                     f"{', '.join(IMAGE_EXTENSIONS)}; videos: {', '.join(VIDEO_EXTENSIONS)}")


def predict_path(predictor: Predictor, path: str | Path, out: str | Path | None = None,
                 face: FaceMode = "detect", every_n_frames: int = 1) -> pd.DataFrame:
    """Predict an image, folder or video; with ``out``, write ``predictions.csv`` and pictures.

    Pictures: ``out/annotated/<stem>.png`` for images, ``out/annotated.avi`` for a video.
    """
    out = None if out is None else Path(out)
    kind = input_kind(path)
    if kind == "video":
        frame = predictor.predict_video(path, every_n_frames, face,
                                        annotate_to=out / "annotated.avi" if out else None)
    else:
        files = image_files(path) if kind == "folder" else [Path(path)]
        on_unreadable = "report" if kind == "folder" else "raise"
        frame = predictor.predict_files(files, face, out / "annotated" if out else None,
                                        on_unreadable)
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        frame.to_csv(out / "predictions.csv", index=False)
    return frame


def summary_table(frame: pd.DataFrame, max_rows: int = 40) -> str:
    """The readable columns of a prediction frame as text, at most ``max_rows`` rows."""
    columns = [c for c in ("file", "frame", "time_s", "face", "status", "label", "score",
                           "x", "y", "width", "height") if c in frame.columns]
    shown = frame[columns].assign(file=frame["file"].map(lambda p: Path(p).name))
    text = shown.head(max_rows).to_string(index=False, float_format=lambda v: f"{v:.3f}")
    if len(frame) > max_rows:
        text += f"\n... {len(frame) - max_rows} more rows ({len(frame)} in all)"
    return text


def run_predict_command(args: argparse.Namespace) -> int:
    """``ferkit predict``: print a table; with ``--out`` write the CSV and annotated pictures."""
    predictor = Predictor.from_run(args.run_dir)
    face = "whole" if args.whole_image else "detect"
    frame = predict_path(predictor, args.input, args.out, face, args.every)
    print(summary_table(frame))
    status = frame["status"].fillna("")
    print(f"{int((status == OK).sum())} face(s); {int((status == NO_FACE).sum())} image(s) or "
          f"frame(s) without a face; {int(status.str.startswith('unreadable').sum())} unreadable")
    if args.out:
        print(f"wrote {Path(args.out) / 'predictions.csv'} and annotated pictures")
    return 0


def add_predict_parser(subparsers) -> argparse.ArgumentParser:
    """Add ``ferkit predict RUN_DIR INPUT [--out DIR] [--whole-image] [--every N]``."""
    parser = subparsers.add_parser(
        "predict", help="predict expressions on an image, a folder of images or a video",
        description="Detect faces (or take whole images) and predict each face's expression "
                    "with a trained run. INPUT's kind is chosen by its extension.")
    parser.add_argument("run_dir", metavar="RUN_DIR", help="run directory holding model.keras")
    parser.add_argument("input", metavar="INPUT", help="an image, a folder of images, or a video")
    parser.add_argument("--out", help="folder for predictions.csv and annotated pictures")
    parser.add_argument("--whole-image", action="store_true",
                        help="treat every image/frame as one face crop (CK+, FER2013) instead "
                             "of detecting faces")
    parser.add_argument("--every", type=int, default=1, metavar="N",
                        help="videos: predict every N-th frame (default 1)")
    parser.set_defaults(run=run_predict_command)
    return parser
