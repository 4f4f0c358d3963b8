"""ferkit.tuning: search-space checks, every family's HyperModel, a tiny cross-validated search."""
import json

import keras_tuner
import numpy as np
import pandas as pd
import pytest

from ferkit.config import ConfigError, config_from_dict, load_config
from ferkit.data.samples import Samples
from ferkit.tuning import FerHyperModel, score_names
from ferkit.workflows import run_search
from ferkit.tuning.families import FAMILIES, family_for, resolve_space
from ferkit.workflows.search import prepare_search
from ferkit.config.space import parse_space
from ferkit.tuning.tuner import make_oracle

TINY_RESNET = {"name": "ckplus_small", "args": {"filters": [4], "blocks": [1], "stem_filters": 4}}


def tiny_samples(n_subjects: int = 8, per_subject: int = 6, size: int = 24) -> Samples:
    """Every subject shows each of 3 classes twice; images carry a class-dependent blob."""
    rng = np.random.default_rng(0)
    n = n_subjects * per_subject
    labels = np.tile(np.arange(3), n // 3)
    images = rng.integers(0, 60, (n, size, size), dtype=np.uint8)
    for index, label in enumerate(labels):
        images[index, 4 + 6 * label: 10 + 6 * label, 4:20] = 220
    frame = pd.DataFrame({"label": labels,
                          "subject": np.repeat([f"S{i:03d}" for i in range(n_subjects)], per_subject),
                          "AU1": (labels == 2).astype(int), "AU12": (labels == 1).astype(int)})
    return Samples(frame, ("negative", "positive", "surprise"), images=images, aus=(1, 12),
                   source="tiny")


def tiny_config(**tune):
    return config_from_dict({
        "augment": None, "data": {"image_size": [24, 24]}, "model": TINY_RESNET,
        "train": {"epochs": 1, "jit_compile": False, "verbose": 0, "batch_size": 16},
        "tune": {"max_trials": 2, "folds": 2, "val_fraction": 0.3,
                 "space": {"filters": {"type": "choice", "values": [4, 8]}}, **tune}})


# --------------------------------------------------------------------------- space checks
@pytest.mark.parametrize("raw, message", [
    ({}, "tune.space is empty"),
    ({"x": {"type": "integer"}}, r"tune.space.x.type = 'integer'; choose one of \['int'"),
    ({"l2": {"type": "float", "min": 0.1, "max": 0.01}}, "min 0.1 is larger than max 0.01"),
    ({"l2": {"type": "float", "min": 0.0, "max": 1.0, "sampling": "log"}}, "log sampling needs min > 0"),
    ({"l2": {"type": "float", "min": 1e-5, "max": 1e-1, "sampling": "log", "step": 0.5}},
     "the step is a factor and must be > 1"),
    ({"f": {"type": "choice", "values": []}}, "needs a non-empty list 'values'"),
    ({"f": {"type": "choice", "values": [1, "a"]}}, "mixes types"),
    ({"f": {"type": "int", "min": 1, "max": 4, "values": [1]}}, r"unknown key\(s\) \['values'\]"),
    ({"f": {"type": "int", "min": 1.5, "max": 4}}, "tune.space.f.min = 1.5 is not an int"),
    ({"f": {"type": "int", "min": 1, "max": 4, "default": 9}}, r"default 9 is not a int in \[1, 4\]"),
    ({"f": {"type": "choice", "values": [1, 2], "default": 3}}, "default 3 is not one of"),
    ({"f": 3}, "tune.space.f must be a mapping"),
])
def test_bad_space_entries_say_which_and_why(raw, message):
    with pytest.raises(ValueError, match=message):
        parse_space(raw)


def test_log_sampling_with_a_factor_step_gives_the_decades():
    spec = parse_space({"l2": {"type": "float", "min": 1e-5, "max": 1e-1, "sampling": "log",
                               "step": 10}})["l2"]
    hp = keras_tuner.HyperParameters()
    spec.declare(hp)
    assert np.allclose(sorted(hp.space[0].values), [1e-5, 1e-4, 1e-3, 1e-2, 1e-1])


@pytest.mark.parametrize("tune, message", [
    ({"space": {"l2": {"type": "float", "min": 1, "max": 0}}}, "cfg.yaml: tune.space.l2: min 1 is larger"),
    ({"tuner": "annealing"}, "tune.tuner = 'annealing' is not a valid value"),
    ({"max_trials": None}, "tune.max_trials must be set for the random tuner"),
    ({"folds": 1}, r"tune.folds = 1 is out of range: must be a whole number >= 2"),
    ({"objective": "emotion_accuracy"}, "must be a fold score such as val_emotion_accuracy"),
    ({"spaces": {}}, r"unknown key\(s\) tune.spaces"),
])
def test_tune_section_errors_name_the_file_and_key(tune, message):
    with pytest.raises(ConfigError, match=message):
        config_from_dict({"tune": tune}, source="cfg.yaml")


def test_shipped_tune_config_reads_and_resolves_its_space():
    config = load_config("configs/tune_ckplus.yaml")
    space = resolve_space(family_for(config.model.name), config.tune.space, config.tune.tuner)
    assert list(space) == ["filters", "l2", "epochs"]
    assert (space["l2"].min, space["l2"].max, space["l2"].sampling) == (1e-5, 1e-1, "log")
    assert config.tune.fold_by == "subject" and config.tune.folds == 3


@pytest.mark.parametrize("model, raw, tuner, message", [
    ("seed001_main", {"l2": {"type": "float", "min": 1e-5, "max": 1e-1}}, "random",
     r"unknown hyperparameter\(s\) \['l2'\] for model family 'seed001_cnn'; it tunes \['filters'"),
    ("ckplus_small", {"filters": {"type": "float", "min": 8.0, "max": 32.0}}, "random",
     "tune.space.filters must give int values"),
    ("fer_compact", {"dropout": {"type": "float", "min": 0.0, "max": 2.0}}, "random",
     r"tune.space.dropout: \[2.0\] outside the allowed range"),
    ("ckplus_small", {"epochs": {"type": "int", "min": 1, "max": 4}}, "hyperband",
     "Hyperband sets each trial's epochs itself"),
])
def test_space_must_fit_the_model_family(model, raw, tuner, message):
    with pytest.raises(ValueError, match=message):
        resolve_space(family_for(model), raw, tuner)


def test_every_family_default_space_is_valid_and_hyperband_drops_epochs():
    for family in FAMILIES.values():
        space = resolve_space(family, None)
        assert set(space) <= set(family.accepted) and "epochs" in space, family.name
        assert "epochs" not in resolve_space(family, None, "hyperband"), family.name


def test_make_oracle_picks_each_keras_tuner_strategy():
    objective = keras_tuner.Objective("val_emotion_accuracy", "max")
    kinds = {name: type(make_oracle(name, objective, 3, 0)).__name__
             for name in ("random", "bayesian", "hyperband", "grid")}
    assert kinds == {"random": "RandomSearchOracle", "bayesian": "BayesianOptimizationOracle",
                     "hyperband": "HyperbandOracle", "grid": "GridSearchOracle"}


# --------------------------------------------------------------------------- hypermodels
def _config(name, args, space):
    return config_from_dict({"model": {"name": name, "args": args},
                             "train": {"jit_compile": False}, "tune": {"space": space}})


def _fixed(space: dict, values: dict) -> dict:
    return {name: {"type": "choice", "values": [value]} for name, value in values.items()} | space


FAMILY_CASES = [
    ("ckplus_small", {}, (24, 24, 1),
     {"filters": 8, "blocks": 1, "kernel_size": 5, "dropout": 0.2, "l2": 1e-3},
     lambda m: (m.get_layer("stem_conv").filters, m.get_layer("stage3_block1").filters,
                m.get_layer("stage1_block1").kernel_size, m.get_layer("dropout").rate),
     (8, 32, 5, 0.2)),
    ("seed001_main", {}, (24, 24, 1), {"filters": 8, "kernel_size": 5, "dropout": 0.3},
     lambda m: (m.get_layer("conv1").filters, m.get_layer("conv3").filters,
                m.get_layer("conv1").kernel_size, m.get_layer("conv2").kernel_size),
     (8, 32, (5, 5), (7, 7))),
    ("seed000_main", {}, (32, 32, 3), {"filters": 16, "kernel_size": 5, "dense_units": 32},
     lambda m: (m.get_layer("conv1").filters, m.get_layer("conv5").filters,
                m.get_layer("conv4").kernel_size, m.get_layer("dense").units),
     (16, 64, (5, 5), 32)),
    ("seed002_resnet", {"pool_size": 4}, (24, 24, 1),
     {"filters": 8, "blocks": 2, "kernel_size": 3, "fc_layers": 1, "fc_units": 32},
     lambda m: (m.get_layer("block1_conv1").filters, len([l for l in m.layers if l.name.startswith("block")
                                                          and l.name[5:].isdigit()]),
                m.get_layer("fc1").units),
     (8, 1, 32)),
    ("fer_compact", {}, (24, 24, 1), {"filters": 16, "blocks": 1, "se_ratio": 0.0},
     lambda m: (m.get_layer("stem1_conv").filters, m.get_layer("stage3_block1_a_sep").filters,
                any("_se_" in l.name for l in m.layers)),
     (8, 64, False)),
    ("fer_recipe", {}, (24, 24, 1), {"filters": 8, "blocks": 1, "dropout": 0.2, "l2": 1e-4},
     lambda m: (m.get_layer("stage1_1_conv").filters, m.get_layer("stage3_1_conv").filters,
                "stage1_2_conv" in [l.name for l in m.layers], m.get_layer("dropout").rate),
     (8, 32, False, 0.2)),
    ("seed003_resnet50", {}, (32, 32, 1), {"dropout": 0.3, "pooling": "max"},
     lambda m: (m.get_layer("dropout").rate, m.get_layer("max_pool").name), (0.3, "max_pool")),
]


@pytest.mark.parametrize("name, args, shape, values, read, expected", FAMILY_CASES,
                         ids=[case[0] for case in FAMILY_CASES])
def test_each_family_hypermodel_builds_the_fixed_hyperparameters(name, args, shape, values, read,
                                                                 expected):
    space = _fixed({"learning_rate": {"type": "choice", "values": [0.005]}}, values)
    hypermodel = FerHyperModel(_config(name, args, space), shape, num_classes=3, num_aus=2,
                               space=resolve_space(family_for(name), space))
    model = hypermodel.build(keras_tuner.HyperParameters())
    assert read(model) == expected
    assert model.optimizer is not None and np.isclose(float(model.optimizer.learning_rate), 0.005)
    assert model.input_shape[1:] == shape and model.output["emotion"].shape[-1] == 3


def test_default_hp_builds_every_family_and_only_multitask_has_an_au_head():
    for name, shape in (("ckplus_small", (24, 24, 1)), ("seed001_variant2", (24, 24, 1)),
                        ("fer_compact", (24, 24, 1))):
        hypermodel = FerHyperModel(_config(name, {}, None), shape, num_classes=3, num_aus=2)
        heads = sorted(hypermodel.build(keras_tuner.HyperParameters()).output)
        assert heads == (["au", "emotion"] if name == "ckplus_small" else ["emotion"]), name


def test_an_objective_no_head_produces_lists_the_ones_that_exist(tmp_path):
    config = config_from_dict({
        "augment": None, "data": {"image_size": [24, 24]},
        "model": {"name": "fer_compact", "args": {"widths": [8], "depths": [1], "stem_filters": 8}},
        "tune": {"objective": "val_au_f1", "folds": 2, "val_fraction": 0.3,
                 "space": {"dropout": {"type": "float", "min": 0.0, "max": 0.5}}}})
    with pytest.raises(ValueError, match=r"'val_au_f1' is not a score of this model \(heads "
                                         r"\['emotion'\]\); choose one of \['val_loss', "
                                         r"'val_emotion_accuracy', 'val_emotion_f1'\]"):
        prepare_search(config, tmp_path, tiny_samples(), verbose=0)


def test_more_folds_than_subjects_is_an_error_before_training(tmp_path):
    with pytest.raises(ValueError, match="tune.folds = 9: k=9 folds need at least 9 distinct "
                                         "'subject' values, the frame has 8"):
        prepare_search(tiny_config(folds=9), tmp_path, tiny_samples(), verbose=0)


def test_a_search_with_the_ferplus_head_is_refused_before_training(tmp_path):
    config = config_from_dict({"data": {"source": "fer2013", "ferplus_aux": True},
                               "model": {"name": "fer_recipe"}})
    with pytest.raises(ValueError, match="ferplus_aux .* not searched by ferkit tune"):
        prepare_search(config, tmp_path, tiny_samples(), verbose=0)


# --------------------------------------------------------------------------- a tiny search
@pytest.fixture(scope="module")
def search(tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("tune_search")
    return run_search(tiny_config(), run_dir, samples=tiny_samples(), verbose=0)


def test_cv_search_table_holds_per_fold_scores_whose_mean_is_the_objective(search):
    table = search.table
    assert list(table["trial"]) == ["0", "1"] and set(table["status"]) == {"COMPLETED"}
    assert sorted(table["filters"]) == [4, 8]
    folds = table[["fold_1", "fold_2"]].to_numpy(dtype=float)
    assert np.allclose(table["mean"], folds.mean(axis=1))
    assert np.allclose(table["std"], folds.std(axis=1, ddof=1))
    assert (table["seconds"] > 0).all()
    assert list(table["rank"]) == list(table["mean"].rank(ascending=False, method="min"))
    for _, row in table.iterrows():  # the oracle optimised exactly this mean
        trial = json.loads((search.run_dir / "search" / f"trial_{row['trial']}" / "trial.json").read_text())
        assert np.isclose(trial["score"], row["mean"])
        metrics = trial["metrics"]["metrics"]
        assert np.isclose(metrics["val_emotion_accuracy_fold2"]["observations"][0]["value"][0],
                          row["fold_2"])
        assert "val_emotion_accuracy_std" in metrics and "val_au_f1" in metrics


def test_fold_scores_use_the_names_keras_validation_logs_use(search):
    record = json.loads((search.run_dir / "search" / "trial_0" / "ferkit_trial.json").read_text())
    assert len(record["folds"]) == 2
    assert set(record["folds"][0]) == set(score_names(["emotion", "au"]))
    assert record["tuner_id"] == "tuner0" and record["objective"] == "val_emotion_accuracy"


def test_search_writes_table_plots_best_config_and_subject_disjoint_folds(search):
    run_dir = search.run_dir
    for name in ("trials.csv", "trials.md", "best.json", "best_config.yaml", "config.yaml",
                 "plots/tuning_trials.png", "plots/tuning_hparams.png"):
        assert (run_dir / name).is_file(), name
    best = json.loads((run_dir / "best.json").read_text())
    assert best["trial"] == search.best["trial"] and np.isclose(best["mean"], search.table["mean"].max())
    retrain = load_config(run_dir / "best_config.yaml")
    assert retrain.model.args["filters"] == [best["hyperparameters"]["filters"]]
    assert retrain.tune is None
    folds = pd.read_csv(run_dir / "folds.csv")
    assert (folds[["fold_1", "fold_2"]] == "test").sum(axis=1).eq(1).all()
    for column in ("fold_1", "fold_2"):
        assert folds.groupby("subject")[column].nunique().eq(1).all(), column


def test_resuming_with_other_settings_is_refused(search, tmp_path):
    with pytest.raises(ValueError, match=r"holds a search with other settings \(folds: 2 -> 3"):
        run_search(tiny_config(folds=3), search.run_dir, samples=tiny_samples(), verbose=0)


def test_a_finished_search_run_again_trains_nothing(search):
    again = run_search(tiny_config(), search.run_dir, samples=tiny_samples(), verbose=0)
    assert again.trials_run == []
    pd.testing.assert_frame_equal(again.table, search.table)


def test_ferkit_tune_reports_a_bad_space_with_the_file_and_key(tmp_path, capsys):
    from ferkit.cli import main

    config = tmp_path / "bad.yaml"
    config.write_text("tune:\n  space:\n    l2: {type: float, min: 0.1, max: 0.001}\n")
    assert main(["tune", "--config", str(config), "--out", str(tmp_path / "run")]) == 2
    assert f"{config}: tune.space.l2: min 0.1 is larger than max 0.001" in capsys.readouterr().err
