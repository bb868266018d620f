"""Shared bits of the benchmarks: backend choice before Keras, the data to time on."""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DEFAULT_CACHE = ROOT / "data" / "cache" / "synthetic-64-all"


def set_backend(argv) -> None:
    """--backend NAME must reach KERAS_BACKEND before the first `import keras`."""
    if "--backend" in argv:
        os.environ["KERAS_BACKEND"] = argv[argv.index("--backend") + 1]
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
