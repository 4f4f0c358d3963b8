"""Optimisers, schedules, class weights, mixed precision, weight averaging, the FER+ auxiliary
head and kill-and-resume."""
import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import keras
import numpy as np
import pandas as pd
import pytest
import tensorflow as tf

from ferkit.config import config_from_dict
from ferkit.workflows import run_experiment
from ferkit.training.engine import balanced_weights, build_model
from ferkit.training.fit import fit, logged_history
from ferkit.training.optim import learning_rate, make_optimizer, schedule_callbacks

TINY = {"model": {"args": {"filters": [4], "blocks": [1], "stem_filters": 4}},
        "data": {"min_au_count": 2}}


def _config(path, **train):
    return config_from_dict({**TINY, "data": {**TINY["data"], "path": str(path)},
                             "train": {"epochs": 2, "jit_compile": False, "verbose": 0, **train}})


def test_step_schedule_decays_tenfold_every_five_epochs():
    train = _config(".", schedule="step", learning_rate=0.1, step_size=5, gamma=0.1).train
    rate = learning_rate(train, steps_per_epoch=10)
    assert np.isclose(float(rate(49)), 0.1) and np.isclose(float(rate(50)), 0.01)
    assert np.isclose(float(rate(100)), 0.001)


def test_cosine_schedule_reaches_zero_and_plateau_is_a_callback():
    train = _config(".", schedule="cosine", epochs=4).train
    assert float(learning_rate(train, 10)(40)) < 1e-6
    plateau = _config(".", schedule="plateau", gamma=0.5, plateau_patience=2).train
    (callback,) = schedule_callbacks(plateau)
    assert isinstance(callback, keras.callbacks.ReduceLROnPlateau) and callback.factor == 0.5


def test_cosine_warmup_rises_linearly_then_decays_to_zero():
    train = _config(".", schedule="cosine", epochs=5, learning_rate=0.1, warmup_epochs=1).train
    rate = learning_rate(train, steps_per_epoch=10)
    assert np.isclose(float(rate(0)), 0.01)            # a tenth of the rate at the first step
    assert np.isclose(float(rate(5)), 0.055, atol=1e-6)  # halfway through the warm-up epoch
    assert np.isclose(float(rate(10)), 0.1)            # the full rate when warm-up ends
    assert float(rate(30)) < 0.1 and float(rate(50)) < 1e-6


@pytest.mark.parametrize("changes, message", [
    (dict(schedule="cosine", epochs=5, warmup_epochs=5), "below train.epochs"),
    (dict(schedule="cosine", warmup_epochs=-1), ">= 0"),
    (dict(schedule="step", warmup_epochs=1), "'cosine' schedule only"),
])
def test_bad_warmup_settings_are_named(changes, message):
    with pytest.raises(ValueError, match=message):
        _config(".", **changes)


@pytest.mark.parametrize("name, cls", [("adam", keras.optimizers.Adam),
                                       ("adamw", keras.optimizers.AdamW),
                                       ("sgd", keras.optimizers.SGD)])
def test_optimizers(name, cls):
    decay = 0.0 if name == "adam" else 1e-4
    optimizer = make_optimizer(_config(".", optimizer=name, weight_decay=decay).train, 10)
    assert type(optimizer) is cls
    if name != "adam":
        assert np.isclose(optimizer.weight_decay, 1e-4)


def test_adam_with_weight_decay_is_refused():
    with pytest.raises(ValueError, match="adamw"):
        make_optimizer(_config(".", weight_decay=1e-4).train, 10)


def test_balanced_weights_are_inverse_to_class_frequency():
    frame = pd.DataFrame({"label": [0, 0, 0, 1]})
    weights = balanced_weights(frame)
    assert np.isclose(weights.mean(), 1.0) and np.isclose(weights[3] / weights[0], 3.0)


@pytest.mark.slow
def test_engine_options_run_end_to_end(tmp_path, ckplus_48):
    config = _config(ckplus_48, optimizer="sgd", weight_decay=1e-4, schedule="step",
                     label_smoothing=0.1, class_weights="balanced", mixed_precision=True,
                     tensorboard=True, deterministic=True)
    result = run_experiment(config, tmp_path / "run")
    assert result.model.get_layer("stem_conv").compute_dtype == "bfloat16"
    assert keras.mixed_precision.global_policy().name == "float32"  # restored afterwards
    assert (tmp_path / "run" / "logs").is_dir()
    assert len(result.history["loss"]) == 2


@pytest.mark.slow
def test_a_killed_run_resumes_to_the_same_final_epoch(tmp_path, ckplus_48):
    run = tmp_path / "run"
    overrides = ["train.epochs=12", "train.patience=100", "train.jit_compile=false",
                 "train.verbose=0", "data.min_au_count=2", f"data.path={ckplus_48}",
                 "model.args={filters: [4], blocks: [1], stem_filters: 4}"]
    command = [sys.executable, "-m", "ferkit.cli", "train", "--config",
               str(Path(__file__).parents[2] / "configs" / "ckplus_multitask.yaml"),
               "--out", str(run)] + [a for o in overrides for a in ("--set", o)]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    log = run / "training_log.csv"
    deadline = time.time() + 300
    while time.time() < deadline and process.poll() is None:
        if log.is_file() and len(log.read_text().splitlines()) >= 3:  # header + 2 epochs
            break
        time.sleep(0.05)
    assert process.poll() is None, "training finished before it could be killed"
    process.send_signal(signal.SIGKILL)
    process.wait()
    killed_at = len(logged_history(run)["loss"])
    assert 2 <= killed_at < 12 and not (run / "metrics.json").exists()
    done = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    history = json.loads((run / "history.json").read_text())
    assert len(history["loss"]) == 12  # every epoch once: resumed, not restarted
    epochs = pd.read_csv(log)["epoch"]
    assert sorted(set(epochs)) == list(range(12))
    assert (run / "metrics.json").is_file() and (run / "model.keras").is_file()


