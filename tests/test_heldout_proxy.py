"""proxies: the held-out pictures that fail like real handwriting, and their scoring."""

from __future__ import annotations

import math

import cv2
import numpy as np
import pytest

from kana_keras import heldout, kanjivg, proxies, synth
from kana_keras import kana as kana_mod


def test_each_set_is_deterministic_and_holds_its_classes():
    for name, (classes, _) in proxies.PROXY_SETS.items():
        pictures, truth = proxies.proxy_set(name, seed=3, scale=0.01)
        assert truth == list(classes), name
        again, _ = proxies.proxy_set(name, seed=3, scale=0.01)
        other, _ = proxies.proxy_set(name, seed=4, scale=0.01)
        as_array = [np.asarray(p if not isinstance(p, bytes) else np.frombuffer(p, np.uint8))
                    for p in (pictures[0], again[0], other[0])]
        assert np.array_equal(as_array[0], as_array[1]), name
        assert as_array[0].shape != as_array[2].shape or not np.array_equal(as_array[0], as_array[2])


def test_the_scan_sets_have_the_real_sources_formats():
    one_bit, _ = proxies.proxy_set("etl8b_1bit", scale=0.01)
    assert one_bit[0].shape == (63, 64) and set(np.unique(np.stack(one_bit)).tolist()) <= {0, 255}
    four_bit, _ = proxies.proxy_set("etl1_4bit", scale=0.01)
    levels = np.stack(four_bit)
    assert levels.shape[1:] == (63, 64) and not (levels % 17).any()
    assert np.median(levels) >= 2 * 17, "the background should be grey, not black"
    crops, _ = proxies.proxy_set("thin_white_jpeg", scale=0.01)
    crop = cv2.imdecode(np.frombuffer(crops[0], np.uint8), cv2.IMREAD_GRAYSCALE)
    assert crop.shape == (83, 84) and np.median(crop) < 40 and crop.max() > 150   # white on black
    canvases, _ = proxies.proxy_set("canvas_margin", scale=0.01)
    for rgb in canvases[:20]:
        ys, xs = np.nonzero(rgb[..., 0] < 128)
        ink_side = max(np.ptp(ys), np.ptp(xs))
        assert rgb.ndim == 3 and max(rgb.shape[:2]) >= 160 and ink_side < 0.5 * max(rgb.shape[:2])


def _angle(stroke):
    v = stroke[-1] - stroke[0]
    return math.degrees(math.atan2(v[1], v[0]))


def test_dash_habits_lie_outside_the_synthetic_writers_range():
    # synthetic writers turn ツ's dashes at most to 88 degrees (synth.habits._DASH_ANGLE)
    base = [np.asarray(s, np.float64) for s in kanjivg.strokes("ツ", 1.0)]
    for i in range(20):
        tsu = proxies._upright_dashes("ツ", base, np.random.default_rng(i))
        assert _angle(tsu[0]) > synth.habits._DASH_ANGLE["ツ"]
        assert np.array_equal(tsu[2], base[2])                       # the sweep is untouched
        apart = np.hypot(*(tsu[1].mean(0) - tsu[0].mean(0)))
        assert apart < 0.56 * np.hypot(*(base[1].mean(0) - base[0].mean(0)))


def test_hiragana_twins_lose_their_telling_stroke_but_keep_their_stroke_count():
    base = [np.asarray(s, np.float64) for s in kanjivg.strokes("か", 1.0)]
    ka = proxies._like_twin("か", base, np.random.default_rng(0))
    assert len(ka) == 3
    assert np.ptp(ka[2], axis=0).max() < 0.75 * np.ptp(base[2], axis=0).max()


class _Canned:
    """A stand-in generator: right on some pictures, wrong or refusing on the others."""

    def __init__(self, answer):
        self.answer = answer

    def recognize_batch(self, pictures, k=1):
        return [self.answer(i) for i in range(len(pictures))]


def test_accuracy_counts_right_answers_and_refusals_as_wrong():
    classes = proxies.PROXY_SETS["dash_kana"][0]
    n = len(classes)
    # picture i is kana classes[i % n]: right on even pictures, refused on odd ones
    gen = _Canned(lambda i: [(classes[i % n], 0.9)] if i % 2 == 0 else None)
    result = proxies.proxy_accuracy(gen, scale=2 / 24, sets=["dash_kana"])
    assert result["sets"]["dash_kana"] == {"accuracy": pytest.approx(0.5), "count": 2 * n}
    assert result["mean"] == pytest.approx(0.5) and result["pooled"] == pytest.approx(0.5)
    assert sum(result["confusions"].values()) == n and all(k.endswith("∅") for k in result["confusions"])
    # へ read as ヘ is right (one shape)
    he = _Canned(lambda i: [("ヘ", 0.9)])
    twins = proxies.proxy_accuracy(he, scale=1 / 14, sets=["twins"])
    assert twins["sets"]["twins"]["accuracy"] == pytest.approx(2 / len(proxies.PROXY_SETS["twins"][0]))


def test_unknown_set_is_named():
    with pytest.raises(ValueError, match="unknown proxy set 'nope'"):
        proxies.proxy_set("nope")


def test_cli_names_a_missing_folder_and_a_bad_scale(tmp_path, capsys):
    assert heldout.main(["--weights", str(tmp_path / "nowhere")]) == 2
    assert "--weights" in capsys.readouterr().err
    assert heldout.main(["--weights", str(tmp_path), "--scale", "0"]) == 2
    assert "--scale must be above 0" in capsys.readouterr().err
    assert heldout.main(["--weights", str(tmp_path), "--recognizer", str(tmp_path / "no")]) == 2
    assert "--recognizer" in capsys.readouterr().err


def test_the_proxy_classes_are_kana_the_model_knows():
    for classes, _ in proxies.PROXY_SETS.values():
        assert set(classes) <= set(kana_mod.ALL_KANA)
