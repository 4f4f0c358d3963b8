"""TFDS builder for CK+ (``ferkit_ckplus``) and subject-disjoint splits of it.

The builder reads the user's CK+ copy from ``manual_dir`` with ferkit's
:func:`~ferkit.data.sources.ckplus.load_ckplus` and :func:`~ferkit.data.sources.read_images`
(no second parser), resizes every frame to 48x48 grey, and encodes the action units as a
multi-hot vector over the fixed list :data:`CKPLUS_AUS` (or a config's own list).

Everything goes into one ``train`` split. CK+ has no official split, and its examples are
not independent: every labelled sequence gives several near-identical peak frames and most
subjects give several sequences. TFDS split slicing (``"train[:80%]"``) cuts by example
position and would put frames of one person on both sides, so evaluation would measure
recognising a face seen in training. Split by subject instead: :func:`split_by_subject`
(ferkit's :func:`~ferkit.data.splits.group_split` over the ``subject`` feature) or k-fold by
subject with :func:`ferkit.data.splits.kfold`.
"""
from __future__ import annotations

import dataclasses
import logging
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd
import tensorflow as tf
import tensorflow_datasets as tfds

from ferkit.data.labels import CKPLUS7, CKPLUS_EMOTIONS, HIGH_LEVEL, au_column
from ferkit.data.samples import Samples
from ferkit.data.sources.ckplus import detect_layout, load_ckplus
from ferkit.data.sources.decode import read_images
from ferkit.data.splits import group_split
from ferkit.data.tfds.manual import missing_error, search_dirs, local_dir

logger = logging.getLogger(__name__)

#: The fixed AU list of the default configs: the facial action units of FACS up to AU 43
#: (brows, lids, nose, cheeks, lips, jaw, eye closure). It covers the 24 AUs coded in the
#: CK+48 FACS copy; an AU found outside it (e.g. a head-movement code) is reported in
#: ``metadata["aus_outside_list"]`` and left out of the vector.
CKPLUS_AUS: tuple[int, ...] = (
    1, 2, 4, 5, 6, 7, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 20, 21, 22, 23, 24, 25, 26, 27,
    28, 29, 30, 31, 34, 38, 39, 43,
)
#: ``labels`` value -> class names of the ``emotion`` feature.
LABEL_SETS: dict[str, tuple[str, ...]] = {
    "ckplus7": CKPLUS7, "ckplus8": CKPLUS_EMOTIONS, "3way": HIGH_LEVEL,
}
SUBFOLDER = "ckplus"
IMAGE_SIZE = (48, 48)

_CITATION = """\
@inproceedings{lucey2010ckplus,
  title     = {The Extended Cohn-Kanade Dataset ({CK+}): A complete dataset for action unit
               and emotion-specified expression},
  author    = {Lucey, Patrick and Cohn, Jeffrey F. and Kanade, Takeo and Saragih, Jason and
               Ambadar, Zara and Matthews, Iain},
  booktitle = {IEEE Computer Society Conference on Computer Vision and Pattern Recognition
               Workshops (CVPRW)},
  year      = {2010},
}"""

_INSTRUCTIONS = """\
CK+ (Extended Cohn-Kanade) is licensed by its authors to researchers who sign its agreement,
so it cannot be downloaded for you. Place your copy in manual_dir (or in manual_dir/ckplus/)
in either layout:

  Full distribution (the extracted CK+ archives):
    cohn-kanade-images/Sxxx/yyy/Sxxx_yyy_zzzzzzzz.png   every frame of each sequence
    Emotion/Sxxx/yyy/Sxxx_yyy_zzzzzzzz_emotion.txt      emotion code (0..7) of the last frame
    FACS/Sxxx/yyy/Sxxx_yyy_zzzzzzzz_facs.txt            optional: `AU intensity` lines
  CK+48 (48x48 crops in class folders):
    CK+48/<anger|contempt|disgust|fear|happy|sadness|surprise>/Sxxx_yyy_zzzzzzzz.png
    FACS/Sxxx/yyy/Sxxx_yyy_zzzzzzzz_facs.txt            optional, as above

A `subjects.csv` beside them is allowed (ferkit's loader reads it) but not stored.
Everything becomes one `train` split: split it by subject (ferkit.data.tfds.split_by_subject).
"""


