"""Letter forms KanjiVG does not have: handwriting-style fonts, written by synthetic writers.

KanjiVG gives one textbook skeleton per kana. Real people write allographs: き and さ with
their lower strokes joined, cursive ね, ぬ, め, る, round or angular ゆ, and each of the
18 fonts below draws its kana its own way. A *font writer* takes one font for all its
kana and puts it through the same hand as the stroke writers of ``synth``: stroke weight
matched to its pen (thin even ballpoint lines to marker blobs), slant, aspect, rotation,
its own fixed proportions, an elastic warp per sample, size and place in the box, blur,
ink, grain and noise.

Some fonts are **held out** (``HELDOUT``): never drawn into the training set, they are the
proxy for letter forms nobody showed the recognizer (``heldout_forms_set``,
``heldout_forms_accuracy``). The font files are subsets to the project's kana, shipped
with their licences in ``assets/fonts/`` (see its README); ``tools/subset_fonts.py`` made
them.

``synth`` imports this module for its font writers; this module borrows ``synth``'s hand
(``WriterStyle``, ``finish_ink``) on use, as ``photos`` does.

    python -m kana_keras.forms --weights weights      # the proxy for a trained recognizer

## Setup
"""

from __future__ import annotations

import dataclasses
import functools
import math
from pathlib import Path

import cv2
import numpy as np

from kana_keras import kana as kana_mod

FONT_DIR = Path(__file__).resolve().parent / "assets" / "fonts"

_RENDER_EM = 192            # glyph raster size (pixels per em) before the writer's hand
_HELD = True


@dataclasses.dataclass(frozen=True)
class Font:
    """One shipped font: where it came from, under which licence, and whether it is held out."""

    name: str               # short key, used in sources and reports
    file: str               # subset file in assets/fonts/
    family: str
    author: str
    licence: str            # SPDX-like identifier
    licence_file: str       # in assets/fonts/licenses/
    source: str             # where the original came from
    style: str              # "hand" (handwriting-like) or "text" (printed)
    held_out: bool = False

    @property
    def path(self) -> Path:
        return FONT_DIR / self.file


