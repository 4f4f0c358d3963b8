"""Losses and metrics chosen by head name, so every ferkit model compiles the same way."""
from __future__ import annotations

import keras

#: What each head predicts: ``emotion`` is single-label softmax, ``au`` multi-label sigmoid,
#: ``ferplus`` a softmax fitted to the FER+ annotators' vote shares (an auxiliary target).
HEAD_KINDS = {"emotion": "multiclass", "au": "multilabel", "ferplus": "distribution"}


def head_names(model: keras.Model) -> list[str]:
    """Output names of a ferkit model (its ``outputs`` dict keys)."""
    names = list(model.output.keys()) if isinstance(model.output, dict) else list(model.output_names)
    unknown = [n for n in names if n not in HEAD_KINDS]
    if unknown:
        raise ValueError(f"model {model.name!r} has outputs {unknown} that ferkit cannot train; "
                         f"name outputs after heads {list(HEAD_KINDS)}")
    return names


def head_losses_and_metrics(heads, au_threshold: float = 0.5, label_smoothing: float = 0.0):
    """Per-head losses and metrics (accuracy + F1) for ``model.compile``."""
    losses, metrics = {}, {}
    for head in heads:
        if HEAD_KINDS[head] == "multiclass":
            losses[head] = keras.losses.CategoricalCrossentropy(label_smoothing=label_smoothing)
            metrics[head] = [keras.metrics.CategoricalAccuracy(name="accuracy"),
                             keras.metrics.F1Score(average="macro", name="f1")]
        elif HEAD_KINDS[head] == "distribution":  # soft targets: no smoothing on top
            losses[head] = keras.losses.CategoricalCrossentropy()
            metrics[head] = [keras.metrics.KLDivergence(name="kl")]
        else:
            losses[head] = keras.losses.BinaryCrossentropy()
            metrics[head] = [keras.metrics.BinaryAccuracy(name="accuracy", threshold=au_threshold),
                             keras.metrics.F1Score(average="micro", threshold=au_threshold,
                                                   name="f1")]
    return losses, metrics


def compile_model(model: keras.Model, learning_rate: float = 1e-3, au_loss_weight: float = 1.0,
                  jit_compile: bool = True, label_smoothing: float = 0.0,
                  optimizer: keras.optimizers.Optimizer | None = None,
                  ferplus_loss_weight: float = 1.0) -> keras.Model:
    """Compile with per-head losses/metrics and loss weights; returns the model.

    ``optimizer`` defaults to Adam at ``learning_rate``. The ``emotion`` loss has weight 1;
    ``au_loss_weight`` and ``ferplus_loss_weight`` weigh the other heads against it.
    """
    heads = head_names(model)
    losses, metrics = head_losses_and_metrics(heads, label_smoothing=label_smoothing)
    extra = {"au": au_loss_weight, "ferplus": ferplus_loss_weight}
    weights = {head: extra.get(head, 1.0) for head in heads}
    optimizer = optimizer or keras.optimizers.Adam(learning_rate)
    model.compile(optimizer=optimizer, loss=losses, metrics=metrics,
                  loss_weights=weights, jit_compile=jit_compile)
    return model
