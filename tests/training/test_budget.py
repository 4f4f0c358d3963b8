"""``train.time_budget_minutes``: planning epochs from a probe, the safety stop, the saved plan."""
import dataclasses
import json
import time

import keras
import numpy as np
import pandas as pd
import pytest
import tensorflow as tf

from ferkit.config import config_from_dict
from ferkit.workflows import run_experiment
from ferkit.training.budget import (BUDGET_FILE, EPOCH_MARGIN, MIN_SPREAD, REPORT_S, SPREAD_Z,
                                    BudgetPlan, BudgetSchedule, BudgetStop, CosineSegment,
                                    plan_epochs, time_steps)
from ferkit.training.engine import plan_budget
from ferkit.training import budget as budget_module


def _reserve(epoch_s: float, epochs: int) -> float:
    return SPREAD_Z * MIN_SPREAD * epoch_s * np.sqrt(epochs)


def test_plan_takes_the_most_epochs_that_fit_after_fixed_costs():
    # 100 steps of 0.5 s + 10 validation batches of 0.2 s = 52 s an epoch, with margin
    epoch_s = 52 * EPOCH_MARGIN
    kwargs = dict(step_s=0.5, steps_per_epoch=100, val_batch_s=0.2, val_batches=10,
                  test_batches=10, tracing_s=20.0, max_epochs=100)
    final_eval_s = 10 * 0.2 * EPOCH_MARGIN + REPORT_S
    budget_s, spent_s = 1800.0, 60.0
    plan = plan_epochs(budget_s, spent_s, **kwargs)
    assert plan.epochs == 30  # 31 would fit at exactly 54.6 s each, with no room for noise
    assert np.isclose(plan.epoch_s, epoch_s)
    # every planned second, and the noise reserve, is inside the budget; one more epoch is not
    total = spent_s + 20.0 + plan.epochs * epoch_s + final_eval_s
    assert total + _reserve(epoch_s, plan.epochs) <= budget_s
    assert total + epoch_s + _reserve(epoch_s, plan.epochs + 1) > budget_s
    assert plan_epochs(budget_s, spent_s, **{**kwargs, "max_epochs": 12}).epochs == 12
    assert plan_epochs(30.0, spent_s, **kwargs, min_epochs=2).epochs == 2
    assert "30 epochs" in plan.describe() and "30.0 min" in plan.describe()


def test_the_checkpoint_and_backup_of_every_epoch_are_planned_for():
    kwargs = dict(step_s=0.5, steps_per_epoch=100, val_batch_s=0.2, val_batches=10,
                  test_batches=10, tracing_s=20.0, max_epochs=100)
    bare = plan_epochs(1800.0, 60.0, **kwargs)
    saving = plan_epochs(1800.0, 60.0, **kwargs, epoch_overhead_s=8.0)
    assert saving.epoch_s == pytest.approx(bare.epoch_s + 8.0 * EPOCH_MARGIN)
    assert saving.epochs < bare.epochs and saving.epoch_overhead_s == pytest.approx(8.4)


def test_plan_round_trips_and_a_foreign_file_is_named(tmp_path):
    plan = plan_epochs(600.0, 5.0, 0.1, 10, 0.05, 2, 2, 1.0, max_epochs=50)
    plan.save(tmp_path)
    assert BudgetPlan.load(tmp_path) == plan
    assert plan.deadline(100.0) == pytest.approx(100.0 + 600.0 - plan.final_eval_s)
    (tmp_path / BUDGET_FILE).write_text(json.dumps({"epochs": 3}))
    with pytest.raises(ValueError, match=BUDGET_FILE):
        BudgetPlan.load(tmp_path)
    assert BudgetPlan.load(tmp_path / "nowhere") is None


def _tiny():
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, activation="softmax")])
    model.compile(optimizer="adam", loss="categorical_crossentropy")
    rng = np.random.default_rng(0)
    data = tf.data.Dataset.from_tensor_slices(
        (rng.normal(size=(256, 4)).astype("float32"),
         keras.utils.to_categorical(rng.integers(0, 3, 256), 3))).batch(8)
    return model, data


