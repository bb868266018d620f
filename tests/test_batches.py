"""The NumPy feed (no TensorFlow needed): the same batches and distortions as tf.data."""

from __future__ import annotations

import math

import cv2
import numpy as np
import pytest

from kana_keras import batches
from kana_keras.cache import Cache


@pytest.fixture(scope="module")
def cache(tiny_cache):
    return Cache.open(tiny_cache)


def _collect(feed):
    xs, ys = zip(*[feed[i] for i in range(len(feed))])
    return np.concatenate(xs), np.concatenate(ys)


def test_batches_hold_the_cache_as_float_with_a_channel_axis(cache):
    feed = batches.make_dataset(cache, "val", 50, shuffle=False)
    images, labels = _collect(feed)
    n, s = cache.count("val"), cache.image_size
    assert len(feed) == math.ceil(n / 50)
    assert images.shape == (n, s, s, 1) and images.dtype == np.float32
    assert labels.dtype == np.int32
    np.testing.assert_array_equal(labels, cache.labels("val"))
    np.testing.assert_allclose(images[..., 0], cache.images("val") / 255.0, atol=1e-6)


def test_training_order_is_shuffled_anew_each_epoch(cache):
    feed = batches.make_dataset(cache, "train", 32, seed=0)
    assert len(feed) == cache.count("train") // 32  # drop_remainder: steady shapes for jit
    first = _collect(feed)[1]
    feed.on_epoch_end()
    second = _collect(feed)[1]
    assert not np.array_equal(first, second)
    assert set(first) <= set(cache.labels("train"))


def test_memory_mapped_reads_give_the_same_batches(cache, monkeypatch):
    """A large split is gathered from the memory map per batch instead of loaded whole."""
    expected = _collect(batches.make_dataset(cache, "train", 16, seed=3))
    monkeypatch.setattr(batches, "IN_MEMORY_BYTES", 0)
    feed = batches.make_dataset(cache, "train", 16, seed=3)
    assert not feed.in_memory
    got = _collect(feed)
    np.testing.assert_array_equal(got[1], expected[1])
    np.testing.assert_array_equal(got[0], expected[0])


def test_images_only_and_max_steps(cache):
    feed = batches.make_dataset(cache, "train", 8, with_labels=False, max_steps=3)
    assert len(feed) == 3
    assert feed[0].shape == (8, cache.image_size, cache.image_size, 1)


def _corr(a, b):
    a, b = a.reshape(len(a), -1), b.reshape(len(b), -1)
    a, b = a - a.mean(1, keepdims=True), b - b.mean(1, keepdims=True)
    return (a * b).sum(1) / np.sqrt((a * a).sum(1) * (b * b).sum(1) + 1e-9)


def test_augmentation_is_gentle_new_each_epoch_and_never_flips(cache):
    plain = batches.make_dataset(cache, "val", 64, shuffle=False)[0][0]
    feed = batches.make_dataset(cache, "val", 64, shuffle=False, augment=True, seed=1)
    first = feed[0][0]
    feed.on_epoch_end()
    second = feed[0][0]
    assert not np.allclose(first, second) and not np.allclose(first, plain)
    assert first.min() >= 0.0 and first.max() <= 1.0
    match = _corr(first, plain).mean()
    assert match > _corr(first, plain[:, :, ::-1]).mean() + 0.1  # not mirrored
    assert match > _corr(first, plain[:, ::-1]).mean() + 0.1     # not upside down
    ink = lambda x: x.reshape(len(x), -1).sum(1)  # noqa: E731
    np.testing.assert_allclose(ink(first), ink(plain), rtol=0.35)  # strokes kept


def test_opencv_distortion_matches_the_tf_data_one():
    """Both feeds apply the same matrix the same way (output pixel -> input pixel)."""
    tf = pytest.importorskip("tensorflow")
    image = np.zeros((1, 32, 32), np.float32)
    image[0, 8:24, 14:18] = 1.0
    image[0, 10:13, 6:26] = 1.0
    m = batches.affine_matrix(32, 0.1, 1.05, 0.12, 1.5, -2.0)
    ours = cv2.warpAffine(image[0], m, (32, 32), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                          borderMode=cv2.BORDER_CONSTANT, borderValue=0.0)
    transforms = np.concatenate([m.reshape(-1), [0.0, 0.0]])[None].astype(np.float32)
    theirs = tf.raw_ops.ImageProjectiveTransformV3(
        images=image[..., None], transforms=transforms, output_shape=[32, 32], fill_value=0.0,
        interpolation="BILINEAR", fill_mode="CONSTANT").numpy()[0, ..., 0]
    np.testing.assert_allclose(ours, theirs, atol=0.02)


def test_opens_a_cache_folder_and_names_an_empty_split(tiny_cache, monkeypatch):
    assert batches.make_dataset(tiny_cache, "val", 4, shuffle=False)[0][0].shape[0] == 4
    assert batches.steps_per_epoch(tiny_cache, "val", 10**6) == 1
    c = Cache.open(tiny_cache)
    monkeypatch.setattr(c, "labels", lambda split: np.zeros((0,), np.int64))
    with pytest.raises(ValueError, match="split 'test' is empty"):
        batches.make_dataset(c, "test", 4)
