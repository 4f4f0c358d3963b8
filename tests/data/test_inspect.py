import gzip

import cv2
import numpy as np
import pytest

from ferkit.cli import main
from ferkit.data.inspect import detect_format, inspect_dataset


def _fer_csv(folder, rows=20):
    rng = np.random.default_rng(0)
    lines = ["emotion,pixels,Usage"]
    pixels = [" ".join(map(str, rng.integers(0, 256, 2304))) for _ in range(rows - 2)]
    pixels += pixels[:2]  # two exact duplicates, one crossing into PublicTest
    for i, p in enumerate(pixels):
        lines.append(f"{i % 7},{p},{'PublicTest' if i >= rows - 1 else 'Training'}")
    path = folder / "fer2013.csv.gz"
    with gzip.open(path, "wt") as handle:
        handle.write("\n".join(lines) + "\n")
    return path


def test_formats_are_detected(tmp_path, ckplus_48, ckplus_full):
    assert detect_format(ckplus_48) == detect_format(ckplus_full) == "ckplus"
    assert detect_format(_fer_csv(tmp_path)) == "fer2013" == detect_format(tmp_path)
    (tmp_path / "m.csv").write_text("path,label\n")
    assert detect_format(tmp_path / "m.csv") == "manifest"
    with pytest.raises(FileNotFoundError, match="does not exist"):
        detect_format(tmp_path / "nope")


def test_fer2013_inspection_counts_splits_and_duplicates(tmp_path):
    _fer_csv(tmp_path)
    result = inspect_dataset(tmp_path, tmp_path / "out")
    assert result.counts.groupby("split")["count"].sum().to_dict() == {"train": 19, "val": 1}
    assert result.duplicates["duplicate_groups"] == 2
    assert result.duplicates["cross_split_groups"] == 1
    assert all(p.stat().st_size > 0 for p in result.plots)
    assert "duplicate groups 2" in result.to_text()


def test_ckplus_inspection_plots_aus_and_attributes(tmp_path, ckplus_48):
    result = inspect_dataset(ckplus_48, tmp_path)
    names = {p.name for p in result.plots}
    assert {"au_frequency.png", "au_correlation.png", "sample_grid.png"} <= names
    assert set(result.attributes) == {"skin_tone", "age_group", "gender"}
    assert result.counts["count"].sum() == len(result.samples)
    assert "subjects: 6" in result.to_text()


def test_class_folders_through_the_cli(tmp_path, capsys):
    for name in ("happy", "sad"):
        (tmp_path / "data" / name).mkdir(parents=True)
        for i in range(3):
            cv2.imwrite(str(tmp_path / "data" / name / f"{i}.png"), np.full((20, 20), 40 * i, np.uint8))
    assert main(["data", "inspect", str(tmp_path / "data"), "--out", str(tmp_path / "out")]) == 0
    out = capsys.readouterr().out
    assert "folders, 6 images, 2 classes" in out and (tmp_path / "out" / "counts.csv").is_file()
    assert main(["data", "inspect", str(tmp_path / "missing")]) == 2
