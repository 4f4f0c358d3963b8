"""The predictor's speed knobs: batching across images and the reader threads change nothing
in the results; their values are checked, in Python and on the command line."""
import argparse
import random
import threading
import time

import cv2
import numpy as np
import pandas as pd
import pytest

from ferkit.cli import predict as predict_command
from ferkit.data.cleaning import Face, FaceDetector
from ferkit.data.cleaning.detectors import MIN_DETECTION_SIDE
from ferkit.inference import Predictor
from ferkit.inference import predictor as predictor_module
from ferkit.inference.pipeline import ReadAhead, overlapped


class BrightSquares(FaceDetector):
    """Every bright square is a face (no landmarks); counts the images per call."""

    name = "squares"

    def __init__(self):
        self.batch_sizes = []

    def __call__(self, rgb):
        return self.detect_many([rgb])[0]

    def detect_many(self, rgbs):
        self.batch_sizes.append(len(rgbs))
        return [self._faces(rgb) for rgb in rgbs]

    @staticmethod
    def _faces(rgb):
        grey = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
        count, _, stats, _ = cv2.connectedComponentsWithStats((grey > 200).astype(np.uint8))
        return [Face((int(x), int(y), int(w), int(h))) for x, y, w, h, _ in stats[1:count]]


def photo(seed: int) -> np.ndarray:
    """A 120x160 grey picture with one to three textured squares."""
    rng = np.random.default_rng(seed)
    image = rng.integers(0, 120, (120, 160), dtype=np.uint8)
    for i in range(1 + seed % 3):
        x, y, side = 5 + 50 * i, 10 + 7 * i, 30 + 5 * i
        image[y:y + side, x:x + side] = 255
        image[y + side // 3, x + 2:x + side - 2] = rng.integers(0, 90)   # still one square
    return image


@pytest.fixture(scope="module")
def photos(tmp_path_factory):
    folder = tmp_path_factory.mktemp("photos")
    paths = [folder / f"{i:02d}.png" for i in range(7)]
    for i, path in enumerate(paths):
        cv2.imwrite(str(path), photo(i))
    return paths


def test_faces_batched_across_images_match_one_image_at_a_time(tiny_run, photos):
    batched_detector = BrightSquares()
    batched = Predictor.from_run(tiny_run, detector=batched_detector, batch_size=4, workers=0)
    single = Predictor.from_run(tiny_run, detector=BrightSquares(), batch_size=1, workers=0)
    many = batched.predict_files(photos, progress=False)
    one_by_one = pd.concat([single.predict_image(path) for path in photos], ignore_index=True)
    assert batched_detector.batch_sizes == [4, 3], "images were not detected 4 at a time"
    assert len(many) == sum(1 + i % 3 for i in range(7)) and (many["status"] == "ok").all()
    pd.testing.assert_frame_equal(many, one_by_one, check_exact=False, atol=1e-5)


def test_reader_threads_keep_the_order_of_the_files(tiny_run, photos):
    threaded = Predictor.from_run(tiny_run, detector=BrightSquares(), batch_size=3, workers=3)
    plain = Predictor.from_run(tiny_run, detector=BrightSquares(), batch_size=3, workers=0)
    pd.testing.assert_frame_equal(threaded.predict_files(photos, progress=False),
                                  plain.predict_files(photos, progress=False))


def test_read_ahead_yields_chunks_in_order_while_reads_finish_out_of_order():
    reader_threads = set()

    def slow_read(value):
        reader_threads.add(threading.current_thread().name)
        time.sleep(random.Random(value).uniform(0, 0.02))
        return value * 10

    with ReadAhead(range(11), slow_read, chunk_size=4, workers=3) as reader:
        chunks = list(reader)
    assert [[v for v, _ in chunk] for chunk in chunks] == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9, 10]]
    assert all(read == v * 10 for chunk in chunks for v, read in chunk)
    assert threading.current_thread().name not in reader_threads, "read in the caller's thread"


@pytest.mark.parametrize("background", [True, False])
def test_overlapped_runs_the_next_items_step_while_the_caller_works_on_this_one(background):
    log, caller = [], threading.current_thread().name

    def step(value):
        log.append(("step", value, threading.current_thread().name != caller))
        return value * 10

    results = []
    for value, stepped in overlapped(range(4), step, background=background):
        time.sleep(0.02)   # the caller's work on this item: the next step finishes meanwhile
        log.append(("caller", value, False))
        results.append((value, stepped))
    assert results == [(v, v * 10) for v in range(4)]
    assert all(on_thread == background for kind, _, on_thread in log if kind == "step")
    order = [(kind, value) for kind, value, _ in log]
    ahead = order.index(("step", 1)) < order.index(("caller", 0))
    assert ahead == background, order


def test_overlapped_raises_a_steps_error_where_its_item_is_yielded():
    def step(value):
        if value == 2:
            raise ValueError("bad item 2")
        return value

    seen = []
    with pytest.raises(ValueError, match="bad item 2"):
        for value, _ in overlapped(range(5), step, background=True):
            seen.append(value)
    assert seen == [0, 1]


