"""Predict expressions on photos, folders of images and videos with a trained ferkit run.

* :mod:`~ferkit.inference.predictor`: :class:`Predictor` (a model plus the preprocessing it was
  trained with) and :func:`predict_path` for an image, a folder or a video.
* :mod:`~ferkit.inference.media`: which inputs are images or videos, reading video frames and
  writing annotated videos.
* :mod:`~ferkit.inference.annotate`: boxes and labels drawn on a picture.
* :mod:`~ferkit.inference.results`: :class:`FacePrediction`, the rows of a result table and its
  text summary.
* :mod:`~ferkit.inference.progress`: the progress bar of folders and videos (stderr, TTY only).
* :mod:`~ferkit.inference.pipeline`: reading a folder ahead on threads, finding the next
  chunk's faces while the current chunk is predicted, and the clock of where a prediction's
  time goes (decode, detect, align/crop, model, write).

Faces are found by a detector of :mod:`ferkit.data.cleaning.detectors` (``"mtcnn"`` by default
when it imports, else ``"haar"``) and prepared by :func:`ferkit.data.cleaning.align.prepare_face`
(eyes levelled, box grown by the margin), the function data cleaning crops with.

The preprocessing contract (``preprocessing.json``) is :class:`ferkit.runs.Preprocessing`; a face
is prepared by :func:`ferkit.data.images.fit_image`, the function the data loaders use.
"""
from ferkit.data.images import IMAGE_EXTENSIONS, VIDEO_EXTENSIONS, read_image
from ferkit.errors import NoFaceError
from ferkit.inference.annotate import (BOX_COLOUR, MIN_ANNOTATED_SIDE, TEXT_COLOUR, annotate,
                                       save_annotated)
from ferkit.inference.media import image_files, input_kind
from ferkit.inference.predictor import (Detector, Predictor, predict_camera_to, predict_path,
                                        summary_table, write_predictions)
from ferkit.inference.progress import progress
from ferkit.inference.results import (FACE_MODES, LANDMARK_COLUMNS, NO_FACE, OK, WHOLE_IMAGE, Box,
                                      FaceMode, FacePrediction, prediction_rows)
from ferkit.models.loading import (check_model, fitted_preprocessing, head_outputs,
                                   load_model_file, load_run_model, model_heads)
from ferkit.runs import (DEFAULT_MARGIN, FACE_DETECTOR, PIXEL_DIVISOR, PREPROCESSING_FORMAT,
                         PREPROCESSING_VERSION, Preprocessing, load_preprocessing,
                         save_preprocessing)

__all__ = [
    "Predictor", "FacePrediction", "predict_path", "predict_camera_to", "write_predictions",
    "summary_table", "prediction_rows", "progress", "LANDMARK_COLUMNS", "WHOLE_IMAGE",
    "annotate", "save_annotated", "image_files", "input_kind", "read_image", "NoFaceError",
    "Preprocessing", "load_preprocessing", "save_preprocessing", "load_model_file",
    "load_run_model", "check_model", "fitted_preprocessing", "model_heads", "head_outputs",
    "IMAGE_EXTENSIONS", "VIDEO_EXTENSIONS", "FACE_MODES", "NO_FACE", "OK", "Box", "FaceMode",
    "Detector", "DEFAULT_MARGIN", "FACE_DETECTOR", "PIXEL_DIVISOR", "PREPROCESSING_FORMAT",
    "PREPROCESSING_VERSION", "MIN_ANNOTATED_SIDE",
    "BOX_COLOUR", "TEXT_COLOUR",
]
