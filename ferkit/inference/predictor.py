"""A trained model plus its preprocessing: images, folders and videos in, face predictions out.

A :class:`Predictor` prepares a face the way data cleaning crops one: find faces with a
detector (``"mtcnn"`` by default when the package imports, else ``"haar"``) or take the whole
image as one face, then :func:`ferkit.data.cleaning.align.prepare_face` (eyes levelled when
there are landmarks, box grown by ``margin``, :func:`ferkit.data.images.fit_image`) and scale to
float32 by ``pixel_divisor``. The contract is the run's ``preprocessing.json``
(:class:`ferkit.runs.Preprocessing`). Results are pandas frames, one row per face.

Image arrays given to the predictor are uint8, ``(H, W)`` grey or ``(H, W, 3)`` RGB
(``(H, W, 4)`` RGBA loses its alpha); files are read by :func:`ferkit.data.images.read_image`.

Speed on folders comes from three knobs (keyword-only, defaults the fast ones): ``batch_size``
images go through the detector and their faces through the model together; ``workers``
threads decode the next images and find the next chunk's faces meanwhile; the detector sees a
copy whose longer side is ``detect_size`` pixels (faces are cut from the full-size image).
:attr:`Predictor.times` says where the time went.
"""
from __future__ import annotations

import functools
import math
import time
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterable, Iterator, Literal, Sequence

import cv2
import numpy as np
import pandas as pd

from ferkit.data.cleaning.align import prepare_face
from ferkit.data.cleaning.detectors import (MAX_DETECTION_SIDE, MIN_DETECTION_SIDE, DetectorSpec,
                                             Face, FaceDetector, as_detector, find_faces_many)
from ferkit.data.images import check_pixels, fit_image, read_image
from ferkit.errors import NoFaceError
from ferkit.inference.annotate import save_annotated
from ferkit.inference.media import (AnnotatedVideo, checked_every, frame_count, image_files,
                                    input_kind, opened_camera, opened_video, sampled_frames,
                                    until_interrupted)
from ferkit.inference.pipeline import (ReadAhead, StageTimes, check_count, check_speed_options,
                                       chunks, overlapped)
from ferkit.inference.progress import progress as progress_bar
from ferkit.inference.results import (LANDMARK_COLUMNS, WHOLE_IMAGE, FaceMode, FacePrediction,
                                      check_face_mode, prediction_rows, status_counts,
                                      summary_table)
from ferkit.models.loading import (fitted_preprocessing, head_outputs, load_model_file,
                                   load_run_model)
from ferkit.models.pretrained import DEFAULT_PRESET, load_preset
from ferkit.models.tflite import TFLiteModel
from ferkit.runs import DEFAULT_MARGIN, PIXEL_DIVISOR, Preprocessing, RunDir, load_preprocessing

if TYPE_CHECKING:
    import keras

#: What ``detector=`` accepts: ``"mtcnn"``, ``"haar"``, a
#: :class:`~ferkit.data.cleaning.detectors.FaceDetector`, a plain ``fn(grey_uint8) -> boxes``,
#: or None for the default (``"mtcnn"`` when it imports, else ``"haar"``).
Detector = DetectorSpec
OnUnreadable = Literal["raise", "report"]
#: What :func:`predict_path` writes under ``out``: annotated pictures of images, of a video.
ANNOTATED_FOLDER = "annotated"
ANNOTATED_VIDEO = "annotated.avi"
#: Images (and faces) per detector and model call.
DEFAULT_BATCH_SIZE = 64
#: Threads that decode the next images of a folder while the current ones are predicted.
DEFAULT_WORKERS = 2
#: Longer side, in pixels, of the copy of each image the detector sees. A face needs about
#: ``MIN_DETECTION_SIDE`` pixels in that copy (here 1/6 of the longer side); an image in which
#: none is found is searched again at full size, so only smaller faces *beside* a larger one are
#: missed: raise it for group photos.
DEFAULT_DETECT_SIZE = 128


