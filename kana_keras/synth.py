"""Synthetic handwritten kana, drawn from KanjiVG stroke centre-lines, stored as ETL8G records.

ETL data needs a registration and may not be redistributed, so the project draws its own
default data set. Each synthetic *writer* gets a style drawn once (pen, width, pressure,
slant, aspect, size and place in the box, speed, sloppiness, cursive habits) and every
sample adds its own variation on top (per-stroke drift, bends, trims, overshoots, hooks,
dakuten placement, elastic distortion, ink and scan effects). The samples are written in
the ETL8G record layout, so the same reader, converter and pipeline serve real and
synthetic data alike.

    python -m kana_keras.synth --out data/synthetic --preview grid.png

A share of the writers (``FONT_WRITER_SHARE``) write in one of the handwriting and text
fonts of ``kana_keras.forms`` instead: letter forms KanjiVG lacks, through the same hand.
The stroke writers carry habits of their own too: joined strokes in き, さ, り, ふ and how
they set the dashes of ツ, シ, ソ and ン.

Stroke data: KanjiVG, (c) Ulrich Apel, CC BY-SA 3.0 (https://kanjivg.tagaini.net).
Fonts: see ``kana_keras/assets/fonts/README.md``.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import multiprocessing
import os
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import cv2
import numpy as np

from kana_keras import forms
from kana_keras import kana as kana_mod
from kana_keras import kanjivg
from kana_keras.etl.layouts import G8, Layout
from kana_keras.files import write_bytes_atomic, write_json_atomic, write_text_atomic

# ## Setup

#: Where ``ensure_synthetic`` keeps the built-in set.
DEFAULT_SYNTHETIC_DIR = Path("data/synthetic")

#: Bump when the drawing changes: a set drawn by an older version is redrawn.
SYNTH_VERSION = 3

#: The stamp is written last; without it (or with other options in it) a set is redrawn.
STAMP_NAME = "SYNTHETIC.json"
README_NAME = "README.txt"

#: Whole writers per file; ETL8G_01, ETL8G_02, ... (the real set has 33 files).
WRITERS_PER_FILE = 40

#: Share of writers who write in a font (one of ``forms.TRAIN_FONTS``) instead of KanjiVG
#: strokes; the rest carry the pen model, stroke habits and cursive joins.
FONT_WRITER_SHARE = 0.35

# image
SUPERSAMPLE = 4                     # draw at 4x, then area-average: antialiased, soft edges
_SHIFT = 2                          # cv2 sub-pixel bits on the supersampled canvas
_STEP = 1.5                         # polyline point spacing, KanjiVG units (box of 109)
_FAINTEST = 0.36                    # darkest pixel of the faintest sample (level 5 of 15)

# ## Records: the ETL8G layout of ``etl/layouts.py`` as a numpy dtype


def record_dtype(layout: Layout) -> np.dtype:
    """A writable numpy record of a byte-aligned layout: the one table, not a copy of it."""
    fields = []
    for f in layout.fields:
        if f.bits % 8 or layout.offsets.get(f.name, 0) % 8:
            raise ValueError(f"{layout.format}.{f.name}: not byte-aligned, cannot be written by numpy")
        n = f.bits // 8
        if f.kind == "uint":
            fields.append((f.name, f">u{n}"))
        elif f.kind == "ascii":
            fields.append((f.name, f"S{n}"))
        else:                                    # image and padding: raw bytes
            fields.append((f.name, "u1", (n,)))
    dtype = np.dtype(fields)
    assert dtype.itemsize == layout.record_bytes
    return dtype


ETL8G_RECORD = record_dtype(G8)
ETL8G_WIDTH, ETL8G_HEIGHT = G8.width, G8.height

# Kunrei-shiki readings in the order of kana.HIRAGANA (ETL writes e.g. "KA.HIRA ").
_ROMAJI = (
    "A I U E O KA KI KU KE KO SA SI SU SE SO TA TI TU TE TO NA NI NU NE NO "
    "HA HI HU HE HO MA MI MU ME MO YA YU YO RA RI RU RE RO WA WO N "
    "GA GI GU GE GO ZA ZI ZU ZE ZO DA DI DU DE DO BA BI BU BE BO "
    "PA PI PU PE PO WI WE"
).split()
assert len(_ROMAJI) == len(kana_mod.HIRAGANA)
_READING = {h: r for h, r in zip(kana_mod.HIRAGANA, _ROMAJI)}

_DAKUTEN = set(kana_mod.HIRAGANA_VOICED) | {kana_mod.to_katakana(c) for c in kana_mod.HIRAGANA_VOICED}
_HANDAKUTEN = set(kana_mod.HIRAGANA_SEMIVOICED) | {
    kana_mod.to_katakana(c) for c in kana_mod.HIRAGANA_SEMIVOICED}


def reading(char: str) -> bytes:
    """The 8-byte ASCII reading of a kana, e.g. b"KA.KATA "."""
    hira = kana_mod.to_hiragana(char)
    if hira not in _READING:
        raise ValueError(f"no ETL reading for {char!r}: not one of the {len(kana_mod.ALL_KANA)} kana classes")
    script = "HIRA" if kana_mod.is_hiragana(char) else "KATA"
    return f"{_READING[hira]}.{script}".ljust(8).encode("ascii")


def jis_code(char: str) -> int:
    """JIS X 0208 row/cell code (EUC-JP bytes minus 0x8080), e.g. 0x2422 for あ."""
    euc = char.encode("euc_jp")
    if len(euc) != 2:
        raise ValueError(f"{char!r} has no two-byte JIS X 0208 code")
    return int.from_bytes(euc, "big") - 0x8080


# ## Writer style

#: Pen kinds: (probability, width range as a fraction of the character height).
#: Widths come from real sources: ballpoint on paper photographed (2-3 %), ETL-like pencil /
#: felt scans (3-6 %), web canvases with a fixed lineWidth (3-12 %), markers (6-12 %).
PENS = {
    "ballpoint": (0.26, (0.016, 0.034)),
    "pencil":    (0.14, (0.022, 0.045)),
    "felt":      (0.20, (0.030, 0.065)),
    "brush":     (0.10, (0.040, 0.090)),
    "marker":    (0.10, (0.055, 0.100)),
    "canvas":    (0.20, (0.025, 0.100)),
}


@dataclasses.dataclass(frozen=True)
class WriterStyle:
    """Everything one synthetic person does the same way on every character they write.

    Lengths in KanjiVG units (the box is 109) unless said otherwise; ``size`` and
    ``offset_*`` are fractions of the image. ``WriterStyle.random(rng)`` draws one.
    """

    pen: str = "felt"
    pen_width: float = 0.045        # stroke width / character height
    pressure: float = 0.3           # 0 uniform width .. 1 strong press at starts, thin tails
    taper: float = 0.3              # chance a stroke ends in a thin tail (harai)
    ink: float = 0.9                # peak ink level, 0..1 (faint scans are low)
    blur: float = 0.6               # scan blur, sigma in pixels of a 128 image
    grain: float = 0.0              # pencil / dry-pen texture, 0..1
    slant: float = 0.0              # shear: x += slant * (y - centre)
    aspect: float = 1.0             # width / height scale
    rotation: float = 0.0           # degrees, clockwise on paper
    size: float = 0.7               # character box / image
    offset_x: float = 0.0           # character centre - image centre, fraction of image
    offset_y: float = 0.0
    speed: float = 0.5              # 0 slow and careful .. 1 fast: straighter, more taper
    sloppiness: float = 1.0         # scales every per-sample jitter
    looseness: float = 2.0          # endpoint jitter (units): how loosely strokes join
    connect: float = 0.0            # chance to join consecutive strokes with a hairline
    roundness: float = 0.0          # -1 angular (corners) .. +1 round (smoothed)
    hook: float = 0.8               # chance to keep a hook (hane) where KanjiVG has one
    compact: float = 1.0            # spread of strokes about the character centre
    dakuten: float = 1.0            # how freely ゛/゜ wander, grow and turn
    tremor: float = 0.0             # small wobble (finger on a screen, shaky hand)
    sparse: float = 0.0             # mouse/touch event spacing (units): straight runs, 0 = smooth
    noise: float = 0.0              # scanner background noise level, 0..1
    variant: float = 0.0            # chance of a common handwritten form (e.g. two-stroke そ)
    hand: int = 0                   # seed of the writer's own proportions (a fixed distortion)

    @classmethod
    def random(cls, rng: np.random.Generator) -> "WriterStyle":
        """A random writer; draws in a fixed order so a seed always gives the same person."""
        names = list(PENS)
        probs = np.array([PENS[n][0] for n in names])
        pen = names[int(rng.choice(len(names), p=probs / probs.sum()))]
        lo, hi = PENS[pen][1]
        pen_width = float(math.exp(rng.uniform(math.log(lo), math.log(hi))))
        speed = float(rng.beta(2.0, 2.0))
        canvas = pen == "canvas"
        pressure = {"brush": rng.uniform(0.6, 1.0), "felt": rng.uniform(0.1, 0.5),
                    "pencil": rng.uniform(0.1, 0.5), "ballpoint": rng.uniform(0.0, 0.3),
                    "marker": rng.uniform(0.0, 0.15), "canvas": 0.0}[pen]
        taper = float(np.clip(rng.uniform(0.0, 0.5) + 0.4 * speed, 0, 1)) if pressure > 0.05 else 0.0
        ink = 1.0 if canvas else float(np.clip(rng.choice([rng.uniform(0.75, 1.0), rng.uniform(0.4, 0.75)],
                                                          p=[0.8, 0.2]), 0.3, 1.0))
        if pen == "pencil":
            ink *= rng.uniform(0.55, 0.85)
        blur = 0.0 if canvas else float(rng.uniform(0.2, 1.1))
        grain = float(rng.uniform(0.3, 0.7)) if pen == "pencil" else (
            float(rng.uniform(0.0, 0.3)) if pen in ("brush", "ballpoint") else 0.0)
        slant = float(np.clip(rng.normal(0.05, 0.1), -0.25, 0.35))
        aspect = float(np.exp(np.clip(rng.normal(0.0, 0.1), -0.25, 0.25)))
        rotation = float(np.clip(rng.normal(0.0, 3.0), -8, 8))
        size = float(rng.uniform(0.45, 0.9))
        room = max(0.0, (1.0 - size) / 2 - 0.04)
        offset_x = float(np.clip(rng.normal(0, 0.05), -room, room))
        offset_y = float(np.clip(rng.normal(0, 0.05), -room, room))
        # Capped: beyond ~1.5 samples stop being readable (メ turns into 人), and a label
        # must stay true.
        sloppiness = float(np.clip(np.exp(rng.normal(0.0, 0.3)) * (0.8 + 0.5 * speed), 0.5, 1.5))
        looseness = float(rng.uniform(0.8, 2.8) * (0.8 + 0.4 * speed))
        connect = float(rng.choice([0.0, rng.uniform(0.05, 0.4)], p=[0.6, 0.4]) * (0.5 + speed))
        roundness = float(np.clip(rng.normal(0.0, 0.5) - 0.4 * (speed - 0.5), -1, 1))
        hook = float(rng.uniform(0.4, 1.0))
        compact = float(np.exp(rng.normal(0.0, 0.06)))
        dakuten = float(np.exp(rng.normal(0.0, 0.3)))
        shaky = canvas and rng.random() < 0.5                           # finger or mouse
        tremor = float(rng.uniform(0.3, 1.0) if shaky else rng.uniform(0.0, 0.3))
        sparse = float(rng.uniform(2.0, 4.5)) if canvas and rng.random() < 0.4 else 0.0
        noise = 0.0 if canvas else float(rng.choice([0.0, rng.uniform(0.0, 1.0)], p=[0.6, 0.4]))
        variant = float(rng.choice([0.0, 0.5, 1.0], p=[0.5, 0.2, 0.3]))
        hand = int(rng.integers(0, 2**31))
        return cls(pen=pen, pen_width=pen_width, pressure=float(pressure), taper=taper, ink=ink,
                   blur=blur, grain=grain, slant=slant, aspect=aspect, rotation=rotation, size=size,
                   offset_x=offset_x, offset_y=offset_y, speed=speed, sloppiness=sloppiness,
                   looseness=looseness, connect=connect, roundness=roundness, hook=hook,
                   compact=compact, dakuten=dakuten, tremor=tremor, sparse=sparse, noise=noise,
                   variant=variant, hand=hand)


# ## Stroke geometry helpers


def _arclength(pts: np.ndarray) -> np.ndarray:
    seg = np.hypot(*np.diff(pts, axis=0).T)
    return np.concatenate([[0.0], np.cumsum(seg)])


def _resample(pts: np.ndarray, step: float) -> np.ndarray:
    """Points evenly spaced along the polyline, so per-point jitter means per-length jitter."""
    s = _arclength(pts)
    if s[-1] < 1e-6:
        return np.repeat(pts[:1], 2, axis=0)
    n = max(2, int(math.ceil(s[-1] / step)) + 1)
    u = np.linspace(0.0, s[-1], n)
    return np.stack([np.interp(u, s, pts[:, 0]), np.interp(u, s, pts[:, 1])], axis=1)


def _normals(pts: np.ndarray) -> np.ndarray:
    tangent = np.gradient(pts, axis=0) if len(pts) > 2 else np.repeat(pts[1:] - pts[:1], len(pts), 0)
    tangent /= np.maximum(np.hypot(tangent[:, 0], tangent[:, 1])[:, None], 1e-9)
    return np.stack([-tangent[:, 1], tangent[:, 0]], axis=1)


def _smooth(pts: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian smoothing along the stroke with fixed ends: rounder curves, softer corners."""
    if sigma < 0.3 or len(pts) < 5:
        return pts
    radius = int(3 * sigma)
    k = np.exp(-0.5 * (np.arange(-radius, radius + 1) / sigma) ** 2)
    k /= k.sum()
    padded = np.concatenate([np.repeat(pts[:1], radius, 0), pts, np.repeat(pts[-1:], radius, 0)])
    out = np.stack([np.convolve(padded[:, i], k, mode="valid") for i in range(2)], axis=1)
    out[0], out[-1] = pts[0], pts[-1]
    return out


