"""``multitask_resnet``: the shared ResNet trunk with its emotion and AU heads."""
import keras
import numpy as np
import pytest

from ferkit import models
from ferkit.training import compile_model

TINY = dict(input_shape=(16, 16, 1), num_classes=3, num_aus=5, filters=(4, 8), blocks=(1, 1),
            stem_filters=4)


def _batch(n=8, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.random((n, 16, 16, 1)).astype("float32")
    y = {"emotion": keras.utils.to_categorical(rng.integers(0, 3, n), 3),
         "au": rng.integers(0, 2, (n, 5)).astype("float32")}
    return x, y


def test_seed004_defaults_build_with_two_named_heads():
    model = models.build("seed004_resnet")
    assert set(model.output) == {"emotion", "au"}
    assert tuple(model.output["emotion"].shape) == (None, 3)
    assert tuple(model.output["au"].shape) == (None, 15)
    stages = [l for l in model.layers if l.name.startswith("stage")]
    assert [sum(l.name.startswith(f"stage{i}") for l in stages) for i in (1, 2, 3)] == [3, 4, 6]
    assert [model.get_layer(f"stage{i}_block1").filters for i in (1, 2, 3)] == [64, 128, 256]


def test_emotion_only_model_and_bad_sizes():
    assert list(models.build("multitask_resnet", **{**TINY, "num_aus": 0}).output) == ["emotion"]
    with pytest.raises(ValueError, match="equal length"):
        models.build("multitask_resnet", **{**TINY, "blocks": (1,)})
    with pytest.raises(ValueError, match="num_classes"):
        models.build("multitask_resnet", **{**TINY, "num_classes": 1})


def test_multitask_model_round_trips_to_identical_outputs(tmp_path):
    model = models.build("multitask_resnet", **TINY)
    x, _ = _batch()
    model.save(tmp_path / "m.keras")
    again = keras.models.load_model(tmp_path / "m.keras")
    for head in ("emotion", "au"):
        np.testing.assert_allclose(again(x)[head], model(x)[head], atol=1e-6)


def test_training_steps_reduce_the_loss():
    keras.utils.set_random_seed(0)
    model = compile_model(models.build("multitask_resnet", **TINY), 1e-2, jit_compile=False)
    x, y = _batch()
    losses = [model.train_on_batch(x, y, return_dict=True)["loss"] for _ in range(8)]
    assert losses[-1] < losses[0], losses
