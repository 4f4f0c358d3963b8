"""Optimisers and learning-rate schedules built from a :class:`ferkit.config.TrainConfig`."""
from __future__ import annotations

import keras


def learning_rate(train, steps_per_epoch: int):
    """A float or a ``LearningRateSchedule`` stepping per batch."""
    if train.schedule == "step":
        return keras.optimizers.schedules.ExponentialDecay(
            train.learning_rate, decay_steps=train.step_size * steps_per_epoch,
            decay_rate=train.gamma, staircase=True)
    if train.schedule == "cosine":
        warmup = int(round(train.warmup_epochs * steps_per_epoch))
        if not warmup:
            return keras.optimizers.schedules.CosineDecay(
                train.learning_rate, decay_steps=train.epochs * steps_per_epoch)
        # linear warm-up from a tenth of the rate, then cosine to 0 over the remaining steps
        return keras.optimizers.schedules.CosineDecay(
            train.learning_rate / 10, decay_steps=max(1, train.epochs * steps_per_epoch - warmup),
            warmup_target=train.learning_rate, warmup_steps=warmup)
    return train.learning_rate


def make_optimizer(train, steps_per_epoch: int) -> keras.optimizers.Optimizer:
    """Adam, AdamW (decoupled weight decay) or SGD with momentum (optionally decayed), keeping
    a moving average of the weights when ``train.ema_momentum`` is set."""
    rate = learning_rate(train, steps_per_epoch)
    decay = train.weight_decay or None
    ema = ({"use_ema": True, "ema_momentum": train.ema_momentum}
           if train.ema_momentum is not None else {})
    if train.optimizer == "adam":
        if decay:
            raise ValueError("train.weight_decay needs optimizer 'adamw' or 'sgd' (Adam's decay "
                             "is not decoupled); use model.args.l2 for an L2 penalty instead")
        return keras.optimizers.Adam(rate, **ema)
    if train.optimizer == "adamw":
        return keras.optimizers.AdamW(rate, weight_decay=train.weight_decay, **ema)
    return keras.optimizers.SGD(rate, momentum=train.momentum, weight_decay=decay, **ema)


def schedule_callbacks(train) -> list[keras.callbacks.Callback]:
    """Epoch-level schedule callbacks (reduce-on-plateau)."""
    if train.schedule == "plateau":
        return [keras.callbacks.ReduceLROnPlateau(monitor="val_loss", factor=train.gamma,
                                                  patience=train.plateau_patience)]
    return []
