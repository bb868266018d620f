"""Shared bits of the benchmarks: backend choice before Keras, the data to time on."""

from __future__ import annotations

import contextlib
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
import kana_keras  # noqa: E402,F401  (quiets TensorFlow's C++ banners before Keras loads it)
DEFAULT_DATA = "synthetic"


def ready_cache(data: str = DEFAULT_DATA, size: int = 64):
    """The opened cache a benchmark times on, made first if missing (a fresh clone has none).

    ``"synthetic"`` draws and converts the built-in set under this checkout's ``data/``, as
    ``python -m kana_keras.fit`` would; a cache folder or ETL files work as ``--data`` does.
    """
    from kana_keras.cache import Cache
    from kana_keras.datasets import resolve_data

    try:
        with contextlib.chdir(ROOT if data == "synthetic" else "."):
            return Cache.open(Path(resolve_data(data, size=size)).absolute())
    except ValueError as exc:
        raise SystemExit(f"error: {exc}") from None


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
