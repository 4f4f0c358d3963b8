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
    # scoring is off the clock: the curve's minutes are training minutes, inside the budget
    assert curve["minutes"].iloc[-1] <= results["training_minutes"] <= 0.6
    assert results["checkpoint_epoch"] in curve["epoch"].tolist()
    assert (tmp_path / "time_to_accuracy.png").stat().st_size > 0
    assert json.loads((tmp_path / "time_to_accuracy.json").read_text())["fer_accuracy"] == 0.656
    out = capsys.readouterr().out
    assert "| epoch | minutes | val accuracy | PublicTest accuracy |" in out
    assert "minutes to reach fer's 0.656 on PublicTest:" in out
    assert "checkpoint (chosen on validation loss): epoch" in out
