"""metrics: each number evaluate reports, pinned on constructed images and known cases."""

from __future__ import annotations

import numpy as np
import pytest

from kana_keras import metrics as M


def test_perfect_reconstruction_scores_zero():
    rng = np.random.default_rng(0)
    x = rng.random((5, 8, 8, 1))
    zero = np.zeros((5, 3))
    m = M.per_image_losses(x, x, x, zero, zero)
    assert m["reconstruction_mse"] == 0 and m["reconstruction_loss"] == 0
    assert m["kl_loss"] == 0 and m["loss"] == 0
    # one pixel off by 1 in one image of five: loss 1/5 per image; KL of N(1, 1) is 0.5 per dim
    y = x.copy()
    y[0, 0, 0, 0] += 1.0
    m = M.per_image_losses(x, y, y, np.ones((5, 3)), zero, beta=2.0)
    assert m["reconstruction_loss"] == pytest.approx(0.2)
    assert m["reconstruction_mse"] == pytest.approx(1 / (5 * 64))
    assert m["kl_loss"] == pytest.approx(1.5)
    assert m["loss"] == pytest.approx(0.2 + 2 * 1.5)


def test_kl_to_a_class_prior_matches_the_training_loss():
    import keras

    from kana_keras.model import vae_loss

    rng = np.random.default_rng(0)
    x = rng.random((4, 8, 8, 1)).astype(np.float32)
    zm, zlv, pm = (rng.standard_normal((4, 3)).astype(np.float32) for _ in range(3))
    plv = rng.uniform(-2, 2, (4, 3)).astype(np.float32)
    m = M.per_image_losses(x, x, x, zm, zlv, 1.0, pm, plv)
    want = float(keras.ops.convert_to_numpy(vae_loss(x, x, zm, zlv, 1.0, pm, plv)[2]))
    assert m["kl_loss"] == pytest.approx(want, rel=1e-5)
    same = M.per_image_losses(x, x, x, zm, zlv, 1.0, zm, zlv)
    assert same["kl_loss"] == pytest.approx(0, abs=1e-9)
    # N(1, 1) against the prior N(0, 4): 0.5 * (log 4 - 1 + 2 / 4) per dimension
    one, zero = np.ones((5, 3)), np.zeros((5, 3))
    m = M.per_image_losses(x[:1].repeat(5, 0), x[:1].repeat(5, 0), x[:1].repeat(5, 0), one, zero,
                           prior_mean=zero, prior_log_var=np.full((5, 3), np.log(4.0)))
    assert m["kl_loss"] == pytest.approx(3 * 0.5 * (np.log(4.0) - 0.5))


def test_judge_accuracy_with_a_fake_recognizer():
    classes = ["あ", "い", "へ", "ヘ"]
    images = np.zeros((6, 4, 4))
    targets = np.array([0, 0, 1, 1, 2, 3])
    answers = np.array([0, 1, 1, 1, 3, 2])     # one wrong; へ/ヘ swapped count as right
    m = M.judge_accuracy(lambda imgs: answers[:len(imgs)], images, targets, classes)
    assert m["accuracy"] == pytest.approx(5 / 6)
    assert m["per_class"] == {"あ": 0.5, "い": 1.0, "へ": 1.0, "ヘ": 1.0}
    assert m["count"] == 6


def test_mean_pairwise_distance_on_known_points():
    pts = np.array([[0.0, 0.0], [3.0, 4.0]])
    assert M.mean_pairwise_distance(pts) == pytest.approx(5.0)
    tri = np.array([[0.0, 0.0], [3.0, 4.0], [6.0, 8.0]])
    assert M.mean_pairwise_distance(tri) == pytest.approx((5 + 10 + 5) / 3)
    assert M.mean_pairwise_distance(pts[:1]) == 0.0


def test_diversity_of_a_constant_generator_is_zero_and_of_real_data_one():
    rng = np.random.default_rng(0)
    real = rng.random((40, 8, 8))
    labels = np.repeat(np.arange(4), 10)
    constant = np.repeat(real[:1], 40, axis=0)
    assert M.diversity_ratio(constant, labels, real, labels)["ratio"] == pytest.approx(0.0, abs=1e-6)
    same = M.diversity_ratio(real, labels, real, labels)
    assert same["ratio"] == pytest.approx(1.0) and len(same["per_class"]) == 4
    noisy = M.diversity_ratio(real * 3, labels, real, labels)["ratio"]
    assert noisy == pytest.approx(3.0)


