"""Where ``ferkit export --out`` puts the artefact: a named file, or a folder."""
from __future__ import annotations

from pathlib import Path

import pytest

from ferkit.export.writers import artefact_path


@pytest.mark.parametrize("format, quantize, out, expected", [
    ("tflite", "int8", "exports", "exports/model_int8.tflite"),
    ("tflite", "none", "exports/", "exports/model.tflite"),
    ("tflite", "float16", "exports/fast.tflite", "exports/fast.tflite"),
    ("keras", "none", "exports", "exports/model.keras"),
    ("keras", "none", "exports/m.keras", "exports/m.keras"),
    ("savedmodel", "none", "exports/sm", "exports/sm"),
])
def test_out_is_a_file_of_the_format_or_else_a_folder(tmp_path, format, quantize, out, expected):
    assert artefact_path(tmp_path, format, quantize, tmp_path / out) == tmp_path / expected


def test_no_out_means_the_runs_export_folder(tmp_path):
    assert artefact_path(tmp_path, "tflite", "int8", None) == tmp_path / "export" / "model_int8.tflite"


def test_an_existing_file_of_another_kind_is_refused(tmp_path):
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(ValueError, match="notes.txt.*without the .tflite suffix"):
        artefact_path(tmp_path, "tflite", "int8", Path(tmp_path / "notes.txt"))