class _RawWeights(keras.callbacks.Callback):
    """The weights the optimiser is training, as they stand after each batch."""

    def on_train_batch_end(self, batch, logs=None):
        self.weights = [np.array(w) for w in self.model.get_weights()]


def _tiny_classifier(ema: bool) -> tuple[keras.Model, object, object]:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 4)).astype("float32")
    y = keras.utils.to_categorical(rng.integers(0, 3, 64), 3)
    data = tf.data.Dataset.from_tensor_slices((x, y)).batch(16)
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, activation="softmax")])
    optimizer = keras.optimizers.Adam(0.1, use_ema=ema, ema_momentum=0.9)
    model.compile(optimizer=optimizer, loss="categorical_crossentropy")
    return model, data, data.take(2)


@pytest.mark.parametrize("ema", [False, True])
def test_ema_weights_are_what_validation_checkpoint_and_caller_see(tmp_path, ema):
    model, train, val = _tiny_classifier(ema)
    raw = _RawWeights()
    history = fit(model, train, val, tmp_path, epochs=1, verbose=0, extra_callbacks=[raw],
                  resume=False)
    returned = model.get_weights()
    assert np.allclose(raw.weights[0], returned[0]) is not ema  # averaged only with EMA
    saved = keras.models.load_model(tmp_path / "model.keras").get_weights()
    np.testing.assert_allclose(saved[0], returned[0])
    # the logged validation loss is the returned (averaged) weights' loss
    assert np.isclose(history["val_loss"][-1], model.evaluate(val, verbose=0), rtol=1e-5)


@pytest.mark.slow
def test_ferplus_aux_head_trains_beside_the_fer2013_head(tmp_path):
    config = config_from_dict({
        "data": {"source": "fer2013", "ferplus_aux": True, "synthetic": {"images": 280}},
        "split": {"method": "predefined"},
        "model": {"name": "fer_recipe", "args": {"widths": [4, 8], "depths": [1, 1]}},
        "train": {"epochs": 1, "batch_size": 32, "jit_compile": False, "verbose": 0,
                  "ferplus_loss_weight": 0.5, "ema_momentum": 0.9}})
    result = run_experiment(config, tmp_path / "run")
    assert result.model.output["ferplus"].shape[-1] == 8
    assert result.model.output["emotion"].shape[-1] == 7
    assert {"val_ferplus_loss", "val_emotion_loss"} <= set(result.history)
    logged = {k: v[-1] for k, v in result.history.items()}
    # the total weighs the head by ferplus_loss_weight (Keras averages the total per batch and
    # the parts per image, hence the tolerance; a weight of 1 would be off by ~30 %)
    assert np.isclose(logged["val_loss"],
                      logged["val_emotion_loss"] + 0.5 * logged["val_ferplus_loss"], rtol=0.01)
    assert 0.0 <= result.evaluation.summary["emotion_accuracy"] <= 1.0
    no_head = config_from_dict({"data": {"source": "fer2013", "ferplus_aux": True},
                                "model": {"name": "seed001_main"}})
    with pytest.raises(ValueError, match="'ferplus' head"):
        build_model(no_head, result.samples)


class _Interrupt(keras.callbacks.Callback):
    def on_epoch_begin(self, epoch, logs=None):
        if epoch == 1:
            raise KeyboardInterrupt("killed after the first epoch's backup")


def test_the_epoch_backup_of_an_ema_run_holds_the_trained_weights(tmp_path):
    model, train, val = _tiny_classifier(ema=True)
    raw = _RawWeights()
    with pytest.raises(KeyboardInterrupt):
        fit(model, train, val, tmp_path, epochs=2, verbose=0, extra_callbacks=[raw, _Interrupt()])
    averaged = [np.array(v) for v in model.optimizer._model_variables_moving_average]
    assert not np.allclose(averaged[0], raw.weights[0])
    backup, _, _ = _tiny_classifier(ema=True)
    backup.optimizer.build(backup.trainable_variables)
    backup.load_weights(next((tmp_path / "backup").glob("*.weights.h5")))
    # the model part is what the optimiser was training, the average stays in the optimiser
    np.testing.assert_allclose(backup.get_weights()[0], raw.weights[0], rtol=1e-6)
    average = backup.optimizer._model_variables_moving_average[0]
    np.testing.assert_allclose(np.array(average), averaged[0], rtol=1e-6)


def test_averaging_callbacks_follow_the_optimiser():
    from ferkit.training.fit import EMASwap, averaging_callbacks
    with_average, _, _ = _tiny_classifier(ema=True)
    without, _, _ = _tiny_classifier(ema=False)
    assert [type(c) for c in averaging_callbacks(with_average)] == [EMASwap]
    assert averaging_callbacks(without) == []


def test_fit_without_a_run_directory_writes_nothing_and_keeps_the_history(tmp_path,
                                                                         monkeypatch):
    from ferkit.training.fit import ValidateWhen, last_epochs

    monkeypatch.chdir(tmp_path)
    model, train, val = _tiny_classifier(ema=False)
    validator = ValidateWhen(val, last_epochs(1, 3))
    history = fit(model, train, val, None, epochs=3, verbose=0, validator=validator)
    assert list(tmp_path.iterdir()) == [], "a run without a run directory wrote files"
    assert len(history["loss"]) == 3 and len(history["val_loss"]) == 3
    assert np.isnan(history["val_loss"][:2]).all() and np.isfinite(history["val_loss"][2])
