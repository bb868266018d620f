"""inference: every KanaGenerator method on a tiny trained model, and its errors."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from kana_keras import photos
from kana_keras.inference import KanaGenerator, NoRecognizerError

TINY_VAE = dict(image_size=32, latent_dim=4, encoder_filters=(8, 16), decoder_filters=(16, 8),
                hidden_dim=32, embedding_dim=4)


def make_weights(cache_path, out, conditional=True, recognizer=True):
    """A tiny VAE trained one epoch on the cache (and an untrained recognizer) in out/."""
    import keras

    from kana_keras import recognizer as R
    from kana_keras.cache import Cache
    from kana_keras.model import KanaVAE, save_vae

    cache = Cache.open(cache_path)
    x = np.asarray(cache.images("train"), np.float32)[..., None] / 255.0
    y = np.asarray(cache.labels("train"), np.int32)
    keras.utils.set_random_seed(0)
    vae = KanaVAE(num_classes=len(cache.classes), conditional=conditional, **TINY_VAE)
    vae.compile(optimizer=keras.optimizers.Adam(2e-3))
    vae.fit(x, y, batch_size=64, epochs=1, verbose=0)
    save_vae(vae, out, cache.classes)
    if recognizer:
        net = R.build_recognizer(len(cache.classes), cache.image_size)
        R.save_recognizer(R.Recognizer(net, cache.classes, 1.5), out)
    return out


@pytest.fixture(scope="module")
def gen(tiny_cache, tmp_path_factory):
    return KanaGenerator.load(make_weights(tiny_cache, tmp_path_factory.mktemp("weights")))


def drawing(char="あ", seed=0, size=200):
    """A Sketchpad-like RGBA layer of a kana."""
    rng = np.random.default_rng(seed)
    return photos.canvas_layer(photos.stroke_glyph(char, rng, 256, 10), rng, size)


def test_load_reports_classes_and_size(gen):
    assert gen.image_size == 32 and len(gen.classes) == 146 and gen.classes[0] == "あ"
    assert gen.recognizer is not None


def test_sample_shapes_determinism_and_classes(gen):
    a = gen.sample(6, seed=1)
    assert a.shape == (6, 32, 32) and a.dtype == np.uint8
    assert np.array_equal(a, gen.sample(6, seed=1))
    assert not np.array_equal(a, gen.sample(6, seed=2))
    b = gen.sample(4, kana="あい", seed=0)
    assert gen.sample_labels(4, kana="あい", seed=0) == list("あいあい")
    assert np.median(b) > 128                                   # white paper, black ink
    zero = gen.sample(3, kana="か", seed=0, temperature=0.0)
    np.testing.assert_allclose(zero[0], zero[1], atol=1)        # temperature 0: the mean


def test_sample_rejects_bad_requests(gen):
    with pytest.raises(ValueError, match="'x'"):
        gen.sample(2, kana="あx")
    with pytest.raises(ValueError, match="at least 1"):
        gen.sample(0)
    with pytest.raises(ValueError, match="temperature"):
        gen.sample(2, temperature=-1)
    with pytest.raises(ValueError, match=r"seed must be a whole number >= 0 .*got -1"):
        gen.sample(2, seed=-1)
    with pytest.raises(ValueError, match=r"seed must be a whole number >= 0 .*got 1.5"):
        gen.write("あ", seed=1.5)
    with pytest.raises(ValueError, match="at most 1024"):
        gen.sample(100_000)


def test_requests_that_would_hold_the_machine_are_refused_with_the_limit(gen):
    with pytest.raises(ValueError, match=r"steps must be .*at most 64, got 100000"):
        gen.interpolate("あ", "お", steps=100_000)
    with pytest.raises(ValueError, match=r"text too long: 5,000 characters, at most 400"):
        gen.write("あ" * 5000)


def test_text_where_one_kana_or_a_picture_belongs_is_named(gen):
    with pytest.raises(ValueError, match=r"expected one kana or a picture, got 'あい'"):
        gen.interpolate("あい", "お")


def test_a_style_vector_with_nan_is_refused(gen):
    style = np.full(gen.latent_dim, np.nan, np.float32)
    with pytest.raises(ValueError, match="style vector has NaN"):
        gen.write("あい", style=style)


@pytest.mark.parametrize("convert", [
    lambda a: a,                                                # RGBA numpy layer
    lambda a: Image.fromarray(a),                               # PIL RGBA
    lambda a: 255 - a[..., 3],                                  # grey, black on white
    lambda a: a[..., 3] > 0,                                    # bool mask, ink True
    lambda a: {"background": None, "layers": [a], "composite": None},   # gradio Sketchpad
])
def test_reconstruct_accepts_anything_an_image_can_be(gen, convert):
    result = gen.reconstruct(convert(drawing()))
    prepared, recon = result
    assert prepared.shape == recon.shape == (32, 32)
    assert prepared.dtype == recon.dtype == np.uint8
    assert prepared.min() < 100 and np.median(prepared) == 255  # black ink on white
    assert result.kana in gen.classes


def test_a_canvas_is_read_from_its_layers_alpha_not_a_dark_composite():
    from kana_keras.inference import read_canvas

    layer = np.zeros((40, 40, 4), np.uint8)
    layer[10:30, 18:22, 3] = 255
    dark = np.full((40, 40, 3), 40, np.uint8)  # dark mode: the composite's paper is grey
    read = read_canvas({"background": None, "layers": [layer], "composite": dark})
    assert read.shape == (40, 40) and read[20, 20] == 0 and read[0, 0] == 255
    assert read_canvas({"layers": [np.zeros((40, 40, 4), np.uint8)], "composite": dark}) is None
    assert read_canvas(None) is None
    uploaded = np.full((40, 40, 3), 255, np.uint8)
    uploaded[5:9] = 0  # an uploaded picture: the composite, when it is not one flat colour
    np.testing.assert_array_equal(read_canvas({"layers": [], "composite": uploaded}), uploaded)


def test_a_file_that_is_no_image_is_named(tmp_path):
    from kana_keras.inference import read_photo

    (tmp_path / "notes.png").write_bytes(b"not a png")
    with pytest.raises(ValueError, match=r"notes.png is not a readable image"):
        read_photo(tmp_path / "notes.png")


def test_reconstruct_with_a_given_kana_uses_it(gen):
    assert gen.reconstruct(drawing("い"), kana="い").kana == "い"


@pytest.mark.parametrize("bad, message", [
    (np.zeros((50, 50), np.uint8), "empty"),
    (np.full((50, 50, 3), 255, np.uint8), "empty"),
    (np.zeros((40, 40, 4), np.uint8), "empty"),
    ({"background": None, "layers": [], "composite": None}, "empty"),
    (None, "not an image"),
    (b"definitely not a png", "not an image"),
    ("あ", "expected an image"),
])
def test_reconstruct_and_recognize_reject_unusable_input(gen, bad, message):
    with pytest.raises(ValueError, match=message):
        gen.reconstruct(bad)
    with pytest.raises(ValueError, match=message):
        gen.recognize(bad)


def test_interpolate_between_kana_and_images(gen):
    strip = gen.interpolate("あ", "お", steps=5)
    assert strip.shape == (5, 32, 32) and strip.dtype == np.uint8
    np.testing.assert_allclose(strip[0], gen.interpolate("あ", "あ", steps=2)[0], atol=1)  # ends: the kana
    assert not np.array_equal(strip[0], strip[-1])
    mixed = gen.interpolate(drawing("か"), "き", steps=3)
    assert mixed.shape == (3, 32, 32)
    with pytest.raises(ValueError, match="at least 2"):
        gen.interpolate("あ", "い", steps=1)
    with pytest.raises(ValueError, match="'Z'"):
        gen.interpolate("あ", "Z")


def test_interpolate_between_two_kana_blends_instead_of_switching(gen):
    """Ends equal each class's own decoding; no single step carries most of the change."""
    steps = gen.interpolate("あ", "ア", steps=9).astype(np.float32)
    a = gen.interpolate("あ", "あ", steps=2)[0].astype(np.float32)
    b = gen.interpolate("ア", "ア", steps=2)[0].astype(np.float32)
    np.testing.assert_allclose(steps[0], a, atol=1)
    np.testing.assert_allclose(steps[-1], b, atol=1)
    jumps = np.abs(np.diff(steps, axis=0)).mean(axis=(1, 2))
    assert jumps.max() < 0.5 * jumps.sum(), jumps  # a class switch puts it all in one step