def _angular(pts: np.ndarray, eps: float) -> np.ndarray:
    """Douglas-Peucker: curves become a few straight runs, as fast writers make them."""
    if eps <= 0.05 or len(pts) < 4:
        return pts
    simple = cv2.approxPolyDP(pts.astype(np.float32).reshape(-1, 1, 2), eps, False).reshape(-1, 2)
    return _resample(simple.astype(np.float64), _STEP) if len(simple) >= 2 else pts


def _hook_index(pts: np.ndarray) -> int | None:
    """Where a hook (hane) starts: a sharp turn in the last fifth of a stroke, else None."""
    n = len(pts)
    if n < 8:
        return None
    start = int(n * 0.75)
    d = np.diff(pts, axis=0)
    ang = np.arctan2(d[:, 1], d[:, 0])
    # Turns spread over a few points: compare directions 3 points apart.
    if len(ang) - start < 4:
        return None
    a0, a1 = ang[start - 1:-3], ang[start + 2:]
    m = min(len(a0), len(a1))
    wide = np.abs((a1[:m] - a0[:m] + np.pi) % (2 * np.pi) - np.pi)
    if wide.size == 0 or wide.max() < math.radians(55):
        return None
    index = start + int(np.argmax(wide)) + 1
    # Only a short flick is a hook; a long tail after a turn is a loop (ぬ, る, ね) and
    # dropping it would change the character (ぬ -> め, る -> ろ, ね -> わ).
    s = _arclength(pts)
    tail = s[-1] - s[index]
    return index if tail <= min(9.0, 0.2 * s[-1]) else None


