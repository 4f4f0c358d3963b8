"""One policy for unreadable images in a dataset (``data.on_unreadable``): every loader that reads
image files stops on an empty, truncated, non-image or unreadable file naming it, or with
``skip`` leaves it out and lists it; a run writes that list to ``skipped_images.csv``."""
import shutil
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
import pytest

from ferkit.config import DataConfig, config_from_dict
from ferkit.data.images import image_problem, load_images, read_image
from ferkit.data.samples import Samples
from ferkit.data.sources import load_from_config, merge_samples, read_images
from ferkit.errors import ImageNotFoundError, ImageReadError
from ferkit.runs import RunDir

SIZE = [16, 16]


def _png(path: Path, value: int = 90) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), np.full((20, 20), value, np.uint8))
    return path


def _truncate(path: Path) -> Path:
    data = _png(path).read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return path


def _class_folders(root: Path) -> Path:
    for folder in ("happy", "sad"):
        for i in range(3):
            _png(root / folder / f"{folder}_{i}.png", 40 * i + 20)
    (root / "happy" / "empty.png").write_bytes(b"")
    _truncate(root / "sad" / "cut.png")
    return root


FAULTS = {
    "zero bytes": (lambda p: p.write_bytes(b""), "empty \\(0 bytes\\)"),
    "truncated png": (_truncate, "truncated or corrupt PNG"),
    "truncated jpeg": (lambda p: p.write_bytes(cv2.imencode(".jpg", np.zeros((20, 20), np.uint8))
                                               [1].tobytes()[:60]), "truncated or corrupt JPEG"),
    "not an image": (lambda p: p.write_text("hello, I am text"), "not an image format"),
}


@pytest.mark.parametrize("fault", list(FAULTS))
def test_each_fault_is_an_image_read_error_naming_file_and_problem(tmp_path, fault):
    make, problem = FAULTS[fault]
    path = tmp_path / "face.png"
    make(path)
    with pytest.raises(ImageReadError, match=f"face.png: .*{problem}"):
        read_image(path)
    assert image_problem(path)
    assert image_problem(_png(tmp_path / "good.png")) == ""


def test_a_file_without_read_permission_says_so(tmp_path, monkeypatch):
    path = _png(tmp_path / "locked.png")
    real = Path.read_bytes

    def refuse(self):
        if self.name == "locked.png":
            raise PermissionError(13, "Permission denied", str(self))
        return real(self)

    monkeypatch.setattr(Path, "read_bytes", refuse)
    with pytest.raises(ImageReadError, match="locked.png: permission denied"):
        read_image(path)


def test_load_images_lists_every_bad_file_or_skips_them(tmp_path):
    good = [_png(tmp_path / f"g{i}.png", 30 * i) for i in range(3)]
    empty, cut = tmp_path / "empty.png", _truncate(tmp_path / "cut.png")
    empty.write_bytes(b"")
    paths = [good[0], empty, good[1], cut, good[2]]
    with pytest.raises(ImageReadError, match=r"faces: 2 unreadable image\(s\): .*empty.png: the "
                                             r"file is empty.*cut.png: truncated.*on_unreadable"):
        load_images(paths, SIZE, 1, source="faces")
    loaded = load_images(paths, SIZE, 1, on_unreadable="skip", source="faces")
    assert loaded.rows.tolist() == [0, 2, 4] and loaded.images.shape == (3, 16, 16, 1)
    assert [path for path, _ in loaded.skipped] == [str(empty), str(cut)]
    with pytest.raises(ImageNotFoundError, match="gone.png"):
        load_images([tmp_path / "gone.png"], SIZE, 1)


def test_read_images_skip_drops_rows_and_keeps_frame_and_images_aligned(tmp_path):
    paths = [_png(tmp_path / "a.png", 10), tmp_path / "bad.png", _png(tmp_path / "c.png", 200)]
    paths[1].write_bytes(b"")
    samples = Samples(pd.DataFrame({"path": map(str, paths), "label": [0, 1, 0]}), ("x", "y"))
    read = read_images(samples, SIZE, 1, on_unreadable="skip")
    assert read.frame["path"].tolist() == [str(paths[0]), str(paths[2])]
    assert read.frame["image_index"].tolist() == [0, 1]
    assert read.images[1].mean() > read.images[0].mean()  # c.png (200) stayed with its row
    assert read.skipped == ((str(paths[1]), "the file is empty (0 bytes)"),)
    assert read.subset([0]).skipped == read.skipped
    assert merge_samples(read, read, names=["one", "two"]).skipped == read.skipped * 2


