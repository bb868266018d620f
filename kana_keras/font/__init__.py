"""Your handwriting as a font: 1-5 drawings of kana → all 146 kana in that hand, as OpenType.

    >>> gen = KanaGenerator.load("weights")
    >>> data = gen.font(["my_a.png", "my_ki.png"], name="My hand")      # .otf bytes
    >>> Path("myhand.otf").write_bytes(data)

    python -m kana_keras.font --style a.png b.png --name "My hand" --out myhand.otf

Steps: each drawing's style (``KanaGenerator.encode_style``, its kana given or recognised),
averaged (more drawings, a steadier hand); every kana written in that style
(``KanaGenerator.write``, which also sets small kana and ー); each cell traced to smooth
outlines (``trace``); the outlines built into a font (``build``).
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np

from kana_keras import kana as kana_mod
from kana_keras.font.build import METRICS, build_font, check_name
from kana_keras.font import trace as tracing

MAX_DRAWINGS = 5
#: Pictures larger than this are refused before decoding (a decompression bomb, a poster).
MAX_PIXELS = 40_000_000
MIN_SIDE = 8
#: Without a kana given, the recognizer must find one at least this likely.
MIN_CONFIDENCE = 0.2
#: Shape-identical pairs drawn once: the katakana uses the hiragana's glyph.
SAME_GLYPH = {k: h for k, h in kana_mod.LOOKALIKES.items() if not kana_mod.is_hiragana(k)}


def _labelled(i: int, drawing) -> str:
    return f"style picture {i + 1}" + (f" ({drawing})" if isinstance(drawing, (str, Path)) else "")


def check_picture(drawing, label: str) -> None:
    """Refuse a picture too small or too large to be a drawing of one kana (cheaply: a file's
    header only), before any decoding."""
    size = None
    if isinstance(drawing, (str, Path, bytes)):
        from PIL import Image, UnidentifiedImageError

        source = io.BytesIO(drawing) if isinstance(drawing, bytes) else drawing
        if not isinstance(drawing, bytes) and not Path(drawing).is_file():
            raise ValueError(f"{label}: no such file")
        try:
            with Image.open(source) as img:
                size = img.size
        except (UnidentifiedImageError, OSError, Image.DecompressionBombError) as exc:
            raise ValueError(f"{label}: not a readable image ({exc})") from None
    elif isinstance(drawing, np.ndarray) and drawing.ndim >= 2:
        size = drawing.shape[1], drawing.shape[0]
    elif hasattr(drawing, "size") and isinstance(getattr(drawing, "size"), tuple):
        size = drawing.size
    if size is None:
        return
    w, h = size
    if min(w, h) < MIN_SIDE:
        raise ValueError(f"{label}: {w}x{h} pixels is too small; draw one kana at least "
                         f"{MIN_SIDE} pixels high and wide")
    if w * h > MAX_PIXELS:
        raise ValueError(f"{label}: {w}x{h} pixels is too large (at most "
                         f"{MAX_PIXELS // 1_000_000} megapixels); crop or shrink it to one kana")


def style_of(gen, drawings, kana=None) -> np.ndarray:
    """The hand of 1-5 drawings: the mean of their ``encode_style`` vectors.

    ``kana``: None (each drawing's kana recognised), or one kana (or None) per drawing.
    Errors name the picture: "style picture 2 (b.png): the image is blank ...".
    """
    return hand_of(gen, drawings, kana)[0]


def hand_of(gen, drawings, kana=None) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """(the mean style of the drawings, each drawn kana → its own drawing's style).

    The kana a user drew are drawn from their own drawing's style (they look as drawn); every
    other kana from the mean (more drawings, a steadier hand).
    """
    drawings = list(drawings) if isinstance(drawings, (list, tuple)) else [drawings]
    if not 1 <= len(drawings) <= MAX_DRAWINGS:
        raise ValueError(f"give 1 to {MAX_DRAWINGS} style pictures, got {len(drawings)}")
    kana = [None] * len(drawings) if kana is None else list(kana)
    if len(kana) != len(drawings):
        raise ValueError(f"--kana: give one kana per style picture ({len(drawings)}), "
                         f"got {len(kana)}")
    styles, own = [], {}
    for i, (drawing, k) in enumerate(zip(drawings, kana)):
        label = _labelled(i, drawing)
        check_picture(drawing, label)
        try:
            if k is None and gen.recognizer is not None:
                k = _recognised(gen, drawing)
            styles.append(gen.encode_style(drawing, kana=k))
        except ValueError as exc:
            raise ValueError(f"{label}: {exc}") from None
        if k is not None:
            own[k] = styles[-1]
    return np.mean(styles, axis=0).astype(np.float32), own


def _recognised(gen, drawing) -> str:
    """The drawing's kana, or a ValueError when it does not look like any kana."""
    (best, p), *_ = gen.recognize(drawing, k=1)
    if p < MIN_CONFIDENCE:
        raise ValueError(f"does not look like a kana (the best guess, {best}, is only "
                         f"{p:.0%} likely); draw one kana, or name it with --kana")
    return best


def draw_glyphs(gen, style: np.ndarray, own=None, check: bool = True) -> dict[str, np.ndarray]:
    """Every character of the font written in ``style`` (a drawn kana in its ``own`` style):
    char → ink-high float (S, S).

    With ``check`` (and a recognizer), each glyph is read back; one read as another kana is
    redrawn with its style shrunk towards the class's centre (``SHRINK``), the first
    legible step kept: a hand the decoder renders badly for one kana does not make that
    kana unreadable. A katakana twin of a hiragana (ヘ of へ) gets the hiragana's drawing.
    """

    # beyond the classes: small kana (written as their large class, scaled down) and ー
    chars = [c for c in gen.classes if c not in SAME_GLYPH] + list(kana_mod.SMALL_KANA) + [
        kana_mod.LONG_VOWEL]
    own = {k: v for k, v in (own or {}).items() if k in chars}
    groups = [(style, [c for c in chars if c not in own])] + [(v, [k]) for k, v in own.items()]
    check = check and gen.recognizer is not None
    glyphs: dict[str, np.ndarray] = {}
    for base, pending in groups:
        for factor in SHRINK if check else SHRINK[:1]:
            drawn = _written(gen, pending, base * factor)
            last = factor == SHRINK[-1] or not check
            kept = drawn if last else _legible(gen, drawn, kana_mod.SMALL_KANA)
            glyphs.update(kept)
            pending = [c for c in pending if c not in kept]
            if not pending:
                break
    return {**glyphs, **{k: glyphs[v] for k, v in SAME_GLYPH.items() if v in glyphs}}


#: Read-back steps: the user's style, then closer and closer to the class's centre.
SHRINK = (1.0, 0.75, 0.5, 0.25, 0.0)


def _written(gen, chars, style) -> dict[str, np.ndarray]:
    """``chars`` in one style through ``KanaGenerator.write``: char → ink-high float cell."""
    page = gen.write("".join(chars), style=np.asarray(style, np.float32))
    s = gen.image_size
    ink = (255.0 - page.astype(np.float32)) / 255.0
    return {c: ink[:, i * s:(i + 1) * s] for i, c in enumerate(chars)}


def _legible(gen, drawn: dict, small: dict) -> dict:
    """The glyphs whose traced outlines ``recognize`` reads as their own kana (a small kana as its large one; ー
    is not a class and always kept)."""
    chars = list(drawn)
    pictures = [tracing.raster(tracing.trace(drawn[c]), gen.image_size) for c in chars]
    read = gen.recognize_batch(pictures, k=1)
    return {c: drawn[c] for c, r in zip(chars, read)
            if c not in gen.classes and c not in small
            or r is not None and kana_mod.same_kana(r[0][0], small.get(c, c))}


def font_of_style(gen, style: np.ndarray, name: str = "My hand", flavor: str = "otf",
                  own=None, check: bool = True) -> bytes:
    """The font's bytes for one style vector (``encode_style``'s kind; zeros: the default
    hand, every class's centre), drawn kana in their ``own`` styles."""
    glyphs = draw_glyphs(gen, style, own, check)
    twins = {k: v for k, v in SAME_GLYPH.items() if k in glyphs}
    return build_font(glyphs, name, flavor, same_glyph=twins)


def make_font(gen, drawings=None, name: str = "My hand", kana=None, seed=None,
              flavor: str = "otf") -> bytes:
    """The font's bytes (``flavor`` "otf": CFF, "ttf": TrueType) in the hand of ``drawings``.

    No drawings: a hand drawn at random from ``seed`` (the hand ``write(seed=...)`` uses).
    """
    check_name(name)
    if drawings is None or (isinstance(drawings, (list, tuple)) and not drawings):
        style, own = _random_style(gen, seed), {}
    else:
        style, own = hand_of(gen, drawings, kana)
    return font_of_style(gen, style, name, flavor, own)


def _random_style(gen, seed) -> np.ndarray:
    return gen.random_style(seed)


def render(font_bytes: bytes, text: str, size: int = 64, cols: int | None = None) -> np.ndarray:
    """``text`` set in the font with Pillow, one em (``size`` px) a cell, ``cols`` cells a row
    (all on one line if None): uint8 black on white."""
    from PIL import Image, ImageDraw, ImageFont

    face = ImageFont.truetype(io.BytesIO(font_bytes), size=size)
    rows = [text[i:i + cols] for i in range(0, len(text), cols)] if cols else [text]
    page = Image.new("L", (size * max(len(r) for r in rows), size * len(rows)), 255)
    draw = ImageDraw.Draw(page)
    baseline = size * METRICS["ascender"] / METRICS["units_per_em"]
    for r, row in enumerate(rows):
        for c, ch in enumerate(row):
            draw.text((c * size, r * size + baseline), ch, font=face, fill=0, anchor="ls")
    return np.asarray(page)


def preview_sheet(font_bytes: bytes, classes, size: int = 48, cols: int = 16) -> np.ndarray:
    """All kana of the font on one sheet, ``cols`` a row (the demo's preview)."""
    return render(font_bytes, "".join(classes), size, cols)
