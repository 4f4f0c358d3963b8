"""Predictor: whole images, detected faces, folders, videos, bad input and the predict command."""
import argparse
import json
import shutil

import cv2
import numpy as np
import pytest

from ferkit.cli import predict as predict_command
from ferkit.data.synthetic import render_face
from ferkit.inference import (
    NO_FACE, OK, NoFaceError, Predictor, annotate, load_preprocessing, load_run_model,
    save_preprocessing,
)
from conftest import write_video

FACE_AT = (50, 30)          # (x, y) where the 96-pixel face is pasted on the canvas


@pytest.fixture(scope="module")
def predictor(tiny_run):
    return Predictor.from_run(tiny_run, detector="haar")


def face_on_canvas() -> np.ndarray:
    canvas = np.full((200, 240), 128, np.uint8)
    x, y = FACE_AT
    canvas[y:y + 96, x:x + 96] = render_face(size=96)
    return canvas


def blank() -> np.ndarray:
    return np.full((120, 140), 128, np.uint8)


def write_png(path, image) -> str:
    assert cv2.imwrite(str(path), image), path
    return str(path)


def copy_run(tiny_run, to, files=("model.keras", "run.json", "config.yaml")):
    to.mkdir()
    for name in files:
        shutil.copy(tiny_run / name, to / name)
    return to


def test_whole_image_gives_one_face_with_every_class_and_au(predictor, tiny_run):
    (face,) = predictor.predict_faces(render_face(size=48), face="whole")
    run = json.loads((tiny_run / "run.json").read_text())
    assert face.box == (0, 0, 48, 48)
    assert list(face.probabilities) == run["classes"]
    assert sum(face.probabilities.values()) == pytest.approx(1.0, abs=1e-5)
    assert face.label == max(face.probabilities, key=face.probabilities.get)
    assert list(face.aus) == [f"AU{au}" for au in run["aus"]]
    assert all(0.0 <= p <= 1.0 for p in face.aus.values())


def test_haar_detects_a_synthetic_face_pasted_on_a_canvas(predictor):
    (face,) = predictor.predict_faces(face_on_canvas(), require_face=True)
    x, y, w, h = face.box
    left, top = FACE_AT
    assert left <= x and top <= y and x + w <= left + 96 and y + h <= top + 96, face.box
    assert w >= 48, f"box {face.box} covers too little of the 96-pixel face"


def test_no_face_gives_an_empty_list_or_an_error_naming_the_file(predictor, tmp_path):
    assert predictor.predict_faces(blank()) == []
    path = write_png(tmp_path / "empty_wall.png", blank())
    with pytest.raises(NoFaceError, match="empty_wall.png"):
        predictor.predict_image(path, require_face=True)


def test_folder_gives_a_row_per_face_and_a_no_face_row(predictor, tmp_path):
    folder = tmp_path / "photos"
    folder.mkdir()
    write_png(folder / "a_face.png", face_on_canvas())
    write_png(folder / "b_wall.png", blank())
    frame = predictor.predict_folder(folder, annotate_to=tmp_path / "annotated")
    assert [p.split("/")[-1] for p in frame["file"]] == ["a_face.png", "b_wall.png"]
    assert frame["status"].tolist() == [OK, NO_FACE]
    assert frame["label"].iloc[0] in predictor.classes and frame["label"].isna().iloc[1]
    assert sorted(p.name for p in (tmp_path / "annotated").iterdir()) == ["a_face.png", "b_wall.png"]


def test_unreadable_images_raise_naming_the_file_or_become_rows(predictor, tmp_path):
    folder = tmp_path / "photos"
    folder.mkdir()
    (folder / "broken.png").write_bytes(b"not a png")
    write_png(folder / "wall.png", blank())
    with pytest.raises(OSError, match="broken.png"):
        predictor.predict_image(folder / "broken.png")
    with pytest.raises(FileNotFoundError, match="missing.png"):
        predictor.predict_image(folder / "missing.png")
    with pytest.raises(OSError, match="broken.png"):
        predictor.predict_folder(folder)
    frame = predictor.predict_folder(folder, on_unreadable="report")
    assert frame["status"].str.startswith("unreadable").tolist() == [True, False]