@pytest.mark.parametrize("seconds_left, epochs_run", [(-1.0, 1), (3600.0, 4)])
def test_budget_stop_ends_training_when_the_next_epoch_would_overrun(seconds_left, epochs_run):
    model, data = _tiny()
    stop = BudgetStop(time.perf_counter() + seconds_left, verbose=False)
    history = model.fit(data, epochs=4, verbose=0, callbacks=[stop])
    assert len(history.history["loss"]) == epochs_run
    assert stop.stopped_epoch == (1 if seconds_left < 0 else None)
    assert len(stop.epoch_s) == epochs_run and stop.next_epoch_s() > 0


def test_budget_stop_projects_the_mean_epoch_or_a_slower_last_one_with_a_noise_reserve():
    stop = BudgetStop(0.0)
    stop.epoch_s = [100.0, 60.0, 60.0, 60.0]  # the first epoch traces: left out
    assert stop.train_epoch_s() == 60.0
    assert stop.next_epoch_s() == pytest.approx(60.0 + SPREAD_Z * MIN_SPREAD * 60.0)
    stop.epoch_s = [100.0, 70.0, 50.0, 70.0, 50.0]  # noisy epochs keep more in reserve
    assert stop.next_epoch_s() == pytest.approx(60.0 + SPREAD_Z * np.std([50, 70, 50, 70], ddof=1))
    stop.epoch_s.append(90.0)  # a slowdown that lasts: the last epoch's length, not the mean
    assert stop.train_epoch_s() == 90.0 and stop.next_epoch_s() > 90.0


def test_time_steps_measures_positive_step_and_validation_times():
    model, data = _tiny()
    step_s, val_batch_s, tracing_s = time_steps(model, data, data, steps=5, val_batches=3)
    assert 0 < step_s < 5 and 0 < val_batch_s < 5 and tracing_s >= 0


def _recipe(budget, epochs=3, **train):
    return config_from_dict({
        "data": {"source": "fer2013", "synthetic": {"images": 280}},
        "split": {"method": "predefined"},
        "model": {"name": "fer_recipe", "args": {"widths": [4, 8], "depths": [1, 1]}},
        "train": {"epochs": epochs, "batch_size": 32, "jit_compile": False, "verbose": 0,
                  "schedule": "cosine", "warmup_epochs": 1, "time_budget_minutes": budget,
                  **train}})


@pytest.mark.slow
def test_a_roomy_budget_trains_the_same_model_as_no_budget(tmp_path):
    plain = run_experiment(_recipe(None, deterministic=True), tmp_path / "plain")
    budgeted = run_experiment(_recipe(60.0, deterministic=True), tmp_path / "budget")
    plan = BudgetPlan.load(tmp_path / "budget")
    assert plan.epochs == plan.max_epochs == 3 and plan.step_s > 0
    info = json.loads((tmp_path / "budget" / "run.json").read_text())
    assert info["epochs_planned"] == info["epochs_run"] == 3
    # the probe's model is thrown away and the seed set again, and the budget's cosine is
    # Keras' (set from Python, so equal to float32 rounding): the same start, the same end
    for a, b in zip(plain.model.get_weights(), budgeted.model.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-3, atol=1e-4)
    assert not (tmp_path / "plain" / BUDGET_FILE).exists()
    # the rate was set step by step, down to nearly 0 at the last step
    assert float(budgeted.model.optimizer.learning_rate) < 0.05 * _recipe(None).train.learning_rate


@pytest.mark.parametrize("warmup", [0, 15])
def test_the_budget_cosine_is_keras_cosine_decay(warmup):
    rate, total = 2e-3, 120
    keras_schedule = (keras.optimizers.schedules.CosineDecay(rate, total) if not warmup else
                      keras.optimizers.schedules.CosineDecay(rate / 10, total - warmup,
                                                             warmup_target=rate,
                                                             warmup_steps=warmup))
    ours = CosineSegment(rate, warmup, total)
    for step in range(0, total + 5, 7):
        assert ours(step) == pytest.approx(float(keras_schedule(step)), rel=1e-5, abs=1e-9)