class Predictor:
    """A model plus its preprocessing: images, folders and videos in, face predictions out.

    Args:
        model: a ferkit Keras model (dict outputs ``emotion`` and optionally ``au``), or a
            :class:`ferkit.models.tflite.TFLiteModel` of one.
        classes: emotion class names, in the order of the ``emotion`` outputs.
        aus: action unit numbers, in the order of the ``au`` outputs (ignored without one).
        image_size, channels: the model input (checked against the model).
        detector: ``"mtcnn"``, ``"haar"``, a ``FaceDetector`` or ``fn(grey_uint8) -> boxes``;
            default ``"mtcnn"`` when the package imports, else ``"haar"`` (built on first use).
        margin: detected boxes grow by this fraction of their size on every side.
        align: rotate each face so its eyes are level (when the detector gives landmarks).
        source: how errors name the model (``from_run`` uses the file path).
        batch_size: images per detector call and faces per model call.
        detect_size: the detector sees each image downscaled so its longer side is at most
            this many pixels; faces are cropped from the full-size image.
        workers: threads that decode a folder's next images meanwhile; above 0, the next
            chunk's faces are also found on a thread of their own (0: no threads at all).
        pixel_divisor: model input = uint8 pixels / this (255: the training pipeline's).
    """

    def __init__(self, model: "keras.Model", classes: Sequence[str], aus: Sequence[int] = (),
                 image_size: Sequence[int] = (48, 48), channels: int = 1,
                 detector: Detector = None, margin: float = DEFAULT_MARGIN, *,
                 align: bool = True, source: str = "model",
                 batch_size: int = DEFAULT_BATCH_SIZE, detect_size: int = DEFAULT_DETECT_SIZE,
                 workers: int = DEFAULT_WORKERS, pixel_divisor: float = PIXEL_DIVISOR):
        self.model = model
        self.source = source
        self.detector = detector
        self.align = bool(align)
        self._face_detector: FaceDetector | None = None
        self.batch_size = check_count("batch_size", batch_size, 1)
        self.detect_size = check_count("detect_size", detect_size, MIN_DETECTION_SIDE)
        self.workers = check_count("workers", workers, 0)
        #: Seconds spent per stage (decode, detect, align/crop, model, write) since built.
        self.times = StageTimes()
        wanted = Preprocessing(tuple(image_size), channels, tuple(classes), tuple(aus), margin,
                               pixel_divisor)
        self.preprocessing = fitted_preprocessing(model, wanted, source)

    @classmethod
    def from_run(cls, run_dir: str | Path, *, model_file: str | Path | None = None,
                 detector: Detector = None, margin: float | None = None, align: bool = True,
                 safe_mode: bool | None = None, **speed) -> "Predictor":
        """Load ``run_dir/model.keras`` with its ``preprocessing.json``.

        ``model_file``: this file of the run instead, e.g. its int8 ``ferkit export`` (a
        ``.tflite`` runs as a :class:`~ferkit.models.tflite.TFLiteModel`). ``speed``:
        ``batch_size``, ``detect_size``, ``workers`` as in :class:`Predictor`. ``safe_mode``:
        see :func:`ferkit.models.loading.load_model_file` (default safe).
        """
        check_speed_options(speed)
        if model_file is None:
            source = RunDir(run_dir) / RunDir.MODEL
            model = load_run_model(run_dir, safe_mode=safe_mode)
        else:
            source = Path(model_file)
            model = (TFLiteModel(source) if source.suffix.lower() == ".tflite"
                     else load_model_file(source, safe_mode=safe_mode))
        return cls.from_model(model, load_preprocessing(run_dir), detector=detector, margin=margin,
                              align=align, source=str(source), **speed)

    @classmethod
    def from_preset(cls, name: str = DEFAULT_PRESET, *, detector: Detector = None,
                    margin: float | None = None, align: bool = True,
                    **speed) -> "Predictor":
        """A predictor with a pretrained preset shipped inside ferkit (no download).

        ``name`` is one of :func:`ferkit.models.pretrained.list_presets` (default ``fer2013``);
        its weights are checked against their SHA-256 before use. ``speed``: ``batch_size``,
        ``detect_size``, ``workers`` as in :class:`Predictor`.
        """
        check_speed_options(speed)
        model, preprocessing = load_preset(name)
        return cls.from_model(model, preprocessing, detector=detector, margin=margin,
                              align=align, source=f"preset {name!r}", **speed)

    @classmethod
    def from_model(cls, model: "keras.Model", preprocessing: Preprocessing, *,
                   detector: Detector = None, margin: float | None = None, align: bool = True,
                   source: str = "model", **speed) -> "Predictor":
        """A predictor from a loaded model and a :class:`~ferkit.runs.Preprocessing`."""
        check_speed_options(speed)
        p = preprocessing
        return cls(model, p.classes, p.aus, p.image_size, p.channels, detector,
                   p.margin if margin is None else margin, align=align, source=source,
                   pixel_divisor=p.pixel_divisor, **speed)

    @property
    def classes(self) -> tuple[str, ...]:
        return self.preprocessing.classes

    @property
    def aus(self) -> tuple[int, ...]:
        return self.preprocessing.aus

    @property
    def face_detector(self) -> FaceDetector:
        """The detector behind ``face="detect"``, built the first time it is needed."""
        if self._face_detector is None:
            self._face_detector = as_detector(self.detector)
        return self._face_detector

    def detector_label(self, face: FaceMode) -> str:
        """What the ``detector`` column says: the detector's name, or ``"whole image"``."""
        return WHOLE_IMAGE if face == "whole" else self.face_detector.name

    # ------------------------------------------------------------------ one image
    def predict_image(self, image_or_path: np.ndarray | str | Path, face: FaceMode = "detect",
                      require_face: bool = False) -> pd.DataFrame:
        """One row per face in one image, largest first, or one ``"no face"`` row.

        ``face="whole"`` treats the image as one face crop (CK+, FER2013 images). With
        ``require_face`` an image without a face raises :class:`~ferkit.errors.NoFaceError`.
        """
        name = str(image_or_path) if isinstance(image_or_path, (str, Path)) else None
        found = self.predict_faces(image_or_path, face, require_face)
        return self._frame(prediction_rows(self._where(name, face), found), ["file"])

    def predict_faces(self, image_or_path: np.ndarray | str | Path, face: FaceMode = "detect",
                      require_face: bool = False) -> list[FacePrediction]:
        """:meth:`predict_image` as :class:`FacePrediction` objects (``[]`` without a face)."""
        check_face_mode(face)
        name, image = self._loaded(image_or_path)
        predictions = self.predict_arrays([image], face)[0]
        if require_face and not predictions:
            raise NoFaceError(f"{name}: no face found by the {self.face_detector.name} face "
                              "detector; pass face='whole' for images that are already face crops")
        return predictions

    def predict_arrays(self, images: Sequence[np.ndarray],
                       face: FaceMode = "detect") -> list[list[FacePrediction]]:
        """Predictions for a list of uint8 images; all their faces go through the model together."""
        check_face_mode(face)
        images = [check_pixels(image, "image") for image in images]
        return self._predict_found(images, self._timed_find(images, face), face)

    def _timed_find(self, images: Sequence[np.ndarray], face: FaceMode) -> list[list[Face]]:
        with self.times.timing("detect"):
            return self.find_faces(images, face)

    def _chunk_faces(self, face: FaceMode, pixels_of: Callable[[list], list], what: str):
        """A step for :func:`overlapped`: a chunk -> its checked pictures (``pixels_of`` the
        chunk, each checked as ``what``) and their faces."""
        def find(chunk: list) -> tuple[list[np.ndarray], list[list[Face]]]:
            pictures = [check_pixels(pixels, what) for pixels in pixels_of(chunk)]
            return pictures, self._timed_find(pictures, face)
        return find

    def _predict_found(self, images: Sequence[np.ndarray], found: list[list[Face]],
                       face: FaceMode) -> list[list[FacePrediction]]:
        """The crops and model predictions of faces already found in checked images."""
        with self.times.timing("align/crop"):
            crops = [crop for image, faces in zip(images, found)
                     for crop in self._crops(image, faces, face)]
        with self.times.timing("model"):
            outputs = self._predict_crops(crops)
        results, start = [], 0
        for faces in found:
            results.append([self._prediction(f, outputs, start + i) for i, f in enumerate(faces)])
            start += len(faces)
        return results

    def find_faces(self, images: Sequence[np.ndarray],
                   face: FaceMode = "detect") -> list[list[Face]]:
        """Each image's faces, largest first, or the whole image.

        Faces are detected together at ``detect_size``
        (:func:`~ferkit.data.cleaning.detectors.find_faces_many`); images without one that
        were downscaled for that are searched again at full size (up to
        :data:`~ferkit.data.cleaning.detectors.MAX_DETECTION_SIDE`), so a lone small face is
        still found.
        """
        if face == "whole":
            return [[Face((0, 0, image.shape[1], image.shape[0]))] for image in images]
        found = find_faces_many(images, self.face_detector, max_side=self.detect_size)
        again = [i for i, faces in enumerate(found)
                 if not faces and max(images[i].shape[:2]) > self.detect_size]
        if again and self.detect_size < MAX_DETECTION_SIDE:
            retried = find_faces_many([images[i] for i in again], self.face_detector)
            for index, faces in zip(again, retried):
                found[index] = faces
        return found

    def model_inputs(self, crops: Sequence[np.ndarray]) -> np.ndarray:
        """Face crops from :meth:`face_crops` as the float32 batch the model is called on."""
        return np.stack(crops).astype(np.float32) / np.float32(self.preprocessing.pixel_divisor)

    def face_crops(self, image: np.ndarray,
                   face: FaceMode = "detect") -> tuple[list[Face], list[np.ndarray]]:
        """The faces of ``image`` and each one as uint8 ``(H, W, channels)`` model pixels.

        Faces are prepared by :func:`ferkit.data.cleaning.align.prepare_face`, the function
        :func:`ferkit.data.cleaning.crop_faces` uses.
        """
        check_face_mode(face)
        image = check_pixels(image, "image")
        faces = self.find_faces([image], face)[0]
        return faces, self._crops(image, faces, face)

    def _crops(self, image: np.ndarray, faces: Sequence[Face], face: FaceMode) -> list[np.ndarray]:
        size, channels = self.preprocessing.image_size, self.preprocessing.channels
        if face == "whole":
            return [fit_image(image, size, channels)]
        margin = self.preprocessing.margin
        return [prepare_face(image, f, size, channels, margin, self.align) for f in faces]

    def _loaded(self, image_or_path) -> tuple[str, np.ndarray]:
        if isinstance(image_or_path, (str, Path)):
            return str(image_or_path), read_image(image_or_path)
        return "image array", check_pixels(image_or_path, "image array")

    def _predict_crops(self, crops: list[np.ndarray]) -> dict[str, np.ndarray]:
        if not crops:
            return {}
        batches = [head_outputs(self.model.predict_on_batch(self.model_inputs(chunk)))
                   for chunk in chunks(crops, self.batch_size)]
        return {head: np.concatenate([b[head] for b in batches]) for head in batches[0]}

    def _prediction(self, face: Face, outputs: dict[str, np.ndarray], row: int) -> FacePrediction:
        probabilities = dict(zip(self.classes, map(float, outputs["emotion"][row])))
        aus = {}
        if self.aus:
            aus = {f"AU{au}": float(v) for au, v in zip(self.aus, outputs["au"][row])}
        return FacePrediction(tuple(int(v) for v in face.box), probabilities, aus, face.score,
                              face.landmarks)

    # ------------------------------------------------------------------ many images
    def predict_files(self, paths: Sequence[str | Path], face: FaceMode = "detect",
                      annotate_to: str | Path | None = None,
                      on_unreadable: OnUnreadable = "raise",
                      progress: bool | None = None) -> pd.DataFrame:
        """One row per face (``file``, ``face``, ``status``, ``detector``, box, landmarks,
        label, score, ``p_<class>``, ``au_<n>``).

        An image without a face gets one row with status ``"no face"``; an unreadable one
        raises, or with ``on_unreadable="report"`` gets a row with status ``"unreadable: ..."``.
        ``annotate_to`` saves an annotated PNG per image into that folder. ``progress`` draws
        a bar on stderr (default: when stderr is a terminal).
        """
        if on_unreadable not in ("raise", "report"):
            raise ValueError(f"on_unreadable must be 'raise' or 'report', got {on_unreadable!r}")
        rows = []
        read = functools.partial(_read_or_report, on_unreadable=on_unreadable)
        paths = progress_bar(paths, "images", len(paths), progress)
        check_face_mode(face)
        with ReadAhead(paths, read, chunk_size=self.batch_size, workers=self.workers) as reader:
            find = self._chunk_faces(face, lambda loaded: [
                image for _, image in loaded if not isinstance(image, str)], "image")
            detected = overlapped(self._timed_chunks(reader), find, background=self.workers > 0)
            for loaded, (images, found) in detected:
                predictions = iter(self._predict_found(images, found, face))
                for path, image in loaded:
                    where = self._where(str(path), face)
                    if isinstance(image, str):
                        rows.append({**where, "status": f"unreadable: {image}"})
                        continue
                    predicted = next(predictions)
                    rows.extend(prediction_rows(where, predicted))
                    if annotate_to is not None:
                        with self.times.timing("write"):
                            reader.in_background(save_annotated, image, predicted,
                                                 Path(annotate_to) / f"{Path(path).stem}.png")
            with self.times.timing("write"):
                reader.wait()
        return self._frame(rows, ["file"])

    def _timed_chunks(self, reader: Iterable[list]) -> Iterator[list]:
        """The reader's chunks, the wait for each counted as decode time."""
        iterator = iter(reader)
        while True:
            with self.times.timing("decode"):
                chunk = next(iterator, None)
            if chunk is None:
                return
            yield chunk

    def predict_folder(self, folder: str | Path, face: FaceMode = "detect", *,
                       recursive: bool = False, annotate_to: str | Path | None = None,
                       on_unreadable: OnUnreadable = "raise",
                       progress: bool | None = None) -> pd.DataFrame:
        """:meth:`predict_files` on the images in ``folder`` (by extension, sorted)."""
        return self.predict_files(image_files(folder, recursive), face, annotate_to,
                                  on_unreadable, progress)

    def predict_video(self, path: str | Path, every_n_frames: int = 1, face: FaceMode = "detect",
                      *, annotate_to: str | Path | None = None, max_frames: int | None = None,
                      progress: bool | None = None) -> pd.DataFrame:
        """One row per face in every ``every_n_frames``-th frame (``frame``, ``time_s`` added).

        Frames without a face get a ``"no face"`` row. ``annotate_to`` writes the sampled
        frames, annotated, as an MJPG ``.avi``. ``max_frames`` stops after that many frames.
        """
        check_face_mode(face)
        every = checked_every(every_n_frames)
        with opened_video(path) as capture:
            fps = capture.get(cv2.CAP_PROP_FPS)
            total = frame_count(capture)
            total = min(total, max_frames) if total and max_frames else total or max_frames
            frames = sampled_frames(capture, path, every, max_frames)
            timed = ((index, index / fps if fps > 0 else math.nan, frame)
                     for index, frame in progress_bar(frames, "frames", total and -(-total // every),
                                                      progress))
            return self._predict_frames(timed, str(path), face, annotate_to,
                                        fps / every if fps > 0 else None)

    def predict_camera(self, index: int = 0, every_n_frames: int = 1, face: FaceMode = "detect",
                       *, annotate_to: str | Path | None = None, max_frames: int | None = None,
                       progress: bool | None = None) -> pd.DataFrame:
        """:meth:`predict_video` on webcam ``index`` until ``max_frames`` or Ctrl-C.

        ``file`` is ``"camera <index>"`` and ``time_s`` the seconds since the stream opened.
        Raises ``OSError("no camera <index>: ...")`` where there is no such webcam.
        """
        check_face_mode(face)
        every = checked_every(every_n_frames)
        with opened_camera(index) as capture:
            start = time.monotonic()
            frames = sampled_frames(capture, f"camera {index}", every, max_frames)
            timed = ((i, time.monotonic() - start, frame)
                     for i, frame in progress_bar(frames, "frames", None, progress))
            return self._predict_frames(until_interrupted(timed), f"camera {index}", face,
                                        annotate_to, None, ahead=False)

    def _predict_frames(self, timed_frames: Iterable[tuple[int, float, np.ndarray]], name: str,
                        face: FaceMode, annotate_to: str | Path | None,
                        fps: float | None, *, ahead: bool = True) -> pd.DataFrame:
        """Rows for every frame; with ``ahead`` (files, not a live camera) the next chunk's
        faces are found on a thread meanwhile."""
        rows = []
        with AnnotatedVideo(annotate_to) as annotated:
            annotated.fps = fps or annotated.fps
            find = self._chunk_faces(face, lambda chunk: [f for _, _, f in chunk], "frame")
            detected = overlapped(chunks(timed_frames, self.batch_size), find,
                                  background=ahead and self.workers > 0)
            for chunk, (frames, found) in detected:
                predictions = self._predict_found(frames, found, face)
                for (index, seconds, frame), predicted in zip(chunk, predictions):
                    where = {"file": name, "frame": index, "time_s": seconds,
                             "detector": self.detector_label(face)}
                    rows.extend(prediction_rows(where, predicted))
                    annotated.write(frame, predicted)
        return self._frame(rows, ["file", "frame", "time_s"])

    def _where(self, name: str | None, face: FaceMode) -> dict:
        return {"file": name, "detector": self.detector_label(face)}

    def columns(self, where: Sequence[str] = ("file",)) -> list[str]:
        """The columns of a result frame, in order."""
        return [*where, "face", "status", "detector", "x", "y", "width", "height",
                "detector_score", *LANDMARK_COLUMNS, "label", "score",
                *(f"p_{c}" for c in self.classes), *(f"au_{a}" for a in self.aus)]

    def _frame(self, rows: list[dict], where: list[str]) -> pd.DataFrame:
        frame = pd.DataFrame(rows, columns=self.columns(where))
        floats = ["detector_score", *LANDMARK_COLUMNS, "score",
                  *(c for c in frame.columns if c.startswith(("p_", "au_")))]
        frame[floats] = frame[floats].astype(float)
        return frame.astype({c: "Int64" for c in ("face", "x", "y", "width", "height")})


def _read_or_report(path, on_unreadable: OnUnreadable) -> np.ndarray | str:
    """The image, or with ``on_unreadable="report"`` the reason it cannot be read."""
    try:
        return read_image(path)
    except OSError as err:  # ImageReadError and ImageNotFoundError included
        if on_unreadable == "raise":
            raise
        return str(err)


# ----------------------------------------------------------------------------- whole inputs
def predict_path(predictor: Predictor, path: str | Path, out: str | Path | None = None,
                 face: FaceMode = "detect", every_n_frames: int = 1,
                 progress: bool | None = None) -> pd.DataFrame:
    """Predict an image, folder or video; with ``out``, write ``predictions.csv`` and pictures.

    Pictures: ``out/annotated/<stem>.png`` for images, ``out/annotated.avi`` for a video.
    """
    out = None if out is None else Path(out)
    kind = input_kind(path)
    if kind == "video":
        frame = predictor.predict_video(path, every_n_frames, face, progress=progress,
                                        annotate_to=out / ANNOTATED_VIDEO if out else None)
    else:
        files = image_files(path) if kind == "folder" else [Path(path)]
        on_unreadable = "report" if kind == "folder" else "raise"
        frame = predictor.predict_files(files, face, out / ANNOTATED_FOLDER if out else None,
                                        on_unreadable, progress)
    if out is not None:
        with predictor.times.timing("write"):
            write_predictions(frame, out)
    return frame


def predict_camera_to(predictor: Predictor, index: int, out: str | Path | None = None,
                      face: FaceMode = "detect", every_n_frames: int = 1,
                      max_frames: int | None = None, progress: bool | None = None) -> pd.DataFrame:
    """:meth:`Predictor.predict_camera`; with ``out``, ``predictions.csv`` and ``annotated.avi``."""
    out = None if out is None else Path(out)
    frame = predictor.predict_camera(index, every_n_frames, face, max_frames=max_frames,
                                     annotate_to=out / ANNOTATED_VIDEO if out else None,
                                     progress=progress)
    if out is not None:
        write_predictions(frame, out)
    return frame


def write_predictions(frame: pd.DataFrame, out: str | Path) -> Path:
    """The result frame as ``out/predictions.csv`` (one row per face, or per frame without)."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    frame.to_csv(out / RunDir.PREDICTIONS, index=False)
    return out / RunDir.PREDICTIONS


__all__ = ["Predictor", "Detector", "predict_path", "predict_camera_to", "write_predictions",
           "summary_table", "status_counts",
           "ANNOTATED_FOLDER", "ANNOTATED_VIDEO", "DEFAULT_BATCH_SIZE", "DEFAULT_DETECT_SIZE",
           "DEFAULT_WORKERS"]