_DEB = "Debian bookworm package "
_NPM = "npm @fontsource/"
# fmt: off
FONTS = (
    Font("klee",        "KleeOne-Regular.ttf",  "Klee One", "Fontworks", "OFL-1.1",
         "fonts-klee.copyright.txt", _DEB + "fonts-klee", "hand"),
    Font("klee-bold",   "KleeOne-SemiBold.ttf", "Klee One SemiBold", "Fontworks", "OFL-1.1",
         "fonts-klee.copyright.txt", _DEB + "fonts-klee", "hand"),
    Font("seto",        "setofont.ttf",         "Seto Font", "Nozomi Seto", "OFL-1.1",
         "fonts-seto.copyright.txt", _DEB + "fonts-seto", "hand"),
    Font("kiloji",      "kiloji.ttf",           "Kiloji", "kilo", "BSD-3-Clause",
         "fonts-kiloji.copyright.txt", _DEB + "fonts-kiloji", "hand"),
    Font("yoz-antique", "YOzRA_.ttf",           "YOzFont (antique kana)", "Y.Oz", "OFL-1.1",
         "fonts-yozvox-yozfont-antique.copyright.txt", _DEB + "fonts-yozvox-yozfont-antique", "hand"),
    Font("yoz-cute",    "YOzRC_.ttf",           "YOzFont (cute kana)", "Y.Oz", "OFL-1.1",
         "fonts-yozvox-yozfont-cute.copyright.txt", _DEB + "fonts-yozvox-yozfont-cute", "hand"),
    Font("yoz-new",     "YOzRN_.ttf",           "YOzFont (new kana)", "Y.Oz", "OFL-1.1",
         "fonts-yozvox-yozfont-new-kana.copyright.txt", _DEB + "fonts-yozvox-yozfont-new-kana", "hand"),
    Font("yusei",       "YuseiMagic-Regular.ttf", "Yusei Magic", "Tanukizamurai", "OFL-1.1",
         "YuseiMagic.LICENSE.txt", _NPM + "yusei-magic", "hand"),
    Font("hachimaru",   "HachiMaruPop-Regular.ttf", "Hachi Maru Pop", "Nonty", "OFL-1.1",
         "HachiMaruPop.LICENSE.txt", _NPM + "hachi-maru-pop", "hand"),
    Font("konatu",      "Konatu.ttf",           "Konatu", "Mitiya Masuda", "MIT",
         "fonts-konatu.copyright.txt", _DEB + "fonts-konatu", "text"),
    Font("maruberi",    "MTLmr3m.ttf",          "Motoya L Maruberi", "Motoya", "Apache-2.0",
         "fonts-motoya-l-maruberi.copyright.txt", _DEB + "fonts-motoya-l-maruberi", "text"),
    Font("cedar",       "MTLc3m.ttf",           "Motoya L Cedar", "Motoya", "Apache-2.0",
         "fonts-motoya-l-cedar.copyright.txt", _DEB + "fonts-motoya-l-cedar", "text"),
    Font("dejima",      "dejima-mincho-r227.ttf", "Dejima Mincho", "Yoshiki Hayashi", "MIT",
         "fonts-dejima-mincho.copyright.txt", _DEB + "fonts-dejima-mincho", "text"),
    # held out: the proxy for forms the training set never contained
    Font("yomogi",      "Yomogi-Regular.ttf",   "Yomogi", "Satsuyako", "OFL-1.1",
         "Yomogi.LICENSE.txt", _NPM + "yomogi", "hand", _HELD),
    Font("kurenaido",   "ZenKurenaido-Regular.ttf", "Zen Kurenaido", "Yoshimichi Ohira", "OFL-1.1",
         "ZenKurenaido.LICENSE.txt", _NPM + "zen-kurenaido", "hand", _HELD),
    Font("yoz-edu",     "YOzRE_.ttf",           "YOzFont (educational kana)", "Y.Oz", "OFL-1.1",
         "fonts-yozvox-yozfont-edu.copyright.txt", _DEB + "fonts-yozvox-yozfont-edu", "hand", _HELD),
)
# fmt: on
TRAIN_FONTS = tuple(f for f in FONTS if not f.held_out)
HELDOUT_FONTS = tuple(f for f in FONTS if f.held_out)
FONTS_BY_NAME = {f.name: f for f in FONTS}


def font_named(name: str) -> Font:
    if name not in FONTS_BY_NAME:
        raise ValueError(f"unknown font {name!r}: expected one of {', '.join(FONTS_BY_NAME)}")
    return FONTS_BY_NAME[name]


# ## One glyph, as the font draws it


@functools.lru_cache(maxsize=4096)
def glyph(font_name: str, char: str) -> np.ndarray:
    """The font's ``char``, cropped to its ink: float32 (h, w) in [0, 1], ink high.

    Cached: a writer draws each of its kana once, but the proxy and previews ask again.
    """
    from PIL import Image, ImageDraw, ImageFont

    font = font_named(font_name)
    if not font.path.is_file():
        raise FileNotFoundError(f"{font.path}: missing font file (reinstall kana-keras)")
    face = ImageFont.truetype(str(font.path), _RENDER_EM)
    side = 2 * _RENDER_EM
    image = Image.new("L", (side, side), 0)
    ImageDraw.Draw(image).text((_RENDER_EM // 2, _RENDER_EM // 2), char, font=face, fill=255)
    ink = np.asarray(image, np.float32) / 255.0
    ys, xs = np.nonzero(ink > 0.1)
    if not len(ys):
        raise ValueError(f"font {font_name!r} has no glyph for {char!r}")
    out = ink[ys.min():ys.max() + 1, xs.min():xs.max() + 1]
    out.setflags(write=False)
    return out


def stroke_width(ink: np.ndarray) -> float:
    """Typical stroke width in pixels: twice the mean distance to paper inside the ink.

    For a band of width w the distances are spread evenly over [0, w/2], so their mean
    is w/4.
    """
    mask = (ink > 0.5).astype(np.uint8)
    if not mask.any():
        return 0.0
    dist = cv2.distanceTransform(np.pad(mask, 1), cv2.DIST_L2, 5)[1:-1, 1:-1]
    return float(4.0 * dist[mask > 0].mean())


def _reweight(ink: np.ndarray, target: float) -> np.ndarray:
    """The glyph redrawn with strokes ``target`` pixels wide: eroded or dilated by distance.

    Thinning works stroke by stroke: each keeps at least 40 % of its own width and its
    centre line, so a Mincho hairline or a thin ゜ never disappears (ぱ must not become は).
    """
    mask = (ink > 0.5).astype(np.uint8)
    width = stroke_width(ink)
    if width <= 0:
        return ink
    delta = (target - width) / 2.0
    if delta < 0:
        inside = cv2.distanceTransform(np.pad(mask, 1), cv2.DIST_L2, 5)[1:-1, 1:-1]
        r = max(1, int(round(width / 4)))
        # the half-width of the stroke a pixel belongs to: the ridge value nearby
        local = cv2.dilate(inside, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1,) * 2))
        out = np.clip(inside - np.minimum(-delta, 0.6 * local), 0.0, 1.0)   # paper stays paper
        out = np.maximum(out, ((inside > 0) & (inside >= local - 0.5)).astype(np.float32))
    else:
        outside = cv2.distanceTransform(np.pad(1 - mask, 1, constant_values=1), cv2.DIST_L2, 5)[1:-1, 1:-1]
        out = np.clip(delta + 0.5 - outside, 0.0, 1.0)
        out = np.maximum(out, mask.astype(np.float32))
    return out.astype(np.float32)


