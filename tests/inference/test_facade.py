"""``ferkit.Predictor``: the one-line entry point, served lazily by the package root."""
import subprocess
import sys

import pytest

import ferkit


def test_ferkit_predictor_is_the_inference_predictor():
    from ferkit.inference import Predictor

    assert ferkit.Predictor is Predictor
    assert callable(ferkit.Predictor.from_preset)


def test_unknown_top_level_names_raise_attribute_error():
    with pytest.raises(AttributeError, match="no attribute 'Predicter'"):
        ferkit.Predicter  # noqa: B018


def test_import_ferkit_loads_tensorflow_only_when_predictor_is_used():
    code = ("import sys, ferkit; before = 'tensorflow' in sys.modules; ferkit.Predictor; "
            "print(before, 'tensorflow' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "True"]
