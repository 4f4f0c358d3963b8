"""``SyntheticFaces``: a seeded population of subjects that draws labelled images and
CK+-style sequences."""
from __future__ import annotations

import dataclasses
from typing import Callable, Iterator, Mapping

import numpy as np
import pandas as pd

from ferkit.data.labels import CKPLUS_EMOTIONS, HIGH_LEVEL_OF, au_column
from ferkit.data.synthetic.config import SyntheticConfig
from ferkit.data.synthetic.render import render_face
from ferkit.data.synthetic.sampling import (Expression, Identity, Nuisance, sample_expression,
                                            sample_identity, sample_nuisance)
from ferkit.data.synthetic.vocabulary import AUS, FIRST_SUBJECT


def _quota(weights: Mapping[str, float], n: int) -> list[str]:
    """``n`` group names in the given proportions, rounded by largest remainder."""
    names = list(weights)
    share = np.array([weights[name] for name in names]) / sum(weights.values()) * n
    counts = np.floor(share).astype(int)
    for k in np.argsort(-(share - counts), kind="stable")[: n - counts.sum()]:
        counts[k] += 1
    return [name for name, count in zip(names, counts) for _ in range(count)]


def _combined_difficulty(identity: Identity,
                         difficulty: Mapping[str, Mapping[str, float]]) -> float:
    """``1 - prod(1 - d)`` over the identity's groups that have a difficulty ``d``."""
    keep = 1.0
    for attribute, groups in difficulty.items():
        keep *= 1.0 - groups.get(getattr(identity, attribute), 0.0)
    return 1.0 - keep


def _weighted_picker(weights: Mapping[str, float]) -> Callable[[np.random.Generator], str]:
    """A function drawing one name with probability proportional to its weight."""
    names = [name for name, weight in weights.items() if weight > 0]
    cumulative = np.cumsum([weights[name] for name in names])

    def pick(rng: np.random.Generator) -> str:
        k = int(np.searchsorted(cumulative, rng.random() * cumulative[-1], side="right"))
        return names[min(k, len(names) - 1)]

    return pick


