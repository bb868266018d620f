"""Rasterising and ink: stroke polylines onto a supersampled canvas, then pen, paper and scanner."""

from __future__ import annotations

import math

import cv2
import numpy as np

from kana_keras import kana as kana_mod
from kana_keras import kanjivg
from kana_keras.synth.strokes import character_strokes
from kana_keras.synth.style import WriterStyle

SUPERSAMPLE = 4                     # draw at 4x, then area-average: antialiased, soft edges
_SHIFT = 2                          # cv2 sub-pixel bits on the supersampled canvas
_FAINTEST = 0.36                    # darkest pixel of the faintest sample (level 5 of 15)


def _draw(canvas: np.ndarray, pts: np.ndarray, widths: np.ndarray, value: int) -> None:
    """A variable-width polyline: runs of equal integer width go to cv2.polylines at once."""
    fixed = np.rint(pts * (1 << _SHIFT)).astype(np.int32)
    thick = np.maximum(1, np.rint(widths).astype(np.int32))
    if len(fixed) == 1:
        fixed = np.repeat(fixed, 2, axis=0)
        thick = np.repeat(thick, 2)
    seg_thick = np.maximum(thick[:-1], thick[1:])
    start = 0
    for i in range(1, len(seg_thick) + 1):
        if i == len(seg_thick) or seg_thick[i] != seg_thick[start]:
            cv2.polylines(canvas, [fixed[start:i + 1]], False, value, int(seg_thick[start]),
                          cv2.LINE_8, _SHIFT)
            start = i


def render_sample(char: str, style: WriterStyle, rng: np.random.Generator, size: int = 128) -> np.ndarray:
    """One handwritten sample of ``char``: uint8 (size*127//128, size), 0 paper .. 255 ink.

    At size=128 this is the ETL8G picture (127 rows, 128 columns); at 64 it is ETL8B's 64x63.
    Reusable by other generators (e.g. photo-like test sets): the ink is clean of paper
    texture, only the scan-like blur, faintness and grain of the writer's pen are in it.
    """
    if size < 16:
        raise ValueError(f"size must be at least 16 pixels, got {size}")
    if not kanjivg.has_strokes(char):
        raise ValueError(f"cannot draw {char!r}: KanjiVG has no strokes for it "
                         f"(expected one character such as one of {''.join(kana_mod.ALL_KANA[:5])}...)")
    width, height = size, size * 127 // 128
    strokes, widths, ligatures = character_strokes(char, style, rng)
    # Character placement: writer's size and position, plus this sample's wobble.
    target = size * style.size * math.exp(rng.normal(0, 0.06))
    scale = target / kanjivg.KANJIVG_BOX
    pen_px = max(1.1 * size / 128, style.pen_width * target * math.exp(rng.normal(0, 0.06)))
    centre = np.array([width / 2 + size * (style.offset_x + rng.normal(0, 0.025)),
                       height / 2 + size * (style.offset_y + rng.normal(0, 0.025))])
    pix = [s * scale + centre for s in strokes]
    # Keep the ink inside the box: shrink if it is too big, then slide it in.
    allpts = np.concatenate(pix)
    margin = pen_px * 0.6 + 1.5 + 2 * style.blur
    lo, hi = allpts.min(axis=0), allpts.max(axis=0)
    room = np.array([width, height]) - 2 * margin
    fit = min(1.0, float(np.min(room / np.maximum(hi - lo, 1e-6))))
    mid = (lo + hi) / 2
    pix = [(p - mid) * fit + mid for p in pix]
    lig = [((c * scale + centre) - mid) * fit + mid for c, _, _ in ligatures]
    lo, hi = (lo - mid) * fit + mid, (hi - mid) * fit + mid
    slide = np.maximum(0, margin - lo) - np.maximum(0, hi - (np.array([width, height]) - margin))
    pix = [p + slide for p in pix]
    lig = [c + slide for c in lig]
    # Ink: drawn at SUPERSAMPLE x, area-averaged down: antialiased with soft edges.
    ss = SUPERSAMPLE
    canvas = np.zeros((height * ss, width * ss), np.uint8)
    for curve, (_, w_frac, level) in zip(lig, ligatures):
        _draw(canvas, curve * ss, np.full(len(curve), max(1.0, pen_px * w_frac * ss)), int(255 * level))
    for p, w in zip(pix, widths):
        _draw(canvas, p * ss, pen_px * fit * w * ss, 255)
    ink = cv2.resize(canvas, (width, height), interpolation=cv2.INTER_AREA).astype(np.float32) / 255.0
    return finish_ink(ink, style, rng, size)


def finish_ink(ink: np.ndarray, style: WriterStyle, rng: np.random.Generator, size: int) -> np.ndarray:
    """Pen, paper and scanner over clean float ink in [0, 1]: the uint8 ETL-like picture.

    Shared by the stroke writers and the font writers of ``forms``.
    """
    height, width = ink.shape
    # Pen and paper: uneven ink flow, pencil grain, ballpoint skips.
    level = style.ink * math.exp(rng.normal(0, 0.08))
    flow = _low_freq_field(rng, height, width, 0.12 + 0.25 * style.grain)
    ink *= flow
    if style.grain > 0:
        grain = rng.random((height, width), dtype=np.float32)
        grain = cv2.GaussianBlur(grain, (0, 0), 0.6)
        ink *= 1.0 - style.grain * 0.9 * np.clip((0.5 - grain) * 3 + 0.5, 0, 1)
    # Scanner: blur, contrast/levels, a little background noise.
    blur = style.blur * math.exp(rng.normal(0, 0.2)) * size / 128
    if blur > 0.15:
        ink = cv2.GaussianBlur(ink, (0, 0), blur)
    ink = np.clip(ink * level * 1.15, 0.0, 1.0)
    peak = float(ink.max())
    if 0.0 < peak < _FAINTEST:               # faint like an ETL4 scan, but never unreadable
        ink *= _FAINTEST / peak
    if style.noise > 0:
        ink += np.clip(rng.normal(0, 0.022 * style.noise, size=ink.shape), 0, None).astype(np.float32)
    return np.clip(np.rint(ink * 255.0), 0, 255).astype(np.uint8)


def _low_freq_field(rng: np.random.Generator, h: int, w: int, amp: float) -> np.ndarray:
    """A smooth multiplicative field around 1: ink that flows unevenly across the character."""
    coarse = rng.normal(0.0, amp, size=(4, 4)).astype(np.float32)
    field = cv2.resize(coarse, (w, h), interpolation=cv2.INTER_CUBIC)
    return np.clip(1.0 + field, 0.4, 1.3)

