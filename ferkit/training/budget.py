"""Fit a training run into a wall-clock budget (``train.time_budget_minutes``).

A cosine schedule must know its length before the first step, and the length that fits a
budget depends on the machine: the FER2013 recipe's 28 epochs take 27 minutes on a 2-core
AMX Xeon and about 35 on a 2-core Zen 4 EPYC, which has no AMX. So before training, a
throwaway copy of the model trains a few steps, validates a few batches and is saved once, on
the run's own data; from those times :func:`plan_epochs` picks the most epochs (at most
``train.epochs``) that fit what is left of the budget, and the real model is built afresh (same
seed, same initial weights) and trained for exactly that many, one full schedule. The plan is
written to ``RUN_DIR/budget.json``, and a resumed run keeps it, so its schedule does not change
midway.

What the budget counts: from the start of the run's training (``started``: the probe is
inside it) to the end of its final evaluation. The epochs must end by
:meth:`BudgetPlan.deadline`, which keeps the final evaluation's estimate in reserve.
*Training time* is the part from the start of ``fit`` to the end of the last epoch: every
epoch's steps, its validation pass, the checkpoint and the epoch backup, and any wait for
data; it is measured and written to ``budget.json`` (``training_s``) with the reason training
stopped (``stop_reason``). Time spent inside :func:`paused` (scoring done only for a report)
counts in neither.

Epochs are projected from the epochs done so far, each timed from one epoch-end check to the
next, so the backup and the data pipeline's restart between epochs are in the figure. The
projection keeps a reserve for epoch-to-epoch noise (``SPREAD_Z`` standard deviations, scaled
by the square root of the epochs ahead), and takes the last epoch's length when it is above
the mean (a slowdown that lasts).

:class:`BudgetSchedule` keeps a cosine run inside the budget when epochs run slower than
planned (a busy machine): it sets the learning rate itself, step by step, and when the epochs
left would overrun, ends the cosine sooner (and later again, up to the plan, if the machine
speeds up), re-based so the rate still reaches 0 at the last epoch. Other schedules get
:class:`BudgetStop`. Both stop before an epoch that the projection says would end after the
deadline (the hard stop), say why, and the best checkpoint is kept. At least one epoch always
runs, and the checks are made at epoch ends, so a single stall inside the last epoch beyond
the reserve can still overrun by that stall.
"""
from __future__ import annotations

import contextlib
import dataclasses
import json
import math
import statistics
import tempfile
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
#: Standard deviations of the epoch-to-epoch spread kept in reserve when projecting epochs
#: ahead: n more epochs are taken to need n x the epoch + SPREAD_Z x spread x sqrt(n).
SPREAD_Z = 2.0
#: The least spread assumed, as a fraction of the epoch, while few epochs are timed.
MIN_SPREAD = 0.05


class PausableClock:
    """``time.perf_counter()`` that can leave out the spells spent inside :meth:`paused`.

    ``paused_s`` is the total left out so far; a budget subtracts the part that fell after it
    started (see :class:`BudgetStop`), so runs in one process do not disturb each other.
    """

    def __init__(self):
        self.paused_s = 0.0

    def __call__(self) -> float:
        return time.perf_counter()

    @contextlib.contextmanager
    def paused(self):
        start = self()
        try:
            yield
        finally:
            self.paused_s += self() - start


#: The clock every budget reads (a test may swap in one whose epochs "take" longer).
CLOCK = PausableClock()


