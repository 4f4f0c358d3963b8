"""``ferkit evaluate`` / ``evaluate_run``: a trained run scored again on FER2013-format data, with clear errors."""
import json
import shutil

import numpy as np
import pandas as pd
import pytest

from ferkit.cli import main
from ferkit.data.sources.fer2013 import load_fer2013
from ferkit.data.samples import Samples
from ferkit.data.synthetic.formats import write_fer2013, write_class_folders
from ferkit.evaluation.selection import match_classes, resolve_split
from ferkit.inference import load_run_model

ROWS = 160


@pytest.fixture(scope="module")
def fer_data(tmp_path_factory):
    """A synthetic FER2013 csv (Training / PublicTest / PrivateTest rows) and its folder."""
    csv = write_fer2013(tmp_path_factory.mktemp("fer_csv"), n=ROWS, seed=5, n_subjects=20)
    return csv.parent


@pytest.fixture(scope="module")
def fer_run(tmp_path_factory, fer_data):
    """A tiny fer_recipe trained one epoch on ``fer_data`` with FER2013's own split, and the
    FER+ votes as a second target (``ferplus`` head)."""
    from ferkit.config import config_from_dict
    from ferkit.workflows import run_experiment

    config = config_from_dict({
        "name": "tiny_fer", "augment": None, "split": {"method": "predefined"},
        "data": {"source": "fer2013", "path": str(fer_data), "ferplus_aux": True},
        "model": {"name": "fer_recipe", "args": {"widths": [4, 8], "depths": [1, 1]}},
        "train": {"epochs": 1, "batch_size": 32, "jit_compile": False, "verbose": 0}})
    run = tmp_path_factory.mktemp("tiny_fer_run")
    run_experiment(config, run)
    return run


def _usage_counts(folder):
    return load_fer2013(folder / "fer2013.csv.gz").frame["usage"].value_counts()


def test_evaluate_defaults_to_publictest_and_writes_every_table(fer_run, fer_data, capsys):
    assert main(["evaluate", str(fer_run), "--data", str(fer_data / "fer2013.csv.gz")]) == 0
    printed = capsys.readouterr().out
    out = fer_run / "evaluate_fer2013_PublicTest"
    info = json.loads((out / "evaluation.json").read_text())
    assert info["split"] == "PublicTest" and info["flip_tta"] is False
    assert info["images"] == _usage_counts(fer_data)["PublicTest"]
    predictions = pd.read_csv(out / "predictions.csv")
    assert set(predictions["usage"]) == {"PublicTest"}
    accuracy = float((predictions["predicted"] == predictions["label"]).mean())
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["emotion_accuracy"] == pytest.approx(accuracy)
    assert f"accuracy  {accuracy:.4f}" in printed
    assert f"macro-F1  {metrics['emotion_macro_f1']:.4f}" in printed
    for name in ("emotion_report.csv", "emotion_report.md", "confusion_matrix.csv",
                 "confusion_matrix.md", "plots/confusion_matrix.png"):
        assert (out / name).stat().st_size > 0, name
    confusion = pd.read_csv(out / "confusion_matrix.csv", index_col=0)
    assert int(confusion.to_numpy().sum()) == info["images"]


def test_a_run_with_a_ferplus_head_is_scored_without_the_vote_file(fer_run, fer_data, tmp_path):
    assert "ferplus" in load_run_model(fer_run).output  # the votes were a training target
    folder = tmp_path / "csv_only"
    folder.mkdir()
    shutil.copy(fer_data / "fer2013.csv.gz", folder)
    assert main(["evaluate", str(fer_run), "--data", str(folder), "--out",
                 str(tmp_path / "scored")]) == 0
    metrics = json.loads((tmp_path / "scored" / "metrics.json").read_text())
    assert 0.0 <= metrics["emotion_accuracy"] <= 1.0


def test_tta_averages_the_image_and_its_mirror(fer_run, fer_data, tmp_path):
    out = tmp_path / "tta"
    assert main(["evaluate", str(fer_run), "--data", str(fer_data), "--split", "Training",
                 "--tta", "--out", str(out)]) == 0
    predictions = pd.read_csv(out / "predictions.csv")
    samples = load_fer2013(fer_data / "fer2013.csv.gz", usage="Training")
    assert len(predictions) == len(samples) == _usage_counts(fer_data)["Training"]
    model = load_run_model(fer_run)
    images = samples.images[:8, ..., None].astype("float32") / 255.0
    plain = np.asarray(model(images, training=False)["emotion"])
    mirrored = np.asarray(model(images[:, :, ::-1], training=False)["emotion"])
    columns = [c for c in predictions.columns if c.startswith("p_")]
    np.testing.assert_allclose(predictions[columns].to_numpy()[:8], (plain + mirrored) / 2,
                               atol=1e-5)
    assert json.loads((out / "evaluation.json").read_text())["flip_tta"] is True


@pytest.mark.slow  # the views themselves are unit-tested in tests/evaluation/test_tta.py
def test_tta_shift_adds_the_shifted_views(fer_run, fer_data, tmp_path, capsys):
    assert main(["evaluate", str(fer_run), "--data", str(fer_data / "fer2013.csv.gz"), "--tta",
                 "--tta-shift", "2"]) == 0
    assert "flip + shift 2 px TTA" in capsys.readouterr().out
    out = fer_run / "evaluate_fer2013_PublicTest_tta_shift2"
    info = json.loads((out / "evaluation.json").read_text())
    assert info["flip_tta"] is True and info["shift_tta"] == 2
    flip_only = tmp_path / "flip"
    assert main(["evaluate", str(fer_run), "--data", str(fer_data), "--tta",
                 "--out", str(flip_only)]) == 0
    columns = [c for c in pd.read_csv(out / "predictions.csv").columns if c.startswith("p_")]
    shifted = pd.read_csv(out / "predictions.csv")[columns].to_numpy()
    mirrored = pd.read_csv(flip_only / "predictions.csv")[columns].to_numpy()
    assert shifted.shape == mirrored.shape and not np.allclose(shifted, mirrored, atol=1e-6)


