"""``ferkit --help`` and every ``ferkit COMMAND --help`` load neither TensorFlow nor Keras.

Each runs in a fresh interpreter with ``-X importtime``, which lists every module it imported;
that list is the asserted fact. The wall time is printed (``pytest -s``) but not asserted:
``examples/benchmarks/cli_startup.py`` measures it.
"""
import subprocess
import sys
import time

import pytest

from ferkit.cli import COMMAND_MODULES

HEAVY = ("tensorflow", "keras")
HELP_COMMANDS = [[], *([name] for name in COMMAND_MODULES), ["data", "inspect"]]


def imported_modules(importtime_log: str) -> set[str]:
    """Module names from ``-X importtime`` lines (``import time: self | cumulative | name``)."""
    return {line.rsplit("|", 1)[1].strip() for line in importtime_log.splitlines()
            if line.startswith("import time:") and "|" in line}


def heavy_modules(modules: set[str]) -> list[str]:
    return sorted(name for name in modules if name.split(".")[0] in HEAVY)


def test_imported_modules_reads_the_importtime_format():
    log = ("import time: self [us] | cumulative | imported package\n"
           "import time:       120 |        120 |   keras.src\n"
           "import time:        80 |        200 | tensorflow\n")
    modules = imported_modules(log)
    assert heavy_modules(modules) == ["keras.src", "tensorflow"]


@pytest.mark.parametrize("command", HELP_COMMANDS, ids=lambda c: " ".join(c) or "ferkit")
def test_help_imports_no_tensorflow(command):
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-X", "importtime", "-m", "ferkit", *command, "--help"],
                          capture_output=True, text=True, timeout=300)
    seconds = time.perf_counter() - started
    print(f"ferkit {' '.join(command)} --help: {seconds:.2f} s")
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.startswith(f"usage: ferkit {' '.join(command)}".rstrip()), done.stdout
    heavy = heavy_modules(imported_modules(done.stderr))
    assert not heavy, f"ferkit {' '.join(command)} --help imported {heavy[:5]}"
