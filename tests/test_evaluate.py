"""evaluate: each metric on constructed cases, then the whole report on a tiny model."""

from __future__ import annotations

import json

import numpy as np
import pytest

from kana_keras import evaluate as E


def test_perfect_reconstruction_scores_zero():
    rng = np.random.default_rng(0)
    x = rng.random((5, 8, 8, 1))
    zero = np.zeros((5, 3))
    m = E.per_image_losses(x, x, x, zero, zero)
    assert m["reconstruction_mse"] == 0 and m["reconstruction_loss"] == 0
    assert m["kl_loss"] == 0 and m["loss"] == 0
    # one pixel off by 1 in one image of five: loss 1/5 per image; KL of N(1, 1) is 0.5 per dim
    y = x.copy()
    y[0, 0, 0, 0] += 1.0
    m = E.per_image_losses(x, y, y, np.ones((5, 3)), zero, beta=2.0)
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
    m = E.per_image_losses(x, x, x, zm, zlv, 1.0, pm, plv)
    want = float(keras.ops.convert_to_numpy(vae_loss(x, x, zm, zlv, 1.0, pm, plv)[2]))
    assert m["kl_loss"] == pytest.approx(want, rel=1e-5)
    same = E.per_image_losses(x, x, x, zm, zlv, 1.0, zm, zlv)
    assert same["kl_loss"] == pytest.approx(0, abs=1e-9)
    # N(1, 1) against the prior N(0, 4): 0.5 * (log 4 - 1 + 2 / 4) per dimension
    one, zero = np.ones((5, 3)), np.zeros((5, 3))
    m = E.per_image_losses(x[:1].repeat(5, 0), x[:1].repeat(5, 0), x[:1].repeat(5, 0), one, zero,
                           prior_mean=zero, prior_log_var=np.full((5, 3), np.log(4.0)))
    assert m["kl_loss"] == pytest.approx(3 * 0.5 * (np.log(4.0) - 0.5))


def test_evaluate_vae_uses_a_class_prior(tmp_path, monkeypatch):
    """Samples come from p(z | class), and the test KL is taken to each image's class prior."""
    from types import SimpleNamespace

    import keras

    from kana_keras.model import KanaVAE, save_vae

    classes = list("あいう")
    keras.utils.set_random_seed(0)
    vae = KanaVAE(image_size=16, latent_dim=4, num_classes=3, encoder_filters=(4, 8),
                  decoder_filters=(8, 4), hidden_dim=8, embedding_dim=3, prior="class")
    rng = np.random.default_rng(0)
    prior = np.concatenate([rng.uniform(-3, 3, (3, 4)), rng.uniform(-2, 1, (3, 4))], 1)
    vae.class_prior.embeddings.assign(prior.astype(np.float32))
    save_vae(vae, tmp_path / "w", classes)
    test_y = np.repeat(np.arange(3), 4)
    test_x = (rng.random((12, 16, 16)) * 255).astype(np.uint8)
    cache = SimpleNamespace(classes=classes, image_size=16, images=lambda split: test_x,
                            labels=lambda split: test_y)
    judge = SimpleNamespace(image_size=16, classes=classes,
                            predict=lambda imgs: np.zeros(len(imgs), int),
                            probabilities=lambda imgs: np.full((len(imgs), 3), 1 / 3),
                            features=lambda imgs: imgs.reshape(len(imgs), -1)[:, :8] / 255.0)
    mapped = []
    real_from_style = KanaVAE.from_style
    monkeypatch.setattr(KanaVAE, "from_style", lambda self, eps, labels=None: mapped.append(
        (eps, labels)) or real_from_style(self, eps, labels))
    result = E.evaluate_vae(tmp_path / "w", judge, cache, samples_per_class=2, progress=False)
    drawn = [(eps, labels) for eps, labels in mapped if len(eps) == 2]  # sample(2, kana=c)
    assert len(drawn) == 3
    for c, (eps, labels) in enumerate(drawn):   # the user's call: one seed per class
        np.testing.assert_array_equal(labels, [c, c])
        np.testing.assert_array_equal(eps, np.random.default_rng(c).standard_normal((2, 4))
                                      .astype(np.float32))
    x = test_x[..., None].astype(np.float32) / 255.0
    z_mean, z_log_var = vae.encode(x, test_y)
    pm, plv = vae.prior_params(test_y)
    want = E.per_image_losses(x, x, x, z_mean, z_log_var, 1.0, pm, plv)["kl_loss"]
    standard = E.per_image_losses(x, x, x, z_mean, z_log_var)["kl_loss"]
    assert result["test"]["kl_loss"] == pytest.approx(want, rel=1e-4)
    assert abs(want - standard) > 1.0


