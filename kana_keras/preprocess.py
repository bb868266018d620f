"""One cleaning function for every image the project sees: ETL records, canvas drawings, photos.

Training data and user input must look alike to the model, so everything goes through
``prepare``: ETL records (``ink="high"``, already 0 = paper) take the blog's pipeline
directly; anything else (``ink="auto"``) first has its ink *found* (alpha channel, colour,
uneven light, polarity, specks) and then takes the very same pipeline.

## The shared pipeline (what the blog did, plus two guards)

1. Contrast stretch: paper level (the median) → 0, the top of the ink → 255. ETL4's levels
   are faint; a photo's ink is never black.
2. 3x3 Gaussian blur, then Otsu's threshold with ``THRESH_TOZERO``: the paper becomes exactly
   0, the ink keeps its grey levels (pen pressure).
3. Specks: connected components smaller than ``speck_fraction`` of all ink are removed, so a
   dust dot cannot stretch the bounding box (dakuten and the dots of ふ are far larger).
4. Crop to the ink's bounding box, pad to a square with ``margin`` on each side keeping the
   aspect ratio (an い stays wide, a り stays tall), resize to ``size`` (area averaging, so
   a thin line turns grey instead of vanishing).

``prepare_batch`` runs the same pipeline over a chunk of ink-high records (the converter's
hot path): the stretch tables of a whole chunk are worked out at once, the pixel passes stay
OpenCV calls on one record at a time (faster than numpy over the stacked chunk, measured),
and a blank record gets the same message ``prepare`` raises instead of an exception.

## Stroke thickness

A 3 px line on a 400 px canvas becomes 0.5 px at 64 px, while ETL pens land at about 2 px;
a felt marker lands at 6 px. Full thickness normalisation would need a skeleton (not in
plain OpenCV) and would erase the pen-width variety the VAE is meant to learn, so we only
set a *floor*: when the estimated stroke width (2 x area / boundary length of the ink mask)
is below ``min_stroke`` of the output side, the ink is dilated (grey-level max filter) up to
it. ETL records sit above the floor, so training data is unchanged; thin canvas strokes are
brought to the thinnest pens the model saw. Thick markers are left alone: eroding them breaks
thin parts of the same character, and the recognizer trains with thickness augmentation.

## Finding the ink (``ink="auto"``)

- PIL images of any mode or numpy arrays (bool, uint8/16, float in [0, 1] or [0, 255]);
  EXIF rotation is applied; anything larger than ``work_side`` is downscaled first (a
  6000x4000 photo is cut to 1024 px by JPEG draft mode or area resizing before any work).
- Real transparency (alpha not all opaque): when most of the picture is transparent (a
  canvas layer, a transparent PNG), the alpha *is* the ink, whatever the stroke colour. When
  most is opaque (a cut-out scan), it is composited onto its own paper colour instead.
- Colour: the grey level is used unless the ink barely shows in it (ink-to-noise below
  ``colour_below_snr``); then the darkest channel or the saturation, whichever separates
  better (a yellow pen on white paper, a red pen under red light). Grey comes first because
  JPEG and camera demosaicing store colour at half resolution: colour edges are blurred.
- Polarity: the paper is the majority; after removing the background the side (darker or
  lighter than the paper) with more strong outliers is the ink, so white-on-black photos,
  chalk boards and dark-mode canvases work.
- Uneven light and shadows: a background estimate (morphological closing with a kernel of
  ``background_kernel`` of the side, i.e. wider than any stroke, then smoothed) is divided
  out for dark ink (shadows and light falloff are multiplicative) or subtracted for light ink.
- Blank: if fewer than a handful of pixels stand out from the paper by ``blank_snr`` times
  the noise level (and at least ``blank_levels`` grey levels), the image is called empty.
"""

from __future__ import annotations

import io
import os
from pathlib import Path

import cv2
import numpy as np

# ---------------------------------------------------------------------------------------
# Parameters (recorded in the cache manifest and in the weights' config)
# ---------------------------------------------------------------------------------------