def test_frechet_distance_of_a_set_with_itself_is_zero():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(500, 6))
    a -= a.mean(axis=0)
    assert M.frechet_distance(a, a) == pytest.approx(0.0, abs=1e-6)
    shifted = a + np.array([2.0, 0, 0, 0, 0, 0])
    assert M.frechet_distance(a, shifted) == pytest.approx(4.0, rel=1e-6)  # |mu shift|^2
    scaled = a * 2.0    # same mean; trace term: sum (s_a - s_b)^2 over eigenvalues
    w = np.linalg.eigvalsh(np.cov(a, rowvar=False))
    assert M.frechet_distance(a, scaled) == pytest.approx(float(((np.sqrt(w) - 2 * np.sqrt(w)) ** 2).sum()), rel=1e-4)


def test_judge_view_cleans_haze_and_keeps_empty_images_empty():
    haze = np.full((2, 16, 16), 0.1, np.float32)
    haze[0, 4:12, 7:9] = 0.8                      # a soft stroke on a grey haze
    seen = M.judge_view(haze, 32)
    assert seen.shape == (2, 32, 32) and seen.dtype == np.uint8
    assert seen[0].max() > 200 and (seen[0] == 0).mean() > 0.5   # haze gone, stroke kept
    assert not seen[1].any()                                     # nothing to see: stays empty


