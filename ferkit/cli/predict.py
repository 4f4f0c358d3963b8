"""``ferkit predict RUN_DIR INPUT``: expressions on an image, a folder of images or a video."""
from __future__ import annotations

import argparse
from pathlib import Path

from ferkit.runs import RunDir


def run(args: argparse.Namespace) -> int:
    """Print a table of faces; with ``--out`` write ``predictions.csv`` and annotated pictures."""
    from ferkit.inference.predictor import Predictor, predict_path, status_counts, summary_table

    predictor = Predictor.from_run(args.run_dir)
    face = "whole" if args.whole_image else "detect"
    frame = predict_path(predictor, args.input, args.out, face, args.every)
    print(summary_table(frame))
    counts = status_counts(frame)
    print(f"{counts['faces']} face(s); {counts['no_face']} image(s) or frame(s) without a face; "
          f"{counts['unreadable']} unreadable")
    if args.out:
        print(f"wrote {Path(args.out) / RunDir.PREDICTIONS} and annotated pictures")
    return 0


def register(commands) -> argparse.ArgumentParser:
    """Add ``predict RUN_DIR INPUT [--out DIR] [--whole-image] [--every N]``."""
    parser = commands.add_parser(
        "predict", help="predict expressions on an image, a folder of images or a video",
        description="Detect faces (or take whole images) and predict each face's expression "
                    "with a trained run. INPUT's kind is chosen by its extension.")
    parser.add_argument("run_dir", metavar="RUN_DIR",
                        help=f"run directory holding {RunDir.MODEL}")
    parser.add_argument("input", metavar="INPUT", help="an image, a folder of images, or a video")
    parser.add_argument("--out", help=f"folder for {RunDir.PREDICTIONS} and annotated pictures")
    parser.add_argument("--whole-image", action="store_true",
                        help="treat every image/frame as one face crop (CK+, FER2013) instead "
                             "of detecting faces")
    parser.add_argument("--every", type=int, default=1, metavar="N",
                        help="videos: predict every N-th frame (default 1)")
    parser.set_defaults(run=run)
    return parser
