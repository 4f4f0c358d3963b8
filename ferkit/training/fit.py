"""``fit``: train a compiled model with early stopping and, given a run directory, a
best-by-val-loss checkpoint, a per-epoch log and an epoch backup, so a killed run resumes where
it stopped. The one ``model.fit`` call of ferkit (:mod:`ferkit.training.engine` drives it)."""
from __future__ import annotations

import contextlib
import json
import math
import os
import sys
import time
import warnings
from pathlib import Path
from typing import Callable

import keras
import pandas as pd
import tensorflow as tf

from ferkit import _faults
from ferkit.runs import RunDir, write_json_atomic

#: TensorBoard's event files, under the run directory.
TENSORBOARD_DIR = "logs"

_faults.install()  # the kill -9 tests' fault points (inactive unless FERKIT_FAULT_KILL_AT is set)


class EMASwap(keras.callbacks.SwapEMAWeights):
    """Keras' ``SwapEMAWeights(swap_on_epoch=True)``: the averaged weights are in the model for
    validation and for the callbacks after it at the end of each epoch. ``trained_weights()``
    puts the optimiser's own weights back for a moment (for the epoch backup)."""

    def __init__(self):
        super().__init__(swap_on_epoch=True)

    @contextlib.contextmanager
    def trained_weights(self):
        swapped = self._ema_weights_in_model
        if swapped:
            self._swap_variables()
        try:
            yield
        finally:
            if swapped:
                self._swap_variables()


