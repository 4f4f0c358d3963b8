"""The import contract: ferkit's packages form one-way floors, with no import cycles.

Every ``import ferkit...`` / ``from ferkit... import ...`` anywhere in a module (top level,
inside functions, under ``if TYPE_CHECKING``) counts: a lower floor never imports a higher one,
and siblings on one floor (training / evaluation; inference / export / tuning) never import
each other. Floors, lowest first::

    0 errors, runs, config (+ plotting, a matplotlib-only leaf helper; _faults, the kill -9
      tests' fault points, standard library only)
    1 data   2 layers   3 models   4 training | evaluation   5 inference | export | tuning
    6 workflows   7 report   8 cli

Inside floor 0, errors and plotting import no ferkit module, runs only errors, and config only
errors and runs. ``ferkit/__init__.py`` imports nothing heavy (at most ``ferkit.errors``; the
``ferkit.Predictor`` entry point only on first use); ``ferkit/__main__.py`` sits above cli. Importing the bare ``ferkit`` package (for ``__version__``) is allowed anywhere.
The checker reads the source with :mod:`ast`, so it needs no import-linter and imports nothing.
"""
from __future__ import annotations

import ast
import dataclasses
import json
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE_ROOT = Path(__file__).resolve().parents[1] / "ferkit"

FLOORS: tuple[tuple[str, ...], ...] = (
    ("errors", "runs", "config", "plotting", "_faults"),
    ("data",),
    ("layers",),
    ("models",),
    ("training", "evaluation"),
    ("inference", "export", "tuning"),
    ("workflows",),
    ("report",),
    ("cli",),
)
#: Floors whose packages are siblings: none of them may import another.
SIBLING_FLOORS = frozenset({4, 5})
#: The top-level modules ``ferkit/__init__.py`` may import.
INIT_MAY_IMPORT = frozenset({"ferkit.errors"})
#: What ``ferkit/__init__.py`` may expose lazily (PEP 562 ``__getattr__``, imported on first use
#: only): the one-line entry points, e.g. ``ferkit.Predictor.from_preset("fer2013")``.
INIT_LAZY_FACADE = frozenset({"ferkit.inference"})
MAIN_FLOOR = len(FLOORS)
FLOOR_OF = {part: floor for floor, parts in enumerate(FLOORS) for part in parts}


@dataclasses.dataclass(frozen=True)
class Import:
    """One ``ferkit`` import: who imports what, where, and whether it runs at import time."""

    source: str          # importing module, e.g. "ferkit.data.augment"
    path: str            # its file, relative to the repository root
    line: int
    target: str          # imported module, e.g. "ferkit.config" or "ferkit.models.registry"
    module_level: bool   # runs when the importer is imported (not in a function or TYPE_CHECKING)


# ----------------------------------------------------------------------------- reading the tree
def module_name(file: Path, package_root: Path) -> str:
    """``<root>/data/augment.py`` -> ``ferkit.data.augment``; a package's ``__init__`` -> the
    package."""
    parts = [package_root.name, *file.relative_to(package_root).with_suffix("").parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def known_modules(package_root: Path) -> set[str]:
    return {module_name(file, package_root) for file in package_root.rglob("*.py")}


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _import_nodes(tree: ast.Module):
    """Every import node with whether it runs at module import (not deferred)."""
    def visit(node, module_level):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.Import, ast.ImportFrom)):
                yield child, module_level
            deferred = isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)) or (
                isinstance(child, ast.If) and _is_type_checking(child))
            yield from visit(child, module_level and not deferred)
    yield from visit(tree, True)


def _base_of(node: ast.ImportFrom, source: str, is_package: bool) -> str:
    """The absolute module a ``from X import ...`` names, relative forms resolved."""
    if not node.level:
        return node.module or ""
    anchor = source.split(".") if is_package else source.split(".")[:-1]
    anchor = anchor[:len(anchor) - (node.level - 1)]
    return ".".join(anchor + ([node.module] if node.module else []))