def test_moving_the_end_rebases_the_cosine_without_a_jump():
    cosine = CosineSegment(1.0, 10, 100)
    before = cosine(50)
    cosine.move_end(50, 80)
    assert cosine(50) == pytest.approx(before)  # continuous
    assert cosine(65) == pytest.approx(before / 2)  # half way down the new, shorter cosine
    assert cosine(80) == pytest.approx(0.0, abs=1e-12) and cosine(90) == 0.0
    at_60 = cosine(60)
    cosine.move_end(60, 100)  # later again: continuous, and slower down to 0 at the new end
    assert cosine(60) == pytest.approx(at_60) and cosine(70) > at_60 * 0.5
    assert cosine(100) == pytest.approx(0.0, abs=1e-12)


class _FakeModel:
    def __init__(self):
        self.stop_training = False
        self.optimizer = type("Optimizer", (), {"learning_rate": None})()


def _run_epochs(schedule: BudgetSchedule, seconds: list[float], clock: list[float]):
    """Drive the callback through epochs of the given lengths on a fake clock."""
    schedule.set_model(_FakeModel())
    for epoch, length in enumerate(seconds):
        schedule.on_epoch_begin(epoch)
        schedule._epoch_start = clock[0]
        schedule.on_train_batch_begin(0)
        clock[0] += length
        schedule.epoch_s.append(length)
        schedule.after_epoch(epoch, clock[0])
        if schedule.model.stop_training:
            return epoch + 1
    return len(seconds)


def _schedule(**kwargs):
    # 10 epochs of 10 steps planned at 60 s within 620 s
    return BudgetSchedule(**{"deadline": 620.0, "rate": 1.0, "warmup_epochs": 1, "epochs": 10,
                             "steps_per_epoch": 10, "verbose": False, **kwargs})


def test_late_epochs_shorten_the_schedule_so_it_still_ends_at_zero():
    schedule = _schedule()
    run = _run_epochs(schedule, [80.0] * 10, [0.0])
    assert schedule.replanned and schedule.replanned[0][1] < 10
    assert run == schedule.epochs == 7  # 7 x 80 s = 560 s fit, an eighth would not
    assert schedule.cosine(run * 10) == pytest.approx(0.0, abs=1e-12)
    on_time = _schedule()
    assert _run_epochs(on_time, [60.0] * 10, [0.0]) == 10 and not on_time.replanned


def test_a_slow_spell_that_passes_gives_the_epochs_back_but_never_more_than_planned():
    schedule = _schedule(deadline=650.0)
    # slow second and third epochs shorten the plan; fast ones after them lengthen it again
    run = _run_epochs(schedule, [60.0, 90.0, 90.0] + [40.0] * 10, [0.0])
    shortest = min(epochs for _, epochs in schedule.replanned)
    assert shortest < 10 and schedule.replanned[-1][1] == 10 == run
    assert all(epochs <= 10 for _, epochs in schedule.replanned)
    assert schedule.cosine(run * 10) == pytest.approx(0.0, abs=1e-12)


@pytest.mark.slow
def test_a_tight_budget_shortens_the_schedule_and_a_resumed_run_keeps_its_plan(tmp_path, capsys):
    run = tmp_path / "run"
    result = run_experiment(_recipe(0.06, epochs=50), run)  # 3.6 seconds
    plan = BudgetPlan.load(run)
    assert plan.epochs == 2 < 50  # the warm-up epoch plus one: the least a cosine run needs
    assert "time budget 0.1 min" in capsys.readouterr().out
    assert len(result.history["loss"]) <= 2
    # a resumed run (an epoch backup beside budget.json) reuses the plan, probing nothing
    (run / "backup").mkdir(exist_ok=True)
    saved = dataclasses.replace(plan, epochs=1)
    saved.save(run)
    assert plan_budget(_recipe(0.06, epochs=50), result.samples, run, 0.0) == saved


def test_a_budget_must_be_positive():
    with pytest.raises(ValueError, match="time_budget_minutes"):
        _recipe(0.0)


