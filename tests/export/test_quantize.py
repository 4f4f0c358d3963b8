"""TFLite quantisation (float16, int8) and the accuracy parity check on a tiny trained run."""
import argparse
import json

import numpy as np
import pytest

from ferkit.cli import export as export_command
from ferkit.errors import ExportMismatchError
from ferkit.export import (
    QUANTIZATIONS, REPORT_JSON, REPORT_MARKDOWN, ParityReport, calibration_batch, check_parity,
    enforce_max_drop, evaluation_images, export_model, parity_figures, tflite_interpreter,
    write_tflite,
)
from ferkit.export.run_data import split_images
from ferkit.inference import load_run_model


@pytest.fixture(scope="module")
def tflite_files(tiny_run, tmp_path_factory):
    """The run exported once per quantisation, each in its own folder."""
    out = tmp_path_factory.mktemp("quantised")
    return {q: export_model(tiny_run, "tflite", out / q / "model.tflite", quantize=q,
                            calibration_images=40) for q in QUANTIZATIONS}


@pytest.fixture(scope="module")
def calibration(tiny_run):
    return calibration_batch(tiny_run, count=40)


def _interpreted(path, batch):
    runner = tflite_interpreter(path).get_signature_runner()
    return runner(image=batch)["emotion"]


def test_each_quantisation_loads_and_predicts_close_to_keras(tiny_run, tflite_files, calibration):
    keras_probabilities = load_run_model(tiny_run)(calibration, training=False)["emotion"].numpy()
    bounds = {"none": 1e-5, "float16": 5e-3, "int8": 0.1}
    for quantize, path in tflite_files.items():
        predicted = _interpreted(path, calibration)
        gap = np.abs(predicted - keras_probabilities).max()
        agreement = (predicted.argmax(1) == keras_probabilities.argmax(1)).mean()
        assert gap <= bounds[quantize], f"{quantize}: probabilities differ by up to {gap}"
        assert agreement >= 0.9, f"{quantize}: labels agree on only {agreement:.2f}"


def test_int8_is_integer_inside_with_float_input_and_output(tflite_files):
    interpreter = tflite_interpreter(tflite_files["int8"])
    assert interpreter.get_input_details()[0]["dtype"] == np.float32
    assert {d["dtype"] for d in interpreter.get_output_details()} == {np.float32}
    kinds = {q: {d["dtype"] for d in tflite_interpreter(path).get_tensor_details()}
             for q, path in tflite_files.items()}
    assert np.int8 in kinds["int8"] and np.float16 not in kinds["int8"]
    assert np.float16 in kinds["float16"] and np.int8 not in kinds["float16"]
    assert not {np.int8, np.float16} & kinds["none"]


def test_calibration_reads_training_rows_never_the_evaluation_split(tiny_run, calibration):
    train = split_images(tiny_run, "train").images.reshape(-1, calibration[0].size)
    scored = evaluation_images(tiny_run).images.reshape(-1, calibration[0].size)
    flat = calibration.reshape(len(calibration), -1)
    assert len(calibration) == min(40, len(train)) and calibration.dtype == np.float32
    assert all((np.abs(train - image).max(1) == 0).any() for image in flat)
    assert not any((np.abs(scored - image).max(1) == 0).any() for image in flat)


def test_parity_report_states_both_accuracies_and_the_drop(tiny_run, tflite_files):
    path = tflite_files["int8"]
    report = check_parity(tiny_run, path, quantize="int8", calibration_images=40, max_drop=100)
    split = evaluation_images(tiny_run)
    keras_labels = load_run_model(tiny_run)(split.images, training=False)["emotion"].numpy().argmax(1)
    export_labels = _interpreted(path, split.images).argmax(1)
    assert report.images == len(split.labels) and report.size_bytes == path.stat().st_size
    assert report.keras_accuracy == pytest.approx((keras_labels == split.labels).mean())
    assert report.export_accuracy == pytest.approx((export_labels == split.labels).mean())
    assert report.drop_points == pytest.approx(100 * (report.keras_accuracy
                                                      - report.export_accuracy))
    assert report.label_agreement == pytest.approx((keras_labels == export_labels).mean())
    written = json.loads((path.parent / REPORT_JSON).read_text())
    assert written["format"] == "tflite" and written["quantize"] == "int8"
    assert written["calibration_images"] == 40 and written["passed"] is True
    assert written["drop_points"] == pytest.approx(report.drop_points)
    assert "| quantisation | int8 |" in (path.parent / REPORT_MARKDOWN).read_text()