def holes(ink: np.ndarray) -> int:
    """How many closed loops the ink has (゜, the loops of あ ね ぬ め る)."""
    mask = (ink > 0.5).astype(np.uint8)
    _, hierarchy = cv2.findContours(mask, cv2.RETR_CCOMP, cv2.CHAIN_APPROX_SIMPLE)
    return 0 if hierarchy is None else int((hierarchy[0][:, 3] >= 0).sum())


def _weighted(src: np.ndarray, target: float) -> np.ndarray:
    """``_reweight``, but a thick pen never fills a loop: a ゜ without its hole reads as ゛.

    The pen thins (at worst to the font's own weight) until every loop of the glyph is open.
    """
    loops, native = holes(src), stroke_width(src)
    out = _reweight(src, target)
    while target > native and holes(out) < loops:
        target = max(native, 0.75 * target)
        out = _reweight(src, target)
    return out


# ## The writer's hand over a glyph


def _hand_maps(style, rng: np.random.Generator, h: int, w: int, fit: float):
    """cv2.remap maps from the output canvas (h, w) back into a glyph of side ``fit`` px.

    The glyph sits at the writer's place and size; the writer's slant, aspect and rotation,
    its fixed proportions (``style.hand``) and this sample's elastic warp act around it.
    """
    from kana_keras.synth import _rotation

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


