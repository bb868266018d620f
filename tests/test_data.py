"""The tf.data pipeline over the cache: what goes in comes out, shuffled, distorted gently."""

from __future__ import annotations

import numpy as np
import pytest

from kana_keras import data
from kana_keras.cache import Cache


@pytest.fixture(scope="module")
def cache(tiny_cache):
    return Cache.open(tiny_cache)


def _collect(ds):
    xs, ys = zip(*[(x.numpy(), y.numpy()) for x, y in ds])
    return np.concatenate(xs), np.concatenate(ys)


def test_batches_hold_the_cache_as_float_with_a_channel_axis(cache):
    ds = data.make_dataset(cache, "val", 50, shuffle=False)
    images, labels = _collect(ds)
    n, s = cache.count("val"), cache.image_size
    assert images.shape == (n, s, s, 1) and images.dtype == np.float32
    assert labels.dtype == np.int32
    np.testing.assert_array_equal(labels, cache.labels("val"))
    np.testing.assert_allclose(images[..., 0], cache.images("val") / 255.0, atol=1e-6)
    assert images.min() >= 0.0 and images.max() <= 1.0


def test_training_order_is_shuffled_anew_each_epoch(cache):
    ds = data.make_dataset(cache, "train", 32, seed=0)
    first, second = _collect(ds)[1], _collect(ds)[1]
    assert len(first) == (cache.count("train") // 32) * 32  # drop_remainder: steady shapes
    assert not np.array_equal(first, second)
    assert not np.array_equal(first, cache.labels("train")[:len(first)])


def test_images_only(cache):
    batch = next(iter(data.make_dataset(cache, "val", 8, shuffle=False, with_labels=False)))
    assert tuple(batch.shape) == (8, cache.image_size, cache.image_size, 1)


def test_streaming_a_large_cache_yields_the_same_records(cache, monkeypatch):
    """Large splits are read chunk by chunk from the memory map instead of loaded whole."""
    monkeypatch.setattr(data, "CHUNK_RECORDS", 100)
    images, labels = _collect(data.make_dataset(cache, "val", 64, shuffle=False, in_memory=False))
    np.testing.assert_array_equal(labels, cache.labels("val"))
    np.testing.assert_allclose(images[..., 0], cache.images("val") / 255.0, atol=1e-6)
    shuffled = _collect(data.make_dataset(cache, "val", 64, shuffle=True, in_memory=False,
                                          drop_remainder=False))[1]
    assert not np.array_equal(shuffled, labels)
    np.testing.assert_array_equal(np.sort(shuffled), np.sort(labels))


def test_augmentation_is_gentle_and_never_flips(cache):
    original = cache.images("val")[:64].astype(np.float32)[..., None] / 255.0
    augmented = data.augment_batch(original, seed=1).numpy()
    assert augmented.shape == original.shape
    assert augmented.min() >= 0.0 and augmented.max() <= 1.0 + 1e-6
    assert not np.allclose(augmented, original)

    def corr(a, b):
        a, b = a.reshape(len(a), -1), b.reshape(len(b), -1)
        a, b = a - a.mean(1, keepdims=True), b - b.mean(1, keepdims=True)
        return (a * b).sum(1) / np.sqrt((a * a).sum(1) * (b * b).sum(1) + 1e-9)

    blurred_match = corr(augmented, original).mean()
    assert blurred_match > corr(augmented, original[:, :, ::-1]).mean() + 0.1  # not mirrored
    assert blurred_match > corr(augmented, original[:, ::-1]).mean() + 0.1     # not upside down
    ink = lambda x: x.reshape(len(x), -1).sum(1)
    np.testing.assert_allclose(ink(augmented), ink(original), rtol=0.35)  # strokes kept


def test_augmented_training_batches_change_between_epochs(cache):
    ds = data.make_dataset(cache, "val", 16, augment=True, shuffle=False, seed=0)
    a, b = next(iter(ds))[0].numpy(), next(iter(ds))[0].numpy()
    assert not np.allclose(a, b)


def test_steps_per_epoch(cache):
    assert data.steps_per_epoch(cache, "train", 32) == cache.count("train") // 32
    assert data.steps_per_epoch(cache, "val", 10**6) == 1


def test_opens_a_cache_folder_and_names_an_empty_split(tiny_cache, monkeypatch):
    assert next(iter(data.make_dataset(tiny_cache, "val", 4, shuffle=False)))[0].shape[0] == 4
    c = Cache.open(tiny_cache)
    monkeypatch.setattr(c, "labels", lambda split: np.zeros((0,), np.int64))
    with pytest.raises(ValueError, match="empty"):
        data.make_dataset(c, "test", 4)
