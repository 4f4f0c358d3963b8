"""ferkit.data loads lazily: its sources, images, cleaning and synthetic parts import no
TensorFlow, and every name it exported before still resolves as ferkit.data.<name>."""
from __future__ import annotations

import subprocess
import sys

import pytest

import ferkit.data

#: Names whose modules build Keras layers or tf.data pipelines.
TENSORFLOW_NAMES = {"build_augmenter", "make_dataset", "targets"}

CHECK = """
import sys
import ferkit.data.cleaning, ferkit.data.images, ferkit.data.inspect, ferkit.data.sources
import ferkit.data.splits, ferkit.data.synthetic
import ferkit.data as data
light = [name for name in data.__all__ if name not in {tensorflow_names!r}]
values = [getattr(data, name) for name in light]
print("tensorflow before:", "tensorflow" in sys.modules or "keras" in sys.modules)
data.make_dataset
print("tensorflow after:", "tensorflow" in sys.modules)
"""


def test_light_parts_import_without_tensorflow_until_a_pipeline_name_is_used():
    code = CHECK.format(tensorflow_names=TENSORFLOW_NAMES)
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "tensorflow before: False" in result.stdout, result.stdout
    assert "tensorflow after: True" in result.stdout, result.stdout


def test_the_names_exported_before_the_split_are_all_still_there():
    before = {
        "AugmentConfig", "build_augmenter", "CKPlusFormatError", "load_ckplus", "read_images",
        "CKPLUS7", "CKPLUS_EMOTIONS", "FER2013_EMOTIONS", "HIGH_LEVEL", "make_dataset",
        "targets", "Samples", "assert_disjoint", "group_split", "shared_groups",
        "load_filename_dataset", "load_manifest", "parse_filename_attributes",
        "load_class_folders", "merge_samples", "sample_per_class", "kfold", "split_report",
        "stratified_split", "Standardizer", "crop_faces", "detect_faces", "drop_duplicates",
        "duplicate_report", "find_duplicates", "image_hashes", "minmax_normalize", "resize",
        "to_grayscale", "to_rgb", "with_duplicate_groups", "FERPLUS_EMOTIONS", "load_fer2013",
        "load_ferplus", "load_ferplus_rules", "load_vote_rules",
    }
    assert before <= set(ferkit.data.__all__)
    assert ferkit.data.load_fer2013.__module__ == "ferkit.data.sources.fer2013"
    assert ferkit.data.resize.__module__ == "ferkit.data.cleaning.normalise"


def test_an_unknown_name_is_an_attribute_error():
    with pytest.raises(AttributeError, match="ferkit.data' has no attribute 'load_everything'"):
        ferkit.data.load_everything
