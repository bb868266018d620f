"""Images/s of a training epoch fed by kana_keras.data (and by the NumPy feed,
kana_keras.batches) vs the same data as in-memory arrays.

    python benchmarks/pipeline.py [--data CACHE] [--backend tensorflow] [--steps 60] [--batch 64]

One process, one model, the same images: first warm every path up (compilation), then time
an epoch of each, three times in alternating order, and keep each path's best. Each epoch is
timed from its 10th batch on (``steady_rate``): starting a fit call costs a fixed second or
so whatever feeds it, which is not what this measures. Target: the
pipeline (with augmentation, as in training) at >= 0.95 of the in-memory rate.
"""

from __future__ import annotations

import argparse
import sys

from _common import DEFAULT_DATA, ready_cache, set_backend, steady_rate

set_backend(sys.argv)

import keras  # noqa: E402
import numpy as np  # noqa: E402

from kana_keras import batches, data  # noqa: E402
from kana_keras.model import KanaVAE  # noqa: E402
from kana_keras.presets import get_preset  # noqa: E402


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--data", default=DEFAULT_DATA,
                   help="cache, ETL files or 'synthetic' (made first if missing)")
    p.add_argument("--backend", default=None)
    p.add_argument("--steps", type=int, default=150)
    p.add_argument("--batch", type=int, default=64)
    args = p.parse_args()

    cache = ready_cache(args.data)
    n = args.steps * args.batch
    images = np.asarray(cache.images("train")[:n]).astype(np.float32)[..., None] / 255.0
    labels = np.asarray(cache.labels("train")[:n], dtype=np.int32)
    preset = get_preset("default")["model"]
    preset["image_size"] = cache.image_size
    model = KanaVAE(num_classes=len(cache.classes), **preset)
    model.compile(optimizer=keras.optimizers.Adam(1e-3))

    def pipeline(augment):
        return data.make_dataset(cache, "train", args.batch, augment=augment, seed=0,
                                 max_steps=args.steps)

    feeds = {
        "in-memory arrays": lambda: dict(x=images, y=labels, batch_size=args.batch, shuffle=True),
        "tf.data pipeline": lambda: dict(x=pipeline(False)),
        "tf.data pipeline + augmentation": lambda: dict(x=pipeline(True)),
        "NumPy feed + augmentation": lambda: dict(x=batches.make_dataset(
            cache, "train", args.batch, augment=True, seed=0, max_steps=args.steps)),
    }

    def epoch(feed):
        return steady_rate(lambda callbacks: model.fit(**feed(), epochs=1, verbose=0,
                                                       callbacks=callbacks), args.batch, 10)

    for feed in feeds.values():  # warm-up: compile every path once
        epoch(feed)
    best = {name: 0.0 for name in feeds}
    for _ in range(3):
        for name, feed in feeds.items():
            best[name] = max(best[name], epoch(feed))
    base = best["in-memory arrays"]
    print(f"backend {keras.backend.backend()}, {cache.image_size} px, batch {args.batch}, "
          f"{args.steps} steps per epoch ({n} images)")
    for name, rate in best.items():
        print(f"  {name:34s} {rate:8.1f} images/s   ratio {rate / base:5.2f}")
    print("target: tf.data pipeline ratio >= 0.95 (the NumPy feed is for machines without "
          "TensorFlow)")


if __name__ == "__main__":
    main()
