"""font: tracing, the built font's tables, the command's errors, and (slow, shipped weights)
fonts made from synthetic test-split writers: readable, complete, and in the writer's hand."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageFont

from kana_keras import kana as kana_mod
from kana_keras.metrics import mask_iou, shape_masks
from kana_keras.font import build, trace
from kana_keras.font.writers import unseen_writers
from kana_keras.font.writers import writer_drawings
from kana_keras.font.__main__ import main

ROOT = Path(__file__).resolve().parents[1]
WEIGHTS = ROOT / "weights"


def ring(size=64, outer=24, inner=12) -> np.ndarray:
    """An ink-high float ring: one outer contour and one hole."""
    yy, xx = np.mgrid[:size, :size] - size / 2 + 0.5
    r = np.hypot(yy, xx)
    return ((r <= outer) & (r >= inner)).astype(np.float32)


# === Tracing and building (no model) ===


def test_trace_ring_gives_outer_and_hole_wound_opposite():
    for clockwise_outer in (True, False):
        contours = trace.trace(ring(), clockwise_outer=clockwise_outer)
        assert len(contours) == 2
        areas = sorted((trace.signed_area(c) for c in contours), key=abs)
        hole, outer = areas
        assert (outer < 0) == clockwise_outer and (hole < 0) != clockwise_outer
        # 1000 units per 64 px cell: outer radius 24 px = 375 units, hole 12 px = 187.5
        assert abs(outer) == pytest.approx(np.pi * 375 ** 2, rel=0.08)
        assert abs(hole) == pytest.approx(np.pi * 187.5 ** 2, rel=0.15)


def test_trace_blank_cell_is_empty():
    assert trace.trace(np.zeros((64, 64), np.float32)) == []
    assert trace.trace(np.full((64, 64), 0.05, np.float32)) == []


@pytest.mark.parametrize("flavor", ["otf", "ttf"])
def test_built_font_tables_metrics_names_and_counters(flavor):
    from fontTools.ttLib import TTFont

    glyphs = {"ロ": ring(), "へ": ring(outer=20, inner=0), "ヘ": ring(outer=20, inner=0)}
    data = build.build_font(glyphs, "テスト hand", flavor, same_glyph={"ヘ": "へ"})
    font = TTFont(io.BytesIO(data))
    assert ("CFF " in font) == (flavor == "otf") and ("glyf" in font) == (flavor == "ttf")
    cmap = font.getBestCmap()
    assert cmap[ord("ヘ")] == cmap[ord("へ")] == "uni3078"       # one shape, one glyph
    assert cmap[0x3000] in font["hmtx"].metrics
    assert font["head"].unitsPerEm == 1000
    assert font["hmtx"][cmap[ord("ロ")]][0] == 1000 and font["vmtx"][cmap[ord("ロ")]][0] == 1000
    assert (font["hhea"].ascent, font["hhea"].descent) == (880, -120)
    os2 = font["OS/2"]
    assert (os2.sTypoAscender, os2.sTypoDescender, os2.sTypoLineGap) == (880, -120, 0)
    assert os2.fsSelection & (1 << 7) and os2.ulCodePageRange1 & (1 << 17)
    names = font["name"]
    assert names.getDebugName(1) == "テスト hand"
    assert "KanjiVG" in names.getDebugName(13) and "CC BY-SA 3.0" in names.getDebugName(13)
    assert names.getDebugName(6).isascii() and " " not in names.getDebugName(6)
    # the ring's hole stays open when rasterised: paper at its centre, ink on the band
    face = ImageFont.truetype(io.BytesIO(data), size=200)
    page = Image.new("L", (200, 200), 255)
    from PIL import ImageDraw
    ImageDraw.Draw(page).text((0, 176), "ロ", font=face, fill=0, anchor="ls")
    page = np.asarray(page)
    assert page[100, 100] > 200 and page[100, 100 - 55] < 60


def test_bad_font_names_are_refused():
    for bad in ("", "   ", "x" * 64, "a\nb", None):
        with pytest.raises(ValueError, match="--name"):
            build.check_name(bad)


# === The command's errors: one line, exit 2, no file (before the model loads) ===


@pytest.fixture
def pictures(tmp_path):
    Image.new("L", (1, 1), 255).save(tmp_path / "one.png")
    Image.new("L", (200, 200), 255).save(tmp_path / "blank.png")
    (tmp_path / "junk.png").write_bytes(b"not a picture")
    Image.new("L", (8000, 6000), 255).save(tmp_path / "huge.png")
    return tmp_path


@pytest.mark.parametrize("style, out, message", [
    (["one.png"], "x.otf", "1x1 pixels is too small"),
    (["blank.png"], "x.otf", "blank.png: the image is empty"),
    (["junk.png"], "x.otf", "junk.png: not a readable image"),
    (["huge.png"], "x.otf", "8000x6000 pixels is too large"),
    (["missing.png"], "x.otf", "missing.png: no such file"),
    (["blank.png"] * 6, "x.otf", "--style: at most 5 pictures, got 6"),
    (["one.png"], "x.png", "--out .*x.png: expected a file name ending in .otf or .ttf"),
    (["one.png"], "nofolder/x.otf", "the folder .*nofolder does not exist"),
])
def test_command_refuses_bad_input_in_one_line(pictures, capsys, style, out, message):
    argv = ["--style", *[str(pictures / s) for s in style], "--out", str(pictures / out)]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "\n" not in err
    import re
    assert re.search(message, err), err
    assert not list(pictures.glob("*.otf")) and not list(pictures.glob(".tmp-*"))


def test_command_refuses_mismatched_kana_and_bad_flags(pictures, capsys):
    assert main(["--style", str(pictures / "blank.png"), "--kana", "あ", "い",
                 "--out", str(pictures / "x.otf")]) == 2
    assert "--kana: give one kana per --style picture (1), got 2" in capsys.readouterr().err
    assert main(["--out"]) == 2
    assert capsys.readouterr().err.count("\n") == 1


# === End to end on the shipped weights ===


@pytest.fixture(scope="module")
def gen():
    from kana_keras.inference import KanaGenerator

    return KanaGenerator.load(WEIGHTS)


@pytest.fixture(scope="module")
def fonts(gen):
    """Fonts of 12 test writers, each from 1 to 5 of their drawings (kana recognised)."""
    out = []
    for i, writer in enumerate(unseen_writers(12)):
        chars, drawings = writer_drawings(writer, 1 + i % 5)
        out.append((chars, drawings, gen.font(drawings, name=f"writer {writer}")))
    return out


def cells(data: bytes, text: str, size: int = 64) -> list[np.ndarray]:
    from kana_keras.font import render

    line = render(data, text, size)
    return [line[:, i * size:(i + 1) * size] for i in range(len(text))]


@pytest.mark.slow
def test_font_loads_and_every_kana_renders(gen, fonts):
    from fontTools.ttLib import TTFont

    data = fonts[0][2]
    font = TTFont(io.BytesIO(data))
    cmap = font.getBestCmap()
    assert all(ord(c) in cmap for c in kana_mod.ALL_KANA + "ゃっョー")
    from kana_keras.inference import SMALL_KANA

    # .notdef, the kana less 3 katakana twins drawn by their hiragana, small kana, ー, 2 spaces
    assert font["maxp"].numGlyphs == 1 + 143 + len(SMALL_KANA) + 1 + 2
    blank = [c for c, cell in zip(gen.classes, cells(data, "".join(gen.classes)))
             if (cell < 128).sum() < 20]
    assert not blank, f"kana rendered blank: {''.join(blank)}"


@pytest.mark.slow
def test_rendered_glyphs_are_read_as_their_kana(gen, fonts):
    """Each of the 146 kana, rendered with Pillow from three writers' fonts, read by
    ``recognize``: >= 95 % right, look-alike pairs (へ/ヘ) counted right."""
    right, wrong = {c: 0 for c in gen.classes}, []
    for _, _, data in fonts[:3]:
        for c, (read,) in zip(gen.classes, (r or [("?", 0)] for r in
                                             gen.recognize_batch(cells(data, "".join(gen.classes))))):
            if kana_mod.same_kana(read[0], c):
                right[c] += 1
            else:
                wrong.append(f"{c}→{read[0]}")
    share = sum(right.values()) / (3 * len(gen.classes))
    print(f"\nread right: {share:.1%}; misread: {' '.join(wrong)}")
    assert share >= 0.95, f"{share:.1%} read right; misread: {' '.join(wrong)}"


@pytest.mark.slow
def test_font_keeps_the_writers_style(gen, fonts):
    """Each drawn kana, rendered from the writer's font at the drawing's size, is closer to
    the drawing (IoU of prepared shapes) than the default hand's (style eps 0) version."""
    from kana_keras.font import font_of_style

    default = font_of_style(gen, np.zeros(gen.latent_dim, np.float32), "default")
    closer = []
    for chars, drawings, data in fonts:
        shown = shape_masks(np.stack([gen.prepare(d) for d in drawings]), gen.image_size)
        mine = shape_masks(255 - np.stack(cells(data, "".join(chars))), gen.image_size)
        theirs = shape_masks(255 - np.stack(cells(default, "".join(chars))), gen.image_size)
        closer += list(mask_iou(shown, mine) > mask_iou(shown, theirs))
    share = float(np.mean(closer))
    print(f"\nstyle kept: {share:.1%} of {len(closer)} drawings")
    assert share >= 0.9


