"""Face detectors (protocol, names, tiny and huge images), eye alignment and crop_faces with them."""
import math

import cv2
import numpy as np
import pandas as pd
import pytest

from ferkit.data.cleaning import (
    LANDMARKS, MAX_DETECTION_SIDE, Face, FaceDetector, HaarDetector, MTCNNDetector, aligned_crop,
    as_detector, crop_faces, default_detector_name, eye_angle, find_faces, mtcnn_available,
    prepare_face,
)
from ferkit.data.cleaning.align import clip_box, face_pixels, square_box
from ferkit.data.samples import Samples
from ferkit.data.synthetic import render_face

EYES = ((70.0, 90.0), (130.0, 110.0))     # the right eye 20 px lower: about 18.4 degrees


def tilted_eyes_image() -> np.ndarray:
    """A grey 200x200 picture with two dark eye dots at :data:`EYES`."""
    image = np.full((200, 200), 200, np.uint8)
    for x, y in EYES:
        cv2.circle(image, (int(x), int(y)), 5, 0, -1)
    return image


def tilted_face() -> Face:
    landmarks = dict(zip(LANDMARKS, [*EYES, (100, 130), (80, 150), (120, 150)]))
    return Face((50, 50, 100, 110), 0.99, landmarks)


def dark_dot_centres(image: np.ndarray) -> list[tuple[float, float]]:
    count, _, _, centres = cv2.connectedComponentsWithStats((image < 100).astype(np.uint8))
    return sorted(tuple(c) for c in centres[1:count])


class SquareFaces(FaceDetector):
    """A stand-in learned detector: every bright square is a face, eyes a quarter way down."""

    name = "squares"

    def __init__(self):
        self.seen_shapes = []

    def __call__(self, rgb):
        self.seen_shapes.append(rgb.shape)
        grey = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
        count, _, stats, _ = cv2.connectedComponentsWithStats((grey > 200).astype(np.uint8))
        faces = []
        for x, y, w, h, _ in stats[1:count]:
            eyes = ((x + w * 0.3, y + h * 0.25), (x + w * 0.7, y + h * 0.25))
            marks = dict(zip(LANDMARKS, [*eyes, (x + w / 2, y + h / 2), (x + w * 0.3, y + h * 0.8),
                                         (x + w * 0.7, y + h * 0.8)]))
            faces.append(Face((int(x), int(y), int(w), int(h)), 0.9, marks))
        return faces


def squares(*boxes, size=(120, 160)) -> np.ndarray:
    image = np.zeros(size, np.uint8)
    for x, y, side in boxes:
        image[y:y + side, x:x + side] = 255
    return image


# ----------------------------------------------------------------------------- alignment
def test_alignment_levels_eyes_at_known_tilted_positions():
    face = tilted_face()
    assert eye_angle(face) == pytest.approx(math.degrees(math.atan2(20, 60)))
    (left, right) = dark_dot_centres(aligned_crop(tilted_eyes_image(), face, margin=0.2))
    assert abs(left[1] - right[1]) < 1.0, f"eyes not level after alignment: {left}, {right}"
    assert right[0] - left[0] == pytest.approx(math.hypot(60, 20), abs=1.5)
    unaligned = prepare_face(tilted_eyes_image(), face, (120, 100), 1, 0.2, align=False)
    (left, right) = dark_dot_centres(unaligned[..., 0])
    assert right[1] - left[1] > 15, "align=False must keep the tilt"


def test_alignment_keeps_the_crop_size_of_the_grown_square_and_channels():
    rgb = np.repeat(tilted_eyes_image()[..., None], 3, axis=-1)
    crop = aligned_crop(rgb, tilted_face(), margin=0.2)
    assert crop.shape == (round(110 * 1.4), round(110 * 1.4), 3) and crop.dtype == np.uint8
    assert prepare_face(rgb, tilted_face(), (48, 48), 1, 0.2).shape == (48, 48, 1)


def test_a_face_without_landmarks_is_cropped_unrotated():
    face = Face((50, 50, 100, 110))
    assert face.eyes is None and eye_angle(face) == 0.0
    crop = prepare_face(tilted_eyes_image(), face, (110, 110), 1, 0.0)
    np.testing.assert_array_equal(crop[..., 0], tilted_eyes_image()[50:160, 45:155])


# ----------------------------------------------------------------------------- crop geometry
def gradient_image(height=120, width=160) -> np.ndarray:
    """Every pixel distinct enough that a shifted, stretched or clipped crop shows."""
    ys, xs = np.mgrid[0:height, 0:width]
    return ((xs * 7 + ys * 3) % 251).astype(np.uint8)


def level_face(box) -> Face:
    x, y, w, h = box
    eyes = [(x + w * 0.3, y + h * 0.35), (x + w * 0.7, y + h * 0.35)]
    return Face(tuple(box), 0.99, dict(zip(LANDMARKS, [*eyes, (x + w / 2, y + h / 2),
                                                         (x + w * 0.35, y + h * 0.75),
                                                         (x + w * 0.65, y + h * 0.75)])))


def replicated(image: np.ndarray, x: int, y: int, side: int) -> np.ndarray:
    """The ``side`` square at ``(x, y)`` of ``image`` with its edge pixels repeated outside."""
    rows = np.clip(np.arange(y, y + side), 0, image.shape[0] - 1)
    cols = np.clip(np.arange(x, x + side), 0, image.shape[1] - 1)
    return image[np.ix_(rows, cols)]


