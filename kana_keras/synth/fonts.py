"""Font writers: a glyph of ``kana_keras.forms`` put through a synthetic writer's hand."""

from __future__ import annotations

import math

import cv2
import numpy as np

from kana_keras import forms
from kana_keras.synth.geometry import rotation, wave_field
from kana_keras.synth.ink import finish_ink

#: Share of writers who write in a font (one of ``forms.TRAIN_FONTS``) instead of KanjiVG
#: strokes; the rest carry the pen model, stroke habits and cursive joins.
FONT_WRITER_SHARE = 0.35


def _hand_maps(style, rng: np.random.Generator, h: int, w: int, fit: float):
    """cv2.remap maps from the output canvas (h, w) back into a glyph of side ``fit`` px.

    The glyph sits at the writer's place and size; the writer's slant, aspect and rotation,
    its fixed proportions (``style.hand``) and this sample's elastic warp act around it.
    """
    cx = w / 2 + w * (style.offset_x + rng.normal(0, 0.025))
    cy = h / 2 + h * (style.offset_y + rng.normal(0, 0.025))
    aspect = style.aspect * math.exp(rng.normal(0, 0.05))
    shear = style.slant + rng.normal(0, 0.04)
    m = rotation(style.rotation + rng.normal(0, 2.0)) @ np.array([[aspect, -shear], [0.0, 1.0]])
    inv = np.linalg.inv(m)
    # The maps are smooth: computed on a coarse grid (every 8th pixel), then interpolated.
    step = 8
    yy, xx = np.mgrid[0:h + step:step, 0:w + step:step].astype(np.float32)
    px, py = (xx - cx) / fit, (yy - cy) / fit            # canvas -> unit glyph box
    gx = inv[0, 0] * px + inv[0, 1] * py
    gy = inv[1, 0] * px + inv[1, 1] * py
    for seed_rng, amp in ((np.random.default_rng(style.hand), 0.018),
                          (rng, 0.016 * style.sloppiness)):
        gx, gy = wave_field(seed_rng, amp, (0.65, 1.65))(gx, gy)     # in glyph-box units
    big = (xx.shape[1] - 1) * step, (xx.shape[0] - 1) * step
    return tuple(cv2.resize(g.astype(np.float32), big, interpolation=cv2.INTER_LINEAR)[:h, :w]
                 for g in (gx, gy))


def render_font_sample(char: str, font: forms.Font | str, style, rng: np.random.Generator,
                       size: int = 128) -> np.ndarray:
    """``char`` in ``font`` as ``style``'s writer writes it: uint8 (size*127//128, size), ink high.

    The same picture contract as ``render_sample``, so both kinds of writer fill the
    same ETL8G records.
    """
    font = forms.font_named(font) if isinstance(font, str) else font
    if size < 16:
        raise ValueError(f"size must be at least 16 pixels, got {size}")
    width, height = size, size * 127 // 128
    src = forms.glyph(font.name, char)
    ss = 2                      # the glyph raster is antialiased already: 2x is enough
    target = size * style.size * math.exp(rng.normal(0, 0.06))
    fit = min(target, 0.94 * height)
    # The glyph raster scaled so its longer side is one unit; stroke weight set in it.
    longest = max(src.shape)
    pen_px = max(1.1 * size / 128, style.pen_width * fit * math.exp(rng.normal(0, 0.06)))
    weighted = forms.weighted(src, pen_px * longest / fit)
    pad = int(0.3 * longest)
    weighted = np.pad(weighted, pad)
    gx, gy = _hand_maps(style, rng, height * ss, width * ss, fit * ss)
    mx = (gx * longest + weighted.shape[1] / 2).astype(np.float32)
    my = (gy * longest + weighted.shape[0] / 2).astype(np.float32)
    big = cv2.remap(weighted, mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    ink = cv2.resize(big, (width, height), interpolation=cv2.INTER_AREA)
    return finish_ink(_keep_inside(ink, 2 + int(pen_px)), style, rng, size)


def _keep_inside(ink: np.ndarray, margin: int) -> np.ndarray:
    """Slide (or shrink) the ink back into the box when the hand pushed it over an edge."""
    ys, xs = np.nonzero(ink > 0.05)
    h, w = ink.shape
    if not len(ys):
        return ink
    lo, hi = np.array([xs.min(), ys.min()]), np.array([xs.max(), ys.max()])
    if (lo >= margin).all() and (hi <= np.array([w, h]) - 1 - margin).all():
        return ink
    crop = ink[lo[1]:hi[1] + 1, lo[0]:hi[0] + 1]
    scale = min(1.0, (w - 2 * margin) / crop.shape[1], (h - 2 * margin) / crop.shape[0])
    if scale < 1.0:
        crop = cv2.resize(crop, (max(1, int(crop.shape[1] * scale)), max(1, int(crop.shape[0] * scale))),
                          interpolation=cv2.INTER_AREA)
    out = np.zeros_like(ink)
    x0 = int(np.clip(lo[0], margin, w - margin - crop.shape[1]))
    y0 = int(np.clip(lo[1], margin, h - margin - crop.shape[0]))
    out[y0:y0 + crop.shape[0], x0:x0 + crop.shape[1]] = crop
    return out



def writer_font(rng: np.random.Generator):
    """The font this writer writes in (drawn right after its style), or None for strokes."""
    if rng.random() >= FONT_WRITER_SHARE:
        return None
    return forms.TRAIN_FONTS[int(rng.integers(len(forms.TRAIN_FONTS)))]
