"""Training images/s of the `default` preset vs the `blog` preset: same data, backend, batch.

    python benchmarks/train_throughput.py [--data CACHE] [--backend tensorflow] [--batch 32]
        [--presets blog default]

Both models see the same cache images (resized to each preset's input size) in the same
process. Only steady-state steps are timed: the clock starts after the first ``--warmup``
batches of each ``fit`` call (tracing, building the input adapter and the first steps
cost a fixed second or more, which would swamp a short run). The two models alternate for
``--rounds`` epochs and each keeps its best, so a busy spell on a shared machine does not
decide the ratio. The blog's ~66M-parameter dense decoder dominates its time.
Target: default >= 10x.
"""

from __future__ import annotations

import argparse
import sys

from _common import DEFAULT_DATA, ready_cache, set_backend, steady_rate

set_backend(sys.argv)

import cv2  # noqa: E402
import keras  # noqa: E402
import numpy as np  # noqa: E402

from kana_keras.model import KanaVAE  # noqa: E402
from kana_keras.presets import get_preset  # noqa: E402


def trainer(name, cache, batch, steps, warmup):
    """A compiled model of the preset and a function timing one epoch of it (images/s)."""
    preset = get_preset(name)
    size = preset["model"]["image_size"]
    n = batch * (steps + warmup)
    raw = np.asarray(cache.images("train")[:n])
    if raw.shape[1] != size:
        raw = np.stack([cv2.resize(im, (size, size), interpolation=cv2.INTER_AREA) for im in raw])
    images = raw.astype(np.float32)[..., None] / 255.0
    labels = np.asarray(cache.labels("train")[:n], dtype=np.int32)
    keras.utils.set_random_seed(0)
    model = KanaVAE(num_classes=len(cache.classes), **preset["model"])
    model.compile(optimizer=keras.optimizers.Adam(preset["learning_rate"]))

    def epoch():
        return steady_rate(lambda callbacks: model.fit(
            images, labels, batch_size=batch, epochs=1, shuffle=False, verbose=0,
            callbacks=callbacks), batch, warmup)

    return model, size, epoch


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--data", default=DEFAULT_DATA,
                   help="cache, ETL files or 'synthetic' (made first if missing)")
    p.add_argument("--backend", default=None)
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--steps", type=int, default=60, help="timed steps per model")
    p.add_argument("--warmup", type=int, default=10, help="untimed steps first")
    p.add_argument("--rounds", type=int, default=3, help="epochs per model, alternating; best kept")
    p.add_argument("--presets", nargs="+", default=["blog", "default"], choices=["blog", "default"],
                   help="which presets to time (benchmarks/backends.py times default alone)")
    args = p.parse_args()
    cache = ready_cache(args.data)
    trainers = {name: trainer(name, cache, args.batch, args.steps, args.warmup)
                for name in args.presets}
    best = {name: 0.0 for name in trainers}
    for _ in range(args.rounds):  # alternate, so a busy spell on a shared machine hits both
        for name, (_, _, epoch) in trainers.items():
            best[name] = max(best[name], epoch())
    print(f"backend {keras.backend.backend()}, batch {args.batch}, {args.steps} timed steps "
          f"after {args.warmup} untimed, best of {args.rounds} alternating epochs")
    for name, (model, size, _) in trainers.items():
        print(f"  {name:8s} {size} px {model.count_params():>12,} params  {best[name]:8.1f} images/s")
    if len(best) == 2:
        print(f"default / blog = {best['default'] / best['blog']:.1f}x (target >= 10x)")


if __name__ == "__main__":
    main()
