"""Sampling and ClassConditioning: behaviour and config round trips."""

from __future__ import annotations

import json

import numpy as np
import pytest

import keras
from keras import ops

from kana_keras.layers import ClassConditioning, DepthToSpace, Sampling


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


# ## Conditioning by parts and the sub-pixel doubling


def test_class_conditioning_by_parts_sums_base_and_mark():
    """が's vector is か's base row plus the ゛ row; か itself adds the 'no mark' row."""
    bases, marks = [0, 1, 0, 0], [0, 0, 1, 2]     # classes: か, さ, が, ぱ-like
    layer = ClassConditioning(4, 3, parts=(bases, marks))
    out = _np(layer([np.zeros((4, 2), "float32"), np.arange(4)]))
    base = _np(layer.embedding.embeddings)
    mark = _np(layer.mark_embedding.embeddings)
    np.testing.assert_allclose(out[:, 2:], base[bases] + mark[marks], rtol=1e-6)
    np.testing.assert_allclose(_np(layer.class_vectors(np.asarray([2]))), out[2:3, 2:], rtol=1e-6)
    copy = ClassConditioning.from_config(json.loads(json.dumps(layer.get_config())))
    assert copy.parts == [bases, marks]


def test_class_conditioning_refuses_parts_of_the_wrong_length():
    with pytest.raises(ValueError, match="for each of the 4 classes"):
        ClassConditioning(4, 3, parts=([0, 1], [0, 0]))


def test_depth_to_space_moves_channels_into_pixels_and_round_trips():
    x = np.arange(2 * 2 * 2 * 8, dtype="float32").reshape(2, 2, 2, 8)
    layer = DepthToSpace(2)
    y = _np(layer(x))
    assert y.shape == (2, 4, 4, 2) == layer.compute_output_shape(x.shape)
    # pixel (2i + a, 2j + b) holds channels [(2a + b) * 2, ...] of input pixel (i, j)
    np.testing.assert_array_equal(y[0, 1, 0], x[0, 0, 0, 4:6])
    np.testing.assert_array_equal(y[1, 3, 3], x[1, 1, 1, 6:8])
    assert DepthToSpace.from_config(layer.get_config()).block_size == 2
