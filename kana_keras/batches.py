"""NumPy batches over the converter's cache: the feed for machines without TensorFlow.

``kana_keras.data`` (tf.data) is the main pipeline. A GPU box with only JAX or PyTorch has no
TensorFlow, so ``fit --pipeline numpy`` (chosen automatically there) feeds ``model.fit``
from this ``keras.utils.PyDataset`` instead: the same splits, the same float32 [0, 1] images
with a channel axis and int32 labels, and the same gentle distortions (shift, scale,
rotation, shear; never a flip), drawn with OpenCV in worker threads.
"""

from __future__ import annotations

import math
import os

import cv2
import keras
import numpy as np

# augmentation (per image, uniform in +-range); kana_keras.data uses the same ranges
MAX_SHIFT = 0.06        # fraction of the side
MAX_SCALE = 0.10        # relative
MAX_ROTATION = 8.0      # degrees
MAX_SHEAR = 0.15        # x shear per unit y
#: Splits under this many bytes are read into memory once; larger ones are gathered per batch
#: from the memory map, so memory stays bounded.
IN_MEMORY_BYTES = 1 << 30


def affine_matrix(side: int, angle: float, scale: float, shear: float, shift_x: float,
                  shift_y: float) -> np.ndarray:
    """2x3 map from output pixel to input pixel: in = A (out - c) + c + t, A = R S / scale."""
    cos, sin = math.cos(angle) / scale, math.sin(angle) / scale
    a0, a1 = cos, cos * shear - sin
    b0, b1 = sin, sin * shear + cos
    centre = (side - 1.0) / 2.0
    return np.array([[a0, a1, centre - a0 * centre - a1 * centre + shift_x],
                     [b0, b1, centre - b0 * centre - b1 * centre + shift_y]], np.float64)


def augment_images(images: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Random small affine distortions of float images (B, S, S), one per image."""
    n, side = len(images), images.shape[1]
    angle = rng.uniform(-1, 1, n) * MAX_ROTATION * math.pi / 180.0
    scale = 1.0 + rng.uniform(-1, 1, n) * MAX_SCALE
    shear = rng.uniform(-1, 1, n) * MAX_SHEAR
    shift = rng.uniform(-1, 1, (n, 2)) * MAX_SHIFT * side
    out = np.empty_like(images)
    for i in range(n):
        m = affine_matrix(side, angle[i], scale[i], shear[i], shift[i, 0], shift[i, 1])
        out[i] = cv2.warpAffine(images[i], m, (side, side),
                                flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                                borderMode=cv2.BORDER_CONSTANT, borderValue=0.0)
    return out


def open_cache(cache):
    """A ``kana_keras.cache.Cache``, given one or its folder."""
    if isinstance(cache, (str, os.PathLike)):
        from kana_keras.cache import Cache
        return Cache.open(cache)
    return cache


def split_arrays(cache, split):
    """(images, labels) of one split, memory-mapped; an empty split is an error naming it."""
    cache = open_cache(cache)
    images, labels = cache.images(split), cache.labels(split)
    if len(labels) == 0:
        raise ValueError(f"cache {getattr(cache, 'path', cache)!s}: split {split!r} is empty")
    return images, labels


class CacheBatches(keras.utils.PyDataset):
    """(images float32 (B, S, S, 1), labels int32 (B,)) batches of one cache split.

    Args:
        cache: a ``kana_keras.cache.Cache`` or its folder.
        split: "train", "val" or "test".
        batch_size: int.
        augment: random shifts/scale/rotation/shear, new every epoch.
        shuffle: defaults to True for "train" (a new order every epoch).
        seed: order/augmentation seed.
        with_labels: False yields images only.
        drop_remainder: defaults to True when shuffling (steady batch shapes for jit).
        max_steps: stop each epoch after this many batches.
        workers: threads preparing batches (OpenCV releases the GIL).
    """

    def __init__(self, cache, split, batch_size, augment=False, shuffle=None, seed=0,
                 with_labels=True, drop_remainder=None, max_steps=None, workers=4, **kwargs):
        super().__init__(workers=workers, use_multiprocessing=False, **kwargs)
        images, labels = split_arrays(cache, split)
        self.in_memory = images.nbytes <= IN_MEMORY_BYTES
        self.images = np.array(images) if self.in_memory else images
        self.labels = np.asarray(labels, dtype=np.int32)
        self.batch_size = int(batch_size)
        self.augment = bool(augment)
        self.shuffle = split == "train" if shuffle is None else bool(shuffle)
        drop = self.shuffle if drop_remainder is None else bool(drop_remainder)
        self.drop_remainder = drop and len(self.labels) >= self.batch_size
        self.with_labels = with_labels
        self.max_steps = max_steps
        self.seed = seed
        self.epoch = 0
        self._order = None
        self._new_order()

    def _new_order(self):
        n = len(self.labels)
        self._order = (np.random.default_rng([self.seed, self.epoch]).permutation(n)
                       if self.shuffle else np.arange(n))

    def __len__(self):
        n = len(self.labels)
        steps = n // self.batch_size if self.drop_remainder else math.ceil(n / self.batch_size)
        return min(steps, self.max_steps) if self.max_steps else steps

    def on_epoch_end(self):
        self.epoch += 1
        self._new_order()

    def __getitem__(self, index):
        idx = self._order[index * self.batch_size:(index + 1) * self.batch_size]
        if self.in_memory:
            x = self.images[idx]
        else:  # memory-mapped: read the rows in file order, then put them back in batch order
            order = np.argsort(idx)
            x = np.empty((len(idx), *self.images.shape[1:]), np.uint8)
            x[order] = self.images[idx[order]]
        x = x.astype(np.float32) / 255.0
        if self.augment:
            x = augment_images(x, np.random.default_rng([self.seed, self.epoch, index]))
        x = x[..., None]
        return (x, self.labels[idx]) if self.with_labels else x


def make_dataset(cache, split, batch_size, augment=False, shuffle=None, seed=0,
                 with_labels=True, drop_remainder=None, max_steps=None) -> CacheBatches:
    """The NumPy twin of ``kana_keras.data.make_dataset`` (same arguments, same batches)."""
    return CacheBatches(cache, split, batch_size, augment=augment, shuffle=shuffle, seed=seed,
                        with_labels=with_labels, drop_remainder=drop_remainder,
                        max_steps=max_steps)


def steps_per_epoch(cache, split, batch_size, drop_remainder=True) -> int:
    n = open_cache(cache).count(split)
    return max(1, n // batch_size if drop_remainder else math.ceil(n / batch_size))
