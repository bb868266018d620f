"""Synthetic users to measure fonts with: writers of the test split and a few of their kana.

The test split is fit's (``convert.assign_splits`` over the synthetic set's 160 sheets, seed
0), so the model never trained on these hands.
"""

from __future__ import annotations

import numpy as np

from kana_keras import convert, synth
from kana_keras import kana as kana_mod

SYNTHETIC_SHEETS = 160   # synth.generate's default set, the one the shipped weights saw


def unseen_writers(n: int | None = None) -> list[int]:
    """Writers (0-based, seed 0) of the synthetic set's test split, in order."""
    split = convert.assign_splits([("ETL8G", s) for s in range(1, SYNTHETIC_SHEETS + 1)])
    return sorted(s - 1 for (_, s), where in split.items() if where == "test")[:n]


def writer_drawings(writer: int, count: int, kana=None) -> tuple[list[str], list[np.ndarray]]:
    """``count`` kana (``kana``, else drawn at random) by writer ``writer``: (kana, uint8
    black-on-white pictures as a scan of them would be)."""
    style, font = synth.writer_hand(0, writer)
    rng = synth.writer_rng(0, 10_000 + writer)       # apart from the writer's training draws
    chars = list(kana) if kana else [str(c) for c in
                                     rng.choice(list(kana_mod.ALL_KANA), count, replace=False)]
    if font is not None:
        return chars, [255 - synth.render_font_sample(c, font, style, rng) for c in chars]
    return chars, [255 - synth.render_sample(c, style, rng) for c in chars]
