"""Face detectors behind one protocol: ``detector(rgb_uint8) -> list[Face]``.

A detector may also take many same-sized images in one call
(:meth:`FaceDetector.detect_many`); MTCNN does, which amortises its per-call cost.

* ``"mtcnn"``: :class:`MTCNNDetector`, the learned MTCNN cascade of the ``mtcnn`` package
  (MIT licence; its weights ship inside the wheel, so nothing downloads at run time). Boxes,
  a confidence and five landmarks. The default when the package imports.
* ``"haar"``: :class:`HaarDetector`, OpenCV's 2001 Viola-Jones frontal-face cascade. Boxes
  only (``score`` NaN, ``landmarks`` None). The fallback.

:func:`find_faces` (one image) and :func:`find_faces_many` (a batch) are the one way callers
run a detector: they turn tiny images into "no face", downscale images whose longer side is
over ``max_side`` for detection and map the faces back to full resolution.
"""
from __future__ import annotations

import dataclasses
import functools
import importlib.util
import math
from pathlib import Path
from typing import Callable, Sequence, Union

import cv2
import numpy as np

from ferkit.data.images import check_pixels, resize_image, to_channels

Point = tuple[float, float]
#: The five landmarks a learned detector gives, in this order. "left" and "right" are as seen
#: in the picture (the left eye is the one nearer x = 0).
LANDMARKS = ("left_eye", "right_eye", "nose", "mouth_left", "mouth_right")
#: Images whose shorter side is under this many pixels give no face: no detector here finds
#: a face that small (MTCNN's smallest is 20 px, Haar's 24 px). Use ``face="whole"`` for crops.
MIN_DETECTION_SIDE = 20
#: Images whose longer side is over this are downscaled for detection (boxes map back).
MAX_DETECTION_SIDE = 1024


@dataclasses.dataclass(frozen=True)
class Face:
    """One detected face: ``box`` ``(x, y, width, height)`` in pixels, the detector's
    ``score`` (NaN when it gives none) and ``landmarks`` (name -> ``(x, y)``, or None)."""

    box: tuple[int, int, int, int]
    score: float = math.nan
    landmarks: dict[str, Point] | None = None

    @property
    def area(self) -> int:
        return self.box[2] * self.box[3]

    @property
    def eyes(self) -> tuple[Point, Point] | None:
        """``(left_eye, right_eye)`` or None when the detector gives no landmarks."""
        if not self.landmarks:
            return None
        return self.landmarks["left_eye"], self.landmarks["right_eye"]

    def scaled(self, factor: float) -> "Face":
        """This face with box and landmarks multiplied by ``factor`` (back to full resolution)."""
        box = tuple(int(round(v * factor)) for v in self.box)
        landmarks = None if self.landmarks is None else {
            name: (x * factor, y * factor) for name, (x, y) in self.landmarks.items()}
        return Face(box, self.score, landmarks)


class FaceDetector:
    """The protocol: a ``name`` and ``__call__(rgb_uint8 (H, W, 3)) -> list[Face]``."""

    name = "custom"

    def __call__(self, rgb: np.ndarray) -> list[Face]:
        raise NotImplementedError

    def detect_many(self, rgbs: Sequence[np.ndarray]) -> list[list[Face]]:
        """The faces of each of several RGB images of one shape (default: one call each)."""
        return [list(self(rgb)) for rgb in rgbs]


# ----------------------------------------------------------------------------- Haar
FRONTAL_FACE_CASCADE = "haarcascade_frontalface_default.xml"


def haar_cascade_path(name: str = FRONTAL_FACE_CASCADE) -> Path:
    """The path of a Haar cascade XML file shipped inside the installed ``cv2`` package."""
    folder = Path(getattr(getattr(cv2, "data", None), "haarcascades", "") or ".")
    has_classifier = hasattr(cv2, "CascadeClassifier")
    if has_classifier and (folder / name).is_file():
        return folder / name
    missing = f"no {name} in {folder}" if has_classifier else "no CascadeClassifier and no cascade files"
    ways_out = "pass HaarFaceDetector(cascade_path=...) or " if has_classifier else ""
    raise FileNotFoundError(
        f"OpenCV {cv2.__version__} has {missing} (OpenCV 5 wheels ship neither); install "
        f"opencv-python-headless<5, or {ways_out}give detect_faces/crop_faces your own detector=")


