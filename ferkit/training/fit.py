"""``fit``: train into a run directory with early stopping and a best-by-val-loss checkpoint."""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import keras
import tensorflow as tf

from ferkit.evaluation.plots import plot_history

BEST_MODEL = "model.keras"


def default_verbose() -> int:
    """Progress bars on a terminal, one line per epoch in logs and CI."""
    return 1 if sys.stdout.isatty() and not os.environ.get("CI") else 2


def fit(model: keras.Model, train: tf.data.Dataset, val: tf.data.Dataset, run_dir: str | Path,
        epochs: int = 40, patience: int = 8, verbose: int | str = "auto",
        extra_callbacks: list | None = None) -> dict[str, list[float]]:
    """Train a compiled model; keep the best weights by ``val_loss`` in ``run_dir/model.keras``.

    Writes ``history.json``, ``training_log.csv`` and ``plots/history.png``. Early stopping
    restores the best weights, so the returned model state matches the saved checkpoint.
    """
    run_dir = Path(run_dir)
    (run_dir / "plots").mkdir(parents=True, exist_ok=True)
    callbacks = [
        keras.callbacks.ModelCheckpoint(run_dir / BEST_MODEL, monitor="val_loss", save_best_only=True),
        keras.callbacks.EarlyStopping(monitor="val_loss", patience=patience, restore_best_weights=True),
        keras.callbacks.CSVLogger(str(run_dir / "training_log.csv")),
        *(extra_callbacks or []),
    ]
    verbose = default_verbose() if verbose == "auto" else int(verbose)
    history = model.fit(train, validation_data=val, epochs=epochs, callbacks=callbacks,
                        verbose=verbose, shuffle=False)  # the dataset shuffles itself
    record = {k: [float(v) for v in values] for k, values in history.history.items()}
    (run_dir / "history.json").write_text(json.dumps(record, indent=1))
    plot_history(record, run_dir / "plots" / "history.png")
    return record
