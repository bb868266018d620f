"""KanaVAE: the loss, config and saving in this process; training and cross-backend loading
in one subprocess per backend (tests/backend_check.py), since a process has one backend."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import keras

from kana_keras.model import KanaVAE, load_vae, save_vae, vae_loss

ROOT = Path(__file__).resolve().parents[1]
BACKENDS = ("tensorflow", "jax", "torch")
TINY = dict(image_size=16, latent_dim=4, num_classes=5, encoder_filters=(4, 8),
            decoder_filters=(8, 4), hidden_dim=8, embedding_dim=3)


def test_vae_loss_matches_numpy():
    rng = np.random.default_rng(0)
    images = rng.random((3, 4, 4, 1)).astype("float32")
    recon = rng.random((3, 4, 4, 1)).astype("float32")
    mean = rng.standard_normal((3, 2)).astype("float32")
    log_var = rng.standard_normal((3, 2)).astype("float32")
    total, rec, kl = (float(keras.ops.convert_to_numpy(t))
                      for t in vae_loss(images, recon, mean, log_var, beta=0.5))
    want_rec = ((images - recon) ** 2).reshape(3, -1).sum(1).mean()
    want_kl = (-0.5 * (1 + log_var - mean**2 - np.exp(log_var))).sum(1).mean()
    assert rec == pytest.approx(want_rec, rel=1e-5)
    assert kl == pytest.approx(want_kl, rel=1e-5)
    assert total == pytest.approx(want_rec + 0.5 * want_kl, rel=1e-5)


def test_vae_loss_is_zero_for_perfect_standard_normal_fit():
    images = np.ones((2, 4, 4, 1), "float32")
    zeros = np.zeros((2, 3), "float32")
    total, _, _ = vae_loss(images, images, zeros, zeros)
    assert float(keras.ops.convert_to_numpy(total)) == pytest.approx(0.0, abs=1e-6)


def test_vae_loss_with_a_prior_is_the_kl_between_diagonal_gaussians():
    rng = np.random.default_rng(1)
    images = rng.random((3, 4, 4, 1)).astype("float32")
    qm, qlv, pm = (rng.standard_normal((3, 2)).astype("float32") for _ in range(3))
    plv = rng.uniform(-2, 2, (3, 2)).astype("float32")
    kl_of = lambda *prior: float(keras.ops.convert_to_numpy(  # noqa: E731
        vae_loss(images, images, qm, qlv, 1.0, *prior)[2]))
    want = (0.5 * (plv - qlv + (np.exp(qlv) + (qm - pm) ** 2) / np.exp(plv) - 1)).sum(1).mean()
    assert kl_of(pm, plv) == pytest.approx(want, rel=1e-5)
    assert kl_of(qm, qlv) == pytest.approx(0.0, abs=1e-5)          # q is the prior: no cost
    zeros = np.zeros_like(qm)
    assert kl_of(zeros, zeros) == pytest.approx(kl_of(), rel=1e-5)  # N(0, I) given explicitly


@pytest.mark.parametrize("conditional, prior", [(True, "standard"), (False, "standard"),
                                                (True, "class")])
def test_get_config_round_trip_is_identical(conditional, prior):
    model = KanaVAE(conditional=conditional, prior=prior, **TINY)
    config = model.get_config()
    rebuilt = KanaVAE.from_config(json.loads(json.dumps(config)))
    assert json.dumps(rebuilt.get_config(), sort_keys=True) == json.dumps(config, sort_keys=True)
    assert rebuilt.count_params() == model.count_params()
    restored = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(model))
    assert isinstance(restored, KanaVAE) and restored.get_config() == config


def test_shapes_and_ranges():
    model = KanaVAE(**TINY)
    images = np.random.default_rng(0).random((5, 16, 16, 1)).astype("float32")
    labels = np.arange(5)
    z_mean, z_log_var = model.encode(images, labels)
    assert z_mean.shape == z_log_var.shape == (5, 4)
    drawn = model.generate(labels=[0, 1, 2], seed=1)
    assert drawn.shape == (3, 16, 16, 1) and drawn.dtype == np.float32
    assert drawn.min() >= 0.0 and drawn.max() <= 1.0
    np.testing.assert_array_equal(drawn, model.generate(labels=[0, 1, 2], seed=1))
    assert not np.array_equal(drawn, model.generate(labels=[0, 1, 2], seed=2))
    assert model.generate(labels=[4], n=3, seed=0).shape == (3, 16, 16, 1)
    outputs = model((images, labels))
    assert set(outputs) == {"reconstruction", "z_mean", "z_log_var"}


def test_lean_decoder_draws_the_pixels_with_its_last_transposed_convolution():
    """output_upsampling: no full-size feature maps; decoder_normalization: None drops BN."""
    lean = KanaVAE(decoder_filters=(8, 4), output_upsampling=True, decoder_normalization=None,
                   **{k: v for k, v in TINY.items() if k != "decoder_filters"})
    pixels = lean.decoder.get_layer("pixels")
    assert isinstance(pixels, keras.layers.Conv2DTranspose) and pixels.strides == (2, 2)
    assert not any(isinstance(layer, keras.layers.BatchNormalization)
                   for layer in lean.decoder.layers)
    assert any(isinstance(layer, keras.layers.BatchNormalization) for layer in lean.encoder.layers)
    widest = max(layer.output.shape[1] for layer in lean.decoder.layers
                 if len(layer.output.shape) == 4 and layer.output.shape[-1] > 1)
    assert widest == 8  # half of the 16-pixel image: only the pixel layer works at full size
    assert lean.generate(labels=[0, 1], seed=0).shape == (2, 16, 16, 1)
    config = lean.get_config()
    assert config["output_upsampling"] and config["decoder_normalization"] is None
    old = dict(config)
    del old["output_upsampling"], old["decoder_normalization"]  # a config.json from before
    assert not KanaVAE.from_config(old).output_upsampling
    with pytest.raises(ValueError, match="divisible by 2\\*\\*3"):
        KanaVAE(image_size=20, decoder_filters=(8, 4), output_upsampling=True,
                **{k: v for k, v in TINY.items() if k not in ("decoder_filters", "image_size")})


def test_prior_is_validated_and_old_configs_load_as_standard():
    with pytest.raises(ValueError, match="conditional=True"):
        KanaVAE(conditional=False, prior="class", **TINY)
    with pytest.raises(ValueError, match="'gaussian'"):
        KanaVAE(prior="gaussian", **TINY)
    config = KanaVAE(**TINY).get_config()
    assert config.pop("prior") == "standard"                     # a config.json from before
    assert KanaVAE.from_config(config).prior == "standard"


def test_class_prior_adds_one_weight_and_standard_none():
    standard, learned = KanaVAE(**TINY), KanaVAE(prior="class", **TINY)
    assert not any("class_prior" in w.path for w in standard.weights)
    extra = [w for w in learned.weights if "class_prior" in w.path]
    assert len(extra) == 1 and tuple(extra[0].shape) == (5, 2 * 4) and extra[0].trainable
    assert learned.count_params() == standard.count_params() + 5 * 8
    assert [w.path for w in learned.weights if "class_prior" not in w.path] == [
        w.path for w in standard.weights]                         # the same layout otherwise
    images = np.zeros((2, 16, 16, 1), "float32")
    assert set(learned((images, np.array([1, 2])))) == {
        "reconstruction", "z_mean", "z_log_var", "prior_mean", "prior_log_var"}
    mean, log_var = standard.prior_params([0, 3])
    assert mean.shape == log_var.shape == (2, 4) and not mean.any() and not log_var.any()
    z = np.random.default_rng(0).standard_normal((2, 4)).astype("float32")
    np.testing.assert_array_equal(standard.to_style(z, [0, 3]), z)
    np.testing.assert_array_equal(standard.from_style(z, [0, 3]), z)


def _set_class_prior(model, seed=0):
    """Distinct, known prior rows: class c centred at 3 * (c - 2), sigma from 0.05 to 2."""
    rng = np.random.default_rng(seed)
    mean = 3.0 * (np.arange(model.num_classes)[:, None] - 2) + rng.uniform(
        -0.5, 0.5, (model.num_classes, model.latent_dim))
    log_var = rng.uniform(2 * np.log(0.05), 2 * np.log(2.0), mean.shape)
    model.class_prior.embeddings.assign(np.concatenate([mean, log_var], 1).astype("float32"))
    return mean.astype("float32"), log_var.astype("float32")


def test_class_prior_params_style_maps_and_generate(monkeypatch):
    model = KanaVAE(prior="class", **TINY)
    mean, log_var = _set_class_prior(model)
    got_mean, got_log_var = model.prior_params([3, 1])
    np.testing.assert_allclose(got_mean, mean[[3, 1]])
    np.testing.assert_allclose(got_log_var, log_var[[3, 1]])
    model.class_prior.embeddings.assign(
        np.concatenate([mean, np.full_like(log_var, 50.0)], 1))     # clipped, not exp(50)
    assert model.prior_params([0])[1].max() == pytest.approx(4.0)
    _set_class_prior(model)
    z = np.random.default_rng(1).standard_normal((5, 4)).astype("float32")
    labels = np.array([0, 1, 2, 3, 4])
    eps = model.to_style(z, labels)
    np.testing.assert_allclose(eps, (z - mean) / np.exp(0.5 * log_var), rtol=1e-5)
    np.testing.assert_allclose(model.from_style(eps, labels), z, rtol=1e-5, atol=1e-5)
    # generate for class c draws z ~ N(mu_c, sigma_c^2 T^2): watch what it decodes
    decoded = []
    monkeypatch.setattr(KanaVAE, "decode", lambda self, z, labels=None: decoded.append(z) or z)
    model.generate(labels=[2], n=4000, seed=0)
    sigma = np.exp(0.5 * log_var[2])
    np.testing.assert_allclose(decoded[-1].mean(0), mean[2], atol=4 * sigma.max() / np.sqrt(4000))
    np.testing.assert_allclose(decoded[-1].std(0), sigma, rtol=0.1)
    model.generate(labels=[4, 0], temperature=0.0, seed=0)
    np.testing.assert_allclose(decoded[-1], mean[[4, 0]])


def test_class_prior_saves_and_loads(tmp_path):
    model = KanaVAE(prior="class", **TINY)
    model.compile(optimizer="adam")
    mean, log_var = _set_class_prior(model)
    save_vae(model, tmp_path, list("abcde"))
    loaded, config = load_vae(tmp_path)
    assert config["model"]["prior"] == "class" and loaded.get_config() == model.get_config()
    np.testing.assert_array_equal(loaded.prior_params(range(5))[0], mean)
    np.testing.assert_array_equal(loaded.prior_params(range(5))[1], log_var)
    labels = [0, 1, 2, 3]
    np.testing.assert_allclose(loaded.generate(labels, seed=3), model.generate(labels, seed=3),
                               atol=1e-6)


def test_train_on_batch_learns_the_class_prior():
    keras.utils.set_random_seed(0)
    model = KanaVAE(prior="class", **TINY)
    model.compile(optimizer=keras.optimizers.Adam(1e-2))
    rng = np.random.default_rng(0)
    images = rng.random((10, 16, 16, 1)).astype("float32")
    labels = np.arange(10) % 5
    logs = [model.train_on_batch(images, labels, return_dict=True) for _ in range(2)]
    assert all(np.isfinite(list(log.values())).all() for log in logs)
    assert np.abs(model.prior_params(range(5))[0]).max() > 1e-3   # the prior moved off N(0, I)
    # the loss's KL is the KL to each image's class prior
    outputs = model((images, labels))
    kl = float(keras.ops.convert_to_numpy(model.vae_losses(images, outputs)["kl_loss"]))
    qm, qlv = (keras.ops.convert_to_numpy(outputs[k]) for k in ("z_mean", "z_log_var"))
    pm, plv = model.prior_params(labels)
    want = (0.5 * (plv - qlv + (np.exp(qlv) + (qm - pm) ** 2) / np.exp(plv) - 1)).sum(1).mean()
    assert kl == pytest.approx(want, rel=1e-4)


def test_blog_preset_matches_the_seed_network():
    from kana_keras.presets import PRESETS, get_preset

    blog = get_preset("blog")
    assert set(PRESETS) >= {"blog", "default"}
    assert (blog["model"]["image_size"], blog["model"]["latent_dim"]) == (72, 12)
    assert blog["learning_rate"] == 5e-4 and blog["batch_size"] == 32
    model = KanaVAE(num_classes=146, **blog["model"])
    assert not model.conditional
    assert 60e6 < model.count_params() < 70e6  # the ~66M-parameter dense decoder
    default = KanaVAE(num_classes=146, **get_preset("default")["model"])
    assert default.conditional and 1e6 < default.count_params() < 6e6


def test_bad_inputs_raise_clear_errors():
    model = KanaVAE(**TINY)
    with pytest.raises(ValueError, match="labels"):
        model.generate(n=2)
    with pytest.raises(ValueError, match=r"\[0, 5\)"):
        model.generate(labels=[7])
    with pytest.raises(ValueError, match="16, 16, 1"):
        model.encode(np.zeros((1, 8, 8, 1)), [0])
    with pytest.raises(ValueError, match="divisible"):
        KanaVAE(image_size=18, decoder_filters=(8, 8, 8))
    with pytest.raises(ValueError, match="blog, default|must be one of"):
        from kana_keras.presets import get_preset
        get_preset("nope")


def test_save_and_load_round_trip(tmp_path):
    model = KanaVAE(**TINY)
    model.compile(optimizer="adam")  # a compiled model must still ship weights only
    classes = list("abcde")
    save_vae(model, tmp_path, classes, extra={"preset": "test"})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config.json", "kana_vae.weights.h5"]
    loaded, config = load_vae(tmp_path)
    assert config["classes"] == classes and config["preset"] == "test"
    assert config["image_size"] == 16
    z = np.random.default_rng(0).standard_normal((4, 4)).astype("float32")
    np.testing.assert_allclose(loaded.decode(z, [0, 1, 2, 3]), model.decode(z, [0, 1, 2, 3]),
                               atol=1e-6)
    with pytest.raises(ValueError, match="classes"):
        save_vae(model, tmp_path / "bad", ["a"])


def test_load_vae_names_missing_files(tmp_path):
    with pytest.raises(FileNotFoundError, match="config.json"):
        load_vae(tmp_path)
    (tmp_path / "config.json").write_text("{not json")
    with pytest.raises(ValueError, match="config.json"):
        load_vae(tmp_path)


# ## Per backend, in subprocesses


def _run_backend(backend, cache, work, *flags, script=ROOT / "tests" / "backend_check.py"):
    env = dict(os.environ, KERAS_BACKEND=backend, PYTHONPATH=str(ROOT))
    proc = subprocess.run([sys.executable, str(script), str(cache), str(work), *flags], env=env,
                          capture_output=True, text=True, timeout=600)
    lines = [l for l in proc.stdout.splitlines() if l.startswith("RESULT ")]
    assert proc.returncode == 0 and lines, f"{backend} failed:\n{proc.stdout}\n{proc.stderr[-4000:]}"
    return json.loads(lines[-1][len("RESULT "):])


@pytest.fixture(scope="module")
def backend_results(tiny_cache, tmp_path_factory):
    """Train+save on each backend in turn (each loads the ones before), then the earlier
    ones load the later ones: every backend loads every other's weights."""
    work = tmp_path_factory.mktemp("backends")
    results = {b: _run_backend(b, tiny_cache, work) for b in BACKENDS}
    for backend in BACKENDS[:-1]:
        late = _run_backend(backend, tiny_cache, work, "--compare-only")
        results[backend]["cross_backend_max_diff"].update(late["cross_backend_max_diff"])
    print(json.dumps(results, indent=1))
    return results


