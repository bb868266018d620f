"""Sampling and ClassConditioning: behaviour and config round trips."""

from __future__ import annotations

import json

import numpy as np
import pytest

import keras
from keras import ops

from kana_keras.layers import ClassConditioning, Sampling


def _np(x):
    return ops.convert_to_numpy(x)


def test_sampling_mean_mode_returns_the_mean():
    mean = np.arange(6, dtype="float32").reshape(2, 3)
    log_var = np.full((2, 3), 3.0, "float32")
    np.testing.assert_array_equal(_np(Sampling(mode="mean")([mean, log_var])), mean)
    np.testing.assert_array_equal(_np(Sampling(seed=0)([mean, log_var], mode="mean")), mean)


def test_sampling_random_mode_has_the_right_moments_and_is_seeded():
    mean = np.full((20000, 2), 1.5, "float32")
    log_var = np.log(np.full((20000, 2), 4.0, "float32"))  # sigma = 2
    z = _np(Sampling(seed=3)([mean, log_var]))
    assert abs(z.mean() - 1.5) < 0.05 and abs(z.std() - 2.0) < 0.05
    np.testing.assert_array_equal(z, _np(Sampling(seed=3)([mean, log_var])))
    layer = Sampling(seed=3)
    first, second = _np(layer([mean, log_var])), _np(layer([mean, log_var]))
    assert not np.array_equal(first, second)  # the seed generator advances


def test_sampling_config_keeps_seed_and_mode():
    layer = Sampling(seed=7, mode="mean", name="s")
    config = json.loads(json.dumps(layer.get_config()))
    assert config["seed"] == 7 and config["mode"] == "mean"
    clone = Sampling.from_config(config)
    assert clone.get_config() == layer.get_config()
    restored = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(layer))
    assert isinstance(restored, Sampling) and restored.mode == "mean" and restored.seed == 7


def test_sampling_rejects_unknown_mode():
    with pytest.raises(ValueError, match="mode"):
        Sampling(mode="median")


def test_class_conditioning_appends_one_vector_per_class():
    layer = ClassConditioning(num_classes=5, embedding_dim=3)
    features = np.zeros((4, 2), "float32")
    out = _np(layer([features, np.array([0, 1, 1, 4])]))
    assert out.shape == (4, 5)
    np.testing.assert_array_equal(out[:, :2], 0)
    np.testing.assert_array_equal(out[1, 2:], out[2, 2:])   # same class, same vector
    assert not np.array_equal(out[0, 2:], out[1, 2:])
    assert _np(layer([features, np.array([[0], [1], [2], [3]])])).shape == (4, 5)  # (N, 1) labels


def test_class_conditioning_config_round_trip():
    layer = ClassConditioning(num_classes=146, embedding_dim=16, name="class")
    config = json.loads(json.dumps(layer.get_config()))
    assert ClassConditioning.from_config(config).get_config() == layer.get_config()
    restored = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(layer))
    assert restored.num_classes == 146 and restored.embedding_dim == 16