@dataclasses.dataclass
class CKPlusConfig(tfds.core.BuilderConfig):
    """How CK+ is read (the arguments of :func:`ferkit.data.sources.ckplus.load_ckplus`).

    Attributes:
        labels: ``ckplus7`` (seven emotions), ``ckplus8`` (with neutral) or ``3way``
            (negative / positive / surprise).
        n_peak: last frames of each labelled sequence kept (full layout; CK+48 holds 3).
        neutral_frames: first frames of each sequence added as ``neutral`` (full layout,
            ``labels="ckplus8"`` only).
        aus: the AU codes of the ``aus`` vector, in order.
    """

    labels: str = "ckplus7"
    n_peak: int = 3
    neutral_frames: int = 0
    aus: tuple[int, ...] = CKPLUS_AUS

    def __post_init__(self):
        parent = getattr(super(), "__post_init__", None)
        if parent is not None:
            parent()
        if self.labels not in LABEL_SETS:
            raise ValueError(f"CKPlusConfig {self.name!r}: labels must be one of "
                             f"{list(LABEL_SETS)}, got {self.labels!r}")
        if self.neutral_frames and self.labels != "ckplus8":
            raise ValueError(f"CKPlusConfig {self.name!r}: neutral_frames needs labels='ckplus8'")
        self.aus = tuple(int(a) for a in self.aus)
        if not self.aus or len(set(self.aus)) != len(self.aus):
            raise ValueError(f"CKPlusConfig {self.name!r}: aus must be distinct AU codes, "
                             f"got {self.aus}")


def _find_root(manual_dir: Path, dataset: str) -> Path:
    """The folder holding either CK+ layout, or an error naming what is expected."""
    for folder in search_dirs(manual_dir, SUBFOLDER):
        if (folder / "cohn-kanade-images").is_dir():
            if not (folder / "Emotion").is_dir():
                raise missing_error(dataset, f"an Emotion/ folder next to {folder}/"
                                    "cohn-kanade-images/ (the emotion labels archive)",
                                    manual_dir, SUBFOLDER, _INSTRUCTIONS)
            return folder
        if (folder / "CK+48").is_dir():
            return folder
    raise missing_error(dataset, "the CK+ full distribution (cohn-kanade-images/ and Emotion/, "
                        "optionally FACS/) or the CK+48 layout (CK+48/<emotion>/*.png, "
                        "optionally FACS/)", manual_dir, SUBFOLDER, _INSTRUCTIONS)


def au_vectors(samples: Samples, aus: Sequence[int]) -> np.ndarray:
    """``(n, len(aus))`` float32 multi-hot of ``aus`` from the ``AU<n>`` columns of
    ``samples`` (an AU without a column, i.e. coded nowhere, is all zero)."""
    matrix = np.zeros((len(samples), len(aus)), dtype=np.float32)
    for j, au in enumerate(aus):
        column = au_column(au)
        if column in samples.frame.columns:
            matrix[:, j] = samples.frame[column].to_numpy(dtype=np.float32)
    return matrix


class FerkitCkplus(tfds.core.GeneratorBasedBuilder):
    """CK+ from the user's copy in ``manual_dir``, as one ``train`` split."""

    name = "ferkit_ckplus"
    VERSION = tfds.core.Version("1.0.0")
    RELEASE_NOTES = {"1.0.0": "First release: 48x48 grey peak frames, emotion, AUs, subject."}
    MANUAL_DOWNLOAD_INSTRUCTIONS = _INSTRUCTIONS
    BUILDER_CONFIGS = [
        CKPlusConfig(name="ckplus7", labels="ckplus7",
                     description="ckplus7: the seven CK+ emotions, last 3 frames per sequence."),
        CKPlusConfig(name="3way", labels="3way",
                     description="3way: negative / positive (happy) / surprise."),
    ]
    DEFAULT_BUILDER_CONFIG_NAME = "ckplus7"

    def _info(self) -> tfds.core.DatasetInfo:
        config = self.builder_config
        aus = ", ".join(str(a) for a in config.aus)
        return tfds.core.DatasetInfo(
            builder=self,
            description=(
                "CK+ (Extended Cohn-Kanade), read by ferkit's load_ckplus: the peak frames of "
                "each emotion-labelled sequence as 48x48 grey images, the sequence's emotion, "
                f"and its FACS action units as a multi-hot `aus` vector over AUs [{aus}] (this "
                "order; also metadata['aus']). One `train` split: split it by `subject` "
                "(ferkit.data.tfds.split_by_subject), never by example position, because the "
                "frames of a sequence are near-duplicates."),
            features=tfds.features.FeaturesDict({
                "image": tfds.features.Image(shape=IMAGE_SIZE + (1,), dtype=np.uint8),
                "emotion": tfds.features.ClassLabel(names=list(LABEL_SETS[config.labels])),
                "aus": tfds.features.Tensor(shape=(len(config.aus),), dtype=np.float32,
                                            doc=f"1.0 where the AU is coded; AUs {aus}"),
                "has_facs": tfds.features.Scalar(
                    dtype=np.bool_, doc="False when the sequence has no FACS file (aus all 0)"),
                "subject": tfds.features.Text(doc="CK+ subject, e.g. S005"),
                "sequence": tfds.features.Text(doc="sequence within the subject, e.g. 001"),
                "image_name": tfds.features.Text(doc="source frame file name"),
            }),
            supervised_keys=("image", "emotion"),
            citation=_CITATION,
            metadata=tfds.core.MetadataDict(aus=list(config.aus)),
        )

    def _split_generators(self, dl_manager: tfds.download.DownloadManager):
        config = self.builder_config
        root = _find_root(local_dir(dl_manager.manual_dir), self.name)
        samples = load_ckplus(root, labels=config.labels, n_peak=config.n_peak,
                              neutral_frames=config.neutral_frames, aus="auto",
                              min_au_count=1, on_error="warn")
        samples = read_images(samples, size=IMAGE_SIZE, channels=1)
        outside = {str(au): int(samples.frame[au_column(au)].sum())
                   for au in samples.aus if au not in config.aus}
        if outside:
            logger.warning("%s: AUs %s are coded in the FACS files but not in the config's AU "
                           "list; they are left out (see metadata['aus_outside_list'])",
                           self.name, sorted(int(a) for a in outside))
        frame = samples.frame
        self.info.metadata.update(
            aus=list(config.aus), aus_outside_list=outside, labels=config.labels,
            classes=list(samples.classes), layout=detect_layout(root),
            n_subjects=int(frame["subject"].nunique()),
            n_sequences=int(frame[["subject", "sequence"]].drop_duplicates().shape[0]),
        )
        return {"train": self._generate_examples(samples, au_vectors(samples, config.aus))}

    def _generate_examples(self, samples: Samples, aus: np.ndarray):
        for position, record in enumerate(samples.frame.itertuples(index=False)):
            yield position, {
                "image": samples.images[int(record.image_index)],
                "emotion": int(record.label),
                "aus": aus[position],
                "has_facs": bool(record.has_facs),
                "subject": str(record.subject),
                "sequence": str(record.sequence),
                "image_name": Path(record.path).name,
            }