# fmt: off
PREPROCESS_PARAMS = {
    "version": 1,
    "stretch": "median->0, top 0.2% ->255",   # contrast stretch of the ink-high image
    "blur": 3,                                # Gaussian kernel (the blog's 3x3)
    "threshold": "otsu+tozero",               # paper exactly 0, ink keeps pen pressure
    "speck_fraction": 0.004,                  # components below this share of the ink go
    "margin": 0.08,                           # of the square side, on each side
    "min_stroke": 0.025,                      # stroke width floor, fraction of the side
    "resize": "area (down) / cubic (up)",
    "work_side": 1024,                        # auto: larger inputs are downscaled first
    "background_kernel": 0.16,                # auto: closing kernel, fraction of the side
    "blank_snr": 6.0,                         # auto: ink must stand out by this x noise
    "blank_levels": 15,                       # auto: ... and by at least this many levels
    "colour_below_snr": 20.0,                 # auto: colour channels only if grey is weaker
}
# fmt: on

_INK_MODES = ("auto", "high", "low")
_LEVELS = np.arange(256, dtype=np.float32)
_KERNEL_3x3 = np.ones((3, 3), np.uint8)
_MIN_SIDE = 4


# ---------------------------------------------------------------------------------------
# Public entry point
# ---------------------------------------------------------------------------------------


def prepare(image, size: int = 64, *, ink: str = "auto") -> np.ndarray:
    """Clean one image into a ``(size, size)`` uint8 array, 0 = paper, 255 = ink.

    Args:
        image: numpy array (H, W), (H, W, 1), (H, W, 3) RGB or (H, W, 4) RGBA, a PIL image of
            any mode, raw encoded bytes, or a path to an image file.
        size: output side in pixels.
        ink: "high" for arrays that are already ink-high (ETL records), "low" for clean
            dark-on-light arrays, "auto" for anything from the outside world.

    Raises:
        ValueError: not an image, an unusable shape, or an image with no ink on it.

    The converter uses ``prepare_batch`` for whole chunks of ETL records: the same steps,
    the same outputs, less Python per record.
    """
    if ink not in _INK_MODES:
        raise ValueError(f"ink must be one of {_INK_MODES}, got {ink!r}")
    size = int(size)
    if size < 8:
        raise ValueError(f"size must be at least 8 pixels, got {size}")
    if ink == "high" and isinstance(image, np.ndarray) and image.dtype == np.uint8 \
            and image.ndim == 2 and min(image.shape) >= _MIN_SIDE:
        return _standardize(image, size, min_contrast=1)  # the converter's hot path
    arr = _to_array(image)
    if ink == "auto":
        ink_high = _find_ink(arr)
        return _standardize(ink_high, size, min_contrast=PREPROCESS_PARAMS["blank_levels"])
    gray = _to_gray(arr)
    if ink == "low":
        gray = 255 - gray
    return _standardize(gray, size, min_contrast=1)


# ---------------------------------------------------------------------------------------
# Input: anything → uint8 array (H, W), (H, W, 3) or (H, W, 4), downscaled
# ---------------------------------------------------------------------------------------


def _to_array(image) -> np.ndarray:
    """Any supported input → uint8 numpy array, at most ``work_side`` pixels on a side."""
    from PIL import Image, ImageOps, UnidentifiedImageError

    work = PREPROCESS_PARAMS["work_side"]
    name = None
    if isinstance(image, (str, os.PathLike)):
        name = str(image)
        if not Path(name).is_file():
            raise ValueError(f"not an image: no file at {name}")
    if isinstance(image, (bytes, bytearray, memoryview)):
        name, image = "the given bytes", io.BytesIO(bytes(image))
    if name is not None or hasattr(image, "read"):
        try:
            image = Image.open(image)
        except (UnidentifiedImageError, OSError) as exc:
            raise ValueError(f"not an image: {name or 'the given file'} ({exc})") from None
    if isinstance(image, Image.Image):
        try:
            return _pil_to_array(image, work, ImageOps)
        except OSError as exc:  # truncated or broken file data
            raise ValueError(f"not an image: {name or 'the given picture'} ({exc})") from None
    if image is None:
        raise ValueError("not an image: got None (an empty canvas?)")
    try:
        arr = np.asarray(image)
    except Exception as exc:  # noqa: BLE001 - anything numpy cannot hold is not an image
        raise ValueError(f"not an image: {type(image).__name__} ({exc})") from None
    return _shrink(_numpy_to_uint8(arr), work)


