"""Pictures of handwriting the way people really hand them over.

Nobody uploads an ETL record: they photograph a note with a phone, scan a page, or draw on
a web canvas. This module turns clean kana into such inputs, deterministically by seed, so
the recognizer can train on them (next to its plain augmentation) and ``evaluate`` can
report an accuracy on something that looks like the real thing:

- ``photo``: ink on paper under a phone camera: paper texture, uneven light, vignette, a
  soft shadow, colour cast, blue/black/red/pencil ink, thick or thin pens, the character
  off-centre with wide margins, perspective tilt, blur, sensor noise, JPEG, large frames.
- ``scan``: a flatbed scan: even light, slight skew, sometimes 1-bit, sometimes greyscale.
- ``canvas``: a web-canvas drawing as a Gradio ``Sketchpad`` layer: thin anti-aliased
  strokes on a transparent RGBA background (RGB of the background is 0, so flattening
  without the alpha gives black on black).
- ``canvas_dark``: the same drawing composited on the dark-mode grey background.
- ``inverted``: white chalk-like strokes on a black board.

Canvas drawings are drawn from KanjiVG centre-lines with their own hand (a wobbling mouse
pen), not with the synthetic writers, so the evaluation set is not only the training
generator in disguise. Nothing here reads ETL images.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import cv2
import numpy as np

from kana_keras import kana as kana_mod
from kana_keras import kanjivg

KINDS = ("photo", "scan", "canvas", "canvas_dark", "inverted")

#: Seeds of the evaluation set's writers are offset so they never meet the training writers.
EVAL_WRITER_SEED_OFFSET = 1_000_003

# ink colours (RGB) a person writes with
_INKS = {
    "black": (25, 25, 30),
    "blue": (25, 45, 150),
    "dark_blue": (20, 30, 90),
    "red": (170, 30, 35),
    "pencil": (95, 95, 100),
    "green": (20, 100, 50),
}
_INK_WEIGHTS = {"black": 0.4, "blue": 0.25, "dark_blue": 0.1, "red": 0.08, "pencil": 0.12,
                "green": 0.05}

#: Gradio's dark-mode canvas background and a few other dark greys people composite on.
_DARK_GREYS = ((39, 39, 42), (31, 41, 55), (24, 24, 27), (55, 55, 60))


# ---------------------------------------------------------------- helpers


def _as_ink(image) -> np.ndarray:
    """uint8/float ink-high (H, W) → float32 in [0, 1]."""
    arr = np.asarray(image)
    if arr.ndim == 3 and arr.shape[-1] == 1:
        arr = arr[..., 0]
    if arr.ndim != 2:
        raise ValueError(f"expected an ink-high (H, W) image, got shape {arr.shape}")
    arr = arr.astype(np.float32)
    return arr / 255.0 if arr.max(initial=0) > 1.0 else arr


def _smooth_field(rng: np.random.Generator, shape, cells: int = 4) -> np.ndarray:
    """Low-frequency noise in [-1, 1]: paper fibres, uneven light."""
    h, w = shape
    small = rng.uniform(-1, 1, (cells, cells)).astype(np.float32)
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC).clip(-1, 1)


def _thickness(ink: np.ndarray, rng: np.random.Generator, low=-2, high=3) -> np.ndarray:
    """A thinner or thicker pen: erode or dilate the ink by a few pixels."""
    k = int(rng.integers(low, high + 1))
    if k == 0:
        return ink
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * abs(k) + 1,) * 2)
    out = cv2.dilate(ink, kernel) if k > 0 else cv2.erode(ink, kernel)
    # never erode a character away completely
    return out if out.max(initial=0) > 0.3 else ink


def _place(ink: np.ndarray, rng: np.random.Generator, canvas_hw, fill=(0.25, 0.7),
           centre_jitter=0.25) -> np.ndarray:
    """Put a glyph on a larger canvas, scaled to a share of it and off-centre."""
    H, W = canvas_hw
    ys, xs = np.nonzero(ink > 0.1)
    if len(ys) == 0:
        raise ValueError("the glyph to place holds no ink")
    crop = ink[ys.min():ys.max() + 1, xs.min():xs.max() + 1]
    target = rng.uniform(*fill) * min(H, W)
    scale = target / max(crop.shape)
    h = max(2, int(round(crop.shape[0] * scale)))
    w = max(2, int(round(crop.shape[1] * scale)))
    glyph = cv2.resize(crop, (w, h), interpolation=cv2.INTER_CUBIC if scale > 1
                       else cv2.INTER_AREA).clip(0, 1)
    cy = H / 2 + rng.uniform(-centre_jitter, centre_jitter) * (H - h)
    cx = W / 2 + rng.uniform(-centre_jitter, centre_jitter) * (W - w)
    y0 = int(np.clip(cy - h / 2, 0, H - h))
    x0 = int(np.clip(cx - w / 2, 0, W - w))
    out = np.zeros((H, W), np.float32)
    out[y0:y0 + h, x0:x0 + w] = glyph
    return out


def _perspective(img: np.ndarray, rng: np.random.Generator, amount: float) -> np.ndarray:
    """A phone held slightly askew: move each corner by up to ``amount`` of the side."""
    h, w = img.shape[:2]
    src = np.float32([[0, 0], [w, 0], [w, h], [0, h]])
    jitter = rng.uniform(-amount, amount, (4, 2)) * np.float32([w, h])
    dst = (src + jitter).astype(np.float32)
    m = cv2.getPerspectiveTransform(src, dst)
    return cv2.warpPerspective(img, m, (w, h), flags=cv2.INTER_LINEAR,
                               borderMode=cv2.BORDER_REPLICATE)


def _jpeg(img: np.ndarray, quality: int) -> np.ndarray:
    ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    if not ok:  # pragma: no cover - cv2 always encodes uint8 images
        return img
    flag = cv2.IMREAD_COLOR if img.ndim == 3 else cv2.IMREAD_GRAYSCALE
    return cv2.imdecode(buf, flag)


def _pick_ink(rng: np.random.Generator) -> np.ndarray:
    names = list(_INK_WEIGHTS)
    p = np.array([_INK_WEIGHTS[n] for n in names])
    name = names[int(rng.choice(len(names), p=p / p.sum()))]
    col = np.float32(_INKS[name]) + rng.normal(0, 8, 3)
    return np.clip(col, 0, 255).astype(np.float32)


# ---------------------------------------------------------------- simulators


def photograph(ink, rng: np.random.Generator, long_side: int | None = None) -> np.ndarray:
    """Ink on paper under a phone camera → uint8 RGB (H, W, 3), dark ink on light paper."""
    ink = _thickness(_as_ink(ink), rng, -1, 3)
    long_side = long_side or int(rng.integers(800, 2400))
    aspect = rng.uniform(0.65, 1.0)
    H, W = (long_side, int(long_side * aspect)) if rng.random() < 0.5 else \
        (int(long_side * aspect), long_side)
    mask = _place(ink, rng, (H, W), fill=(0.2, 0.75))
    # a slightly soft pen edge at camera resolution
    mask = cv2.GaussianBlur(mask, (0, 0), max(0.5, long_side / 1200))
    opacity = rng.uniform(0.65, 1.0)
    alpha = (mask * opacity)[..., None]

    # paper: off-white, fibres, maybe faint ruled lines
    paper_col = np.float32([rng.uniform(215, 250)] * 3) + rng.normal(0, 6, 3)
    paper = np.ones((H, W, 3), np.float32) * paper_col
    paper += (_smooth_field(rng, (H, W), 16) * rng.uniform(2, 8))[..., None]
    if rng.random() < 0.15:
        spacing = int(rng.uniform(0.25, 0.5) * min(H, W))
        offset = int(rng.integers(0, spacing))
        line_col = np.float32([150, 170, 210])
        strength = rng.uniform(0.15, 0.35)
        for y in range(offset, H, spacing):
            y1 = min(H, y + max(1, long_side // 600))
            paper[y:y1] = paper[y:y1] * (1 - strength) + line_col * strength
    img = paper * (1 - alpha) + _pick_ink(rng) * alpha

    # light: gradient, vignette, a soft shadow, colour cast
    yy, xx = np.mgrid[0:H, 0:W].astype(np.float32)
    yy, xx = yy / H - 0.5, xx / W - 0.5
    theta = rng.uniform(0, 2 * np.pi)
    light = 1.0 + rng.uniform(0.0, 0.35) * (np.cos(theta) * xx + np.sin(theta) * yy)
    light -= rng.uniform(0.0, 0.6) * (xx ** 2 + yy ** 2)
    if rng.random() < 0.6:  # the phone's or the hand's shadow
        phi = rng.uniform(0, 2 * np.pi)
        d = np.cos(phi) * xx + np.sin(phi) * yy - rng.uniform(-0.1, 0.4)
        soft = rng.uniform(0.03, 0.2)
        light *= 1.0 - rng.uniform(0.2, 0.5) * (1 / (1 + np.exp(-d / soft)))
    light += _smooth_field(rng, (H, W), 3) * rng.uniform(0.0, 0.06)
    cast = np.float32([rng.uniform(0.85, 1.05), rng.uniform(0.9, 1.03), rng.uniform(0.8, 1.05)])
    img = img * light[..., None] * cast * rng.uniform(0.75, 1.1)

    img = np.clip(img, 0, 255).astype(np.uint8)
    img = _perspective(img, rng, rng.uniform(0.0, 0.06))  # the paper goes on past the frame
    blur = rng.uniform(0.0, 1.5) * long_side / 1000
    if blur > 0.3:
        img = cv2.GaussianBlur(img, (0, 0), blur)
    noise = rng.normal(0, rng.uniform(1.5, 7.0), img.shape)
    img = np.clip(img.astype(np.float32) + noise, 0, 255).astype(np.uint8)
    return _jpeg(img, int(rng.integers(40, 92)))


def scan(ink, rng: np.random.Generator, long_side: int | None = None) -> np.ndarray:
    """A flatbed scan: even light, slight skew; grey, RGB, or 1-bit."""
    ink = _thickness(_as_ink(ink), rng, -1, 2)
    long_side = long_side or int(rng.integers(300, 1200))
    H, W = long_side, int(long_side * rng.uniform(0.7, 1.0))
    mask = _place(ink, rng, (H, W), fill=(0.3, 0.8), centre_jitter=0.3)
    angle = rng.uniform(-4, 4)
    m = cv2.getRotationMatrix2D((W / 2, H / 2), angle, 1.0)
    mask = cv2.warpAffine(mask, m, (W, H), flags=cv2.INTER_LINEAR)
    paper = rng.uniform(235, 255)
    ink_col = _pick_ink(rng) if rng.random() < 0.5 else np.float32([20, 20, 20])
    alpha = (mask * rng.uniform(0.75, 1.0))[..., None]
    img = paper * (1 - alpha) + ink_col * alpha
    img += rng.normal(0, rng.uniform(0.5, 3.0), img.shape)
    img = np.clip(img, 0, 255).astype(np.uint8)
    style = rng.random()
    if style < 0.2:  # 1-bit fax-like scan
        grey = cv2.cvtColor(img, cv2.COLOR_RGB2GRAY)
        return np.where(grey < 160, 0, 255).astype(np.uint8)
    if style < 0.55:
        return _jpeg(cv2.cvtColor(img, cv2.COLOR_RGB2GRAY), int(rng.integers(60, 95)))
    return _jpeg(img, int(rng.integers(60, 95)))


def stroke_glyph(char: str, rng: np.random.Generator, size: int = 512,
                 thickness: float | None = None) -> np.ndarray:
    """A mouse/finger drawing of ``char`` from KanjiVG centre-lines: float32 ink (size, size).

    Its own hand, not the synthetic writers': an affine lean of the whole character, each
    stroke nudged and wobbling, ends a little short or long, a round brush of one width.
    """
    thickness = thickness if thickness is not None else rng.uniform(0.008, 0.035) * size
    scale = size / kanjivg.KANJIVG_BOX * rng.uniform(0.55, 0.85)
    shear = rng.uniform(-0.2, 0.2)
    aspect = rng.uniform(0.85, 1.15)
    rot = np.deg2rad(rng.uniform(-8, 8))
    a = np.float32([[np.cos(rot), -np.sin(rot)], [np.sin(rot), np.cos(rot)]]) @ \
        np.float32([[aspect, shear], [0, 1 / aspect]])
    canvas = np.zeros((size, size), np.uint8)
    centre = np.float32([kanjivg.KANJIVG_BOX / 2] * 2)
    for stroke in kanjivg.strokes(char, points_per_unit=1.0):
        pts = (stroke - centre) @ a.T
        pts += rng.normal(0, 1.8, 2)                          # the stroke lands a bit off
        n = len(pts)
        t = np.linspace(0, 1, n)[:, None]
        wobble = np.sin(t * np.pi * rng.uniform(1, 3) + rng.uniform(0, 6)) * rng.normal(0, 0.9, 2)
        pts = pts + wobble
        cut0 = int(rng.integers(0, max(1, n // 12)))
        cut1 = n - int(rng.integers(0, max(1, n // 12)))
        pts = pts[cut0:max(cut1, cut0 + 2)]
        pix = (pts * scale + size / 2) * 16
        cv2.polylines(canvas, [np.rint(pix).astype(np.int32)], False, 255,
                      max(1, int(round(thickness))), cv2.LINE_AA, shift=4)
    return canvas.astype(np.float32) / 255.0


def canvas_layer(ink, rng: np.random.Generator, size: int | None = None) -> np.ndarray:
    """A Gradio Sketchpad drawing layer: RGBA, brush colour with alpha, background (0,0,0,0)."""
    ink = _as_ink(ink)
    size = size or int(rng.integers(300, 800))
    mask = _place(ink, rng, (size, size), fill=(0.35, 0.85), centre_jitter=0.35)
    colour = np.float32([0, 0, 0]) if rng.random() < 0.7 else _pick_ink(rng)
    rgba = np.zeros((size, size, 4), np.uint8)
    rgba[..., :3] = (colour * (mask > 0)[..., None]).astype(np.uint8)
    rgba[..., 3] = np.clip(mask * 255, 0, 255).astype(np.uint8)
    return rgba


def canvas_dark(ink, rng: np.random.Generator, size: int | None = None) -> np.ndarray:
    """The same drawing flattened onto a dark-mode grey canvas with a light brush (RGB)."""
    layer = canvas_layer(ink, rng, size)
    alpha = layer[..., 3:4].astype(np.float32) / 255.0
    bg = np.float32(_DARK_GREYS[int(rng.integers(len(_DARK_GREYS)))])
    brush = np.float32([rng.uniform(200, 255)] * 3) if rng.random() < 0.8 else \
        np.float32([250, 220, 120])
    out = bg * (1 - alpha) + brush * alpha
    return np.clip(out, 0, 255).astype(np.uint8)


def inverted(ink, rng: np.random.Generator, long_side: int | None = None) -> np.ndarray:
    """White strokes on black (a blackboard, or an inverted screenshot), greyscale."""
    ink = _thickness(_as_ink(ink), rng, 0, 2)
    long_side = long_side or int(rng.integers(200, 900))
    mask = _place(ink, rng, (long_side, long_side), fill=(0.3, 0.8))
    bg = rng.uniform(0, 50)
    fg = rng.uniform(190, 255)
    img = bg + (fg - bg) * mask + _smooth_field(rng, mask.shape, 6) * rng.uniform(0, 12)
    img += rng.normal(0, rng.uniform(0, 5), img.shape)
    img = np.clip(img, 0, 255).astype(np.uint8)
    return _jpeg(img, int(rng.integers(50, 95))) if rng.random() < 0.5 else img


SIMULATORS = {
    "photo": photograph,
    "scan": scan,
    "canvas": canvas_layer,
    "canvas_dark": canvas_dark,
    "inverted": inverted,
}


def simulate(ink, rng: np.random.Generator, kind: str | None = None,
             long_side: int | None = None) -> np.ndarray:
    """One realistic rendering of an ink-high glyph (a random kind unless ``kind`` is given)."""
    if kind is None:
        kind = KINDS[int(rng.integers(len(KINDS)))]
    try:
        fn = SIMULATORS[kind]
    except KeyError:
        raise ValueError(f"kind must be one of {list(KINDS)}, got {kind!r}") from None
    if long_side is None:
        return fn(ink, rng)
    if kind in ("canvas", "canvas_dark"):
        return fn(ink, rng, size=long_side)
    return fn(ink, rng, long_side=long_side)


# ---------------------------------------------------------------- the evaluation set


@dataclass
class RealisticSet:
    """Images as people hand them over, with their kana and the kind of input."""

    images: list = field(default_factory=list)   # uint8 arrays: (H,W), (H,W,3) or (H,W,4)
    labels: list = field(default_factory=list)   # kana characters
    kinds: list = field(default_factory=list)    # one of KINDS

    def __len__(self) -> int:
        return len(self.images)


def realistic_set(classes: Sequence[str] | None = None, per_class: int = 2, seed: int = 0,
                  kinds: Sequence[str] = KINDS, long_side: int | None = None) -> RealisticSet:
    """``per_class`` realistic inputs of each kana, from writers no training run has seen.

    Photos, scans and white-on-black use ``synth.render_sample`` with writer styles drawn
    from seeds offset by ``EVAL_WRITER_SEED_OFFSET``; canvas drawings use ``stroke_glyph``.
    ``long_side`` caps the frame size (tests use small frames; the default is phone-sized).
    Deterministic for a given seed.
    """
    from kana_keras import synth  # synthetic writers live upstream; import on use

    classes = list(classes) if classes is not None else kana_mod.kana_classes("all")
    for k in kinds:
        if k not in SIMULATORS:
            raise ValueError(f"kind must be one of {list(KINDS)}, got {k!r}")
    out = RealisticSet()
    for i, char in enumerate(classes):
        for j in range(per_class):
            rng = np.random.default_rng([EVAL_WRITER_SEED_OFFSET + seed, i, j])
            kind = kinds[(i * per_class + j) % len(kinds)]
            if kind in ("canvas", "canvas_dark"):
                glyph = stroke_glyph(char, rng, size=256)
            else:
                style = synth.WriterStyle.random(rng)
                glyph = _as_ink(synth.render_sample(char, style, rng, size=128))
            side = None
            if long_side is not None:
                side = int(min(long_side, rng.integers(max(64, long_side // 2), long_side + 1)))
            out.images.append(simulate(glyph, rng, kind, long_side=side))
            out.labels.append(char)
            out.kinds.append(kind)
    return out
