"""Fit a training run into a wall-clock budget (``train.time_budget_minutes``).

A cosine schedule must know its length before the first step, and the length that fits a
budget depends on the machine: the FER2013 recipe's 28 epochs take 27 minutes on a 2-core
AMX Xeon and about 35 on a 2-core Zen 4 EPYC, which has no AMX. So before training, a
throwaway copy of the model trains a few steps and validates a few batches on the run's own
data; from those times :func:`plan_epochs` picks the most epochs (at most ``train.epochs``)
that fit what is left of the budget, and the real model is built afresh (same seed, same
initial weights) and trained for exactly that many, one full schedule. The plan is written to
``RUN_DIR/budget.json``, and a resumed run keeps it, so its schedule does not change midway.

:class:`BudgetSchedule` keeps a cosine run inside the budget when epochs run slower than
planned (a busy machine): it sets the learning rate itself, step by step, and when the epochs
left would overrun, ends the cosine sooner (and later again, up to the plan, if the machine
speeds up), re-based so the rate still reaches 0 at the last epoch. Other schedules get
:class:`BudgetStop`, which stops at the end of the last epoch that still fits. Both say what
they did, and the best checkpoint is kept. Checks are made at epoch ends, so a stall in the
last epoch can still overrun by that stall.
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

from ferkit.runs import RunDir, write_json_atomic

BUDGET_FILE = RunDir.BUDGET
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
    #: Seconds of one validation pass (within ``epoch_s``).
    validation_s: float = 0.0
    #: Validation in only the last this many epochs (``train.validate_last_epochs``).
    validated_epochs: int | None = None

    def describe(self) -> str:
        fits = "" if self.epochs < self.max_epochs else f" (all of train.epochs={self.max_epochs})"
        epochs = f"{self.epochs} epoch{'s' if self.epochs != 1 else ''}"
        validated = (f" (validation, {self.validation_s:.2g} s, in the last "
                     f"{self.validated_epochs} only)" if self.validated_epochs else "")
        return (f"time budget {self.budget_s / 60:.1f} min: {self.step_s:.3f} s per training "
                f"step, about {self.epoch_s:.3g} s per epoch with validation{validated}, "
                f"{self.spent_s:.0f} s spent before training, "
                f"{self.tracing_s + self.final_eval_s:.0f} s kept for tracing and the final "
                f"evaluation -> {epochs}{fits}")

    def deadline(self, started: float) -> float:
        """When the last epoch must end (a ``time.perf_counter()`` value), given when the
        budget's clock ``started``: the final evaluation still has to fit."""
        return started + self.budget_s - self.final_eval_s

    def save(self, run_dir: Path) -> None:
        write_json_atomic(Path(run_dir) / BUDGET_FILE, dataclasses.asdict(self))

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


def epochs_that_fit(seconds: float, train_s: float, validation_s: float,
                    validated_epochs: int | None, at_most: int) -> int:
    """How many more epochs (up to ``at_most``) fit ``seconds``, each ``train_s`` of
    training plus ``validation_s`` of validation, validated every epoch, or only in the last
    ``validated_epochs`` of them."""
    fitting = 0
    while fitting < at_most:
        more = fitting + 1
        validated = more if validated_epochs is None else min(validated_epochs, more)
        if more * train_s + validated * validation_s > seconds:
            break
        fitting = more
    return fitting


def plan_epochs(budget_s: float, spent_s: float, step_s: float, steps_per_epoch: int,
                val_batch_s: float, val_batches: int, test_batches: int, tracing_s: float,
                max_epochs: int, min_epochs: int = 1,
                validated_epochs: int | None = None) -> BudgetPlan:
    """The most whole epochs (``min_epochs`` to ``max_epochs``) that fit ``budget_s`` after
    ``spent_s`` already spent, ``tracing_s`` of one-off tracing and the final evaluation on
    ``test_batches``; validating every epoch, or only the last ``validated_epochs``."""
    train_s = steps_per_epoch * step_s * EPOCH_MARGIN
    validation_s = val_batches * val_batch_s * EPOCH_MARGIN
    final_eval_s = test_batches * val_batch_s * EPOCH_MARGIN + REPORT_S
    left = budget_s - spent_s - tracing_s - final_eval_s
    fitting = epochs_that_fit(left, train_s, validation_s, validated_epochs, max_epochs)
    epochs = int(min(max_epochs, max(min_epochs, fitting)))
    return BudgetPlan(budget_s=budget_s, step_s=step_s, val_batch_s=val_batch_s,
                      epoch_s=train_s + validation_s, tracing_s=tracing_s,
                      final_eval_s=final_eval_s, spent_s=spent_s, epochs=epochs,
                      max_epochs=max_epochs, validation_s=validation_s,
                      validated_epochs=validated_epochs)


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
        #: A ``ValidateWhen`` before this callback, whose passes are timed apart from training.
        self.validation = None
        self._epoch_start = 0.0

    def next_epoch_s(self) -> float:
        return max(statistics.median(self.epoch_s), self.epoch_s[-1]) if self.epoch_s else 0.0

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch_start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        now = time.perf_counter()
        validating = self.validation.seconds.get(epoch, 0.0) if self.validation else 0.0
        self.epoch_s.append(now - self._epoch_start - validating)
        self.after_epoch(epoch, now)
        expected = self.next_epoch_s()
        if now + expected > self.deadline and not self.model.stop_training:
            self.model.stop_training = True
            self.stopped_epoch = epoch + 1
            if self.verbose:
                print(f"time budget: stopping after epoch {epoch + 1}, another epoch "
                      f"(about {expected:.0f} s) would overrun it by "
                      f"{now + expected - self.deadline:.0f} s", flush=True)

    def after_epoch(self, epoch: int, now: float) -> None:
        """Hook for subclasses, called at each epoch end before the stop check."""