def haar_available() -> bool:
    """Whether the frontal-face Haar cascade can be loaded from the installed OpenCV."""
    try:
        haar_cascade_path()
    except FileNotFoundError:
        return False
    return True


class HaarFaceDetector:
    """OpenCV's Viola-Jones frontal-face cascade as a ``detector(grey) -> boxes`` callable.

    Args:
        cascade_path: an XML cascade (default: the frontal-face cascade shipped in ``cv2``).
        scale_factor, min_neighbors, min_size: ``detectMultiScale`` settings.
        equalize: equalise the histogram first (helps on dark or low-contrast photos).
    """

    def __init__(self, cascade_path: str | Path | None = None, scale_factor: float = 1.1,
                 min_neighbors: int = 5, min_size: tuple[int, int] = (24, 24), equalize: bool = True):
        if not hasattr(cv2, "CascadeClassifier"):
            haar_cascade_path()  # raises with the explanation
        path = Path(cascade_path) if cascade_path is not None else haar_cascade_path()
        self.classifier = cv2.CascadeClassifier(str(path))
        if self.classifier.empty():
            raise OSError(f"cannot load Haar cascade {path}: missing or not a cascade XML file")
        self.scale_factor, self.min_neighbors = scale_factor, min_neighbors
        self.min_size, self.equalize = tuple(min_size), equalize

    def __call__(self, grey: np.ndarray) -> list[tuple[int, int, int, int]]:
        grey = cv2.equalizeHist(grey) if self.equalize else grey
        boxes = self.classifier.detectMultiScale(grey, scaleFactor=self.scale_factor,
                                                 minNeighbors=self.min_neighbors, minSize=self.min_size)
        return [tuple(int(v) for v in box) for box in np.reshape(boxes, (-1, 4))]


class HaarDetector(FaceDetector):
    """:class:`HaarFaceDetector` under the protocol: boxes, no score, no landmarks."""

    name = "haar"

    def __init__(self, **haar_options):
        self.cascade = HaarFaceDetector(**haar_options)

    def __call__(self, rgb: np.ndarray) -> list[Face]:
        return [Face(box) for box in self.cascade(to_channels(rgb, 1)[..., 0])]


# ----------------------------------------------------------------------------- MTCNN
def mtcnn_available() -> bool:
    """Whether the ``mtcnn`` package (and so the learned detector) can be imported."""
    return importlib.util.find_spec("mtcnn") is not None


class MTCNNDetector(FaceDetector):
    """The ``mtcnn`` package's three-stage cascade (P-, R-, O-Net), weights from its wheel.

    Args:
        min_face_size: smallest face searched for, in pixels (at least 20). The package's own
            ``min_face_size`` finds nothing at most other values (mtcnn 1.0 sizes its image
            pyramid for 20), so a larger one is had by detecting on a copy shrunk by
            ``20 / min_face_size``.
        min_score: faces the final stage scores below this are dropped.
    """

    name = "mtcnn"

    def __init__(self, min_face_size: int = MIN_DETECTION_SIDE, min_score: float = 0.9):
        if not mtcnn_available():
            raise ImportError("detector 'mtcnn' needs the mtcnn package (pip install 'mtcnn>=1.0,<1.1'); "
                              "or pass detector='haar'")
        if not min_face_size >= MIN_DETECTION_SIDE:
            raise ValueError(f"MTCNNDetector min_face_size must be >= {MIN_DETECTION_SIDE} "
                             f"pixels, got {min_face_size!r}")
        from mtcnn import MTCNN
        self.network = MTCNN(device="CPU:0")
        compile_stages(self.network)
        self.min_face_size, self.min_score = int(min_face_size), float(min_score)

    def __call__(self, rgb: np.ndarray) -> list[Face]:
        return self.detect_many([rgb])[0]

    def detect_many(self, rgbs: Sequence[np.ndarray]) -> list[list[Face]]:
        """One MTCNN pass over a batch of same-shaped images: about half the CPU time per
        image of one call each (the cascade's per-call cost is shared)."""
        shrink = MIN_DETECTION_SIDE / self.min_face_size
        height, width = rgbs[0].shape[:2] if len(rgbs) else (0, 0)
        size = (max(1, round(height * shrink)), max(1, round(width * shrink)))
        if shrink < 1 and min(size) >= MIN_DETECTION_SIDE:
            rgbs = [resize_image(rgb, size) for rgb in rgbs]
        factor = width / rgbs[0].shape[1] if len(rgbs) else 1.0
        found = self.network.detect_faces(list(rgbs), min_face_size=MIN_DETECTION_SIDE)
        return [[face.scaled(factor) if factor != 1 else face for face in self._kept(items)]
                for items in found]

    def _kept(self, items: list[dict]) -> list[Face]:
        faces = [self._face(item) for item in items if item["confidence"] >= self.min_score]
        return [face for face in faces if min(face.box[2:]) > 0]   # boxes clipped to nothing

    @staticmethod
    def _face(item: dict) -> Face:
        landmarks = {name: tuple(float(v) for v in item["keypoints"][name]) for name in LANDMARKS}
        return Face(tuple(int(v) for v in item["box"]), float(item["confidence"]), landmarks)