@pytest.mark.parametrize("on_unreadable", ["error", "skip"])
def test_zero_byte_and_truncated_images_in_class_folders_behave_alike(tmp_path, on_unreadable):
    root = _class_folders(tmp_path / "faces")
    data = DataConfig(source="folders", path=str(root), image_size=SIZE,
                      on_unreadable=on_unreadable)
    if on_unreadable == "error":
        with pytest.raises(ImageReadError, match=r"2 unreadable image\(s\): .*empty\.png: .*empty"
                                                 r".*cut\.png: truncated"):
            load_from_config(data, tmp_path / "work")
        return
    samples = load_from_config(data, tmp_path / "work")
    assert len(samples) == 6 and len(samples.images) == 6
    assert sorted(Path(p).name for p, _ in samples.skipped) == ["cut.png", "empty.png"]


def test_manifest_and_file_name_sources_use_the_same_policy(tmp_path):
    root = tmp_path / "named"
    for i, emotion in enumerate(["Happy", "Sad", "Happy", "Sad"]):
        _png(root / f"{emotion}_Asian_Female_{i:04d}.png", 50 * i)
    (root / "Happy_Asian_Male_0009.png").write_bytes(b"")
    names = DataConfig(source="filenames", path=str(root), image_size=SIZE)
    with pytest.raises(ImageReadError, match="Happy_Asian_Male_0009.png"):
        load_from_config(names, tmp_path / "w")
    skipped = load_from_config(DataConfig(source="filenames", path=str(root), image_size=SIZE,
                                          on_unreadable="skip"), tmp_path / "w")
    assert len(skipped) == 4 and len(skipped.skipped) == 1
    manifest = root / "manifest.csv"
    pd.DataFrame({"path": sorted(p.name for p in root.glob("*.png")),
                  "label": ["happy", "happy", "sad", "happy", "sad"]}).to_csv(manifest, index=False)
    with pytest.raises(ImageReadError, match="Happy_Asian_Male_0009.png: the file is empty"):
        load_from_config(DataConfig(source="manifest", path=str(manifest), image_size=SIZE),
                         tmp_path / "w")


def test_ckplus_trees_use_the_same_policy(tmp_path, ckplus_48, ckplus_full):
    for name, tree in (("ck48", ckplus_48), ("full", ckplus_full)):
        copy = tmp_path / name
        shutil.copytree(tree, copy)
        data = DataConfig(source="ckplus", path=str(copy), image_size=SIZE, min_au_count=2)
        victim = Path(load_from_config(data, tmp_path / "w").frame["path"].iloc[0])
        victim.write_bytes(b"")
        with pytest.raises(ImageReadError, match=f"{victim.name}: the file is empty"):
            load_from_config(data, tmp_path / "w")
        data.on_unreadable = "skip"
        samples = load_from_config(data, tmp_path / "w")
        assert samples.skipped == ((str(victim), "the file is empty (0 bytes)"),)
        assert str(victim) not in set(samples.frame["path"])


def test_prepare_data_writes_the_skipped_list_into_the_run_directory(tmp_path):
    from ferkit.workflows.experiment import prepare_data

    root = _class_folders(tmp_path / "faces")
    config = config_from_dict({
        "data": {"source": "folders", "path": str(root), "image_size": SIZE,
                 "on_unreadable": "skip"},
        "split": {"method": "stratified", "fractions": [0.34, 0.33, 0.33]}})
    run = tmp_path / "run"
    samples = prepare_data(config, run)
    listed = pd.read_csv(run / RunDir.SKIPPED)
    assert listed.columns.tolist() == ["path", "reason"]
    assert sorted(Path(p).name for p in listed["path"]) == ["cut.png", "empty.png"]
    reasons = dict(zip(listed["path"].map(lambda p: Path(p).name), listed["reason"]))
    assert reasons["empty.png"] == "the file is empty (0 bytes)"
    assert reasons["cut.png"].startswith("truncated or corrupt PNG")
    assert len(samples) == 6 and set(samples.frame["split"]) == {"train", "val", "test"}
    (root / "happy" / "empty.png").unlink()
    (root / "sad" / "cut.png").unlink()
    config.data.on_unreadable = "error"
    prepare_data(config, run)
    assert not (run / RunDir.SKIPPED).exists(), "a stale list from a skip run stays behind"
