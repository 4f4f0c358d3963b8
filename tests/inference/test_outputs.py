"""Result frames people use: one row per face, detector and landmark columns, p_/au_ columns,
no-face/multi-face/tiny/huge inputs, the video CSV, the camera error and the progress bar."""
import argparse
import io
import math

import cv2
import numpy as np
import pandas as pd
import pytest

from ferkit.cli import predict as predict_command
from ferkit.data.cleaning import LANDMARKS, Face, FaceDetector, crop_faces, mtcnn_available
from ferkit.data.samples import Samples
from ferkit.data.synthetic import render_face
from ferkit.inference import (LANDMARK_COLUMNS, NO_FACE, OK, WHOLE_IMAGE, Predictor, annotate,
                              predict_path, progress)
from ferkit.inference.annotate import LANDMARK_COLOUR
from ferkit.runs import RunDir
from conftest import write_video


class SquareFaces(FaceDetector):
    """Every bright square is a face, its eyes tilted (the right one lower)."""

    name = "squares"

    def __call__(self, rgb):
        grey = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
        count, _, stats, _ = cv2.connectedComponentsWithStats((grey > 200).astype(np.uint8))
        faces = []
        for x, y, w, h, _ in stats[1:count]:
            points = [(x + w * 0.3, y + h * 0.25), (x + w * 0.7, y + h * 0.35), (x + w / 2, y + h / 2),
                      (x + w * 0.3, y + h * 0.8), (x + w * 0.7, y + h * 0.8)]
            faces.append(Face((int(x), int(y), int(w), int(h)), 0.95, dict(zip(LANDMARKS, points))))
        return faces


