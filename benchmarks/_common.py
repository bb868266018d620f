"""Shared bits of the benchmarks: backend choice before Keras, the data to time on."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DEFAULT_CACHE = ROOT / "data" / "cache" / "synthetic-64-all"


def set_backend(argv) -> None:
    """--backend NAME must reach KERAS_BACKEND before the first `import keras`."""
    if "--backend" in argv:
        os.environ["KERAS_BACKEND"] = argv[argv.index("--backend") + 1]
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")


def steady_rate(fit, images_per_batch: int, skip: int) -> float:
    """Images/s of one ``fit(callbacks)`` call, timed from batch ``skip`` on.

    The first batches of every fit call pay for tracing and for building the input adapter
    (a second or more); a short epoch timed whole measures that, not training.
    """
    import keras

    class Clock(keras.callbacks.Callback):
        start, end, batches = None, None, 0

        def on_train_batch_begin(self, batch, logs=None):
            if batch == skip:
                self.start = time.perf_counter()

        def on_train_batch_end(self, batch, logs=None):
            if batch >= skip:
                self.batches += 1
                self.end = time.perf_counter()

    clock = Clock()
    fit([clock])
    if not clock.batches:
        raise ValueError(f"the epoch had no batches after the {skip} untimed ones")
    return clock.batches * images_per_batch / (clock.end - clock.start)