@pytest.mark.slow
@pytest.mark.parametrize("backend", BACKENDS)
def test_training_lowers_the_loss(backend_results, backend):
    r = backend_results[backend]
    assert np.isfinite(r["train_loss"]).all()
    assert r["val_loss_after"] < 0.9 * r["val_loss_before"], r


@pytest.mark.slow
@pytest.mark.parametrize("backend", BACKENDS)
def test_save_load_round_trip_per_backend(backend_results, backend):
    r = backend_results[backend]
    assert r["reload_max_diff"] < 1e-6 and r["config_round_trip"] and r["classes_saved"], r


@pytest.mark.slow
@pytest.mark.parametrize("loader", BACKENDS)
def test_weights_load_under_every_other_backend(backend_results, loader):
    diffs = backend_results[loader]["cross_backend_max_diff"]
    assert sorted(diffs) == sorted(set(BACKENDS) - {loader})
    for saver, diff in diffs.items():
        assert diff < 1e-4, f"saved on {saver}, decoded on {loader}: max |diff| {diff}"


# A learned class prior on every backend: two train_on_batch steps (JAX's stateless_call must
# see the prior's embedding as a weight), saved, then decoded by every other backend.
PRIOR_CHECK = """
import json, sys
from pathlib import Path
import numpy as np, keras
from kana_keras.model import KanaVAE, load_vae, save_vae

work, backend = Path(sys.argv[2]), keras.backend.backend()
rng = np.random.default_rng(0)
eps, labels = rng.standard_normal((5, 4)).astype("float32"), np.arange(5, dtype="int32")
result = {"backend": backend, "cross_backend_max_diff": {}}
if "--compare-only" not in sys.argv:
    keras.utils.set_random_seed(0)
    model = KanaVAE(prior="class", **TINY)
    model.compile(optimizer=keras.optimizers.Adam(1e-2))
    images, y = rng.random((10, 16, 16, 1)).astype("float32"), np.arange(10) % 5
    logs = [model.train_on_batch(images, y, return_dict=True) for _ in range(2)]
    result["losses"] = [float(log["loss"]) for log in logs]
    result["prior_moved"] = float(np.abs(model.prior_params(labels)[0]).max())
    save_vae(model, work / backend, list("abcde"))
    np.save(work / backend / "decoded.npy", model.decode(model.from_style(eps, labels), labels))
for saved in sorted(p for p in work.iterdir() if (p / "decoded.npy").exists()):
    if saved.name != backend:
        model, _ = load_vae(saved)
        drawn = model.decode(model.from_style(eps, labels), labels)
        result["cross_backend_max_diff"][saved.name] = float(
            np.abs(drawn - np.load(saved / "decoded.npy")).max())
print("RESULT " + json.dumps(result))
"""


