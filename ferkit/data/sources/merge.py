"""Seeded per-class subsets and merging several sources into one taxonomy."""
from __future__ import annotations

import warnings
import zlib
from typing import Sequence

import numpy as np
import pandas as pd

from ferkit.data.samples import Samples


def _group_rng(seed: int, key: str) -> np.random.Generator:
    """A generator that depends only on ``seed`` and the group, not on the other groups."""
    return np.random.default_rng([seed, zlib.crc32(key.encode("utf-8"))])


def sample_per_class(samples: Samples, limit: int, seed: int = 0) -> Samples:
    """At most ``limit`` seeded-random rows per class (per split and class if ``split`` exists).

    Classes with fewer rows keep them all, with a warning. Rows keep their original order,
    and each class's pick depends only on ``seed`` and that class's rows.
    """
    return pick_per_class(samples, limit, seed, stacklevel=3)


def pick_per_class(samples: Samples, limit: int, seed: int, stacklevel: int) -> Samples:
    if not isinstance(limit, (int, np.integer)) or limit < 1:
        raise ValueError(f"limit_per_class must be a whole number >= 1, got {limit!r}")
    if not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a whole number >= 0, got {seed!r}")
    keys = [samples.frame["split"].astype(str)] if "split" in samples.frame.columns else []
    groups = samples.frame.groupby(keys + [samples.frame["label"]], sort=True).indices
    keep, short = [], []
    for key, rows in groups.items():
        key = key if isinstance(key, tuple) else (key,)
        name = "/".join(map(str, key[:-1] + (samples.classes[key[-1]],)))
        if len(rows) <= limit:
            short += [f"{name} ({len(rows)})"] if len(rows) < limit else []
            keep.append(rows)
            continue
        keep.append(np.sort(_group_rng(int(seed), name).choice(rows, size=limit, replace=False)))
    if short:
        warnings.warn(f"{samples.source}: fewer than {limit} images, all kept: {', '.join(short)}",
                      stacklevel=stacklevel)
    return samples.subset(np.sort(np.concatenate(keep)))


def merge_samples(*samples: Samples, classes: Sequence[str] | None = None,
                  names: Sequence[str] | None = None) -> Samples:
    """Merge several sources into one taxonomy, aligning classes by name.

    Args:
        samples: the sources, each with its own ``classes``.
        classes: the merged class order; default: classes in order of first appearance.
            A source class missing from it is an error (map or subset the source first).
        names: the ``source`` column value of each source; default: each ``Samples.source``.
            Rows that already have a ``source`` column (an earlier merge) keep it.

    Sources must either all carry decoded ``images`` of one shape, or all be file-based.
    Action units are kept when every source encodes them; the others are reported.
    """
    if not samples:
        raise ValueError("merge_samples needs at least one Samples")
    names = _source_names(samples, names)
    merged_classes = _merged_classes(samples, names, classes)
    frames = [_relabelled(s, name, merged_classes) for s, name in zip(samples, names)]
    images = _merged_images(samples, names)
    frames = _offset_image_index(samples, frames) if images is not None else \
        [frame.drop(columns="image_index", errors="ignore") for frame in frames]
    aus = _common_aus(samples, names)
    frame = pd.concat(frames, ignore_index=True)
    return Samples(frame=frame, classes=merged_classes, images=images, aus=aus,
                   source=" + ".join(dict.fromkeys(names)),
                   skipped=tuple(item for s in samples for item in s.skipped))


def _source_names(samples: Sequence[Samples], names: Sequence[str] | None) -> list[str]:
    if names is None:
        names = [s.source or f"source {i}" for i, s in enumerate(samples)]
    names = list(names)
    if len(names) != len(samples):
        raise ValueError(f"names has {len(names)} entries for {len(samples)} sources")
    unlabelled = [n for s, n in zip(samples, names) if "source" not in s.frame.columns]
    repeated = sorted({n for n in unlabelled if unlabelled.count(n) > 1})
    if repeated:
        raise ValueError(f"sources {repeated} share a name; pass names=[...] or source_name= to "
                         f"tell them apart in the 'source' column")
    return names


def _merged_classes(samples, names, classes) -> tuple[str, ...]:
    if classes is None:
        return tuple(dict.fromkeys(c for s in samples for c in s.classes))
    classes = tuple(classes)
    for s, name in zip(samples, names):
        used = {s.classes[i] for i in np.unique(s.labels)}
        missing = sorted(used - set(classes))
        if missing:
            raise ValueError(f"merge_samples: source {name!r} has classes {missing} that are not in "
                             f"classes {list(classes)}; relabel or subset it first")
    return classes


def _relabelled(samples: Samples, name: str, classes: tuple[str, ...]) -> pd.DataFrame:
    index = {c: i for i, c in enumerate(classes)}
    lookup = np.array([index.get(c, -1) for c in samples.classes], dtype="int64")
    frame = samples.frame.copy()
    frame["label"] = lookup[samples.labels]
    if "source" not in frame.columns:
        frame["source"] = name
    return frame


def _merged_images(samples, names) -> np.ndarray | None:
    """All sources' decoded images stacked, or None when every source is file-based."""
    loaded = [s.images is not None for s in samples]
    if not any(loaded):
        return None
    if not all(loaded):
        without = [n for n, has in zip(names, loaded) if not has]
        raise ValueError(f"merge_samples: sources {without} have no decoded images while others do; "
                         f"call read_images() on every source (same size) or on none")
    shapes = {n: s.images.shape[1:] for s, n in zip(samples, names)}
    if len(set(shapes.values())) > 1:
        raise ValueError(f"merge_samples: image shapes differ between sources: {shapes}")
    return np.concatenate([s.images for s in samples])


def _offset_image_index(samples, frames) -> list[pd.DataFrame]:
    """Point each source's ``image_index`` into the stacked image array."""
    starts = np.cumsum([0] + [len(s.images) for s in samples[:-1]])
    return [frame.assign(image_index=frame["image_index"].to_numpy(dtype="int64") + start)
            for frame, start in zip(frames, starts)]


def _common_aus(samples, names) -> tuple[int, ...]:
    common = [a for a in samples[0].aus if all(a in s.aus for s in samples[1:])]
    dropped = {n: sorted(set(s.aus) - set(common)) for s, n in zip(samples, names)}
    dropped = {n: aus for n, aus in dropped.items() if aus}
    if dropped:
        warnings.warn(f"merge_samples: action units not encoded by every source are no longer "
                      f"targets (their columns stay in the frame): {dropped}", stacklevel=3)
    return tuple(common)