def test_write_lays_out_text_in_one_style(gen):
    line = gen.write("あい う", seed=0)
    assert line.shape == (32, 4 * 32) and line.dtype == np.uint8
    assert (line[:, 64:96] == 255).all()                          # the space is blank paper
    assert np.array_equal(line, gen.write("あい う", seed=0))
    two = gen.write("あ\nかき", seed=0)
    assert two.shape == (64, 64) and (two[:32, 32:] == 255).all()
    small = gen.write("やゃー", seed=0)
    big_ya, small_ya, bar = small[:, :32], small[:, 32:64], small[:, 64:]
    assert (small_ya[:10] == 255).all() and (small_ya < 200).any()  # scaled down, set low
    assert (bar < 160).any() and (bar[:8] == 255).all()             # a horizontal stroke
    assert (255 - big_ya.astype(int)).sum() > (255 - small_ya.astype(int)).sum()
    # a drawing as the style: its encoding is kept
    assert gen.write("あい", style=drawing("う")).shape == (32, 64)


def test_write_without_a_style_takes_one_bank_writer_for_every_kana(tiny_cache, tmp_path):
    """With a writer bank, each kana of a word is that writer's own style of it (plus one
    shared nudge): the page equals decoding the bank rows, and another seed may pick another
    writer."""
    import keras

    from kana_keras import inference
    from kana_keras.cache import Cache
    from kana_keras.model import KanaVAE, save_vae

    cache = Cache.open(tiny_cache)
    x = np.asarray(cache.images("train"), np.float32)[..., None] / 255.0
    y = np.asarray(cache.labels("train"), np.int32)
    keras.utils.set_random_seed(0)
    vae = KanaVAE(num_classes=len(cache.classes), prior="class", fitted_prior=True,
                  writer_bank=8, **TINY_VAE)
    vae.fit_latent_prior(x, y, writers=np.asarray(cache.sheets("train")))
    save_vae(vae, tmp_path, cache.classes)
    gen = KanaGenerator.load(tmp_path)
    labels = np.asarray([gen.classes.index(c) for c in "あいう"], np.int32)
    rng = np.random.default_rng(5)
    writer = gen.vae.pick_bank_writer(labels, rng)
    assert writer is not None
    eps = gen.vae.bank_writer_styles(labels, writer) + inference.WRITE_NUDGE * \
        rng.standard_normal(gen.latent_dim).astype(np.float32)[None]
    glyphs = gen.vae.decode(gen.vae.from_style(eps, labels), labels)[..., 0]
    want = inference.lay_out([list("あいう")], list(glyphs), gen.image_size)
    np.testing.assert_allclose(gen.write("あいう", seed=5).astype(int), want.astype(int), atol=1)