def _pil_to_array(img, work: int, ImageOps) -> np.ndarray:
    if img.format == "JPEG" and max(img.size) > 2 * work:
        img.draft("RGB", (work, work))  # decode at 1/2, 1/4 or 1/8 scale: fast on big photos
    try:
        img = ImageOps.exif_transpose(img)
    except Exception:  # noqa: BLE001 - broken EXIF must not reject a usable picture
        pass
    has_alpha = img.mode in ("RGBA", "LA", "PA", "La", "RGBa") or (
        img.mode == "P" and "transparency" in img.info
    )
    if img.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        return _shrink(_numpy_to_uint8(np.asarray(img)), work)
    img = img.convert("RGBA" if has_alpha else ("L" if img.mode in ("1", "L") else "RGB"))
    return _shrink(np.asarray(img), work)


def _numpy_to_uint8(arr: np.ndarray) -> np.ndarray:
    """Numeric array of an image → uint8, channels last, 2 to 4 dims checked."""
    if arr.dtype == object or not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool):
        raise ValueError(f"not an image: array of dtype {arr.dtype}")
    if arr.ndim == 3 and arr.shape[-1] == 1:
        arr = arr[..., 0]
    if arr.ndim == 3 and arr.shape[-1] == 2:  # grey + alpha
        arr = np.concatenate([np.repeat(arr[..., :1], 3, axis=-1), arr[..., 1:]], axis=-1)
    if not (arr.ndim == 2 or (arr.ndim == 3 and arr.shape[-1] in (3, 4))):
        raise ValueError(
            f"not an image: expected shape (H, W), (H, W, 3) or (H, W, 4), got {arr.shape}")
    if min(arr.shape[:2]) < _MIN_SIDE:
        raise ValueError(f"image too small: {arr.shape[1]}x{arr.shape[0]} pixels")
    if arr.dtype == np.uint8:
        return np.ascontiguousarray(arr)
    if arr.dtype == bool:
        return arr.astype(np.uint8) * 255
    if np.issubdtype(arr.dtype, np.floating):
        if not np.all(np.isfinite(arr)):
            raise ValueError("not an image: the array holds NaN or infinite values")
        scale = 255.0 if arr.max(initial=0) <= 1.0 else 1.0
        return np.clip(np.rint(arr * scale), 0, 255).astype(np.uint8)
    top = 65535 if arr.dtype in (np.uint16, np.int32, np.uint32, np.int64) and arr.max() > 255 else 255
    return np.clip(arr.astype(np.float64) * (255.0 / top), 0, 255).astype(np.uint8)


def _shrink(arr: np.ndarray, work: int) -> np.ndarray:
    h, w = arr.shape[:2]
    if max(h, w) <= work:
        return arr
    scale = work / max(h, w)
    return cv2.resize(arr, (max(1, round(w * scale)), max(1, round(h * scale))),
                      interpolation=cv2.INTER_AREA)


def _to_gray(arr: np.ndarray) -> np.ndarray:
    if arr.ndim == 2:
        return arr
    if arr.shape[-1] == 4:
        arr = arr[..., :3]
    return cv2.cvtColor(np.ascontiguousarray(arr), cv2.COLOR_RGB2GRAY)


# ---------------------------------------------------------------------------------------
# ink="auto": alpha, colour, polarity, uneven light → ink-high uint8
# ---------------------------------------------------------------------------------------


