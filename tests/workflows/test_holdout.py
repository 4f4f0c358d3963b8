"""The honest protocol end to end without training: the split config, the carved split a run
uses, and de-duplicated figures equal to the metrics of the non-duplicate rows."""
from pathlib import Path

import keras
import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import accuracy_score, f1_score

from ferkit.config import config_from_dict, load_config, save_config
from ferkit.data.holdout import DUPLICATE_FLAG, DUPLICATE_GROUP, SOURCE_TEST
from ferkit.data.samples import Samples
from ferkit.errors import ConfigError
from ferkit.evaluation.dedup import dedup_summary
from ferkit.evaluation.evaluate import evaluate_model
from ferkit.workflows.evaluate import select_split
from ferkit.workflows.experiment import assign_splits

RECIPE = Path(__file__).resolve().parents[2] / "configs" / "fer2013_recipe.yaml"
CLASSES = ("angry", "happy", "sad")
CARVED = {"source": "fer2013"}, {"method": "predefined", "val_fraction": 0.25}


def fer_like(seed: int = 0) -> Samples:
    """90 source-train, 30 source-val and 12 source-test images; source-val rows 90 and 91
    are exact copies of train rows 0 and 1, source-test row 120 a copy of train row 2."""
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, (132, 6, 6)).astype(np.float32)
    images = np.stack([np.repeat(np.repeat(im, 8, 0), 8, 1) for im in images]).astype(np.uint8)
    labels = np.arange(132) % len(CLASSES)
    for copy, original in ((90, 0), (91, 1), (120, 2)):
        images[copy], labels[copy] = images[original], labels[original]
    frame = pd.DataFrame({"label": labels,
                          "split": ["train"] * 90 + ["val"] * 30 + ["test"] * 12})
    return Samples(frame, CLASSES, images=images, source="fer-like")


def split_config(data: dict, split: dict):
    return config_from_dict({"data": data, "split": split}, "test.yaml")


# --------------------------------------------------------------------------- config
@pytest.mark.parametrize("value", [1.5, 0, 1, -0.1])
def test_a_val_fraction_out_of_range_names_the_key_the_value_and_the_range(value):
    with pytest.raises(ConfigError) as error:
        split_config({"source": "fer2013"}, {"method": "predefined", "val_fraction": value})
    message = str(error.value)
    assert "test.yaml" in message and f"split.val_fraction = {value!r}" in message
    assert "0 < val_fraction < 1" in message


@pytest.mark.parametrize("method", ["group", "stratified"])
def test_a_val_fraction_with_another_method_says_what_to_use(method):
    with pytest.raises(ConfigError, match="needs split.method 'predefined'.*split.fractions"):
        split_config({"source": "fer2013"}, {"method": method, "val_fraction": 0.1})


def test_bad_duplicates_and_a_dedup_report_without_groups_are_config_errors():
    with pytest.raises(ConfigError, match="split.duplicates = 'fuzzy'"):
        split_config({"source": "fer2013"}, {"method": "predefined", "duplicates": "fuzzy"})
    with pytest.raises(ConfigError, match="report_dedup: true needs duplicate groups"):
        split_config({}, {"duplicates": "none", "report_dedup": True})


def test_the_dedup_report_is_on_by_default_for_fer_sources_only():
    assert split_config({"source": "fer2013"}, {"method": "predefined"}).split.report_dedup
    assert split_config({"source": "ferplus"}, {"method": "predefined"}).split.report_dedup
    assert split_config({"source": "ckplus"}, {}).split.report_dedup is False
    assert split_config({"source": "fer2013"}, {"method": "predefined", "duplicates": "none"}
                        ).split.report_dedup is False
    assert split_config({"source": "ckplus"}, {"report_dedup": True}).split.report_dedup


def test_the_split_settings_survive_a_saved_config(tmp_path):
    config = split_config(*CARVED)
    again = load_config(save_config(config, tmp_path / "config.yaml"))
    assert again.split == config.split
    assert (again.split.val_fraction, again.split.duplicates) == (0.25, "perceptual")


def test_the_recipe_carves_validation_from_training():
    split = load_config(RECIPE).split
    assert (split.method, split.val_fraction, split.duplicates) == ("predefined", 0.1, "perceptual")
    assert split.report_dedup


