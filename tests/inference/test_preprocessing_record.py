"""What ``preprocessing.json`` says about face detection: the detector is a choice made at
prediction time, not a property of the model, for new runs and for the shipped presets."""
import json

from ferkit.models.pretrained import read_manifest
from ferkit.runs import FACE_DETECTOR, Preprocessing


def test_new_preprocessing_records_name_no_fixed_detector(tmp_path):
    record = json.loads(Preprocessing((48, 48), 1, ("a", "b")).save(tmp_path).read_text())
    assert record["face"] == {"detector": FACE_DETECTOR, "margin": 0.2}
    assert "haar" not in FACE_DETECTOR and "prediction time" in FACE_DETECTOR


def test_the_shipped_presets_say_the_same():
    for name, info in read_manifest().items():
        assert info.preprocessing["face"]["detector"] == FACE_DETECTOR, name
