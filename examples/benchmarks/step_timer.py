"""``StepTimer``: per-step training times from inside ``fit``, shared by the benchmark scripts.

Timing a whole short ``fit`` call folds tracing, the first epoch's set-up and the last
partial window into the figure; timestamps taken at every batch end do not.
"""
from __future__ import annotations

import time

import keras


class StepTimer(keras.callbacks.Callback):
    """Timestamps of every batch end inside one ``fit`` call (``ends``).

    The difference between consecutive ends is one step's wall time: compute plus any
    wait for input.
    """

    def __init__(self):
        super().__init__()
        self.ends: list[float] = []

    def on_train_batch_end(self, batch, logs=None):
        self.ends.append(time.perf_counter())