@pytest.mark.parametrize("validated, fitting", [(None, 6), (2, 9), (20, 6)])
def test_epochs_that_fit_count_validation_only_where_it_runs(validated, fitting):
    # 100 s, epochs of 10 s training + 5 s validation
    from ferkit.training.budget import epochs_that_fit
    assert epochs_that_fit(100.0, 10.0, 5.0, validated, at_most=50) == fitting
    assert epochs_that_fit(100.0, 10.0, 5.0, validated, at_most=4) == 4
    assert epochs_that_fit(-1.0, 10.0, 5.0, validated, at_most=50) == 0


def test_a_plan_validating_late_holds_more_epochs_and_old_plans_still_load(tmp_path):
    kwargs = dict(step_s=0.5, steps_per_epoch=100, val_batch_s=1.0, val_batches=10,
                  test_batches=10, tracing_s=20.0, max_epochs=100)
    every = plan_epochs(1800.0, 60.0, **kwargs)
    late = plan_epochs(1800.0, 60.0, **kwargs, validated_epochs=3)
    assert late.epochs > every.epochs
    assert late.validation_s == pytest.approx(10 * EPOCH_MARGIN) and late.validated_epochs == 3
    spent = 60.0 + 20.0 + late.final_eval_s
    training = late.epoch_s - late.validation_s
    assert spent + late.epochs * training + 3 * late.validation_s <= 1800.0
    assert spent + (late.epochs + 1) * training + 3 * late.validation_s > 1800.0
    assert "in the last 3 only" in late.describe() and "only" not in every.describe()
    # budget.json written before validated_epochs existed
    old = {k: v for k, v in dataclasses.asdict(every).items()
           if k not in ("validation_s", "validated_epochs")}
    (tmp_path / BUDGET_FILE).write_text(json.dumps(old))
    assert BudgetPlan.load(tmp_path).validated_epochs is None


class _Validation:
    def __init__(self):
        self.seconds: dict[int, float] = {}


def test_validating_late_follows_the_plan_and_counts_its_passes_apart():
    # 10 epochs planned in 620 s: 55 s of training each, and a 20 s validation pass. Every
    # epoch validated (75 s) would fit only 8; validating the last 2 fits all 10.
    schedule = _schedule(validated_epochs=2, validation_s=20.0)
    schedule.validation = _Validation()
    assert [schedule.validates(e) for e in range(10)] == [False] * 8 + [True] * 2
    clock = [0.0]
    schedule.set_model(_FakeModel())
    for epoch in range(10):
        schedule.on_epoch_begin(epoch)
        clock[0] += 55.0
        if schedule.validates(epoch):
            schedule.validation.seconds[epoch] = 20.0
            clock[0] += 20.0
        schedule.epoch_s.append(55.0)  # what on_epoch_end records: training only
        schedule.after_epoch(epoch, clock[0])
        if schedule.model.stop_training:
            break
    assert epoch + 1 == schedule.epochs == 10 and not schedule.replanned
    assert clock[0] <= 620.0 and sorted(schedule.validation.seconds) == [8, 9]
    # 55 s + the 20 s pass, and the noise reserve (constant epochs: the least spread)
    assert schedule.next_epoch_s() == pytest.approx(75.0 + SPREAD_Z * MIN_SPREAD * 55.0)
    # when the plan shrinks, the validated epochs move with its end
    slow = _schedule(validated_epochs=2, validation_s=20.0)
    slow.validation = _Validation()
    assert _run_epochs(slow, [80.0] * 10, [0.0]) == slow.epochs < 10
    assert slow.validates(slow.epochs - 1) and slow.validates(slow.epochs - 2)
    assert not slow.validates(slow.epochs - 3)


