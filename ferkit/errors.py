"""Every exception ferkit raises on purpose, under one base class.

This module imports nothing: any ferkit module may raise these. Each class also derives from
the built-in exception callers caught before it existed (``ValueError``, ``FileNotFoundError``),
so ``except ValueError`` keeps working. The CLI prints a :class:`FerkitError` as a one-line
message with exit code 2; anything else is a ferkit bug and keeps its traceback.
"""
from __future__ import annotations


class FerkitError(Exception):
    """Base class: a problem with the user's input, files or settings, explained in the message."""


# ----------------------------------------------------------------------------- settings
class ConfigError(FerkitError, ValueError):
    """A config value or key that is wrong; the message names the file and the key."""


class VoteRuleError(ConfigError):
    """A FER+ vote-rule expression that does not parse or names an unknown emotion."""


class FilenameTemplateError(ConfigError):
    """A file-name template (``{expression}_{race}_...``) that is malformed or does not match."""


# ----------------------------------------------------------------------------- data files
class DataError(FerkitError, ValueError):
    """A dataset file or folder that cannot be used; the message names the file and the fault."""


class ImageReadError(DataError, OSError):
    """An image file that is empty, truncated or in a format OpenCV cannot decode (an
    ``OSError`` too, as the image readers raised before)."""


class ImageNotFoundError(ImageReadError, FileNotFoundError):
    """An image file that does not exist."""


class CKPlusFormatError(DataError):
    """A CK+ tree or file (Emotion, FACS, Landmarks) that breaks the CK+ format."""


class FER2013FormatError(DataError):
    """A FER2013 CSV or FER+ vote file that breaks its format (row and column named)."""


class DatasetLayoutError(DataError):
    """Class or split folders laid out in a way the folder loader cannot read."""


class UnknownLabelError(DataError):
    """A raw label that the label map does not cover."""


class ManifestError(DataError):
    """A manifest CSV with missing columns, empty labels or paths that do not exist."""


class ManualFilesMissingError(FerkitError, FileNotFoundError):
    """A TFDS builder whose manually downloaded files are not where it looks."""


# ----------------------------------------------------------------------------- runs and models
class RunDirectoryError(FerkitError, FileNotFoundError):
    """A folder that is not a finished ferkit run directory (or is of an unknown format)."""


class RunFormatError(FerkitError, ValueError):
    """A run-directory file (``run.json``, ``preprocessing.json``) that is corrupt or of an
    unknown or newer format."""


#: The name the HTML report used for a folder that is not a run directory.
NotARunDirectory = RunDirectoryError


class ModelFileError(FerkitError, ValueError):
    """A model file (``.keras``) that is not a Keras archive, is damaged, uses layers Keras
    cannot find, or holds code that safe mode refuses; the message names the file."""


class ModelNotFoundError(ModelFileError, FileNotFoundError):
    """A model file that does not exist (a ``FileNotFoundError`` too, as raised before)."""


class NoFaceError(FerkitError, ValueError):
    """``require_face=True`` and the detector found no face; the message names the image."""


class ExportMismatchError(FerkitError, ValueError):
    """An exported model whose outputs differ from the Keras model's beyond the tolerance."""


class PresetError(FerkitError, ValueError):
    """A pretrained preset that is not shipped, or whose manifest entry is malformed."""


class PresetIntegrityError(PresetError):
    """A preset weights file whose SHA-256 differs from its manifest's, or whose variables do
    not fit the architecture; the message names the file."""


__all__ = [
    "FerkitError", "ConfigError", "VoteRuleError", "FilenameTemplateError", "DataError",
    "ImageReadError", "ImageNotFoundError", "CKPlusFormatError", "FER2013FormatError",
    "DatasetLayoutError",
    "UnknownLabelError", "ManifestError", "ManualFilesMissingError", "RunDirectoryError",
    "RunFormatError", "NotARunDirectory", "ModelFileError", "ModelNotFoundError", "NoFaceError",
    "ExportMismatchError",
    "PresetError", "PresetIntegrityError",
]
