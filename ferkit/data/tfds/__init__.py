"""TensorFlow Datasets builders for the licensed FER datasets, built from ``manual_dir``.

Importing this package registers three datasets with TFDS:

- ``ferkit_fer2013`` (:class:`FerkitFer2013`): FER2013 from ``fer2013.csv[.gz]``;
- ``ferkit_ferplus`` (:class:`FerkitFerplus`): FER+ votes from ``fer2013new.csv`` with the
  FER2013 pixels, one config per label mode (``majority``, ``probability``,
  ``crossentropy``, ``multi_target``);
- ``ferkit_ckplus`` (:class:`FerkitCkplus`): CK+ (full tree or CK+48), configs ``ckplus7``
  and ``3way``, one ``train`` split to cut by subject with :func:`split_by_subject`.

Each builder parses the files with ferkit's own loaders. See ``docs/guide/data_tfds.md``.
"""
from pathlib import Path



from ferkit.data.tfds.ckplus import (  # noqa: E402
    CKPLUS_AUS, CKPlusConfig, FerkitCkplus, au_vectors, split_by_subject, subject_splits,
)
from ferkit.data.tfds.fer2013 import (  # noqa: E402
    USAGE_TO_TFDS_SPLIT, FerkitFer2013, FerkitFerplus, FerplusConfig,
)
from ferkit.data.tfds.manual import ManualFilesMissingError  # noqa: E402

#: Tiny fake manual folders in the real formats (random pixels): ``DUMMY_DATA_DIR / name``
#: for name in ``fer2013``, ``ferplus``, ``ckplus``. Used by the tests and the docs.
DUMMY_DATA_DIR = Path(__file__).resolve().parent / "dummy_data"

#: The registered TFDS names.
DATASET_NAMES: tuple[str, ...] = (FerkitFer2013.name, FerkitFerplus.name, FerkitCkplus.name)

__all__ = [
    "FerkitFer2013", "FerkitFerplus", "FerkitCkplus", "FerplusConfig", "CKPlusConfig",
    "CKPLUS_AUS", "USAGE_TO_TFDS_SPLIT", "ManualFilesMissingError", "au_vectors",
    "subject_splits", "split_by_subject", "DUMMY_DATA_DIR", "DATASET_NAMES",
]
