"""examples/benchmarks/in_the_wild.py on a tiny generated photo set: its scoring rules, its
crops against the Predictor's, and one end-to-end run with the detection cache."""
import json
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
import pytest

from ferkit.data.cleaning import mtcnn_available
from ferkit.data.synthetic import render_face
from conftest import load_script

SCRIPT = Path(__file__).resolve().parents[2] / "examples" / "benchmarks" / "in_the_wild.py"
#: The fixture's photos: four drawn faces and one empty picture (no face for any detector).
LABELS = ["happiness", "neutral", "contempt", "anger", "sadness"]


def _script():
    return load_script(SCRIPT, "in_the_wild")


itw = _script()


@pytest.fixture
def photo_set(tmp_path) -> Path:
    """A muxspace-like folder: ``images/*.jpg`` (160x160 RGB) and ``labels.csv``."""
    folder = tmp_path / "photos"
    (folder / "images").mkdir(parents=True)
    names = []
    for k, _ in enumerate(LABELS):
        canvas = np.full((160, 160), 128, np.uint8)
        if k < len(LABELS) - 1:
            canvas[32:128, 32:128] = render_face(size=96, seed=k)
        names.append(f"photo_{k}.jpg")
        cv2.imwrite(str(folder / "images" / names[-1]), np.repeat(canvas[..., None], 3, axis=2))
    pd.DataFrame({"image": names, "emotion": LABELS,
                  "person": [f"p{k}" for k in range(len(LABELS))]}).to_csv(folder / "labels.csv",
                                                                          index=False)
    return folder


def test_score_counts_no_face_as_wrong_and_leaves_out_labels_the_model_cannot_name():
    truth = np.array(["anger", "happiness", "contempt", "neutral", "happiness"], dtype=object)
    predicted = ["anger", itw.NO_FACE, "anger", "neutral", "neutral"]
    labels = ("anger", "happiness", "neutral")              # a model without contempt
    figures = itw.score(truth, predicted, labels)
    assert figures["rows scored"] == 4 and figures["rows with a face"] == 3
    assert figures["accuracy"] == pytest.approx(2 / 4)
    assert figures["acc (faces)"] == pytest.approx(2 / 3)
    # per-label F1: anger 1, happiness 0 (never predicted), neutral 2/3
    assert figures["macro-F1"] == pytest.approx((1 + 0 + 2 / 3) / 3)
    assert figures["happiness recall"] == 0 and figures["anger recall"] == 1


def test_model_class_names_map_to_the_dataset_labels():
    fer2013 = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")
    probabilities = np.eye(7)
    assert itw.predicted_labels(fer2013, probabilities) == [
        "anger", "disgust", "fear", "happiness", "sadness", "surprise", "neutral"]
    assert set(itw.LABEL_NAMES.values()) == set(itw.DATASET_LABELS)


def test_levelled_eyes_keep_their_midpoint_and_give_no_rotation():
    from ferkit.data.cleaning import LANDMARKS, Face, eye_angle

    marks = dict(zip(LANDMARKS, [(70.0, 90.0), (130.0, 110.0), (100, 130), (80, 150), (120, 150)]))
    face = Face((50, 50, 100, 110), 0.99, marks)
    levelled = itw.eyes_levelled(face)
    assert eye_angle(face) > 10 and eye_angle(levelled) == 0
    assert levelled.eyes == ((70.0, 100.0), (130.0, 100.0)) and levelled.box == face.box
    assert itw.eyes_levelled(Face((0, 0, 5, 5))) == Face((0, 0, 5, 5))


def test_crops_are_the_ones_the_predictor_makes(photo_set):
    from ferkit.inference import Predictor

    photos = itw.load_photos(photo_set)
    predictor = Predictor.from_preset("fer2013", detector="haar")
    p = predictor.preprocessing
    found = itw.detect_all(photos, "haar", itw.ferkit_face_finder("haar"), progress=False)
    assert found.faces[-1] == [] and all(found.faces[:-1]), "the empty picture has a face?"
    detected = itw.ferkit_crops(photos, found.faces, p.image_size, p.channels, p.margin, False)
    whole = itw.ferkit_crops(photos, None, p.image_size, p.channels, p.margin, False)
    for k, path in enumerate(photos.paths):
        image = itw.read_photo(path)
        faces, crops = predictor.face_crops(image, "detect")
        if crops:
            np.testing.assert_array_equal(detected[k], crops[0])
        else:
            assert detected[k] is None
        np.testing.assert_array_equal(whole[k], predictor.face_crops(image, "whole")[1][0])


def test_benchmark_runs_end_to_end_and_reuses_its_detections(photo_set, tmp_path, capsys):
    out = tmp_path / "out"
    detectors = "mtcnn,haar" if mtcnn_available() else "haar"
    argv = ["--data", str(photo_set), "--out", str(out), "--detectors", detectors,
            "--presets", "fer2013,ckplus_au", "--quiet"]
    summary = itw.main(argv)
    first = capsys.readouterr().out
    rows = {(r["model"], r["setting"]): r for r in summary["accuracy"]}
    fer2013 = [r for (model, _), r in rows.items() if model == "ferkit fer2013"]
    ckplus = [r for (model, _), r in rows.items() if model == "ferkit ckplus_au"]
    assert {r["setting"] for r in fer2013} >= {"haar", "whole photo"}
    if mtcnn_available():
        assert {r["setting"] for r in fer2013} == set(itw.FERKIT_SETTINGS)
    assert all(r["rows scored"] == 4 for r in fer2013), "contempt is left out of a 7-class model"
    assert all(r["rows scored"] == 4 for r in ckplus), "neutral is left out of ckplus_au"
    assert rows[("ferkit fer2013", "whole photo")]["rows with a face"] == 4
    assert rows[("ferkit fer2013", "haar")]["rows with a face"] == 3, "the empty picture"
    haar = next(r for r in summary["detection"] if r["detector"] == "haar")
    assert haar["photos"] == 5 and haar["with a face"] == 4
    assert haar["detection rate"] == pytest.approx(0.8) and haar["median ms/photo"] > 0
    baseline = rows[(itw.MAJORITY, "always anger")]   # one photo each: ties go by name
    assert baseline["rows scored"] == 4 and baseline["accuracy"] == pytest.approx(1 / 4)
    if summary["fer"]:
        fer_rows = [r for (model, _), r in rows.items() if model == itw.FER_MODEL]
        assert fer_rows and all(r["rows scored"] == 4 for r in fer_rows)
    for name in ["detection.csv", "accuracy.csv", "predictions.csv", "summary.json", "table.md"]:
        assert (out / name).is_file(), name
    predictions = pd.read_csv(out / "predictions.csv")
    assert predictions["ferkit fer2013 | haar"].iloc[-1] == itw.NO_FACE
    assert json.loads((out / "class_counts.json").read_text())["contempt"] == 1
    assert "| ferkit fer2013 | whole photo | 4 |" in first
    assert "reused" not in first

    again = itw.main(argv)
    assert "faces reused" in capsys.readouterr().out
    assert again["accuracy"] == summary["accuracy"]
