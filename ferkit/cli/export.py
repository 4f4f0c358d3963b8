"""``ferkit export RUN_DIR --format F [--quantize Q]``: write a run's model as .keras,
SavedModel or TFLite (float32, float16 or int8) and check it against the Keras model."""
from __future__ import annotations

import argparse

from ferkit.runs import RunDir

#: The artefacts ``ferkit.export`` writes (its ``FORMATS``; repeated so ``--help`` loads no
#: TensorFlow, and checked equal by the export tests).
FORMATS = ("keras", "savedmodel", "tflite")
#: ``ferkit.export.QUANTIZATIONS``, repeated for the same reason.
QUANTIZATIONS = ("none", "float16", "int8")
#: ``ferkit.export.TOLERANCE``, repeated for the help text only.
TOLERANCE = 1e-5
#: ``ferkit.export.MAX_DROP_POINTS`` and ``DEFAULT_CALIBRATION_IMAGES``, for the defaults.
MAX_DROP_POINTS = 0.5
CALIBRATION_IMAGES = 300


def run(args: argparse.Namespace) -> int:
    """Write the artefact, then (unless ``--no-check``) compare it with the Keras model."""
    from ferkit import export

    export.check_format(args.format, args.quantize)
    path = export.export_model(args.run_dir, args.format, args.out, quantize=args.quantize,
                               data=args.data, calibration_images=args.calibration_images)
    calibrated = args.calibration_images if args.quantize == "int8" else None
    print(f"exported {_described(args.format, args.quantize)} model to {path} "
          f"({export.artefact_size(path):,} bytes"
          + (f"; int8 calibrated on {calibrated} training images)" if calibrated else ")"))
    if args.no_check:
        return 0
    if args.quantize == "none":
        _check_outputs(export, args.run_dir, path, args.format)
    data_path = export.run_data_path(args.run_dir, args.data)
    if args.quantize == "none" and (data_path is None or not data_path.exists()):
        print(f"parity: skipped, the run's data ({data_path or 'synthesised'}) is not here; "
              "pass --data to score the export on the run's evaluation split")
        return 0
    report = export.check_parity(args.run_dir, path, data=args.data, quantize=args.quantize,
                                 max_drop=args.max_drop, calibration_images=calibrated,
                                 fail=not args.warn_on_drop)
    print(f"parity on {report.split}: accuracy {report.export_accuracy:.4f} (export) vs "
          f"{report.keras_accuracy:.4f} (Keras), drop {report.drop_points:+.2f} points "
          f"(at most {report.max_drop_points:g}), label agreement {report.label_agreement:.4f}"
          f"{'' if report.passed else ' -- ABOVE --max-drop'}; report "
          f"{export.preprocessing_folder(path, args.format) / export.REPORT_MARKDOWN}")
    return 0


def _described(format: str, quantize: str) -> str:
    return format if quantize == "none" else f"{format} ({quantize})"


def _check_outputs(export, run_dir: str, path, format: str) -> None:
    from ferkit.runs import load_preprocessing

    preprocessing = load_preprocessing(export.preprocessing_folder(path, format))
    images = export.synthetic_check_images(preprocessing)
    difference = export.check_export(run_dir, path, images)
    print(f"check: max |export - keras| = {difference:.2e} on {len(images)} synthetic faces "
          f"(tolerance {export.TOLERANCE:g})")


def _points(text: str) -> float:
    value = float(text)
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"must be >= 0 accuracy points, got {text}")
    return value


def _count(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number >= 1, got {text}")
    return value


def register(commands) -> argparse.ArgumentParser:
    """Add ``export RUN_DIR --format keras|savedmodel|tflite [--quantize none|float16|int8]``."""
    parser = commands.add_parser(
        "export", help="export a run's model (.keras, SavedModel or TFLite) and check it",
        description=f"Export RUN_DIR/{RunDir.MODEL}; compare float32 exports with the Keras model "
                    f"on synthetic faces (tolerance {TOLERANCE:g}), and every export's accuracy "
                    "with the Keras model's on the run's evaluation split (export_report.json "
                    "and .md beside the artefact).")
    parser.add_argument("run_dir", metavar="RUN_DIR", help=f"run directory holding {RunDir.MODEL}")
    parser.add_argument("--format", required=True, choices=FORMATS, help="artefact to write")
    parser.add_argument("--quantize", choices=QUANTIZATIONS, default="none",
                        help="TFLite only: none (float32), float16 (float16 weights) or int8 "
                             "(full-integer, float32 input and output; default none)")
    parser.add_argument("--calibration-images", type=_count, default=CALIBRATION_IMAGES,
                        metavar="N", help="int8: training images to calibrate on (default "
                                          f"{CALIBRATION_IMAGES})")
    parser.add_argument("--data", help="the run's dataset (default: its config's data.path); "
                                       "calibration and parity read it with the run's settings")
    parser.add_argument("--max-drop", type=_points, default=MAX_DROP_POINTS, metavar="POINTS",
                        help="largest accuracy drop against the Keras model (default "
                             f"{MAX_DROP_POINTS:g} points)")
    parser.add_argument("--warn-on-drop", action="store_true",
                        help="warn instead of failing when the drop exceeds --max-drop")
    parser.add_argument("--out", help=f"output path (default RUN_DIR/export/{RunDir.MODEL}, "
                                      "RUN_DIR/export/savedmodel, RUN_DIR/export/model.tflite or "
                                      "RUN_DIR/export/model_<quantize>.tflite)")
    parser.add_argument("--no-check", action="store_true",
                        help="skip comparing the export with the Keras model")
    parser.set_defaults(run=run)
    return parser