def _find_ink(arr: np.ndarray) -> np.ndarray:
    """Any picture of writing → ink-high uint8 of the same size with a flat, zero paper."""
    if arr.ndim == 3 and arr.shape[-1] == 4:
        alpha = arr[..., 3]
        if alpha.min() < 250:  # real transparency
            if alpha.max() < 16:
                raise ValueError("the image is empty: it is fully transparent")
            if np.count_nonzero(alpha < 128) > alpha.size // 2:
                return alpha.copy()  # a drawing layer: whatever is opaque is ink
            rgb = arr[..., :3].astype(np.float32)
            paper = np.median(arr[..., :3][alpha >= 128], axis=0)
            a = alpha[..., None].astype(np.float32) / 255.0
            arr = np.rint(rgb * a + paper * (1 - a)).astype(np.uint8)
        else:
            arr = arr[..., :3]
    candidates = [_to_gray(arr)]
    if arr.ndim == 3:
        spread = arr.max(axis=-1).astype(np.int16) - arr.min(axis=-1)
        if np.percentile(spread, 99) > PREPROCESS_PARAMS["blank_levels"]:  # colour present
            candidates += [arr.min(axis=-1), spread.astype(np.uint8)]
    # Luminance first: JPEG and camera demosaicing keep colour at half resolution, so a
    # colour channel blurs the strokes; it is used only where the grey level barely shows
    # the ink (a yellow pen, a red pen under red light).
    scored = [(channel, *_polarity(_shrink(channel, 256))) for channel in candidates]
    channel, polarity, score = scored[0]
    if score < PREPROCESS_PARAMS["colour_below_snr"]:
        best = max(scored[1:], key=lambda s: s[2], default=None)
        if best is not None and best[2] > 1.5 * score:
            channel, polarity, score = best
    if polarity == 0:
        raise ValueError("the image is empty: no writing stands out from the paper "
                         "(blank, uniform or all-black)")
    return _flatten(channel, dark_ink=polarity < 0)


def _polarity(small: np.ndarray) -> tuple[int, float]:
    """(-1 dark ink, +1 light ink, 0 blank) and an ink-to-noise score of a small channel."""
    k = _odd(PREPROCESS_PARAMS["background_kernel"] * max(small.shape))
    background = cv2.medianBlur(small, k) if k > 1 else small
    diff = small.astype(np.float32) - background
    sigma = 1.4826 * float(np.median(np.abs(diff - np.median(diff)))) + 0.5
    floor = max(PREPROCESS_PARAMS["blank_snr"] * sigma, PREPROCESS_PARAMS["blank_levels"])
    dark = np.clip(-diff - floor, 0, None)
    light = np.clip(diff - floor, 0, None)
    n_dark, n_light = np.count_nonzero(dark), np.count_nonzero(light)
    enough = max(6, small.size // 20000)
    if max(n_dark, n_light) < enough:
        return 0, 0.0
    mass_dark, mass_light = float(dark.sum()), float(light.sum())
    polarity = -1 if mass_dark >= mass_light else 1
    strong = -diff if polarity < 0 else diff
    top = float(np.percentile(strong, 99.7))
    return polarity, max(top, floor) / sigma


def _flatten(channel: np.ndarray, dark_ink: bool) -> np.ndarray:
    """Divide (dark ink) or subtract (light ink) a stroke-free background estimate."""
    g = channel if dark_ink else 255 - channel  # ink dark from here on
    small = _shrink(g, 256)
    k = _odd(PREPROCESS_PARAMS["background_kernel"] * max(small.shape))
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k))
    background = cv2.morphologyEx(small, cv2.MORPH_CLOSE, kernel, borderType=cv2.BORDER_REPLICATE)
    background = cv2.blur(background, (k, k), borderType=cv2.BORDER_REPLICATE)
    if background.shape != g.shape:
        background = cv2.resize(background, (g.shape[1], g.shape[0]),
                                interpolation=cv2.INTER_LINEAR)
    g = g.astype(np.float32)
    background = np.maximum(background.astype(np.float32), g)  # paper can't be darker than ink
    if dark_ink:
        ink = 255.0 * (1.0 - g / np.maximum(background, 1.0))
    else:
        ink = background - g  # undo the flip: light ink over a dark, emissive-like paper
    return np.clip(np.rint(ink), 0, 255).astype(np.uint8)


