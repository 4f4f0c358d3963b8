"""Data: sources into :class:`Samples`, leakage-free splits, and tf.data pipelines."""
from ferkit.data.augment import AugmentConfig, build_augmenter
from ferkit.data.cleaning import (
    Standardizer, crop_faces, detect_faces, drop_duplicates, duplicate_report, find_duplicates,
    image_hashes, minmax_normalize, resize, to_grayscale, to_rgb, with_duplicate_groups,
)
from ferkit.data.ckplus import CKPlusFormatError, load_ckplus, read_images
from ferkit.data.fer2013 import (
    FERPLUS_EMOTIONS, load_fer2013, load_ferplus, load_ferplus_rules, load_vote_rules,
)
from ferkit.data.filenames import load_filename_dataset, load_manifest, parse_filename_attributes
from ferkit.data.folders import load_class_folders, merge_samples, sample_per_class
from ferkit.data.labels import CKPLUS7, CKPLUS_EMOTIONS, FER2013_EMOTIONS, HIGH_LEVEL
from ferkit.data.pipeline import make_dataset, targets
from ferkit.data.samples import Samples
from ferkit.data.splits import (
    assert_disjoint, group_split, kfold, shared_groups, split_report, stratified_split,
)

__all__ = [
    "AugmentConfig", "build_augmenter", "CKPlusFormatError", "load_ckplus", "read_images",
    "CKPLUS7", "CKPLUS_EMOTIONS", "FER2013_EMOTIONS", "HIGH_LEVEL", "make_dataset", "targets",
    "Samples", "assert_disjoint", "group_split", "shared_groups", "load_filename_dataset",
    "load_manifest", "parse_filename_attributes", "load_class_folders", "merge_samples",
    "sample_per_class", "kfold", "split_report", "stratified_split", "Standardizer",
    "crop_faces", "detect_faces", "drop_duplicates", "duplicate_report", "find_duplicates",
    "image_hashes", "minmax_normalize", "resize", "to_grayscale", "to_rgb",
    "with_duplicate_groups", "FERPLUS_EMOTIONS", "load_fer2013", "load_ferplus",
    "load_ferplus_rules", "load_vote_rules",
]
