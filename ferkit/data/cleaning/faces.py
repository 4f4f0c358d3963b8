"""Face cropping of raw photos: :func:`detect_faces` (boxes, largest first) and
:func:`crop_faces`, which crops every image's largest face the way the predictor does
(:func:`ferkit.data.cleaning.align.prepare_face`: detect, align the eyes, grow by ``margin``,
fit) and reports every image where zero or several faces were found."""
from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Literal, Sequence

import cv2
import numpy as np
import pandas as pd

from ferkit.data.cleaning.align import clip_box, face_pixels, square_box
from ferkit.data.cleaning.common import (as_size, check_choice, iter_images, source_name,
                                         where_columns)
from ferkit.data.cleaning.detectors import DetectorSpec, Face, as_detector, find_faces
from ferkit.data.images import fit_image, to_channels
from ferkit.data.samples import Samples

FaceBox = tuple[int, int, int, int]
#: What ``detector=`` accepts: a name ("mtcnn", "haar"), a :class:`FaceDetector`, a plain
#: ``fn(grey_uint8) -> [(x, y, w, h), ...]`` or None (the default detector).
Detector = DetectorSpec


def _detection_pixels(image: np.ndarray) -> np.ndarray:
    """``image`` as uint8 for a detector (other dtypes stretched to 0-255)."""
    image = np.asarray(image)
    if image.dtype != np.uint8:
        image = cv2.normalize(image.astype(np.float32), None, 0, 255, cv2.NORM_MINMAX, dtype=cv2.CV_8U)
    return image


def detect_faces(image: np.ndarray, detector: Detector = None) -> list[FaceBox]:
    """Face boxes ``(x, y, width, height)`` in one ``(H, W)`` or ``(H, W, C)`` image, largest first.

    ``detector`` is a name, a :class:`~ferkit.data.cleaning.detectors.FaceDetector` or a plain
    ``fn(grey_uint8) -> boxes``; the default is the learned detector when ``mtcnn`` imports,
    else OpenCV's Haar cascade. :func:`~ferkit.data.cleaning.detectors.find_faces` gives the
    scores and landmarks too.
    """
    image = np.asarray(image)
    if image.ndim not in (2, 3):
        raise ValueError(f"detect_faces takes one (H, W) or (H, W, C) image, got shape {image.shape}")
    return [face.box for face in find_faces(_detection_pixels(image), detector)]


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


def _crop_one(image: np.ndarray, faces: list[Face], margin: float, size: tuple[int, int],
              no_face: str, align: bool) -> tuple[np.ndarray | None, dict]:
    if not faces:
        action = "kept uncropped: no face found" if no_face == "keep" else "dropped: no face found"
        kept = fit_image(image, size, image.shape[-1]) if no_face == "keep" else None
        return kept, dict(faces=0, action=action, x=None, y=None, width=None, height=None)
    face = faces[0]
    x, y, w, h = clip_box(square_box(face.box, margin), image.shape)
    crop = fit_image(face_pixels(image, face, margin, align), size, image.shape[-1])
    action = "cropped" if len(faces) == 1 else f"cropped the largest of {len(faces)} faces"
    if align and face.eyes is not None:
        action += ", eyes levelled"
    return crop, dict(faces=len(faces), action=action, x=x, y=y, width=w, height=h,
                      score=face.score)


def crop_faces(samples: Samples, out_dir: str | Path | None = None, margin: float = 0.2,
               size: int | Sequence[int] = (48, 48), *, detector: Detector = None,
               align: bool = True, no_face: Literal["keep", "drop"] = "keep",
               channels: int | None = None) -> tuple[Samples, pd.DataFrame]:
    """Crop the largest face of every image, grown by ``margin``, and resize it to ``size``.

    Args:
        out_dir: write the crops as PNG files there (``<row>.png`` or ``<row>_<stem>.png``)
            and return path samples; ``None`` returns in-memory images.
        margin: extra border around the detected box, as a fraction of its size.
        detector: ``"mtcnn"``, ``"haar"``, a ``FaceDetector`` or ``fn(grey_uint8) -> boxes``;
            default: ``"mtcnn"`` when the package imports, else ``"haar"``.
        align: rotate about the eyes so they are level when the detector gives landmarks.
        no_face: for an image without a face, ``"keep"`` it whole (resized) or ``"drop"`` it.
        channels: 1 or 3 output channels (default: those of the in-memory images; 1 for files).

    Returns:
        ``(cropped, report)``. The report has one row per input image: ``row``, where it came
        from, ``faces`` found, ``action`` taken, the crop box ``x, y, width, height`` in the
        source image before any rotation (the grown square around the face, clipped to the
        image; missing when not cropped), the ``detector`` and its
        ``score``, and ``new_row`` (missing when dropped).
        Filter ``report[report.faces != 1]`` for the images that need a look.
    """
    check_choice("no_face", no_face, ("keep", "drop"))
    if margin < 0:
        raise ValueError(f"margin must be >= 0, got {margin}")
    size, channels = as_size(size), _output_channels(samples, channels)
    detector = as_detector(detector)
    crops, records = [], []
    for row, image in iter_images(samples, channels):
        try:
            faces = find_faces(_detection_pixels(image), detector)
        except ValueError as error:
            raise ValueError(f"{source_name(samples)}, row {row}: {error}") from None
        crop, record = _crop_one(_as_channels(image, channels), faces, margin, size, no_face, align)
        record.update(row=row, detector=detector.name,
                      new_row=len(crops) if crop is not None else None)
        records.append(record)
        if crop is not None:
            crops.append(crop)
    report = _crop_report(samples, records)
    kept_rows = report.loc[report["new_row"].notna(), "row"].to_numpy()
    images = np.stack(crops) if crops else np.empty((0, *size, channels), np.uint8)
    return _cropped_samples(samples, kept_rows, images, out_dir, report), report


REPORT_COLUMNS = ["row", "faces", "action", "x", "y", "width", "height", "detector", "score",
                  "new_row"]


def _crop_report(samples: Samples, records: list[dict]) -> pd.DataFrame:
    report = pd.DataFrame(records, columns=REPORT_COLUMNS)
    where = samples.frame[where_columns(samples)].reset_index(drop=True)
    report = pd.concat([report[["row"]], where, report.drop(columns=["row"])], axis=1)
    report["score"] = report["score"].astype(float)
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
