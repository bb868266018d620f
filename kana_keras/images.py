"""Pictures people would rather look at than read: grids, strips, animated GIFs.

Arrays follow the project's convention (0 = paper, 255 = ink); pictures come out the way
people expect handwriting to look: black ink on white paper. Captions are drawn with
KanjiVG strokes, so no Japanese font has to be installed.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Sequence

import cv2
import numpy as np
from PIL import Image, ImageDraw

from kana_keras import kanjivg
from kana_keras.files import atomic_path, temporary_name

#: What a picture path may end with, and the format it is written in.
PICTURE_FORMATS = {".png": "PNG", ".gif": "GIF", ".jpg": "JPEG", ".jpeg": "JPEG", ".webp": "WEBP"}


def to_uint8(images) -> np.ndarray:
    """float in [0, 1] or uint8 (N, H, W[, 1]) → uint8 (N, H, W), 0 = paper."""
    arr = np.asarray(images)
    if arr.ndim == 4 and arr.shape[-1] == 1:
        arr = arr[..., 0]
    if arr.ndim == 2:
        arr = arr[None]
    if arr.dtype != np.uint8:
        arr = np.clip(np.rint(arr.astype(np.float32) * 255.0), 0, 255).astype(np.uint8)
    return arr


def ink_to_paper(images) -> np.ndarray:
    """Ink-high arrays → black-on-white uint8 for display."""
    return 255 - to_uint8(images)


def paper_to_ink(pictures) -> np.ndarray:
    """Black-on-white pictures (as the API hands them out) → ink-high uint8 (N, H, W)."""
    return 255 - to_uint8(pictures)


def caption(text: str, height: int = 16) -> np.ndarray:
    """A caption (ink-high uint8, height x n*height) drawn from KanjiVG strokes."""
    cells = []
    for char in text:
        cell = np.zeros((height, height), np.uint8)
        if char != " " and kanjivg.has_strokes(char):
            scale = (height - 2) / kanjivg.KANJIVG_BOX
            for stroke in kanjivg.strokes(char):
                pts = np.rint((stroke * scale + 1) * 4).astype(np.int32)
                cv2.polylines(cell, [pts], False, 255, 1, cv2.LINE_AA, shift=2)
        elif char != " ":
            cv2.putText(cell, char[:1], (2, height - 4), cv2.FONT_HERSHEY_SIMPLEX,
                        height / 32, 255, 1, cv2.LINE_AA)
        cells.append(cell)
    return np.concatenate(cells, axis=1) if cells else np.zeros((height, 0), np.uint8)


def grid(images, labels: Sequence[str] | None = None, cols: int | None = None,
         pad: int = 2, scale: int = 1) -> Image.Image:
    """Tile ink-high images into one black-on-white picture, captioned if labels are given."""
    arr = to_uint8(images)
    n, h, w = arr.shape
    if scale > 1:
        arr = np.stack([cv2.resize(a, (w * scale, h * scale), interpolation=cv2.INTER_NEAREST)
                        for a in arr]) if n else arr.reshape(0, h * scale, w * scale)
        h, w = h * scale, w * scale
    cols = cols or max(1, int(np.ceil(np.sqrt(max(n, 1)))))
    rows = max(1, int(np.ceil(n / cols)))
    cap_h = 0 if labels is None else max(12, min(24, h // 3))
    cell_h, cell_w = h + cap_h + pad, w + pad
    canvas = np.zeros((rows * cell_h + pad, cols * cell_w + pad), np.uint8)
    for i in range(n):
        r, c = divmod(i, cols)
        y, x = pad + r * cell_h, pad + c * cell_w
        canvas[y:y + h, x:x + w] = arr[i]
        if labels is not None:
            cap = caption(str(labels[i]), cap_h)[:, :w]
            canvas[y + h:y + h + cap_h, x:x + cap.shape[1]] = np.maximum(
                canvas[y + h:y + h + cap_h, x:x + cap.shape[1]], cap)
    return Image.fromarray(255 - canvas)


def strip(images, pad: int = 2, scale: int = 1) -> Image.Image:
    """One row of images, e.g. an interpolation from one kana to another."""
    return grid(images, cols=len(to_uint8(images)), pad=pad, scale=scale)


def check_picture_path(path: str | os.PathLike, flag: str = "--out") -> Path:
    """Raise ValueError naming ``flag`` if ``path`` cannot take a picture: before any work.

    Checks the suffix, and that a file can really be made in the folder (a probe file, so a
    read-only disk or /proc is found, which os.access misses for root).
    """
    path = Path(path)
    expected = ", ".join(PICTURE_FORMATS)
    if path.suffix.lower() not in PICTURE_FORMATS:
        raise ValueError(f"{flag} {path}: expected a picture file name ending in {expected}")
    if path.is_dir():
        raise ValueError(f"{flag} {path}: is a folder, expected a picture file name")
    folder = path.parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    probe = temporary_name(folder / path.name)
    try:
        probe.open("xb").close()
        probe.unlink()
    except OSError as exc:
        raise ValueError(f"{flag} {path}: cannot write there ({exc.strerror or exc}); "
                         f"expected a file in a writable folder") from None
    return path


def save_atomic(picture: Image.Image, path: str | os.PathLike, **kwargs) -> Path:
    """Save a picture through a temporary file, so a crash never leaves half a PNG.

    An OSError names ``path``, never the temporary file the user did not choose.
    """
    path = Path(path)
    fmt = kwargs.pop("format", None) or Image.registered_extensions().get(path.suffix.lower())
    if fmt is None:
        raise ValueError(f"{path}: expected a picture file name ending in "
                         f"{', '.join(PICTURE_FORMATS)}")
    try:
        with atomic_path(path) as tmp:
            picture.save(tmp, format=fmt, **kwargs)
    except OSError as exc:
        raise OSError(exc.errno, exc.strerror or str(exc), str(path)) from None
    return path


def save_gif(images, path: str | os.PathLike, scale: int = 2, duration_ms: int = 120,
             bounce: bool = True) -> Path:
    """An animated GIF of the frames (black on white), played forward then back."""
    frames = [Image.fromarray(f) for f in ink_to_paper(images)]
    if scale > 1:
        frames = [f.resize((f.width * scale, f.height * scale), Image.NEAREST) for f in frames]
    if bounce and len(frames) > 2:
        frames = frames + frames[-2:0:-1]
    first, rest = frames[0], frames[1:]
    return save_atomic(first, path, format="GIF", save_all=True, append_images=rest,
                       duration=duration_ms, loop=0)


def curves(rows: list[dict], width: int = 720, height: int = 300) -> Image.Image:
    """Training curves from history rows (loss and reconstruction above, KL below; train solid,
    validation dashed), drawn with PIL: no plotting library to install."""
    colours = {"loss": (0, 0, 0), "reconstruction_loss": (30, 90, 200), "kl_loss": (200, 60, 30)}
    picture = Image.new("RGB", (width, height * 2), "white")
    draw = ImageDraw.Draw(picture)
    epochs = [r["epoch"] for r in rows]
    for panel, group in enumerate((("loss", "reconstruction_loss"), ("kl_loss",))):
        top, left, right, bottom = panel * height + 20, 60, width - 20, panel * height + height - 30
        values = [float(r[p + k]) for r in rows for k in group for p in ("", "val_")
                  if math.isfinite(float(r.get(p + k, "nan")))]
        if not values or not epochs:
            continue
        lo, hi = min(values), max(values)
        hi = hi if hi > lo else lo + 1.0
        x_of = lambda e: left + (right - left) * ((e - epochs[0]) / max(1, epochs[-1] - epochs[0]))
        y_of = lambda v: bottom - (bottom - top) * (v - lo) / (hi - lo)
        draw.rectangle((left, top, right, bottom), outline=(160, 160, 160))
        draw.text((4, top - 12), f"{hi:.1f}", fill=(0, 0, 0))
        draw.text((4, bottom - 6), f"{lo:.1f}", fill=(0, 0, 0))
        draw.text((left, bottom + 6), f"epoch {epochs[0]}", fill=(0, 0, 0))
        draw.text((right - 60, bottom + 6), f"epoch {epochs[-1]}", fill=(0, 0, 0))
        for i, key in enumerate(group):
            for prefix, dashed in (("", False), ("val_", True)):
                pts = [(x_of(r["epoch"]), y_of(float(r[prefix + key]))) for r in rows
                       if math.isfinite(float(r.get(prefix + key, "nan")))]
                _polyline(draw, pts, colours[key], dashed)
            draw.text((left + 10 + 230 * i, top + 4), f"{key} (val dashed)", fill=colours[key])
    return picture


def _polyline(draw, pts, colour, dashed: bool) -> None:
    """Points joined 2 px wide, solid or in 6-px dashes; a lone point is a dot."""
    for a, b in zip(pts, pts[1:]):
        if not dashed:
            draw.line((a, b), fill=colour, width=2)
            continue
        pieces = max(2, int(math.hypot(b[0] - a[0], b[1] - a[1]) // 6))
        for j in range(0, pieces, 2):
            t0, t1 = j / pieces, (j + 1) / pieces
            draw.line((a[0] + (b[0] - a[0]) * t0, a[1] + (b[1] - a[1]) * t0,
                       a[0] + (b[0] - a[0]) * t1, a[1] + (b[1] - a[1]) * t1),
                      fill=colour, width=2)
    if len(pts) == 1:
        draw.ellipse((pts[0][0] - 2, pts[0][1] - 2, pts[0][0] + 2, pts[0][1] + 2), fill=colour)
