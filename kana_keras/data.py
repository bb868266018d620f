"""tf.data over the converter's cache: what feeds model.fit on every Keras backend.

Small caches are read into memory once (that copy is the cache) and only shuffled indices
flow through tf.data, one gather per batch; large ones are streamed from the memory-mapped
arrays in shuffled contiguous chunks, so memory stays bounded. Batches are
turned into float32 [0, 1] with a channel axis and, for training, lightly distorted
(shift, scale, rotation, shear; never a flip: a mirrored kana is a different glyph or none).
``kana_keras.batches`` is its NumPy twin for machines without TensorFlow.
"""

from __future__ import annotations

import math

import numpy as np
import tensorflow as tf

# shared with the NumPy feed: augmentation ranges, the in-memory bound, opening a split, and
# steps_per_epoch (re-exported: fit calls it on whichever feed it uses)
from kana_keras.batches import (IN_MEMORY_BYTES, MAX_ROTATION, MAX_SCALE, MAX_SHEAR, MAX_SHIFT,
                                split_arrays, steps_per_epoch)  # noqa: F401

AUTOTUNE = tf.data.AUTOTUNE
#: Records read per step when streaming a large split.
CHUNK_RECORDS = 8192


def to_float(images):
    """uint8 (B, S, S) ink-high -> float32 (B, S, S, 1) in [0, 1]."""
    return tf.cast(images, tf.float32)[..., None] / 255.0


def augment_batch(images, seed=None, generator=None):
    """Random small affine distortions of a float batch (B, S, S, 1), one per image.

    Pass a ``tf.random.Generator`` to get new distortions on every call that are still
    reproducible from its seed (an op-level seed would repeat them every epoch).
    """
    images = tf.convert_to_tensor(images, tf.float32)
    shape = tf.shape(images)
    batch, side = shape[0], tf.cast(shape[1], tf.float32)
    if generator is None:
        generator = (tf.random.Generator.from_seed(seed) if seed is not None
                     else tf.random.get_global_generator())

    def uniform(limit):
        return generator.uniform((batch,), -limit, limit)

    angle = uniform(MAX_ROTATION * math.pi / 180.0)
    scale = 1.0 + uniform(MAX_SCALE)
    shear = uniform(MAX_SHEAR)
    shift_x, shift_y = uniform(MAX_SHIFT) * side, uniform(MAX_SHIFT) * side
    # Output pixel -> input pixel: in = A (out - c) + c + t with A = R(angle) S(shear) / scale.
    cos, sin = tf.cos(angle) / scale, tf.sin(angle) / scale
    a0, a1 = cos, cos * shear - sin
    b0, b1 = sin, sin * shear + cos
    centre = (side - 1.0) / 2.0
    a2 = centre - a0 * centre - a1 * centre + shift_x
    b2 = centre - b0 * centre - b1 * centre + shift_y
    zeros = tf.zeros_like(a0)
    transforms = tf.stack([a0, a1, a2, b0, b1, b2, zeros, zeros], axis=1)
    return tf.raw_ops.ImageProjectiveTransformV3(
        images=images, transforms=transforms, output_shape=shape[1:3],
        fill_value=0.0, interpolation="BILINEAR", fill_mode="CONSTANT",
    )


def _chunked(images, labels, seed, shuffle):
    """Yield (images, labels) chunks of a memory-mapped split, chunk order shuffled per epoch."""
    n = len(labels)
    starts = np.arange(0, n, CHUNK_RECORDS)
    epoch = 0

    def generator():
        nonlocal epoch
        order = np.random.default_rng((seed, epoch)).permutation(starts) if shuffle else starts
        epoch += 1
        for start in order:
            yield (np.asarray(images[start:start + CHUNK_RECORDS]),
                   np.asarray(labels[start:start + CHUNK_RECORDS], dtype=np.int32))

    side = images.shape[1]
    return tf.data.Dataset.from_generator(generator, output_signature=(
        tf.TensorSpec((None, side, side), tf.uint8), tf.TensorSpec((None,), tf.int32)))


def make_dataset(cache, split, batch_size, augment=False, shuffle=None, seed=0,
                 with_labels=True, drop_remainder=None, in_memory=None, max_steps=None):
    """A tf.data.Dataset of (images float32 (B, S, S, 1), labels int32 (B,)) from a cache split.

    Args:
        cache: a ``kana_keras.cache.Cache`` or its folder.
        split: "train", "val" or "test".
        batch_size: int.
        augment: random shifts/scale/rotation/shear, applied after the cache (new each epoch).
        shuffle: defaults to True for "train".
        seed: shuffle/augmentation seed.
        with_labels: False yields images only.
        drop_remainder: defaults to True when shuffling (steady batch shapes for jit).
        in_memory: force (True) or forbid (False) loading the split; default by size.
        max_steps: stop each epoch after this many batches.
    """
    images, labels = split_arrays(cache, split)
    shuffle = split == "train" if shuffle is None else shuffle
    drop_remainder = shuffle if drop_remainder is None else drop_remainder
    if drop_remainder and len(labels) < batch_size:
        drop_remainder = False  # a tiny split still yields one batch
    if in_memory is None:
        in_memory = images.nbytes <= IN_MEMORY_BYTES
    generator = tf.random.Generator.from_seed(seed) if augment else None

    def prepare(batch_images, batch_labels):
        x = to_float(batch_images)
        if augment:
            x = augment_batch(x, generator=generator)
        return (x, batch_labels) if with_labels else x

    if in_memory:
        # The split, read once, is the cache; only indices are shuffled and batched, then
        # each batch is one gather and one prepare, in a single map: no per-image work.
        all_images = tf.constant(np.asarray(images))
        all_labels = tf.constant(np.asarray(labels, dtype=np.int32))
        ds = tf.data.Dataset.range(len(labels))
        if shuffle:
            ds = ds.shuffle(len(labels), seed=seed, reshuffle_each_iteration=True)
        ds = ds.batch(batch_size, drop_remainder=drop_remainder)
        if max_steps:
            ds = ds.take(max_steps)
        ds = ds.map(lambda index: prepare(tf.gather(all_images, index),
                                          tf.gather(all_labels, index)),
                    num_parallel_calls=AUTOTUNE)
    else:
        ds = _chunked(images, labels, seed, shuffle).unbatch()
        if shuffle:
            ds = ds.shuffle(min(len(labels), 4 * CHUNK_RECORDS), seed=seed,
                            reshuffle_each_iteration=True)
        ds = ds.batch(batch_size, drop_remainder=drop_remainder)
        if max_steps:
            ds = ds.take(max_steps)
        ds = ds.map(prepare, num_parallel_calls=AUTOTUNE)
    return ds.prefetch(AUTOTUNE)