def paused():
    """A context in which time does not count against a running budget or its training time,
    e.g. scoring each epoch's weights for a report (``with paused(): ...``)."""
    return CLOCK.paused()


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
    #: Seconds of each epoch spent saving the checkpoint and the backup (within ``epoch_s``).
    epoch_overhead_s: float = 0.0
    # written when training ends (see BudgetStop.outcome)
    #: Seconds from the start of ``fit`` to the end of the last epoch (this process's part).
    training_s: float | None = None
    #: Seconds from the budget's start (``started``) to the end of the last epoch.
    elapsed_s: float | None = None
    epochs_run: int | None = None
    #: Why training ended: the plan's last epoch, the time budget, or another callback.
    stop_reason: str | None = None
    #: Each epoch's measured seconds, from one epoch-end check to the next.
    epoch_seconds: list[float] | None = None

    def describe(self) -> str:
        fits = "" if self.epochs < self.max_epochs else f" (all of train.epochs={self.max_epochs})"
        epochs = f"{self.epochs} epoch{'s' if self.epochs != 1 else ''}"
        validated = (f" (validation, {self.validation_s:.2g} s, in the last "
                     f"{self.validated_epochs} only)" if self.validated_epochs else "")
        return (f"time budget {self.budget_s / 60:.1f} min: {self.step_s:.3f} s per training "
                f"step, about {self.epoch_s:.3g} s per epoch with validation{validated}, "
                f"checkpoint and backup ({self.epoch_overhead_s:.2g} s), "
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
    """Mean seconds of a training step (an epoch is their sum, stalls included) and of a
    validation batch, and the one-off seconds of the first step and first validation call
    (tracing), on a compiled throwaway model."""
    timer = _BatchEnds()
    model.fit(train.take(PROBE_WARMUP_STEPS + steps), epochs=1, verbose=0, shuffle=False,
              callbacks=[timer])
    gaps = [b - a for a, b in zip(timer.ends, timer.ends[1:])]
    step_s = statistics.fmean(gaps[PROBE_WARMUP_STEPS:] or gaps)
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


def time_epoch_overhead(model: keras.Model) -> float:
    """Seconds an epoch spends saving, on the probe: the model (the best checkpoint, which may
    be written every epoch) and its weights (the epoch backup). The data pipeline's restart
    is left to the epochs' own timing: a fresh iterator here would decode the images again
    where the first epoch has not yet filled the cache."""
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as folder:
        model.save(Path(folder) / "probe.keras")
        model.save_weights(Path(folder) / "probe.weights.h5")
    return time.perf_counter() - start


def epochs_that_fit(seconds: float, train_s: float, validation_s: float,
                    validated_epochs: int | None, at_most: int, spread_s: float = 0.0) -> int:
    """How many more epochs (up to ``at_most``) fit ``seconds``, each ``train_s`` of
    training plus ``validation_s`` of validation, validated every epoch, or only in the last
    ``validated_epochs`` of them; with ``spread_s`` (the epochs' standard deviation) ``n``
    epochs keep ``SPREAD_Z x spread_s x sqrt(n)`` in reserve for noise."""
    fitting = 0
    while fitting < at_most:
        more = fitting + 1
        validated = more if validated_epochs is None else min(validated_epochs, more)
        reserve = SPREAD_Z * spread_s * math.sqrt(more)
        if more * train_s + validated * validation_s + reserve > seconds:
            break
        fitting = more
    return fitting


def plan_epochs(budget_s: float, spent_s: float, step_s: float, steps_per_epoch: int,
                val_batch_s: float, val_batches: int, test_batches: int, tracing_s: float,
                max_epochs: int, min_epochs: int = 1, validated_epochs: int | None = None,
                *, epoch_overhead_s: float = 0.0) -> BudgetPlan:
    """The most whole epochs (``min_epochs`` to ``max_epochs``) that fit ``budget_s`` after
    ``spent_s`` already spent, ``tracing_s`` of one-off tracing and the final evaluation on
    ``test_batches``; validating every epoch, or only the last ``validated_epochs``; each
    epoch also spends ``epoch_overhead_s`` (saving the checkpoint and backup), and the epochs
    keep the noise reserve of :func:`epochs_that_fit` (at ``MIN_SPREAD``)."""
    train_s = (steps_per_epoch * step_s + epoch_overhead_s) * EPOCH_MARGIN
    validation_s = val_batches * val_batch_s * EPOCH_MARGIN
    final_eval_s = test_batches * val_batch_s * EPOCH_MARGIN + REPORT_S
    left = budget_s - spent_s - tracing_s - final_eval_s
    fitting = epochs_that_fit(left, train_s, validation_s, validated_epochs, max_epochs,
                              spread_s=MIN_SPREAD * (train_s + validation_s))
    epochs = int(min(max_epochs, max(min_epochs, fitting)))
    return BudgetPlan(budget_s=budget_s, step_s=step_s, val_batch_s=val_batch_s,
                      epoch_s=train_s + validation_s, tracing_s=tracing_s,
                      final_eval_s=final_eval_s, spent_s=spent_s, epochs=epochs,
                      max_epochs=max_epochs, validation_s=validation_s,
                      validated_epochs=validated_epochs,
                      epoch_overhead_s=epoch_overhead_s * EPOCH_MARGIN)


class BudgetStop(keras.callbacks.Callback):
    """The hard stop: at each epoch end, stop when the next epoch would end after
    ``deadline`` (a :data:`CLOCK` value), and measure the training time.

    Each epoch is timed from the previous epoch-end check (or the start of ``fit``) to its
    own, so what runs between epochs (the epoch backup, the data pipeline's restart) is in
    it; a pass of a ``ValidateWhen`` set as ``validation`` is taken out and counted apart.
    The next epoch is projected by :meth:`next_epoch_s`: the mean epoch (the first, which
    traces the model, left out once there are others) or the last one if longer, plus the
    noise reserve, plus the longest spell yet seen after a check (the last epoch's backup
    must fit too). While the first epoch is the only one, it counts less the probe's
    ``tracing_s``, but not less than the probe's ``planned_epoch_s``. Spells inside
    :func:`paused` are left out of every figure.
    """

    def __init__(self, deadline: float, verbose: bool = True, *, tracing_s: float = 0.0,
                 planned_epoch_s: float = 0.0):
        super().__init__()
        self.deadline = deadline
        self.verbose = verbose
        self.tracing_s, self.planned_epoch_s = tracing_s, planned_epoch_s
        self.epoch_s: list[float] = []
        self.stopped_epoch: int | None = None
        self.stop_reason: str | None = None
        #: A ``ValidateWhen`` before this callback, whose passes are timed apart from training.
        self.validation = None
        #: The longest spell from an epoch-end check to the next epoch's start.
        self.after_check_s = 0.0
        self.fit_started: float | None = None
        self.fit_ended: float | None = None
        self._paused_before = CLOCK.paused_s
        self._epoch_start = 0.0
        self._last_check: float | None = None

    def now(self) -> float:
        """The clock, less the time paused since this budget was made."""
        return CLOCK() - (CLOCK.paused_s - self._paused_before)

    def timed_epochs(self) -> list[float]:
        """The epochs to project from: all but the first, which traces, once there are others."""
        if len(self.epoch_s) == 1:
            return [max(self.epoch_s[0] - self.tracing_s, self.planned_epoch_s)]
        return self.epoch_s[1:]

    def train_epoch_s(self) -> float:
        """The epoch to project: the mean so far, or the last if it was longer."""
        timed = self.timed_epochs()
        return max(statistics.fmean(timed), timed[-1]) if timed else 0.0

    def spread_s(self) -> float:
        """The epochs' standard deviation, at least ``MIN_SPREAD`` of the epoch."""
        timed = self.timed_epochs()
        measured = statistics.stdev(timed) if len(timed) > 1 else 0.0
        return max(measured, MIN_SPREAD * self.train_epoch_s())

    def validation_pass_s(self) -> float:
        """Seconds of a validation pass timed apart from the epoch (0: inside every epoch)."""
        return 0.0

    def next_epoch_s(self) -> float:
        """The next epoch as projected, noise reserve included."""
        if not self.epoch_s:
            return 0.0
        return self.train_epoch_s() + self.validation_pass_s() + SPREAD_Z * self.spread_s()

    def on_train_begin(self, logs=None):
        self.fit_started = self._last_check = self.now()

    def on_epoch_begin(self, epoch, logs=None):
        now = self.now()
        if self._last_check is None:
            self._epoch_start = now
            return
        if self.epoch_s:
            self.after_check_s = max(self.after_check_s, now - self._last_check)
        self._epoch_start = self._last_check

    def on_epoch_end(self, epoch, logs=None):
        now = self.now()
        validating = self.validation.seconds.get(epoch, 0.0) if self.validation else 0.0
        self.epoch_s.append(now - self._epoch_start - validating)
        self.after_epoch(epoch, now)
        expected = self.next_epoch_s() + self.after_check_s
        if now + expected > self.deadline and not self.model.stop_training:
            self.model.stop_training = True
            self.stopped_epoch = epoch + 1
            self.stop_reason = (f"time budget: stopped after epoch {epoch + 1}, as another "
                                f"(about {expected:.0f} s with its reserve) would end "
                                f"{now + expected - self.deadline:.0f} s past the deadline")
            if self.verbose:
                print(self.stop_reason, flush=True)
        self._last_check = self.now()

    def on_train_end(self, logs=None):
        self.fit_ended = self.now()

    def after_epoch(self, epoch: int, now: float) -> None:
        """Hook for subclasses, called at each epoch end before the stop check."""

    def outcome(self, started: float, planned_epochs: int) -> dict:
        """What ``budget.json`` records when training ends, for a budget whose clock
        started at ``started``: training seconds, elapsed seconds, epochs, why it stopped."""
        ended = self.fit_ended if self.fit_ended is not None else self.now()
        began = self.fit_started if self.fit_started is not None else ended
        run = len(self.epoch_s)
        reason = self.stop_reason or (
            f"the plan's last epoch ({run} of {planned_epochs})" if run >= planned_epochs else
            f"stopped by another callback (early stopping) after epoch {run} of {planned_epochs}")
        return {"training_s": round(ended - began, 3),
                "elapsed_s": round(ended - started, 3), "epochs_run": run,
                "stop_reason": reason, "epoch_seconds": [round(s, 3) for s in self.epoch_s]}


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

    At each epoch end the epochs that still fit before the deadline are projected as
    :class:`BudgetStop` projects the next one (the mean epoch or the last if longer, with the
    noise reserve). When that differs from the current plan (never more than the probe's
    plan), the cosine is re-based at the current rate to reach 0 at the new last epoch: a slow
    spell shortens the schedule, and a spell that passes gives the epochs back. The rate never
    jumps, and the run ends annealed instead of being cut off midway. The stop check uses the
    same projection, so the hard stop cuts a cosine short only when a slowdown comes too late
    to re-plan. Needs an optimiser whose learning rate is a plain variable (not a
    ``LearningRateSchedule``).

    With ``validated_epochs`` only the last that many epochs of the current plan validate
    (:meth:`validates` is the ``due`` of the run's ``ValidateWhen``, set as ``validation``);
    the projection then counts a validation pass (the mean of those timed so far, else
    ``validation_s``, the probe's estimate) for those epochs only.
    """

    def __init__(self, deadline: float, rate: float, warmup_epochs: float, epochs: int,
                 steps_per_epoch: int, verbose: bool = True,
                 validated_epochs: int | None = None, validation_s: float = 0.0, *,
                 tracing_s: float = 0.0, planned_epoch_s: float = 0.0):
        super().__init__(deadline, verbose, tracing_s=tracing_s, planned_epoch_s=planned_epoch_s)
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

    def validation_pass_s(self) -> float:
        """Seconds of a validation pass timed apart from the epoch: the mean so far, else the
        probe's estimate; 0 when validation runs inside every epoch."""
        if self.validated_epochs is None:
            return 0.0
        passes = list(self.validation.seconds.values()) if self.validation else []
        timed = passes[1:] or passes  # the first pass traces the model: left out once there are others
        return statistics.fmean(timed) if timed else self.validation_s

    def on_epoch_begin(self, epoch, logs=None):
        super().on_epoch_begin(epoch, logs)
        self._epoch = epoch

    def on_train_batch_begin(self, batch, logs=None):
        self.model.optimizer.learning_rate = self.cosine(self._epoch * self.steps_per_epoch + batch)

    def after_epoch(self, epoch: int, now: float) -> None:
        done = epoch + 1
        per_epoch = self.train_epoch_s()
        fitting = done + epochs_that_fit(self.deadline - now - self.after_check_s, per_epoch,
                                         self.validation_pass_s(), self.validated_epochs,
                                         max(0, self.planned_epochs - done),
                                         spread_s=self.spread_s())
        if fitting > done and fitting != self.epochs:
            self.cosine.move_end(done * self.steps_per_epoch, fitting * self.steps_per_epoch)
            self.replanned.append((done, fitting))
            if self.verbose:
                print(f"time budget: epochs take {per_epoch:.0f} s on average, so the schedule "
                      f"now ends after epoch {fitting} instead of {self.epochs}", flush=True)
            self.epochs = fitting
        if done >= self.epochs:
            self.model.stop_training = True
            if self.epochs < self.planned_epochs:
                self.stop_reason = (f"time budget: the schedule's last epoch ({done}), "
                                    f"shortened from the plan's {self.planned_epochs} to fit")


__all__ = ["BUDGET_FILE", "CLOCK", "BudgetPlan", "BudgetSchedule", "BudgetStop", "CosineSegment",
           "PausableClock", "epochs_that_fit", "paused", "plan_epochs", "time_epoch_overhead",
           "time_steps"]
