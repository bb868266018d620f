"""photos: realistic inputs are deterministic, varied, and still readable after prepare."""

from __future__ import annotations

import numpy as np
import pytest

from kana_keras import photos, preprocess


def test_realistic_set_is_deterministic_by_seed():
    a = photos.realistic_set("あい", per_class=5, seed=3, long_side=160)
    b = photos.realistic_set("あい", per_class=5, seed=3, long_side=160)
    c = photos.realistic_set("あい", per_class=5, seed=4, long_side=160)
    assert len(a) == 10 and a.labels == list("あああああいいいいい")
    assert all(x.shape == y.shape and np.array_equal(x, y) for x, y in zip(a.images, b.images))
    assert any(x.shape != y.shape or not np.array_equal(x, y) for x, y in zip(a.images, c.images))


def test_every_kind_looks_like_its_source():
    rs = photos.realistic_set("ぬ", per_class=len(photos.KINDS), seed=0, long_side=200)
    assert rs.kinds == list(photos.KINDS)
    by_kind = dict(zip(rs.kinds, rs.images))
    photo = by_kind["photo"]
    assert photo.ndim == 3 and photo.shape[-1] == 3 and photo.dtype == np.uint8
    layer = by_kind["canvas"]
    assert layer.shape[-1] == 4
    assert layer[..., 3].min() == 0 and layer[0, 0].tolist() == [0, 0, 0, 0]  # transparent
    assert np.median(by_kind["canvas_dark"]) < 80          # dark-mode grey background
    assert np.median(by_kind["inverted"]) < 80             # light strokes on black
    assert np.median(by_kind["scan"]) > 180                # white paper


def test_prepare_finds_the_kana_in_every_kind():
    """After prepare, a simulated input overlaps the clean glyph's prepared image."""
    rng = np.random.default_rng(0)
    glyph = photos.stroke_glyph("こ", rng, size=128, thickness=6)
    clean = preprocess.prepare((glyph * 255).astype(np.uint8), 32, ink="high") > 0
    for kind in photos.KINDS:
        shot = photos.simulate(glyph, np.random.default_rng(1), kind, long_side=256)
        seen = preprocess.prepare(shot, 32, ink="auto") > 0
        iou = (seen & clean).sum() / (seen | clean).sum()
        assert iou > 0.25, (kind, iou)


def test_photographs_are_phone_sized_by_default():
    rng = np.random.default_rng(0)
    glyph = photos.stroke_glyph("あ", rng, size=128)
    shot = photos.photograph(glyph, rng)
    assert max(shot.shape[:2]) >= 800


def test_bad_kind_and_empty_glyph_are_named():
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="kind must be one of"):
        photos.simulate(np.ones((8, 8)), rng, kind="polaroid")
    with pytest.raises(ValueError, match="no ink"):
        photos.photograph(np.zeros((32, 32)), rng, long_side=100)
