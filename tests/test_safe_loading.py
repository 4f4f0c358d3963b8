"""Hostile files run nothing: a ``.keras`` whose Lambda layer would write a marker file is
refused by Keras safe_mode (the default everywhere ferkit loads a model) unless the caller
opts out, and ``--unsafe-load`` is that opt-out on the command line, with a warning."""
from __future__ import annotations

import pytest

import ferkit.cli.export
from ferkit.cli import main
from ferkit.errors import ModelFileError
from ferkit.models.loading import load_model_file, load_run_model, unsafe_loading
from ferkit.runs import RunDir


@pytest.fixture(scope="module")
def hostile_model(tmp_path_factory):
    """``(model.keras, marker)``: a model whose Lambda layer creates ``marker`` when it runs."""
    import keras

    folder = tmp_path_factory.mktemp("hostile")
    marker = folder / "code_ran"
    function = eval(f"lambda x: (open({str(marker)!r}, 'w').close(), x)[1]")  # a literal path
    inputs = keras.Input((3,))
    model = keras.Model(inputs, keras.layers.Lambda(function)(inputs))
    run = RunDir(folder / "run").create()
    model.save(run / RunDir.MODEL)
    return run / RunDir.MODEL, marker


@pytest.fixture
def marker(hostile_model):
    """The marker path, removed before the test (building the model ran the Lambda once)."""
    hostile_model[1].unlink(missing_ok=True)
    yield hostile_model[1]
    hostile_model[1].unlink(missing_ok=True)


def test_a_lambda_model_is_refused_by_default_and_runs_nothing(hostile_model, marker):
    path, _ = hostile_model
    with pytest.raises(ModelFileError, match=r"model\.keras: refused by Keras safe_mode") as caught:
        load_model_file(path)
    assert "--unsafe-load" in str(caught.value)
    assert not marker.exists()


def test_a_run_directory_model_is_loaded_safely_too(hostile_model, marker):
    path, _ = hostile_model
    with pytest.raises(ModelFileError, match="safe_mode"):
        load_run_model(path.parent)
    assert not marker.exists()


def test_safe_mode_false_loads_it_with_a_warning(hostile_model, marker):
    path, _ = hostile_model
    with pytest.warns(UserWarning, match=r"model\.keras with safe_mode=False: the file can run "
                                         "Python code"):
        model = load_model_file(path, safe_mode=False)
    assert model.output.shape[-1] == 3
    assert marker.exists(), "the hostile file is not hostile: the test proves nothing"


def test_unsafe_loading_changes_only_the_default(hostile_model, marker):
    path, _ = hostile_model
    with unsafe_loading():
        with pytest.raises(ModelFileError, match="safe_mode"):
            load_model_file(path, safe_mode=True)
        assert not marker.exists()
        with pytest.warns(UserWarning, match="safe_mode=False"):
            load_model_file(path)
    assert marker.exists()
    with pytest.raises(ModelFileError, match="safe_mode"):  # back to safe after the block
        load_model_file(path)


def _export_that_loads(monkeypatch, path, loaded: list):
    def run(args):
        loaded.append(load_model_file(path))
        return 0
    monkeypatch.setattr(ferkit.cli.export, "run", run)


def test_the_cli_refuses_the_file_in_one_line_without_unsafe_load(hostile_model, marker,
                                                                  monkeypatch, capsys):
    path, _ = hostile_model
    _export_that_loads(monkeypatch, path, loaded := [])
    assert main(["export", str(path.parent), "--format", "keras"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("ferkit export: error: ") and "safe_mode" in err and str(path) in err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert not loaded and not marker.exists()


def test_unsafe_load_on_the_cli_loads_the_file_with_a_warning(hostile_model, marker, monkeypatch):
    path, _ = hostile_model
    _export_that_loads(monkeypatch, path, loaded := [])
    with pytest.warns(UserWarning, match="safe_mode=False"):
        assert main(["export", str(path.parent), "--format", "keras", "--unsafe-load"]) == 0
    assert len(loaded) == 1 and marker.exists()


@pytest.mark.parametrize("command", ["predict", "evaluate", "export"])
def test_commands_that_load_a_model_take_unsafe_load(command, capsys):
    with pytest.raises(SystemExit):
        main([command, "--help"])
    assert "--unsafe-load" in capsys.readouterr().out