def _extend(pts: np.ndarray, extra: float) -> np.ndarray:
    """The stroke carried on straight past its end by ``extra`` units."""
    if len(pts) < 3:
        return pts
    tangent = pts[-1] - pts[-3]
    tangent = tangent / max(float(np.hypot(*tangent)), 1e-9)
    steps = np.linspace(_STEP, extra, max(2, int(extra / _STEP)))
    return np.concatenate([pts, pts[-1] + tangent * steps[:, None]])


def _smooth_noise(rng: np.random.Generator, t: np.ndarray, amp: float, kmax: int = 3) -> np.ndarray:
    """Low-frequency 1-D noise along a stroke (sum of a few sines), not white noise."""
    out = np.zeros_like(t)
    for k in range(1, kmax + 1):
        out += rng.normal(0.0, amp / k) * np.sin(math.pi * k * t + rng.uniform(0, 2 * math.pi) * (k > 1))
    return out


# ## One character


def _stroke_groups(char: str, n: int) -> np.ndarray:
    """0 for the body, 1 for the ゛ strokes (last two) or the ゜ circle (last one)."""
    groups = np.zeros(n, np.int64)
    if char in _DAKUTEN and n >= 3:
        groups[-2:] = 1
    elif char in _HANDAKUTEN and n >= 2:
        groups[-1:] = 1
    return groups


def _rotation(deg: float) -> np.ndarray:
    r = math.radians(deg)
    return np.array([[math.cos(r), -math.sin(r)], [math.sin(r), math.cos(r)]])


