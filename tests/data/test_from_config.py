"""``load_from_config`` names the config key when a synthetic stand-in cannot be drawn."""
import pytest

from ferkit.config import DataConfig, SyntheticDataConfig
from ferkit.data.sources import load_from_config
from ferkit.errors import ConfigError


def test_an_unknown_synthetic_emotion_names_its_class_key(tmp_path):
    data = DataConfig(source="folders", image_size=[16, 16],
                      synthetic=SyntheticDataConfig(images=8, classes={"A": "joyful", "B": "happy"}))
    with pytest.raises(ConfigError, match=r"data.synthetic.classes.A 'joyful' is not one of "
                                          r"\['neutral', 'anger'"):
        load_from_config(data, tmp_path)
    assert not (tmp_path / "synthetic_data").exists(), "nothing is written for a bad config"


def test_known_synthetic_emotions_are_drawn_into_class_folders(tmp_path):
    data = DataConfig(source="folders", image_size=[16, 16],
                      synthetic=SyntheticDataConfig(images=8, classes={"A": "anger", "B": "happy"}))
    samples = load_from_config(data, tmp_path)
    assert samples.classes == ("A", "B") and samples.images.shape[1:] == (16, 16, 1)
