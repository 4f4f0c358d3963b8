"""Data cleaning: duplicate images, pixel preprocessing, and face cropping.

Three jobs that come before any training run, one module each:

* :mod:`~ferkit.data.cleaning.dedupe`: exact and perceptual hashes, duplicate groups,
  :func:`duplicate_report` (groups, cross-split leakage, label conflicts) and
  :func:`drop_duplicates` by an explicit policy.
* :mod:`~ferkit.data.cleaning.normalise`: :func:`resize`, :func:`minmax_normalize`,
  :class:`Standardizer` (fitted on training images only), :func:`to_grayscale`,
  :func:`to_rgb`, as loops over :mod:`ferkit.data.images`.
* :mod:`~ferkit.data.cleaning.detectors`: face detectors behind one protocol
  (``detector(rgb) -> list[Face]``): the learned ``"mtcnn"`` (weights inside its wheel) and
  OpenCV's ``"haar"`` cascade; :func:`find_faces` downscales huge images for detection.
* :mod:`~ferkit.data.cleaning.align`: :func:`prepare_face`, eyes levelled, box grown by the
  margin, fitted to the model input; the predictor prepares faces with it too.
* :mod:`~ferkit.data.cleaning.faces`: :func:`detect_faces` and :func:`crop_faces`, which
  reports every image where zero or several faces were found.

Image conventions: a batch is ``(n, H, W)`` or ``(n, H, W, C)``; colour images in memory are
RGB (as :func:`ferkit.data.sources.ckplus.read_images` makes them); files are decoded by
:mod:`ferkit.data.images`. Row numbers in reports are positions in ``samples.frame``.
"""
from ferkit.data.cleaning.dedupe import (
    DEFAULT_MAX_DISTANCE, HASH_LOW, HASH_SIDE, AcrossSplits, DuplicateKind, DuplicateReport,
    drop_duplicates, duplicate_report, exact_hash, find_duplicates, hamming_distance,
    image_hashes, perceptual_hash, with_duplicate_groups,
)
from ferkit.data.cleaning.align import aligned_crop, expand_box, eye_angle, prepare_face
from ferkit.data.cleaning.detectors import (
    DETECTORS, FRONTAL_FACE_CASCADE, LANDMARKS, MAX_DETECTION_SIDE, MIN_DETECTION_SIDE, Face,
    FaceDetector, HaarDetector, HaarFaceDetector, MTCNNDetector, as_detector,
    default_detector_name, find_faces, haar_available, haar_cascade_path, mtcnn_available,
)
from ferkit.data.cleaning.faces import Detector, FaceBox, crop_faces, detect_faces
from ferkit.data.cleaning.normalise import (
    Standardizer, minmax_normalize, resize, to_grayscale, to_rgb,
)
from ferkit.data.images import INTERPOLATIONS

__all__ = [
    "DEFAULT_MAX_DISTANCE", "HASH_LOW", "HASH_SIDE", "AcrossSplits", "DuplicateKind",
    "DuplicateReport", "drop_duplicates", "duplicate_report", "exact_hash", "find_duplicates",
    "hamming_distance", "image_hashes", "perceptual_hash", "with_duplicate_groups",
    "FRONTAL_FACE_CASCADE", "Detector", "FaceBox", "HaarFaceDetector", "crop_faces",
    "detect_faces", "expand_box", "haar_available", "haar_cascade_path", "INTERPOLATIONS",
    "DETECTORS", "LANDMARKS", "MAX_DETECTION_SIDE", "MIN_DETECTION_SIDE", "Face",
    "FaceDetector", "HaarDetector", "MTCNNDetector", "as_detector", "default_detector_name",
    "find_faces", "mtcnn_available", "aligned_crop", "eye_angle", "prepare_face",
    "Standardizer", "minmax_normalize", "resize", "to_grayscale", "to_rgb",
]
