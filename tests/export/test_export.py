"""Export to .keras, SavedModel and TFLite: round trips within tolerance, head names, errors."""
import argparse

import numpy as np
import pytest

from ferkit.cli import export as export_command
from ferkit.export import (
    FORMATS, TOLERANCE, ExportMismatchError, check_export, compare_outputs, export_model,
    synthetic_check_images, tflite_interpreter,
)
from ferkit.inference import Predictor, load_preprocessing
from ferkit.runs import RunDir



@pytest.fixture(scope="module")
def exported(tiny_run, tmp_path_factory):
    """Every format exported once (TFLite conversion is the slow one)."""
    out = tmp_path_factory.mktemp("exports")
    names = {"keras": "model.keras", "savedmodel": "savedmodel", "tflite": "model.tflite"}
    return {fmt: export_model(tiny_run, fmt, out / fmt / names[fmt]) for fmt in FORMATS}


@pytest.fixture(scope="module")
def images(tiny_run):
    return synthetic_check_images(load_preprocessing(tiny_run), count=3)


@pytest.mark.parametrize("fmt", FORMATS)
def test_each_format_round_trips_within_tolerance(tiny_run, exported, images, fmt):
    assert check_export(tiny_run, exported[fmt], images) <= TOLERANCE
    holder = exported[fmt] if fmt == "savedmodel" else exported[fmt].parent
    assert (holder / RunDir.PREPROCESSING).is_file()


def test_savedmodel_and_tflite_keep_the_head_names(exported, images):
    import tensorflow as tf

    loaded = tf.saved_model.load(str(exported["savedmodel"]))  # keep it: serve uses its variables
    served = loaded.serve(tf.constant(images))
    assert sorted(served) == ["au", "emotion"]
    runner = tflite_interpreter(exported["tflite"]).get_signature_runner()
    assert list(runner.get_input_details()) == ["image"]
    assert sorted(runner.get_output_details()) == ["au", "emotion"]


def test_a_keras_export_folder_is_itself_a_loadable_run(tiny_run, exported):
    predictor = Predictor.from_run(exported["keras"].parent)
    assert predictor.classes == load_preprocessing(tiny_run).classes


def test_a_mismatch_raises_with_the_numbers():
    reference = {"emotion": np.full((2, 3), 1 / 3, "float32"), "au": np.zeros((2, 4), "float32")}
    shifted = {**reference, "emotion": reference["emotion"] + np.float32(0.25)}
    numbers = r"up to 0\.25 > tolerance 1e-05 on 2 images \(emotion 0\.25, au 0\)"
    with pytest.raises(ExportMismatchError, match=numbers):
        compare_outputs(reference, shifted, TOLERANCE, "export")
    with pytest.raises(ExportMismatchError, match=r"lacks head\(s\) \['au'\]"):
        compare_outputs(reference, {"emotion": reference["emotion"]}, TOLERANCE, "export")


def test_a_bad_format_is_rejected_by_the_function_and_the_command(tiny_run, capsys):
    with pytest.raises(ValueError, match="one of \\['keras', 'savedmodel', 'tflite'\\], got 'onnx'"):
        export_model(tiny_run, "onnx")
    parser = argparse.ArgumentParser(prog="ferkit")
    export_command.register(parser.add_subparsers(dest="command"))
    with pytest.raises(SystemExit):
        parser.parse_args(["export", str(tiny_run), "--format", "onnx"])
    assert "invalid choice: 'onnx'" in capsys.readouterr().err


def test_the_command_offers_the_library_formats_and_tolerance():
    assert export_command.FORMATS == FORMATS and export_command.TOLERANCE == TOLERANCE


def test_export_command_checks_the_export_by_default(tiny_run, tmp_path, capsys):
    parser = argparse.ArgumentParser(prog="ferkit")
    export_command.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["export", str(tiny_run), "--format", "keras",
                              "--out", str(tmp_path / "model.keras")])
    assert args.run(args) == 0
    assert "check: max |export - keras|" in capsys.readouterr().out


@pytest.mark.slow
def test_a_mixed_precision_run_exports_as_float32(ckplus_full, tmp_path):
    """bfloat16 training, float32 artefacts: the export check holds at the float32 tolerance."""
    import keras

    from ferkit.config import config_from_dict
    from ferkit.inference import load_model_file, load_run_model
    from ferkit.workflows import run_experiment

    config = config_from_dict({
        "augment": None, "data": {"min_au_count": 2, "path": str(ckplus_full)},
        "model": {"args": {"filters": [4], "blocks": [1], "stem_filters": 4}},
        "train": {"epochs": 1, "jit_compile": False, "verbose": 0, "mixed_precision": True}})
    run = tmp_path / "bf16_run"
    run_experiment(config, run)
    assert load_run_model(run).get_layer("stem_conv").compute_dtype == "bfloat16"
    batch = synthetic_check_images(load_preprocessing(run), count=3)
    for fmt in ("keras", "tflite"):
        path = export_model(run, fmt, tmp_path / fmt / f"model.{fmt}")
        assert check_export(run, path, batch) <= TOLERANCE
    exported = load_model_file(tmp_path / "keras" / "model.keras")
    assert {layer.compute_dtype for layer in exported.layers} <= {"float32", "uint8", None}
    assert keras.mixed_precision.global_policy().name == "float32"
