"""``ferkit presets``: the pretrained models shipped inside the package."""
from __future__ import annotations

import argparse

#: Columns of the table, in order, and their headers.
COLUMNS = {"name": "name", "classes": "classes", "aus": "AUs", "training_data": "training data",
           "parameters": "params", "accuracy": "accuracy", "weights_mb": "MB"}


def accuracy_text(accuracy: dict[str, float]) -> str:
    """The headline figures: test accuracy / macro-F1, de-duplicated when measured."""
    parts = []
    for subset, label in (("test", "test"), ("test_dedup", "dedup")):
        if f"{subset}_accuracy" in accuracy:
            parts.append(f"{label} {accuracy[f'{subset}_accuracy']:.4f} acc / "
                         f"{accuracy.get(f'{subset}_macro_f1', float('nan')):.4f} F1")
    if "run_test_au_micro_f1" in accuracy:
        parts.append(f"AU {accuracy['run_test_au_micro_f1']:.3f} micro-F1")
    return "; ".join(parts) or "-"


def run(args: argparse.Namespace) -> int:
    """Print one row per preset (or only ``NAME``'s), then each one's licence note and
    training command; an unknown ``NAME`` is a :class:`ferkit.errors.PresetError`."""
    from ferkit.models.pretrained import DEFAULT_PRESET, list_presets, preset_info, presets_frame

    frame = presets_frame()
    if frame.empty:
        print("no presets are shipped with this ferkit")
        return 1
    infos = {info.name: info for info in list_presets()}
    if args.name:
        infos = {args.name: preset_info(args.name)}
        frame = frame[frame["name"] == args.name].copy()
    frame["accuracy"] = frame["name"].map(lambda name: accuracy_text(infos[name].accuracy))
    frame["name"] = frame["name"].map(lambda n: f"{n} (default)" if n == DEFAULT_PRESET else n)
    table = frame[list(COLUMNS)].rename(columns=COLUMNS)
    formats = {"MB": "{:.1f}".format, "params": lambda n: f"{n / 1e6:.2f} M"}
    print(table.to_string(index=False, formatters=formats))
    for info in infos.values():
        print(f"\n{info.name}: {info.description}\n  made by: {info.command}\n"
              f"  licence: {info.licence}")
    return 0


def register(commands) -> argparse.ArgumentParser:
    """Add ``presets [NAME]``."""
    parser = commands.add_parser(
        "presets", help="list the pretrained models shipped with ferkit",
        description="List the pretrained presets inside the package (no download): classes, "
                    "training data, parameters, accuracy, the command that made each, licence. "
                    "Use one with 'ferkit predict PHOTO --preset NAME'.")
    parser.add_argument("name", nargs="?", metavar="NAME",
                        help="show only this preset (default: every shipped one)")
    parser.set_defaults(run=run)
    return parser