def test_write_names_unknown_characters(gen):
    with pytest.raises(ValueError, match=r"'a', 'b'"):
        gen.write("aあb")
    with pytest.raises(ValueError, match="no text"):
        gen.write("   ")


def test_recognize_returns_sorted_probabilities(gen):
    top = gen.recognize(drawing(), k=5)
    assert len(top) == 5 and all(k in gen.classes for k, _ in top)
    probs = [p for _, p in top]
    assert probs == sorted(probs, reverse=True) and 0 < sum(probs) <= 1 + 1e-6
    with pytest.raises(ValueError, match="k must be"):
        gen.recognize(drawing(), k=0)


def test_without_recognizer_and_unconditional(tiny_cache, tmp_path):
    gen = KanaGenerator.load(make_weights(tiny_cache, tmp_path / "w", conditional=False,
                                          recognizer=False))
    assert gen.recognizer is None
    with pytest.raises(NoRecognizerError, match="no recognizer in"):
        gen.recognize(drawing())
    assert gen.sample(3, seed=0).shape == (3, 32, 32)
    prepared, recon = gen.reconstruct(drawing())
    assert recon.shape == (32, 32)
    assert gen.interpolate(drawing("あ"), drawing("い"), steps=3).shape == (3, 32, 32)
    with pytest.raises(ValueError, match="unconditional"):
        gen.sample(2, kana="あ")
    with pytest.raises(ValueError, match="unconditional"):
        gen.write("あ")