class CompiledStage:
    """One MTCNN stage network run as a compiled ``tf.function`` (``reduce_retracing``: the
    varying box counts of R- and O-Net share one graph). An empty batch goes to the eager
    network, which raises the ``InvalidArgumentError`` that mtcnn reads as "no face", exactly
    as the package does without compiling."""

    def __init__(self, network):
        import tensorflow as tf

        self.network = network
        self.graph = tf.function(network, reduce_retracing=True)

    def __call__(self, batch):
        return self.network(batch) if batch.shape[0] == 0 else self.graph(batch)


def compile_stages(network) -> int:
    """Run each of an ``mtcnn.MTCNN``'s stage networks as a :class:`CompiledStage`.

    mtcnn 1.0 calls its three Keras networks eagerly, one op at a time; a graph call gives the
    same outputs for much less CPU per photo (the pyramid's shapes are traced once). Returns
    how many stages were compiled (0 when they already are, or when a later mtcnn keeps its
    networks elsewhere).
    """
    compiled = 0
    for stage in getattr(network, "stages", []):
        model = getattr(stage, "_model", None)
        if callable(model) and not isinstance(model, CompiledStage):
            stage._model = CompiledStage(model)
            compiled += 1
    return compiled


# ----------------------------------------------------------------------------- choosing one
#: Detectors by name; each is built once per process (MTCNN loads its networks when built).
DETECTORS: dict[str, Callable[[], FaceDetector]] = {"mtcnn": MTCNNDetector, "haar": HaarDetector}
BoxCallable = Callable[[np.ndarray], Sequence]
DetectorSpec = Union[str, FaceDetector, BoxCallable, None]


def default_detector_name() -> str:
    """``"mtcnn"`` when the mtcnn package imports, else ``"haar"``."""
    return "mtcnn" if mtcnn_available() else "haar"


@functools.lru_cache(maxsize=None)
def named_detector(name: str) -> FaceDetector:
    """The shared detector called ``name`` (one of :data:`DETECTORS`)."""
    if name not in DETECTORS:
        raise ValueError(f"unknown face detector {name!r}; choose one of {sorted(DETECTORS)}")
    return DETECTORS[name]()


class CallableDetector(FaceDetector):
    """A plain function ``fn(grey_uint8) -> [(x, y, w, h) or Face, ...]`` under the protocol."""

    def __init__(self, fn: BoxCallable, name: str | None = None):
        self.fn = fn
        self.name = name or getattr(fn, "__name__", "custom")

    def __call__(self, rgb: np.ndarray) -> list[Face]:
        return [item if isinstance(item, Face) else _checked_box(item)
                for item in self.fn(to_channels(rgb, 1)[..., 0])]


