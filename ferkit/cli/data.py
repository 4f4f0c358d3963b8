"""``ferkit data``: dataset tools (inspect)."""
from __future__ import annotations

from pathlib import Path


def run(args) -> int:
    """``ferkit data inspect``: print the dataset summary and write its plots."""
    from ferkit.data.inspect import inspect_dataset

    out = args.out or str(Path("runs") / "inspect" / Path(args.path).name.split(".")[0])
    print(inspect_dataset(args.path, out, duplicates=not args.no_duplicates).to_text())
    return 0


def register(commands) -> None:
    data = commands.add_parser("data", help="dataset tools").add_subparsers(
        dest="data_command", metavar="DATA_COMMAND", required=True)
    inspect = data.add_parser("inspect", help="detect a dataset's format, count it, find "
                                              "duplicates and plot it")
    inspect.add_argument("path", help="FER2013 CSV (or its folder), CK+ tree, manifest CSV or "
                                      "class folders")
    inspect.add_argument("--out", help="folder for plots and counts (default runs/inspect/NAME)")
    inspect.add_argument("--no-duplicates", action="store_true", help="skip duplicate hashing")
    inspect.set_defaults(run=run)
