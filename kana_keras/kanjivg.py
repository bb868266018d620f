"""Stroke centre-lines of KanjiVG (CC BY-SA 3.0, https://kanjivg.tagaini.net).

The PyPI package ``kanjivg`` installs one SVG per character into a top-level ``kanji/``
folder of site-packages. We read the ordered stroke paths from there, parse them with
svgpathtools and hand out polylines: the synthetic writers bend and ink them, and picture
captions draw labels with them (no CJK font needed).
"""

from __future__ import annotations

import functools
import importlib.metadata
import re
from pathlib import Path

import numpy as np

#: KanjiVG draws every character in a 109 x 109 box.
KANJIVG_BOX = 109.0

_PATH_RE = re.compile(r'<path[^>]*\sid="kvg:[0-9a-f]+-s(\d+)"[^>]*\sd="([^"]+)"')


@functools.lru_cache(maxsize=1)
def kanjivg_dir() -> Path:
    """The folder of KanjiVG SVGs installed by the ``kanjivg`` package."""
    try:
        dist = importlib.metadata.distribution("kanjivg")
    except importlib.metadata.PackageNotFoundError:
        raise RuntimeError(
            "The 'kanjivg' package is not installed: pip install kanjivg"
        ) from None
    folder = Path(dist.locate_file("kanji"))
    if not folder.is_dir():
        raise RuntimeError(f"The kanjivg package has no SVG folder at {folder}")
    return folder


def svg_path(char: str) -> Path:
    """The KanjiVG file of one character (the plain variant, not Kaisho etc.)."""
    if len(char) != 1:
        raise ValueError(f"expected one character, got {char!r}")
    path = kanjivg_dir() / f"{ord(char):05x}.svg"
    if not path.is_file():
        raise KeyError(f"KanjiVG has no strokes for {char!r} (U+{ord(char):04X})")
    return path


def has_strokes(char: str) -> bool:
    try:
        svg_path(char)
    except (KeyError, ValueError):
        return False
    return True


@functools.lru_cache(maxsize=4096)
def stroke_paths(char: str) -> tuple[str, ...]:
    """The SVG ``d`` strings of the character's strokes, in writing order."""
    text = svg_path(char).read_text(encoding="utf-8")
    found = sorted((int(num), d) for num, d in _PATH_RE.findall(text))
    if not found:
        raise KeyError(f"KanjiVG file {svg_path(char)} holds no stroke paths")
    return tuple(d for _, d in found)


@functools.lru_cache(maxsize=4096)
def _strokes_cached(char: str, points_per_unit: float) -> tuple[np.ndarray, ...]:
    from svgpathtools import parse_path

    strokes = []
    for d in stroke_paths(char):
        path = parse_path(d)
        n = max(4, int(path.length() * points_per_unit))
        t = np.linspace(0.0, 1.0, n)
        # svgpathtools evaluates a whole path at one t; sample segment by segment.
        pts = []
        lengths = np.array([seg.length() for seg in path])
        cum = np.concatenate([[0.0], np.cumsum(lengths)]) / max(lengths.sum(), 1e-9)
        for tt in t:
            i = min(int(np.searchsorted(cum, tt, side="right") - 1), len(path) - 1)
            span = cum[i + 1] - cum[i]
            local = 0.0 if span <= 0 else (tt - cum[i]) / span
            p = path[i].point(float(np.clip(local, 0.0, 1.0)))
            pts.append((p.real, p.imag))
        arr = np.asarray(pts, dtype=np.float32)
        arr.setflags(write=False)
        strokes.append(arr)
    return tuple(strokes)


def strokes(char: str, points_per_unit: float = 0.5) -> list[np.ndarray]:
    """Polylines (float32 arrays of shape (n, 2), x/y in the 109-unit box), one per stroke."""
    return list(_strokes_cached(char, float(points_per_unit)))
