"""A FER2013 or FER+ csv that cannot be read (damaged gzip, not gzip, not UTF-8, empty, wrong
columns or image sizes) fails with a FER2013FormatError naming the file and the fault."""
from __future__ import annotations

import gzip

import pytest

from ferkit.data.inspect import detect_format
from ferkit.data.sources import load_fer2013
from ferkit.data.sources.fer_csv import read_header
from ferkit.errors import FER2013FormatError

HEADER = "emotion,pixels,Usage\n"


def _row(values: int = 2304, emotion: int = 0) -> str:
    return f"{emotion}," + " ".join(["7"] * values) + ",Training\n"


def _csv(rows: int = 3) -> str:
    return HEADER + "".join(_row(emotion=i % 7) for i in range(rows))


def test_a_truncated_gzip_names_the_file(tmp_path):
    path = tmp_path / "fer2013.csv.gz"
    packed = gzip.compress(_csv(40).encode())
    path.write_bytes(packed[:len(packed) // 2])
    with pytest.raises(FER2013FormatError, match=r"fer2013\.csv\.gz: the gzip file is truncated "
                                                 r"or damaged"):
        load_fer2013(path)


def test_a_plain_csv_named_gz_names_the_file(tmp_path):
    path = tmp_path / "fer2013.csv.gz"
    path.write_text(_csv())
    with pytest.raises(FER2013FormatError, match=r"fer2013\.csv\.gz: not a gzip file although "
                                                 r"it ends in \.gz"):
        load_fer2013(path)


def test_detecting_the_format_of_a_damaged_gzip_names_the_file(tmp_path):
    path = tmp_path / "faces.csv.gz"
    path.write_bytes(b"\x1f\x8b\x08\x00garbage")
    with pytest.raises(FER2013FormatError, match=r"faces\.csv\.gz: "):
        detect_format(path)


def test_a_gzipped_csv_still_loads(tmp_path):
    path = tmp_path / "fer2013.csv.gz"
    path.write_bytes(gzip.compress(_csv(4).encode()))
    assert len(load_fer2013(path)) == 4 and read_header(path, "FER2013") == ["emotion", "pixels",
                                                                             "Usage"]


def test_a_csv_that_is_not_utf8_names_file_and_line(tmp_path):
    path = tmp_path / "fer2013.csv"
    path.write_bytes((_csv(2) + "0,1 2 3,Tr\xe9ining\n").encode("latin-1"))
    with pytest.raises(FER2013FormatError, match=r"fer2013\.csv, line 4: not UTF-8 text "
                                                 r"\(byte 0xe9"):
        load_fer2013(path)


def test_an_empty_csv_names_the_file(tmp_path):
    path = tmp_path / "fer2013.csv"
    path.write_text("")
    with pytest.raises(FER2013FormatError, match=r"fer2013\.csv: the file is empty"):
        load_fer2013(path)


def test_missing_columns_are_listed(tmp_path):
    path = tmp_path / "fer2013.csv"
    path.write_text("emotion,Usage\n0,Training\n")
    with pytest.raises(FER2013FormatError, match=r"fer2013\.csv: missing column\(s\) \['pixels'\]"):
        load_fer2013(path)


def test_images_of_another_square_size_are_named(tmp_path):
    path = tmp_path / "fer2013.csv"
    path.write_text(HEADER + _row() + _row(values=40 * 40))
    with pytest.raises(FER2013FormatError, match=r"fer2013\.csv, row 1: 'pixels' has 1600 values "
                                                 r"\(a 40x40 image\?\), expected 2304 \(48x48\)"):
        load_fer2013(path)


def test_a_quoted_gzipped_csv_goes_through_the_csv_parser(tmp_path):
    path = tmp_path / "fer2013.csv.gz"
    text = HEADER + "".join(f'{i},"{" ".join(["9"] * 2304)}",PublicTest\n' for i in range(3))
    path.write_bytes(gzip.compress(text.encode()))
    samples = load_fer2013(path)
    assert list(samples.frame["split"]) == ["val"] * 3 and samples.images.max() == 9