def render_font_sample(char: str, font: Font | str, style, rng: np.random.Generator,
                       size: int = 128) -> np.ndarray:
    """``char`` in ``font`` as ``style``'s writer writes it: uint8 (size*127//128, size), ink high.

    The same picture contract as ``synth.render_sample``, so both kinds of writer fill the
    same ETL8G records.
    """
    from kana_keras import synth

    font = font_named(font) if isinstance(font, str) else font
    if size < 16:
        raise ValueError(f"size must be at least 16 pixels, got {size}")
    width, height = size, size * 127 // 128
    src = glyph(font.name, char)
    ss = 2                      # the glyph raster is antialiased already: 2x is enough
    target = size * style.size * math.exp(rng.normal(0, 0.06))
    fit = min(target, 0.94 * height)
    # The glyph raster scaled so its longer side is one unit; stroke weight set in it.
    longest = max(src.shape)
    pen_px = max(1.1 * size / 128, style.pen_width * fit * math.exp(rng.normal(0, 0.06)))
    weighted = _weighted(src, pen_px * longest / fit)
    pad = int(0.3 * longest)
    weighted = np.pad(weighted, pad)
    gx, gy = _hand_maps(style, rng, height * ss, width * ss, fit * ss)
    mx = (gx * longest + weighted.shape[1] / 2).astype(np.float32)
    my = (gy * longest + weighted.shape[0] / 2).astype(np.float32)
    big = cv2.remap(weighted, mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    ink = cv2.resize(big, (width, height), interpolation=cv2.INTER_AREA)
    return synth.finish_ink(_keep_inside(ink, 2 + int(pen_px)), style, rng, size)


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


# ## The held-out-forms proxy


def heldout_forms_set(classes=None, per_class: int = 4, seed: int = 0, size: int = 64,
                      fonts=None) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Kana in the held-out fonts, written by fresh synthetic writers, then prepared.

    Returns (images uint8 (N, size, size) ink-high, as ``preprocess.prepare`` makes them;
    labels int (N,) indices into ``classes``; source font name per image). Writers are
    seeded apart from any training writer, ``per_class`` of them per class, cycling through
    the held-out fonts.
    """
    from kana_keras import preprocess, synth

    classes = list(kana_mod.ALL_KANA if classes is None else classes)
    fonts = [font_named(f) if isinstance(f, str) else f for f in (fonts or HELDOUT_FONTS)]
    if per_class < 1:
        raise ValueError(f"per_class must be >= 1, got {per_class}")
    images, labels, sources = [], [], []
    for i in range(per_class):
        rng = np.random.default_rng([int(seed), 7_000_001, i])
        style = synth.WriterStyle.random(rng)
        font = fonts[i % len(fonts)]
        for label, char in enumerate(classes):
            raw = render_font_sample(char, font, style, rng)
            images.append(preprocess.prepare(raw, size=size, ink="high"))
            labels.append(label)
            sources.append(font.name)
    return np.stack(images), np.asarray(labels, np.int64), sources


def heldout_forms_accuracy(recognizer, per_class: int = 6, seed: int = 0, fonts=None) -> dict:
    """Top-1 accuracy of ``recognizer`` on the held-out forms: overall, per font, per class.

    へ/ヘ-like pairs of one shape count as right (as in the recognizer's own metrics).
    """
    classes = list(recognizer.classes)
    x, y, sources = heldout_forms_set(classes, per_class, seed, recognizer.image_size, fonts)
    predicted = recognizer.predict(x)
    right = np.array([kana_mod.same_kana(classes[p], classes[t]) for p, t in zip(predicted, y)])
    sources = np.asarray(sources)
    per_class_acc = {c: float(right[y == i].mean()) for i, c in enumerate(classes) if (y == i).any()}
    confusions: dict[str, int] = {}
    for p, t, ok in zip(predicted, y, right):
        if not ok:
            key = f"{classes[t]}→{classes[p]}"
            confusions[key] = confusions.get(key, 0) + 1
    return {"accuracy": float(right.mean()), "count": int(len(y)),
            "per_source": {s: float(right[sources == s].mean()) for s in dict.fromkeys(sources)},
            "per_class": per_class_acc,
            "worst_classes": sorted(per_class_acc, key=per_class_acc.get)[:10],
            "confusions": dict(sorted(confusions.items(), key=lambda kv: -kv[1])[:15]),
            "fonts": [f.name if isinstance(f, Font) else f for f in (fonts or HELDOUT_FONTS)],
            "seed": int(seed), "per_class_writers": int(per_class)}


# ## Command line


def main(argv=None) -> int:
    """``python -m kana_keras.forms --weights weights``: the held-out-forms proxy as JSON."""
    import argparse
    import json

    parser = argparse.ArgumentParser(prog="python -m kana_keras.forms",
                                     description="Accuracy of a trained recognizer on held-out letter forms.")
    parser.add_argument("--weights", default="weights", help="folder with recognizer.* (weights)")
    parser.add_argument("--per-class", type=int, default=6, help="writers per class (6)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    from kana_keras.recognizer import load_recognizer

    try:
        recognizer = load_recognizer(args.weights)
        result = heldout_forms_accuracy(recognizer, per_class=args.per_class, seed=args.seed)
    except (FileNotFoundError, ValueError) as err:
        parser.error(str(err))
    shown = {k: v for k, v in result.items() if k != "per_class"}
    print(json.dumps(shown, indent=2, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
