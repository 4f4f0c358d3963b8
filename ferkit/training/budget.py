"""Fit a training run into a wall-clock budget (``train.time_budget_minutes``).

A cosine schedule must know its length before the first step, and the length that fits a
budget depends on the machine: the FER2013 recipe's 28 epochs take 27 minutes on an AMX Xeon
and about an hour on a CPU without bfloat16 matrix units. So before training, a throwaway copy
of the model trains a few steps and validates a few batches on the run's own data; from those
times :func:`plan_epochs` picks the most epochs (at most ``train.epochs``) that fit what is
left of the budget, and the real model is built afresh (same seed, same initial weights) and
trained for exactly that many, one full schedule. The plan is written to
``RUN_DIR/budget.json``, and a resumed run keeps it, so its schedule does not change midway.

:class:`BudgetStop` is the safety net: if epochs run slower than planned (a busy machine), it
stops at the end of the last epoch that still fits and says so; the best checkpoint is kept.
The check is made at epoch ends, so one stalled epoch can still overrun by its stall.
"""
from __future__ import annotations

import dataclasses
import json
import math
import statistics
import time
from pathlib import Path

import keras
import tensorflow as tf

BUDGET_FILE = "budget.json"
#: Extra room on the estimated epoch time, for checkpoints, logs and ordinary timing noise.
EPOCH_MARGIN = 1.05
PROBE_WARMUP_STEPS = 3
#: Seconds allowed for the final evaluation's reports and plots, beyond its forward passes.
REPORT_S = 10.0


@dataclasses.dataclass
class BudgetPlan:
    """How a run fits its budget: measured step times and the epochs chosen."""

    budget_s: float
    step_s: float
    val_batch_s: float
    epoch_s: float
    tracing_s: float
    final_eval_s: float
    spent_s: float
    epochs: int
    max_epochs: int

    def describe(self) -> str:
        fits = "" if self.epochs < self.max_epochs else f" (all of train.epochs={self.max_epochs})"
        epochs = f"{self.epochs} epoch{'s' if self.epochs != 1 else ''}"
        return (f"time budget {self.budget_s / 60:.1f} min: {self.step_s:.3f} s per training "
                f"step, about {self.epoch_s:.3g} s per epoch with validation, "
                f"{self.spent_s:.0f} s spent before training, "
                f"{self.tracing_s + self.final_eval_s:.0f} s kept for tracing and the final "
                f"evaluation -> {epochs}{fits}")

    def deadline(self, started: float) -> float:
        """When the last epoch must end (a ``time.perf_counter()`` value), given when the
        budget's clock ``started``: the final evaluation still has to fit."""
        return started + self.budget_s - self.final_eval_s

    def save(self, run_dir: Path) -> None:
        (Path(run_dir) / BUDGET_FILE).write_text(json.dumps(dataclasses.asdict(self), indent=1))

    @classmethod
    def load(cls, run_dir: Path) -> BudgetPlan | None:
        path = Path(run_dir) / BUDGET_FILE
        if not path.is_file():
            return None
        try:
            return cls(**json.loads(path.read_text()))
        except (ValueError, TypeError) as err:
            raise ValueError(f"{path}: not a budget plan written by ferkit ({err}); delete it "
                             "to plan the run again") from err


class _BatchEnds(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.ends: list[float] = []

    def on_train_batch_begin(self, batch, logs=None):
        if not self.ends:
            self.ends.append(time.perf_counter())

    def on_train_batch_end(self, batch, logs=None):
        self.ends.append(time.perf_counter())


def time_steps(model: keras.Model, train: tf.data.Dataset, val: tf.data.Dataset,
               steps: int, val_batches: int) -> tuple[float, float, float]:
    """Median seconds of a training step and of a validation batch, and the one-off seconds
    of the first step and first validation call (tracing), on a compiled throwaway model."""
    timer = _BatchEnds()
    model.fit(train.take(PROBE_WARMUP_STEPS + steps), epochs=1, verbose=0, shuffle=False,
              callbacks=[timer])
    gaps = [b - a for a, b in zip(timer.ends, timer.ends[1:])]
    step_s = statistics.median(gaps[PROBE_WARMUP_STEPS:] or gaps)
    first_train_s = gaps[0] - step_s
    val_sample = val.take(val_batches)
    start = time.perf_counter()
    model.evaluate(val_sample, verbose=0)
    traced = time.perf_counter()
    model.evaluate(val_sample, verbose=0)
    end = time.perf_counter()
    batches = max(1, sum(1 for _ in val_sample))
    first_val_s = max(0.0, (traced - start) - (end - traced))
    return step_s, (end - traced) / batches, max(0.0, first_train_s) + first_val_s


def plan_epochs(budget_s: float, spent_s: float, step_s: float, steps_per_epoch: int,
                val_batch_s: float, val_batches: int, test_batches: int, tracing_s: float,
                max_epochs: int, min_epochs: int = 1) -> BudgetPlan:
    """The most whole epochs (``min_epochs`` to ``max_epochs``) that fit ``budget_s`` after
    ``spent_s`` already spent, ``tracing_s`` of one-off tracing and the final evaluation on
    ``test_batches``."""
    epoch_s = (steps_per_epoch * step_s + val_batches * val_batch_s) * EPOCH_MARGIN
    final_eval_s = test_batches * val_batch_s * EPOCH_MARGIN + REPORT_S
    left = budget_s - spent_s - tracing_s - final_eval_s
    fitting = math.floor(left / epoch_s) if epoch_s > 0 else max_epochs
    epochs = int(min(max_epochs, max(min_epochs, fitting)))
    return BudgetPlan(budget_s=budget_s, step_s=step_s, val_batch_s=val_batch_s,
                      epoch_s=epoch_s, tracing_s=tracing_s, final_eval_s=final_eval_s,
                      spent_s=spent_s, epochs=epochs, max_epochs=max_epochs)


class BudgetStop(keras.callbacks.Callback):
    """Stop at an epoch end when the next epoch would end after ``deadline`` (a
    ``time.perf_counter()`` value).

    The next epoch is taken to last as long as the typical epoch so far (the median) or the
    last one, whichever is longer: a single stall on a shared machine does not cut the run
    short, a slowdown that lasts does.
    """

    def __init__(self, deadline: float, verbose: bool = True):
        super().__init__()
        self.deadline = deadline
        self.verbose = verbose
        self.epoch_s: list[float] = []
        self.stopped_epoch: int | None = None
        self._epoch_start = 0.0

    def next_epoch_s(self) -> float:
        return max(statistics.median(self.epoch_s), self.epoch_s[-1]) if self.epoch_s else 0.0

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch_start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        now = time.perf_counter()
        self.epoch_s.append(now - self._epoch_start)
        expected = self.next_epoch_s()
        if now + expected > self.deadline and not self.model.stop_training:
            self.model.stop_training = True
            self.stopped_epoch = epoch + 1
            if self.verbose:
                print(f"time budget: stopping after epoch {epoch + 1}, another epoch "
                      f"(about {expected:.0f} s) would overrun it by "
                      f"{now + expected - self.deadline:.0f} s", flush=True)


__all__ = ["BUDGET_FILE", "BudgetPlan", "BudgetStop", "plan_epochs", "time_steps"]
