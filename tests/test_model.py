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


@pytest.mark.parametrize("conditional", [True, False])
def test_get_config_round_trip_is_identical(conditional):
    model = KanaVAE(conditional=conditional, **TINY)
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


def _run_backend(backend, cache, work, *flags):
    env = dict(os.environ, KERAS_BACKEND=backend, PYTHONPATH=str(ROOT))
    proc = subprocess.run([sys.executable, str(ROOT / "tests" / "backend_check.py"), str(cache),
                           str(work), *flags], env=env, capture_output=True, text=True,
                          timeout=600)
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