@pytest.mark.slow
def test_class_prior_trains_and_loads_on_every_backend(tmp_path):
    script = tmp_path / "prior_check.py"
    script.write_text(f"TINY = {TINY!r}\n" + PRIOR_CHECK, encoding="utf-8")
    work = tmp_path / "work"
    work.mkdir()
    # each loads the weights saved before it; then the first loads the last's ("-": no cache)
    results = {b: _run_backend(b, "-", work, script=script) for b in BACKENDS}
    late = _run_backend(BACKENDS[0], "-", work, "--compare-only", script=script)
    results[BACKENDS[0]]["cross_backend_max_diff"].update(late["cross_backend_max_diff"])
    print(json.dumps(results, indent=1))
    loaded = set()
    for loader, r in results.items():
        assert np.isfinite(r["losses"]).all() and r["prior_moved"] > 1e-3, (loader, r)
        for saver, diff in r["cross_backend_max_diff"].items():
            assert diff < 1e-4, f"saved on {saver}, decoded on {loader}: max |diff| {diff}"
            loaded.add(saver)
    assert loaded == set(BACKENDS), results


# ## The fitted prior and blended decoding


def test_fitted_prior_matches_the_codes_and_round_trips(tmp_path):
    keras.utils.set_random_seed(0)
    model = KanaVAE(prior="class", fitted_prior=True, **TINY)
    rng = np.random.default_rng(0)
    images = rng.random((40, 16, 16, 1)).astype(np.float32)
    labels = np.arange(40) % 5
    assert not model.has_fitted_prior
    eps = rng.standard_normal((5, TINY["latent_dim"])).astype(np.float32)
    before = model.from_style(eps, range(5))          # not fitted yet: the trained prior
    np.testing.assert_allclose(before, model.prior_params(range(5))[0]
                               + np.exp(0.5 * model.prior_params(range(5))[1]) * eps, atol=1e-6)
    model.fit_latent_prior(images, labels, shrinkage=0)
    assert model.has_fitted_prior
    z_mean, z_log_var = model.encode(images, labels)
    centres = model.from_style(np.zeros_like(eps), range(5))
    want = np.stack([z_mean[labels == c].mean(0) for c in range(5)])
    np.testing.assert_allclose(centres, want, rtol=1e-4, atol=1e-5)
    # the spread of class 0: covariance of its codes plus their mean posterior variance
    scale = keras.ops.convert_to_numpy(model.fitted_scale)[0]
    members = z_mean[labels == 0]
    want_cov = np.cov(members, rowvar=False) + np.diag(np.exp(z_log_var[labels == 0]).mean(0))
    np.testing.assert_allclose(scale @ scale.T, want_cov, rtol=1e-3, atol=1e-5)
    z = model.from_style(eps, range(5))
    np.testing.assert_allclose(model.to_style(z, range(5)), eps, rtol=1e-4, atol=1e-4)
    save_vae(model, tmp_path, list("あいうえお"))
    loaded, _ = load_vae(tmp_path)
    assert loaded.has_fitted_prior
    np.testing.assert_allclose(loaded.from_style(eps, range(5)), z, rtol=1e-6, atol=1e-6)


