"""Saved ferkit models load with only ``ferkit.layers`` imported, in Keras' safe mode.

Every custom layer is registered in ``ferkit.layers``; loading must not need the model builders
(``ferkit.models``) or anything above them. ``data/pre_rename_layers.keras`` (one model holding
every custom layer, with its inputs and outputs in the ``.npz``) was saved by ferkit as it was
before commit becbc8c, when AdaptiveAveragePool2D lived in ``ferkit.models.seed002`` (the file
names that module), so it also checks that registered names, not module paths, find the classes.
"""
import json
import os
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np

from ferkit.layers import (AdaptiveAveragePool2D, HalfFaceMask, RandomHalfFaceMask, ResidualBlock,
                           SpaceToDepth)

DATA = Path(__file__).parent / "data"
#: One tiny model per custom layer: (layer, input shape).
LAYER_MODELS = {
    "AdaptiveAveragePool2D": (lambda: AdaptiveAveragePool2D(3), (7, 5, 2)),
    "HalfFaceMask": (lambda: HalfFaceMask("left"), (6, 6, 1)),
    "RandomHalfFaceMask": (lambda: RandomHalfFaceMask(("upper", "lower"), 0.7, seed=3), (6, 6, 1)),
    "ResidualBlock": (lambda: ResidualBlock(4, strides=2, l2=1e-4), (8, 8, 3)),
    "SpaceToDepth": (lambda: SpaceToDepth(2), (6, 6, 2)),
}
LOADER = r"""
import json, sys
import numpy as np
import ferkit
before = {name for name in sys.modules if name.startswith("ferkit")}
import keras
import ferkit.layers
cases = json.loads(sys.argv[1])
for case in cases:
    model = keras.models.load_model(case["model"], safe_mode=True)
    data = np.load(case["data"])
    np.testing.assert_allclose(np.asarray(model(data["images"])), data["expected"], atol=1e-5,
                               err_msg=case["model"])
loaded = sorted(name for name in sys.modules if name.startswith("ferkit") and name not in before)
print(json.dumps(loaded))
"""


def _save_case(name, make_layer, shape, folder):
    keras.utils.set_random_seed(0)
    inputs = keras.Input(shape, name="image")
    x = keras.layers.Flatten()(make_layer()(inputs))
    model = keras.Model(inputs, keras.layers.Dense(2, name="emotion")(x), name=name.lower())
    images = np.random.default_rng(1).random((2, *shape)).astype("float32")
    np.savez(folder / f"{name}.npz", images=images, expected=np.asarray(model(images)))
    model.save(folder / f"{name}.keras")
    return {"model": str(folder / f"{name}.keras"), "data": str(folder / f"{name}.npz")}


def test_each_custom_layer_loads_in_safe_mode_with_only_ferkit_layers_imported(tmp_path):
    cases = [_save_case(name, make, shape, tmp_path)
             for name, (make, shape) in LAYER_MODELS.items()]
    cases.append({"model": str(DATA / "pre_rename_layers.keras"),
                  "data": str(DATA / "pre_rename_layers.npz")})
    done = subprocess.run([sys.executable, "-c", LOADER, json.dumps(cases)], capture_output=True,
                          text=True, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    loaded = json.loads(done.stdout.strip().splitlines()[-1])
    outside = [name for name in loaded if not name.startswith("ferkit.layers")]
    assert not outside, f"loading a saved model imported {outside}"


def test_every_registered_ferkit_layer_has_a_saved_model_case():
    registered = {key.split(">", 1)[1] for key, obj in keras.saving.get_custom_objects().items()
                  if key.startswith("ferkit>") and isinstance(obj, type)
                  and issubclass(obj, keras.layers.Layer)}
    assert registered == set(LAYER_MODELS)
