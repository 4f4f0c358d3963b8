"""The config package's own contract: the evaluate (TTA) section, strategy names, and that
reading a config loads nothing but the standard library, PyYAML and ferkit's leaf modules."""
import json
import subprocess
import sys

import pytest

from ferkit.config import STRATEGIES, Config, ConfigError, EvaluateConfig, config_from_dict


def test_evaluate_section_defaults_score_the_image_alone():
    evaluate = Config().evaluate
    assert evaluate == EvaluateConfig(flip_tta=False, shift_tta=0, zoom_tta=[])
    assert evaluate.views == 1


def test_evaluate_section_reads_the_recipe_tta_as_fourteen_views():
    config = config_from_dict({"evaluate": {"flip_tta": True, "shift_tta": 2,
                                            "zoom_tta": [1.08, 1.16]}})
    assert config.evaluate.zoom_tta == [1.08, 1.16] and config.evaluate.views == 14


def test_evaluate_zoom_factors_become_floats():
    assert EvaluateConfig(zoom_tta=[2]).zoom_tta == [2.0]
    assert isinstance(EvaluateConfig(zoom_tta=(2,)).zoom_tta[0], float)


@pytest.mark.parametrize("section, message", [
    ({"shift_tta": -1},
     "evaluate.shift_tta = -1 is out of range: must be a whole number of pixels >= 0"),
    ({"shift_tta": 1.5}, r"evaluate.shift_tta = 1.5 is not a valid int"),
    ({"shift_tta": True}, r"evaluate.shift_tta = True is not a valid int"),
    ({"zoom_tta": [1.0]}, r"zoom_tta factors must be numbers > 1 .* got 1.0 in \[1.0\]"),
    ({"zoom_tta": [1.1, float("nan")]}, r"zoom_tta factors must be numbers > 1 .* got nan"),
    ({"zoom_tta": [1.1, "big"]}, r"evaluate.zoom_tta = \[1.1, 'big'\] is not a valid list"),
    ({"zoom_tta": 1.08}, r"evaluate.zoom_tta = 1.08 is not a valid list"),
    ({"flip": True}, r"unknown key\(s\) evaluate.flip; evaluate accepts \['flip_tta'"),
])
def test_bad_evaluate_values_name_the_key(section, message):
    with pytest.raises(ConfigError, match=message):
        config_from_dict({"evaluate": section}, "exp.yaml")


@pytest.mark.parametrize("kwargs, message", [
    ({"shift_tta": True}, "evaluate.shift_tta = True is not valid: must be a whole number"),
    ({"zoom_tta": [float("inf")]}, "zoom_tta factors must be numbers > 1"),
    ({"zoom_tta": [True]}, "zoom_tta factors must be numbers > 1"),
    ({"zoom_tta": "1.08"}, "zoom_tta must be a list"),
])
def test_evaluate_config_checks_values_when_built_in_code(kwargs, message):
    with pytest.raises(ValueError, match=message):
        EvaluateConfig(**kwargs)


def test_saved_config_without_evaluate_section_still_loads():
    raw = Config().to_dict()
    del raw["evaluate"]
    assert config_from_dict(raw).evaluate == EvaluateConfig()


def test_train_strategy_is_checked_against_the_config_names():
    assert STRATEGIES == ("default", "mirrored", "multi_worker")
    with pytest.raises(ConfigError, match=r"train.strategy 'tpu' is not one of \['default'"):
        config_from_dict({"train": {"strategy": "tpu"}})


def test_tune_space_is_checked_by_the_config_package():
    with pytest.raises(ConfigError, match=r"tune.space.l2: a float hyperparameter needs 'max'"):
        config_from_dict({"tune": {"space": {"l2": {"type": "float", "min": 0.1}}}})


def test_importing_config_loads_only_stdlib_yaml_and_ferkit_leaves():
    probe = ("import json, sys; import ferkit.config; "
             "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in "
             "('ferkit', 'numpy', 'pandas', 'tensorflow', 'keras', 'keras_tuner'))))")
    loaded = json.loads(subprocess.run([sys.executable, "-c", probe], check=True,
                                       capture_output=True, text=True).stdout)
    allowed = {"ferkit", "ferkit.errors", "ferkit.runs", "ferkit.config", "ferkit.config.checks",
               "ferkit.config.loading", "ferkit.config.schema", "ferkit.config.space"}
    extra = sorted(set(loaded) - allowed)
    assert not extra, f"import ferkit.config also loaded {extra}"
