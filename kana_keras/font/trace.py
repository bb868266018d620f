"""Pixels to outlines: a drawn kana (ink-high float) → closed, smooth quadratic contours.

Why OpenCV and fontTools rather than potrace: the potrace bindings on PyPI (pypotrace 0.3,
potracecffi, potracer) have had no release since 2021-2022 and need a C library or a slow pure
Python port; OpenCV is already a dependency. The decoder's 64 px drawing is upscaled
(bicubic) and blurred so the edge runs between pixels, thresholded, and its boundaries found
with ``findContours`` (``RETR_CCOMP``: outer edges and the holes in them). Each boundary is
smoothed with a circular Gaussian, resampled every few pixels, and the samples become the
off-curve points of a TrueType quadratic spline (``qCurveTo(*points, None)``: on-curve points
implied halfway between), so outlines are curves, never pixel stairs.

Contours come out in font units (y up) and oriented for the nonzero rule the way each
format wants them: TrueType outer edges clockwise, CFF outer edges counter-clockwise, holes
the other way, so counters (the loop of あ, the box of ロ) stay open.
"""

from __future__ import annotations

import cv2
import numpy as np

# fmt: off
UPSCALE = 4            # the 64 px drawing is traced at 256 px
BLUR_SIGMA = 1.2       # upscaled pixels: rounds the bicubic edge before the threshold
THRESHOLD = 0.4        # of the strongest ink nearby: a stroke keeps its faint ends
LOCAL_WINDOW = 0.25    # of the cell: "nearby" for the local contrast
LOCAL_FLOOR = 0.25     # of the darkest ink: haze fainter than this is never a stroke
MIN_INK = 0.1          # a cell whose darkest point is fainter than this is empty
SMOOTH_SIGMA = 2.0     # upscaled pixels along the contour: removes the staircase
SPACING = 5.0          # upscaled pixels between off-curve points
MIN_AREA = 0.0006      # of the cell: smaller specks are the decoder's haze, not ink
# fmt: on


def trace(ink: np.ndarray, units: float = 1000.0, top: float = 880.0,
          clockwise_outer: bool = True) -> list[np.ndarray]:
    """Contours of one drawing ``ink`` (float (S, S) in [0, 1], ink high).

    Returns a list of (N, 2) float arrays in font units: the cell's width is ``units``, its
    top edge is at y = ``top``. Outer contours run clockwise when ``clockwise_outer``
    (TrueType), counter-clockwise otherwise (CFF); holes run the other way.
    """
    size = ink.shape[0]
    ink = np.asarray(ink, np.float32)
    if ink.max() < MIN_INK:
        return []
    # local contrast at the drawing's own size (16x cheaper than on the upscaled cell)
    big = cv2.resize(_local_contrast(ink), None, fx=UPSCALE, fy=UPSCALE,
                     interpolation=cv2.INTER_CUBIC)
    mask = (cv2.GaussianBlur(big, (0, 0), BLUR_SIGMA) >= THRESHOLD).astype(np.uint8)
    found, hierarchy = cv2.findContours(mask, cv2.RETR_CCOMP, cv2.CHAIN_APPROX_NONE)
    scale = units / (size * UPSCALE)
    min_area = MIN_AREA * (size * UPSCALE) ** 2
    out = []
    for contour, (_, _, _, parent) in zip(found, hierarchy[0]):
        points = contour[:, 0, :].astype(np.float64)
        if len(points) < 8 or abs(cv2.contourArea(contour)) < min_area:
            continue
        points = _resample(_smooth(points, SMOOTH_SIGMA), SPACING)
        if len(points) < 4:
            continue
        font = np.stack([points[:, 0] * scale, top - points[:, 1] * scale], axis=1)
        outer = parent < 0
        want_clockwise = clockwise_outer if outer else not clockwise_outer
        if (signed_area(font) < 0) != want_clockwise:
            font = font[::-1]
        out.append(font)
    return out


def _local_contrast(ink: np.ndarray) -> np.ndarray:
    """Ink over the strongest ink nearby: a faint stroke of the decoder is kept at its own
    half height, as wide as a dark one, instead of vanishing under one global threshold."""
    side = int(LOCAL_WINDOW * ink.shape[0]) | 1
    nearby = cv2.dilate(ink, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (side, side)))
    nearby = cv2.GaussianBlur(nearby, (0, 0), side / 4)
    return ink / np.maximum(nearby, LOCAL_FLOOR * float(ink.max()))


def signed_area(points: np.ndarray) -> float:
    """Shoelace area, positive counter-clockwise in a y-up frame."""
    x, y = points[:, 0], points[:, 1]
    return 0.5 * float(np.dot(x, np.roll(y, -1)) - np.dot(np.roll(x, -1), y))


def _smooth(points: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian smoothing along a closed contour (wraps around)."""
    radius = int(3 * sigma)
    if len(points) <= 2 * radius:
        return points
    k = np.exp(-0.5 * (np.arange(-radius, radius + 1) / sigma) ** 2)
    k /= k.sum()
    padded = np.concatenate([points[-radius:], points, points[:radius]])
    return np.stack([np.convolve(padded[:, i], k, mode="valid") for i in range(2)], axis=1)


def _resample(points: np.ndarray, step: float) -> np.ndarray:
    """Points every ``step`` along a closed contour (at least 4 of them)."""
    closed = np.concatenate([points, points[:1]])
    seg = np.linalg.norm(np.diff(closed, axis=0), axis=1)
    length = np.concatenate([[0.0], np.cumsum(seg)])
    n = max(4, int(round(length[-1] / step)))
    at = np.linspace(0.0, length[-1], n, endpoint=False)
    return np.stack([np.interp(at, length, closed[:, i]) for i in range(2)], axis=1)


def raster(contours: list[np.ndarray], size: int, units: float = 1000.0,
           top: float = 880.0) -> np.ndarray:
    """The traced outline filled (holes open) on a ``size`` px cell: uint8 black on white, as
    a font renderer shows it (the off-curve polygon is within a pixel of the spline)."""
    ss = UPSCALE
    scale = size * ss / units
    polygons = [np.stack([c[:, 0] * scale, (top - c[:, 1]) * scale], axis=1).round()
                .astype(np.int32) for c in contours]
    big = np.zeros((size * ss, size * ss), np.uint8)
    if polygons:
        cv2.fillPoly(big, polygons, 255, cv2.LINE_AA)
    return 255 - cv2.resize(big, (size, size), interpolation=cv2.INTER_AREA)


def draw_contours(pen, contours: list[np.ndarray]) -> None:
    """Each contour as one closed quadratic spline of off-curve points (no on-curve point)."""
    for contour in contours:
        points = [tuple(int(round(v)) for v in p) for p in contour]
        points = [p for i, p in enumerate(points) if p != points[i - 1]]  # no zero-length
        if len(points) >= 3:
            pen.qCurveTo(*points, None)
            pen.closePath()