def test_video_samples_every_nth_frame_and_reports_frames_without_faces(predictor, tmp_path):
    empty = np.full_like(face_on_canvas(), 128)
    video = write_video(tmp_path / "clip.avi", [face_on_canvas()] * 4 + [empty] * 4)
    frame = predictor.predict_video(video, every_n_frames=2, annotate_to=tmp_path / "out.avi")
    assert frame["frame"].tolist() == [0, 2, 4, 6]
    assert frame["status"].tolist() == [OK, OK, NO_FACE, NO_FACE]
    assert frame["time_s"].tolist() == pytest.approx([0.0, 0.2, 0.4, 0.6])
    assert (tmp_path / "out.avi").stat().st_size > 0


def test_unreadable_video_error_names_the_file(predictor, tmp_path):
    (tmp_path / "garbage.avi").write_bytes(b"\x00not a video" * 100)
    with pytest.raises(OSError, match="garbage.avi"):
        predictor.predict_video(tmp_path / "garbage.avi")
    with pytest.raises(ValueError, match="every_n_frames"):
        predictor.predict_video(tmp_path / "garbage.avi", every_n_frames=0)


def test_a_class_list_of_another_length_is_rejected(tiny_run, tmp_path):
    model = load_run_model(tiny_run)
    with pytest.raises(ValueError, match="'emotion' head has .* outputs but the run lists 2"):
        Predictor(model, ["happy", "sad"], image_size=(48, 48))
    other = copy_run(tiny_run, tmp_path / "other_run")
    save_preprocessing(other, (48, 48), 1, ["negative", "positive", "surprise"])
    with pytest.raises(ValueError, match="another run or architecture"):
        Predictor.from_run(other)


def test_an_input_shape_other_than_the_preprocessing_is_rejected(tiny_run):
    preprocessing = load_preprocessing(tiny_run)
    with pytest.raises(ValueError, match=r"\(64, 64, 1\)"):
        Predictor(load_run_model(tiny_run), preprocessing.classes, preprocessing.aus, (64, 64), 1)


def test_a_folder_without_model_file_is_rejected(tiny_run, tmp_path):
    folder = copy_run(tiny_run, tmp_path / "unfinished", files=("run.json",))
    with pytest.raises(FileNotFoundError, match="no model.keras"):
        Predictor.from_run(folder)


def test_preprocessing_json_wins_over_run_json_and_config(tiny_run, tmp_path):
    legacy = copy_run(tiny_run, tmp_path / "legacy")
    written = load_preprocessing(legacy)
    assert list(written.classes) == json.loads((legacy / "run.json").read_text())["classes"]
    save_preprocessing(legacy, written.image_size, written.channels, written.classes, written.aus,
                       margin=0.5)
    assert Predictor.from_run(legacy).preprocessing.margin == 0.5


def test_annotate_draws_boxes_labels_and_no_face_notes(predictor):
    image = face_on_canvas()
    drawn = annotate(image, predictor.predict_faces(image))
    plain = cv2.cvtColor(cv2.resize(image, drawn.shape[1::-1], interpolation=cv2.INTER_NEAREST),
                         cv2.COLOR_GRAY2RGB)
    assert drawn.shape == plain.shape and drawn.dtype == np.uint8
    assert (drawn != plain).any(axis=2).sum() > 200, "no box or label drawn"
    assert (annotate(blank(), []) != 128).any(), "no 'no face' note drawn"


def test_predict_command_prints_a_table_and_writes_csv(tiny_run, tmp_path, capsys):
    folder = tmp_path / "photos"
    folder.mkdir()
    write_png(folder / "face.png", face_on_canvas())
    parser = argparse.ArgumentParser()
    predict_command.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["predict", str(tiny_run), str(folder), "--out", str(tmp_path / "out"),
                              "--detector", "haar", "--quiet"])
    assert args.run(args) == 0
    assert "face.png" in capsys.readouterr().out
    assert (tmp_path / "out" / "predictions.csv").is_file()
    assert (tmp_path / "out" / "annotated" / "face.png").is_file()


def test_the_package_reads_images_through_the_data_layer_and_exports_its_names():
    import ferkit.inference as inference
    from ferkit.data import images

    assert inference.read_image is images.read_image
    assert inference.IMAGE_EXTENSIONS is images.IMAGE_EXTENSIONS
    assert not hasattr(inference, "resize_face") and not hasattr(inference, "to_channels")
    assert [name for name in inference.__all__ if not hasattr(inference, name)] == []
