"""The committed reference pages are exactly what docs/reference/generate.py writes today."""
from __future__ import annotations

from pathlib import Path

import pytest
from conftest import load_script

ROOT = next(p for p in Path(__file__).resolve().parents if (p / "docs" / "reference").is_dir())
REFERENCE = ROOT / "docs" / "reference"


def load_generator():
    return load_script(REFERENCE / "generate.py", "ferkit_docs_generate")


@pytest.fixture(scope="module")
def generator():
    return load_generator()


def test_committed_reference_matches_the_code(generator, tmp_path):
    written = generator.generate(tmp_path)
    assert sorted(written) == ["cli.md", "config.md", "models.md", "run_directory.md"]
    for name, path in written.items():
        committed = REFERENCE / name
        assert committed.is_file(), f"docs/reference/{name} is missing: run python docs/reference/generate.py"
        assert path.read_text() == committed.read_text(), (
            f"docs/reference/{name} is stale: run python docs/reference/generate.py")


def test_every_run_directory_name_is_described(generator):
    from ferkit.runs import RunDir

    names = dict(generator.run_file_names(RunDir))
    assert names["RUN"] == RunDir.RUN and names["MODEL"] == RunDir.MODEL
    assert set(names) <= set(generator.RUN_FILES), (
        f"RunDir names without a description in generate.RUN_FILES: {set(names) - set(generator.RUN_FILES)}")


def test_config_page_lists_nested_sections_with_their_defaults(generator):
    text = generator.config_page()
    assert "## `data.synthetic`" in text
    assert "| `train.epochs` | `int` | `40` |" in text
    assert "| `data.split` " not in text  # only real keys appear


def test_types_read_as_yaml_authors_write_them(generator):
    from typing import Literal, Optional

    assert generator.type_name(Optional[int]) == "int | null"
    assert generator.type_name(Literal["a", 1]) == '"a" | 1'
    assert generator.type_name(tuple[str, ...]) == "tuple[str, ...]"
    assert generator.table_cell("a | b\nc") == r"a \| b c"
