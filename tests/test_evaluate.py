"""evaluate: each metric on constructed cases, then the whole report on a tiny model."""

from __future__ import annotations

import json

import numpy as np
import pytest

from kana_keras import evaluate as E


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
                            labels=lambda split: test_y, sheets=lambda split: np.tile(
                                np.arange(4), 3))
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
    assert default["marked"]["classes"] == 50 and default["marked"]["samples"]["classes"] == 50
    assert default["novelty"]["classes"] > 0 and default["novelty"]["test_median"] >= 0
    assert default["write"]["words"] == 24 and 0 <= default["write"]["legible"] <= 1
    assert "second_judge" not in default and report["judge"] is None
    assert "samples_legible" in unconditional and "samples_recognised" not in unconditional
    saved = json.loads((tmp_path / "report" / "report.json").read_text(encoding="utf-8"))
    assert saved["results"]["default"]["kana_fid"] == pytest.approx(default["kana_fid"])
    md = (tmp_path / "report" / "report.md").read_text(encoding="utf-8")
    assert "| metric | default | blog |" in md and "## Held-out letter forms by font" in md
    assert "Second judge: **missing**" in md and "゛/゜ samples below 90%" in md
    for name in ("default_samples.png", "blog_samples.png", "default_reconstructions.png",
                 "realistic.png"):
        assert (tmp_path / "report" / name).stat().st_size > 0


def test_user_recognised_counts_refusals_as_wrong():
    from types import SimpleNamespace

    answers = [[("あ", 0.9)], None, [("ヘ", 0.8)], [("い", 0.7)]]
    gen = SimpleNamespace(recognize_batch=lambda pictures, k=1: answers[:len(pictures)])
    m = E.user_recognised(gen, np.zeros((4, 8, 8)), [0, 0, 2, 0], ["あ", "い", "へ"])
    assert m["accuracy"] == pytest.approx(0.5) and m["refused"] == 1
    assert m["per_class"] == {"あ": pytest.approx(1 / 3), "へ": 1.0}




# ## The user's edge and the new rows, on fakes that would catch a wrong polarity


def test_the_user_edge_hands_out_paper_and_takes_back_ink():
    from types import SimpleNamespace

    from kana_keras.inference import Reconstruction

    ink = np.zeros((2, 8, 8), np.uint8)
    ink[:, 2:6, 3:5] = 255
    seen = []

    def recognize_batch(pictures, k=1):
        seen.extend(pictures)
        return [[("あ", 1.0)] if p.mean() > 128 else [("い", 1.0)] for p in pictures]

    def reconstruct(picture):      # hands the picture back: paper in, paper out
        return Reconstruction(picture, picture.copy())

    gen = SimpleNamespace(recognize_batch=recognize_batch, reconstruct=reconstruct, image_size=8)
    right, refused = E.user_read_right(gen, ink, [0, 0], ["あ", "い"])
    assert right.all() and refused == 0
    assert all(p[0, 0] == 255 and p[3, 3] == 0 for p in seen)   # white paper, black ink
    np.testing.assert_array_equal(E.user_reconstructions(gen, ink, progress=False), ink)


def test_second_judge_rows_put_both_readings_side_by_side():
    from types import SimpleNamespace

    classes = ["あ", "い"]
    gen = SimpleNamespace(classes=classes, prepare=lambda picture, size: 255 - picture)
    judge = SimpleNamespace(classes=classes, info={"seed": 5},
                            read=lambda pictures, prepare: np.zeros(len(pictures), int))
    images, labels = np.zeros((4, 8, 8), np.uint8), np.array([0, 0, 0, 1])
    result = {"samples_user": {"accuracy": 0.5}, "reconstructions_user": {"accuracy": 1.0}}
    got = E.second_judge_metrics(gen, judge, images, labels, images, images, labels, result)
    assert got["samples"] == {"accuracy": 0.75, "recognize": 0.5, "gap_points": 25.0}
    assert got["reconstructions"]["gap_points"] == pytest.approx(-25.0)
    assert got["test"]["accuracy"] == 0.75 and got["info"]["seed"] == 5
    with pytest.raises(ValueError, match="the judge knows 1 classes, the model 2"):
        E.second_judge_metrics(gen, SimpleNamespace(classes=["あ"]), images, labels, images,
                               images, labels, result)


def test_write_metrics_split_the_page_and_name_illegible_characters():
    from types import SimpleNamespace

    classes = list("あいうえお")
    glyph = np.zeros((16, 16), np.uint8)
    glyph[2:14, 6:10] = 230

    def write(word, seed=None):
        return 255 - np.concatenate([glyph] * len(word), axis=1)   # black on white

    def recognize_batch(pictures, k=1):   # reads every cell as あ
        assert all(p.shape == (16, 16) and p[0, 0] == 255 for p in pictures)
        return [[("あ", 0.9)] for _ in pictures]

    gen = SimpleNamespace(classes=classes, image_size=16, write=write,
                          recognize_batch=recognize_batch)
    writer = np.stack([glyph] * 5)
    cache = SimpleNamespace(images=lambda split: np.concatenate([writer, writer // 2]),
                            labels=lambda split: np.tile(np.arange(5), 2),
                            sheets=lambda split: np.repeat([7, 8], 5))
    got = E.write_metrics(gen, cache, words=("あいう", "かな"), seeds=(0, 1))
    assert got["words_written"] == ["あいう"] and got["words"] == 2 and got["writer_words"] == 2
    assert got["legible"] == pytest.approx(1 / 3) and got["illegible"] == ["い", "う"]
    assert got["width_spread"] == 0.0 and got["refused"] == 0


def test_markdown_says_when_the_second_judge_is_missing():
    assert "Second judge: **missing**" in E._judge_line(None)
    line = E._judge_line({"folder": "judge", "writers": 48, "seed": 3, "font_share": 0.6,
                          "val_accuracy": 0.97})
    assert "48 synthetic writers, seed 3" in line and "97.0%" in line


def test_table_names_the_worst_class_and_the_marked_classes_below_target():
    floor = {"min": 0.12, "worst": "ぴ", "classes": 50, "below": [["ぴ", 0.12], ["ぼ", 0.19]]}
    result = {"samples_user": {"accuracy": 0.8, "refused": 0, "floor": floor},
              "marked": {"samples": floor, "reconstructions": floor}}
    text = E.table({"default": result})
    assert "| worst sample class (target ≥ 85 %) | ぴ 12% |" in text
    assert "| ゛/゜ classes, samples below 90 % | 2 of 50 |" in text
    assert "second judge" not in text        # not measured: no row
