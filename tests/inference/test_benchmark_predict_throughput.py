"""The end-to-end throughput benchmark: a smoke run on generated photos, and its figures."""
import json
import sys
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
import pytest
from conftest import load_script

from ferkit.data.cleaning import mtcnn_available
from ferkit.data.synthetic import render_face

SCRIPT = Path(__file__).parents[2] / "examples" / "benchmarks" / "predict_throughput.py"


@pytest.fixture(scope="module")
def bench():
    yield load_script(SCRIPT, "predict_throughput_benchmark")
    sys.modules.pop("predict_throughput_benchmark", None)


@pytest.fixture
def photos(tmp_path):
    folder = tmp_path / "photos"
    folder.mkdir()
    for i in range(3):
        canvas = np.full((200, 240), 110 + 20 * i, np.uint8)
        canvas[40:136, 60 + 10 * i:156 + 10 * i] = render_face(size=96)
        cv2.imwrite(str(folder / f"p{i}.jpg"), canvas)
    cv2.imwrite(str(folder / "blank.jpg"), np.full((200, 240), 90, np.uint8))
    labels = tmp_path / "labels.csv"
    pd.DataFrame({"image": ["blank.jpg", "p0.jpg", "p1.jpg", "p2.jpg"],
                  "emotion": ["neutral"] * 4}).to_csv(labels, index=False)
    return folder, labels


@pytest.mark.slow
@pytest.mark.skipif(not mtcnn_available(), reason="the mtcnn package is not installed")
def test_smoke_run_reports_photos_per_second_and_the_stage_times(bench, photos, tmp_path):
    folder, labels = photos
    summary = bench.main(["--images", str(folder), "--labels", str(labels), "--no-fer",
                          "--limit", "4", "--warmup", "2", "--detect-sizes", "64",
                          "--out", str(tmp_path / "out")])
    rows = summary["rows"]
    assert [r["setting"].split(" (")[0] for r in rows] == ["defaults", "detect size 64"]
    for row in rows:
        assert row["photos"] == 4 and row["photos/s"] > 0 and row["with a face"] == 3, row
        assert row["CPU ms/photo"] > 0, row
        assert row["detect ms"] > 0 and row["model ms"] > 0 and row["write ms"] > 0, row
        assert 0 <= row["accuracy"] <= 0.75, "the blank photo has no face, so it must be wrong"
    written = json.loads((tmp_path / "out" / "throughput.json").read_text())
    assert written["rows"] == rows and written["speedup_over_fer"] is None
    table = (tmp_path / "out" / "table.md").read_text().splitlines()
    assert table[0].startswith("| pipeline | setting | photos | photos/s") and len(table) == 4


@pytest.mark.slow
@pytest.mark.skipif(not mtcnn_available(), reason="the mtcnn package is not installed")
def test_int8_row_runs_the_presets_int8_tflite_file(bench, photos, tmp_path):
    from ferkit.data.synthetic.formats import write_fer2013

    folder, labels = photos
    fer2013 = write_fer2013(tmp_path / "fer2013", n=120)
    summary = bench.main(["--images", str(folder), "--labels", str(labels), "--no-fer",
                          "--warmup", "2", "--int8", str(fer2013), "--out", str(tmp_path / "out")])
    default, int8 = summary["rows"]
    assert int8["setting"] == "defaults, int8 TFLite model"
    assert int8["with a face"] == default["with a face"] == 3 and int8["model ms"] > 0
    assert (tmp_path / "out" / "int8" / "fer2013_int8.tflite").is_file()


def test_the_speedup_is_ferkit_defaults_over_fer(bench):
    rows = [{"pipeline": "ferkit", "setting": "detect size 1024", "photos/s": 5.0},
            {"pipeline": "ferkit", "setting": "defaults (...)", "photos/s": 60.0},
            {"pipeline": "fer", "setting": "FER()", "photos/s": 20.0}]
    assert bench.speedup(rows) == pytest.approx(3.0)
    assert bench.speedup(rows[:2]) is None


def test_labels_must_cover_every_photo(bench, photos):
    folder, labels = photos
    paths = bench.photo_paths(folder, None) + [folder / "missing.jpg"]
    with pytest.raises(ValueError, match=r"no label for 1 photo\(s\), e.g. missing.jpg"):
        bench.photo_labels(labels, paths)
