"""``FerHyperModel``: a KerasTuner HyperModel for any ferkit model family.

A trial is the configured run with the trial's values filled in
(:meth:`FerHyperModel.trial_config`), built, compiled and trained through
:mod:`ferkit.training.engine` exactly as ``ferkit train`` trains that config: the same model
sizing, datasets, precision policy, optimiser, loss weights and callbacks. ``build(hp)``
returns the compiled model; ``fit(hp, model, samples)`` trains it (or, with ``model=None``,
the one the engine builds, which is how :class:`~ferkit.tuning.tuner.CrossValidatedTuner`
runs a fold) on the ``train`` rows of one fold with early stopping on ``val`` and returns the
scores on the fold's held-out ``test`` rows, named as Keras names validation logs
(``val_loss``, ``val_emotion_accuracy``, ``val_au_f1``, ...).
"""
from __future__ import annotations

import dataclasses
from typing import Mapping, Sequence

import keras
import keras_tuner
import numpy as np

from ferkit.config import Config, ModelConfig
from ferkit.config.space import HpSpec
from ferkit.data import Samples, make_dataset
from ferkit.training import engine
from ferkit.training.compile import head_losses_and_metrics, head_names
from ferkit.tuning.families import Family, builder_kwargs, family_for, resolve_space

#: Hyperband's own hyperparameter holding a trial's epoch budget.
HYPERBAND_EPOCHS = "tuner/epochs"
#: Builder arguments that come from the data, not from the search.
DATA_ARGUMENTS = ("input_shape", "num_classes", "num_aus", "ferplus_classes")


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
            builders with an AU head); ``input_shape`` sets the config's image size and
            channels.
        space: ``name -> HpSpec``; default: the family's default space.
        train_rows: training images per fold, for the steps of the schedule ``build`` compiles
            with (``fit`` compiles again with the fold's own count).
    """

    def __init__(self, config: Config, input_shape: Sequence[int], num_classes: int,
                 num_aus: int = 0, space: Mapping[str, HpSpec] | None = None,
                 tuner: str = "random", train_rows: int = 512):
        self.family: Family = family_for(config.model.name)
        super().__init__(name=f"ferkit_{self.family.name}")
        height, width, channels = (int(v) for v in input_shape)
        self.config = dataclasses.replace(config, data=dataclasses.replace(
            config.data, image_size=[height, width], channels=channels))
        self.input_shape = (height, width, channels)
        self.sizes = engine.HeadSizes(int(num_classes), int(num_aus))
        self.space = dict(space) if space is not None else resolve_space(self.family, None, tuner)
        self.train_rows = int(train_rows)

    @property
    def num_classes(self) -> int:
        return self.sizes.classes

    @property
    def num_aus(self) -> int:
        return self.sizes.aus

    # ------------------------------------------------------------------ values
    def values(self, hp: keras_tuner.HyperParameters) -> dict:
        """Declare every hyperparameter of the space on ``hp``; return name -> value."""
        return {name: spec.declare(hp) for name, spec in self.space.items()}

    def model_kwargs(self, values: Mapping) -> tuple[str, dict]:
        """The builder name and all its arguments (the data's, as the engine sizes them,
        included) for these hyperparameter values."""
        builder, kwargs = builder_kwargs(self.config.model.name, self.config.model.args)
        kwargs.update(engine.model_arguments(self.config, self.sizes))
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

    def trial_config(self, hp: keras_tuner.HyperParameters) -> Config:
        """The config a trial trains: the model's builder with the trial's arguments (the
        data's left to the engine) and the trial's training settings."""
        builder, kwargs = self.model_kwargs(self.values(hp))
        args = {k: v for k, v in kwargs.items() if k not in DATA_ARGUMENTS + ("name",)}
        return dataclasses.replace(self.config, model=ModelConfig(builder, args),
                                   train=self.train_config(hp))

    # ------------------------------------------------------------------ KerasTuner API
    def declare_hyperparameters(self, hp: keras_tuner.HyperParameters) -> None:
        self.values(hp)

    def build(self, hp: keras_tuner.HyperParameters) -> keras.Model:
        """The trial's model, built and compiled by the training engine."""
        config = self.trial_config(hp)
        steps = engine.steps_per_epoch(self.train_rows, config.train.batch_size)
        return engine.build_compiled_model(config, self.sizes, steps)

    def train(self, hp: keras_tuner.HyperParameters, samples: Samples,
              model: keras.Model | None = None, verbose: int = 0,
              seed: int | None = None) -> engine.TrainOutcome:
        """Train on ``samples``' ``train`` rows, stopping early on ``val``: the engine's
        :func:`~ferkit.training.engine.train` of :meth:`trial_config`, without a run directory.
        Without a ``model`` the engine builds the trial's, seeded, as ``ferkit train`` does."""
        return engine.train(self.trial_config(hp), samples, None, model=model, seed=seed,
                            verbose=verbose)

    def fit(self, hp: keras_tuner.HyperParameters, model: keras.Model | None, samples: Samples,
            verbose: int = 0, seed: int | None = None, **_) -> dict[str, float]:
        """:meth:`train` on one fold, then the scores on its ``test`` rows."""
        outcome = self.train(hp, samples, model, verbose, seed)
        heads = head_names(outcome.model)
        test = make_dataset(samples.split("test"), batch_size=outcome.config.train.batch_size,
                            heads=heads)
        logs = outcome.model.evaluate(test, verbose=0, return_dict=True)
        return name_scores(logs, heads)


# --------------------------------------------------------------------------- best config
def _yaml_ready(value):
    if isinstance(value, tuple):
        return [_yaml_ready(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value


def best_config(config: Config, hypermodel: FerHyperModel, values: dict) -> Config:
    """``config`` with the best trial's values: changed builder arguments in ``model.args``,
    learning rate / batch size / epochs in ``train``; ``tune`` dropped."""
    model_values = {k: v for k, v in values.items() if k in hypermodel.family.hyperparameters}
    _, before = builder_kwargs(config.model.name, config.model.args)
    _, after = hypermodel.model_kwargs(model_values)
    changed = {k: _yaml_ready(v) for k, v in after.items()
               if k not in DATA_ARGUMENTS and before.get(k) != v}
    train = {k: _yaml_ready(values[k]) for k in ("learning_rate", "batch_size", "epochs")
             if k in values}
    if HYPERBAND_EPOCHS in values:
        train["epochs"] = int(values[HYPERBAND_EPOCHS])
    if "learning_rate" in train:
        train["learning_rate"] = float(train["learning_rate"])
    return dataclasses.replace(
        config, name=f"{config.name}_best", tune=None,
        model=ModelConfig(config.model.name, {**config.model.args, **changed}),
        train=dataclasses.replace(config.train, **train))
