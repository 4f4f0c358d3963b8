"""Data sources: each dataset's on-disk format read into :class:`~ferkit.data.samples.Samples`.

One module per format: :mod:`~ferkit.data.sources.ckplus` (CK+ tree and CK+48),
:mod:`~ferkit.data.sources.fer2013` (the FER2013 csv), :mod:`~ferkit.data.sources.ferplus`
(Microsoft's FER+ votes and label modes), :mod:`~ferkit.data.sources.vote_rules` (the
vote-rule language), :mod:`~ferkit.data.sources.folders` (class folders),
:mod:`~ferkit.data.sources.filenames` (labels in file names, csv manifests) and
:mod:`~ferkit.data.sources.merge` (per-class subsets, several sources in one taxonomy).
:func:`read_images` decodes file-based samples through :mod:`ferkit.data.images`, and
:func:`load_from_config` loads a config's ``data:`` section, writing a synthetic stand-in
in the source's own format when ``data.path`` is empty.
"""
from ferkit.data.sources.ckplus import (
    detect_layout, load_ckplus, parse_emotion_file, parse_facs_file, parse_landmarks_file,
)
from ferkit.data.sources.common import LabelMap, SkippedItemsWarning
from ferkit.data.sources.decode import read_images
from ferkit.data.sources.fer2013 import USAGE_TO_SPLIT, load_fer2013, parse_pixels
from ferkit.data.sources.ferplus import (
    FERPLUS_EMOTIONS, FERPLUS_MODES, FERPLUS_VOTE_COLUMNS, FERPLUS_VOTE_TARGETS,
    add_ferplus_votes, draw_hard_targets, drop_single_votes, ferplus_targets, load_ferplus,
    mix_ferplus_targets, read_ferplus_votes, soft_targets, target_columns,
)
from ferkit.data.sources.filenames import (
    FANE_TEMPLATE, FilenameTemplate, compile_template, load_filename_dataset, load_manifest,
    parse_filename_attributes,
)
from ferkit.data.sources.folders import SPLIT_FOLDERS, load_class_folders
from ferkit.data.sources.from_config import load_from_config, synthesise
from ferkit.data.sources.merge import merge_samples, sample_per_class
from ferkit.data.sources.vote_rules import (
    RuleSource, VoteCondition, VoteRule, VoteRules, apply_vote_rules, load_ferplus_rules,
    load_vote_rules, parse_vote_rules,
)

__all__ = [
    "detect_layout", "load_ckplus", "parse_emotion_file", "parse_facs_file",
    "parse_landmarks_file", "LabelMap", "SkippedItemsWarning", "read_images", "USAGE_TO_SPLIT",
    "load_fer2013", "parse_pixels", "FERPLUS_EMOTIONS", "FERPLUS_MODES", "FERPLUS_VOTE_COLUMNS",
    "FERPLUS_VOTE_TARGETS", "add_ferplus_votes", "draw_hard_targets", "drop_single_votes",
    "ferplus_targets", "load_ferplus", "mix_ferplus_targets", "read_ferplus_votes",
    "soft_targets", "target_columns", "FANE_TEMPLATE", "FilenameTemplate", "compile_template",
    "load_filename_dataset", "load_manifest", "parse_filename_attributes", "SPLIT_FOLDERS",
    "load_class_folders", "load_from_config", "synthesise", "merge_samples", "sample_per_class",
    "RuleSource", "VoteCondition", "VoteRule", "VoteRules", "apply_vote_rules",
    "load_ferplus_rules", "load_vote_rules", "parse_vote_rules",
]
