"""TFDS builders for FER2013 (``ferkit_fer2013``) and FER+ (``ferkit_ferplus``).

Both read the user's licensed csv files from ``manual_dir`` and parse them with ferkit's own
loaders (:func:`ferkit.data.sources.fer2013.load_fer2013` and
:func:`~ferkit.data.sources.ferplus.load_ferplus`), so a prepared TFDS dataset holds exactly
the rows, labels and pixels those loaders return. Splits follow the files' ``Usage`` column:
``Training`` -> ``train``, ``PublicTest`` -> ``validation``, ``PrivateTest`` -> ``test``; a
usage absent from the file gives no split.
"""
from __future__ import annotations

import dataclasses

import numpy as np
import tensorflow_datasets as tfds

from ferkit.data.labels import FER2013_EMOTIONS
from ferkit.data.samples import Samples
from ferkit.data.sources.fer2013 import load_fer2013
from ferkit.data.sources.ferplus import (
    FERPLUS_EMOTIONS, FERPLUS_MODES, FERPLUS_VOTE_COLUMNS, load_ferplus,
)
from ferkit.data.tfds.manual import find_file, local_dir

#: FER2013 ``Usage`` value -> TFDS split name, in the order splits are listed.
USAGE_TO_TFDS_SPLIT: dict[str, str] = {
    "Training": "train", "PublicTest": "validation", "PrivateTest": "test",
}
FER2013_FILES: tuple[str, ...] = ("fer2013.csv", "fer2013.csv.gz")
FERPLUS_FILE = "fer2013new.csv"
SUBFOLDER = "fer2013"
IMAGE_SHAPE = (48, 48, 1)

_FER2013_HOMEPAGE = ("https://www.kaggle.com/c/challenges-in-representation-learning-"
                     "facial-expression-recognition-challenge")

_FER2013_CITATION = """\
@inproceedings{goodfellow2013challenges,
  title     = {Challenges in Representation Learning: A Report on Three Machine Learning Contests},
  author    = {Goodfellow, Ian J. and Erhan, Dumitru and Carrier, Pierre Luc and Courville, Aaron
               and Mirza, Mehdi and Hamner, Ben and Cukierski, Will and Tang, Yichuan and
               Thaler, David and Lee, Dong-Hyun and others},
  booktitle = {Neural Information Processing (ICONIP 2013)},
  series    = {Lecture Notes in Computer Science},
  volume    = {8228},
  year      = {2013},
}"""

_FERPLUS_CITATION = """\
@inproceedings{barsoum2016ferplus,
  title     = {Training Deep Networks for Facial Expression Recognition with Crowd-Sourced
               Label Distribution},
  author    = {Barsoum, Emad and Zhang, Cha and Canton Ferrer, Cristian and Zhang, Zhengyou},
  booktitle = {ACM International Conference on Multimodal Interaction (ICMI)},
  year      = {2016},
}
""" + _FER2013_CITATION

_FER2013_INSTRUCTIONS = """\
FER2013 is distributed by Kaggle ("Challenges in Representation Learning: Facial Expression
Recognition Challenge") under its own terms, so it cannot be downloaded for you. Get the
csv yourself and place it in manual_dir (or in manual_dir/fer2013/) as either

    fer2013.csv       the original file: header `emotion,pixels,Usage`, one row per 48x48
                      grey image (emotion 0..6, 2304 space-separated pixel values, Usage one
                      of Training / PublicTest / PrivateTest)
    fer2013.csv.gz    the same file, gzip-compressed

Splits: Training -> train, PublicTest -> validation, PrivateTest -> test; a Usage value
missing from the file gives no split.
"""

_FERPLUS_INSTRUCTIONS = """\
FER+ relabels the FER2013 images with ten crowd votes each. You need two files, both in
manual_dir (or both in manual_dir/fer2013/):

    fer2013.csv or fer2013.csv.gz   the Kaggle FER2013 csv (`emotion,pixels,Usage`): it gives
                                    the pixels and the Usage split; get it from Kaggle under
                                    its terms
    fer2013new.csv                  Microsoft's FER+ vote file (github.com/microsoft/FERPlus):
                                    `Usage,Image name,neutral,happiness,surprise,sadness,anger,
                                    disgust,fear,contempt,unknown,NF`, one row per row of
                                    fer2013.csv in the same order

The rows are matched by position, so both files must come from the same release with the
same rows in the same order. Splits: Training -> train, PublicTest -> validation,
PrivateTest -> test; only the Usage values present are generated.
"""


