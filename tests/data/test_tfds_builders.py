"""The TFDS builders of ferkit.data.tfds over the committed dummy manual folders.

TFDS's own DatasetBuilderTestCase checks registration, generation, feature specs, split
sizes and reloading; the pytest tests below check that every stored label, target, vote, AU
vector and pixel equals what the ferkit loaders return on the same files, the errors for
missing manual files, and that the docs' quick start runs. Everything runs offline: TFDS's
GCS look-ups (made by TensorFlow's C++ file system) are disabled by flag and config, and any
Python socket connection fails the test.
"""
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import re  # noqa: E402
import shutil  # noqa: E402
import socket  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import tensorflow_datasets as tfds  # noqa: E402
from tensorflow_datasets.core.utils import gcs_utils  # noqa: E402

gcs_utils._is_gcs_disabled = True  # the default in TFDS 4.9.10; older 4.9 releases probe gs://

import ferkit.data.tfds as ftfds  # noqa: E402
from ferkit.data.sources import (  # noqa: E402
    FERPLUS_EMOTIONS, FERPLUS_VOTE_COLUMNS, load_ckplus, load_fer2013, load_ferplus, read_images,
)
from ferkit.data.labels import HIGH_LEVEL  # noqa: E402

DUMMY = ftfds.DUMMY_DATA_DIR
FER_CSV = DUMMY / "fer2013" / "fer2013.csv.gz"
PLUS_CSV = DUMMY / "ferplus" / "fer2013.csv.gz"
PLUS_VOTES = DUMMY / "ferplus" / "fer2013new.csv"
CK_ROOT = DUMMY / "ckplus"
SPLIT_OF_USAGE = {"Training": "train", "PublicTest": "validation", "PrivateTest": "test"}


