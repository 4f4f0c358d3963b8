"""``ferkit synth``: write a synthetic FACS-face dataset."""
from __future__ import annotations

from pathlib import Path

def run(args) -> int:
    from ferkit.data import synthetic

    root = synthetic.write_ckplus(args.out, n_subjects=args.subjects,
                                  sequences_per_subject=args.sequences,
                                  frames_per_sequence=args.frames, seed=args.seed,
                                  layout=args.layout)
    print(f"wrote a synthetic CK+ tree ({args.layout} layout, {args.subjects} subjects) to {root}")
    return 0


def register(commands) -> None:
    synth = commands.add_parser("synth", help="write a synthetic FACS-face dataset in CK+ layout")
    synth.add_argument("out", help="folder to write the CK+ tree into")
    synth.add_argument("--subjects", type=int, default=40)
    synth.add_argument("--sequences", type=int, default=7, help="sequences per subject")
    synth.add_argument("--frames", type=int, default=6, help="frames per sequence")
    synth.add_argument("--layout", choices=("full", "ck48"), default="full")
    synth.add_argument("--seed", type=int, default=0)
    synth.set_defaults(run=run)
