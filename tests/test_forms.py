"""forms: shipped fonts and their licences, glyphs, and font writers (synth's hand)."""

from __future__ import annotations

import tomllib
from fnmatch import fnmatch
from pathlib import Path

import numpy as np
import pytest

from kana_keras import forms, kana, synth

ROOT = Path(__file__).resolve().parents[1]


def test_every_font_ships_with_its_licence_and_a_credit():
    credits = (forms.FONT_DIR / "README.md").read_text(encoding="utf-8")
    for font in forms.FONTS:
        assert font.path.is_file(), font.file
        assert font.path.stat().st_size < 80_000, f"{font.file}: not subset to the kana?"
        assert (forms.FONT_DIR / "licenses" / font.licence_file).is_file(), font.licence_file
        assert f"| {font.name} | {font.file} |" in credits, font.name
    assert len({f.name for f in forms.FONTS}) == len(forms.FONTS)


def test_pyproject_ships_the_font_files():
    data = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    patterns = data["tool"]["setuptools"]["package-data"]["kana_keras"]
    shipped = [p.relative_to(ROOT / "kana_keras").as_posix()
               for p in forms.FONT_DIR.rglob("*") if p.is_file()]
    for path in shipped:
        assert any(fnmatch(path, pat) for pat in patterns), f"{path} would not be installed"


def test_held_out_fonts_are_a_few_and_never_in_training():
    assert 2 <= len(forms.HELDOUT_FONTS) <= len(forms.FONTS) // 3
    assert not set(forms.HELDOUT_FONTS) & set(forms.TRAIN_FONTS)
    chosen = {synth.writer_font(synth.writer_rng(0, w)) for w in range(400)}
    assert None in chosen
    assert not chosen & set(forms.HELDOUT_FONTS)
    assert len(chosen - {None}) >= len(forms.TRAIN_FONTS) - 2   # nearly every training font used


@pytest.mark.parametrize("font", [f.name for f in forms.FONTS])
def test_every_font_draws_every_kana(font):
    shapes = [forms.glyph(font, c).shape for c in kana.ALL_KANA]
    assert all(h > 3 and w > 3 for h, w in shapes)


def test_fonts_draw_different_forms():
    def small(font):
        g = forms.glyph(font, "き")
        return np.asarray(__import__("cv2").resize(g, (24, 24))) > 0.5

    a, b = small("klee"), small("yomogi")
    assert (a != b).mean() > 0.05


def test_unknown_font_is_named():
    with pytest.raises(ValueError, match="unknown font 'comic'"):
        forms.font_named("comic")


def test_reweight_makes_strokes_thinner_or_thicker_without_losing_any():
    import cv2

    g = forms.glyph("maruberi", "ツ")
    width = forms.stroke_width(g)
    thin = forms._reweight(g, width / 3)
    thick = forms._reweight(g, width * 2)
    assert forms.stroke_width(thin) < 0.75 * width
    assert forms.stroke_width(thick) > 1.4 * width

    def parts(img):
        return cv2.connectedComponents((img > 0.5).astype(np.uint8))[0] - 1

    assert parts(thin) == parts(g) == 3


def test_font_sample_is_an_etl8g_picture_inside_its_box():
    rng = synth.writer_rng(3, 1)
    style = synth.WriterStyle.random(rng)
    img = synth.render_font_sample("ね", "klee", style, rng)
    assert img.shape == (127, 128) and img.dtype == np.uint8
    assert img.max() > 90
    ink = img > 60
    assert not ink[0].any() and not ink[-1].any() and not ink[:, 0].any() and not ink[:, -1].any()


def test_font_samples_are_deterministic_and_vary_per_sample():
    style = synth.WriterStyle.random(np.random.default_rng(0))
    a = synth.render_font_sample("あ", "seto", style, np.random.default_rng(1))
    b = synth.render_font_sample("あ", "seto", style, np.random.default_rng(1))
    c = synth.render_font_sample("あ", "seto", style, np.random.default_rng(2))
    assert np.array_equal(a, b) and not np.array_equal(a, c)


def test_a_thick_pen_never_fills_a_loop():
    g = forms.glyph("yusei", "ぽ")                    # a bold font: a marker would fill ゜
    assert forms.holes(forms._reweight(g, 3 * forms.stroke_width(g))) < forms.holes(g)
    assert forms.holes(forms.weighted(g, 3 * forms.stroke_width(g))) >= forms.holes(g)


@pytest.mark.parametrize("font,char", [("maruberi", "ぱ"), ("cedar", "ぽ"), ("dejima", "ぴ"),
                                       ("konatu", "プ")])
def test_a_thin_pen_keeps_every_stroke_and_the_handakuten(font, char):
    import cv2

    g = forms.glyph(font, char)
    thin = forms._reweight(g, 1.0)
    parts = [cv2.connectedComponents((img > 0.5).astype(np.uint8))[0] for img in (g, thin)]
    assert parts[1] == parts[0], f"{font} {char}: a stroke vanished"
    assert forms.holes(thin) >= forms.holes(g) - 0     # ゜ keeps its hole
