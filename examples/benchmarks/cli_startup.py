"""Start-up time of ``ferkit --help`` and of every ``ferkit COMMAND --help``.

    python examples/benchmarks/cli_startup.py               # median of 5 runs per command
    python examples/benchmarks/cli_startup.py --repeats 11 --json startup.json
    python examples/benchmarks/cli_startup.py --smoke       # one run each (tests)

Each help runs in a fresh interpreter (``python -m ferkit ... --help``), timed from the
process start to its exit, so the figure is what a user waits at the shell. A separate
``-X importtime`` run per command counts the modules it imported and says whether TensorFlow
or Keras was among them. Prints one markdown row per command.
"""
from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time

from ferkit.cli import COMMAND_MODULES

HEAVY = ("tensorflow", "keras")
TARGET_SECONDS = 1.0


def help_commands() -> list[list[str]]:
    """``[]`` (bare ``ferkit``), each command, and ``data inspect``."""
    return [[], *([name] for name in COMMAND_MODULES), ["data", "inspect"]]


def help_seconds(command: list[str]) -> float:
    """Wall seconds of one ``python -m ferkit COMMAND --help`` in a fresh interpreter."""
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "ferkit", *command, "--help"], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - started


def imported_modules(command: list[str]) -> set[str]:
    """Every module one help imports, read from a ``-X importtime`` run."""
    done = subprocess.run([sys.executable, "-X", "importtime", "-m", "ferkit", *command,
                           "--help"], capture_output=True, text=True, check=True)
    return {line.rsplit("|", 1)[1].strip() for line in done.stderr.splitlines()
            if line.startswith("import time:") and "|" in line}


def measure(repeats: int) -> list[dict]:
    rows = []
    for command in help_commands():
        seconds = [help_seconds(command) for _ in range(repeats)]
        modules = imported_modules(command)
        heavy = sorted({name.split(".")[0] for name in modules} & set(HEAVY))
        rows.append({"command": " ".join(["ferkit", *command, "--help"]),
                     "median_s": statistics.median(seconds), "max_s": max(seconds),
                     "modules": len(modules), "heavy_imports": heavy})
    return rows


def table(rows: list[dict], repeats: int) -> str:
    lines = [f"| command | median s ({repeats} runs) | max s | modules imported "
             f"| TensorFlow/Keras imported |", "|---|---|---|---|---|"]
    for row in rows:
        heavy = ", ".join(row["heavy_imports"]) or "no"
        lines.append(f"| `{row['command']}` | {row['median_s']:.2f} | {row['max_s']:.2f} "
                     f"| {row['modules']} | {heavy} |")
    return "\n".join(lines)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5, help="timed runs per command")
    parser.add_argument("--json", help="also write the rows to this JSON file")
    parser.add_argument("--smoke", action="store_true", help="one timed run per command")
    args = parser.parse_args(argv)
    repeats = 1 if args.smoke else args.repeats
    rows = measure(repeats)
    print(table(rows, repeats))
    slow = [row["command"] for row in rows if row["median_s"] >= TARGET_SECONDS]
    print(f"\ncommands at or over {TARGET_SECONDS:.0f} s: {', '.join(slow) or 'none'}")
    if args.json:
        with open(args.json, "w") as handle:
            json.dump({"python": sys.version.split()[0], "repeats": repeats, "rows": rows},
                      handle, indent=2)


if __name__ == "__main__":
    main()