def _usage_splits(samples: Samples) -> dict[str, Samples]:
    """TFDS split name -> the rows of that ``Usage``, for the usages present, in file order."""
    usage = samples.frame["usage"].to_numpy()
    return {split: samples.subset(usage == name)
            for name, split in USAGE_TO_TFDS_SPLIT.items() if (usage == name).any()}


def _image(samples: Samples, image_index) -> np.ndarray:
    return samples.images[int(image_index)].reshape(IMAGE_SHAPE)


class FerkitFer2013(tfds.core.GeneratorBasedBuilder):
    """FER2013 from the user's ``fer2013.csv`` (or ``.csv.gz``) in ``manual_dir``."""

    name = "ferkit_fer2013"
    VERSION = tfds.core.Version("1.0.0")
    RELEASE_NOTES = {"1.0.0": "First release: images, FER2013 labels, Usage and file row."}
    MANUAL_DOWNLOAD_INSTRUCTIONS = _FER2013_INSTRUCTIONS

    def _info(self) -> tfds.core.DatasetInfo:
        return tfds.core.DatasetInfo(
            builder=self,
            description=(
                "FER2013: 48x48 grey face images labelled with one of seven emotions "
                f"({', '.join(FER2013_EMOTIONS)}), read from the licensed csv by ferkit's "
                "load_fer2013. `row` is the 0-based data row in the csv (aligns with FER+)."),
            features=tfds.features.FeaturesDict({
                "image": tfds.features.Image(shape=IMAGE_SHAPE, dtype=np.uint8),
                "label": tfds.features.ClassLabel(names=list(FER2013_EMOTIONS),
                                                  doc="FER2013 emotion code"),
                "usage": tfds.features.Text(doc="the csv's Usage value"),
                "row": tfds.features.Scalar(dtype=np.int64, doc="0-based data row in the csv"),
            }),
            supervised_keys=("image", "label"),
            homepage=_FER2013_HOMEPAGE,
            citation=_FER2013_CITATION,
            metadata=tfds.core.MetadataDict(),
        )

    def _split_generators(self, dl_manager: tfds.download.DownloadManager):
        manual_dir = local_dir(dl_manager.manual_dir)
        path = find_file(manual_dir, FER2013_FILES, dataset=self.name, subfolder=SUBFOLDER,
                         instructions=self.MANUAL_DOWNLOAD_INSTRUCTIONS)
        samples = load_fer2013(path)
        splits = _usage_splits(samples)
        self.info.metadata.update(
            source_file=path.name,
            n_rows_in_file=int(samples.frame.attrs.get("n_rows_in_file", len(samples))),
            usage_counts={str(name): int(n)
                          for name, n in samples.frame["usage"].value_counts().items()},
        )
        return {split: self._generate_examples(rows) for split, rows in splits.items()}

    def _generate_examples(self, samples: Samples):
        for record in samples.frame.itertuples(index=False):
            yield int(record.row), {
                "image": _image(samples, record.image_index),
                "label": int(record.label),
                "usage": str(record.usage),
                "row": int(record.row),
            }


@dataclasses.dataclass
class FerplusConfig(tfds.core.BuilderConfig):
    """A FER+ label mode (see :func:`ferkit.data.sources.ferplus.ferplus_targets`).

    Attributes:
        mode: ``majority``, ``probability``, ``crossentropy`` or ``multi_target``.
        eval_mode: another mode for the validation and test rows (the FERPlus reference
            trains with ``mode`` but evaluates with ``majority``); None uses ``mode``.
    """

    mode: str = "majority"
    eval_mode: str | None = None

    def __post_init__(self):
        parent = getattr(super(), "__post_init__", None)
        if parent is not None:
            parent()
        for field, value in (("mode", self.mode), ("eval_mode", self.eval_mode or self.mode)):
            if value not in FERPLUS_MODES:
                raise ValueError(f"FerplusConfig {self.name!r}: {field} must be one of "
                                 f"{list(FERPLUS_MODES)}, got {value!r}")


_MODE_DESCRIPTIONS = {
    "majority": "one-hot on the emotion with more than half of the votes (votes of 1 dropped); "
                "rows without such a majority are left out",
    "probability": "the vote distribution over the top (at most 3) emotions, as the FERPlus "
                   "reference's probability mode (which draws one label from it per epoch)",
    "crossentropy": "the same distribution as `probability`, meant as a soft target",
    "multi_target": "multi-hot of the emotions with at least 30% of the votes",
}