def _odd(x: float) -> int:
    k = max(1, int(round(x)))
    return k if k % 2 else k + 1


# ---------------------------------------------------------------------------------------
# The shared pipeline (ink-high uint8 → size x size)
# ---------------------------------------------------------------------------------------


def _standardize(ink: np.ndarray, size: int, min_contrast: int) -> np.ndarray:
    """Stretch, blur, Otsu+TOZERO, drop specks, crop, pad square, thicken thin, resize."""
    ink = np.ascontiguousarray(ink)
    luts, problems = _stretch_luts(_histogram(ink)[None], min_contrast)
    if problems[0] is not None:
        raise ValueError(problems[0])
    return _finish(cv2.LUT(ink, luts[0]), size)


def _histogram(image: np.ndarray) -> np.ndarray:
    """int64 (256,) histogram of a contiguous uint8 image (OpenCV's is the fastest here)."""
    return cv2.calcHist([image], [0], None, [256], [0, 256]).ravel().astype(np.int64)


def _stretch_luts(hists: np.ndarray, min_contrast: int) -> tuple[np.ndarray, list]:
    """(N, 256) histograms → (N, 256) uint8 stretch tables, and per image None or the
    reason it is empty (the message ``prepare`` raises).

    Paper level (the median) → 0, the top 0.2% of the levels → 255; when that top is too
    close to the paper (a faint record with little ink) the highest level present is used.
    Works on a whole chunk at once: ``prepare`` passes a single row.
    """
    cum = np.cumsum(hists, axis=1)
    n = cum[:, -1]
    # One np.searchsorted for all rows: row r's cumulative counts are shifted by r * step
    # so the flattened array stays sorted and each search lands in its own row.
    step = np.arange(len(cum), dtype=np.int64) * (int(n.max(initial=0)) + 1)
    flat = (cum + step[:, None]).ravel()
    row_start = np.arange(len(cum), dtype=np.int64) * 256

    def level(counts):  # per row: the first level whose cumulative count reaches ``counts``
        return np.searchsorted(flat, np.maximum(counts, 0) + step) - row_start

    lo = level(n // 2)
    hi = level(n - np.maximum((0.002 * n).astype(np.int64), 3))
    faint = hi - lo < min_contrast
    if faint.any():
        hi = np.where(faint, level(n), hi)  # the top level present
    gap = hi - lo
    # float32 levels, scale rounded to float32 first: the same arithmetic as one image's
    # ``(levels - lo) * (255.0 / (hi - lo))``
    scale = (255.0 / np.maximum(gap, 1)).astype(np.float32)
    luts = np.clip((_LEVELS - lo[:, None].astype(np.float32)) * scale[:, None], 0, 255)
    problems = [None] * len(gap)
    for i in np.flatnonzero(gap < min_contrast):
        problems[i] = ("the image is empty: it has a single level, no ink on it" if gap[i] == 0
                       else f"the image is empty: its ink differs from the paper by only "
                            f"{gap[i]} grey levels")
    return luts.astype(np.uint8), problems


def _finish(img: np.ndarray, size: int) -> np.ndarray:
    """Stretched ink-high image → blur, Otsu+TOZERO, specks, crop, square, floor, resize."""
    p = PREPROCESS_PARAMS
    img = cv2.GaussianBlur(img, (p["blur"], p["blur"]), 0)
    _, img = cv2.threshold(img, 0, 255, cv2.THRESH_TOZERO | cv2.THRESH_OTSU)
    crop = _ink_box(img)  # every ink pixel is in it: the components are the same, found faster
    if crop is None:
        raise ValueError("the image is empty: no ink left after thresholding")
    count, labels = cv2.connectedComponents(crop, connectivity=8, ltype=cv2.CV_16U)
    if count > 2:  # several pieces: drop the specks among them
        areas = np.bincount(labels.ravel(), minlength=count)
        areas[0] = 0  # the paper: only ink pixels count
        small = areas < p["speck_fraction"] * areas.sum()
        if small[1:].any():
            crop = crop.copy()  # a view into img: cleaned on its own
            crop[small[labels]] = 0
            crop = _ink_box(crop)
    h, w = crop.shape
    side = max(h, w)
    pad = int(round(p["margin"] * side / (1 - 2 * p["margin"])))
    full = side + 2 * pad
    top_pad, left_pad = (full - h) // 2, (full - w) // 2
    square = cv2.copyMakeBorder(crop, top_pad, full - h - top_pad, left_pad, full - w - left_pad,
                                cv2.BORDER_CONSTANT, value=0)
    square = _stroke_floor(square, p["min_stroke"] * full)
    interp = cv2.INTER_AREA if full >= size else cv2.INTER_CUBIC
    return cv2.resize(square, (size, size), interpolation=interp)


def _ink_box(img: np.ndarray) -> np.ndarray | None:
    """The view of ``img`` inside its ink's bounding box; None when there is no ink."""
    x0, y0, w, h = cv2.boundingRect(img)
    return img[y0:y0 + h, x0:x0 + w] if w and h else None


def prepare_batch(images, size: int = 64, *, ink: str = "high"
                  ) -> tuple[np.ndarray, list[str | None]]:
    """``prepare(image, size, ink="high")`` for a whole chunk of ETL records at once.

    The converter's hot path: the same steps (``_stretch_luts``, ``_finish``) as
    ``prepare``, so each output is identical to ``prepare``'s, bit for bit. The stretch
    is worked out for the whole chunk in one go; the pixel passes stay per image, because
    OpenCV on one 128x127 record (in cache) beats numpy on a stacked chunk (measured:
    benchmarks/convert.py's module doc).

    Returns ``(out, problems)``: ``out`` uint8 (N, size, size) and ``problems[i]`` None, or
    the message ``prepare`` would raise for image i (a blank record), whose ``out[i]`` is
    all zero. Only ``ink="high"`` is batched: use ``prepare`` for anything else.
    """
    if ink != "high":
        raise ValueError(f"prepare_batch handles ink='high' (ETL records) only, got {ink!r}; "
                         "use prepare() for other pictures")
    size = int(size)
    if size < 8:
        raise ValueError(f"size must be at least 8 pixels, got {size}")
    fast = (isinstance(images, np.ndarray) and images.dtype == np.uint8 and images.ndim == 3
            and min(images.shape[1:]) >= _MIN_SIDE)
    n = len(images)
    out = np.zeros((n, size, size), np.uint8)
    problems: list[str | None] = [None] * n
    if not fast:  # a list of odd arrays: one at a time, same results and messages
        for i, image in enumerate(images):
            try:
                out[i] = prepare(image, size, ink="high")
            except ValueError as exc:
                problems[i] = str(exc)
        return out, problems
    if n == 0:
        return out, problems
    images = np.ascontiguousarray(images)
    hists = np.stack([_histogram(image) for image in images])
    luts, problems = _stretch_luts(hists, min_contrast=1)
    for i, (image, lut) in enumerate(zip(images, luts)):
        if problems[i] is None:
            try:
                out[i] = _finish(cv2.LUT(image, lut), size)
            except ValueError as exc:
                problems[i] = str(exc)
    return out, problems


def _stroke_floor(square: np.ndarray, target: float) -> np.ndarray:
    """Dilate the ink when its strokes are thinner than ``target`` pixels (see module doc)."""
    width = stroke_width(square)
    grow = int(round(target - width))
    if grow < 1:
        return square
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (grow + 1, grow + 1))
    return cv2.dilate(square, kernel)


def stroke_width(image: np.ndarray) -> float:
    """Estimated stroke width in pixels of an ink-high image: 2 x area / boundary pixels.

    A stroke of width w and length L has area w*L and about 2*L boundary pixels.
    """
    image = np.ascontiguousarray(image)
    area = cv2.countNonZero(image)
    inner = cv2.countNonZero(cv2.erode(image, _KERNEL_3x3, borderType=cv2.BORDER_CONSTANT,
                                       borderValue=0))
    return 2.0 * area / max(area - inner, 1)
