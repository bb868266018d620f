"""Measure a trained VAE on the user's path against a fixed judge: the trade-off table's rows.

For comparing runs while tuning (``docs/tradeoffs.md``); ``python -m kana_keras.evaluate`` is the
full report. Samples come three ways: from the folder's own sampler (``KanaGenerator.sample``),
and from a Gaussian per class fitted here to the training codes with the given shrinkage (to
compare samplers without retraining). Reconstructions go through ``KanaGenerator.reconstruct``
with no class given; everything is read back by ``KanaGenerator.recognize``.

    python tools/measure_vae.py WEIGHTS --recognizer JUDGE_WEIGHTS [--data CACHE] [--shrinkage 0]
"""

from __future__ import annotations

import argparse
import json

import numpy as np


def fitted_samples(gen, train_x, train_y, labels, eps, shrinkage: float) -> np.ndarray:
    """Decode eps through a Gaussian per class fitted to the training codes (no posterior
    variance), its covariance shrunk towards the pooled one by ``shrinkage`` pseudo-images."""
    z_mean, _ = gen.vae.encode(train_x.astype(np.float32)[..., None] / 255.0, train_y)
    classes = len(gen.classes)
    centres = np.stack([z_mean[train_y == c].mean(0) for c in range(classes)])
    resid = z_mean - centres[train_y]
    pooled = resid.T @ resid / len(z_mean)
    z = np.zeros((len(labels), z_mean.shape[1]), np.float32)
    for c in range(classes):
        members = z_mean[train_y == c]
        n = len(members)
        cov = (n * np.cov(members, rowvar=False) + shrinkage * pooled) / (n + shrinkage)
        scale = np.linalg.cholesky(cov + 1e-6 * np.eye(len(cov)))
        z[labels == c] = centres[c] + eps[labels == c] @ scale.T
    return gen.vae.decode(z, labels)[..., 0]


def main(argv=None) -> int:
    from kana_keras import evaluate as ev
    from kana_keras.cache import Cache
    from kana_keras.datasets import resolve_data
    from kana_keras.images import to_uint8
    from kana_keras.inference import KanaGenerator
    from kana_keras.model import load_vae
    from kana_keras.recognizer import load_recognizer

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("weights")
    parser.add_argument("--recognizer", required=True, help="the judge's weights folder")
    parser.add_argument("--data", default="synthetic")
    parser.add_argument("--shrinkage", type=float, default=0.0)
    parser.add_argument("--per-class", type=int, default=16)
    args = parser.parse_args(argv)
    vae, config = load_vae(args.weights)
    gen = KanaGenerator(vae, config, load_recognizer(args.recognizer), args.weights)
    cache = Cache.open(resolve_data(args.data, size=gen.image_size))
    train_x, train_y = np.asarray(cache.images("train")), np.asarray(cache.labels("train"))
    test_x, test_y = np.asarray(cache.images("test")), np.asarray(cache.labels("test"))
    reference = float(np.nanmean(ev.sharpness(train_x[::10])))
    labels = np.repeat(np.arange(len(gen.classes)), args.per_class).astype(np.int32)
    eps = np.random.default_rng(0).standard_normal((len(labels), gen.latent_dim))
    out = {}
    for name, ink in (("samples_own_sampler", ev.user_samples(gen, args.per_class, 0)),
                      ("samples_fitted_here", to_uint8(fitted_samples(
                          gen, train_x, train_y, labels, eps, args.shrinkage)))):
        read = ev.user_recognised(gen, ink, labels, gen.classes)
        out[name] = {"recognised": read["accuracy"], "refused": read["refused"],
                     **ev.ink_quality(ink, reference)}
    recons = ev.user_reconstructions(gen, test_x, progress=False)
    read = ev.user_recognised(gen, recons, test_y, gen.classes)
    means = ev.class_means(train_x, train_y, len(gen.classes))
    out["reconstructions"] = {"recognised": read["accuracy"], "refused": read["refused"],
                              **ev.ink_quality(recons, reference),
                              "style_kept": ev.style_kept(test_x, recons, test_y, means,
                                                          gen.image_size)["share"]}
    print(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
