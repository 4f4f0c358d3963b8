"""``ferkit synth``: write a synthetic FACS-face dataset in one of the real on-disk formats.

Every format is the one its real loader reads, so a synthetic dataset exercises the same code
as the real one: ``ckplus`` (the full CK+ tree), ``ck48`` (CK+48 class folders + FACS),
``fer2013`` (``fer2013.csv.gz`` + FER+'s ``fer2013new.csv`` votes) and ``folders`` (class
folders with FANE-style ``Class_SkinTone_Gender_Index.png`` names).
"""
from __future__ import annotations

import argparse

from ferkit.cli._argtypes import whole_number

#: ``--format`` choices, the default first.
FORMATS: tuple[str, ...] = ("ckplus", "ck48", "fer2013", "folders")

#: The old ``--layout`` values and the ``--format`` each one means.
LAYOUT_FORMATS = {"full": "ckplus", "ck48": "ck48"}

#: Side of a FER2013 image; the format has no other size.
FER2013_SIZE = 48
#: Smallest image side the face generator draws (``SyntheticConfig.size``'s lower bound).
MIN_SIZE = 8


def class_mapping(text: str) -> tuple[str, str]:
    """``FOLDER=EMOTION`` from ``--classes`` as a pair (argparse type)."""
    folder, sep, emotion = text.partition("=")
    if not sep or not folder or not emotion or "/" in folder or "\\" in folder:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not FOLDER=EMOTION (e.g. Angry=anger; the folder name has no slash)")
    return folder, emotion


def chosen_format(args: argparse.Namespace) -> str:
    """``--format``, or the format the old ``--layout`` names when only that was given."""
    if args.format and args.layout and args.format != LAYOUT_FORMATS[args.layout]:
        raise ValueError(f"--format {args.format} and --layout {args.layout} disagree; "
                         f"give --format only")
    return args.format or LAYOUT_FORMATS.get(args.layout, FORMATS[0])


def write_ckplus_tree(args: argparse.Namespace, layout: str):
    from ferkit.data import synthetic

    config = synthetic.SyntheticConfig(size=args.size) if args.size else None
    root = synthetic.write_ckplus(args.out, n_subjects=args.subjects,
                                  sequences_per_subject=args.sequences,
                                  frames_per_sequence=args.frames, seed=args.seed,
                                  config=config, layout=layout)
    return root, f"a synthetic CK+ tree ({layout} layout, {args.subjects} subjects)"


def write_fer2013_csv(args: argparse.Namespace):
    from ferkit.data import synthetic

    if args.size not in (None, FER2013_SIZE):
        raise ValueError(f"--size {args.size}: FER2013 images are always "
                         f"{FER2013_SIZE}x{FER2013_SIZE}")
    csv = synthetic.write_fer2013(args.out, n=args.images, seed=args.seed,
                                  n_subjects=args.subjects, with_ferplus=not args.no_ferplus)
    votes = "" if args.no_ferplus else " and FER+ votes (fer2013new.csv)"
    return csv, f"a synthetic FER2013 CSV ({args.images} rows){votes}"


def write_folders(args: argparse.Namespace):
    from ferkit.data import synthetic

    known = tuple(synthetic.EMOTION_PROTOTYPES)
    classes = dict(args.classes or [(emotion.title(), emotion) for emotion in known])
    unknown = sorted({emotion for emotion in classes.values() if emotion not in known})
    if unknown:
        raise ValueError(f"--classes: unknown synthetic emotion(s) {', '.join(unknown)}; "
                         f"known: {', '.join(known)}")
    per_class = max(1, args.images // len(classes))
    root = synthetic.write_class_folders(args.out, classes, n_per_class=per_class,
                                         size=args.size or FER2013_SIZE, seed=args.seed,
                                         n_subjects=args.subjects)
    return root, f"synthetic class folders ({len(classes)} classes x {per_class} images)"


def run(args: argparse.Namespace) -> int:
    kind = chosen_format(args)
    if kind == "fer2013":
        path, what = write_fer2013_csv(args)
    elif kind == "folders":
        path, what = write_folders(args)
    else:
        path, what = write_ckplus_tree(args, "full" if kind == "ckplus" else "ck48")
    print(f"wrote {what} to {path}")
    return 0


def register(commands) -> None:
    synth = commands.add_parser(
        "synth", help="write a synthetic FACS-face dataset (CK+, CK+48, FER2013 or folders)",
        description="Write synthetic faces in a real on-disk format, which its real loader "
                    "reads: ckplus (the full CK+ tree), ck48 (CK+48 class folders + FACS), "
                    "fer2013 (fer2013.csv.gz + FER+ votes) or folders (class folders with "
                    "FANE-style file names).")
    synth.add_argument("out", help="folder to write the dataset into")
    synth.add_argument("--format", choices=FORMATS, default=None,
                       help="on-disk format (default ckplus)")
    synth.add_argument("--layout", choices=tuple(LAYOUT_FORMATS), default=None,
                       help="old spelling: full = --format ckplus, ck48 = --format ck48")
    synth.add_argument("--subjects", type=whole_number(1), default=40, help="synthetic people")
    synth.add_argument("--seed", type=int, default=0)
    synth.add_argument("--size", type=whole_number(MIN_SIZE), default=None,
                       help="image side in pixels (default 48; FER2013 is always 48)")
    ckplus = synth.add_argument_group("ckplus and ck48")
    ckplus.add_argument("--sequences", type=whole_number(1), default=7,
                        help="sequences per subject")
    ckplus.add_argument("--frames", type=whole_number(1), default=6, help="frames per sequence")
    images = synth.add_argument_group("fer2013 and folders")
    images.add_argument("--images", type=whole_number(1), default=600,
                        help="images in all (folders: split evenly over the classes)")
    images.add_argument("--classes", nargs="+", type=class_mapping, metavar="FOLDER=EMOTION",
                        help="folders: each class folder and the synthetic emotion drawn for "
                             "it (default one folder per emotion, e.g. Happy=happy)")
    images.add_argument("--no-ferplus", action="store_true",
                        help="fer2013: skip the FER+ vote file")
    synth.set_defaults(run=run)