def test_tta_shift_rejects_a_non_pixel_count(fer_run, fer_data, capsys):
    with pytest.raises(SystemExit):
        main(["evaluate", str(fer_run), "--data", str(fer_data), "--tta-shift", "-2"])
    assert "--tta-shift needs a whole number of pixels" in capsys.readouterr().err


@pytest.mark.slow  # the views themselves are unit-tested in tests/evaluation/test_tta.py
def test_tta_zoom_adds_the_enlarged_views(fer_run, fer_data, tmp_path, capsys):
    assert main(["evaluate", str(fer_run), "--data", str(fer_data / "fer2013.csv.gz"), "--tta",
                 "--tta-shift", "2", "--tta-zoom", "1.08", "1.16"]) == 0
    assert "flip + shift 2 px + zoom 1.08/1.16 TTA" in capsys.readouterr().out
    out = fer_run / "evaluate_fer2013_PublicTest_tta_shift2_zoom1.08-1.16"
    info = json.loads((out / "evaluation.json").read_text())
    assert info["shift_tta"] == 2 and info["zoom_tta"] == [1.08, 1.16]
    ten_views = tmp_path / "ten"
    assert main(["evaluate", str(fer_run), "--data", str(fer_data), "--tta", "--tta-shift", "2",
                 "--out", str(ten_views)]) == 0
    columns = [c for c in pd.read_csv(out / "predictions.csv").columns if c.startswith("p_")]
    zoomed = pd.read_csv(out / "predictions.csv")[columns].to_numpy()
    shifted = pd.read_csv(ten_views / "predictions.csv")[columns].to_numpy()
    assert zoomed.shape == shifted.shape and not np.allclose(zoomed, shifted, atol=1e-6)


@pytest.mark.parametrize("bad", ["1", "0.9", "x", "inf"])
def test_tta_zoom_rejects_a_factor_that_does_not_enlarge(fer_run, fer_data, capsys, bad):
    with pytest.raises(SystemExit):
        main(["evaluate", str(fer_run), "--data", str(fer_data), "--tta-zoom", bad])
    assert "--tta-zoom needs enlargement factors > 1" in capsys.readouterr().err


def test_class_order_is_matched_by_name():
    frame = pd.DataFrame({"label": [0, 1, 2, 2]})
    samples = Samples(frame, ("c", "a", "b"), images=np.zeros((4, 2, 2), "uint8"))
    matched = match_classes(samples, ("a", "b", "c"), "run")
    assert matched.classes == ("a", "b", "c")
    assert matched.labels.tolist() == [2, 0, 1, 1]


def test_class_mismatch_between_run_and_data_is_an_error(fer_run, tmp_path, capsys):
    folders = write_class_folders(tmp_path / "folders", {"Angry": "anger", "Joy": "happy"},
                                  n_per_class=3, n_subjects=3)
    code = main(["evaluate", str(fer_run), "--data", str(folders), "--source", "folders",
                 "--split", "all"])
    error = capsys.readouterr().err
    assert code == 2
    assert "class mismatch" in error and "'Joy'" in error and "'happy'" in error


def test_run_without_model_and_missing_data_are_named(fer_run, fer_data, tmp_path, capsys):
    bare = tmp_path / "bare_run"
    bare.mkdir()
    shutil.copy(fer_run / "config.yaml", bare / "config.yaml")
    assert main(["evaluate", str(bare), "--data", str(fer_data)]) == 2
    assert "no model.keras" in capsys.readouterr().err
    assert main(["evaluate", str(fer_run), "--data", str(tmp_path / "nowhere")]) == 2
    assert "nowhere does not exist" in capsys.readouterr().err


def test_split_names_are_checked(fer_run):
    assert resolve_split(None, "fer2013", fer_run) == "PublicTest"
    scored_on = json.loads((fer_run / "run.json").read_text())["evaluated_on"]
    assert scored_on == "test"  # the synthetic csv has PrivateTest rows
    assert resolve_split(None, "ckplus", fer_run) == scored_on
    with pytest.raises(ValueError, match="Usage names apply to the fer2013"):
        resolve_split("PublicTest", "folders", fer_run)
    with pytest.raises(ValueError, match="is not a split"):
        resolve_split("dev", "fer2013", fer_run)


def test_tta_defaults_come_from_the_run_configs_evaluate_section(fer_run, fer_data, tmp_path):
    import yaml

    run = tmp_path / "run"
    shutil.copytree(fer_run, run, ignore=shutil.ignore_patterns("evaluate_*"))
    config = yaml.safe_load((run / "config.yaml").read_text())
    config["evaluate"] = {"flip_tta": True, "shift_tta": 1, "zoom_tta": []}
    (run / "config.yaml").write_text(yaml.safe_dump(config))
    csv = str(fer_data / "fer2013.csv.gz")
    assert main(["evaluate", str(run), "--data", csv]) == 0
    info = json.loads((run / "evaluate_fer2013_PublicTest_tta_shift1" / "evaluation.json").read_text())
    assert info["flip_tta"] is True and info["shift_tta"] == 1
    assert main(["evaluate", str(run), "--data", csv, "--no-tta", "--tta-shift", "0",
                 "--out", str(tmp_path / "plain")]) == 0
    info = json.loads((tmp_path / "plain" / "evaluation.json").read_text())
    assert info["flip_tta"] is False and info["shift_tta"] == 0