@pytest.fixture(autouse=True)
def no_network(monkeypatch):
    """Any attempt to open a network connection fails the test."""
    def refuse(*args, **kwargs):
        raise AssertionError(f"network access attempted: {args[1:] or kwargs}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


def offline(manual_dir):
    return tfds.download.DownloadConfig(manual_dir=str(manual_dir), try_download_gcs=False)


def prepare(cls, data_dir, manual_dir, config=None):
    builder = cls(data_dir=str(data_dir), config=config)
    builder.download_and_prepare(download_config=offline(manual_dir))
    return builder


def examples(builder, split):
    return list(tfds.as_numpy(builder.as_dataset(split=split)))


# --------------------------------------------------------------------- TFDS's own builder tests

try:  # tfds.testing imports `dill`, which TFDS does not install (its test extra does)
    from tensorflow_datasets.testing import dataset_builder_testing as tfds_builder_testing
except ImportError as error:  # pragma: no cover - depends on the environment
    tfds_builder_testing, MISSING = None, f"tfds.testing is unavailable ({error})"
else:
    MISSING = ""
# (the module, not the class, is imported: pytest would collect the bare base class)


if tfds_builder_testing is not None:
    class _BuilderTest(tfds_builder_testing.DatasetBuilderTestCase):
        """TFDS's checks over a dummy manual folder (`manual_dir` is EXAMPLE_DIR)."""

        __test__ = False  # only the subclasses below are tests

    class TestFer2013Builder(_BuilderTest):
        __test__ = True
        DATASET_CLASS = ftfds.FerkitFer2013
        EXAMPLE_DIR = str(DUMMY / "fer2013")
        SPLITS = {"train": 5, "validation": 2, "test": 2}

    class TestFerplusMajorityBuilder(_BuilderTest):
        __test__ = True
        DATASET_CLASS = ftfds.FerkitFerplus
        EXAMPLE_DIR = str(DUMMY / "ferplus")
        BUILDER_CONFIG_NAMES_TO_TEST = ["majority"]
        SPLITS = {"train": 3, "validation": 3}  # the dummy files have no PrivateTest rows

    class TestFerplusProbabilityBuilder(_BuilderTest):
        __test__ = True
        DATASET_CLASS = ftfds.FerkitFerplus
        EXAMPLE_DIR = str(DUMMY / "ferplus")
        BUILDER_CONFIG_NAMES_TO_TEST = ["probability"]
        SPLITS = {"train": 5, "validation": 3}

    class TestCkplusBuilder(_BuilderTest):
        __test__ = True
        DATASET_CLASS = ftfds.FerkitCkplus
        EXAMPLE_DIR = str(CK_ROOT)
        BUILDER_CONFIG_NAMES_TO_TEST = ["ckplus7"]  # 3way: test_ckplus_3way_labels
        SPLITS = {"train": 27}  # 9 labelled sequences x the last 3 frames
else:  # pragma: no cover
    def test_tfds_builder_test_cases():
        pytest.fail(f"{MISSING}; `dill` is in ferkit's test extra: pip install -e '.[test]'")


# --------------------------------------------------------------------- same labels as ferkit

def test_offline_setup_and_registered_names(tmp_path):
    assert gcs_utils._is_gcs_disabled
    assert ftfds.DATASET_NAMES == ("ferkit_fer2013", "ferkit_ferplus", "ferkit_ckplus")
    assert set(ftfds.DATASET_NAMES) <= set(tfds.list_builders(with_community_datasets=False))
    assert isinstance(tfds.builder("ferkit_ferplus/multi_target", data_dir=str(tmp_path)),
                      ftfds.FerkitFerplus)


def test_fer2013_matches_loader(tmp_path):
    builder = prepare(ftfds.FerkitFer2013, tmp_path, DUMMY / "fer2013")
    samples = load_fer2013(FER_CSV)
    frame = samples.frame.set_index("row")
    assert builder.info.features["label"].names == list(samples.classes)
    assert builder.info.supervised_keys == ("image", "label")
    seen = []
    for split in ("train", "validation", "test"):
        for ex in examples(builder, split):
            row = int(ex["row"])
            expected = frame.loc[row]
            assert SPLIT_OF_USAGE[expected["usage"]] == split
            assert ex["usage"].decode() == expected["usage"]
            assert ex["label"] == expected["label"]
            assert ex["image"].shape == (48, 48, 1) and ex["image"].dtype == np.uint8
            image = samples.images[expected["image_index"]]
            np.testing.assert_array_equal(ex["image"][..., 0], image)
            seen.append(row)
    assert sorted(seen) == sorted(frame.index)
    counts = builder.info.metadata["usage_counts"]
    assert counts == {"Training": 5, "PublicTest": 2, "PrivateTest": 2}


@pytest.mark.parametrize("mode,eval_mode", [("majority", None), ("probability", None),
                                            ("multi_target", None), ("crossentropy", "majority")])
def test_ferplus_matches_loader(tmp_path, mode, eval_mode):
    config = mode if eval_mode is None else ftfds.FerplusConfig(
        name=f"{mode}_eval_{eval_mode}", mode=mode, eval_mode=eval_mode)
    builder = prepare(ftfds.FerkitFerplus, tmp_path, DUMMY / "ferplus", config)
    samples = load_ferplus(PLUS_CSV, PLUS_VOTES, mode=mode, eval_mode=eval_mode)
    frame = samples.frame.set_index("row")
    targets = frame[[f"target_{name}" for name in FERPLUS_EMOTIONS]]
    assert builder.info.features["label"].names == list(FERPLUS_EMOTIONS)
    assert builder.info.supervised_keys[1] == ("label" if mode == "majority" else "target")
    assert set(builder.info.splits) == {"train", "validation"}  # no PrivateTest in the files
    assert builder.info.metadata["dropped"] == samples.frame.attrs["dropped"]
    seen = []
    for split in builder.info.splits:
        for ex in examples(builder, split):
            row = int(ex["row"])
            expected = frame.loc[row]
            assert SPLIT_OF_USAGE[expected["usage"]] == split
            assert ex["label"] == expected["label"]
            assert ex["fer2013_label"] == expected["fer2013_label"]
            assert ex["image_name"].decode() == expected["image_name"]
            votes = expected[list(FERPLUS_VOTE_COLUMNS)].to_numpy(int)
            np.testing.assert_array_equal(ex["votes"], votes)
            np.testing.assert_allclose(ex["target"], targets.loc[row].to_numpy(float), atol=1e-6)
            image = samples.images[expected["image_index"]]
            np.testing.assert_array_equal(ex["image"][..., 0], image)
            seen.append(row)
    assert sorted(seen) == sorted(frame.index)


def test_ckplus_matches_loader(tmp_path):
    builder = prepare(ftfds.FerkitCkplus, tmp_path, CK_ROOT)
    samples = read_images(load_ckplus(CK_ROOT, aus=ftfds.CKPLUS_AUS), size=(48, 48))
    frame = samples.frame.assign(image_name=samples.frame["path"].map(lambda p: Path(p).name))
    frame = frame.set_index("image_name")
    au_matrix = dict(zip(frame.index, samples.au_matrix))
    info = builder.info
    assert info.features["emotion"].names == list(samples.classes)
    assert info.features["aus"].shape == (len(ftfds.CKPLUS_AUS),)
    assert info.metadata["aus"] == list(ftfds.CKPLUS_AUS)
    assert ", ".join(map(str, ftfds.CKPLUS_AUS)) in info.description
    assert info.metadata["aus_outside_list"] == {"62": 3}  # the dummy fear sequence codes AU 62
    assert info.metadata["layout"] == "full" and info.metadata["n_subjects"] == 5
    rows = examples(builder, "train")
    assert sorted(ex["image_name"].decode() for ex in rows) == sorted(frame.index)
    for ex in rows:
        expected = frame.loc[ex["image_name"].decode()]
        assert ex["emotion"] == expected["label"]
        assert ex["subject"].decode() == expected["subject"]
        assert ex["sequence"].decode() == expected["sequence"]
        assert bool(ex["has_facs"]) == bool(expected["has_facs"])
        np.testing.assert_array_equal(ex["aus"], au_matrix[ex["image_name"].decode()])
        np.testing.assert_array_equal(ex["image"], samples.images[expected["image_index"]])
    assert sum(not ex["has_facs"] for ex in rows) == 3  # the contempt sequence has no FACS file


def test_ckplus_3way_labels(tmp_path):
    builder = prepare(ftfds.FerkitCkplus, tmp_path, CK_ROOT, "3way")
    samples = load_ckplus(CK_ROOT, labels="3way", aus=ftfds.CKPLUS_AUS)
    expected = dict(zip(samples.frame["path"].map(lambda p: Path(p).name), samples.labels))
    assert builder.info.features["emotion"].names == list(HIGH_LEVEL)
    for ex in examples(builder, "train"):
        assert ex["emotion"] == expected[ex["image_name"].decode()]


def test_split_by_subject_keeps_subjects_apart(tmp_path):
    builder = prepare(ftfds.FerkitCkplus, tmp_path, CK_ROOT)
    subjects = ftfds.subject_splits(builder, (0.5, 0.5), ("train", "test"), seed=0)
    assert subjects["train"] and subjects["test"]
    assert set(subjects["train"]).isdisjoint(subjects["test"])
    assert sorted(subjects["train"] + subjects["test"]) == ["S010", "S011", "S012", "S013", "S014"]
    parts = ftfds.split_by_subject(builder, (0.5, 0.5), ("train", "test"), seed=0)
    total = 0
    for name, dataset in parts.items():
        found = [ex["subject"].decode() for ex in tfds.as_numpy(dataset)]
        assert set(found) == set(subjects[name])
        total += len(found)
    assert total == 27
    supervised = ftfds.split_by_subject(builder, (0.5, 0.5), ("train", "test"), seed=0,
                                        as_supervised=True)
    image, label = next(iter(supervised["test"]))
    assert image.shape == (48, 48, 1) and label.dtype.name == "int64"


def test_files_in_dataset_subfolder_are_found(tmp_path):
    shutil.copytree(DUMMY / "ferplus", tmp_path / "manual" / "fer2013")
    (tmp_path / "manual" / "notes.txt").write_text("other datasets live here too\n")
    builder = prepare(ftfds.FerkitFerplus, tmp_path / "data", tmp_path / "manual", "majority")
    assert builder.info.splits["train"].num_examples == 3


# --------------------------------------------------------------------- missing manual files

def test_empty_manual_dir_shows_instructions(tmp_path):
    (tmp_path / "manual").mkdir()
    with pytest.raises(AssertionError, match="fer2013.csv.gz"):
        prepare(ftfds.FerkitFer2013, tmp_path / "data", tmp_path / "manual")


@pytest.mark.parametrize("cls,present,expected", [
    (ftfds.FerkitFer2013, [], r"'fer2013\.csv' or 'fer2013\.csv\.gz'"),
    (ftfds.FerkitFerplus, ["fer2013.csv.gz"], r"'fer2013new\.csv'"),
    (ftfds.FerkitCkplus, [], r"cohn-kanade-images/ and Emotion/.*CK\+48"),
    (ftfds.FerkitCkplus, ["cohn-kanade-images"], r"an Emotion/ folder"),
])
def test_missing_manual_files_are_named(tmp_path, cls, present, expected):
    manual = tmp_path / "manual"
    manual.mkdir()
    (manual / "unrelated.txt").write_text("not a dataset file\n")
    for name in present:
        source = DUMMY / ("ferplus" if name.endswith(".gz") else "ckplus") / name
        copy = shutil.copytree if source.is_dir() else shutil.copy
        copy(source, manual / name)
    with pytest.raises(ftfds.ManualFilesMissingError, match=expected) as caught:
        prepare(cls, tmp_path / "data", manual)
    message = str(caught.value)
    assert "unrelated.txt" in message and str(manual) in message  # says what it did find
    assert cls.name in message


# --------------------------------------------------------------------- the docs' quick start

def test_docs_quick_start_runs(capsys):
    root = next(p for p in Path(__file__).resolve().parents if (p / "docs" / "guide").is_dir())
    text = (root / "docs" / "guide" / "data_tfds.md").read_text()
    snippet = re.search(r"## Quick start.*?```python\n(.*?)```", text, re.S).group(1)
    exec(compile(snippet, "docs/guide/data_tfds.md", "exec"), {})
    printed = capsys.readouterr().out
    assert "(48, 48, 1)" in printed and "[1, 2, 4, 5, 6" in printed