class FerkitFerplus(tfds.core.GeneratorBasedBuilder):
    """FER+ (FER2013 pixels, Microsoft's ten crowd votes) with one config per label mode."""

    name = "ferkit_ferplus"
    VERSION = tfds.core.Version("1.0.0")
    RELEASE_NOTES = {"1.0.0": "First release: images, votes, label and target per label mode."}
    MANUAL_DOWNLOAD_INSTRUCTIONS = _FERPLUS_INSTRUCTIONS
    BUILDER_CONFIGS = [FerplusConfig(name=mode, mode=mode, description=f"{mode}: {text}.")
                       for mode, text in _MODE_DESCRIPTIONS.items()]
    DEFAULT_BUILDER_CONFIG_NAME = "majority"

    def _info(self) -> tfds.core.DatasetInfo:
        config = self.builder_config
        supervised = ("image", "label") if config.mode == "majority" else ("image", "target")
        return tfds.core.DatasetInfo(
            builder=self,
            description=(
                "FER+: the FER2013 images with labels from ten crowd votes each, read by "
                "ferkit's load_ferplus. `votes` are the raw counts in the order "
                f"{', '.join(FERPLUS_VOTE_COLUMNS)}; `target` is the label mode's target over "
                f"the eight emotions ({', '.join(FERPLUS_EMOTIONS)}) and `label` its most-voted "
                "emotion. Rows a mode discards (no image name, unknown, not a face, no "
                "majority or consensus) are left out and counted in metadata['dropped']."),
            features=tfds.features.FeaturesDict({
                "image": tfds.features.Image(shape=IMAGE_SHAPE, dtype=np.uint8),
                "votes": tfds.features.Tensor(
                    shape=(len(FERPLUS_VOTE_COLUMNS),), dtype=np.int64,
                    doc=f"raw vote counts: {', '.join(FERPLUS_VOTE_COLUMNS)}"),
                "label": tfds.features.ClassLabel(
                    names=list(FERPLUS_EMOTIONS), doc="the target emotion with the most votes"),
                "target": tfds.features.Tensor(
                    shape=(len(FERPLUS_EMOTIONS),), dtype=np.float32,
                    doc="the label mode's target (one-hot, distribution or multi-hot)"),
                "fer2013_label": tfds.features.ClassLabel(
                    names=list(FER2013_EMOTIONS), doc="the original FER2013 label"),
                "usage": tfds.features.Text(doc="the csv's Usage value"),
                "image_name": tfds.features.Text(doc="FER+ image name, e.g. fer0000000.png"),
                "row": tfds.features.Scalar(dtype=np.int64, doc="0-based data row in both csvs"),
            }),
            supervised_keys=supervised,
            homepage="https://github.com/microsoft/FERPlus",
            citation=_FERPLUS_CITATION,
            metadata=tfds.core.MetadataDict(),
        )

    def _split_generators(self, dl_manager: tfds.download.DownloadManager):
        config = self.builder_config
        manual_dir = local_dir(dl_manager.manual_dir)
        options = dict(dataset=self.name, subfolder=SUBFOLDER,
                       instructions=self.MANUAL_DOWNLOAD_INSTRUCTIONS)
        fer_path = find_file(manual_dir, FER2013_FILES, **options)
        votes_path = find_file(manual_dir, (FERPLUS_FILE,), **options)
        samples = load_ferplus(fer_path, votes_path, mode=config.mode, eval_mode=config.eval_mode)
        self.info.metadata.update(
            mode=config.mode, eval_mode=config.eval_mode or config.mode,
            source_files=[fer_path.name, votes_path.name],
            dropped={k: int(v) for k, v in samples.frame.attrs.get("dropped", {}).items()},
        )
        return {split: self._generate_examples(rows)
                for split, rows in _usage_splits(samples).items()}

    def _generate_examples(self, samples: Samples):
        frame = samples.frame
        votes = frame[list(FERPLUS_VOTE_COLUMNS)].to_numpy(dtype=np.int64)
        targets = frame[[f"target_{name}" for name in FERPLUS_EMOTIONS]].to_numpy(np.float32)
        for position, record in enumerate(frame.itertuples(index=False)):
            yield int(record.row), {
                "image": _image(samples, record.image_index),
                "votes": votes[position],
                "label": int(record.label),
                "target": targets[position],
                "fer2013_label": int(record.fer2013_label),
                "usage": str(record.usage),
                "image_name": str(record.image_name),
                "row": int(record.row),
            }


__all__ = ["FerkitFer2013", "FerkitFerplus", "FerplusConfig", "USAGE_TO_TFDS_SPLIT",
           "FER2013_FILES", "FERPLUS_FILE"]
