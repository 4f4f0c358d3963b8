"""``ferkit report RUN_DIR``: one self-contained HTML page of a finished run directory."""
from __future__ import annotations

import argparse

from ferkit.cli._argtypes import whole_number

#: ``ferkit.report.MAX_ROWS``, repeated so ``--help`` loads no pandas (the report tests check
#: that the two agree).
MAX_ROWS = 100


def run(args: argparse.Namespace) -> int:
    """Write the report and print where it went."""
    from ferkit.report import build_report

    path = build_report(args.run_dir, args.out, args.max_rows)
    print(f"wrote {path}")
    return 0


def register(commands) -> argparse.ArgumentParser:
    """Add ``report RUN_DIR [--out FILE] [--max-rows N]``."""
    parser = commands.add_parser("report", help="write a self-contained HTML report of a run "
                                                "directory")
    parser.add_argument("run_dir", help="run directory written by `ferkit train`")
    parser.add_argument("--out", help="HTML file to write (default RUN_DIR/report.html)")
    parser.add_argument("--max-rows", type=whole_number(1), default=MAX_ROWS,
                        help=f"rows shown per CSV table (default {MAX_ROWS})")
    parser.set_defaults(run=run)
    return parser