def _targets(node, source: str, is_package: bool, modules: set[str]) -> list[str]:
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    base = _base_of(node, source, is_package)
    submodules = [f"{base}.{alias.name}" for alias in node.names
                  if f"{base}.{alias.name}" in modules]
    names_in_base = len(submodules) < len(node.names)
    return submodules + ([base] if names_in_base or not submodules else [])


def _dynamic_targets(tree: ast.Module, modules: set[str]):
    """Imports by name: ``importlib.import_module("ferkit.x")`` or ``f"ferkit.x.{name}"`` (the
    package before the placeholder), and any string that is exactly a module's name (lazy
    export tables such as ``{"cross_validate": "ferkit.workflows.kfold"}``)."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value in modules:
            yield node.lineno, node.value
        elif isinstance(node, ast.JoinedStr) and node.values and isinstance(
                node.values[0], ast.Constant) and isinstance(node.values[0].value, str):
            prefix = node.values[0].value.rstrip(".")
            if prefix in modules and node.values[0].value.endswith("."):
                yield node.lineno, prefix


def collect_imports(package_root: Path) -> list[Import]:
    """Every import of the package's own modules, in every file under ``package_root``:
    import statements (``module_level`` when they run at import time) and imports by name
    (always deferred)."""
    modules = known_modules(package_root)
    top = package_root.name
    found = []
    for file in sorted(package_root.rglob("*.py")):
        source = module_name(file, package_root)
        tree = ast.parse(file.read_text(), filename=str(file))
        relative = f"{top}/{file.relative_to(package_root).as_posix()}"
        for node, module_level in _import_nodes(tree):
            for target in _targets(node, source, file.name == "__init__.py", modules):
                if target == top or target.startswith(top + "."):
                    found.append(Import(source, relative, node.lineno, target, module_level))
        for line, target in _dynamic_targets(tree, modules):
            if target != source:
                found.append(Import(source, relative, line, target, False))
    return sorted(found, key=lambda record: (record.path, record.line, record.target))


# ----------------------------------------------------------------------------- the rules
def floor_of(module: str) -> int | None:
    """The floor of ``ferkit.<part>...``; ``__main__`` is above cli; None: not on any floor."""
    parts = module.split(".")
    if len(parts) == 1:
        return None
    if parts[1] == "__main__":
        return MAIN_FLOOR
    return FLOOR_OF.get(parts[1])


def _floor_label(module: str) -> str:
    floor = floor_of(module)
    part = module.split(".")[1]
    return f"layer {floor} {part}"


def violation(record: Import) -> str | None:
    """Why ``record`` breaks the contract, or None when it keeps it."""
    source, target = record.source, record.target
    where = f"{record.path}:{record.line} imports {target}"
    if target.count(".") == 0:
        return None  # the bare package (``import ferkit`` for ``__version__``) is light
    if source.count(".") == 0:
        allowed = set(INIT_MAY_IMPORT) | (set() if record.module_level else set(INIT_LAZY_FACADE))
        if any(target == name or target.startswith(name + ".") for name in allowed):
            return None
        return (f"{where} (the package __init__ may import only ferkit.errors, and lazily "
                f"{', '.join(sorted(INIT_LAZY_FACADE))})")
    from_floor, to_floor = floor_of(source), floor_of(target)
    if from_floor is None or to_floor is None:
        unplaced = source if from_floor is None else target
        return f"{where} ({unplaced} is on no layer: add it to FLOORS or move it)"
    if to_floor == MAIN_FLOOR:
        return f"{where} (nothing may import ferkit.__main__)"
    same_package = source.split(".")[1] == target.split(".")[1]
    if from_floor < to_floor:
        return f"{where} ({_floor_label(source)} -> {_floor_label(target)})"
    if from_floor == to_floor and not same_package and from_floor in SIBLING_FLOORS:
        return f"{where} ({_floor_label(source)} -> {_floor_label(target)}, siblings)"
    return None


def wrong_way_imports(records: list[Import]) -> list[str]:
    return [message for record in records if (message := violation(record))]


def import_cycles(records: list[Import]) -> list[list[str]]:
    """Groups of modules that import each other at module level (Tarjan's strongly connected
    components), each sorted. Edges are the modules an import names (``from ferkit.a import
    b`` names ``ferkit.a.b`` when b is a submodule, else ``ferkit.a``), not the parent
    packages Python initialises on the way."""
    graph: dict[str, set[str]] = {}
    for record in records:
        if record.module_level and record.source != record.target:
            graph.setdefault(record.source, set()).add(record.target)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []

    def connect(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in graph.get(node, ()):
            if nxt not in index:
                connect(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                cycles.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            connect(node)
    return sorted(cycles)


# ----------------------------------------------------------------------------- the real tree
def test_no_wrong_way_imports():
    problems = wrong_way_imports(collect_imports(PACKAGE_ROOT))
    assert not problems, (f"{len(problems)} import(s) go the wrong way:\n  "
                          + "\n  ".join(problems))


def test_no_import_cycles_at_module_level():
    cycles = import_cycles(collect_imports(PACKAGE_ROOT))
    assert not cycles, "modules that import each other at module level:\n  " + "\n  ".join(
        " <-> ".join(cycle) for cycle in cycles)


def test_every_top_level_module_is_on_a_floor():
    parts = {name.split(".")[1] for name in known_modules(PACKAGE_ROOT) if name.count(".")}
    unplaced = sorted(parts - set(FLOOR_OF) - {"__main__"})
    assert not unplaced, f"ferkit/{unplaced} belong to no layer: add them to FLOORS or move them"


#: Within floor 0, what each part may import: errors and plotting are leaves, runs reads
#: errors, config reads both (and itself).
FOUNDATION_MAY_IMPORT = {"errors": set(), "plotting": set(), "_faults": set(),
                         "runs": {"errors"}, "config": {"errors", "runs", "config"}}


def foundation_violations(records: list[Import]) -> list[str]:
    problems = []
    for record in records:
        parts, target_parts = record.source.split("."), record.target.split(".")
        if len(parts) < 2 or parts[1] not in FOUNDATION_MAY_IMPORT or len(target_parts) < 2:
            continue
        if target_parts[1] not in FOUNDATION_MAY_IMPORT[parts[1]]:
            allowed = sorted(FOUNDATION_MAY_IMPORT[parts[1]]) or "no ferkit module"
            problems.append(f"{record.path}:{record.line} imports {record.target} "
                            f"(ferkit.{parts[1]} may import {allowed})")
    return problems


def test_foundation_modules_import_only_below_them():
    problems = foundation_violations(collect_imports(PACKAGE_ROOT))
    assert not problems, "\n  ".join(["floor 0 imports out of order:", *problems])


_PROBE = """
import json, os, sys
before = dict(os.environ)
import {module}
print(json.dumps({{"tensorflow": "tensorflow" in sys.modules, "keras": "keras" in sys.modules,
                  "changed": sorted(k for k in set(before) | set(os.environ)
                                    if before.get(k) != os.environ.get(k))}}))