class CosineSegment:
    """A linear warm-up, then a cosine from ``start_rate`` at ``start_step`` to 0 at
    ``end_step``: Keras' ``CosineDecay`` with a warm-up, but with an end that can move.

    :meth:`move_end` re-bases the cosine at the current step and rate, so the rate never
    jumps: it falls from where it is to 0 over the steps now left.
    """

    def __init__(self, rate: float, warmup_steps: int, end_step: int):
        self.initial_rate = rate / 10 if warmup_steps else rate
        self.warmup_steps = warmup_steps
        self.start_step, self.start_rate, self.end_step = warmup_steps, rate, end_step

    def __call__(self, step: int) -> float:
        if step < self.warmup_steps:
            rise = (self.start_rate - self.initial_rate) * step / self.warmup_steps
            return self.initial_rate + rise
        span = max(1, self.end_step - self.start_step)
        done = min(1.0, (step - self.start_step) / span)
        return self.start_rate * 0.5 * (1.0 + math.cos(math.pi * done))

    def move_end(self, step: int, end_step: int) -> None:
        if step > self.start_step:
            self.start_rate, self.start_step = self(step), step
        self.end_step = max(end_step, self.start_step + 1)


class BudgetSchedule(BudgetStop):
    """The cosine schedule of a budgeted run, set step by step, whose length follows the time
    actually left.

    At each epoch end the epochs that still fit before the deadline are projected at the mean
    epoch time so far (the first epoch, which traces the model, left out once there are
    others). When that differs from the current plan (never more than the probe's plan), the
    cosine is re-based at the current rate to reach 0 at the new last epoch: a slow spell
    shortens the schedule, and a spell that passes gives the epochs back. The rate never
    jumps, and the run ends annealed instead of being cut off midway. The stop check uses the
    same mean, so a run stops early only when not even one more epoch fits. Needs an
    optimiser whose learning rate is a plain variable (not a ``LearningRateSchedule``).

    With ``validated_epochs`` only the last that many epochs of the current plan validate
    (:meth:`validates` is the ``due`` of the run's ``ValidateWhen``, set as ``validation``);
    the projection then counts a validation pass (the mean of those timed so far, else
    ``validation_s``, the probe's estimate) for those epochs only.
    """

    def __init__(self, deadline: float, rate: float, warmup_epochs: float, epochs: int,
                 steps_per_epoch: int, verbose: bool = True,
                 validated_epochs: int | None = None, validation_s: float = 0.0):
        super().__init__(deadline, verbose)
        self.validated_epochs = validated_epochs
        self.validation_s = validation_s
        self.steps_per_epoch = steps_per_epoch
        self.planned_epochs = self.epochs = epochs
        self.cosine = CosineSegment(rate, int(round(warmup_epochs * steps_per_epoch)),
                                    epochs * steps_per_epoch)
        self.replanned: list[tuple[int, int]] = []  # (after epoch, new epoch count)
        self._epoch = 0

    def validates(self, epoch: int) -> bool:
        """Whether ``epoch`` (0-based) validates: all do, unless ``validated_epochs`` keeps
        validation to the last epochs of the plan as it stands."""
        return self.validated_epochs is None or epoch + 1 > self.epochs - self.validated_epochs

    def train_epoch_s(self) -> float:
        """The mean epoch so far (its validation pass left out where one is timed apart)."""
        timed = self.epoch_s[1:] or self.epoch_s
        return statistics.fmean(timed) if timed else 0.0

    def validation_pass_s(self) -> float:
        """Seconds of a validation pass timed apart from the epoch: the mean so far, else the
        probe's estimate; 0 when validation runs inside every epoch."""
        if self.validated_epochs is None:
            return 0.0
        passes = list(self.validation.seconds.values()) if self.validation else []
        timed = passes[1:] or passes  # the first pass traces the model: left out once there are others
        return statistics.fmean(timed) if timed else self.validation_s

    def next_epoch_s(self) -> float:
        """The next epoch as the re-plan projects it, for the stop check, so they agree."""
        return self.train_epoch_s() + self.validation_pass_s()

    def on_epoch_begin(self, epoch, logs=None):
        super().on_epoch_begin(epoch, logs)
        self._epoch = epoch

    def on_train_batch_begin(self, batch, logs=None):
        self.model.optimizer.learning_rate = self.cosine(self._epoch * self.steps_per_epoch + batch)

    def after_epoch(self, epoch: int, now: float) -> None:
        done = epoch + 1
        per_epoch = self.train_epoch_s()
        fitting = done + epochs_that_fit(self.deadline - now, per_epoch, self.validation_pass_s(),
                                         self.validated_epochs,
                                         max(0, self.planned_epochs - done))
        if fitting > done and fitting != self.epochs:
            self.cosine.move_end(done * self.steps_per_epoch, fitting * self.steps_per_epoch)
            self.replanned.append((done, fitting))
            if self.verbose:
                print(f"time budget: epochs take {per_epoch:.0f} s on average, so the schedule "
                      f"now ends after epoch {fitting} instead of {self.epochs}", flush=True)
            self.epochs = fitting
        if done >= self.epochs:
            self.model.stop_training = True


__all__ = ["BUDGET_FILE", "BudgetPlan", "BudgetSchedule", "BudgetStop", "CosineSegment",
           "epochs_that_fit", "plan_epochs", "time_steps"]