def squares(*boxes, size=(120, 160)) -> np.ndarray:
    image = np.zeros(size, np.uint8)
    for x, y, side in boxes:
        image[y:y + side, x:x + side] = 255
        image[y + side // 4, x + 2:x + side - 2] = 90      # a stripe, so alignment matters
    return image


@pytest.fixture(scope="module")
def predictor(tiny_run):
    return Predictor.from_run(tiny_run, detector=SquareFaces())


def test_a_frame_has_one_row_per_face_with_every_column(predictor):
    frame = predictor.predict_image(squares((10, 10, 30), (70, 40, 60)))
    classes, aus = predictor.classes, predictor.aus
    assert list(frame.columns) == [
        "file", "face", "status", "detector", "x", "y", "width", "height", "detector_score",
        *LANDMARK_COLUMNS, "label", "score", *(f"p_{c}" for c in classes), *(f"au_{a}" for a in aus)]
    assert aus, "the tiny run is a multi-task model; au_<n> columns are expected"
    assert frame["face"].tolist() == [0, 1] and frame["status"].tolist() == [OK, OK]
    assert frame[["x", "y", "width", "height"]].iloc[0].tolist() == [70, 40, 60, 60]
    assert frame["detector"].unique().tolist() == ["squares"]
    assert frame["detector_score"].tolist() == pytest.approx([0.95, 0.95])
    assert frame["left_eye_x"].iloc[0] == pytest.approx(70 + 18)
    assert frame[[f"p_{c}" for c in classes]].sum(axis=1).tolist() == pytest.approx([1, 1], abs=1e-5)
    assert set(frame["label"]) <= set(classes) and frame["file"].isna().all()


def test_no_face_and_tiny_images_give_a_no_face_row_not_an_error(predictor):
    for image in (np.zeros((80, 80), np.uint8), np.full((12, 12), 255, np.uint8)):
        frame = predictor.predict_image(image)
        assert frame["status"].tolist() == [NO_FACE] and frame["detector"].tolist() == ["squares"]
        assert frame["label"].isna().all() and frame["left_eye_x"].isna().all()


def test_whole_image_rows_have_no_landmarks_and_say_so(predictor):
    frame = predictor.predict_image(np.full((12, 12), 255, np.uint8), face="whole")
    assert frame["status"].tolist() == [OK] and frame["detector"].tolist() == [WHOLE_IMAGE]
    assert frame[list(LANDMARK_COLUMNS)].isna().all(axis=None)
    assert math.isnan(frame["detector_score"].iloc[0])


def test_huge_images_give_boxes_in_full_resolution(predictor):
    frame = predictor.predict_image(squares((1200, 800, 400), size=(1500, 2400)))
    one_detection_pixel = 2400 / predictor.detect_size   # the detector sees a downscaled copy
    assert frame[["x", "y", "width", "height"]].iloc[0].tolist() == pytest.approx(
        [1200, 800, 400, 400], abs=max(3, one_detection_pixel))


def test_predictor_and_crop_faces_prepare_a_face_identically(predictor, tiny_run):
    image = squares((40, 20, 60))
    _, (crop,) = predictor.face_crops(image)
    samples = Samples(frame=pd.DataFrame({"label": [0], "image_index": [0]}), classes=("a",),
                      images=image[None])
    p = predictor.preprocessing
    cropped, _ = crop_faces(samples, margin=p.margin, size=p.image_size, detector=SquareFaces(),
                            channels=p.channels)
    np.testing.assert_array_equal(cropped.images[0], crop)
    unaligned = Predictor.from_run(tiny_run, detector=SquareFaces(), align=False)
    _, (plain,) = unaligned.face_crops(image)
    assert (plain != crop).any(), "align=False cropped the tilted face the same as align=True"


def test_video_gives_a_per_frame_csv_and_an_annotated_video(predictor, tmp_path):
    video = write_video(tmp_path / "clip.avi", [squares((10, 10, 30), (70, 40, 60))] * 2 +
                        [np.zeros((120, 160), np.uint8)] * 2)
    frame = predict_path(predictor, video, tmp_path / "out", progress=False)
    written = pd.read_csv(tmp_path / "out" / RunDir.PREDICTIONS)
    assert written["frame"].tolist() == [0, 0, 1, 1, 2, 3] == frame["frame"].tolist()
    assert written["status"].tolist() == [OK, OK, OK, OK, NO_FACE, NO_FACE]
    assert written["time_s"].tolist() == pytest.approx([0, 0, 0.1, 0.1, 0.2, 0.3])
    assert (tmp_path / "out" / "annotated.avi").stat().st_size > 0


def test_a_missing_camera_is_named(predictor):
    with pytest.raises(OSError, match="no camera 97"):
        predictor.predict_camera(97, max_frames=1)


def test_progress_bar_draws_only_when_asked_or_on_a_terminal():
    stream = io.StringIO()
    assert list(progress(range(3), "images", 3, enabled=True, stream=stream)) == [0, 1, 2]
    assert "images [" in stream.getvalue() and "3/3" in stream.getvalue()
    quiet = io.StringIO()
    assert list(progress(range(3), "images", 3, enabled=None, stream=quiet)) == [0, 1, 2]
    assert quiet.getvalue() == "", "a progress bar was drawn on a stream that is not a terminal"


def test_predict_command_names_a_missing_camera(tiny_run):
    parser = argparse.ArgumentParser()
    predict_command.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["predict", str(tiny_run), "--camera", "97", "--detector", "haar",
                              "--no-align", "--quiet"])
    assert args.detector == "haar" and args.no_align and args.camera == 97
    with pytest.raises(OSError, match="no camera 97"):
        args.run(args)


def test_annotate_marks_the_landmarks(predictor):
    image = squares((40, 20, 60))
    (face,) = predictor.predict_faces(image)
    drawn = annotate(image, [face])
    factor = drawn.shape[0] // image.shape[0]
    x, y = (round(v * factor) for v in face.landmarks["nose"])
    assert tuple(drawn[y, x]) == LANDMARK_COLOUR


@pytest.mark.skipif(not mtcnn_available(), reason="the mtcnn package is not installed")
def test_the_default_detector_is_mtcnn_with_landmarks_in_the_frame(tiny_run):
    canvas = np.full((240, 320), 128, np.uint8)
    canvas[20:116, 40:136] = render_face(size=96)
    frame = Predictor.from_run(tiny_run).predict_image(canvas)
    assert frame["detector"].tolist() == ["mtcnn"] and frame["status"].tolist() == [OK]
    assert frame[list(LANDMARK_COLUMNS)].notna().all(axis=None)
    assert frame["left_eye_x"].iloc[0] < frame["right_eye_x"].iloc[0]