def test_parity_figures_count_the_drop_in_points():
    labels = np.array([0, 1, 2, 0])
    keras = np.eye(3)[[0, 1, 2, 0]]         # 4 of 4 right
    exported = np.eye(3)[[0, 1, 1, 2]] * 0.9 + 0.1 / 3  # 2 of 4 right
    figures = parity_figures(keras, exported, labels)
    assert figures["keras_accuracy"] == 1.0 and figures["export_accuracy"] == 0.5
    assert figures["drop_points"] == pytest.approx(50.0)
    assert figures["label_agreement"] == 0.5
    assert figures["max_probability_difference"] == pytest.approx(1 - 0.1 / 3)
    with pytest.raises(ExportMismatchError, match="predicts 4 classes per image, the Keras model 3"):
        parity_figures(keras, np.ones((4, 4)) / 4, labels)


def _report(drop: float) -> ParityReport:
    return ParityReport("m.tflite", "tflite", "int8", 10, "test", 100, 0.6, 0.6 - drop / 100,
                        drop, 0.9, 0.2, max_drop_points=0.5)


def test_a_drop_above_the_maximum_fails_or_warns():
    enforce_max_drop(_report(0.5), "run/model.keras")  # at the limit: passes
    with pytest.raises(ExportMismatchError, match=r"drop of 1\.20 points > max drop 0\.5"):
        enforce_max_drop(_report(1.2), "run/model.keras")
    with pytest.warns(UserWarning, match="label agreement 0.9000"):
        enforce_max_drop(_report(1.2), "run/model.keras", fail=False)


def test_a_tflite_file_of_another_model_is_a_named_error(tiny_run, tmp_path):
    from ferkit.models import build

    shape = load_run_model(tiny_run).input_shape[1:]
    smaller = build("fer_recipe", input_shape=(24, 24, shape[-1]), num_classes=3,
                    widths=[4], depths=[1])
    write_tflite(smaller, tmp_path / "other_size" / "model.tflite")
    with pytest.raises(ExportMismatchError, match=r"takes images of shape \(24, 24, 1\)"):
        check_parity(tiny_run, tmp_path / "other_size" / "model.tflite")
    classes = int(load_run_model(tiny_run).output["emotion"].shape[-1]) + 1
    other = build("fer_recipe", input_shape=shape, num_classes=classes, widths=[4], depths=[1])
    write_tflite(other, tmp_path / "other_classes" / "model.tflite")
    with pytest.raises(ExportMismatchError, match=f"predicts {classes} classes"):
        check_parity(tiny_run, tmp_path / "other_classes" / "model.tflite")


def test_quantisation_is_for_tflite_only(tiny_run):
    with pytest.raises(ValueError, match="applies to the tflite format only, not 'keras'"):
        export_model(tiny_run, "keras", quantize="int8")
    with pytest.raises(ValueError, match=r"one of \['none', 'float16', 'int8'\], got 'int4'"):
        export_model(tiny_run, "tflite", quantize="int4")


def _parser():
    parser = argparse.ArgumentParser(prog="ferkit")
    export_command.register(parser.add_subparsers(dest="command"))
    return parser


def test_the_command_exports_float16_and_reports_parity(tiny_run, tmp_path, capsys):
    args = _parser().parse_args(["export", str(tiny_run), "--format", "tflite", "--quantize",
                                 "float16", "--out", str(tmp_path / "fp16.tflite")])
    assert args.run(args) == 0
    out = capsys.readouterr().out
    assert "exported tflite (float16) model" in out and "parity on " in out
    assert "check: max |export - keras|" not in out  # the 1e-5 check is for float32 files
    assert json.loads((tmp_path / REPORT_JSON).read_text())["quantize"] == "float16"


def test_the_command_offers_the_library_quantisations_and_checks_its_numbers(capsys):
    from ferkit import export

    assert export_command.QUANTIZATIONS == QUANTIZATIONS
    assert export_command.MAX_DROP_POINTS == export.MAX_DROP_POINTS
    assert export_command.CALIBRATION_IMAGES == export.DEFAULT_CALIBRATION_IMAGES
    for option, value in (("--max-drop", "-1"), ("--calibration-images", "0")):
        with pytest.raises(SystemExit):
            _parser().parse_args(["export", "run", "--format", "tflite", option, value])
        assert "must be" in capsys.readouterr().err