def _stroke(width: int, value: float = 1.0, side: int = 32) -> np.ndarray:
    img = np.zeros((side, side), np.float32)
    img[4:28, 16 - width // 2:16 - width // 2 + width] = value
    return img


def test_peak_ink_of_a_blank_is_zero_and_of_a_full_stroke_one():
    imgs = np.stack([np.zeros((32, 32)), _stroke(3), _stroke(3, 0.4)])
    np.testing.assert_allclose(M.peak_ink(imgs), [0.0, 1.0, 0.4], atol=1e-6)
    np.testing.assert_allclose(M.peak_ink((imgs * 255).astype(np.uint8)), [0, 1, 0.4], atol=0.01)
    q = M.ink_quality(imgs[1:], reference_sharpness=1.0)
    assert q["peak_ink_median"] == pytest.approx(0.7, abs=1e-6)


def test_sharpness_ignores_darkness_and_halves_for_a_smeared_stroke():
    crisp, faint = M.sharpness(np.stack([_stroke(2), _stroke(2, 0.3)]))
    assert crisp == pytest.approx(faint, rel=1e-6)              # contrast-normalised
    assert crisp == pytest.approx((2 * 24 + 2 * 2) / (2 * 24), rel=1e-6)   # edges / ink
    import cv2
    smeared = cv2.GaussianBlur(_stroke(2), (0, 0), 2.0)
    assert M.sharpness(smeared[None])[0] < 0.6 * crisp
    assert np.isnan(M.sharpness(np.zeros((1, 8, 8)))[0])


def test_style_kept_scores_a_perfect_reconstruction_and_not_the_class_average():
    rng = np.random.default_rng(0)
    inputs = np.stack([_stroke(3 + i % 4) for i in range(8)])
    for i in range(8):  # each writer puts the stroke elsewhere, with a second stroke
        inputs[i] = np.roll(inputs[i], rng.integers(-6, 6), axis=1)
        inputs[i, 10 + i:13 + i, 4:28] = 1.0
    labels = np.zeros(8, int)
    means = inputs.mean(0, keepdims=True)
    perfect = M.style_kept(inputs, inputs, labels, means, 32)
    assert perfect["share"] == 1.0 and perfect["iou_reconstruction"] == pytest.approx(1.0)
    average = M.style_kept(inputs, np.repeat(means, 8, 0), labels, means, 32)
    assert average["share"] == 0.0


def test_mask_iou_on_known_masks():
    a = np.zeros((3, 4, 4), bool)
    b = a.copy()
    a[0, :2], b[0, 1:3] = True, True     # rows 0-1 vs 1-2: 1 shared row of 3
    a[1], b[1] = True, True
    np.testing.assert_allclose(M.mask_iou(a, b), [1 / 3, 1.0, 0.0])


def test_class_means_summed_in_chunks_equal_the_plain_mean_and_zero_for_an_absent_class():
    rng = np.random.default_rng(0)
    x = (rng.random((50, 8, 8)) * 255).astype(np.uint8)
    y = rng.integers(0, 3, 50)                     # class 3 never appears
    got = M.class_means(x, y, 4, chunk=7)
    want = [(x[y == c] / 255.0).mean(0) for c in range(3)]
    np.testing.assert_allclose(got[:3], want, atol=1e-6)
    assert got.shape == (4, 8, 8) and not got[3].any()


# ## Per class, novelty, one hand: the rows issue 16 added


def test_marked_classes_are_the_fifty_with_dakuten_or_handakuten():
    from kana_keras.kana import kana_classes

    marked = M.marked_classes(kana_classes("all"))
    assert len(marked) == 50 and "が" in marked and "ぽ" in marked and "パ" in marked
    assert "か" not in marked and "は" not in marked and "ゐ" not in marked


def test_class_floor_names_the_worst_and_every_class_below_target():
    per_class = {"あ": 0.95, "が": 0.40, "ぱ": 0.88, "い": 0.2}
    floor = M.class_floor(per_class, 0.9)
    assert floor["worst"] == "い" and floor["min"] == pytest.approx(0.2)
    assert floor["below"] == [["い", 0.2], ["が", 0.4], ["ぱ", 0.88]] and floor["classes"] == 4
    only = M.class_floor(per_class, 0.9, only=["が", "ぱ"])
    assert only["worst"] == "が" and [k for k, _ in only["below"]] == ["が", "ぱ"]
    assert np.isnan(M.class_floor({}, 0.9)["min"])


def test_nearest_distances_on_known_points():
    refs = np.array([[0.0, 0.0], [10.0, 0.0]])
    got = M.nearest_distances(np.array([[3.0, 4.0], [10.0, 1.0], [0.0, 0.0]]), refs)
    np.testing.assert_allclose(got, [5.0, 1.0, 0.0], atol=1e-9)


def _shapes(rng, n: int, side: int = 32) -> np.ndarray:
    """n random two-bar drawings, each bar in its own place: distinct 'writers'."""
    out = np.zeros((n, side, side), np.uint8)
    for img in out:
        x, y = rng.integers(4, side - 8, 2)
        img[4:side - 4, x:x + 3] = 255
        img[y:y + 3, 4:side - 4] = 255
    return out


def test_novelty_of_copies_is_zero_and_of_new_drawings_near_one():
    rng = np.random.default_rng(0)
    train, test, fresh = _shapes(rng, 60), _shapes(rng, 20), _shapes(rng, 20)
    ytr, yte = np.zeros(60, int), np.zeros(20, int)
    copies = M.novelty(train[:20], yte, test, yte, train, ytr)
    assert copies["ratio"] == pytest.approx(0.0, abs=1e-9) and copies["test_median"] > 0
    new = M.novelty(fresh, yte, test, yte, train, ytr)
    assert 0.6 < new["ratio"] < 1.6
    # nearest neighbours are looked for in the sample's own class only
    other = M.novelty(train[:20], np.ones(20, int), test, np.ones(20, int), train, ytr)
    assert other["classes"] == 0 and np.isnan(other["ratio"])


def test_glyph_cells_split_a_row_and_refuse_a_short_page():
    page = np.zeros((16, 48), np.uint8)
    page[:, 16:32] = 200
    cells = M.glyph_cells(page, 3, 16)
    assert cells.shape == (3, 16, 16) and cells[1].min() == 200 and not cells[0].any()
    with pytest.raises(ValueError, match="fewer than 4 cells of 16 pixels"):
        M.glyph_cells(page, 4, 16)


def test_pen_marks_read_width_apart_from_darkness():
    glyphs = np.stack([_stroke(2), _stroke(6), _stroke(6, 0.5), np.zeros((32, 32))])
    widths, dark = M.pen_marks(glyphs)
    assert widths[1] == pytest.approx(widths[2]) and widths[1] > 2 * widths[0]
    np.testing.assert_allclose(dark[:3], [1.0, 1.0, 0.5], atol=1e-6)
    assert np.isnan(widths[3]) and np.isnan(dark[3])


def test_spread_is_the_coefficient_of_variation():
    assert M.spread([2.0, 2.0, 2.0]) == 0.0
    assert M.spread([1.0, 3.0]) == pytest.approx(0.5)
    assert np.isnan(M.spread([1.0, np.nan]))


def test_hand_consistency_of_one_pen_passes_and_of_mixed_pens_fails():
    rng = np.random.default_rng(0)
    writers = [np.stack([_stroke(int(w), float(d)) for w, d in
                         zip(rng.integers(3, 5, 5), rng.uniform(0.8, 0.9, 5))]) for _ in range(6)]
    same = [np.stack([_stroke(4, 0.85)] * 4 + [_stroke(3, 0.8)]) for _ in range(4)]
    mixed = [np.stack([_stroke(2, 1.0), _stroke(8, 0.3), _stroke(4, 0.9), _stroke(6, 0.5),
                       _stroke(3, 0.7)]) for _ in range(4)]
    ok = M.hand_consistency(same, writers)
    bad = M.hand_consistency(mixed, writers)
    assert ok["ratio"] <= 1.0 < bad["ratio"]
    assert bad["width_ratio"] > 1 and bad["darkness_ratio"] > 1 and bad["words"] == 4
    assert np.isnan(M.hand_consistency(same, [])["ratio"])
