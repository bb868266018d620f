"""KanjiVG strokes: every class has them, in the 109-unit box, in writing order."""

from __future__ import annotations

import numpy as np
import pytest

from kana_keras import kanjivg
from kana_keras.kana import ALL_KANA


def test_every_class_has_strokes_inside_the_box():
    for char in ALL_KANA:
        strokes = kanjivg.strokes(char)
        assert strokes, char
        for stroke in strokes:
            assert stroke.dtype == np.float32 and stroke.ndim == 2 and stroke.shape[1] == 2
            assert len(stroke) >= 4
            assert stroke.min() >= 0 and stroke.max() <= kanjivg.KANJIVG_BOX, char


def test_stroke_counts_of_known_kana():
    assert [len(kanjivg.strokes(c)) for c in "くいあけ"] == [1, 2, 3, 3]
    assert len(kanjivg.stroke_paths("ぱ")) == len(kanjivg.stroke_paths("は")) + 1  # the ゜


def test_strokes_are_shared_read_only_and_finer_on_request():
    first = kanjivg.strokes("あ")
    with pytest.raises(ValueError):
        first[0][0, 0] = 0.0   # cached: a caller must not change everyone's copy
    assert len(kanjivg.strokes("あ", points_per_unit=2.0)[0]) > len(first[0])


def test_characters_without_strokes():
    assert not kanjivg.has_strokes("\u0001") and not kanjivg.has_strokes("あい")
    with pytest.raises(ValueError, match="expected one character, got 'あい'"):
        kanjivg.svg_path("あい")
    with pytest.raises(KeyError, match="U\\+0001"):
        kanjivg.strokes("\u0001")