def test_judge_accuracy_with_a_fake_recognizer():
    classes = ["あ", "い", "へ", "ヘ"]
    images = np.zeros((6, 4, 4))
    targets = np.array([0, 0, 1, 1, 2, 3])
    answers = np.array([0, 1, 1, 1, 3, 2])     # one wrong; へ/ヘ swapped count as right
    m = E.judge_accuracy(lambda imgs: answers[:len(imgs)], images, targets, classes)
    assert m["accuracy"] == pytest.approx(5 / 6)
    assert m["per_class"] == {"あ": 0.5, "い": 1.0, "へ": 1.0, "ヘ": 1.0}
    assert m["count"] == 6


def test_mean_pairwise_distance_on_known_points():
    pts = np.array([[0.0, 0.0], [3.0, 4.0]])
    assert E.mean_pairwise_distance(pts) == pytest.approx(5.0)
    tri = np.array([[0.0, 0.0], [3.0, 4.0], [6.0, 8.0]])
    assert E.mean_pairwise_distance(tri) == pytest.approx((5 + 10 + 5) / 3)
    assert E.mean_pairwise_distance(pts[:1]) == 0.0


def test_diversity_of_a_constant_generator_is_zero_and_of_real_data_one():
    rng = np.random.default_rng(0)
    real = rng.random((40, 8, 8))
    labels = np.repeat(np.arange(4), 10)
    constant = np.repeat(real[:1], 40, axis=0)
    assert E.diversity_ratio(constant, labels, real, labels)["ratio"] == pytest.approx(0.0, abs=1e-6)
    same = E.diversity_ratio(real, labels, real, labels)
    assert same["ratio"] == pytest.approx(1.0) and len(same["per_class"]) == 4
    noisy = E.diversity_ratio(real * 3, labels, real, labels)["ratio"]
    assert noisy == pytest.approx(3.0)


def test_frechet_distance_of_a_set_with_itself_is_zero():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(500, 6))
    a -= a.mean(axis=0)
    assert E.frechet_distance(a, a) == pytest.approx(0.0, abs=1e-6)
    shifted = a + np.array([2.0, 0, 0, 0, 0, 0])
    assert E.frechet_distance(a, shifted) == pytest.approx(4.0, rel=1e-6)  # |mu shift|^2
    scaled = a * 2.0    # same mean; trace term: sum (s_a - s_b)^2 over eigenvalues
    w = np.linalg.eigvalsh(np.cov(a, rowvar=False))
    assert E.frechet_distance(a, scaled) == pytest.approx(float(((np.sqrt(w) - 2 * np.sqrt(w)) ** 2).sum()), rel=1e-4)


def test_judge_view_cleans_haze_and_keeps_empty_images_empty():
    haze = np.full((2, 16, 16), 0.1, np.float32)
    haze[0, 4:12, 7:9] = 0.8                      # a soft stroke on a grey haze
    seen = E.judge_view(haze, 32)
    assert seen.shape == (2, 32, 32) and seen.dtype == np.uint8
    assert seen[0].max() > 200 and (seen[0] == 0).mean() > 0.5   # haze gone, stroke kept
    assert not seen[1].any()                                     # nothing to see: stays empty


def test_table_shows_present_metrics_only():
    result = {"test": {"reconstruction_mse": 0.01, "reconstruction_loss": 12.0, "kl_loss": 3.0},
              "samples_user": {"accuracy": 0.975, "refused": 0},
              "reconstructions_recognised": {"accuracy": 0.99},
              "diversity": {"ratio": 0.9}, "kana_fid": 1.5}
    text = E.table({"default": result, "blog": dict(result, samples_user={})})
    assert "| samples recognised by `recognize` (target ≥ 97 %) | 97.5% | – |" in text
    assert "| samples `recognize` refuses as blank (target 0) | 0 | – |" in text
    assert "realistic" not in text


@pytest.mark.slow
def test_evaluate_writes_a_report_for_a_tiny_model(tiny_cache, tmp_path):
    from test_inference import make_weights

    weights = make_weights(tiny_cache, tmp_path / "weights")
    blog = make_weights(tiny_cache, tmp_path / "blog", conditional=False, recognizer=False)
    report = E.evaluate(weights, blog_weights=blog, data=str(tiny_cache), out_dir=tmp_path / "report",
                        recognizer_dir=weights, samples_per_class=2, realistic_per_class=1,
                        realistic_long_side=96, progress=False, heldout_per_class=1)
    default, unconditional = report["results"]["default"], report["results"]["blog"]
    assert 0 <= default["samples_recognised"]["accuracy"] <= 1
    assert len(default["samples_recognised"]["per_class"]) == 146
    assert len(default["samples_user"]["per_class"]) == 146
    assert default["reconstructions_user"]["count"] == default["test_images"]
    assert 0 <= default["style_kept"]["share"] <= 1
    assert default["samples_ink"]["sharpness_ratio"] > 0
    assert default["test"]["images"] == default["test_images"] > 0
    assert default["realistic"]["count"] == 146
    forms = default["heldout_forms"]
    assert forms["recognised"]["count"] == forms["reconstructions"]["count"] == 146
    assert 0 <= forms["recognised"]["accuracy"] <= 1 and len(forms["per_source"]) == 1
    assert "heldout_forms" not in unconditional
    assert "samples_legible" in unconditional and "samples_recognised" not in unconditional
    saved = json.loads((tmp_path / "report" / "report.json").read_text(encoding="utf-8"))
    assert saved["results"]["default"]["kana_fid"] == pytest.approx(default["kana_fid"])
    md = (tmp_path / "report" / "report.md").read_text(encoding="utf-8")
    assert "| metric | default | blog |" in md and "## Held-out letter forms by font" in md
    for name in ("default_samples.png", "blog_samples.png", "default_reconstructions.png",
                 "realistic.png"):
        assert (tmp_path / "report" / name).stat().st_size > 0


