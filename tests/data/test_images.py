"""ferkit.data.images as the one image path: the readers, the resize choice, and the loaders
(read_images, load_from_config) preparing pixels exactly as load_image / fit_image do."""
from __future__ import annotations

import cv2
import numpy as np
import pandas as pd
import pytest

from ferkit.config import config_from_dict
from ferkit.data.images import (
    fit_image, load_image, read_image, read_image_as_stored, resize_image, to_channels,
)
from ferkit.data.samples import Samples
from ferkit.data.sources import load_fer2013, load_from_config, read_images
from ferkit.errors import ImageNotFoundError, ImageReadError


@pytest.fixture()
def grey_png(tmp_path):
    pixels = np.random.default_rng(0).integers(0, 256, size=(30, 40), dtype=np.uint8)
    path = tmp_path / "grey.png"
    cv2.imwrite(str(path), pixels)
    return path, pixels


def test_a_grey_png_reads_as_opencv_grayscale_does(grey_png):
    path, pixels = grey_png
    grey = to_channels(read_image(path), 1)[..., 0]
    assert np.array_equal(grey, cv2.imread(str(path), cv2.IMREAD_GRAYSCALE))
    assert np.array_equal(grey, pixels)


def test_read_image_as_stored_keeps_the_files_own_channels(grey_png, tmp_path):
    path, pixels = grey_png
    assert np.array_equal(read_image_as_stored(path), pixels)  # (H, W), not three channels
    rgb = np.dstack([pixels, pixels // 2, 255 - pixels])
    colour = tmp_path / "colour.png"
    cv2.imwrite(str(colour), rgb[..., ::-1])  # OpenCV writes BGR
    assert np.array_equal(read_image_as_stored(colour), rgb)
    assert np.array_equal(read_image(colour), rgb)


def test_readers_name_a_missing_or_broken_file(tmp_path):
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"not a png")
    for reader in (read_image, read_image_as_stored):
        with pytest.raises(ImageNotFoundError, match="nowhere.png does not exist"):
            reader(tmp_path / "nowhere.png")
        with pytest.raises(ImageReadError, match="broken.png: truncated, corrupt"):
            reader(broken)


def test_resize_image_shrinks_by_area_enlarges_by_cubic_unless_told_otherwise():
    image = np.random.default_rng(1).integers(0, 256, size=(12, 12, 1), dtype=np.uint8)
    area = cv2.resize(image, (6, 6), interpolation=cv2.INTER_AREA)[..., None]
    cubic = cv2.resize(image, (20, 20), interpolation=cv2.INTER_CUBIC)[..., None]
    nearest = cv2.resize(image, (20, 20), interpolation=cv2.INTER_NEAREST)[..., None]
    assert np.array_equal(resize_image(image, (6, 6)), area)
    assert np.array_equal(resize_image(image, (20, 20)), cubic)
    assert np.array_equal(resize_image(image, (20, 20), "nearest"), nearest)
    with pytest.raises(ValueError, match="interpolation must be one of"):
        resize_image(image, (20, 20), "bilinear-ish")


def test_resize_image_keeps_float64_and_int16_pixels():
    for dtype in (np.float64, np.int16):
        image = np.arange(64, dtype=dtype).reshape(8, 8, 1)
        assert resize_image(image, (4, 4)).dtype == dtype


@pytest.mark.parametrize("size, channels", [((20, 20), 1), ((60, 80), 3)])
def test_read_images_prepares_each_file_as_load_image_does(grey_png, size, channels):
    path, _ = grey_png
    samples = Samples(frame=pd.DataFrame({"path": [str(path)], "label": [0]}), classes=("a",))
    loaded = read_images(samples, size, channels)
    assert loaded.images.shape == (1, *size, channels)
    assert np.array_equal(loaded.images[0], load_image(path, size, channels))


def test_in_memory_sources_are_fitted_as_fit_image_does(tmp_path):
    config = config_from_dict({"data": {"source": "fer2013", "image_size": [64, 64],
                                        "channels": 3, "synthetic": {"images": 12}}})
    fitted = load_from_config(config.data, tmp_path, seed=0)
    raw = load_fer2013(tmp_path / "synthetic_data" / "fer2013.csv.gz")
    assert fitted.images.shape == (12, 64, 64, 3)
    for k in (0, 11):
        assert np.array_equal(fitted.images[k], fit_image(raw.images[k][..., None], (64, 64), 3))
