"""``FerHyperModel``: a KerasTuner HyperModel for any ferkit model family.

``build(hp)`` declares the search space on ``hp`` and returns the family's model, compiled the
ferkit way (per-head losses and metrics, the configured optimiser at the trial's learning
rate). ``fit(hp, model, samples)`` trains on the ``train`` rows of one fold with early
stopping on ``val`` and returns the scores on the fold's held-out ``test`` rows, named as
Keras names validation logs (``val_loss``, ``val_emotion_accuracy``, ``val_au_f1``, ...).
"""
from __future__ import annotations

import dataclasses
import math
from typing import Mapping, Sequence

import keras
import keras_tuner

from ferkit import models
from ferkit.config import Config
from ferkit.config.space import HpSpec
from ferkit.data.pipeline import make_dataset
from ferkit.data.samples import Samples
from ferkit.training.compile import compile_model, head_losses_and_metrics, head_names
from ferkit.training.experiment import _datasets
from ferkit.training.fit import averaging_callbacks
from ferkit.training.optim import make_optimizer, schedule_callbacks
from ferkit.tuning.families import Family, builder_kwargs, family_for, resolve_space

#: Hyperband's own hyperparameter holding a trial's epoch budget.
HYPERBAND_EPOCHS = "tuner/epochs"


def score_names(heads: Sequence[str]) -> list[str]:
    """Every score a fold reports for a model with these heads, e.g. ``val_emotion_f1``.

    ``val_loss`` is the total loss (L2 penalties included); a model with several heads also
    reports each head's loss (``val_au_loss``).
    """
    _, metrics = head_losses_and_metrics(heads)
    names = ["val_loss"]
    for head in heads:
        if len(heads) > 1:
            names.append(f"val_{head}_loss")
        names += [f"val_{head}_{metric.name}" for metric in metrics[head]]
    return names


def name_scores(logs: Mapping[str, float], heads: Sequence[str]) -> dict[str, float]:
    """Keras' evaluate logs under :func:`score_names` (a one-head model's ``accuracy``
    becomes ``val_emotion_accuracy``, so names do not depend on the head count)."""
    out = {}
    for key, value in logs.items():
        if key != "loss" and len(heads) == 1 and not key.startswith(f"{heads[0]}_"):
            key = f"{heads[0]}_{key}"
        out[f"val_{key}"] = float(value)
    return out


class FerHyperModel(keras_tuner.HyperModel):
    """A tunable ferkit model: ``config.model`` with the values of ``space`` filled in.

    Args:
        config: the experiment config; hyperparameters not in ``space`` keep its values
            (``model.args``, ``train.*``).
        input_shape, num_classes, num_aus: what the data needs (``num_aus`` is used only by
            builders with an AU head).
        space: ``name -> HpSpec``; default: the family's default space.
        train_rows: training images per fold, for per-step learning-rate schedules.
    """

    def __init__(self, config: Config, input_shape: Sequence[int], num_classes: int,
                 num_aus: int = 0, space: Mapping[str, HpSpec] | None = None,
                 tuner: str = "random", train_rows: int = 512):
        self.family: Family = family_for(config.model.name)
        super().__init__(name=f"ferkit_{self.family.name}")
        self.config = config
        self.input_shape = tuple(input_shape)
        self.num_classes = int(num_classes)
        self.num_aus = int(num_aus)
        self.space = dict(space) if space is not None else resolve_space(self.family, None, tuner)
        self.train_rows = int(train_rows)

    # ------------------------------------------------------------------ values
    def values(self, hp: keras_tuner.HyperParameters) -> dict:
        """Declare every hyperparameter of the space on ``hp``; return name -> value."""
        return {name: spec.declare(hp) for name, spec in self.space.items()}

    def model_kwargs(self, values: Mapping) -> tuple[str, dict]:
        """The builder name and its arguments for these hyperparameter values."""
        builder, kwargs = builder_kwargs(self.config.model.name, self.config.model.args)
        kwargs.update(input_shape=self.input_shape, num_classes=self.num_classes)
        if "num_aus" in kwargs:
            kwargs["num_aus"] = self.num_aus
        return builder, self.family.apply(dict(values), kwargs)

    def train_config(self, hp: keras_tuner.HyperParameters):
        """``config.train`` with the trial's learning rate, batch size and epochs."""
        values = {name: hp.get(name) for name in ("learning_rate", "batch_size", "epochs")
                  if name in self.space}
        if HYPERBAND_EPOCHS in hp.values:
            values["epochs"] = int(hp.values[HYPERBAND_EPOCHS])
        if "learning_rate" in values:
            values["learning_rate"] = float(values["learning_rate"])
        return dataclasses.replace(self.config.train, **values)

    # ------------------------------------------------------------------ KerasTuner API
    def declare_hyperparameters(self, hp: keras_tuner.HyperParameters) -> None:
        self.values(hp)

    def build(self, hp: keras_tuner.HyperParameters) -> keras.Model:
        builder, kwargs = self.model_kwargs(self.values(hp))
        kwargs.pop("name", None)  # models.build's own first argument; builders name models
        model = models.build(builder, **kwargs)
        train = self.train_config(hp)
        steps = max(1, math.ceil(self.train_rows / train.batch_size))
        return compile_model(model, train.learning_rate, train.au_loss_weight, train.jit_compile,
                             train.label_smoothing, make_optimizer(train, steps))

    def fit(self, hp: keras_tuner.HyperParameters, model: keras.Model, samples: Samples,
            callbacks: Sequence[keras.callbacks.Callback] = (), verbose: int = 0,
            **_) -> dict[str, float]:
        """Train on ``samples``' ``train`` rows, stop early on ``val``, score on ``test``."""
        train = self.train_config(hp)
        heads = head_names(model)
        config = dataclasses.replace(self.config, train=train)
        train_ds, val_ds, _ = _datasets(config, samples, heads)
        stopper = keras.callbacks.EarlyStopping(monitor="val_loss", patience=train.patience,
                                                restore_best_weights=True)
        model.fit(train_ds, validation_data=val_ds, epochs=train.epochs, verbose=verbose,
                  callbacks=[*averaging_callbacks(model), stopper, *schedule_callbacks(train),
                             *callbacks], shuffle=False)
        test = make_dataset(samples.split("test"), batch_size=train.batch_size, heads=heads)
        logs = model.evaluate(test, verbose=0, return_dict=True)
        return name_scores(logs, heads)
