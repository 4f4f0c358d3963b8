"""``ferkit predict [RUN_DIR] INPUT``: expressions on an image, a folder of images or a video.

With no run the shipped preset ``fer2013`` predicts (``--preset`` picks another, ``ferkit
presets`` lists them); ``--run RUN_DIR`` or the older two-positional form uses a trained run.
``--camera N`` reads a webcam instead of INPUT.
"""
from __future__ import annotations

import argparse
from pathlib import Path

from ferkit.cli._argtypes import whole_number
from ferkit.runs import RunDir

#: The preset used when neither a run nor ``--preset`` is given (as in ferkit.models.pretrained,
#: which imports TensorFlow and so cannot be imported here).
DEFAULT_PRESET = "fer2013"
#: The speed options' defaults and smallest values, as in ferkit.inference.predictor (which
#: imports TensorFlow); a test keeps the two in step.
DEFAULT_BATCH_SIZE, DEFAULT_WORKERS, DEFAULT_DETECT_SIZE = 64, 2, 128
MIN_DETECT_SIZE = 20


def model_source(args: argparse.Namespace) -> tuple[str, str]:
    """``("run", RUN_DIR)`` or ``("preset", NAME)`` from the positionals and options.

    The positionals are ``INPUT`` or ``RUN_DIR INPUT``; with ``--camera`` there is no INPUT,
    so they are nothing or ``RUN_DIR``.
    """
    inputs = 0 if getattr(args, "camera", None) is not None else 1
    expected = "[RUN_DIR]" if inputs == 0 else "[RUN_DIR] INPUT"
    if not inputs <= len(args.paths) <= inputs + 1:
        raise ValueError(f"expected {expected}, got {len(args.paths)} path(s): "
                         f"{' '.join(args.paths) or 'none'}")
    positional_run = args.paths[0] if len(args.paths) > inputs else None
    given = [flag for flag, value in (("RUN_DIR", positional_run), ("--run", args.run_dir),
                                      ("--preset", args.preset)) if value]
    if len(given) > 1:
        raise ValueError(f"give one model: {' and '.join(given)} were both given")
    if positional_run or args.run_dir:
        return "run", positional_run or args.run_dir
    if getattr(args, "model_file", None):
        raise ValueError("--model-file is a file of a run: give the run too (--run RUN_DIR), "
                         "whose preprocessing.json it is predicted with")
    return "preset", args.preset or DEFAULT_PRESET


def run(args: argparse.Namespace) -> int:
    """Print a table of faces; with ``--out`` write ``predictions.csv`` and annotated pictures."""
    from ferkit.inference.predictor import (Predictor, predict_camera_to, predict_path,
                                            status_counts, summary_table)

    kind, name = model_source(args)
    model_file = getattr(args, "model_file", None)
    options = dict(detector=args.detector, align=not args.no_align, batch_size=args.batch_size,
                   workers=args.workers, detect_size=args.detect_size)
    predictor = (Predictor.from_run(name, model_file=model_file, **options) if kind == "run"
                 else Predictor.from_preset(name, **options))
    face = "whole" if args.whole_image else "detect"
    progress = False if args.quiet else None
    if args.camera is not None:
        frame = predict_camera_to(predictor, args.camera, args.out, face, args.every,
                                  progress=progress)
    else:
        frame = predict_path(predictor, args.paths[-1], args.out, face, args.every, progress)
    print(summary_table(frame))
    counts = status_counts(frame)
    print(f"{counts['faces']} face(s); {counts['no_face']} image(s) or frame(s) without a face; "
          f"{counts['unreadable']} unreadable ({kind} {name}"
          f"{', model ' + model_file if model_file else ''})")
    if args.out:
        print(f"wrote {Path(args.out) / RunDir.PREDICTIONS} and annotated pictures")
    return 0


def register(commands) -> argparse.ArgumentParser:
    """Add ``predict [RUN_DIR] INPUT [--run RUN_DIR | --preset NAME] [--out DIR] ...``."""
    parser = commands.add_parser(
        "predict", help="predict expressions on an image, a folder of images or a video",
        description="Detect faces (or take whole images) and predict each face's expression. "
                    f"With no run, the shipped preset {DEFAULT_PRESET!r} predicts (no training, "
                    "no download). INPUT's kind is chosen by its extension.",
        usage="ferkit predict [-h] [--run RUN_DIR [--model-file FILE] | --preset NAME]\n"
              "                      [--out OUT] [--whole-image]\n"
              "                      [--detector NAME] [--no-align] [--every N] [--camera N]\n"
              "                      [--batch-size N] [--workers N] [--detect-size PIXELS]\n"
              "                      [--quiet] [RUN_DIR] INPUT")
    parser.add_argument("paths", nargs="*", metavar="[RUN_DIR] INPUT",
                        help="an image, a folder of images, or a video; an older form puts a "
                             f"run directory (holding {RunDir.MODEL}) first")
    models = parser.add_mutually_exclusive_group()
    models.add_argument("--run", dest="run_dir", metavar="RUN_DIR",
                        help=f"predict with a trained run directory (holding {RunDir.MODEL})")
    models.add_argument("--preset", metavar="NAME",
                        help=f"a shipped pretrained model (default {DEFAULT_PRESET}; "
                             "'ferkit presets' lists them)")
    parser.add_argument("--model-file", metavar="FILE",
                        help=f"with a run: predict with this file instead of its {RunDir.MODEL}, "
                             "e.g. its int8 export (ferkit export RUN --format tflite --quantize "
                             "int8 writes RUN/export/model_int8.tflite)")
    parser.add_argument("--out", help=f"folder for {RunDir.PREDICTIONS} and annotated pictures")
    parser.add_argument("--whole-image", action="store_true",
                        help="treat every image/frame as one face crop (CK+, FER2013) instead "
                             "of detecting faces")
    parser.add_argument("--detector", metavar="NAME",
                        help="face detector: mtcnn (the default where it is installed) or haar")
    parser.add_argument("--no-align", action="store_true",
                        help="crop detected faces without rotating the eyes level")
    parser.add_argument("--every", type=whole_number(1), default=1, metavar="N",
                        help="videos and the camera: predict every N-th frame (default 1)")
    parser.add_argument("--camera", type=int, metavar="N",
                        help="read webcam N instead of INPUT, until Ctrl-C")
    parser.add_argument("--batch-size", type=whole_number(1),
                        default=DEFAULT_BATCH_SIZE, metavar="N",
                        help="images per detector call and faces per model call "
                             f"(default {DEFAULT_BATCH_SIZE})")
    parser.add_argument("--workers", type=whole_number(0), default=DEFAULT_WORKERS,
                        metavar="N", help="threads decoding the next images of a folder "
                                          f"(default {DEFAULT_WORKERS}; 0: none)")
    parser.add_argument("--detect-size", type=whole_number(MIN_DETECT_SIZE),
                        default=DEFAULT_DETECT_SIZE, metavar="PIXELS",
                        help="the detector sees each image with its longer side at most this "
                             f"(default {DEFAULT_DETECT_SIZE}), and images without a face again "
                             f"at full size; faces under about {MIN_DETECT_SIZE}/PIXELS of the "
                             "longer side beside a larger one are missed, so raise it (e.g. "
                             "1024) for group photos")
    parser.add_argument("--quiet", action="store_true",
                        help="no progress bar on folders, videos and the camera")
    parser.set_defaults(run=run)
    return parser
