"""The emotion head most builders end with: optional dropout, then a float32 softmax."""
from __future__ import annotations

import keras


def emotion_head(features, num_classes: int, dropout: float = 0.0):
    """``Dropout(dropout)`` (when > 0) and ``Dense(num_classes, softmax)`` named ``emotion``.

    The softmax runs in float32 so mixed-precision models still output float32 probabilities.
    """
    if dropout:
        features = keras.layers.Dropout(dropout, name="dropout")(features)
    return keras.layers.Dense(num_classes, activation="softmax", dtype="float32",
                              name="emotion")(features)
