"""Shipped pretrained presets: every one loads with its hash checked and predicts; packing a
model round-trips; a tampered or unknown preset is a named error."""
import json
import shutil
from pathlib import Path

import keras
import numpy as np
import pytest

from ferkit.data.synthetic import render_face
from ferkit.errors import FerkitError, PresetError, PresetIntegrityError
from ferkit.models import build
from ferkit.models.pretrained import (DEFAULT_PRESET, MANIFEST, WEIGHTS_DIR, compact_weights,
                                      file_sha256, list_presets, load_preset, pack_preset,
                                      preset_info, presets_frame)
from ferkit.runs import Preprocessing
from conftest import load_script

SHIPPED = [info.name for info in list_presets()]
REPO = Path(__file__).resolve().parents[2]
FER2013_DATA = REPO / ".." / "shared" / "data" / "fer2013"


def test_the_issue_presets_ship_and_fit_the_size_budget():
    assert DEFAULT_PRESET in SHIPPED
    assert {"fer2013", "ferplus", "ckplus_au"} <= set(SHIPPED), SHIPPED
    total = sum((WEIGHTS_DIR / info.weights).stat().st_size for info in list_presets())
    assert total <= 20e6, f"presets take {total / 1e6:.1f} MB, over the 20 MB budget"


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_preset_loads_verified_and_predicts_a_synthetic_face(name):
    info = preset_info(name)
    assert file_sha256(WEIGHTS_DIR / info.weights) == info.sha256
    model, preprocessing = load_preset(name)
    assert preprocessing.classes == info.classes and model.count_params() == info.parameters
    face = render_face(size=preprocessing.image_size[0], seed=3)[None, :, :, None]
    outputs = model.predict(face.astype("float32") / preprocessing.pixel_divisor, verbose=0)
    probabilities = np.asarray(outputs["emotion"])[0]
    assert probabilities.shape == (len(preprocessing.classes),)
    assert probabilities.sum() == pytest.approx(1.0, abs=1e-4)
    if preprocessing.aus:
        assert np.asarray(outputs["au"]).shape == (1, len(preprocessing.aus))


@pytest.mark.parametrize("name", SHIPPED)
def test_manifest_entry_records_how_the_preset_was_made(name):
    info = preset_info(name)
    assert info.command.startswith("ferkit train --config configs/presets/"), info.command
    assert (REPO / info.command.split()[3]).is_file()
    assert "Apache-2.0" in info.licence and info.training_data and info.date
    assert {"test_accuracy", "test_macro_f1"} <= set(info.accuracy)
    assert abs(info.parity["accuracy_difference_points"]) <= 0.1, info.parity
    if name in ("fer2013", "ferplus"):
        assert {"test_dedup_accuracy", "test_dedup_macro_f1"} <= set(info.accuracy)


@pytest.mark.parametrize("name", SHIPPED)
def test_the_training_config_of_each_preset_validates_and_names_its_architecture(name):
    from ferkit.config import load_config

    info = preset_info(name)
    config = load_config(REPO / info.command.split()[3])
    assert config.model.name == info.builder
    assert {k: info.builder_args.get(k) for k in config.model.args} == config.model.args
    assert config.split.val_fraction == 0.1 or config.split.method == "group", config.split


def test_presets_frame_has_one_row_per_preset_with_the_figures():
    frame = presets_frame()
    assert list(frame["name"]) == SHIPPED
    assert {"classes", "training_data", "parameters", "test_accuracy", "licence",
            "command"} <= set(frame.columns)