@pytest.mark.slow
def test_api_refuses_bad_pictures(gen):
    with pytest.raises(ValueError, match="style picture 2: the image is empty"):
        gen.font([writer_drawings(unseen_writers(1)[0], 1)[1][0], np.full((64, 64), 255, np.uint8)])
    with pytest.raises(ValueError, match="give 1 to 5 style pictures, got 6"):
        gen.font([np.zeros((64, 64), np.uint8)] * 6)
    with pytest.raises(ValueError, match="style picture 1: 1x1 pixels"):
        gen.font([np.zeros((1, 1), np.uint8)])
    noise = np.random.default_rng(0).integers(0, 256, (64, 64)).astype(np.uint8)
    with pytest.raises(ValueError, match="style picture 1: "):
        gen.font([noise])


@pytest.mark.slow
def test_command_writes_a_font(tmp_path):
    chars, drawings = writer_drawings(unseen_writers(1)[0], 2)
    paths = []
    for i, d in enumerate(drawings):
        Image.fromarray(d).save(tmp_path / f"{i}.png")
        paths.append(str(tmp_path / f"{i}.png"))
    out = tmp_path / "hand.ttf"
    result = subprocess.run([sys.executable, "-m", "kana_keras.font", "--style", *paths,
                             "--kana", chars[0], "-", "--name", "Hand", "--out", str(out),
                             "--weights", str(WEIGHTS)], capture_output=True, text=True,
                            cwd=ROOT)
    assert result.returncode == 0, result.stderr
    assert "wrote" in result.stdout
    assert ImageFont.truetype(str(out), 32).getname() == ("Hand", "Regular")
