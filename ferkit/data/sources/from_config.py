"""``load_from_config``: the configured source (or its synthetic stand-in) as Samples with images.

With ``data.path`` empty, synthetic faces are first written in the source's own on-disk
format, so the real loader is exercised either way.
"""
from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np

from ferkit.data import synthetic
from ferkit.data.images import fit_image
from ferkit.data.samples import Samples
from ferkit.data.sources.ckplus import load_ckplus
from ferkit.data.sources.decode import read_images
from ferkit.data.sources.fer2013 import load_fer2013
from ferkit.data.sources.ferplus import add_ferplus_votes, load_ferplus, mix_ferplus_targets
from ferkit.data.sources.filenames import load_filename_dataset, load_manifest
from ferkit.data.sources.folders import load_class_folders
from ferkit.data.sources.vote_rules import load_ferplus_rules
from ferkit.errors import ConfigError

FERPLUS_VOTES = "fer2013new.csv"


def synthesise(data, root: Path, seed: int) -> Path:
    """Write synthetic data for ``data.source`` under ``root`` and return the path to load."""
    spec = data.synthetic
    if data.source == "ckplus":
        return synthetic.write_ckplus(root, n_subjects=spec.subjects,
                                      sequences_per_subject=spec.sequences_per_subject,
                                      frames_per_sequence=spec.frames_per_sequence, seed=seed,
                                      layout=spec.layout)
    if data.source in ("fer2013", "ferplus"):
        return synthetic.write_fer2013(root, n=spec.images, seed=seed,
                                       n_subjects=spec.subjects).parent
    if data.source in ("folders", "filenames"):
        if not spec.classes:
            raise ValueError("data.synthetic.classes must map each class folder to a synthetic "
                             f"emotion ({', '.join(synthetic.EMOTION_PROTOTYPES)}) for source "
                             f"{data.source!r} without data.path")
        _check_synthetic_emotions(spec.classes)
        per_class = max(2, spec.images // len(spec.classes))
        return synthetic.write_class_folders(root, spec.classes, per_class,
                                             size=max(data.image_size), seed=seed,
                                             n_subjects=spec.subjects)
    raise ValueError(f"data.source {data.source!r} needs data.path (no synthetic stand-in)")


def _check_synthetic_emotions(classes: dict[str, str]) -> None:
    """Each class folder is drawn with a known synthetic emotion, or the key is named."""
    known = list(synthetic.EMOTION_PROTOTYPES)
    for folder, emotion in classes.items():
        if emotion not in known:
            raise ConfigError(f"data.synthetic.classes.{folder} {emotion!r} is not one of {known} "
                              "(the synthetic emotions a class folder can be drawn with)")


def _fer_csv(path: Path) -> Path:
    if path.is_file():
        return path
    for name in ("fer2013.csv.gz", "fer2013.csv"):
        if (path / name).is_file():
            return path / name
    raise FileNotFoundError(f"{path}: no fer2013.csv or fer2013.csv.gz in this folder")


def _votes_beside(csv: Path, option: str) -> Path:
    """``fer2013new.csv`` next to the FER2013 CSV, or an error that says which option needs it."""
    votes = csv.parent / FERPLUS_VOTES
    if not votes.is_file():
        off = "false" if option == "data.ferplus_aux" else "0"
        raise FileNotFoundError(f"{option} reads the FER+ votes from {votes}, which does not "
                                f"exist: put Microsoft's {FERPLUS_VOTES} beside {csv.name}, "
                                f"or set {option}={off}")
    return votes


def _load(data, path: Path) -> Samples:
    if data.source == "ckplus":
        return load_ckplus(path, labels=data.labels, n_peak=data.n_peak, aus=data.aus,
                           min_au_count=data.min_au_count)
    if data.source == "fer2013":
        csv = _fer_csv(path)
        samples = load_fer2013(csv)
        if data.ferplus_mix:
            samples = mix_ferplus_targets(samples, _votes_beside(csv, "data.ferplus_mix"),
                                          data.ferplus_mix)
        if data.ferplus_aux:
            samples = add_ferplus_votes(samples, _votes_beside(csv, "data.ferplus_aux"))
        return samples
    if data.source == "ferplus":
        csv = _fer_csv(path)
        votes = csv.parent / FERPLUS_VOTES
        if data.ferplus_rules:
            return load_ferplus_rules(csv, votes, data.ferplus_rules)
        return load_ferplus(csv, votes, mode=data.ferplus_mode, eval_mode="majority")
    if data.source == "folders":
        return load_class_folders(path, label_map=data.label_map, classes=data.classes,
                                  limit_per_class=data.limit_per_class)
    if data.source == "filenames":
        return load_filename_dataset(path, template=data.template, label_map=data.label_map,
                                     classes=data.classes)
    return load_manifest(path, label_map=data.label_map, classes=data.classes)


def _fit_images(samples: Samples, size: tuple[int, int], channels: int) -> Samples:
    """In-memory images converted and resized to the configured shape by
    :func:`ferkit.data.images.fit_image`, as every other image ferkit prepares."""
    images = samples.images
    images = images[..., None] if images.ndim == 3 else images
    if images.shape[1:] != (*size, channels):
        fitted = [fit_image(image, size, channels) for image in images]
        images = np.stack(fitted) if fitted else np.empty((0, *size, channels), images.dtype)
    return dataclasses.replace(samples, images=np.ascontiguousarray(images))


def load_from_config(data, workdir: str | Path, seed: int = 0) -> Samples:
    """Load ``data`` (a :class:`ferkit.config.DataConfig`) with images at the configured shape."""
    path = Path(data.path) if data.path else synthesise(data, Path(workdir) / "synthetic_data", seed)
    samples = _load(data, path)
    size, channels = tuple(data.image_size), data.channels
    if samples.images is None:
        return read_images(samples, size, channels, on_unreadable=data.on_unreadable)
    return _fit_images(samples, size, channels)