"""


@pytest.mark.parametrize("module", ["ferkit", "ferkit.config"])
def test_import_loads_no_tensorflow_and_leaves_the_environment(module):
    result = subprocess.run([sys.executable, "-c", _PROBE.format(module=module)],
                            capture_output=True, text=True, check=True)
    seen = json.loads(result.stdout.strip().splitlines()[-1])
    assert not seen["tensorflow"] and not seen["keras"], f"import {module} loaded TensorFlow/Keras"
    assert not seen["changed"], f"import {module} changed os.environ: {seen['changed']}"


# ----------------------------------------------------------------------------- the checker itself
def _write_tree(root: Path, files: dict[str, str]) -> Path:
    package = root / "ferkit"
    for relative, text in files.items():
        path = package / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return package


def test_checker_flags_wrong_way_sibling_and_deferred_imports(tmp_path):
    package = _write_tree(tmp_path, {
        "__init__.py": "from ferkit.errors import FerkitError\n",
        "errors.py": "",
        "cli/__init__.py": "",
        "data/__init__.py": "",
        "data/loader.py": "import ferkit\nfrom ferkit.errors import FerkitError\n\n\n"
                          "def run():\n    from ferkit.cli import main\n",
        "training/__init__.py": "",
        "training/fit.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
                           "    import ferkit.evaluation.metrics\n",
        "evaluation/__init__.py": "from . import metrics\n",
        "evaluation/metrics.py": "from ..data import loader\n",
    })
    problems = wrong_way_imports(collect_imports(package))
    assert problems == [
        "ferkit/data/loader.py:6 imports ferkit.cli (layer 1 data -> layer 8 cli)",
        "ferkit/training/fit.py:3 imports ferkit.evaluation.metrics "
        "(layer 4 training -> layer 4 evaluation, siblings)",
    ]


def test_the_package_init_may_serve_inference_lazily_but_not_import_it(tmp_path):
    lazy = ("import importlib\n_LAZY = {'Predictor': 'ferkit.inference'}\n\n\n"
            "def __getattr__(name):\n    return importlib.import_module(_LAZY[name])\n")
    package = _write_tree(tmp_path, {"__init__.py": lazy, "inference/__init__.py": ""})
    assert wrong_way_imports(collect_imports(package)) == []
    eager = _write_tree(tmp_path / "eager", {"__init__.py": "import ferkit.inference\n",
                                             "inference/__init__.py": ""})
    assert wrong_way_imports(collect_imports(eager)) == [
        "ferkit/__init__.py:1 imports ferkit.inference (the package __init__ may import only "
        "ferkit.errors, and lazily ferkit.inference)"]


def test_checker_flags_a_heavy_package_init_and_unplaced_modules(tmp_path):
    package = _write_tree(tmp_path, {"__init__.py": "import ferkit.models\n",
                                     "models.py": "import ferkit.gadgets\n", "gadgets.py": ""})
    assert wrong_way_imports(collect_imports(package)) == [
        "ferkit/__init__.py:1 imports ferkit.models (the package __init__ may import only "
        "ferkit.errors, and lazily ferkit.inference)",
        "ferkit/models.py:1 imports ferkit.gadgets (ferkit.gadgets is on no layer: add it to "
        "FLOORS or move it)",
    ]


def test_checker_flags_imports_by_name(tmp_path):
    package = _write_tree(tmp_path, {
        "__init__.py": "",
        "data/__init__.py": "import importlib\n_EXPORTS = {'fit': 'ferkit.training.fit'}\n\n\n"
                            "def get(name):\n"
                            "    return importlib.import_module(f'ferkit.cli.{name}')\n",
        "training/__init__.py": "", "training/fit.py": "", "cli/__init__.py": "",
    })
    assert wrong_way_imports(collect_imports(package)) == [
        "ferkit/data/__init__.py:2 imports ferkit.training.fit (layer 1 data -> layer 4 training)",
        "ferkit/data/__init__.py:6 imports ferkit.cli (layer 1 data -> layer 8 cli)",
    ]


def test_checker_orders_the_foundation(tmp_path):
    package = _write_tree(tmp_path, {
        "__init__.py": "", "errors.py": "", "runs.py": "from ferkit.errors import FerkitError\n",
        "config/__init__.py": "from ferkit import runs\nimport ferkit.plotting\n",
        "plotting.py": "",
    })
    assert foundation_violations(collect_imports(package)) == [
        "ferkit/config/__init__.py:2 imports ferkit.plotting "
        "(ferkit.config may import ['config', 'errors', 'runs'])"]


def test_checker_finds_module_level_cycles_only(tmp_path):
    package = _write_tree(tmp_path, {
        "__init__.py": "",
        "data/__init__.py": "",
        "data/a.py": "from ferkit.data import b\n",
        "data/b.py": "import ferkit.data.a\n",
        "data/c.py": "def f():\n    from ferkit.data import d\n",
        "data/d.py": "from ferkit.data.c import f\n",
    })
    assert import_cycles(collect_imports(package)) == [["ferkit.data.a", "ferkit.data.b"]]
