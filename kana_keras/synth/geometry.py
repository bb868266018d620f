"""Stroke geometry: polylines in KanjiVG units (the box is 109), and one warp field.

Pure helpers, no writer in them: resampling, normals, smoothing, corners, hooks, low-frequency
noise along a stroke, and ``wave_field``, the smooth displacement of the plane that both the
stroke writers (on points) and the font writers (on a remap grid) bend their characters with.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

STEP = 1.5                          # polyline point spacing, KanjiVG units (box of 109)


def arclength(pts: np.ndarray) -> np.ndarray:
    seg = np.hypot(*np.diff(pts, axis=0).T)
    return np.concatenate([[0.0], np.cumsum(seg)])


def resample(pts: np.ndarray, step: float) -> np.ndarray:
    """Points evenly spaced along the polyline, so per-point jitter means per-length jitter."""
    s = arclength(pts)
    if s[-1] < 1e-6:
        return np.repeat(pts[:1], 2, axis=0)
    n = max(2, int(math.ceil(s[-1] / step)) + 1)
    u = np.linspace(0.0, s[-1], n)
    return np.stack([np.interp(u, s, pts[:, 0]), np.interp(u, s, pts[:, 1])], axis=1)


def normals(pts: np.ndarray) -> np.ndarray:
    tangent = np.gradient(pts, axis=0) if len(pts) > 2 else np.repeat(pts[1:] - pts[:1], len(pts), 0)
    tangent /= np.maximum(np.hypot(tangent[:, 0], tangent[:, 1])[:, None], 1e-9)
    return np.stack([-tangent[:, 1], tangent[:, 0]], axis=1)


def smooth(pts: np.ndarray, sigma: float) -> np.ndarray:
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


def angular(pts: np.ndarray, eps: float) -> np.ndarray:
    """Douglas-Peucker: curves become a few straight runs, as fast writers make them."""
    if eps <= 0.05 or len(pts) < 4:
        return pts
    simple = cv2.approxPolyDP(pts.astype(np.float32).reshape(-1, 1, 2), eps, False).reshape(-1, 2)
    return resample(simple.astype(np.float64), STEP) if len(simple) >= 2 else pts


def hook_index(pts: np.ndarray) -> int | None:
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
    s = arclength(pts)
    tail = s[-1] - s[index]
    return index if tail <= min(9.0, 0.2 * s[-1]) else None


def extend(pts: np.ndarray, extra: float) -> np.ndarray:
    """The stroke carried on straight past its end by ``extra`` units."""
    if len(pts) < 3:
        return pts
    tangent = pts[-1] - pts[-3]
    tangent = tangent / max(float(np.hypot(*tangent)), 1e-9)
    steps = np.linspace(STEP, extra, max(2, int(extra / STEP)))
    return np.concatenate([pts, pts[-1] + tangent * steps[:, None]])


def smooth_noise(rng: np.random.Generator, t: np.ndarray, amp: float, kmax: int = 3) -> np.ndarray:
    """Low-frequency 1-D noise along a stroke (sum of a few sines), not white noise."""
    out = np.zeros_like(t)
    for k in range(1, kmax + 1):
        out += rng.normal(0.0, amp / k) * np.sin(math.pi * k * t + rng.uniform(0, 2 * math.pi) * (k > 1))
    return out



def rotation(deg: float) -> np.ndarray:
    r = math.radians(deg)
    return np.array([[math.cos(r), -math.sin(r)], [math.sin(r), math.cos(r)]])



def first_corner(pts: np.ndarray, limit: float = 0.45) -> int | None:
    """Index of the first sharp turn (> 60 degrees) in the first ``limit`` of a stroke."""
    d = pts[3:] - pts[:-3]
    ang = np.arctan2(d[:, 1], d[:, 0])
    turn = np.abs((ang[3:] - ang[:-3] + np.pi) % (2 * np.pi) - np.pi)
    hits = np.nonzero(turn[: int(len(pts) * limit)] > math.radians(60))[0]
    return int(hits[0]) + 3 if hits.size else None



def wave_field(rng: np.random.Generator, amp: float, wavelength: tuple[float, float], waves: int = 3):
    """A smooth random displacement of the plane: a sum of a few long plane waves.

    Returns ``displace(x, y) -> (x', y')`` for arrays of any shape (points or a remap grid);
    every wave is evaluated at the original coordinates, so the order does not matter.
    ``amp`` is the spread of each wave's displacement, ``wavelength`` its (low, high) range,
    in the units of x and y.
    """
    params = []
    for _ in range(waves):
        direction = rng.normal(size=2)
        direction *= rng.normal(0, amp) / max(float(np.hypot(*direction)), 1e-9)
        k = rng.normal(size=2)
        k *= 2 * math.pi / rng.uniform(*wavelength) / max(float(np.hypot(*k)), 1e-9)
        params.append((direction, k, rng.uniform(0, 2 * math.pi)))

    def displace(x, y):
        dx, dy = np.zeros_like(x), np.zeros_like(y)
        for direction, k, phase in params:
            wave = np.sin(x * k[0] + y * k[1] + phase)
            dx, dy = dx + direction[0] * wave, dy + direction[1] * wave
        return x + dx, y + dy

    return displace


def warp_points(displace, pts: np.ndarray) -> np.ndarray:
    """``wave_field``'s displacement applied to (N, 2) points."""
    x, y = displace(pts[:, 0], pts[:, 1])
    return np.stack([x, y], axis=1)
