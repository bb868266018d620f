"""Outlines to an OpenType font: fontTools' FontBuilder with full-width CJK metrics.

Metrics (``METRICS``) are those of a Japanese body face: 1000 units per em, every glyph 1000
wide (and 1000 high when set vertically), the em box from -120 to 880 so the kana sit on the
same baseline as other Japanese text (the ideographic em box bottom is 120 below the
baseline in most Japanese fonts). ``.otf`` gets CFF (cubic) outlines, ``.ttf`` TrueType
(quadratic) ones; both come from the same traced quadratic splines.
"""

from __future__ import annotations

import io
import re

import numpy as np
from fontTools.fontBuilder import FontBuilder
from fontTools.pens.boundsPen import BoundsPen
from fontTools.pens.t2CharStringPen import T2CharStringPen
from fontTools.pens.ttGlyphPen import TTGlyphPen

from kana_keras import __version__
from kana_keras.font.trace import draw_contours, trace

# fmt: off
METRICS = {
    "units_per_em": 1000,
    "advance": 1000,          # full width, horizontal and vertical
    "ascender": 880,          # top of the em box
    "descender": -120,        # bottom of the em box: the ideographic baseline offset
    "space": 500,             # U+0020; U+3000 is full width
}
OS2_HIRAGANA, OS2_KATAKANA, OS2_CJK_SYMBOLS = 49, 50, 48   # ulUnicodeRange bits
OS2_CODEPAGE_JAPAN = 17                                    # ulCodePageRange1 bit: JIS/Japan
USE_TYPO_METRICS = 1 << 7                                  # fsSelection bit 7
# fmt: on

LICENSE = ("A kana-keras synthetic handwriting font: each glyph was drawn by a conditional "
           "variational autoencoder (kana-keras {version}) in a style estimated from the "
           "user's drawings, then traced to outlines. The model's weights were trained on "
           "synthetic data derived from KanjiVG stroke data (CC BY-SA 3.0, Ulrich Apel and "
           "contributors); this font is licensed under CC BY-SA 3.0.")
LICENSE_URL = "https://creativecommons.org/licenses/by-sa/3.0/"
MAX_NAME = 63


def check_name(name) -> str:
    """The font's name as given, or a ValueError saying what a name may be."""
    if not isinstance(name, str) or not name.strip():
        raise ValueError(f"--name must be a non-empty font name, got {name!r}")
    if len(name) > MAX_NAME or any(ord(c) < 32 for c in name):
        raise ValueError(f"--name must be at most {MAX_NAME} printable characters, got "
                         f"{name!r}")
    return name.strip()


def glyph_name(char: str) -> str:
    return "space" if char == " " else f"uni{ord(char):04X}"


def postscript_name(name: str) -> str:
    """An ASCII PostScript name (no spaces, at most 63 characters) for any user's name."""
    ascii_part = re.sub(r"[^A-Za-z0-9-]", "", name.replace(" ", ""))
    if not ascii_part:
        ascii_part = "U" + "".join(f"{ord(c):X}" for c in name)[:40]
    return f"KanaKeras-{ascii_part}"[:MAX_NAME - 8] + "-Regular"