def _vary_stroke(pts: np.ndarray, style: WriterStyle, rng: np.random.Generator,
                 sloppy: float, in_mark: bool) -> np.ndarray:
    """One stroke as this writer draws it this time: shape, length, bends, drift."""
    pts = pts.astype(np.float64)
    # Roundness vs angularity: the writer's habit plus a little of today's hurry.
    habit = style.roundness + rng.normal(0, 0.2)
    # Both kept small: wider smoothing or coarser corners would close small loops (ぬ, ね).
    if habit > 0:
        pts = _smooth(pts, min(habit, 1.0) * 2.0)
    else:
        pts = _angular(pts, min(-habit, 1.0) * 2.0)
    # Hooks (hane): kept, shortened, exaggerated or dropped.
    hook = _hook_index(pts)
    if hook is not None:
        if rng.random() > style.hook:
            pts = pts[:hook + 1]
        else:
            f = rng.uniform(0.4, 1.5)
            pts = np.concatenate([pts[:hook + 1], pts[hook] + (pts[hook + 1:] - pts[hook]) * f])
    length = _arclength(pts)[-1]
    # Length: trims at either end, rarely an overshoot past the end.
    trim0, trim1 = rng.uniform(0.0, 0.06 * sloppy, size=2)
    s = _arclength(pts)
    keep = (s >= trim0 * length) & (s <= (1 - trim1) * length)
    if keep.sum() >= 2:
        pts = pts[keep]
    if rng.random() < 0.04 * sloppy:
        pts = _extend(pts, rng.uniform(0.05, 0.15) * max(length, 10))      # overshoot
    elif rng.random() < 0.15 * sloppy:
        pts = _extend(pts, rng.uniform(0.02, 0.07) * max(length, 10))      # a little long
    pts = _resample(pts, _STEP)
    t = np.linspace(0.0, 1.0, len(pts))
    # Endpoints wander (loose joins), the middle bends smoothly, a shaky hand wobbles.
    # Short strokes (dots, ゛ ticks) move less, or they would spin round.
    loose = style.looseness * sloppy * min(1.0, 0.25 + length / 40.0)
    e0 = rng.normal(0, loose, size=2)
    e1 = rng.normal(0, loose, size=2)
    w = t * t * (3 - 2 * t)
    pts = pts + (1 - w)[:, None] * e0 + w[:, None] * e1
    scale_len = min(1.0, length / 40.0)
    bend = _smooth_noise(rng, t, 1.6 * sloppy * scale_len) * np.sin(math.pi * t) ** 0.5
    if style.tremor > 0:
        wobble = 0.5 * style.tremor * max(scale_len, 0.3)
        bend = bend + _smooth_noise(rng, t, wobble, kmax=int(4 + length / 12))
    pts = pts + _normals(pts) * bend[:, None]
    # The whole stroke drifts, turns and grows a little relative to the others.
    centre = pts.mean(axis=0)
    m = _rotation(rng.normal(0, 4.0 * sloppy)) * np.exp(rng.normal(0, 0.07 * sloppy, size=2))
    drift = rng.normal(0, 1.6 * sloppy, size=2) * (0.5 if in_mark else 1.0)
    pts = (pts - centre) @ m.T + centre + drift
    if style.sparse > 0 and len(pts) > 3:
        # Few pointer events on a fast stroke: the canvas joins them with straight lines.
        every = max(1, int(round(style.sparse * rng.uniform(0.7, 1.3) / _STEP)))
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
        p *= 1.0 + _smooth_noise(rng, t, 0.12 * style.pressure, kmax=2)
        if rng.random() < style.taper:                               # harai: thin tail
            tail = rng.uniform(0.25, 0.6)
            low = 1.0 - style.pressure * rng.uniform(0.5, 0.85)
            p *= 1.0 - (1.0 - low) * np.clip((t - (1 - tail)) / tail, 0, 1) ** 1.5
        elif rng.random() < 0.5:                                     # tome: firm stop
            p *= 1.0 + style.pressure * 0.3 * np.exp(-(1 - t) * max(length, 5) / 4.0)
    return np.clip(p, 0.15, 2.5)


def _elastic_field(rng: np.random.Generator, amp: float):
    """A smooth random displacement of the plane (three long plane waves), same for all strokes."""
    waves = []
    for _ in range(3):
        direction = rng.normal(size=2)
        direction *= rng.normal(0, amp) / max(np.hypot(*direction), 1e-9)
        wave = rng.normal(size=2)
        wave *= 2 * math.pi / rng.uniform(70, 180) / max(np.hypot(*wave), 1e-9)
        waves.append((direction, wave, rng.uniform(0, 2 * math.pi)))

    def displace(pts: np.ndarray) -> np.ndarray:
        out = pts.copy()
        for direction, wave, phase in waves:
            out += direction * np.sin(pts @ wave + phase)[:, None]
        return out

    return displace


def _first_corner(pts: np.ndarray, limit: float = 0.45) -> int | None:
    """Index of the first sharp turn (> 60 degrees) in the first ``limit`` of a stroke."""
    d = pts[3:] - pts[:-3]
    ang = np.arctan2(d[:, 1], d[:, 0])
    turn = np.abs((ang[3:] - ang[:-3] + np.pi) % (2 * np.pi) - np.pi)
    hits = np.nonzero(turn[: int(len(pts) * limit)] > math.radians(60))[0]
    return int(hits[0]) + 3 if hits.size else None


# ## Allographs and habits: forms real hands write that KanjiVG's textbook skeleton lacks

#: Strokes people join into one (first index, second index): the looped lower stroke of
#: き and さ, one-stroke り, ふ's top running into its middle curve.
# fmt: off
JOINS = {"き": (2, 3), "ぎ": (2, 3), "さ": (1, 2), "ざ": (1, 2), "り": (0, 1), "ふ": (0, 1),
         "ぶ": (0, 1), "ぷ": (0, 1)}
#: The dash-and-sweep kana: base form and the indices of its dashes. ツ's dashes stand side
#: by side above a falling sweep, シ's are stacked left of a rising one; ソ's dash falls
#: like ツ's, ン's dot sits over a rising sweep.
DASHES = {"ツ": ("ツ", (0, 1)), "ヅ": ("ツ", (0, 1)), "シ": ("シ", (0, 1)), "ジ": ("シ", (0, 1)),
          "ソ": ("ソ", (0,)), "ゾ": ("ソ", (0,)), "ン": ("ン", (0,))}