def test_a_class_prior_routes_sampling_styles_and_interpolation(tmp_path):
    """A prior="class" model: every latent drawn or encoded goes through its p(z | class)."""
    import keras

    from kana_keras.model import KanaVAE, save_vae

    classes = list("あいうおかき")
    keras.utils.set_random_seed(0)
    vae = KanaVAE(num_classes=len(classes), prior="class", **TINY_VAE)
    vae.compile(optimizer="adam")
    x = np.random.default_rng(0).random((12, 32, 32, 1)).astype(np.float32)
    for _ in range(2):
        vae.train_on_batch(x, np.arange(12) % len(classes))
    rng = np.random.default_rng(1)
    mean = rng.uniform(-3, 3, (len(classes), 4))                 # classes far apart in z
    log_var = rng.uniform(-3, 0, (len(classes), 4))
    vae.class_prior.embeddings.assign(np.concatenate([mean, log_var], 1).astype(np.float32))
    gen = KanaGenerator.load(save_vae(vae, tmp_path / "w", classes))
    vae = gen.vae

    def paper(z, labels):
        return 255 - np.clip(np.rint(vae.decode(z, labels)[..., 0] * 255), 0, 255)

    # sample: temperature 0 is each class's prior mean, not z = 0
    zero = gen.sample(2, kana="かお", seed=0, temperature=0.0).astype(np.float32)
    np.testing.assert_allclose(zero, paper(mean[[4, 3]], [4, 3]), atol=1)
    assert np.abs(zero[0] - paper(np.zeros((1, 4)), [4])[0]).max() > 1
    many = gen.sample(6, kana="あ", seed=2)
    assert many.shape == (6, 32, 32) and np.array_equal(many, gen.sample(6, kana="あ", seed=2))

    # write: one style eps for every kana, drawn from seed or encoded from a drawing
    line = gen.write("あい", seed=0)
    eps = np.random.default_rng(0).standard_normal(4).astype(np.float32) * 0.8
    np.testing.assert_allclose(line[:, :32], paper(vae.from_style(eps[None], [0]), [0])[0],
                               atol=1)
    np.testing.assert_allclose(line[:, 32:], paper(vae.from_style(eps[None], [1]), [1])[0],
                               atol=1)
    style = gen.encode_style(drawing("う"), kana="う")
    _, _, z_mean = gen._encode_image(drawing("う"), kana="う")
    np.testing.assert_allclose(vae.from_style(style[None], [2])[0], z_mean, rtol=1e-4, atol=1e-5)
    assert np.array_equal(gen.write("かき", style=style), gen.write("かき", style=style.copy()))
    assert gen.write("かき", style=drawing("う")).shape == (32, 64)

    # interpolate: ends are each kana's prior mean (eps 0), or the drawing's own encoding
    strip = gen.interpolate("あ", "お", steps=5).astype(np.float32)
    np.testing.assert_allclose(strip[0], paper(mean[[0]], [0])[0], atol=1)
    np.testing.assert_allclose(strip[-1], paper(mean[[3]], [3])[0], atol=1)
    same = gen.interpolate("い", "い", steps=3)
    np.testing.assert_allclose(same[0], same[-1], atol=1)
    mixed = gen.interpolate(drawing("う"), "か", steps=3).astype(np.float32)
    label = gen._labels_for(gen.reconstruct(drawing("う")).kana)[0]
    z_end = gen._encode_image(drawing("う"))[2]
    np.testing.assert_allclose(mixed[0], paper(z_end[None], [label])[0], atol=1)


def test_load_missing_folder_is_clear(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such weights folder"):
        KanaGenerator.load(tmp_path / "nope")
