"""``ferkit export RUN_DIR --format F``: write a run's model as .keras, SavedModel or TFLite."""
from __future__ import annotations

import argparse

from ferkit.runs import RunDir

#: The artefacts ``ferkit.export`` writes (its ``FORMATS``; repeated so ``--help`` loads no
#: TensorFlow, and checked equal by the export tests).
FORMATS = ("keras", "savedmodel", "tflite")
#: ``ferkit.export.TOLERANCE``, repeated for the help text only.
TOLERANCE = 1e-5


def run(args: argparse.Namespace) -> int:
    """Write the artefact, then (unless ``--no-check``) compare it with the Keras model."""
    from ferkit import export
    from ferkit.runs import load_preprocessing

    path = export.export_model(args.run_dir, args.format, args.out)
    print(f"exported {args.format} model to {path}")
    if not args.no_check:
        preprocessing = load_preprocessing(export.preprocessing_folder(path, args.format))
        images = export.synthetic_check_images(preprocessing)
        difference = export.check_export(args.run_dir, path, images)
        print(f"check: max |export - keras| = {difference:.2e} on {len(images)} synthetic faces "
              f"(tolerance {export.TOLERANCE:g})")
    return 0


def register(commands) -> argparse.ArgumentParser:
    """Add ``export RUN_DIR --format keras|savedmodel|tflite [--out PATH] [--no-check]``."""
    parser = commands.add_parser(
        "export", help="export a run's model (.keras, SavedModel or TFLite) and check it",
        description=f"Export RUN_DIR/{RunDir.MODEL} and compare the export's predictions with "
                    f"the Keras model's on synthetic faces (tolerance {TOLERANCE:g}).")
    parser.add_argument("run_dir", metavar="RUN_DIR", help=f"run directory holding {RunDir.MODEL}")
    parser.add_argument("--format", required=True, choices=FORMATS, help="artefact to write")
    parser.add_argument("--out", help=f"output path (default RUN_DIR/export/{RunDir.MODEL}, "
                                      "RUN_DIR/export/savedmodel or RUN_DIR/export/model.tflite)")
    parser.add_argument("--no-check", action="store_true",
                        help="skip comparing the export with the Keras model")
    parser.set_defaults(run=run)
    return parser
