"""examples/benchmarks/time_to_accuracy.py: every epoch scored off the training clock."""
import json
from pathlib import Path

import pandas as pd
import pytest

from conftest import load_script

SCRIPT = Path(__file__).resolve().parents[2] / "examples" / "benchmarks" / "time_to_accuracy.py"
TINY = ["model.args.widths=[4, 8]", "model.args.depths=[1, 1]", "data.synthetic.images=280",
        "train.batch_size=32", "train.verbose=0", "train.epochs=3"]


@pytest.fixture(scope="module")
def bench():
    return load_script(SCRIPT, "time_to_accuracy_benchmark")


def test_minutes_to_reach_is_the_first_epoch_at_the_target(bench):
    curve = pd.DataFrame({"epoch": [1, 2, 3, 4], "minutes": [1.0, 2.0, 3.0, 4.0],
                          "val_accuracy": [0.5, 0.6, 0.6, 0.7],
                          "test_accuracy": [0.50, 0.66, 0.64, 0.70]})
    assert bench.minutes_to_reach(curve, 0.656) == 2.0
    assert bench.minutes_to_reach(curve, 0.71) is None


def test_the_checkpoint_epoch_is_the_lowest_validation_loss(bench):
    assert bench.best_epoch({"val_loss": [1.0, 0.7, float("nan"), 0.8]}) == 2
    assert bench.best_epoch({"loss": [1.0]}) is None


@pytest.mark.slow
def test_a_synthetic_run_writes_the_curve_the_plot_and_the_verdict(bench, tmp_path, capsys):
    args = ["--budget-minutes", "0.6", "--out", str(tmp_path)]
    results = bench.main(args + [arg for item in TINY for arg in ("--set", item)])
    curve = pd.read_csv(tmp_path / "time_to_accuracy.csv")
    assert list(curve.columns) == ["epoch", "minutes", "val_accuracy", "test_accuracy"]
    assert curve["epoch"].tolist() == list(range(1, results["epochs_run"] + 1))
    assert curve["minutes"].is_monotonic_increasing and curve["test_accuracy"].between(0, 1).all()
    # the curve's minutes are the budget's training minutes, up to the end of the last epoch
    assert 0 < curve["minutes"].iloc[-1] <= results["training_minutes"]
    assert results["stop_reason"].startswith(("time budget:", "the plan's last epoch"))
    assert results["checkpoint_epoch"] in curve["epoch"].tolist()
    assert (tmp_path / "time_to_accuracy.png").stat().st_size > 0
    assert json.loads((tmp_path / "time_to_accuracy.json").read_text())["fer_accuracy"] == 0.656
    out = capsys.readouterr().out
    assert "| epoch | minutes | val accuracy | PublicTest accuracy |" in out
    assert "minutes to reach fer's 0.656 on PublicTest:" in out
    assert "checkpoint (chosen on validation loss): epoch" in out


def test_scoring_each_epoch_is_outside_the_training_clock(bench, monkeypatch):
    import keras
    import numpy as np
    import tensorflow as tf

    from ferkit.data import Samples
    from ferkit.training import budget

    class FakeClock(budget.PausableClock):
        t = 0.0

        def __call__(self):
            return self.t

    clock = FakeClock()
    monkeypatch.setattr(budget, "CLOCK", clock)
    rng = np.random.default_rng(0)
    images = rng.integers(0, 255, (16, 8, 8, 1), dtype="uint8")
    test = Samples(pd.DataFrame({"label": rng.integers(0, 3, 16)}), ("a", "b", "c"), images=images)
    model = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Flatten(),
                              keras.layers.Dense(3, activation="softmax")])
    model.compile(optimizer="adam", loss="categorical_crossentropy")
    data = tf.data.Dataset.from_tensor_slices(
        (images.astype("float32") / 255, keras.utils.to_categorical(test.labels, 3))).batch(8)
    scorer = bench.ScoreEachEpoch(test, batch_size=8)
    score = scorer.accuracy

    def slow_score():  # scoring "takes" 100 s, far longer than training
        clock.t += 100.0
        return score()

    scorer.accuracy = slow_score
    steps = keras.callbacks.LambdaCallback(
        on_train_batch_end=lambda batch, logs: setattr(clock, "t", clock.t + 1.0))
    stop = budget.BudgetStop(50.0, verbose=False)
    model.fit(data, epochs=3, verbose=0, callbacks=[steps, stop, scorer])
    minutes = [row["minutes"] for row in scorer.rows]
    assert minutes == pytest.approx([2 / 60, 4 / 60, 6 / 60], abs=1e-3)
    assert stop.outcome(started=0.0, planned_epochs=3)["training_s"] == pytest.approx(6.0)
    assert stop.stopped_epoch is None  # 300 s of scoring did not count against the 50 s
    assert all(0.0 <= row["test_accuracy"] <= 1.0 for row in scorer.rows)