def build_font(glyphs: dict[str, np.ndarray], name: str, flavor: str = "otf",
               same_glyph: dict[str, str] | None = None) -> bytes:
    """A font of ``glyphs`` (char → ink-high float cell (S, S), the em box) named ``name``.

    ``same_glyph`` maps characters drawn by another one's glyph (ヘ → へ): one shape, one
    glyph, so the pair always looks alike. ``flavor``: "otf" (CFF) or "ttf" (glyf).
    """
    if flavor not in ("otf", "ttf"):
        raise ValueError(f"flavor must be 'otf' or 'ttf', got {flavor!r}")
    name, ttf, m = check_name(name), flavor == "ttf", METRICS
    same_glyph = same_glyph or {}
    contours = {glyph_name(c): trace(ink, m["units_per_em"], m["ascender"], clockwise_outer=ttf)
                for c, ink in glyphs.items() if c not in same_glyph}
    contours[glyph_name(" ")] = contours[glyph_name("\u3000")] = []
    order = [".notdef"] + list(contours)
    widths = {g: m["advance"] for g in order}
    widths["space"] = m["space"]
    cmap = {ord(c): glyph_name(same_glyph.get(c, c)) for c in [*glyphs, " ", "\u3000"]}

    fb = FontBuilder(m["units_per_em"], isTTF=ttf)
    fb.setupGlyphOrder(order)
    fb.setupCharacterMap(cmap)
    pens = {g: _drawn(g, contours.get(g), widths[g], ttf) for g in order}
    if ttf:
        fb.setupGlyf(pens)
    else:
        latin = name if name.isascii() else postscript_name(name)  # CFF strings are Latin-1
        fb.setupCFF(postscript_name(name), {"FullName": latin, "FamilyName": latin}, pens, {})
    bounds = _bounds(contours, order)
    fb.setupHorizontalMetrics({g: (widths[g], bounds[g][0]) for g in order})
    fb.setupHorizontalHeader(ascent=m["ascender"], descent=m["descender"], lineGap=0)
    fb.setupVerticalMetrics({g: (m["advance"], m["ascender"] - bounds[g][3]) for g in order})
    fb.setupVerticalHeader(ascent=m["advance"] // 2, descent=-m["advance"] // 2, lineGap=0)
    fb.setupNameTable(_names(name), mac=False)
    fb.setupOS2(**_os2(bounds))
    fb.setupPost(keepGlyphNames=ttf)
    out = io.BytesIO()
    fb.save(out)
    return out.getvalue()


def _drawn(glyph: str, contours, width: int, ttf: bool):
    """One glyph's outline object: a box for .notdef, the traced contours otherwise."""
    pen = TTGlyphPen(None) if ttf else T2CharStringPen(width, None)
    if glyph == ".notdef":
        _notdef(pen, ttf)
    else:
        draw_contours(pen, contours or [])
    return pen.glyph() if ttf else pen.getCharString()


def _notdef(pen, ttf: bool) -> None:
    """The missing-glyph box, outer edge and counter wound for the format."""
    outer = [(100, -80), (100, 840), (900, 840), (900, -80)]      # clockwise
    inner = [(160, -20), (840, -20), (840, 780), (160, 780)]      # counter-clockwise
    for box in (outer, inner) if ttf else (outer[::-1], inner[::-1]):
        pen.moveTo(box[0])
        for p in box[1:]:
            pen.lineTo(p)
        pen.closePath()


def _bounds(contours: dict, order) -> dict[str, tuple[int, int, int, int]]:
    """(xMin, yMin, xMax, yMax) of each glyph's curves; zeros for an empty one."""
    out = {}
    for g in order:
        pen = BoundsPen(None)
        if g == ".notdef":
            _notdef(pen, True)
        else:
            draw_contours(pen, contours.get(g) or [])
        out[g] = tuple(int(round(v)) for v in pen.bounds) if pen.bounds else (0, 0, 0, 0)
    return out


def _names(name: str) -> dict:
    return {"familyName": name, "styleName": "Regular", "fullName": name,
            "uniqueFontIdentifier": f"kana-keras {__version__}: {name}",
            "psName": postscript_name(name), "version": "Version 1.000",
            "manufacturer": "kana-keras", "designer": f"{name} (drawn by kana-keras)",
            "description": "Handwritten kana drawn by the kana-keras VAE in the user's style.",
            "licenseDescription": LICENSE.format(version=__version__),
            "licenseInfoURL": LICENSE_URL}


def _os2(bounds) -> dict:
    """OS/2: typo metrics = the em box (and used), win metrics cover every glyph's ink."""
    m = METRICS
    y_max = max([m["ascender"]] + [b[3] for b in bounds.values()])
    y_min = min([m["descender"]] + [b[1] for b in bounds.values()])
    return {"version": 4, "sTypoAscender": m["ascender"], "sTypoDescender": m["descender"],
            "sTypoLineGap": 0, "usWinAscent": y_max, "usWinDescent": -y_min,
            "fsSelection": USE_TYPO_METRICS | 1 << 6,        # bit 6: REGULAR
            "xAvgCharWidth": m["advance"], "achVendID": "KANA",
            "ulUnicodeRange2": (1 << (OS2_HIRAGANA - 32)) | (1 << (OS2_KATAKANA - 32))
            | (1 << (OS2_CJK_SYMBOLS - 32)),
            "ulCodePageRange1": 1 << OS2_CODEPAGE_JAPAN, "sxHeight": 500,
            "sCapHeight": 700, "usDefaultChar": 0, "usBreakChar": 32}