def subject_splits(builder: tfds.core.DatasetBuilder,
                   fractions: Sequence[float] = (0.6, 0.2, 0.2),
                   names: Sequence[str] = ("train", "validation", "test"), *,
                   seed: int = 0, split: str = "train") -> dict[str, list[str]]:
    """Subjects of each split name, from :func:`ferkit.data.splits.group_split`.

    Reads only the ``subject`` and ``emotion`` features of the prepared ``split`` (images
    are not decoded); whole subjects go to one split, classes balanced greedily, seeded.
    """
    dataset = builder.as_dataset(split=split, decoders={"image": tfds.decode.SkipDecoding()})
    pairs = list(tfds.as_numpy(dataset.map(lambda ex: (ex["subject"], ex["emotion"]))))
    frame = pd.DataFrame({"subject": [s.decode() for s, _ in pairs],
                          "label": [int(label) for _, label in pairs]})
    assigned = group_split(frame, fractions, names, group="subject", stratify="label", seed=seed)
    subjects = {name: sorted(set(frame.loc[assigned == name, "subject"])) for name in names}
    empty = [name for name, members in subjects.items() if not members]
    if empty:
        logger.warning("subject_splits: %s got no subject (%d subjects in all); those "
                       "datasets will be empty", empty, frame["subject"].nunique())
    return subjects


def split_by_subject(builder: tfds.core.DatasetBuilder,
                     fractions: Sequence[float] = (0.6, 0.2, 0.2),
                     names: Sequence[str] = ("train", "validation", "test"), *,
                     seed: int = 0, split: str = "train", as_supervised: bool = False,
                     **as_dataset_kwargs) -> dict[str, tf.data.Dataset]:
    """Subject-disjoint ``tf.data.Dataset``s cut from a prepared ``ferkit_ckplus`` split.

    Args:
        builder: a prepared :class:`FerkitCkplus` (any config).
        fractions, names, seed: as :func:`ferkit.data.splits.group_split`.
        split: the TFDS split to cut (``train``, or a slice of it).
        as_supervised: yield ``(image, emotion)`` pairs instead of feature dicts.
        **as_dataset_kwargs: passed to ``builder.as_dataset`` (``shuffle_files``,
            ``read_config``, ``decoders``, ...).

    Returns:
        ``{name: dataset}``; :func:`subject_splits` gives the subjects of each.
    """
    subjects = subject_splits(builder, fractions, names, seed=seed, split=split)
    result = {}
    for name in names:
        allowed = tf.constant(subjects[name] or [""], dtype=tf.string)
        dataset = builder.as_dataset(split=split, **as_dataset_kwargs)
        dataset = dataset.filter(
            lambda ex, allowed=allowed: tf.reduce_any(ex["subject"] == allowed))
        if as_supervised:
            dataset = dataset.map(lambda ex: (ex["image"], ex["emotion"]))
        result[name] = dataset
    return result


__all__ = ["FerkitCkplus", "CKPlusConfig", "CKPLUS_AUS", "LABEL_SETS", "au_vectors",
           "subject_splits", "split_by_subject"]
