"""Face cropping of raw photos: :func:`detect_faces` with OpenCV's Haar cascade (or any
detector callable), :func:`expand_box`, and :func:`crop_faces`, which reports every image
where zero or several faces were found."""
from __future__ import annotations

import dataclasses
import functools
from pathlib import Path
from typing import Callable, Literal, Sequence

import cv2
import numpy as np
import pandas as pd

from ferkit.data.cleaning.common import (as_size, check_choice, iter_images, source_name,
                                         where_columns)
from ferkit.data.cleaning.normalise import resize_exactly, to_grayscale
from ferkit.data.images import to_channels
from ferkit.data.samples import Samples

FaceBox = tuple[int, int, int, int]
Detector = Callable[[np.ndarray], Sequence[Sequence[int]]]

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
    """OpenCV's Viola-Jones frontal-face detector as a ``detector(grey) -> boxes`` callable.

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

    def __call__(self, grey: np.ndarray) -> list[FaceBox]:
        grey = cv2.equalizeHist(grey) if self.equalize else grey
        boxes = self.classifier.detectMultiScale(grey, scaleFactor=self.scale_factor,
                                                 minNeighbors=self.min_neighbors, minSize=self.min_size)
        return [tuple(int(v) for v in box) for box in np.reshape(boxes, (-1, 4))]


@functools.lru_cache(maxsize=1)
def _default_detector() -> HaarFaceDetector:
    return HaarFaceDetector()


def _grey_uint8(image: np.ndarray) -> np.ndarray:
    grey = to_grayscale(np.asarray(image)[None])[0, ..., 0]
    if grey.dtype != np.uint8:
        grey = cv2.normalize(grey.astype(np.float32), None, 0, 255, cv2.NORM_MINMAX, dtype=cv2.CV_8U)
    return grey


def detect_faces(image: np.ndarray, detector: Detector | None = None) -> list[FaceBox]:
    """Face boxes ``(x, y, width, height)`` in one ``(H, W)`` or ``(H, W, C)`` image, largest first.

    ``detector`` gets a 2-D uint8 grey image and returns boxes; the default is a
    :class:`HaarFaceDetector` with OpenCV's frontal-face cascade.
    """
    image = np.asarray(image)
    if image.ndim not in (2, 3):
        raise ValueError(f"detect_faces takes one (H, W) or (H, W, C) image, got shape {image.shape}")
    found = (detector or _default_detector())(_grey_uint8(image))
    boxes = [tuple(int(v) for v in box) for box in found]
    for box in boxes:
        if len(box) != 4 or box[2] <= 0 or box[3] <= 0:
            raise ValueError(f"detector returned {box!r}; expected (x, y, width, height) with positive sizes")
    return sorted(boxes, key=lambda b: b[2] * b[3], reverse=True)


def expand_box(box: Sequence[int], image_shape: Sequence[int], margin: float) -> FaceBox:
    """``box`` grown by ``margin`` of its width/height on every side, clipped to the image."""
    x, y, w, h = box
    height, width = image_shape[:2]
    x0, y0 = max(0, int(round(x - margin * w))), max(0, int(round(y - margin * h)))
    x1, y1 = min(width, int(round(x + w + margin * w))), min(height, int(round(y + h + margin * h)))
    return x0, y0, x1 - x0, y1 - y0


def _as_channels(image: np.ndarray, channels: int) -> np.ndarray:
    """One image as ``(H, W, channels)``: grey by BT.601 weights, or RGB with alpha dropped."""
    image = image[..., None] if image.ndim == 2 else image
    if channels == 3 and image.shape[-1] == 4:
        image = image[..., :3]
    return to_channels(image, channels)


def _output_channels(samples: Samples, channels: int | None) -> int:
    if channels is None:
        if samples.images is None or samples.images.ndim == 3:
            return 1
        channels = samples.images.shape[-1]
    if channels not in (1, 3):
        raise ValueError(f"channels must be 1 or 3, got {channels}")
    return channels


def _crop_one(image: np.ndarray, boxes: list[FaceBox], margin: float, size: tuple[int, int],
              no_face: str) -> tuple[np.ndarray | None, dict]:
    if not boxes:
        action = "kept uncropped: no face found" if no_face == "keep" else "dropped: no face found"
        kept = resize_exactly(image, size, "area") if no_face == "keep" else None
        return kept, dict(faces=0, action=action, x=None, y=None, width=None, height=None)
    x, y, w, h = expand_box(boxes[0], image.shape, margin)
    interpolation = "area" if w >= size[1] else "cubic"
    crop = resize_exactly(image[y:y + h, x:x + w], size, interpolation)
    action = "cropped" if len(boxes) == 1 else f"cropped the largest of {len(boxes)} faces"
    return crop, dict(faces=len(boxes), action=action, x=x, y=y, width=w, height=h)


def crop_faces(samples: Samples, out_dir: str | Path | None = None, margin: float = 0.2,
               size: int | Sequence[int] = (48, 48), *, detector: Detector | None = None,
               no_face: Literal["keep", "drop"] = "keep",
               channels: int | None = None) -> tuple[Samples, pd.DataFrame]:
    """Crop the largest face of every image, grown by ``margin``, and resize it to ``size``.

    Args:
        out_dir: write the crops as PNG files there (``<row>.png`` or ``<row>_<stem>.png``)
            and return path samples; ``None`` returns in-memory images.
        margin: extra border around the detected box, as a fraction of its size.
        detector: ``detector(grey_uint8) -> [(x, y, w, h), ...]``; default Haar frontal face.
        no_face: for an image without a face, ``"keep"`` it whole (resized) or ``"drop"`` it.
        channels: 1 or 3 output channels (default: those of the in-memory images; 1 for files).

    Returns:
        ``(cropped, report)``. The report has one row per input image: ``row``, where it came
        from, ``faces`` found, ``action`` taken, the crop box ``x, y, width, height`` in the
        source image (missing when not cropped) and ``new_row`` (missing when dropped).
        Filter ``report[report.faces != 1]`` for the images that need a look.
    """
    check_choice("no_face", no_face, ("keep", "drop"))
    if margin < 0:
        raise ValueError(f"margin must be >= 0, got {margin}")
    size, channels = as_size(size), _output_channels(samples, channels)
    crops, records = [], []
    for row, image in iter_images(samples, channels):
        try:
            boxes = detect_faces(image, detector)
        except ValueError as error:
            raise ValueError(f"{source_name(samples)}, row {row}: {error}") from None
        crop, record = _crop_one(_as_channels(image, channels), boxes, margin, size, no_face)
        record.update(row=row, new_row=len(crops) if crop is not None else None)
        records.append(record)
        if crop is not None:
            crops.append(crop)
    report = _crop_report(samples, records)
    kept_rows = report.loc[report["new_row"].notna(), "row"].to_numpy()
    images = np.stack(crops) if crops else np.empty((0, *size, channels), np.uint8)
    return _cropped_samples(samples, kept_rows, images, out_dir, report), report


def _crop_report(samples: Samples, records: list[dict]) -> pd.DataFrame:
    report = pd.DataFrame(records, columns=["row", "faces", "action", "x", "y", "width", "height", "new_row"])
    where = samples.frame[where_columns(samples)].reset_index(drop=True)
    report = pd.concat([report[["row"]], where, report.drop(columns=["row"])], axis=1)
    return report.astype({c: "Int64" for c in ("x", "y", "width", "height", "new_row")})


def _cropped_samples(samples: Samples, kept_rows: np.ndarray, images: np.ndarray,
                     out_dir: str | Path | None, report: pd.DataFrame) -> Samples:
    frame = samples.frame.iloc[kept_rows].reset_index(drop=True)
    if out_dir is None:
        frame = frame.assign(image_index=np.arange(len(frame)))
        return dataclasses.replace(samples, frame=frame, images=images)
    paths = _write_crops(Path(out_dir), samples, kept_rows, images)
    report.loc[report["new_row"].notna(), "output"] = paths
    if "path" in frame.columns:
        frame = frame.rename(columns={"path": "source_path"})
    frame = frame.drop(columns=[c for c in ("image_index",) if c in frame.columns]).assign(path=paths)
    return dataclasses.replace(samples, frame=frame, images=None)


def _write_crops(out_dir: Path, samples: Samples, rows: np.ndarray, images: np.ndarray) -> list[str]:
    if images.dtype not in (np.uint8, np.uint16):
        raise ValueError(f"crop_faces(out_dir=...) writes PNG files, which need uint8 or uint16 "
                         f"images; {source_name(samples)} holds {images.dtype}")
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for row, image in zip(rows, images):
        stem = f"_{Path(samples.frame['path'].iat[row]).stem}" if "path" in samples.frame.columns else ""
        path = out_dir / f"{row:06d}{stem}.png"
        pixels = cv2.cvtColor(image, cv2.COLOR_RGB2BGR) if image.shape[-1] == 3 else image
        if not cv2.imwrite(str(path), pixels):
            raise OSError(f"cannot write cropped image {path}")
        paths.append(str(path))
    return paths
