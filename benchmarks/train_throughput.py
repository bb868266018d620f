"""Training images/s of the `default` preset vs the `blog` preset: same data, backend, batch.

    python benchmarks/train_throughput.py [--data CACHE] [--backend tensorflow] [--batch 32]

Both models see the same cache images (resized to each preset's input size) in the same
process. The blog's ~66M-parameter dense decoder dominates its time. Target: default >= 10x.
"""

from __future__ import annotations

import argparse
import sys
import time

from _common import DEFAULT_CACHE, set_backend

set_backend(sys.argv)

import cv2  # noqa: E402
import keras  # noqa: E402
import numpy as np  # noqa: E402

from kana_keras.cache import Cache  # noqa: E402
from kana_keras.model import KanaVAE  # noqa: E402
from kana_keras.presets import get_preset  # noqa: E402


def images_per_second(name, cache, batch, steps, warmup=3):
    preset = get_preset(name)
    size = preset["model"]["image_size"]
    n = batch * steps
    raw = np.asarray(cache.images("train")[:n])
    if raw.shape[1] != size:
        raw = np.stack([cv2.resize(im, (size, size), interpolation=cv2.INTER_AREA) for im in raw])
    images = raw.astype(np.float32)[..., None] / 255.0
    labels = np.asarray(cache.labels("train")[:n], dtype=np.int32)
    keras.utils.set_random_seed(0)
    model = KanaVAE(num_classes=len(cache.classes), **preset["model"])
    model.compile(optimizer=keras.optimizers.Adam(preset["learning_rate"]))
    for i in range(warmup):
        model.train_on_batch(images[i * batch:(i + 1) * batch], labels[i * batch:(i + 1) * batch])
    start = time.perf_counter()
    model.fit(images, labels, batch_size=batch, epochs=1, shuffle=False, verbose=0)
    rate = n / (time.perf_counter() - start)
    return rate, model.count_params(), size


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--data", default=str(DEFAULT_CACHE))
    p.add_argument("--backend", default=None)
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--steps", type=int, default=30)
    args = p.parse_args()
    cache = Cache.open(args.data)
    results = {name: images_per_second(name, cache, args.batch, args.steps)
               for name in ("blog", "default")}
    print(f"backend {keras.backend.backend()}, batch {args.batch}, {args.steps} steps each")
    for name, (rate, params, size) in results.items():
        print(f"  {name:8s} {size} px {params:>12,} params  {rate:8.1f} images/s")
    print(f"default / blog = {results['default'][0] / results['blog'][0]:.1f}x (target >= 10x)")


if __name__ == "__main__":
    main()
