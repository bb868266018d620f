"""One character's strokes as one writer draws them this time: shape, width, ligatures."""

from __future__ import annotations

import math

import numpy as np

from kana_keras import kana as kana_mod
from kana_keras.synth.geometry import (
    STEP, angular, arclength, extend, hook_index, normals, resample, rotation, smooth,
    smooth_noise, warp_points, wave_field,
)
from kana_keras.synth.habits import place_marks, stroke_groups, variant_strokes
from kana_keras.synth.style import WriterStyle


def _vary_stroke(pts: np.ndarray, style: WriterStyle, rng: np.random.Generator,
                 sloppy: float, in_mark: bool) -> np.ndarray:
    """One stroke as this writer draws it this time: shape, length, bends, drift."""
    pts = pts.astype(np.float64)
    # Roundness vs angularity: the writer's habit plus a little of today's hurry.
    habit = style.roundness + rng.normal(0, 0.2)
    # Both kept small: wider smoothing or coarser corners would close small loops (ぬ, ね).
    if habit > 0:
        pts = smooth(pts, min(habit, 1.0) * 2.0)
    else:
        pts = angular(pts, min(-habit, 1.0) * 2.0)
    # Hooks (hane): kept, shortened, exaggerated or dropped.
    hook = hook_index(pts)
    if hook is not None:
        if rng.random() > style.hook:
            pts = pts[:hook + 1]
        else:
            f = rng.uniform(0.4, 1.5)
            pts = np.concatenate([pts[:hook + 1], pts[hook] + (pts[hook + 1:] - pts[hook]) * f])
    length = arclength(pts)[-1]
    # Length: trims at either end, rarely an overshoot past the end.
    trim0, trim1 = rng.uniform(0.0, 0.06 * sloppy, size=2)
    s = arclength(pts)
    keep = (s >= trim0 * length) & (s <= (1 - trim1) * length)
    if keep.sum() >= 2:
        pts = pts[keep]
    if rng.random() < 0.04 * sloppy:
        pts = extend(pts, rng.uniform(0.05, 0.15) * max(length, 10))      # overshoot
    elif rng.random() < 0.15 * sloppy:
        pts = extend(pts, rng.uniform(0.02, 0.07) * max(length, 10))      # a little long
    pts = resample(pts, STEP)
    t = np.linspace(0.0, 1.0, len(pts))
    # Endpoints wander (loose joins), the middle bends smoothly, a shaky hand wobbles.
    # Short strokes (dots, ゛ ticks) move less, or they would spin round.
    loose = style.looseness * sloppy * min(1.0, 0.25 + length / 40.0)
    e0 = rng.normal(0, loose, size=2)
    e1 = rng.normal(0, loose, size=2)
    w = t * t * (3 - 2 * t)
    pts = pts + (1 - w)[:, None] * e0 + w[:, None] * e1
    scale_len = min(1.0, length / 40.0)
    bend = smooth_noise(rng, t, 1.6 * sloppy * scale_len) * np.sin(math.pi * t) ** 0.5
    if style.tremor > 0:
        wobble = 0.5 * style.tremor * max(scale_len, 0.3)
        bend = bend + smooth_noise(rng, t, wobble, kmax=int(4 + length / 12))
    pts = pts + normals(pts) * bend[:, None]
    # The whole stroke drifts, turns and grows a little relative to the others.
    centre = pts.mean(axis=0)
    m = rotation(rng.normal(0, 4.0 * sloppy)) * np.exp(rng.normal(0, 0.07 * sloppy, size=2))
    drift = rng.normal(0, 1.6 * sloppy, size=2) * (0.5 if in_mark else 1.0)
    pts = (pts - centre) @ m.T + centre + drift
    if style.sparse > 0 and len(pts) > 3:
        # Few pointer events on a fast stroke: the canvas joins them with straight lines.
        every = max(1, int(round(style.sparse * rng.uniform(0.7, 1.3) / STEP)))
        first = int(rng.integers(0, every))
        pts = np.concatenate([pts[:1], pts[1 + first:-1:every], pts[-1:]])
    return pts