def test_a_level_face_gives_the_same_crop_with_and_without_alignment():
    image, face = gradient_image(), level_face((40, 30, 50, 50))
    assert eye_angle(face) == 0.0
    aligned = prepare_face(image, face, (48, 48), 1, 0.2, align=True)
    plain = prepare_face(image, face, (48, 48), 1, 0.2, align=False)
    np.testing.assert_array_equal(aligned, plain)
    np.testing.assert_array_equal(face_pixels(image, face, 0.2, align=True),
                                  replicated(image, 30, 20, 70))


@pytest.mark.parametrize("align", [True, False])
def test_a_box_off_the_image_edge_gives_the_whole_grown_square(align):
    image = gradient_image()
    face = level_face((120, -10, 50, 50))             # runs off the right and the top edge
    crop = face_pixels(image, face, 0.2, align=align)
    assert crop.shape == (70, 70)
    np.testing.assert_array_equal(crop, replicated(image, 110, -20, 70))
    assert square_box(face.box, 0.2) == (110, -20, 70, 70)
    assert clip_box(square_box(face.box, 0.2), image.shape) == (110, 0, 50, 50)


@pytest.mark.parametrize("align", [True, False])
def test_a_tall_box_is_cropped_as_the_square_around_it_not_stretched(align):
    image, face = gradient_image(), level_face((60, 20, 30, 60))
    crop = face_pixels(image, face, 0.0, align=align)
    np.testing.assert_array_equal(crop, image[20:80, 45:105])
    prepared = prepare_face(image, face, (60, 60), 1, 0.0, align=align)
    np.testing.assert_array_equal(prepared[..., 0], image[20:80, 45:105])


# ----------------------------------------------------------------------------- detectors
def test_find_faces_sorts_largest_first_and_keeps_landmarks():
    faces = find_faces(squares((5, 5, 20), (60, 30, 50)), SquareFaces())
    assert [f.box for f in faces] == [(60, 30, 50, 50), (5, 5, 20, 20)]
    assert faces[0].landmarks["left_eye"] == pytest.approx((75.0, 42.5))


def test_tiny_images_give_no_face_without_calling_the_detector():
    detector = SquareFaces()
    assert find_faces(np.full((15, 40), 255, np.uint8), detector) == []
    assert detector.seen_shapes == []


def test_huge_images_are_downscaled_for_detection_and_faces_mapped_back():
    detector = SquareFaces()
    image = squares((900, 600, 600), size=(2000, 3000))
    (face,) = find_faces(image, detector)
    assert max(detector.seen_shapes[0][:2]) == MAX_DETECTION_SIDE
    assert face.box == pytest.approx((900, 600, 600, 600), abs=4)
    assert face.landmarks["left_eye"] == pytest.approx((900 + 180, 600 + 150), abs=4)


def test_detectors_by_name_and_plain_box_functions():
    assert isinstance(as_detector("haar"), HaarDetector) and as_detector("haar") is as_detector("haar")
    assert default_detector_name() == ("mtcnn" if mtcnn_available() else "haar")
    with pytest.raises(ValueError, match="unknown face detector 'retina'.*haar"):
        as_detector("retina")
    plain = as_detector(lambda grey: [(1, 2, 3, 4)])
    (face,) = plain(np.zeros((30, 30, 3), np.uint8))
    assert face.box == (1, 2, 3, 4) and math.isnan(face.score) and face.landmarks is None


def test_haar_gives_boxes_without_score_or_landmarks():
    canvas = np.full((200, 240), 128, np.uint8)
    canvas[30:126, 50:146] = render_face(size=96)
    (face,) = find_faces(canvas, "haar")
    assert face.landmarks is None and math.isnan(face.score)
    x, y, w, h = face.box
    assert 50 <= x and 30 <= y and x + w <= 146 and y + h <= 126


@pytest.mark.skipif(not mtcnn_available(), reason="the mtcnn package is not installed")
def test_mtcnn_loads_offline_finds_a_synthetic_face_with_landmarks_and_is_deterministic():
    detector = MTCNNDetector()
    canvas = np.full((240, 320, 3), 128, np.uint8)
    canvas[20:116, 40:136] = render_face(size=96)[..., None]
    (face,) = find_faces(canvas, detector)
    x, y, w, h = face.box
    assert 30 <= x and 10 <= y and x + w <= 146 and y + h <= 126, face.box
    assert 0.9 <= face.score <= 1.0 and set(face.landmarks) == set(LANDMARKS)
    (lx, ly), (rx, ry) = face.eyes
    assert x <= lx < rx <= x + w and y <= ly < y + h / 2, face.landmarks
    assert find_faces(canvas, detector) == [face], "MTCNN gave another answer the second time"
    assert find_faces(np.full((100, 100, 3), 128, np.uint8), detector) == []


# ----------------------------------------------------------------------------- crop_faces
def test_crop_faces_aligns_with_a_landmark_detector_and_names_it():
    samples = Samples(frame=pd.DataFrame({"label": [0, 0], "image_index": [0, 1]}),
                      classes=("a",), images=np.stack([squares((40, 20, 60)), squares()]))
    cropped, report = crop_faces(samples, margin=0.1, size=(24, 24), detector=SquareFaces())
    assert report["detector"].tolist() == ["squares", "squares"]
    assert report["action"].tolist() == ["cropped, eyes levelled", "kept uncropped: no face found"]
    assert report["score"].iloc[0] == pytest.approx(0.9) and math.isnan(report["score"].iloc[1])
    assert cropped.images.shape == (2, 24, 24, 1)
    _, plain = crop_faces(samples, size=(24, 24), detector=SquareFaces(), align=False)
    assert plain["action"].iloc[0] == "cropped"
