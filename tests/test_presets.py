"""Presets as data: each builds the model its documentation describes; others are refused."""

from __future__ import annotations

import numpy as np
import pytest

from kana_keras.presets import PRESETS, get_preset

#: What README and presets.py say about each preset: (image size, latents, trainable
#: parameters; the fitted prior and the writer bank are non-trainable weights beside them).
DOCUMENTED = {"blog": (72, 12, 66e6), "default": (64, 32, 4.2e6)}


def test_the_documented_presets_exist_with_their_optimisation_settings():
    assert set(PRESETS) == set(DOCUMENTED)
    assert (PRESETS["blog"]["learning_rate"], PRESETS["blog"]["batch_size"]) == (5e-4, 32)
    assert (PRESETS["default"]["learning_rate"], PRESETS["default"]["batch_size"]) == (2e-3, 64)
    assert PRESETS["default"]["epochs"] == 16 and PRESETS["default"]["augment"]
    assert not PRESETS["blog"]["model"]["conditional"]
    assert PRESETS["default"]["model"]["conditional"]


@pytest.mark.parametrize("name", sorted(DOCUMENTED))
def test_every_preset_builds_the_documented_model(name):
    from kana_keras.model import KanaVAE

    size, latents, params = DOCUMENTED[name]
    model = KanaVAE(num_classes=146, **get_preset(name)["model"])
    config = model.get_config()
    assert (config["image_size"], config["latent_dim"]) == (size, latents)
    for key, value in get_preset(name)["model"].items():
        want = list(value) if isinstance(value, tuple) else value
        assert config[key] == want, key
    trainable = sum(int(np.prod(w.shape)) for w in model.trainable_weights)
    assert trainable == pytest.approx(params, rel=0.1)


def test_get_preset_is_a_copy_and_an_unknown_name_lists_the_choices():
    tweaked = get_preset("default")
    tweaked["model"]["latent_dim"] = 2
    assert PRESETS["default"]["model"]["latent_dim"] == 32
    with pytest.raises(ValueError, match=r"--preset must be one of \['blog', 'default'\], "
                                         r"got 'large'"):
        get_preset("large")
