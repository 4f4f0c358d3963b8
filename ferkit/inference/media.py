"""Inputs and outputs of prediction: image files and folders, video frames, annotated videos.

Images are decoded by :func:`ferkit.data.images.read_image` and recognised by
:data:`ferkit.data.images.IMAGE_EXTENSIONS`, the same path and list the data loaders use.
"""
from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Iterable, Iterator, Literal, Sequence

import cv2
import numpy as np

from ferkit.data.images import IMAGE_EXTENSIONS, VIDEO_EXTENSIONS, is_image_file
from ferkit.inference.annotate import annotate
from ferkit.inference.results import FacePrediction

InputKind = Literal["image", "folder", "video"]
#: Frames per second of an annotated video when the source video does not say.
DEFAULT_FPS = 10.0


def input_kind(path: str | Path) -> InputKind:
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


def image_files(folder: str | Path, recursive: bool = False) -> list[Path]:
    """Image files in ``folder`` by extension, sorted; an error when there are none."""
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"image folder {folder} does not exist or is not a folder")
    candidates = folder.rglob("*") if recursive else folder.iterdir()
    files = sorted(p for p in candidates if p.is_file() and is_image_file(p))
    if not files:
        raise FileNotFoundError(f"image folder {folder} holds no images "
                                f"({', '.join(IMAGE_EXTENSIONS)})")
    return files


# ----------------------------------------------------------------------------- reading video
@contextlib.contextmanager
def opened_video(path: str | Path) -> Iterator[cv2.VideoCapture]:
    """An open ``cv2.VideoCapture`` of ``path``, released on exit; errors name the file."""
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


@contextlib.contextmanager
def opened_camera(index: int) -> Iterator[cv2.VideoCapture]:
    """An open ``cv2.VideoCapture`` of webcam ``index``; "no camera N" when there is none."""
    capture = cv2.VideoCapture(int(index))
    try:
        if not capture.isOpened():
            raise OSError(f"no camera {index}: OpenCV cannot open a webcam with that index here")
        yield capture
    finally:
        capture.release()


def frame_count(capture: cv2.VideoCapture) -> int | None:
    """How many frames a video says it has (None for a stream or when it does not say)."""
    count = int(capture.get(cv2.CAP_PROP_FRAME_COUNT))
    return count if count > 0 else None


def sampled_frames(capture: cv2.VideoCapture, path: str | Path, every: int,
                   max_frames: int | None) -> Iterator[tuple[int, np.ndarray]]:
    """``(index, RGB frame)`` for every ``every``-th frame, stopping after ``max_frames``."""
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


def checked_every(every_n_frames: int) -> int:
    """``every_n_frames`` as an int >= 1, or a ValueError naming it."""
    if int(every_n_frames) < 1:
        raise ValueError(f"every_n_frames must be >= 1, got {every_n_frames!r}")
    return int(every_n_frames)


def until_interrupted(items: Iterable) -> Iterator:
    """``items`` until they end or Ctrl-C, which ends a camera stream without a traceback."""
    try:
        yield from items
    except KeyboardInterrupt:
        return


# ----------------------------------------------------------------------------- writing video
class AnnotatedVideo:
    """Writes :func:`annotate`'d RGB frames to an MJPG ``.avi``; does nothing without a path.

    Use it as a context manager; set :attr:`fps` before the first :meth:`write`.
    """

    def __init__(self, path: str | Path | None):
        self.path = None if path is None else Path(path)
        self.fps = DEFAULT_FPS
        self.writer = None

    def __enter__(self) -> "AnnotatedVideo":
        return self

    def write(self, frame: np.ndarray, predictions: Sequence[FacePrediction]) -> None:
        if self.path is None:
            return
        frame = annotate(frame, predictions)
        if self.writer is None:
            self.writer = self._open(frame.shape[1], frame.shape[0])
        self.writer.write(cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))

    def _open(self, width: int, height: int) -> cv2.VideoWriter:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        writer = cv2.VideoWriter(str(self.path), cv2.VideoWriter_fourcc(*"MJPG"), self.fps,
                                 (width, height))
        if not writer.isOpened():
            raise OSError(f"cannot write video {self.path}: OpenCV has no MJPG writer here")
        return writer

    def __exit__(self, *exc) -> None:
        if self.writer is not None:
            self.writer.release()


__all__ = ["input_kind", "image_files", "opened_video", "opened_camera", "frame_count",
           "checked_every", "until_interrupted",
           "sampled_frames", "AnnotatedVideo",
           "IMAGE_EXTENSIONS", "VIDEO_EXTENSIONS", "DEFAULT_FPS"]