def test_fitting_needs_room_for_a_fitted_prior():
    with pytest.raises(ValueError, match="fitted_prior=False"):
        KanaVAE(**TINY).fit_latent_prior(np.zeros((2, 16, 16, 1)), [0, 1])


def test_decode_blend_ends_are_the_two_kana():
    keras.utils.set_random_seed(1)
    model = KanaVAE(**TINY)
    table = np.random.default_rng(1).normal(size=(5, 16 * 16)).astype(np.float32)
    model.decoder.get_layer("class_template").embeddings.assign(table)
    z = np.random.default_rng(2).standard_normal((3, TINY["latent_dim"])).astype(np.float32)
    blended = model.decode_blend(z, 1, 3, [1.0, 0.5, 0.0])
    np.testing.assert_allclose(blended[0], model.decode(z[:1], [1])[0], atol=1e-5)
    np.testing.assert_allclose(blended[2], model.decode(z[2:], [3])[0], atol=1e-5)
    assert not np.allclose(blended[1], model.decode(z[1:2], [1])[0], atol=1e-3)


def test_a_mismatched_or_truncated_weights_file_is_named(tmp_path):
    model = KanaVAE(**TINY)
    save_vae(model, tmp_path / "a", list("あいうえお"))
    save_vae(KanaVAE(**TINY), tmp_path / "b", list("あいうえお"))
    (tmp_path / "a" / "kana_vae.weights.h5").write_bytes(
        (tmp_path / "b" / "kana_vae.weights.h5").read_bytes())
    with pytest.raises(ValueError, match=r"kana_vae.weights.h5: does not match .*config.json"):
        load_vae(tmp_path / "a")
    weights = tmp_path / "b" / "kana_vae.weights.h5"
    weights.write_bytes(weights.read_bytes()[:1000])
    config = json.loads((tmp_path / "b" / "config.json").read_text())
    del config["weights_sha256"]                   # an older folder: no digest to compare
    (tmp_path / "b" / "config.json").write_text(json.dumps(config))
    with pytest.raises(ValueError, match=r"kana_vae.weights.h5: cannot be read"):
        load_vae(tmp_path / "b")
    (tmp_path / "b" / "config.json").write_text("[1, 2]")
    with pytest.raises(ValueError, match=r"config.json: expected a JSON object"):
        load_vae(tmp_path / "b")