def _pressure(rng: np.random.Generator, style: WriterStyle, n: int, length: float) -> np.ndarray:
    """Width multiplier along a stroke: pressed start, tail that thins or stops firmly."""
    t = np.linspace(0.0, 1.0, n)
    p = np.ones(n)
    if style.pressure > 0:
        press = style.pressure * rng.uniform(0.2, 0.6)
        p += press * np.exp(-t * max(length, 5) / 6.0)               # entry blob (first ~6 units)
        p *= 1.0 + smooth_noise(rng, t, 0.12 * style.pressure, kmax=2)
        if rng.random() < style.taper:                               # harai: thin tail
            tail = rng.uniform(0.25, 0.6)
            low = 1.0 - style.pressure * rng.uniform(0.5, 0.85)
            p *= 1.0 - (1.0 - low) * np.clip((t - (1 - tail)) / tail, 0, 1) ** 1.5
        elif rng.random() < 0.5:                                     # tome: firm stop
            p *= 1.0 + style.pressure * 0.3 * np.exp(-(1 - t) * max(length, 5) / 4.0)
    return np.clip(p, 0.15, 2.5)



def character_strokes(char: str, style: WriterStyle, rng: np.random.Generator):
    """Final stroke polylines (KanjiVG units), widths multipliers and the ligatures to draw."""
    base = variant_strokes(char, style, rng)
    groups = stroke_groups(char, len(base))
    sloppy = min(1.8, style.sloppiness * float(np.exp(rng.normal(0, 0.2))))
    strokes = [_vary_stroke(resample(np.asarray(s, np.float64), STEP), style, rng, sloppy, bool(g))
               for s, g in zip(base, groups)]
    if groups.any():
        strokes = place_marks(strokes, groups, style, rng, sloppy)
    # Whole character: spread about its centre, elastic, shear, aspect, rotation.
    allpts = np.concatenate(strokes)
    centre = (allpts.min(axis=0) + allpts.max(axis=0)) / 2
    aspect = style.aspect * math.exp(rng.normal(0, 0.05))
    shear = style.slant + rng.normal(0, 0.04)
    rot = style.rotation + rng.normal(0, 2.0)
    m = rotation(rot) @ np.array([[aspect, -shear], [0.0, 1.0]])
    amp = 1.8 * sloppy
    squeeze = style.compact * math.exp(rng.normal(0, 0.03))
    strokes = [((s - centre) * squeeze) for s in strokes]
    field = wave_field(rng, amp, (70, 180))
    hand = wave_field(np.random.default_rng(style.hand), 2.0, (70, 180))   # the writer's proportions
    strokes = [warp_points(field, warp_points(hand, s)) @ m.T for s in strokes]
    widths = [_pressure(rng, style, len(s), arclength(s)[-1]) for s in strokes]
    # Cursive hairlines between consecutive strokes (mostly hiragana, never into ゛/゜), or
    # just the flick a lifting pen leaves on its way to the next stroke.
    ligatures = []
    hiragana = kana_mod.is_hiragana(char)
    p_join = style.connect * (1.0 if hiragana else 0.25)
    p_flick = (0.12 * style.speed + 0.3 * style.connect) * (1.0 if hiragana else 0.5)
    for i in range(len(strokes) - 1):
        if groups[i] or groups[i + 1]:
            continue
        a, b = strokes[i][-1], strokes[i + 1][0]
        gap = float(np.hypot(*(b - a)))
        if not 3.0 < gap < 60.0:
            continue
        join = gap < 45.0 and rng.random() < p_join
        if not join and rng.random() >= p_flick:
            continue
        out = strokes[i][-1] - strokes[i][max(0, len(strokes[i]) - 4)]
        out /= max(np.hypot(*out), 1e-9)
        ctrl = (a + b) / 2 + out * gap * rng.uniform(0.2, 0.5)
        end = 1.0 if join else min(0.5, rng.uniform(2.0, 5.0) / gap)
        tt = np.linspace(0, end, max(3, int(gap * end / STEP)))[:, None]
        curve = (1 - tt) ** 2 * a + 2 * (1 - tt) * tt * ctrl + tt ** 2 * b
        if join:
            ligatures.append((curve, rng.uniform(0.3, 0.6), rng.uniform(0.35, 0.75)))
        else:
            ligatures.append((curve, rng.uniform(0.4, 0.8), rng.uniform(0.7, 1.0)))
    return strokes, widths, ligatures

