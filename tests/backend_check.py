"""One backend's share of the model tests, run in its own process (KERAS_BACKEND is per process).

    KERAS_BACKEND=jax python tests/backend_check.py CACHE WORKDIR [--compare-only]

Trains a tiny conditional KanaVAE for a few steps on the cache, saves it under
WORKDIR/<backend>/ with its decodings of fixed latents, then loads every other backend's
saved weights found in WORKDIR and decodes the same latents. Prints one JSON line.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

import keras

from kana_keras import data
from kana_keras.cache import Cache
from kana_keras.model import KanaVAE, load_vae, save_vae

TINY = dict(latent_dim=8, encoder_filters=(8, 16), decoder_filters=(16, 8), hidden_dim=32,
            embedding_dim=4, normalization="batch")


def fixed_latents(latent_dim: int, num_classes: int):
    rng = np.random.default_rng(123)
    return (rng.standard_normal((6, latent_dim)).astype(np.float32),
            np.arange(6, dtype=np.int32) * (num_classes // 6))


def train_and_save(cache, work: Path) -> dict:
    keras.utils.set_random_seed(0)
    model = KanaVAE(image_size=cache.image_size, num_classes=len(cache.classes), **TINY)
    model.compile(optimizer=keras.optimizers.Adam(3e-3))
    val = data.make_dataset(cache, "val", 64, shuffle=False).take(2)
    before = model.evaluate(val, verbose=0, return_dict=True)
    train = data.make_dataset(cache, "train", 32, augment=True, seed=0)
    history = model.fit(train, epochs=2, steps_per_epoch=12, verbose=0).history
    after = model.evaluate(val, verbose=0, return_dict=True)
    out = work / keras.backend.backend()
    save_vae(model, out, cache.classes, extra={"note": "backend_check"})
    z, labels = fixed_latents(model.latent_dim, model.num_classes)
    np.save(out / "decoded.npy", model.decode(z, labels))
    reloaded, config = load_vae(out)
    return {
        "val_loss_before": float(before["loss"]), "val_loss_after": float(after["loss"]),
        "train_loss": [float(v) for v in history["loss"]],
        "reload_max_diff": float(np.abs(reloaded.decode(z, labels)
                                        - np.load(out / "decoded.npy")).max()),
        "config_round_trip": reloaded.get_config() == model.get_config(),
        "classes_saved": config["classes"] == list(cache.classes),
    }


def compare_others(work: Path) -> dict:
    diffs = {}
    for saved in sorted(p for p in work.iterdir() if (p / "decoded.npy").exists()):
        if saved.name == keras.backend.backend():
            continue
        model, _ = load_vae(saved)
        z, labels = fixed_latents(model.latent_dim, model.num_classes)
        diffs[saved.name] = float(np.abs(model.decode(z, labels) - np.load(saved / "decoded.npy")).max())
    return diffs


def main(argv) -> int:
    cache, work = Cache.open(argv[0]), Path(argv[1])
    result = {"backend": keras.backend.backend()}
    if "--compare-only" not in argv:
        result.update(train_and_save(cache, work))
    result["cross_backend_max_diff"] = compare_others(work)
    print("RESULT " + json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