# --------------------------------------------------------------------------- splitting
def test_assign_splits_carves_val_and_scores_the_source_val_as_test():
    config = split_config(*CARVED)
    samples = fer_like()
    frame = assign_splits(samples, config.split, config.seed).frame
    source = samples.frame["split"].to_numpy()
    assert (frame["split"][source == "val"] == "test").all()
    assert (frame["split"][source == "test"] == SOURCE_TEST).all()
    carved = frame["split"][source == "train"]
    assert (carved == "val").sum() == pytest.approx(0.25 * 90, abs=3)
    assert sorted(np.flatnonzero(frame[DUPLICATE_FLAG])) == [90, 91]
    assert frame.loc[[0, 90], DUPLICATE_GROUP].nunique() == 1


def test_assign_splits_is_fixed_by_the_seed():
    config = split_config(*CARVED)
    first = assign_splits(fer_like(), config.split, 0).frame["split"]
    assert first.equals(assign_splits(fer_like(), config.split, 0).frame["split"])
    assert not first.equals(assign_splits(fer_like(), config.split, 1).frame["split"])


def test_without_a_val_fraction_the_source_split_stays_and_duplicates_are_still_marked():
    config = split_config({"source": "fer2013"}, {"method": "predefined"})
    samples = fer_like()
    frame = assign_splits(samples, config.split, config.seed).frame
    assert frame["split"].equals(samples.frame["split"])
    assert sorted(np.flatnonzero(frame[DUPLICATE_FLAG])) == [90, 91, 120]


def test_without_the_dedup_report_no_duplicate_columns_are_added():
    config = split_config({"source": "fer2013"},
                          {"method": "predefined", "val_fraction": 0.25, "report_dedup": False})
    frame = assign_splits(fer_like(), config.split, config.seed).frame
    assert DUPLICATE_FLAG not in frame.columns


def test_scoring_a_carved_run_again_re_carves_so_test_is_the_source_val():
    config = split_config(*CARVED)
    samples = fer_like()
    test = select_split(samples, config, "test")
    assert len(test) == 30 and test.frame[DUPLICATE_FLAG].sum() == 2
    val = select_split(samples, config, "val")
    assert len(val) == (assign_splits(samples, config.split, 0).frame["split"] == "val").sum()


# --------------------------------------------------------------------------- de-dup figures
def test_dedup_summary_equals_the_metrics_of_the_rows_without_a_duplicate():
    y_true = np.array([0, 1, 2, 0, 1, 2, 0, 1])
    y_pred = np.array([0, 1, 1, 0, 2, 2, 1, 1])
    has_duplicate = np.array([False, True, False, False, True, False, False, False])
    keep = ~has_duplicate
    figures = dedup_summary(y_true, y_pred, CLASSES, has_duplicate)
    assert figures["dedup_rows"] == 6 and figures["duplicate_rows"] == 2
    assert figures["dedup_emotion_accuracy"] == pytest.approx(
        accuracy_score(y_true[keep], y_pred[keep]))
    assert figures["dedup_emotion_macro_f1"] == pytest.approx(
        f1_score(y_true[keep], y_pred[keep], average="macro"))
    none_left = dedup_summary(y_true, y_pred, CLASSES, np.ones(8, bool))
    assert none_left["dedup_rows"] == 0 and np.isnan(none_left["dedup_emotion_accuracy"])


def test_evaluate_model_reports_dedup_figures_of_the_non_duplicate_test_rows():
    config = split_config(*CARVED)
    test = assign_splits(fer_like(), config.split, config.seed).frame
    samples = Samples(test, CLASSES, images=fer_like().images).split("test")
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((48, 48, 1)), keras.layers.Rescaling(1 / 255),
                              keras.layers.Flatten(), keras.layers.Dense(3, activation="softmax")])
    evaluation = evaluate_model(model, samples)
    kept = evaluation.predictions[~evaluation.predictions[DUPLICATE_FLAG]]
    summary = evaluation.summary
    assert summary["dedup_rows"] == 28 and summary["duplicate_rows"] == 2
    assert summary["dedup_emotion_accuracy"] == pytest.approx(
        accuracy_score(kept["label"], kept["predicted"]))
    assert summary["dedup_emotion_macro_f1"] == pytest.approx(
        f1_score(kept["label"], kept["predicted"], average="macro", labels=[0, 1, 2],
                 zero_division=0))
