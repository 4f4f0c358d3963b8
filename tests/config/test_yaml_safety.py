"""YAML configs and vote-rule files are read with a safe loader: bad bytes, bad syntax, a top
level that is no mapping, Python-object tags and alias bombs are ConfigErrors naming the file,
and nothing written in a file ever runs."""
from __future__ import annotations

import pytest

from ferkit.config import config_from_dict, load_config
from ferkit.config.loading import parse_override
from ferkit.data.sources.vote_rules import load_vote_rules
from ferkit.errors import ConfigError, VoteRuleError
from ferkit.runs import YAML_MAX_EXPANDED_NODES, parse_yaml


def _bomb(levels: int = 6) -> str:
    """A "billion laughs" document: each level lists the previous one ten times."""
    lines = ["l0: &l0 [ha, ha, ha, ha, ha, ha, ha, ha, ha, ha]"]
    for level in range(1, levels):
        refs = ", ".join([f"*l{level - 1}"] * 10)
        lines.append(f"l{level}: &l{level} [{refs}]")
    return "\n".join(lines) + "\n"


def _hostile(marker) -> str:
    return f"train: !!python/object/apply:os.system ['touch {marker}']\n"


def test_a_python_object_tag_in_a_config_is_refused_and_nothing_runs(tmp_path):
    marker = tmp_path / "ran"
    config = tmp_path / "hostile.yaml"
    config.write_text(_hostile(marker))
    with pytest.raises(ConfigError, match=r"hostile\.yaml, line 1, column 8: tag "
                                          r"!!python/object/apply:os\.system is not allowed"):
        load_config(config)
    assert not marker.exists()


def test_a_python_object_tag_in_vote_rules_is_refused_and_nothing_runs(tmp_path):
    marker = tmp_path / "ran"
    rules = tmp_path / "rules.yaml"
    rules.write_text(f"classes: !!python/object/apply:os.system ['touch {marker}']\n")
    with pytest.raises(VoteRuleError, match=r"rules\.yaml, line 1.*safe loader"):
        load_vote_rules(rules)
    assert not marker.exists()


def test_a_python_tag_in_a_set_override_is_refused_and_nothing_runs(tmp_path):
    marker = tmp_path / "ran"
    with pytest.raises(ConfigError, match=r"override .*tag !!python/object/apply:os\.system"):
        parse_override(f"train.epochs=!!python/object/apply:os.system ['touch {marker}']")
    assert not marker.exists()


def test_an_alias_bomb_is_refused_before_it_expands(tmp_path):
    config = tmp_path / "bomb.yaml"
    config.write_text(_bomb())
    with pytest.raises(ConfigError, match=rf"bomb\.yaml: YAML anchors/aliases expand to over "
                                          rf"{YAML_MAX_EXPANDED_NODES} values.*alias bomb"):
        load_config(config)


def test_an_alias_referring_to_itself_is_refused():
    with pytest.raises(ConfigError, match="alias bomb"):
        parse_yaml("a: &a [*a]\n", "self.yaml", ConfigError)


def test_small_anchors_and_aliases_still_work():
    assert parse_yaml(_bomb(levels=3), "ok.yaml", ConfigError)["l2"][9][9][9] == "ha"


def test_a_config_that_is_not_utf8_names_the_file_and_line(tmp_path):
    config = tmp_path / "latin1.yaml"
    config.write_bytes(b"train:\n  epochs: 3\n# caf\xe9\n")
    with pytest.raises(ConfigError, match=r"latin1\.yaml, line 3: not UTF-8 text \(byte 0xe9"):
        load_config(config)


def test_a_syntax_error_names_line_and_column(tmp_path):
    config = tmp_path / "broken.yaml"
    config.write_text("train:\n  epochs: 3\n batch_size: [\n")
    with pytest.raises(ConfigError, match=r"broken\.yaml, line 3, column 2: not valid YAML"):
        load_config(config)


@pytest.mark.parametrize("text, kind", [("- a\n- b\n", "list"), ("just words\n", "string")])
def test_a_top_level_that_is_no_mapping_is_named(tmp_path, text, kind):
    config = tmp_path / "top.yaml"
    config.write_text(text)
    with pytest.raises(ConfigError, match=rf"top\.yaml: the top level must be a mapping of "
                                          rf"sections .*got a {kind}"):
        load_config(config)


def test_an_empty_config_is_all_defaults(tmp_path):
    config = tmp_path / "empty.yaml"
    config.write_text("# nothing set\n")
    assert load_config(config) == config_from_dict({})


def test_exponent_floats_without_a_dot_are_numbers(tmp_path):
    """YAML 1.1 reads ``1e-3`` as a string; ferkit's configs read it as the number."""
    from ferkit.config import load_config

    config = load_config("configs/seed000_main.yaml", ["train.learning_rate=1e-3",
                                                       "train.weight_decay=5E-5"])
    assert config.train.learning_rate == pytest.approx(0.001)
    assert config.train.weight_decay == pytest.approx(5e-5)
    path = tmp_path / "exp.yaml"
    path.write_text("train:\n  learning_rate: 2e-4\n")
    assert load_config(path).train.learning_rate == pytest.approx(2e-4)


def test_a_key_given_twice_is_refused_but_merge_keys_may_override():
    with pytest.raises(ConfigError, match=r"exp.yaml, line 4.*duplicate key 'x'"):
        parse_yaml("a: 1\nb:\n  x: 1\n  x: 2\n", "exp.yaml", ConfigError)
    merged = parse_yaml("d: &d {x: 1, y: 2}\nb:\n  <<: *d\n  x: 5\n", "exp.yaml", ConfigError)
    assert merged["b"] == {"x": 5, "y": 2}