def test_video_frames_give_the_same_rows_with_and_without_detection_ahead(tiny_run, tmp_path):
    video = tmp_path / "clip.avi"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"MJPG"), 5.0, (160, 120))
    for i in range(7):
        writer.write(cv2.cvtColor(photo(i), cv2.COLOR_GRAY2BGR))
    writer.release()
    ahead = Predictor.from_run(tiny_run, detector=BrightSquares(), batch_size=2, workers=1)
    plain = Predictor.from_run(tiny_run, detector=BrightSquares(), batch_size=2, workers=0)
    frame = ahead.predict_video(video, progress=False)
    assert frame["frame"].nunique() == 7
    pd.testing.assert_frame_equal(frame, plain.predict_video(video, progress=False))


def test_stage_clock_counts_every_stage_a_folder_goes_through(tiny_run, photos, tmp_path):
    predictor = Predictor.from_run(tiny_run, detector=BrightSquares())
    predictor.predict_files(photos, annotate_to=tmp_path, progress=False)
    seconds = predictor.times.seconds
    assert set(seconds) == {"decode", "detect", "align/crop", "model", "write"}
    assert all(v > 0 for v in seconds.values()), f"a stage was not timed: {seconds}"


@pytest.mark.parametrize("option, value, allowed", [
    ("batch_size", 0, ">= 1"), ("workers", -1, ">= 0"), ("detect_size", 8, ">= 20"),
    ("batch_size", 2.5, ">= 1")])
def test_speed_options_are_checked_with_their_name_and_range(tiny_run, option, value, allowed):
    with pytest.raises(ValueError, match=rf"{option} must be a whole number {allowed}, got"):
        Predictor.from_run(tiny_run, **{option: value})


def test_an_unknown_speed_option_is_named(tiny_run):
    with pytest.raises(TypeError, match=r"\['threads'\]"):
        Predictor.from_run(tiny_run, threads=4)


def predict_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ferkit")
    predict_command.register(parser.add_subparsers(dest="command"))
    return parser


@pytest.mark.parametrize("flag, value", [("--batch-size", "0"), ("--workers", "-1"),
                                         ("--detect-size", "10"), ("--detect-size", "big")])
def test_predict_flags_refuse_bad_values_naming_the_flag(flag, value, capsys):
    with pytest.raises(SystemExit) as exit_info:
        predict_parser().parse_args(["predict", "photo.jpg", flag, value])
    assert exit_info.value.code == 2
    assert f"argument {flag}: needs a whole number" in capsys.readouterr().err


def test_predict_flags_reach_the_predictor_and_default_to_its_defaults():
    args = predict_parser().parse_args(["predict", "photo.jpg", "--batch-size", "8",
                                        "--workers", "0", "--detect-size", "512"])
    assert (args.batch_size, args.workers, args.detect_size) == (8, 0, 512)
    defaults = predict_parser().parse_args(["predict", "photo.jpg"])
    assert (defaults.batch_size, defaults.workers, defaults.detect_size) == (
        predictor_module.DEFAULT_BATCH_SIZE, predictor_module.DEFAULT_WORKERS,
        predictor_module.DEFAULT_DETECT_SIZE)
    assert predict_command.MIN_DETECT_SIZE == MIN_DETECTION_SIDE


class LargeSquares(BrightSquares):
    """Bright squares of at least 20 pixels: what a detector finds on a small copy."""

    @staticmethod
    def _faces(rgb):
        return [f for f in BrightSquares._faces(rgb) if min(f.box[2:]) >= 20]


def test_an_image_without_a_face_at_the_detection_size_is_searched_again_at_full_size(tiny_run):
    image = np.zeros((600, 800), np.uint8)
    image[300:360, 400:460] = 255     # 60 pixels: 9.6 in the 128-pixel copy, too small there
    alone = image.copy()
    image[50:290, 40:280] = 255       # with a large face beside it, the small one stays unseen
    detector = LargeSquares()
    predictor = Predictor.from_run(tiny_run, detector=detector, detect_size=128)
    lone, crowded = predictor.find_faces([alone, image])
    assert [f.box for f in lone] == [(400, 300, 60, 60)], "the lone small face was not found"
    assert [f.box[2] for f in crowded] == [pytest.approx(240, abs=7)]
    assert detector.batch_sizes == [2, 1], "only the image without a face should be retried"


def test_pictures_written_on_the_reader_threads_are_all_there(tiny_run, photos, tmp_path):
    predictor = Predictor.from_run(tiny_run, detector=BrightSquares(), batch_size=3, workers=2)
    predictor.predict_files(photos, annotate_to=tmp_path / "annotated", progress=False)
    written = sorted(p.name for p in (tmp_path / "annotated").iterdir())
    assert written == [f"{p.stem}.png" for p in photos]
    assert all(cv2.imread(str(tmp_path / "annotated" / name)) is not None for name in written)


def test_background_work_that_fails_raises_when_waited_for():
    def fail(value):
        raise OSError(f"cannot write picture {value}")

    with ReadAhead([], str, chunk_size=2, workers=2) as reader:
        reader.in_background(fail, 3)
        with pytest.raises(OSError, match="cannot write picture 3"):
            reader.wait()