@pytest.mark.slow
def test_a_run_validating_late_checkpoints_among_the_last_epochs(tmp_path):
    for budget, name in [(None, "plain"), (60.0, "budget")]:
        result = run_experiment(_recipe(budget, epochs=4, validate_last_epochs=2), tmp_path / name)
        log = pd.read_csv(tmp_path / name / "training_log.csv")
        assert log["val_loss"].isna().tolist() == [True, True, False, False]
        info = json.loads((tmp_path / name / "run.json").read_text())
        assert sorted(info["validated_epochs"]) == ["3", "4"]
        assert all(seconds >= 0 for seconds in info["validated_epochs"].values())
        saved = json.loads((tmp_path / name / "history.json").read_text())
        assert saved["val_loss"][:2] == [None, None] and saved["val_loss"][2] > 0
        assert (tmp_path / name / "model.keras").is_file()
        assert 0.0 <= result.evaluation.summary["emotion_accuracy"] <= 1.0
    assert BudgetPlan.load(tmp_path / "budget").validated_epochs == 2


@pytest.mark.parametrize("train, message", [
    ({"validate_last_epochs": 0}, "whole number"),
    ({"validate_last_epochs": 1.5}, "validate_last_epochs"),
    ({"validate_last_epochs": 2, "schedule": "plateau", "warmup_epochs": 0}, "plateau"),
    ({"validate_last_epochs": 2, "schedule": "step", "warmup_epochs": 0}, "cosine"),
])
def test_validate_last_epochs_is_checked(train, message):
    with pytest.raises(ValueError, match=message):
        _recipe(1.0, **train)


def test_the_best_checkpoint_passes_over_epochs_without_validation(tmp_path):
    from ferkit.training.fit import BestCheckpoint
    model, _ = _tiny()
    checkpoint = BestCheckpoint(tmp_path / "best.keras", initial_value_threshold=1.0)
    checkpoint.set_model(model)
    checkpoint.on_epoch_end(0, {"loss": 0.5})  # not validated: Keras' own would save here
    assert not (tmp_path / "best.keras").exists()
    checkpoint.on_epoch_end(1, {"loss": 0.5, "val_loss": 2.0})  # not better than the threshold
    assert not (tmp_path / "best.keras").exists()
    checkpoint.on_epoch_end(2, {"loss": 0.5, "val_loss": 0.9})
    assert (tmp_path / "best.keras").is_file() and checkpoint.best == 0.9


# --------------------------------------------------------------------------- the hard stop
class _FakeClock(budget_module.PausableClock):
    """A clock that moves only when a test moves it."""

    def __init__(self):
        super().__init__()
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


class _Takes(keras.callbacks.Callback):
    """Makes each training step take ``step_s(epoch)`` seconds on the fake clock, and each
    epoch end ``end_s`` more (placed after the budget: the backup it cannot see coming)."""

    def __init__(self, clock: _FakeClock, step_s=lambda epoch: 0.0, end_s: float = 0.0):
        super().__init__()
        self.clock, self.step_s, self.end_s, self.epoch = clock, step_s, end_s, 0

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        self.clock.t += self.step_s(self.epoch)

    def on_epoch_end(self, epoch, logs=None):
        self.clock.t += self.end_s


@pytest.fixture
def fake_clock(monkeypatch):
    clock = _FakeClock()
    monkeypatch.setattr(budget_module, "CLOCK", clock)
    return clock


def test_the_hard_stop_counts_the_time_between_epochs_and_never_overruns(fake_clock):
    # 32 steps of 1 s and 5 s of backup after each check: checks at 32, 69, 106, 143, 180 s.
    # Projecting the 32 s of the steps alone would start a sixth epoch at 180 s and end it at
    # 217 + 5 s, past the 215 s deadline.
    model, data = _tiny()
    stop = BudgetStop(215.0, verbose=False)
    model.fit(data, epochs=20, verbose=0, callbacks=[_Takes(fake_clock, lambda e: 1.0), stop,
                                                    _Takes(fake_clock, end_s=5.0)])
    outcome = stop.outcome(started=0.0, planned_epochs=20)
    assert outcome["epochs_run"] == stop.stopped_epoch == 5
    assert outcome["training_s"] == pytest.approx(185.0) and outcome["training_s"] <= 215.0
    assert outcome["epoch_seconds"] == [32.0, 37.0, 37.0, 37.0, 37.0]
    assert outcome["stop_reason"].startswith("time budget: stopped after epoch 5")


