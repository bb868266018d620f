"""Letter forms KanjiVG does not have: handwriting-style fonts, written by synthetic writers.

KanjiVG gives one textbook skeleton per kana. Real people write allographs: き and さ with
their lower strokes joined, cursive ね, ぬ, め, る, round or angular ゆ, and each of the
18 fonts below draws its kana its own way. A *font writer* takes one font for all its
kana and puts it through the same hand as the stroke writers of ``synth``: stroke weight
matched to its pen (thin even ballpoint lines to marker blobs), slant, aspect, rotation,
its own fixed proportions, an elastic warp per sample, size and place in the box, blur,
ink, grain and noise.

Some fonts are **held out** (``HELDOUT_FONTS``): never drawn into the training set, they are
the proxy for letter forms nobody showed the recognizer (``kana_keras.heldout``). The font
files are subsets to the project's kana, shipped with their licences in ``assets/fonts/``
(see its README); ``tools/subset_fonts.py`` made them.

This module holds the fonts as data and draws one clean glyph; ``synth`` puts the glyph
through a writer's hand (``synth.render_font_sample``).

## Setup
"""

from __future__ import annotations

import dataclasses
import functools
from pathlib import Path

import cv2
import numpy as np


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


def weighted(src: np.ndarray, target: float) -> np.ndarray:
    """``_reweight``, but a thick pen never fills a loop: a ゜ without its hole reads as ゛.

    The pen thins (at worst to the font's own weight) until every loop of the glyph is open.
    """
    loops, native = holes(src), stroke_width(src)
    out = _reweight(src, target)
    while target > native and holes(out) < loops:
        target = max(native, 0.75 * target)
        out = _reweight(src, target)
    return out
