"""Batched, reduced-resolution face detection: one detector call per image shape, faces mapped
back to the full-size image, the input order kept."""
import numpy as np
import pytest

from ferkit.data.cleaning.detectors import (LANDMARKS, Face, FaceDetector, find_faces,
                                            find_faces_many, mtcnn_available)
from ferkit.data.synthetic import render_face


class CornerFace(FaceDetector):
    """One face in the top-left quarter of whatever it is shown; records the calls."""

    name = "corner"

    def __init__(self):
        self.calls = []

    def __call__(self, rgb):
        return self.detect_many([rgb])[0]

    def detect_many(self, rgbs):
        self.calls.append([rgb.shape for rgb in rgbs])
        faces = []
        for rgb in rgbs:
            h, w = rgb.shape[:2]
            points = {name: (w / 8 + i, h / 8 + i) for i, name in enumerate(LANDMARKS)}
            faces.append([Face((w // 8, h // 8, w // 4, h // 4), 0.9, points)])
        return faces


def test_images_of_one_shape_share_one_detector_call_and_keep_their_order():
    detector = CornerFace()
    images = [np.zeros((100, 200), np.uint8), np.zeros((60, 60), np.uint8),
              np.zeros((100, 200), np.uint8), np.zeros((10, 10), np.uint8)]
    found = find_faces_many(images, detector, max_side=1024)
    assert sorted(map(len, detector.calls)) == [1, 2], f"calls per shape: {detector.calls}"
    assert [f[0].box if f else None for f in found] == [(25, 12, 50, 25), (7, 7, 15, 15),
                                                        (25, 12, 50, 25), None]


def test_faces_found_on_a_downscaled_copy_are_in_full_size_pixels():
    detector = CornerFace()
    (face,), = find_faces_many([np.zeros((800, 1000, 3), np.uint8)], detector, max_side=100)
    assert detector.calls == [[(80, 100, 3)]], "the detector did not see a 100-pixel copy"
    assert face.box == (120, 100, 250, 200)
    assert face.landmarks["left_eye"] == pytest.approx((125.0, 100.0))
    assert face.landmarks["nose"] == pytest.approx((125 + 2 * 10, 100 + 2 * 10))


def test_a_detection_size_below_the_smallest_face_is_refused():
    with pytest.raises(ValueError, match=r"max_side must be >= 20 pixels, got 8"):
        find_faces_many([np.zeros((50, 50), np.uint8)], CornerFace(), max_side=8)


@pytest.mark.skipif(not mtcnn_available(), reason="the mtcnn package is not installed")
def test_mtcnn_on_a_reduced_copy_finds_the_face_where_full_size_detection_does():
    canvas = np.full((720, 960), 128, np.uint8)
    canvas[300:396, 500:596] = render_face(size=96)
    (full,) = find_faces(canvas, "mtcnn", max_side=1024)
    (small,) = find_faces_many([canvas], "mtcnn", max_side=320)[0]
    x, y, w, h = small.box
    assert 500 <= x + w / 2 <= 596 and 300 <= y + h / 2 <= 396 and 40 <= w <= 110, \
        f"box {small.box} is not on the face drawn at (500, 300, 96, 96)"
    assert np.abs(np.subtract(small.box, full.box)).max() <= 12, (small.box, full.box)
    for name in ("left_eye", "right_eye"):
        assert np.hypot(*np.subtract(small.landmarks[name], full.landmarks[name])) <= 6, name


@pytest.mark.skipif(not mtcnn_available(), reason="the mtcnn package is not installed")
def test_mtcnn_with_a_larger_smallest_face_still_finds_a_large_face():
    from ferkit.data.cleaning.detectors import MTCNNDetector

    canvas = np.full((240, 320, 3), 128, np.uint8)
    canvas[40:136, 100:196] = render_face(size=96)[..., None]
    (default,) = MTCNNDetector()(canvas)
    (larger,) = MTCNNDetector(min_face_size=40)(canvas)
    assert np.abs(np.subtract(larger.box, default.box)).max() <= 6, (larger.box, default.box)
    with pytest.raises(ValueError, match="min_face_size must be >= 20 pixels, got 12"):
        MTCNNDetector(min_face_size=12)


@pytest.mark.skipif(not mtcnn_available(), reason="the mtcnn package is not installed")
def test_mtcnn_stages_run_compiled_and_find_what_the_eager_networks_find():
    from mtcnn import MTCNN

    from ferkit.data.cleaning.detectors import CompiledStage, MTCNNDetector, compile_stages

    detector = MTCNNDetector()
    assert all(isinstance(stage.model, CompiledStage)
               for stage in detector.network.stages), "a stage still runs eagerly"
    assert compile_stages(detector.network) == 0, "compiled twice"
    assert detector(np.full((120, 160, 3), 128, np.uint8)) == [], "a blank image has a face"
    canvases = []
    for shift in (0, 30, 60):
        canvas = np.full((240, 320, 3), 128, np.uint8)
        canvas[40 + shift // 2:136 + shift // 2, 60 + shift:156 + shift] = render_face(size=96)[..., None]
        canvases.append(canvas)
    compiled = detector.detect_many(canvases)
    detector.network = MTCNN(device="CPU:0")          # the package's own eager networks
    eager = detector.detect_many(canvases)
    assert [len(faces) for faces in compiled] == [len(faces) for faces in eager] == [1, 1, 1]
    for (c,), (e,) in zip(compiled, eager):
        assert c.box == e.box and c.score == pytest.approx(e.score, abs=1e-5)
