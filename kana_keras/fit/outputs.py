"""The weights folder, each file written whole: weights + config, pictures, history, curves,
and the checkpoint (weights, optimizer state, then state.json) of the last complete epoch.
"""

from __future__ import annotations

import csv
import io
import shutil
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from kana_keras.files import write_json_atomic, write_text_atomic
from kana_keras.fit.plan import CHECKPOINT_DIR, Plan


RUNS_DIR = Path("runs")
SAMPLE_CLASSES_SHOWN = 146
#: samples.png draws exactly what ``KanaGenerator.sample`` gives by default: temperature 1.
SAMPLE_TEMPERATURE = 1.0


class OutputWriter:
    """Writes the weights folder, each file whole: weights + config, pictures, history, curves.

    Called after every complete epoch (so an interrupted run leaves usable weights) and once
    at the end; each epoch's pictures also go to the run's log folder under runs/.
    """

    def __init__(self, model, plan: Plan, data, signature: dict):
        self.model, self.out, self.data, self.seed = model, plan.out, data, plan.seed
        self.run_dir = RUNS_DIR / f"{plan.out.name}-{datetime.now(timezone.utc):%Y%m%d-%H%M%S}"
        self.extra = {"preset": plan.preset, "training": plan.training, "signature": signature,
                      "preprocess": _preprocess_params(), "cache": str(data.path)}

    def write(self, history: list[dict]) -> None:
        from kana_keras import images
        from kana_keras.model import save_vae

        save_vae(self.model, self.out, self.data.classes, extra=self.extra)
        pictures = {"samples.png": sample_picture(self.model, self.data.classes, seed=self.seed),
                    "reconstructions.png": reconstruction_picture(
                        self.model, self.data.val_images, self.data.val_labels)}
        for name, picture in pictures.items():
            images.save_atomic(picture, self.out / name)
            if history:
                epoch = history[-1]["epoch"]
                images.save_atomic(picture, self.run_dir / f"epoch{epoch:03d}-{name}")
        if history:
            write_history(self.out / "history.csv", history)
            images.save_atomic(images.curves(history), self.out / "training_curves.png")


def sample_picture(model, classes, seed: int = 0):
    """One drawing per class (conditional) or a grid of unconditional samples."""
    from kana_keras import images

    if model.conditional:
        shown = list(range(min(len(classes), SAMPLE_CLASSES_SHOWN)))
        drawn = model.generate(labels=shown, seed=seed, temperature=SAMPLE_TEMPERATURE)
        return images.grid(drawn, labels=[classes[i] for i in shown], cols=16,
                           scale=_scale(model))
    return images.grid(model.generate(n=64, seed=seed, temperature=SAMPLE_TEMPERATURE), cols=8,
                       scale=_scale(model))


def _scale(model) -> int:
    return max(1, 64 // model.image_size)


def reconstruction_picture(model, val_images, val_labels):
    """Rows of originals (top) and their reconstructions (below)."""
    from kana_keras import images

    recon = model.reconstruct(val_images, val_labels if model.conditional else None)
    cols = 16
    rows = []
    for start in range(0, len(val_images), cols):
        rows += [val_images[start:start + cols], recon[start:start + cols]]
    return images.grid(np.concatenate(rows), cols=cols, scale=_scale(model))


def write_history(path: Path, rows: list[dict]) -> None:
    """history.csv, written whole (never half a file)."""
    if not rows:
        return
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    write_text_atomic(path, buf.getvalue())


def save_checkpoint(model, out: Path, state: dict) -> None:
    """Weights + optimizer state (a compiled model's weights file holds both), then state.json
    last, so the state never points at files not yet written.

    Only complete epochs are checkpointed: ``state["epoch"]`` epochs were trained and
    validated, and the optimizer's step count is theirs.
    """
    from kana_keras.model import save_weights_atomic

    ckpt = out / CHECKPOINT_DIR
    ckpt.mkdir(parents=True, exist_ok=True)
    save_weights_atomic(model, ckpt / "kana_vae.weights.h5")
    write_json_atomic(ckpt / "state.json", state)


def load_checkpoint(model, out: Path) -> None:
    model.optimizer.build(model.trainable_variables)  # so its saved state has somewhere to go
    model.load_weights(out / CHECKPOINT_DIR / "kana_vae.weights.h5")


def remove_checkpoint(out: Path) -> None:
    if (out / CHECKPOINT_DIR).exists():
        shutil.rmtree(out / CHECKPOINT_DIR)


def _preprocess_params():
    try:
        from kana_keras.preprocess import PREPROCESS_PARAMS
        return PREPROCESS_PARAMS
    except ImportError:  # preprocess not available: the cache manifest still records it
        return None
