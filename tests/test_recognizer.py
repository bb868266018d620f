"""recognizer: the network, its augmentation, calibration, training on a tiny cache, saving."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from kana_keras import recognizer as R


def test_build_and_config_round_trip():
    net = R.build_recognizer(146, 32)
    out = np.asarray(net(np.zeros((2, 32, 32, 1), "float32")))
    assert out.shape == (2, 146)
    assert np.asarray(net.embed(np.zeros((2, 32, 32, 1), "float32"))).shape == (2, net.dense_units)
    again = R.KanaRecognizer.from_config(net.get_config())
    assert json.dumps(again.get_config()) == json.dumps(net.get_config())
    assert net.get_config()["name"] == net.name          # chained from keras.Model
    big = R.build_recognizer(10, 64)  # a stride-2 stem for large inputs: same feature size
    assert np.asarray(big(np.zeros((1, 64, 64, 1), "float32"))).shape == (1, 10)


def test_registered_serialization_round_trip():
    """keras.saving finds the class by its registered name and rebuilds the same network."""
    import keras

    net = R.build_recognizer(12, 32, filters=(8, 16, 32), dense_units=16)
    blob = keras.saving.serialize_keras_object(net)
    assert blob["registered_name"] == "kana_keras>KanaRecognizer"
    again = keras.saving.deserialize_keras_object(blob)
    assert isinstance(again, R.KanaRecognizer)
    assert json.dumps(again.get_config()) == json.dumps(net.get_config())
    again.set_weights(net.get_weights())
    x = np.random.default_rng(0).random((2, 32, 32, 1)).astype("float32")
    assert np.allclose(np.asarray(again(x)), np.asarray(net(x)), atol=1e-5)


def test_augment_keeps_a_prepared_looking_image():
    img = np.zeros((32, 32), np.uint8)
    img[6:26, 14:18] = 255
    img[14:18, 6:26] = 200
    rng = np.random.default_rng(0)
    outs = [R.augment(img, rng) for _ in range(20)]
    assert all(o.shape == (32, 32) and o.dtype == np.uint8 and o.max() > 50 for o in outs)
    assert len({o.tobytes() for o in outs}) == 20          # every copy differs
    a = R.augment(img, np.random.default_rng(5))
    assert np.array_equal(a, R.augment(img, np.random.default_rng(5)))


def test_scan_like_gives_every_kind_of_scan_and_keeps_the_picture_prepared():
    img = np.zeros((64, 64), np.uint8)
    img[10:54, 26:34] = 255                                   # an 8 px stroke and a bar
    img[28:36, 10:54] = 230
    outs = [R.scan_like(img, np.random.default_rng(i)) for i in range(40)]
    assert all(o.shape == (64, 64) and o.dtype == np.uint8 and o.max() > 50 for o in outs)
    assert all(o[:3, :3].max() == 0 for o in outs)            # paper stays zero after prepare
    widths = [np.count_nonzero(o > 128) for o in outs]
    # 1-bit copies of one clean picture can coincide; the other kinds are random each time
    assert len({o.tobytes() for o in outs}) >= 20
    assert min(widths) < 0.5 * np.count_nonzero(img > 128), "no hairline copy among 40"
    again = R.scan_like(img, np.random.default_rng(3))
    assert np.array_equal(again, outs[3])


def test_label_smoothing_penalises_overconfidence():
    import keras

    logits = np.array([[20.0, 0.0, 0.0], [0.0, 3.0, 0.0]], "float32")
    labels = np.array([0, 1], "int32")
    plain = np.asarray(keras.ops.mean(R._loss(0.0)(labels, logits)))
    smooth = np.asarray(keras.ops.mean(R._loss(0.1)(labels, logits)))
    assert np.isfinite(smooth) and smooth > plain
    # plain cross-entropy rewards an extreme logit; smoothing makes it cost more than a moderate one
    plain_per = np.asarray(R._loss(0.0)(labels, logits))
    smooth_per = np.asarray(R._loss(0.1)(labels, logits))
    assert plain_per[0] < plain_per[1] and smooth_per[0] > smooth_per[1]


def test_expected_calibration_error_on_known_cases():
    labels = np.array([0, 1, 0, 1])
    sure_right = np.eye(2)[labels]
    assert R.expected_calibration_error(sure_right, labels) == pytest.approx(0.0, abs=1e-9)
    assert R.expected_calibration_error(sure_right, 1 - labels) == pytest.approx(1.0)
    # 0.75 confident and right 3 times out of 4: calibrated
    probs = np.array([[0.75, 0.25]] * 4)
    assert R.expected_calibration_error(probs, np.array([0, 0, 0, 1])) == pytest.approx(0.0, abs=1e-9)
    assert R.expected_calibration_error(probs, np.array([0, 1, 1, 1])) == pytest.approx(0.5)


def test_fit_temperature_recovers_the_true_temperature():
    rng = np.random.default_rng(0)
    logits = rng.normal(0, 4, (4000, 10))
    true_t = 2.5
    p = R.softmax(logits, true_t)
    labels = np.array([rng.choice(10, p=row) for row in p])
    assert R.fit_temperature(logits, labels) == pytest.approx(true_t, rel=0.15)


@pytest.fixture(scope="module")
def trained(tiny_cache, tmp_path_factory):
    out = tmp_path_factory.mktemp("recognizer")
    metrics = R.train_recognizer(tiny_cache, out, epochs=3, batch_size=64, seed=0,
                                 photo_pool_size=96, photo_eval=48, progress=False)
    return out, metrics


def test_training_writes_a_loadable_calibrated_recognizer(trained, tiny_cache):
    from kana_keras.cache import Cache

    out, metrics = trained
    assert sorted(p.name for p in out.iterdir()) == [R.CONFIG_FILE, R.WEIGHTS_FILE]
    history = metrics["history"]["loss"]
    assert history[-1] < history[0]
    for key in ("test_accuracy", "test_ece_before", "test_ece_after", "temperature",
                "test_photo_accuracy", "val_accuracy"):
        assert key in metrics, key
    assert metrics["temperature"] > 0
    cache = Cache.open(tiny_cache)
    test_x, test_y = np.asarray(cache.images("test")), np.asarray(cache.labels("test"))
    rec = R.load_recognizer(out)
    assert rec.classes == cache.classes and rec.image_size == cache.image_size
    # the stored accuracy is what the loaded model scores
    assert (rec.predict(test_x) == test_y).mean() == pytest.approx(metrics["test_accuracy_strict"])
    assert metrics["test_accuracy"] >= metrics["test_accuracy_strict"]
    probs = rec.probabilities(test_x[:5])
    assert np.allclose(probs.sum(1), 1, atol=1e-5)
    top = rec.top_k(test_x[0], k=3)
    assert len(top) == 3 and top[0][1] >= top[1][1] >= top[2][1]
    assert rec.features(test_x[:3]).shape == (3, rec.model.dense_units)


def test_load_errors_name_the_file(tmp_path, trained):
    with pytest.raises(FileNotFoundError, match="recognizer.json"):
        R.load_recognizer(tmp_path)
    out, _ = trained
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / R.WEIGHTS_FILE).write_bytes((out / R.WEIGHTS_FILE).read_bytes())
    (bad / R.CONFIG_FILE).write_text("{not json", encoding="utf-8")
    with pytest.raises(ValueError, match="not valid JSON"):
        R.load_recognizer(bad)
    (bad / R.CONFIG_FILE).write_text("[1, 2]", encoding="utf-8")
    with pytest.raises(ValueError, match=r"recognizer.json: expected a JSON object, found a list"):
        R.load_recognizer(bad)
    (bad / R.CONFIG_FILE).write_bytes((out / R.CONFIG_FILE).read_bytes())
    (bad / R.WEIGHTS_FILE).write_bytes((out / R.WEIGHTS_FILE).read_bytes()[:1000])  # truncated
    with pytest.raises(ValueError, match=r"recognizer.weights.h5: cannot be read"):
        R.load_recognizer(bad)


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["jax", "torch"])
def test_weights_load_under_other_backends(trained, tiny_cache, backend, tmp_path):
    """Saved under TensorFlow (this process), the recognizer gives the same logits elsewhere."""
    from kana_keras.cache import Cache

    out, _ = trained
    x = np.asarray(Cache.open(tiny_cache).images("test"))[:8]
    np.save(tmp_path / "x.npy", x)
    expected = R.load_recognizer(out).logits(x)
    code = (f"import numpy as np; from kana_keras import recognizer as R; "
            f"r = R.load_recognizer({str(out)!r}); "
            f"np.save({str(tmp_path / 'y.npy')!r}, r.logits(np.load({str(tmp_path / 'x.npy')!r})))")
    env = dict(os.environ, KERAS_BACKEND=backend,
               PYTHONPATH=str(Path(R.__file__).resolve().parent.parent))
    subprocess.run([sys.executable, "-c", code], check=True, env=env, timeout=300)
    assert np.allclose(np.load(tmp_path / "y.npy"), expected, atol=1e-3)


def test_cli_bad_data_is_one_line_not_a_traceback(tmp_path, capsys):
    from kana_keras import recognizer

    assert recognizer.main(["--data", str(tmp_path / "nowhere"), "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "nowhere" in err and "Traceback" not in err
