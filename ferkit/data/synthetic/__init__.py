"""Seeded synthetic grey faces whose facial action units are drawn geometrically.

Real expression data is scarce, licensed and biased in ways nobody measured. This package
draws simple cartoon faces with OpenCV where every action unit (AU) is a known geometric
change (a brow moves, a lip corner rises, lines appear on the nose), so loaders, AU heads,
training loops and fairness reports can be tested end to end against labels that are true
by construction, and against a bias whose size the user chose.

Faces are drawn ``internal_scale`` times larger than the output with anti-aliased
primitives and shrunk with ``INTER_AREA``, which keeps thin lines as soft grey strokes.
Everything random flows from one seed, so the same seed and config give the same bytes.

Conventions: coordinates are fractions of the image, ``(x, y)`` with ``y`` down; the face
is centred at ``(0.5, 0.52)`` when pose is off. "left"/"right" mean the image's left and
right half (the viewer's side), not the subject's.

Modules, in import order: :mod:`~ferkit.data.synthetic.vocabulary` (AUs, emotions,
attribute groups), :mod:`~ferkit.data.synthetic.config` (``SyntheticConfig``),
:mod:`~ferkit.data.synthetic.sampling` (identity, nuisance, expression),
:mod:`~ferkit.data.synthetic.painter` and :mod:`~ferkit.data.synthetic.drawing` (the
face), :mod:`~ferkit.data.synthetic.render` (``render_face``),
:mod:`~ferkit.data.synthetic.generator` (``SyntheticFaces``), and the writers of real
on-disk formats: :mod:`~ferkit.data.synthetic.ckplus` (CK+, CK+48) and
:mod:`~ferkit.data.synthetic.formats` (FER2013 + FER+ votes, class folders).
"""
from ferkit.data.synthetic.vocabulary import (
    ATTRIBUTE_GROUPS, AU_NAMES, AU_REGIONS, AUS, DIFFICULTY_AU_SCALE, DIFFICULTY_CONTRAST,
    DIFFICULTY_NOISE_STD, EMOTION_PROTOTYPES, FIRST_SUBJECT, KEY_AUS, OPTIONAL_AUS, SIDES,
    SKIN_LEVELS, UNILATERAL_AUS,
)
from ferkit.data.synthetic.config import SyntheticConfig
from ferkit.data.synthetic.sampling import (
    Expression, Identity, Nuisance, sample_expression, sample_identity, sample_nuisance,
)
from ferkit.data.synthetic.render import render_face
from ferkit.data.synthetic.generator import SyntheticFaces
from ferkit.data.synthetic.ckplus import CK48_FOLDERS, facs_code, write_ckplus
from ferkit.data.synthetic.formats import (
    FER2013_CODE, FERPLUS_COLUMN, FERPLUS_COLUMNS, write_class_folders, write_fer2013,
)
from ferkit.data.synthetic.gallery import plot_grid

__all__ = [
    "ATTRIBUTE_GROUPS", "AU_NAMES", "AU_REGIONS", "AUS", "DIFFICULTY_AU_SCALE",
    "DIFFICULTY_CONTRAST", "DIFFICULTY_NOISE_STD", "EMOTION_PROTOTYPES", "FIRST_SUBJECT",
    "KEY_AUS", "OPTIONAL_AUS", "SIDES", "SKIN_LEVELS", "UNILATERAL_AUS", "SyntheticConfig",
    "Expression", "Identity", "Nuisance", "sample_expression", "sample_identity",
    "sample_nuisance", "render_face", "SyntheticFaces", "CK48_FOLDERS", "facs_code",
    "write_ckplus", "FER2013_CODE", "FERPLUS_COLUMN", "FERPLUS_COLUMNS", "write_class_folders",
    "write_fer2013", "plot_grid",
]
