"""Run-directory files (run.json, preprocessing.json, metrics.json) that are empty, truncated,
of the wrong shape or from another ferkit version fail with a RunFormatError naming the file."""
from __future__ import annotations

import json

import pytest

from ferkit.errors import RunDirectoryError, RunFormatError
from ferkit.runs import (PREPROCESSING_VERSION, RUN_FORMAT_VERSION, Preprocessing, RunDir,
                         load_preprocessing, read_json)


def _committed(tmp_path) -> RunDir:
    run = RunDir(tmp_path / "run").begin()
    run.commit({"classes": ["happy", "sad"]})
    return run


@pytest.mark.parametrize("text, words", [
    ("", "empty file"),
    ("  \n", "empty file"),
    ('{"classes": ["happy", ', "truncated"),
    ("{'single': 'quotes'}", "not valid JSON"),
    ("[1, 2]", "expected a JSON object at the top level, got array"),
    ('"text"', "expected a JSON object at the top level, got string"),
])
def test_a_broken_json_file_is_a_run_format_error_naming_it(tmp_path, text, words):
    path = tmp_path / "metrics.json"
    path.write_text(text)
    with pytest.raises(RunFormatError, match=words) as caught:
        read_json(path)
    assert str(path) in str(caught.value)


def test_json_that_is_not_utf8_names_the_file_and_line(tmp_path):
    path = tmp_path / "run.json"
    path.write_bytes(b'{\n "name": "caf\xe9"\n}\n')
    with pytest.raises(RunFormatError, match=r"run\.json, line 2: not UTF-8"):
        read_json(path)


def test_read_json_can_accept_any_top_level(tmp_path):
    path = tmp_path / "list.json"
    path.write_text("[1, 2]")
    assert read_json(path, expect=None) == [1, 2]


def test_a_missing_json_file_is_a_run_directory_error(tmp_path):
    with pytest.raises(RunDirectoryError, match="nothing.json does not exist"):
        read_json(tmp_path / "nothing.json")


def test_commit_stamps_the_run_format_version(tmp_path):
    record = json.loads((_committed(tmp_path) / RunDir.RUN).read_text())
    assert record["format"] == "ferkit-run" and record["version"] == RUN_FORMAT_VERSION


@pytest.mark.parametrize("version, words", [
    (RUN_FORMAT_VERSION + 1, f"version {RUN_FORMAT_VERSION + 1} was written by a newer ferkit; "
                             f"this one reads version {RUN_FORMAT_VERSION}"),
    (RUN_FORMAT_VERSION - 1, f"version {RUN_FORMAT_VERSION - 1} was written by an older ferkit"),
    ("one", "version 'one' is not a version number"),
])
def test_a_run_of_another_format_version_says_which(tmp_path, version, words):
    run = _committed(tmp_path)
    record = json.loads((run / RunDir.RUN).read_text())
    (run / RunDir.RUN).write_text(json.dumps({**record, "version": version}))
    with pytest.raises(RunFormatError, match=words) as caught:
        run.read_run()
    assert str(run / RunDir.RUN) in str(caught.value)
    assert not run.is_complete()


def test_an_older_run_without_a_version_still_loads(tmp_path):
    run = RunDir(tmp_path / "old").create()
    (run / RunDir.RUN).write_text(json.dumps({"classes": ["happy", "sad"]}))
    assert run.is_complete() and run.read_run()["classes"] == ["happy", "sad"]


def test_a_run_json_of_another_program_is_refused(tmp_path):
    run = RunDir(tmp_path / "other").create()
    (run / RunDir.RUN).write_text(json.dumps({"format": "somebody-else", "version": 1}))
    with pytest.raises(RunFormatError, match="not a ferkit run record"):
        run.read_run()


@pytest.mark.parametrize("version, words", [
    (PREPROCESSING_VERSION + 1, "newer ferkit"),
    (PREPROCESSING_VERSION - 1, "older ferkit"),
    (None, "not a version number"),
])
def test_preprocessing_of_another_version_says_which(tmp_path, version, words):
    path = Preprocessing((48, 48), 1, ("happy", "sad")).save(tmp_path)
    data = json.loads(path.read_text())
    path.write_text(json.dumps({**data, "version": version}))
    with pytest.raises(RunFormatError, match=f"preprocessing.json: preprocessing format .*{words}"):
        load_preprocessing(tmp_path)


def test_a_truncated_preprocessing_file_names_it(tmp_path):
    path = Preprocessing((48, 48), 1, ("happy", "sad")).save(tmp_path)
    path.write_text(path.read_text()[:40])
    with pytest.raises(RunFormatError, match=r"preprocessing\.json: not valid JSON \(the file is "
                                             r"truncated\)"):
        load_preprocessing(tmp_path)


def test_a_legacy_run_with_a_broken_config_yaml_names_it(tmp_path):
    run = RunDir(tmp_path / "legacy").create()
    (run / RunDir.RUN).write_text(json.dumps({"classes": ["a", "b"]}))
    (run / RunDir.CONFIG).write_text("data: [unclosed\n")
    with pytest.raises(RunFormatError, match=r"config\.yaml, line \d+, column \d+: not valid YAML"):
        load_preprocessing(run.path)