def test_a_tampered_weights_file_is_a_named_error(tmp_path):
    copy = tmp_path / "weights"
    shutil.copytree(WEIGHTS_DIR, copy)
    info = preset_info(DEFAULT_PRESET, copy)
    data = bytearray((copy / info.weights).read_bytes())
    data[len(data) // 2] ^= 0xFF
    (copy / info.weights).write_bytes(bytes(data))
    with pytest.raises(PresetIntegrityError, match=rf"{info.weights}.*SHA-256") as caught:
        load_preset(DEFAULT_PRESET, copy)
    assert isinstance(caught.value, FerkitError)


def test_an_unknown_preset_lists_the_available_ones():
    with pytest.raises(PresetError, match=rf"unknown preset 'nope'; available: .*{DEFAULT_PRESET}"):
        load_preset("nope")


# ----------------------------------------------------------------------------- packing
TINY_ARGS = dict(input_shape=[16, 16, 1], num_classes=3, widths=[4, 8], depths=[1, 1])
TINY_PREPROCESSING = Preprocessing((16, 16), 1, ("a", "b", "c"))


def tiny_model() -> keras.Model:
    model = build("space_to_depth_cnn", **TINY_ARGS)
    rng = np.random.default_rng(0)
    for variable in model.weights:  # non-trivial batch-norm statistics too
        variable.assign(rng.normal(0.5, 0.2, variable.shape).astype("float32") ** 2)
    return model


def pack_tiny(folder, **kwargs):
    return pack_preset(tiny_model(), TINY_PREPROCESSING, "tiny", "space_to_depth_cnn",
                       TINY_ARGS, folder, training_data="noise", accuracy={"test_accuracy": 0.5},
                       command="ferkit train --config tiny.yaml", **kwargs)


def test_packed_preset_rebuilds_from_the_registry_with_float16_weights(tmp_path):
    info = pack_tiny(tmp_path)
    model, preprocessing = load_preset("tiny", tmp_path)
    assert preprocessing == TINY_PREPROCESSING and info.float32_variables == ()
    x = np.random.default_rng(1).random((4, 16, 16, 1), dtype=np.float32)
    expected = tiny_model().predict(x, verbose=0)["emotion"]
    actual = model.predict(x, verbose=0)["emotion"]
    np.testing.assert_allclose(actual, expected, atol=2e-2)
    assert not np.array_equal(actual, expected), "float16 storage should round the weights"
    with np.load(tmp_path / info.weights) as archive:
        assert {archive[key].dtype for key in archive.files} == {np.dtype("float16")}


def test_keep_float32_suffixes_store_those_variables_exactly(tmp_path):
    info = pack_tiny(tmp_path, keep_float32=("moving_variance",))
    assert info.float32_variables and all(p.endswith("moving_variance")
                                          for p in info.float32_variables)
    model, _ = load_preset("tiny", tmp_path)
    original = {v.path: v.numpy() for v in tiny_model().weights}
    for variable in model.weights:
        if variable.path in info.float32_variables:
            np.testing.assert_array_equal(variable.numpy(), original[variable.path])


def test_packing_checks_the_builder_arguments_rebuild_the_model(tmp_path):
    with pytest.raises(PresetIntegrityError, match="shape"):
        pack_preset(tiny_model(), TINY_PREPROCESSING, "tiny", "space_to_depth_cnn",
                    {**TINY_ARGS, "widths": [4, 16]}, tmp_path, training_data="noise",
                    accuracy={}, command="-")
    assert not (tmp_path / MANIFEST).exists(), "nothing is written for a model that does not fit"


def test_packing_a_second_preset_keeps_the_first_and_the_manifest_is_json(tmp_path):
    pack_tiny(tmp_path)
    pack_preset(tiny_model(), TINY_PREPROCESSING, "tiny2", "space_to_depth_cnn", TINY_ARGS,
                tmp_path, training_data="noise", accuracy={}, command="-")
    manifest = json.loads((tmp_path / MANIFEST).read_text())
    assert sorted(manifest["presets"]) == ["tiny", "tiny2"]
    assert [p.name for p in list_presets(tmp_path)] == ["tiny", "tiny2"]


def load_pack_example():
    return load_script(REPO / "examples" / "presets" / "pack_preset.py", "pack_preset_example")


def test_pack_example_turns_a_finished_run_into_a_loadable_preset(tiny_run, tmp_path, capsys):
    pack = load_pack_example()
    assert pack.main(["--run", str(tiny_run), "--name", "tiny_run", "--out", str(tmp_path),
                      "--dataset", "synthetic CK+", "--training-data", "synthetic CK+",
                      "--command", "ferkit train --config tiny.yaml"]) == 0
    info = preset_info("tiny_run", tmp_path)
    model, preprocessing = load_preset("tiny_run", tmp_path)
    assert preprocessing.classes == info.classes and preprocessing.aus, "AU head kept"
    assert info.parity["test_images"] > 0, "scored on the run's test rows"
    assert abs(info.parity["accuracy_difference_points"]) <= 1.0, info.parity
    assert {"run_test_emotion_accuracy", "test_accuracy"} <= set(info.accuracy)
    assert json.loads(capsys.readouterr().out)["sha256"] == file_sha256(tmp_path / info.weights)


# ----------------------------------------------------------------------------- real data
@pytest.mark.slow
def test_fer2013_preset_scores_its_stated_publictest_accuracy(tmp_path):
    if not FER2013_DATA.is_dir():
        pytest.skip(f"FER2013 is not at {FER2013_DATA.resolve()} (../shared/data/fer2013 "
                    "relative to the repository root)")
    from ferkit.config import load_config
    from ferkit.data.sources import load_from_config
    from ferkit.evaluation.selection import match_classes

    # The preset's own training config reads the data (FER+ votes included, as in training,
    # so PublicTest rows the FER+ annotators marked as no face are left out the same way).
    config = load_config(REPO / "configs" / "presets" / "fer2013.yaml",
                         [f"data.path={FER2013_DATA.resolve()}"])
    samples = load_from_config(config.data, tmp_path, config.seed)
    model, preprocessing = load_preset("fer2013")
    test = match_classes(samples.subset(samples.frame["usage"].to_numpy() == "PublicTest"),
                         preprocessing.classes, "fer2013 preset")
    images = test.images[test.frame["image_index"].to_numpy()]
    outputs = model.predict(images.astype("float32") / preprocessing.pixel_divisor,
                            batch_size=256, verbose=0)
    accuracy = float((outputs["emotion"].argmax(1) == test.labels).mean())
    stated = preset_info("fer2013").accuracy["test_accuracy"]
    assert abs(accuracy - stated) <= 0.005, (f"PublicTest ({len(test)} images) scored "
                                             f"{accuracy:.4f}, the manifest states {stated:.4f}")
