"""A model file that cannot be loaded says which file and why: missing, a folder, not a zip
(empty, text, HDF5), a zip without Keras' config.json, or an archive naming an unknown layer."""
from __future__ import annotations

import shutil
import zipfile

import pytest

from ferkit.errors import ModelFileError, ModelNotFoundError, RunFormatError
from ferkit.models.loading import check_model_archive, load_model_file, load_run_model
from ferkit.runs import RunDir


@pytest.fixture(scope="module")
def tiny_keras(tmp_path_factory):
    """A valid ``.keras`` archive of a one-layer model."""
    import keras

    inputs = keras.Input((4,))
    path = tmp_path_factory.mktemp("tiny") / "tiny.keras"
    keras.Model(inputs, keras.layers.Dense(2, name="dense")(inputs)).save(path)
    return path


def test_a_valid_archive_loads(tiny_keras):
    assert load_model_file(tiny_keras).output.shape[-1] == 2


def test_a_missing_file_is_model_not_found(tmp_path):
    with pytest.raises(ModelNotFoundError, match=r"model file .*nothere\.keras does not exist"):
        load_model_file(tmp_path / "nothere.keras")
    assert issubclass(ModelNotFoundError, FileNotFoundError)


def test_a_folder_is_no_keras_archive(tmp_path):
    with pytest.raises(ModelFileError, match="is a folder, not a Keras .keras archive"):
        load_model_file(tmp_path)


@pytest.mark.parametrize("content, got", [
    (b"", "an empty file"),
    (b"this is not a model\n", "a text file starting 'this is not a model'"),
    (b"\x89HDF\r\n\x1a\n" + bytes(100), "an HDF5 file"),
    (b"\x00\x01\x02\xff" * 10, "a binary file of 40 bytes"),
])
def test_a_file_that_is_no_zip_is_not_a_keras_archive(tmp_path, content, got):
    path = tmp_path / "model.keras"
    path.write_bytes(content)
    with pytest.raises(ModelFileError, match=r"model\.keras: not a Keras \.keras archive \(a zip "
                                             r"with config\.json; got " + got):
        load_model_file(path)


def test_a_zip_without_config_json_is_not_a_keras_archive(tmp_path):
    path = tmp_path / "model.keras"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("notes.txt", "hello")
    with pytest.raises(ModelFileError, match=r"model\.keras: not a Keras \.keras archive .*got a "
                                             r"zip holding notes\.txt"):
        check_model_archive(path)


def _with_config(source, target, edit) -> None:
    with zipfile.ZipFile(source) as original, zipfile.ZipFile(target, "w") as copy:
        for name in original.namelist():
            data = original.read(name)
            copy.writestr(name, edit(data) if name == "config.json" else data)


def test_an_archive_with_an_unknown_layer_says_so(tiny_keras, tmp_path):
    path = tmp_path / "foreign.keras"
    _with_config(tiny_keras, path, lambda data: data.replace(b'"Dense"', b'"SomeoneElsesLayer"'))
    with pytest.raises(ModelFileError, match=r"foreign\.keras: the model uses a layer or function "
                                             r"Keras does not know.*SomeoneElsesLayer"):
        load_model_file(path)


def test_a_damaged_config_is_a_model_file_error_on_one_line(tiny_keras, tmp_path):
    path = tmp_path / "damaged.keras"
    _with_config(tiny_keras, path, lambda data: data[: len(data) // 2])
    with pytest.raises(ModelFileError, match=r"damaged\.keras: cannot load the Keras archive") as caught:
        load_model_file(path)
    assert "\n" not in str(caught.value)


def test_a_finished_run_of_a_newer_format_is_named_before_loading(tiny_keras, tmp_path):
    run = RunDir(tmp_path / "run").create()
    shutil.copy(tiny_keras, run / RunDir.MODEL)
    assert load_run_model(run.path).output.shape[-1] == 2  # still training: no run.json yet
    (run / RunDir.RUN).write_text('{"format": "ferkit-run", "version": 99}')
    with pytest.raises(RunFormatError, match=r"run\.json: run format version 99 was written by "
                                             r"a newer ferkit"):
        load_run_model(run.path)