def _checked_box(box: Sequence) -> Face:
    values = tuple(int(v) for v in box)
    if len(values) != 4 or values[2] <= 0 or values[3] <= 0:
        raise ValueError(f"detector returned {tuple(box)!r}; expected (x, y, width, height) "
                         "with positive sizes")
    return Face(values)


def as_detector(detector: DetectorSpec) -> FaceDetector:
    """A :class:`FaceDetector` from a name, a detector, a plain box function or None (default)."""
    if detector is None:
        return named_detector(default_detector_name())
    if isinstance(detector, str):
        return named_detector(detector)
    if isinstance(detector, FaceDetector):
        return detector
    if callable(detector):
        return CallableDetector(detector)
    raise TypeError(f"detector must be a name ({sorted(DETECTORS)}), a FaceDetector or a "
                    f"callable, got {type(detector).__name__}")


# ----------------------------------------------------------------------------- running one
def find_faces(image: np.ndarray, detector: DetectorSpec = None,
               max_side: int = MAX_DETECTION_SIDE) -> list[Face]:
    """The faces in one uint8 ``(H, W)``/``(H, W, C)`` image, largest first, in its pixels.

    Images under :data:`MIN_DETECTION_SIDE` pixels give ``[]``; images whose longer side is
    over ``max_side`` are downscaled for detection and the faces scaled back.
    """
    return find_faces_many([image], detector, max_side=max_side)[0]


def find_faces_many(images: Sequence[np.ndarray], detector: DetectorSpec = None, *,
                    max_side: int = MAX_DETECTION_SIDE) -> list[list[Face]]:
    """:func:`find_faces` of each image, with images that have one detection shape sent to
    the detector together (:meth:`FaceDetector.detect_many`), in input order."""
    if int(max_side) < MIN_DETECTION_SIDE:
        raise ValueError(f"max_side must be >= {MIN_DETECTION_SIDE} pixels, got {max_side!r}")
    detector = as_detector(detector)
    prepared = [_detection_input(image, int(max_side)) for image in images]
    groups: dict[tuple, list[int]] = {}
    for index, (pixels, _) in enumerate(prepared):
        if pixels is not None:
            groups.setdefault(pixels.shape, []).append(index)
    found: list[list[Face]] = [[] for _ in prepared]
    for indices in groups.values():
        batch = detector.detect_many([prepared[i][0] for i in indices])
        for index, faces in zip(indices, batch):
            found[index] = _full_resolution(faces, prepared[index][1])
    return found


def _detection_input(image: np.ndarray, max_side: int) -> tuple[np.ndarray | None, float]:
    """The RGB pixels the detector sees (None: too small) and the factor back to ``image``."""
    rgb = to_channels(check_pixels(np.asarray(image), "image"), 3)
    if min(rgb.shape[:2]) < MIN_DETECTION_SIDE:
        return None, 1.0
    factor = max(rgb.shape[:2]) / max_side
    if factor <= 1:
        return rgb, 1.0
    small = resize_image(rgb, (round(rgb.shape[0] / factor), round(rgb.shape[1] / factor)))
    if min(small.shape[:2]) < MIN_DETECTION_SIDE:   # a long thin image: detect at full size
        return rgb, 1.0
    return small, rgb.shape[1] / small.shape[1]


def _full_resolution(faces: Sequence[Face], factor: float) -> list[Face]:
    """Faces found on a downscaled copy, in the original image's pixels, largest first."""
    faces = [face.scaled(factor) if factor != 1 else face for face in faces]
    for face in faces:
        _checked_box(face.box)
    return sorted(faces, key=lambda face: face.area, reverse=True)


def detector_name(detector: DetectorSpec) -> str:
    """The name results carry in their ``detector`` column."""
    return as_detector(detector).name


__all__ = ["Face", "FaceDetector", "HaarDetector", "HaarFaceDetector", "MTCNNDetector",
           "CallableDetector", "CompiledStage", "DETECTORS", "LANDMARKS", "MIN_DETECTION_SIDE",
           "MAX_DETECTION_SIDE", "FRONTAL_FACE_CASCADE", "as_detector", "default_detector_name",
           "detector_name", "find_faces", "find_faces_many", "haar_available", "haar_cascade_path",
           "mtcnn_available", "named_detector"]
