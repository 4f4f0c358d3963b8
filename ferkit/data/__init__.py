"""Data: sources into :class:`Samples`, leakage-free splits, and tf.data pipelines.

Names load lazily (PEP 562): ``import ferkit.data.images`` or ``ferkit.data.sources`` pulls in
NumPy, pandas and OpenCV only, and TensorFlow/Keras load the first time a pipeline or
augmentation name (``make_dataset``, ``targets``, ``build_augmenter``) is used.

Subpackages: :mod:`~ferkit.data.sources` (every on-disk format),
:mod:`~ferkit.data.cleaning` (duplicates, pixel preprocessing, face crops),
:mod:`~ferkit.data.synthetic` (generated faces in real formats) and :mod:`~ferkit.data.tfds`;
modules: :mod:`~ferkit.data.images` (the one decode/convert/resize path),
:mod:`~ferkit.data.samples`, :mod:`~ferkit.data.labels`, :mod:`~ferkit.data.splits`,
:mod:`~ferkit.data.augment`, :mod:`~ferkit.data.pipeline`, :mod:`~ferkit.data.inspect` and
:mod:`~ferkit.data.plots`.
"""
from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

#: Each exported name and the module it comes from.
_EXPORTS: dict[str, str] = {
    **dict.fromkeys(["AugmentConfig"], "ferkit.config"),
    **dict.fromkeys(["CKPlusFormatError"], "ferkit.errors"),
    **dict.fromkeys(["build_augmenter"], "ferkit.data.augment"),
    **dict.fromkeys(["make_dataset", "targets"], "ferkit.data.pipeline"),
    **dict.fromkeys(["Samples"], "ferkit.data.samples"),
    **dict.fromkeys(["CKPLUS7", "CKPLUS_EMOTIONS", "FER2013_EMOTIONS", "HIGH_LEVEL"],
                    "ferkit.data.labels"),
    **dict.fromkeys(["assert_disjoint", "group_split", "kfold", "shared_groups", "split_report",
                     "stratified_split"], "ferkit.data.splits"),
    **dict.fromkeys(["Standardizer", "crop_faces", "detect_faces", "drop_duplicates",
                     "duplicate_report", "find_duplicates", "image_hashes", "minmax_normalize",
                     "resize", "to_grayscale", "to_rgb", "with_duplicate_groups"],
                    "ferkit.data.cleaning"),
    **dict.fromkeys(["FERPLUS_EMOTIONS", "load_ckplus", "load_class_folders", "load_fer2013",
                     "load_ferplus", "load_ferplus_rules", "load_filename_dataset",
                     "load_manifest", "load_vote_rules", "merge_samples",
                     "parse_filename_attributes", "read_images", "sample_per_class"],
                    "ferkit.data.sources"),
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    """Import an exported name's module on first use (and cache the name here)."""
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'ferkit.data' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))


if TYPE_CHECKING:  # static checkers and IDEs see the names eagerly
    from ferkit.config import AugmentConfig
    from ferkit.data.augment import build_augmenter
    from ferkit.data.cleaning import (
        Standardizer, crop_faces, detect_faces, drop_duplicates, duplicate_report,
        find_duplicates, image_hashes, minmax_normalize, resize, to_grayscale, to_rgb,
        with_duplicate_groups,
    )
    from ferkit.data.labels import CKPLUS7, CKPLUS_EMOTIONS, FER2013_EMOTIONS, HIGH_LEVEL
    from ferkit.data.pipeline import make_dataset, targets
    from ferkit.data.samples import Samples
    from ferkit.data.sources import (
        FERPLUS_EMOTIONS, load_ckplus, load_class_folders, load_fer2013, load_ferplus,
        load_ferplus_rules, load_filename_dataset, load_manifest, load_vote_rules,
        merge_samples, parse_filename_attributes, read_images, sample_per_class,
    )
    from ferkit.data.splits import (
        assert_disjoint, group_split, kfold, shared_groups, split_report, stratified_split,
    )
    from ferkit.errors import CKPlusFormatError
