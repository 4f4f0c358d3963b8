"""A tuning trial trains a config exactly as ``ferkit train`` does (one training engine).

Before the engine, a trial built its model outside the precision policy, sized it without the
FER+ head and compiled it with its own step count: the compiled settings and the first epoch's
loss both differed from ``ferkit train`` of the same config.
"""
import keras
import keras_tuner
import numpy as np
import pytest

from ferkit.config import config_from_dict
from ferkit.tuning import FerHyperModel
from ferkit.tuning.families import builder_kwargs, family_for, resolve_space
from ferkit.workflows import run_experiment

CONFIG = {
    "seed": 7,
    "data": {"source": "fer2013", "ferplus_aux": True, "synthetic": {"images": 280}},
    "split": {"method": "predefined"},
    "model": {"name": "fer_recipe", "args": {"widths": [4, 8], "depths": [1, 1]}},
    "train": {"epochs": 1, "batch_size": 32, "jit_compile": False, "verbose": 0,
              "optimizer": "adamw", "weight_decay": 0.05, "schedule": "cosine",
              "label_smoothing": 0.1, "class_weights": "balanced", "ferplus_loss_weight": 0.5,
              "ema_momentum": 0.9, "mixed_precision": True, "deterministic": True},
}


def _compiled_settings(model: keras.Model) -> dict:
    """What compiling decided: optimiser (class, config, schedule), losses, loss weights,
    metrics, and every layer's dtype policy."""
    compiled = model.get_compile_config()
    compiled["optimizer"]["config"].pop("name")  # Keras numbers each optimiser it makes
    return {"compile": compiled, "optimizer": type(model.optimizer).__name__,
            "learning_rate": keras.optimizers.serialize(model.optimizer)["config"]["learning_rate"],
            "metrics": sorted(model.metrics_names),
            "dtypes": {layer.name: layer.dtype_policy.name for layer in model.layers}}


def _trial_hypermodel(config, samples) -> FerHyperModel:
    """A hypermodel whose one point in the space is the config itself."""
    family = family_for(config.model.name)
    _, defaults = builder_kwargs(config.model.name, config.model.args)
    space = resolve_space(family, {"dropout": {"type": "choice", "values": [defaults["dropout"]]}})
    size, channels = config.data.image_size, config.data.channels
    train_rows = int((samples.frame["split"] == "train").sum())
    return FerHyperModel(config, (size[0], size[1], channels), len(samples.classes),
                         len(samples.aus), space=space, train_rows=train_rows)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """(the ``ferkit train`` path's result, the trial's model and outcome) for one config."""
    config = config_from_dict(CONFIG)
    train_result = run_experiment(config, tmp_path_factory.mktemp("train"))
    train_settings = _compiled_settings(train_result.model)
    hypermodel = _trial_hypermodel(config, train_result.samples)
    hp = keras_tuner.HyperParameters()
    built = _compiled_settings(hypermodel.build(hp))  # what KerasTuner's build(hp) returns
    # a fold as CrossValidatedTuner.run_fold trains it (fold seed = the config's here)
    outcome = hypermodel.train(hp, train_result.samples, seed=config.seed)
    return train_result, train_settings, outcome, built


@pytest.mark.slow
def test_a_trial_compiles_the_model_as_ferkit_train_does(trained):
    train_result, train_settings, outcome, built = trained
    trial_settings = _compiled_settings(outcome.model)
    assert built["dtypes"] == train_settings["dtypes"], "build(hp): dtype policies differ"
    assert built["compile"]["loss_weights"] == train_settings["compile"]["loss_weights"]
    assert trial_settings["dtypes"] == train_settings["dtypes"], "dtype policies differ"
    assert set(trial_settings["dtypes"].values()) >= {"mixed_bfloat16"}
    compiled = trial_settings["compile"]
    assert compiled["loss_weights"] == {"emotion": 1.0, "ferplus": 0.5}
    for key in ("optimizer", "loss", "loss_weights", "metrics", "jit_compile"):
        assert compiled[key] == train_settings["compile"][key], f"compiled {key} differs"
    for key in ("optimizer", "learning_rate", "metrics"):
        assert trial_settings[key] == train_settings[key], f"{key} differs"


@pytest.mark.slow
def test_a_trial_trains_the_first_epoch_to_the_same_loss(trained):
    train_result, _, outcome, _ = trained
    for key in ("loss", "emotion_loss", "ferplus_loss", "val_loss"):
        trial, train = outcome.history[key][0], train_result.history[key][0]
        assert np.isclose(trial, train, rtol=1e-5, atol=0), f"first-epoch {key}: {trial} != {train}"
    assert outcome.epochs_run == len(train_result.history["loss"]) == 1