# ## Sub-pixel decoding, conditioning by parts, the writer bank


def test_subpixel_decoder_draws_full_size_images_and_round_trips(tmp_path):
    model = KanaVAE.for_classes("かきがぱは", upsampling="subpixel", upsampling_kernel=2,
                                output_upsampling=True, class_parts="marks",
                                **{k: v for k, v in TINY.items() if k != "num_classes"})
    assert model.num_classes == 5
    assert model.class_parts == [[0, 1, 0, 4, 4], [0, 0, 1, 2, 0]]
    assert model.decoder.get_layer("deconv_0_conv").kernel_size == (2, 2)
    assert model.decoder.get_layer("pixels_conv").kernel_size == (3, 3)   # centred taps
    z = np.random.default_rng(0).standard_normal((3, TINY["latent_dim"])).astype(np.float32)
    drawn = model.decode(z, [0, 2, 3])
    assert drawn.shape == (3, 16, 16, 1) and 0 <= drawn.min() and drawn.max() <= 1
    save_vae(model, tmp_path, list("かきがぱは"))
    loaded, _ = load_vae(tmp_path)
    assert loaded.class_parts == model.class_parts and loaded.upsampling == "subpixel"
    np.testing.assert_allclose(loaded.decode(z, [0, 2, 3]), drawn, atol=1e-6)