class SyntheticFaces:
    """A seeded population of synthetic subjects that draws labelled face images.

    Subjects (``S501``, ``S502``, ...) are created once from the seed, with attribute
    groups assigned by quota so the subject population matches ``attribute_proportions``
    exactly (up to rounding). Successive ``sample`` calls continue one random stream, so a
    fresh object with the same seed and config replays the same images.
    """

    def __init__(self, config: SyntheticConfig | None = None, seed: int = 0):
        self.config = config or SyntheticConfig()
        self.seed = seed
        self._rng = np.random.default_rng([seed, 1])
        self.subjects: list[Identity] = self._make_subjects(self.config.n_subjects)

    def _make_subjects(self, n: int) -> list[Identity]:
        rng = np.random.default_rng([self.seed, 0])
        groups = {}
        for attribute, weights in self.config.attribute_proportions.items():
            names = _quota(weights, n)
            groups[attribute] = [names[k] for k in rng.permutation(n)]
        return [sample_identity(f"S{FIRST_SUBJECT + k:03d}",
                                {attribute: groups[attribute][k] for attribute in groups}, rng)
                for k in range(n)]

    def subject_frame(self) -> pd.DataFrame:
        """One row per subject: subject, skin_tone, age_group, gender."""
        return pd.DataFrame([s.attributes() for s in self.subjects])

    def difficulty_of(self, identity: Identity) -> float:
        """Combined group difficulty of a subject under this config."""
        return _combined_difficulty(identity, self.config.group_difficulty)

    def _emotion_picker(self, include_neutral: bool) -> Callable[[np.random.Generator], str]:
        weights = dict(self.config.emotion_proportions)
        if not include_neutral:
            weights["neutral"] = 0.0
        if sum(weights.values()) <= 0:
            raise ValueError("emotion_proportions: no non-neutral emotion has a positive weight")
        return _weighted_picker(weights)

    def render(self, expression: Expression, identity: Identity, nuisance: Nuisance,
               seed: int, strength: float = 1.0, noise_seed: int | None = None) -> np.ndarray:
        """Draw ``expression`` at ``strength`` (0..1 of its intensities) on ``identity``."""
        aus = {au: value * strength for au, value in expression.intensities.items()}
        return render_face(aus, identity, nuisance, self.config.size, seed,
                           unilateral=expression.unilateral,
                           difficulty=self.difficulty_of(identity),
                           internal_scale=self.config.internal_scale, noise_seed=noise_seed)

    def sample(self, n: int) -> tuple[np.ndarray, pd.DataFrame]:
        """Draw ``n`` labelled faces: uint8 images ``(n, H, W)`` and one frame row each."""
        if n < 0:
            raise ValueError(f"n must be >= 0, got {n}")
        size = self.config.size
        images = np.empty((n, size, size), np.uint8)
        pick_emotion = self._emotion_picker(include_neutral=True)
        rows = []
        for k in range(n):
            identity = self.subjects[int(self._rng.integers(len(self.subjects)))]
            expression = sample_expression(pick_emotion(self._rng), self.config, self._rng)
            nuisance = sample_nuisance(self.config, self._rng)
            seed = int(self._rng.integers(2 ** 31))
            images[k] = self.render(expression, identity, nuisance, seed)
            rows.append(_row(expression, identity))
        return images, _frame(rows)

    def sequences(self, sequences_per_subject: int, frames: int
                  ) -> Iterator[tuple[Identity, int, Expression, list[np.ndarray]]]:
        """CK+-style sequences: per subject and sequence, frames ramping from neutral to peak.

        Yields ``(identity, sequence_number, expression, frames)``. Identity, nuisance and
        scene (clutter, occluder) stay fixed within a sequence; each frame adds a little head
        jitter and fresh pixel noise.
        """
        if frames < 2:
            raise ValueError(f"frames_per_sequence must be >= 2 (neutral + peak), got {frames}")
        pick_emotion = self._emotion_picker(include_neutral=False)
        for identity in self.subjects:
            for number in range(1, sequences_per_subject + 1):
                expression = sample_expression(pick_emotion(self._rng), self.config, self._rng)
                nuisance = sample_nuisance(self.config, self._rng)
                seed = int(self._rng.integers(2 ** 31))
                images = [self.render(expression, identity, _jitter(nuisance, seed, step), seed,
                                      strength=step / (frames - 1), noise_seed=seed + step)
                          for step in range(frames)]
                yield identity, number, expression, images


def _jitter(nuisance: Nuisance, seed: int, step: int) -> Nuisance:
    """The sequence's nuisance with a small per-frame head movement (none at frame 0)."""
    if step == 0 or nuisance == Nuisance():
        return nuisance
    wobble = np.random.default_rng([seed, step]).uniform(-1.0, 1.0, size=3)
    return dataclasses.replace(nuisance, roll_degrees=nuisance.roll_degrees + 0.6 * wobble[0],
                               shift_x=nuisance.shift_x + 0.004 * wobble[1],
                               shift_y=nuisance.shift_y + 0.004 * wobble[2])


def _row(expression: Expression, identity: Identity) -> dict:
    name = expression.emotion
    row = {"emotion": CKPLUS_EMOTIONS.index(name), "emotion_name": name,
           "high_level": HIGH_LEVEL_OF.get(name, "neutral")}
    row.update({au_column(au): int(expression.intensities.get(au, 0.0) > 0) for au in AUS})
    row.update(identity.attributes())
    return row


def _frame(rows: list[dict]) -> pd.DataFrame:
    columns = (["emotion", "emotion_name", "high_level"] + [au_column(au) for au in AUS]
               + ["subject", "skin_tone", "age_group", "gender"])
    frame = pd.DataFrame(rows, columns=columns)
    return frame.astype({"emotion": "int64", **{au_column(au): "int64" for au in AUS}})