#: Direction (degrees, y down) the dashes turn towards, as a writer's habit strengthens.
_DASH_ANGLE = {"ツ": 88.0, "シ": 62.0, "ソ": 80.0, "ン": 30.0}
# fmt: on


def _join(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """One stroke: ``a``, a straight run from its end to ``b``'s start, then ``b``."""
    bridge = _resample(np.stack([a[-1], b[0]]), _STEP)
    return np.concatenate([a, bridge[1:-1], b])


def _turn(pts: np.ndarray, degrees: float, scale: float, centre=None) -> np.ndarray:
    c = pts.mean(axis=0) if centre is None else centre
    return (pts - c) @ (_rotation(degrees) * scale).T + c


def _dash_habit(char: str, base: list[np.ndarray], style: WriterStyle,
                rng: np.random.Generator) -> list[np.ndarray]:
    """This writer's dashes in ツ シ ソ ン: angle, length, spacing, place; the sweep's depth.

    Real hands turn the dashes of ツ and シ nearly upright and set them close together
    (the forms recognizers read as リ); ン's dot drifts far left over a shallow sweep. The
    habit is the writer's own (seeded by ``style.hand``), each sample varies it a little;
    the sweep keeps its direction, which is what tells ツ from シ and ソ from ン.
    """
    form, dashes = DASHES[char]
    habit = np.random.default_rng([style.hand, 31])
    strength = float(habit.choice([0.0, habit.uniform(0.3, 1.0)], p=[0.3, 0.7]))
    strength = float(np.clip(strength + rng.normal(0, 0.1), 0, 1)) if strength else 0.0
    if strength == 0.0:
        return base
    out = list(base)
    target = math.radians(_DASH_ANGLE[form] + habit.normal(0, 6))
    length = math.exp(habit.normal(-0.1, 0.2) + rng.normal(0, 0.08))
    for i in dashes:
        d = out[i]
        v = d[-1] - d[0]
        now = math.atan2(v[1], v[0])
        turn = (target - now + math.pi) % (2 * math.pi) - math.pi
        # positive degrees of _rotation turn clockwise on paper (y down), as atan2 does
        out[i] = _turn(d, math.degrees(turn * strength), length)
    centres = [out[i].mean(axis=0) for i in dashes]
    if len(dashes) == 2:                                  # closer together
        mid = (centres[0] + centres[1]) / 2
        closer = 1.0 - strength * habit.uniform(0.1, 0.45)
        for i, c in zip(dashes, centres):
            out[i] = out[i] + (mid + (c - mid) * closer - c)
    sweep = len(dashes)
    if form == "ン":                                      # dot far left, shallow sweep
        out[0] = out[0] + np.array([-strength * habit.uniform(0, 12), strength * habit.uniform(-3, 6)])
        s = out[sweep]
        c = s.mean(axis=0)
        out[sweep] = c + (s - c) * np.array([1.0, 1.0 - strength * habit.uniform(0, 0.45)])
    elif form == "ソ":                                    # the dash huddles near the sweep's head
        pull = strength * habit.uniform(0.0, 0.35)
        out[0] = out[0] + (out[1][0] - out[0].mean(axis=0)) * pull * np.array([1.0, 0.3])
    return out


def _variant_strokes(char: str, style: WriterStyle, rng: np.random.Generator) -> list[np.ndarray]:
    """KanjiVG strokes, sometimes in a common handwritten form instead of the textbook one."""
    base = [np.asarray(s, np.float64) for s in kanjivg.strokes(char, 1.0)]
    if char in DASHES:
        base = _dash_habit(char, base, style, rng)
    if char in JOINS and rng.random() < 0.7 * style.variant:
        i, j = JOINS[char]
        base = base[:i] + [_join(base[i], base[j])] + base[i + 1:j] + base[j + 1:]
    if char == "そ" and rng.random() < style.variant:
        # Two-stroke そ: the first short stroke lifted off as a separate tick.
        corner = _first_corner(_resample(base[0], 1.0))
        if corner is not None:
            pts = _resample(base[0], 1.0)
            head, tail = pts[: max(2, corner - 1)], pts[corner + 2:]
            if len(tail) >= 2:
                base = [head, tail + np.array([0.0, 1.5])] + base[1:]
    return base


def _place_marks(strokes: list[np.ndarray], groups: np.ndarray, style: WriterStyle,
                 rng: np.random.Generator, sloppy: float) -> list[np.ndarray]:
    """゛/゜ wander far in real writing (place, size, angle), but stay readable.

    People keep the marks clear of the body and draw them bigger with a thick pen; a mark
    that merges into a blob or into the body would be a mislabelled sample (ば drawn as は).
    """
    strokes = list(strokes)
    ticks = [i for i, g in enumerate(groups) if g]
    body = np.concatenate([s for s, g in zip(strokes, groups) if not g])
    mark = np.concatenate([strokes[i] for i in ticks])
    c = mark.mean(axis=0)
    # Where the mark sits as seen from the body (up and right): the way out of a collision.
    outward = c - (body.min(axis=0) + body.max(axis=0)) / 2
    outward = outward / max(float(np.hypot(*outward)), 1e-6)
    spread = style.dakuten * sloppy
    m = _rotation(float(np.clip(rng.normal(0, 9 * spread), -25, 25))) * math.exp(
        float(np.clip(rng.normal(0.05, 0.15 * spread), -0.3, 0.4)))
    shift = rng.normal(0, 2.5 * spread, size=2) + np.array([rng.normal(-0.5, 1.5), rng.normal(0.5, 1.5)])
    for i in ticks:
        strokes[i] = (strokes[i] - c) @ m.T + c + shift
    # Big enough for the pen: a ゜ keeps its hole, each tick of ゛ is a stroke, not a dot.
    pen = style.pen_width * kanjivg.KANJIVG_BOX
    for i in ticks:
        own = strokes[i].mean(axis=0)
        if len(ticks) == 1:
            extent = float(np.max(strokes[i].max(axis=0) - strokes[i].min(axis=0)))
            need = pen * rng.uniform(2.4, 3.0) / max(extent, 1e-6)
        else:
            need = pen * rng.uniform(1.5, 2.0) / max(_arclength(strokes[i])[-1], 1e-6)
        strokes[i] = (strokes[i] - own) * float(np.clip(need, 1.0, 2.5)) + own
    # The two ticks of ゛ stay two: closer or further apart, never merged.
    if len(ticks) == 2:
        a, b = strokes[ticks[0]], strokes[ticks[1]]
        axis = b.mean(axis=0) - a.mean(axis=0)
        axis = axis / max(float(np.hypot(*axis)), 1e-6)
        gap = rng.normal(0.0, 1.0 * spread)
        least = pen * rng.uniform(1.2, 1.7) + 1.0
        for attempt in range(6):                                  # crossed ticks need a few
            apart = float(np.min(np.hypot(*(a[:, None, :] - b[None, :, :]).transpose(2, 0, 1))))
            want = max(apart + gap, least) if attempt == 0 else least
            if attempt and apart >= least:
                break
            a, b = a - axis * (want - apart) / 2, b + axis * (want - apart) / 2
        strokes[ticks[0]], strokes[ticks[1]] = a, b
    # Clear of the body: pushed outwards (up and right, where the mark belongs).
    clear = pen * rng.uniform(0.9, 1.4) + 1.5
    for _ in range(8):
        mark = np.concatenate([strokes[i] for i in ticks])
        d = np.hypot(*(mark[:, None, :] - body[None, :, :]).transpose(2, 0, 1))
        dist = float(d.min())
        if dist >= clear:
            break
        for i in ticks:
            strokes[i] = strokes[i] + outward * (clear - dist + 0.5)
    return strokes


def _geometry(char: str, style: WriterStyle, rng: np.random.Generator):
    """Final stroke polylines (KanjiVG units), widths multipliers and the ligatures to draw."""
    base = _variant_strokes(char, style, rng)
    groups = _stroke_groups(char, len(base))
    sloppy = min(1.8, style.sloppiness * float(np.exp(rng.normal(0, 0.2))))
    strokes = [_vary_stroke(_resample(np.asarray(s, np.float64), _STEP), style, rng, sloppy, bool(g))
               for s, g in zip(base, groups)]
    if groups.any():
        strokes = _place_marks(strokes, groups, style, rng, sloppy)
    # Whole character: spread about its centre, elastic, shear, aspect, rotation.
    allpts = np.concatenate(strokes)
    centre = (allpts.min(axis=0) + allpts.max(axis=0)) / 2
    aspect = style.aspect * math.exp(rng.normal(0, 0.05))
    shear = style.slant + rng.normal(0, 0.04)
    rot = style.rotation + rng.normal(0, 2.0)
    m = _rotation(rot) @ np.array([[aspect, -shear], [0.0, 1.0]])
    amp = 1.8 * sloppy
    squeeze = style.compact * math.exp(rng.normal(0, 0.03))
    strokes = [((s - centre) * squeeze) for s in strokes]
    field = _elastic_field(rng, amp)
    hand = _elastic_field(np.random.default_rng(style.hand), 2.0)   # this writer's proportions
    strokes = [field(hand(s)) @ m.T for s in strokes]
    widths = [_pressure(rng, style, len(s), _arclength(s)[-1]) for s in strokes]
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
        tt = np.linspace(0, end, max(3, int(gap * end / _STEP)))[:, None]
        curve = (1 - tt) ** 2 * a + 2 * (1 - tt) * tt * ctrl + tt ** 2 * b
        if join:
            ligatures.append((curve, rng.uniform(0.3, 0.6), rng.uniform(0.35, 0.75)))
        else:
            ligatures.append((curve, rng.uniform(0.4, 0.8), rng.uniform(0.7, 1.0)))
    return strokes, widths, ligatures


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
    strokes, widths, ligatures = _geometry(char, style, rng)
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


# ## Records


# ## The writer's hand over a glyph


def _hand_maps(style, rng: np.random.Generator, h: int, w: int, fit: float):
    """cv2.remap maps from the output canvas (h, w) back into a glyph of side ``fit`` px.

    The glyph sits at the writer's place and size; the writer's slant, aspect and rotation,
    its fixed proportions (``style.hand``) and this sample's elastic warp act around it.
    """
    cx = w / 2 + w * (style.offset_x + rng.normal(0, 0.025))
    cy = h / 2 + h * (style.offset_y + rng.normal(0, 0.025))
    aspect = style.aspect * math.exp(rng.normal(0, 0.05))
    shear = style.slant + rng.normal(0, 0.04)
    m = _rotation(style.rotation + rng.normal(0, 2.0)) @ np.array([[aspect, -shear], [0.0, 1.0]])
    inv = np.linalg.inv(m)
    # The maps are smooth: computed on a coarse grid (every 8th pixel), then interpolated.
    step = 8
    yy, xx = np.mgrid[0:h + step:step, 0:w + step:step].astype(np.float32)
    px, py = (xx - cx) / fit, (yy - cy) / fit            # canvas -> unit glyph box
    gx = inv[0, 0] * px + inv[0, 1] * py
    gy = inv[1, 0] * px + inv[1, 1] * py
    for seed_rng, amp in ((np.random.default_rng(style.hand), 0.018),
                          (rng, 0.016 * style.sloppiness)):
        for _ in range(3):                                # a few long plane waves
            d = seed_rng.normal(size=2)
            d *= seed_rng.normal(0, amp) / max(float(np.hypot(*d)), 1e-9)
            k = seed_rng.normal(size=2)
            k *= 2 * math.pi / seed_rng.uniform(0.65, 1.65) / max(float(np.hypot(*k)), 1e-9)
            phase = seed_rng.uniform(0, 2 * math.pi)
            wave = np.sin(gx * k[0] + gy * k[1] + phase)
            gx, gy = gx + d[0] * wave, gy + d[1] * wave
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


def writer_rng(seed: int, writer: int) -> np.random.Generator:
    """The random stream of writer ``writer`` (0-based): independent of how work is split.

    Its first draws make the writer's style: ``WriterStyle.random(writer_rng(seed, w))``
    is the style of sheet w + 1 in a set drawn with ``seed``.
    """
    return np.random.default_rng(np.random.SeedSequence([int(seed), int(writer)]))



def _writer_records(args) -> bytes:
    """All samples of one writer as ETL8G records (runs in a worker process)."""
    seed, writer, classes, serial0 = args
    rng = writer_rng(seed, writer)
    style = WriterStyle.random(rng)
    font = writer_font(rng)                 # after the style: stroke writers keep their draws
    records = np.zeros(len(classes), ETL8G_RECORD)
    sex, age = int(rng.integers(1, 3)), int(rng.integers(16, 70))
    industry, occupation = int(rng.integers(1, 20)), int(rng.integers(1, 30))
    gathered = 7400 + int(rng.integers(1, 13))
    for i, char in enumerate(classes):
        image = (render_font_sample(char, font, style, rng) if font is not None
                 else render_sample(char, style, rng))
        levels = ((image.astype(np.uint16) * 15 + 127) // 255).astype(np.uint8).reshape(-1)
        rec = records[i]
        rec["sheet"] = writer + 1
        rec["jis_code"] = jis_code(char)
        rec["reading"] = reading(char)
        rec["serial_data_number"] = serial0 + i
        rec["sex"], rec["age"] = sex, age
        rec["industry"], rec["occupation"] = industry, occupation
        rec["gathering_date"], rec["scanning_date"] = gathered, gathered + 100
        rec["position_x"], rec["position_y"] = i % 10 + 1, i // 10 + 1
        rec["image"] = (levels[0::2] << 4) | levels[1::2]
    return records.tobytes()


def writer_hand(seed: int, writer: int):
    """(style, font or None) of writer ``writer`` in a set drawn with ``seed``."""
    rng = writer_rng(seed, writer)
    style = WriterStyle.random(rng)
    return style, writer_font(rng)


def writer_font(rng: np.random.Generator):
    """The font this writer writes in (drawn right after its style), or None for strokes."""
    if rng.random() >= FONT_WRITER_SHARE:
        return None
    return forms.TRAIN_FONTS[int(rng.integers(len(forms.TRAIN_FONTS)))]


def decode_images(data: bytes) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(images uint8 (N,127,128) 0..255 ink-high, labels, sheets) of our own ETL8G bytes.

    For previews and self-checks; the project's reader is ``kana_keras.etl.read``.
    """
    recs = np.frombuffer(data, ETL8G_RECORD)
    packed = recs["image"]
    pixels = np.empty((len(recs), 8128 * 2), np.uint8)
    pixels[:, 0::2], pixels[:, 1::2] = packed >> 4, packed & 0x0F
    images = pixels.reshape(-1, ETL8G_HEIGHT, ETL8G_WIDTH) * np.uint8(17)
    labels = np.array([(int(j) + 0x8080).to_bytes(2, "big").decode("euc_jp") for j in recs["jis_code"]])
    return images, labels, recs["sheet"].astype(np.int64)


def _file_name(index: int) -> str:
    return f"ETL8G_{index + 1:02d}"


def _check_options(writers, seed, kana, workers) -> list[str]:
    if isinstance(writers, bool) or not isinstance(writers, (int, np.integer)) or writers < 1:
        raise ValueError(f"writers must be a whole number >= 1, got {writers!r}")
    if writers > 65535:
        raise ValueError(f"writers must be <= 65535 (ETL's 2-byte sheet number), got {writers}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a whole number >= 0, got {seed!r}")
    if workers is not None and (not isinstance(workers, (int, np.integer)) or workers < 1):
        raise ValueError(f"workers must be a whole number >= 1 or None, got {workers!r}")
    if not isinstance(kana, str) or kana not in kana_mod.KANA_SETS:
        raise ValueError(f"kana must be one of {sorted(kana_mod.KANA_SETS)}, got {kana!r}")
    return kana_mod.kana_classes(kana)


def _options(writers: int, seed: int, kana: str) -> dict:
    return {"synth_version": SYNTH_VERSION, "writers": int(writers), "seed": int(seed), "kana": kana,
            "writers_per_file": WRITERS_PER_FILE, "format": "ETL8G",
            "font_writer_share": FONT_WRITER_SHARE,
            "fonts": [f.name for f in forms.TRAIN_FONTS]}


def _readme(options: dict, files: list[Path], classes: list[str]) -> str:
    redraw = f"--writers {options['writers']} --seed {options['seed']} --kana {options['kana']}"
    return f"""SYNTHETIC handwritten kana -- not real handwriting, not ETL data.

Drawn by kana_keras.synth (version {options['synth_version']}) from the stroke centre-lines of
KanjiVG (c) Ulrich Apel, https://kanjivg.tagaini.net, licensed CC BY-SA 3.0; these files
are derived from KanjiVG and share its licence.

Each synthetic writer has a pen, width, pressure, slant, size and handwriting habits of
its own; every sample adds its own jitter. About {options['font_writer_share']:.0%} of the writers
write in a font instead of KanjiVG's strokes ({', '.join(options['fonts'])}; credits and
licences in kana_keras/assets/fonts/README.md). The files use the ETL8G record layout (8199
bytes: sheet = writer + 1, JIS X 0208 code, ASCII reading, 128 x 127 image at 4 bits), so
ETL readers read them; header fields such as sex, age and dates are invented.

Options: writers={options['writers']} seed={options['seed']} kana={options['kana']}
Classes: {len(classes)} ({''.join(classes)})
Samples: {options['writers'] * len(classes)} in {len(files)} files: {' '.join(f.name for f in files)}
Redraw: python -m kana_keras.synth --out DIR {redraw}
"""


def generate(out_dir, writers: int = 160, seed: int = 0, kana: str = "all", preview=None,
             progress: bool = True, workers: int | None = None) -> list[Path]:
    """Draw ``writers`` synthetic writers x every class of ``kana`` into ETL8G files.

    Returns the ETL8G file paths. The same options and seed give byte-identical files,
    whatever ``workers`` is: each writer is seeded from (seed, writer index).
    """
    classes = _check_options(writers, seed, kana, workers)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    (out / STAMP_NAME).unlink(missing_ok=True)       # a half-written set must look unfinished
    workers = min(workers or os.cpu_count() or 1, writers)
    # ETL8G names have two digits: a huge set puts more writers in each of 99 files.
    n_files = min(99, math.ceil(writers / WRITERS_PER_FILE))
    per_file = math.ceil(writers / n_files)
    tasks = [(seed, w, classes, w * len(classes) + 1) for w in range(writers)]
    files: list[Path] = []
    preview_rows: list[bytes] = []
    preview_writers = _preview_writers(seed, writers)

    from tqdm import tqdm

    bar = tqdm(total=writers, unit="writer", desc=f"drawing {out}", disable=not progress)
    # spawn, not fork: callers may hold threads (TF, tqdm); a dead worker raises, never hangs.
    pool = (ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"),
                                initializer=cv2.setNumThreads, initargs=(1,))
            if workers > 1 else None)
    try:
        results = pool.map(_writer_records, tasks) if pool else map(_writer_records, tasks)
        chunk: list[bytes] = []
        for w, data in enumerate(results):
            chunk.append(data)
            if w in preview_writers:
                preview_rows.append(data)
            bar.update(1)
            if len(chunk) == per_file or w == writers - 1:
                path = out / _file_name(len(files))
                write_bytes_atomic(path, b"".join(chunk))
                files.append(path)
                chunk = []
    finally:
        bar.close()
        if pool:
            pool.shutdown(wait=True, cancel_futures=True)
    # Files of an earlier, larger set would be read as part of this one.
    for stale in out.glob("ETL8G_*"):
        if stale not in files and stale.name[6:].isdigit():
            stale.unlink()
    options = _options(writers, seed, kana)
    if preview is not None:
        write_preview(preview_rows, classes, preview)
    write_text_atomic(out / README_NAME, _readme(options, files, classes))
    write_json_atomic(out / STAMP_NAME, dict(options, files={f.name: f.stat().st_size for f in files}))
    return files


def _preview_writers(seed: int, writers: int, n: int = 10) -> set[int]:
    """Evenly spread writers for the preview, up to half of them font writers."""
    fonts = [w for w in range(writers) if writer_hand(seed, w)[1] is not None]
    strokes = [w for w in range(writers) if w not in set(fonts)]
    n_fonts = min(len(fonts), n // 2, max(0, n - len(strokes)) + n // 2)
    pick = [fonts[i] for i in np.linspace(0, len(fonts) - 1, n_fonts).astype(int)] if n_fonts else []
    rest = min(len(strokes), n - len(pick))
    pick += [strokes[i] for i in np.linspace(0, len(strokes) - 1, rest).astype(int)] if rest else []
    return set(pick)


#: The preview's kana: the allographs and dash-and-sweep kana the synthesis varies, and a few others.
PREVIEW_KANA = "あきさそふりゆねぬツシソンヌマが"


def write_preview(writer_bytes: list[bytes], classes: list[str], path, n_kana: int = 16) -> Path:
    """A grid: one row per writer, the same few kana in every row (black ink on white)."""
    from kana_keras import images as images_mod

    if all(c in classes for c in PREVIEW_KANA[:n_kana]):
        picks = np.array([classes.index(c) for c in PREVIEW_KANA[:n_kana]])
    else:
        picks = np.linspace(0, len(classes) - 1, min(n_kana, len(classes))).astype(int)
    cells, labels = [], []
    for data in writer_bytes:
        imgs, labs, _ = decode_images(data)
        cells.extend(imgs[picks])
        labels.extend(labs[picks])
    picture = images_mod.grid(np.stack(cells), labels, cols=len(picks))
    return images_mod.save_atomic(picture, path)


def _stamp_ok(out: Path, writers: int, seed: int, kana: str) -> bool:
    try:
        stamp = json.loads((out / STAMP_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    wanted = _options(writers, seed, kana)
    if not isinstance(stamp, dict) or any(stamp.get(k) != v for k, v in wanted.items()):
        return False
    files = stamp.get("files") or {}
    return bool(files) and all((out / name).is_file() and (out / name).stat().st_size == size
                               for name, size in files.items())


def ensure_synthetic(out_dir=DEFAULT_SYNTHETIC_DIR, writers: int = 160, seed: int = 0,
                     kana: str = "all", progress: bool = True) -> Path:
    """The built-in set: drawn only when missing, incomplete or drawn with other options."""
    _check_options(writers, seed, kana, None)
    out = Path(out_dir)
    if not _stamp_ok(out, writers, seed, kana):
        generate(out, writers=writers, seed=seed, kana=kana, progress=progress)
    return out


# ## Command line


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m kana_keras.synth",
        description="Draw synthetic handwritten kana (KanjiVG strokes) as ETL8G files.")
    parser.add_argument("--out", required=True, type=Path, help="output folder")
    parser.add_argument("--writers", type=int, default=160, help="number of synthetic writers (160)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (0)")
    parser.add_argument("--kana", default="all", choices=sorted(kana_mod.KANA_SETS), help="class set")
    parser.add_argument("--preview", type=Path, default=None, help="write a PNG grid of samples")
    parser.add_argument("--workers", type=int, default=None, help="processes (default: all cores)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    args = parser.parse_args(argv)
    try:
        files = generate(args.out, writers=args.writers, seed=args.seed, kana=args.kana,
                         preview=args.preview, progress=not args.quiet, workers=args.workers)
    except ValueError as err:
        parser.error(str(err))
    total = sum(f.stat().st_size for f in files) // ETL8G_RECORD.itemsize
    print(f"wrote {total} samples in {len(files)} files to {args.out}"
          + (f"; preview {args.preview}" if args.preview else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
