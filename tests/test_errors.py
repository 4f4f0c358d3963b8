"""Every exception ferkit raises on purpose lives in ferkit/errors.py, under FerkitError, and
still derives from the built-in exception callers caught before the move."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

import ferkit.errors as errors

PACKAGE_ROOT = Path(__file__).resolve().parents[1] / "ferkit"

#: The built-in each error was (or was a subclass of) before it moved to ferkit/errors.py.
BUILT_IN_BASES = {
    "ConfigError": ValueError, "VoteRuleError": ValueError, "FilenameTemplateError": ValueError,
    "ManifestError": ValueError, "CKPlusFormatError": ValueError,
    "FER2013FormatError": ValueError, "DatasetLayoutError": ValueError,
    "UnknownLabelError": ValueError, "NoFaceError": ValueError,
    "ExportMismatchError": ValueError, "ManualFilesMissingError": FileNotFoundError,
    "NotARunDirectory": FileNotFoundError, "ImageReadError": OSError,
    # loading a model raised ValueError (a bad file) or FileNotFoundError (no file) before
    "ModelFileError": ValueError, "ModelNotFoundError": FileNotFoundError,
    "RunFormatError": ValueError,
}


def _exception_classes_outside_errors(package_root: Path) -> list[str]:
    """``path:line class Name`` for each class deriving from an ``...Error`` or ``...Exception``
    base outside errors.py (warning categories are not raised, so they may stay with their
    module)."""
    found = []
    for file in sorted(package_root.rglob("*.py")):
        if file.name == "errors.py" and file.parent == package_root:
            continue
        for node in ast.walk(ast.parse(file.read_text())):
            if isinstance(node, ast.ClassDef) and any(_is_exception_base(b) for b in node.bases):
                found.append(f"ferkit/{file.relative_to(package_root).as_posix()}:{node.lineno} "
                             f"class {node.name}")
    return found


def _is_exception_base(base: ast.expr) -> bool:
    name = base.attr if isinstance(base, ast.Attribute) else getattr(base, "id", "")
    return name.endswith(("Error", "Exception")) or name == "NotARunDirectory"


def test_exception_classes_live_only_in_errors():
    outside = _exception_classes_outside_errors(PACKAGE_ROOT)
    assert not outside, "define exceptions in ferkit/errors.py and import them:\n  " + "\n  ".join(
        outside)


def test_checker_finds_an_exception_class_elsewhere(tmp_path):
    package = tmp_path / "ferkit"
    (package / "data").mkdir(parents=True)
    (package / "errors.py").write_text("class FerkitError(Exception):\n    pass\n")
    (package / "data" / "x.py").write_text(
        "import ferkit.errors\n\n\nclass Odd(ferkit.errors.FerkitError):\n    pass\n\n\n"
        "class Skipped(UserWarning):\n    pass\n")
    assert _exception_classes_outside_errors(package) == ["ferkit/data/x.py:4 class Odd"]


@pytest.mark.parametrize("name", errors.__all__)
def test_every_error_is_a_ferkit_error(name):
    assert issubclass(getattr(errors, name), errors.FerkitError)


@pytest.mark.parametrize("name, built_in", sorted(BUILT_IN_BASES.items()))
def test_moved_errors_keep_their_built_in_base(name, built_in):
    assert issubclass(getattr(errors, name), built_in), f"{name} is no longer a {built_in.__name__}"


def test_config_error_from_ferkit_config_is_the_one_in_errors():
    from ferkit.config import ConfigError

    assert ConfigError is errors.ConfigError
