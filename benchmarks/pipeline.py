"""Images/s of a training epoch fed by kana_keras.data vs the same data as in-memory arrays.

    python benchmarks/pipeline.py [--data CACHE] [--backend tensorflow] [--steps 60] [--batch 64]

One process, one model, the same images: first warm both paths up (compilation), then time
an epoch of each, twice in alternating order, and keep each path's best. Target: the
pipeline (with augmentation, as in training) at >= 0.95 of the in-memory rate.
"""

from __future__ import annotations

import argparse
import sys
import time

from _common import DEFAULT_CACHE, set_backend

set_backend(sys.argv)

import keras  # noqa: E402
import numpy as np  # noqa: E402

from kana_keras import data  # noqa: E402
from kana_keras.cache import Cache  # noqa: E402
from kana_keras.model import KanaVAE  # noqa: E402
from kana_keras.presets import get_preset  # noqa: E402


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--data", default=str(DEFAULT_CACHE))
    p.add_argument("--backend", default=None)
    p.add_argument("--steps", type=int, default=60)
    p.add_argument("--batch", type=int, default=64)
    args = p.parse_args()

    cache = Cache.open(args.data)
    n = args.steps * args.batch
    images = np.asarray(cache.images("train")[:n]).astype(np.float32)[..., None] / 255.0
    labels = np.asarray(cache.labels("train")[:n], dtype=np.int32)
    preset = get_preset("default")["model"]
    preset["image_size"] = cache.image_size
    model = KanaVAE(num_classes=len(cache.classes), **preset)
    model.compile(optimizer=keras.optimizers.Adam(1e-3))

    def pipeline(augment):
        ds = data.make_dataset(cache, "train", args.batch, augment=augment, seed=0)
        return ds.take(args.steps)

    runs = {
        "in-memory arrays": lambda: model.fit(images, labels, batch_size=args.batch, epochs=1,
                                              shuffle=True, verbose=0),
        "tf.data pipeline": lambda: model.fit(pipeline(False), epochs=1, verbose=0),
        "tf.data pipeline + augmentation": lambda: model.fit(pipeline(True), epochs=1, verbose=0),
    }
    for run in runs.values():  # warm-up: compile every path once
        run()
    best = {name: 0.0 for name in runs}
    for _ in range(2):
        for name, run in runs.items():
            start = time.perf_counter()
            run()
            best[name] = max(best[name], n / (time.perf_counter() - start))
    base = best["in-memory arrays"]
    print(f"backend {keras.backend.backend()}, {cache.image_size} px, batch {args.batch}, "
          f"{args.steps} steps per epoch ({n} images)")
    for name, rate in best.items():
        print(f"  {name:34s} {rate:8.1f} images/s   ratio {rate / base:5.2f}")
    print("target: pipeline ratio >= 0.95")


if __name__ == "__main__":
    main()