class AtomicBackupAndRestore(keras.callbacks.BackupAndRestore):
    """``BackupAndRestore`` whose backup is replaced in one atomic step.

    Keras overwrites its weights and then its epoch record in place, so a process killed
    mid-write leaves a corrupt file that blocks resuming, or new weights beside the old
    epoch number. Here each epoch's weights go to a file of their own
    (``epoch_<n>.weights.h5``) and the epoch record, which names that file, is then renamed
    over the old one: the rename is the backup's commit, so a kill at any moment leaves the
    previous complete backup or the new one. With ``ema`` (the run's :class:`EMASwap`) the
    backup holds the trained weights in the model and the average in the optimiser, as
    during training, even though the average is swapped in at epoch end.
    """

    def __init__(self, backup_dir: str, ema: EMASwap | None = None):
        super().__init__(backup_dir)
        self.ema = ema

    def _save_model(self):
        with self.ema.trained_weights() if self.ema else contextlib.nullcontext():
            self._write_backup()

    def _write_backup(self):
        os.makedirs(self.backup_dir, exist_ok=True)
        weights = f"epoch_{self._current_epoch}.weights.h5"
        self.model.save_weights(os.path.join(self.backup_dir, weights), overwrite=True)
        record = {"epoch": self._current_epoch, "batch": self._last_batch_seen, "weights": weights}
        partial_metadata = self._training_metadata_path + ".partial"
        with open(partial_metadata, "w") as handle:
            json.dump(record, handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(partial_metadata, self._training_metadata_path)
        self._remove_weights_other_than(weights)

    def _remove_weights_other_than(self, weights: str) -> None:
        for path in Path(self.backup_dir).glob("*.weights.h5"):
            if path.name != weights:
                path.unlink(missing_ok=True)

    def _load_model(self):
        """Restore the weights the epoch record names (a Keras-style backup as Keras does)."""
        record = self._backup_record()
        weights = record.get("weights") if record else None
        if weights is None or not os.path.isfile(os.path.join(self.backup_dir, weights)):
            return super()._load_model()
        if self.model.optimizer is not None and not self.model.optimizer.built:
            self.model.optimizer.build(self.model.trainable_variables)
        self.model.load_weights(os.path.join(self.backup_dir, weights))
        self.model._initial_epoch = record["epoch"]

    def _backup_record(self) -> dict | None:
        try:
            with open(self._training_metadata_path) as handle:
                record = json.load(handle)
        except FileNotFoundError:
            return None
        return record if isinstance(record, dict) else None


class FaultPoints(keras.callbacks.Callback):
    """Reaches the ``batch`` and ``epoch`` fault points of :mod:`ferkit._faults` (added to
    a fit only when a kill point is set)."""

    def on_train_batch_end(self, batch, logs=None):
        _faults.reached("batch")

    def on_epoch_end(self, epoch, logs=None):
        _faults.reached("epoch")


class ValidateWhen(keras.callbacks.Callback):
    """Validate at the end of only the epochs ``due(epoch)`` names (0-based), instead of
    every epoch as ``fit(validation_data=...)`` does.

    The ``val_*`` results join the epoch's logs, so the callbacks after this one (the
    checkpoint, early stopping, the CSV log, the progress line) see them as usual; epochs
    not validated have no ``val_*`` values. ``seconds`` maps each validated epoch to the
    seconds its pass took (the time budget counts them apart from training).
    """

    def __init__(self, data: tf.data.Dataset, due: Callable[[int], bool]):
        super().__init__()
        self.data = data
        self.due = due
        self.seconds: dict[int, float] = {}

    def on_epoch_end(self, epoch, logs=None):
        if logs is None or not self.due(epoch):
            return
        start = time.perf_counter()
        results = self.model.evaluate(self.data, verbose=0, return_dict=True)
        self.seconds[epoch] = time.perf_counter() - start
        logs.update({f"val_{name}": value for name, value in results.items()})


class BestCheckpoint(keras.callbacks.ModelCheckpoint):
    """``ModelCheckpoint(save_best_only=True)`` that passes over epochs without the monitored
    value (epochs not validated), which Keras would save regardless: on a resumed run that
    would replace the best checkpoint by an epoch nobody scored.

    The checkpoint is saved to a hidden temporary ``.keras`` file beside it and renamed over
    it, so a process killed while saving leaves the previous checkpoint whole.
    """

    def __init__(self, filepath, monitor: str = "val_loss", **kwargs):
        super().__init__(filepath, monitor=monitor, save_best_only=True, **kwargs)

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None and logs.get(self.monitor) is not None:
            super().on_epoch_end(epoch, logs)

    def _save_model(self, epoch, batch, logs):
        final = Path(self.filepath)
        partial = final.with_name(f".{final.stem}.partial{final.suffix}")
        partial.unlink(missing_ok=True)  # left by a killed run: never renamed into place
        self.filepath = str(partial)
        try:
            super()._save_model(epoch, batch, logs)
        finally:
            self.filepath = str(final)
        if partial.is_file():  # saved: this epoch is the best so far
            os.replace(partial, final)


def last_epochs(count: int, epochs: int) -> Callable[[int], bool]:
    """``due`` for :class:`ValidateWhen`: the last ``count`` of ``epochs`` epochs."""
    return lambda epoch: epoch + 1 > epochs - count


def default_verbose() -> int:
    """Progress bars on a terminal, one line per epoch in logs and CI."""
    return 1 if sys.stdout.isatty() and not os.environ.get("CI") else 2


def logged_history(run_dir: str | Path) -> dict[str, list[float]]:
    """The per-epoch history in ``training_log.csv``, one row per epoch (a re-run epoch's
    last entry wins, which happens when a run is killed between logging and backing up)."""
    return _history_of(pd.read_csv(RunDir(run_dir) / RunDir.TRAINING_LOG))


def _history_of(log: pd.DataFrame) -> dict[str, list[float]]:
    """One list per logged value, one entry per epoch (NaN where an epoch has none)."""
    log = log.drop_duplicates("epoch", keep="last").sort_values("epoch")
    return {k: [float(v) for v in log[k]] for k in log.columns if k != "epoch"}


class EpochLogs(keras.callbacks.Callback):
    """Every epoch's logs in memory, as the CSV log holds them on disk (for a run without a
    run directory, e.g. a tuning trial)."""

    def __init__(self):
        super().__init__()
        self.rows: list[dict] = []

    def on_epoch_end(self, epoch, logs=None):
        self.rows.append({"epoch": epoch, **(logs or {})})

    def history(self) -> dict[str, list[float]]:
        return _history_of(pd.DataFrame(self.rows)) if self.rows else {}


def _json_safe(history: dict[str, list[float]]) -> dict[str, list[float | None]]:
    """The history with null for epochs without a value (not validated), as JSON has no NaN."""
    return {k: [None if math.isnan(v) else v for v in values] for k, values in history.items()}


def _best_so_far(run_dir: Path, monitor: str) -> float | None:
    log = run_dir / RunDir.TRAINING_LOG
    if not (log.is_file() and (run_dir / RunDir.MODEL).is_file()):
        return None
    drop_partial_last_line(log)
    values = pd.read_csv(log).get(monitor)
    return float(values.min()) if values is not None and len(values) else None


def averaging_callbacks(model: keras.Model) -> list[EMASwap]:
    """``[EMASwap()]`` when the model's optimiser (or the one a loss-scale wrapper holds)
    keeps a moving average of the weights (``use_ema``), else none. Put it before every
    callback that should see the averaged weights."""
    optimizer = getattr(model.optimizer, "inner_optimizer", model.optimizer)
    return [EMASwap()] if getattr(optimizer, "use_ema", False) else []


def fit(model: keras.Model, train: tf.data.Dataset, val: tf.data.Dataset,
        run_dir: str | Path | None, epochs: int = 40, patience: int = 8,
        verbose: int | str = "auto", extra_callbacks: list | None = None, resume: bool = True,
        tensorboard: bool = False,
        validator: ValidateWhen | None = None) -> dict[str, list[float]]:
    """Train a compiled model with early stopping on ``val_loss`` (restoring the best weights).

    With a ``run_dir`` the best weights are also kept in ``run_dir/model.keras`` and the epochs
    in ``training_log.csv`` and ``history.json``, so the returned model matches the
    checkpoint; with ``resume`` an epoch backup in ``run_dir/backup`` lets a killed run
    continue from its last finished epoch (the checkpoint keeps the best value seen before the
    interruption, and a resumed run returns the checkpoint's weights also when no epoch after
    the interruption beat it; early stopping's patience counts again from the resumed epoch).
    Without one (a tuning trial) nothing is written and the history is kept in memory.

    When the optimiser keeps a moving average of the weights (``use_ema``), validation, the
    checkpoint, early stopping and the returned model all use the averaged weights.

    ``validator`` (a :class:`ValidateWhen` on ``val``) validates only in the epochs it names,
    which saves a validation pass in each of the others; the checkpoint and early stopping
    then choose among the validated epochs only.
    """
    run_dir = RunDir(run_dir) if run_dir is not None else None
    resume = resume and run_dir is not None
    best = _best_so_far(run_dir.path, "val_loss") if resume else None
    # swapping must come first, so the callbacks after it see the averaged weights
    callbacks = averaging_callbacks(model)
    ema_swap = callbacks[0] if callbacks else None
    # validating in a callback must come before everything that reads val_loss
    callbacks += [validator] if validator is not None else []
    checkpoint = None
    if run_dir is not None:
        checkpoint = BestCheckpoint(run_dir / RunDir.MODEL, monitor="val_loss",
                                    initial_value_threshold=best)
        callbacks.append(checkpoint)
    callbacks.append(keras.callbacks.EarlyStopping(monitor="val_loss", patience=patience,
                                                   restore_best_weights=True))
    epoch_logs = EpochLogs()
    callbacks.append(_epoch_log(run_dir, append=resume and best is not None) or epoch_logs)
    callbacks += list(extra_callbacks or [])
    if resume:
        callbacks.append(AtomicBackupAndRestore(str(run_dir / RunDir.BACKUP), ema=ema_swap))
    if tensorboard and run_dir is not None:
        callbacks.append(keras.callbacks.TensorBoard(str(run_dir / TENSORBOARD_DIR)))
    if _faults.armed():
        callbacks.append(FaultPoints())
    verbose = default_verbose() if verbose == "auto" else int(verbose)
    with warnings.catch_warnings():
        if validator is not None:  # epochs left unvalidated have no val_loss, by design
            warnings.filterwarnings("ignore", message=".*val_loss.*")
        model.fit(train, validation_data=None if validator is not None else val, epochs=epochs,
                  callbacks=callbacks, verbose=verbose,
                  shuffle=False)  # the dataset shuffles itself
    if run_dir is None:
        return epoch_logs.history()
    if best is not None and checkpoint.best == best:  # no epoch now beat the one saved before
        model.load_weights(run_dir / RunDir.MODEL)
    record = logged_history(run_dir.path)
    write_json_atomic(run_dir / RunDir.HISTORY, _json_safe(record))
    return record


def _epoch_log(run_dir: RunDir | None, append: bool) -> keras.callbacks.CSVLogger | None:
    """The CSV log of a run directory (None without one)."""
    if run_dir is None:
        return None
    run_dir.create()
    return keras.callbacks.CSVLogger(str(run_dir / RunDir.TRAINING_LOG), append=append)


def drop_partial_last_line(path: Path) -> bool:
    """Cut ``path`` back to its last newline when a kill left its last line unfinished (so
    the resumed run's rows, appended, start on a line of their own); returns whether it did."""
    if not path.is_file():
        return False
    data = path.read_bytes()
    if not data or data.endswith(b"\n"):
        return False
    with open(path, "r+b") as handle:
        handle.truncate(data.rfind(b"\n") + 1)
    return True