def test_class_parts_are_checked():
    with pytest.raises(ValueError, match="class_parts must be"):
        KanaVAE(class_parts="marks", **TINY)
    with pytest.raises(ValueError, match="a base class in \\[0, 5\\)"):
        KanaVAE(class_parts=([0, 1, 2, 3, 9], [0] * 5), **TINY)
    with pytest.raises(ValueError, match="upsampling must be one of"):
        KanaVAE(upsampling="bilinear", **TINY)


def test_writer_bank_holds_each_writers_styles_after_fitting(tmp_path):
    keras.utils.set_random_seed(0)
    model = KanaVAE(prior="class", fitted_prior=True, writer_bank=3, **TINY)
    rng = np.random.default_rng(0)
    images = rng.random((40, 16, 16, 1)).astype(np.float32)
    labels = np.arange(40) % 5
    writers = np.arange(40) // 10             # 4 writers; the bank has room for 3
    assert model.pick_bank_writer([0], rng) is None      # not fitted yet
    model.fit_latent_prior(images, labels, shrinkage=0, writers=writers)
    writer = model.pick_bank_writer([0, 1, 2, 3, 4], rng)
    assert writer in (0, 1, 2)
    z_mean, _ = model.encode(images, labels)
    mine = (writers == writer) & (labels == 3)      # writer slots follow id order
    want = model.to_style(z_mean[mine], labels[mine]).mean(0)
    np.testing.assert_allclose(model.bank_writer_styles([3], writer)[0], want, rtol=1e-4,
                               atol=1e-5)
    save_vae(model, tmp_path, list("あいうえお"))
    loaded, _ = load_vae(tmp_path)
    np.testing.assert_allclose(loaded.bank_writer_styles([3], writer), model.bank_writer_styles(
        [3], writer), atol=1e-6)