def test_time_paused_for_scoring_is_not_training_time(fake_clock):
    model, data = _tiny()

    class ScoreEachEpoch(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            with budget_module.paused():
                fake_clock.t += 50.0

    stop = BudgetStop(1000.0, verbose=False)
    model.fit(data, epochs=3, verbose=0, callbacks=[_Takes(fake_clock, lambda e: 1.0), stop,
                                                   ScoreEachEpoch()])
    outcome = stop.outcome(started=0.0, planned_epochs=3)
    assert outcome["training_s"] == pytest.approx(96.0) and outcome["epoch_seconds"] == [32.0] * 3
    assert outcome["stop_reason"] == "the plan's last epoch (3 of 3)"


def test_the_real_clock_leaves_paused_time_out():
    stop = BudgetStop(0.0, verbose=False)
    before = stop.now()
    with budget_module.paused():
        time.sleep(0.2)
    assert stop.now() - before < 0.1


def test_a_slowdown_shortens_the_cosine_so_it_ends_at_zero_inside_the_budget(fake_clock):
    # 10 epochs of 32 steps planned into 400 s at 1 s a step; from the third epoch steps take
    # 2 s, so only 7 or so fit: the cosine must end, annealed, at the last one that fits
    model, data = _tiny()
    schedule = BudgetSchedule(400.0, rate=1e-2, warmup_epochs=1, epochs=10, steps_per_epoch=32,
                              verbose=False)
    rates = []
    record = keras.callbacks.LambdaCallback(
        on_train_batch_begin=lambda batch, logs: rates.append(float(model.optimizer.learning_rate)))
    model.fit(data, epochs=10, verbose=0, callbacks=[
        _Takes(fake_clock, lambda epoch: 1.0 if epoch < 2 else 2.0), schedule, record,
        _Takes(fake_clock, end_s=2.0)])
    outcome = schedule.outcome(started=0.0, planned_epochs=10)
    assert 3 <= outcome["epochs_run"] == schedule.epochs < 10
    assert outcome["training_s"] <= 400.0
    assert "shortened from the plan's 10" in outcome["stop_reason"]
    assert rates[-1] < 0.01 * 1e-2  # annealed: the last step's rate is nearly 0
    assert all(epochs <= 10 for _, epochs in schedule.replanned)


@pytest.mark.slow
def test_a_budgeted_run_records_its_training_time_and_why_it_stopped(tmp_path):
    # real time on a shared machine: whether the budget holds is asserted on the fake clock
    # above; here, that a run writes what happened into budget.json
    # 24 s, 10 of them for the final evaluation: < 200 epochs fit; early stopping kept out of
    # the way (a tiny model's val_loss can stall for 8 epochs, and that is another stop reason)
    config = _recipe(0.4, epochs=200, patience=200)
    run_experiment(config, tmp_path / "run")
    done = BudgetPlan.load(tmp_path / "run")
    info = json.loads((tmp_path / "run" / "run.json").read_text())
    assert done.epochs <= config.train.epochs and done.epochs_run <= done.epochs
    assert done.epochs_run == info["epochs_run"] == len(done.epoch_seconds)
    assert 0 < sum(done.epoch_seconds) <= done.training_s + 0.01
    assert done.training_s < done.elapsed_s
    assert done.stop_reason.startswith(("time budget:", "the plan's last epoch"))
    assert done.epoch_overhead_s > 0


def test_while_only_the_first_epoch_is_timed_the_probe_s_tracing_is_left_out():
    stop = BudgetStop(0.0, tracing_s=30.0, planned_epoch_s=50.0)
    stop.epoch_s = [100.0]
    assert stop.train_epoch_s() == 70.0
    stop.epoch_s = [60.0]  # the probe over-estimated tracing: never below its planned epoch
    assert stop.train_epoch_s() == 50.0
    stop.epoch_s = [100.0, 65.0]  # once a second epoch is timed, the first is left out
    assert stop.train_epoch_s() == 65.0