# ## Ink, sharpness, style: each pinned on constructed images


def _stroke(width: int, value: float = 1.0, side: int = 32) -> np.ndarray:
    img = np.zeros((side, side), np.float32)
    img[4:28, 16 - width // 2:16 - width // 2 + width] = value
    return img


def test_peak_ink_of_a_blank_is_zero_and_of_a_full_stroke_one():
    imgs = np.stack([np.zeros((32, 32)), _stroke(3), _stroke(3, 0.4)])
    np.testing.assert_allclose(E.peak_ink(imgs), [0.0, 1.0, 0.4], atol=1e-6)
    np.testing.assert_allclose(E.peak_ink((imgs * 255).astype(np.uint8)), [0, 1, 0.4], atol=0.01)
    q = E.ink_quality(imgs[1:], reference_sharpness=1.0)
    assert q["peak_ink_median"] == pytest.approx(0.7, abs=1e-6)


def test_sharpness_ignores_darkness_and_halves_for_a_smeared_stroke():
    crisp, faint = E.sharpness(np.stack([_stroke(2), _stroke(2, 0.3)]))
    assert crisp == pytest.approx(faint, rel=1e-6)              # contrast-normalised
    assert crisp == pytest.approx((2 * 24 + 2 * 2) / (2 * 24), rel=1e-6)   # edges / ink
    import cv2
    smeared = cv2.GaussianBlur(_stroke(2), (0, 0), 2.0)
    assert E.sharpness(smeared[None])[0] < 0.6 * crisp
    assert np.isnan(E.sharpness(np.zeros((1, 8, 8)))[0])


def test_style_kept_scores_a_perfect_reconstruction_and_not_the_class_average():
    rng = np.random.default_rng(0)
    inputs = np.stack([_stroke(3 + i % 4) for i in range(8)])
    for i in range(8):  # each writer puts the stroke elsewhere, with a second stroke
        inputs[i] = np.roll(inputs[i], rng.integers(-6, 6), axis=1)
        inputs[i, 10 + i:13 + i, 4:28] = 1.0
    labels = np.zeros(8, int)
    means = inputs.mean(0, keepdims=True)
    perfect = E.style_kept(inputs, inputs, labels, means, 32)
    assert perfect["share"] == 1.0 and perfect["iou_reconstruction"] == pytest.approx(1.0)
    average = E.style_kept(inputs, np.repeat(means, 8, 0), labels, means, 32)
    assert average["share"] == 0.0


def test_mask_iou_on_known_masks():
    a = np.zeros((3, 4, 4), bool)
    b = a.copy()
    a[0, :2], b[0, 1:3] = True, True     # rows 0-1 vs 1-2: 1 shared row of 3
    a[1], b[1] = True, True
    np.testing.assert_allclose(E.mask_iou(a, b), [1 / 3, 1.0, 0.0])


def test_user_recognised_counts_refusals_as_wrong():
    from types import SimpleNamespace

    answers = [[("あ", 0.9)], None, [("ヘ", 0.8)], [("い", 0.7)]]
    gen = SimpleNamespace(recognize_batch=lambda pictures, k=1: answers[:len(pictures)])
    m = E.user_recognised(gen, np.zeros((4, 8, 8)), [0, 0, 2, 0], ["あ", "い", "へ"])
    assert m["accuracy"] == pytest.approx(0.5) and m["refused"] == 1
    assert m["per_class"] == {"あ": pytest.approx(1 / 3), "へ": 1.0}


def test_class_means_summed_in_chunks_equal_the_plain_mean_and_zero_for_an_absent_class():
    rng = np.random.default_rng(0)
    x = (rng.random((50, 8, 8)) * 255).astype(np.uint8)
    y = rng.integers(0, 3, 50)                     # class 3 never appears
    got = E.class_means(x, y, 4, chunk=7)
    want = [(x[y == c] / 255.0).mean(0) for c in range(3)]
    np.testing.assert_allclose(got[:3], want, atol=1e-6)
    assert got.shape == (4, 8, 8) and not got[3].any()
