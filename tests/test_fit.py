"""`python -m kana_keras.fit` end to end, in subprocesses on the tiny cache (few steps each)."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TINY = ["--image-size", "32", "--latent-dim", "8", "--batch-size", "32", "--max-steps", "3",
        "--no-recognizer", "--quiet"]

pytestmark = pytest.mark.slow


def _env(backend="tensorflow", **extra):
    return dict(os.environ, KERAS_BACKEND=backend, PYTHONPATH=str(ROOT),
                TF_CPP_MIN_LOG_LEVEL="2", **extra)


def fit(args, backend="tensorflow", cwd=None, env=None, timeout=600):
    return subprocess.run([sys.executable, "-m", "kana_keras.fit", *args], cwd=cwd,
                          env=env or _env(backend), capture_output=True, text=True,
                          timeout=timeout)


def _history(out):
    with open(out / "history.csv", newline="") as f:
        return list(csv.DictReader(f))


def test_interrupt_then_resume_then_refuse_other_config(tiny_cache, tmp_path):
    out = tmp_path / "w"
    args = ["--data", str(tiny_cache), "--epochs", "200", "--out", str(out), *TINY]
    proc = subprocess.Popen([sys.executable, "-m", "kana_keras.fit", *args], cwd=tmp_path,
                            env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    state = out / "checkpoint" / "state.json"
    deadline = time.time() + 500
    while not state.exists() and proc.poll() is None and time.time() < deadline:
        time.sleep(0.5)
    assert state.exists(), proc.communicate()[1][-3000:]
    proc.send_signal(signal.SIGINT)  # what Ctrl-C sends
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 130, err[-3000:]
    assert "--resume" in err and "interrupted" in err
    done = json.loads(state.read_text())["epoch"]
    assert 1 <= done < 200
    assert (out / "kana_vae.weights.h5").exists()  # usable weights straight away

    total = done + 2  # --epochs may grow on --resume; the rest must match
    args[args.index("--epochs") + 1] = str(total)
    resumed = fit([*args, "--resume"], cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert f"resuming {out} at epoch {done + 1}" in resumed.stdout
    rows = _history(out)
    assert [int(r["epoch"]) for r in rows] == list(range(1, total + 1))
    # validation (unseen writers, no augmentation): the training loss of 3 augmented batches
    # is too noisy to compare epoch to epoch
    assert float(rows[-1]["val_loss"]) < float(rows[0]["val_loss"])
    assert not (out / "checkpoint").exists()
    for name in ("kana_vae.weights.h5", "config.json", "samples.png", "reconstructions.png",
                 "history.csv", "training_curves.png", "MODEL_CARD.md"):
        assert (out / name).stat().st_size > 0, name
    config = json.loads((out / "config.json").read_text())
    assert config["image_size"] == 32 and len(config["classes"]) == 146
    assert config["model"]["latent_dim"] == 8 and config["preset"] == "default"
    card = (out / "MODEL_CARD.md").read_text()
    assert "python -m kana_keras.fit" in card and "KanjiVG" in card and "CC BY-SA 3.0" in card
    assert list((tmp_path / "runs").glob("w-*/log.csv"))

    other = fit([*args[:-len(TINY)], *TINY[:2], "--latent-dim", "4", *TINY[4:]], cwd=tmp_path)
    assert other.returncode == 2
    assert "different configuration" in other.stderr and "latent_dim" in other.stderr
    assert json.loads((out / "config.json").read_text())["model"]["latent_dim"] == 8


def test_nan_loss_stops_and_keeps_the_last_good_weights(tiny_cache, tmp_path):
    out = tmp_path / "w"
    proc = fit(["--data", str(tiny_cache), "--epochs", "3", "--out", str(out), *TINY],
               env=_env(_KANA_KERAS_FIT_NAN_FROM_BATCH="3"), cwd=tmp_path)  # epoch 2, batch 1
    assert proc.returncode == 3, proc.stderr[-3000:]
    assert "non-finite" in proc.stderr or "became nan" in proc.stderr
    assert "last good weights (epoch 1)" in proc.stderr
    assert len(_history(out)) == 1
    sys.path.insert(0, str(ROOT))
    check = subprocess.run([sys.executable, "-c", (
        "import sys, numpy as np; from kana_keras.model import load_vae; "
        "m, c = load_vae(sys.argv[1]); "
        "assert all(np.isfinite(np.asarray(w)).all() for w in m.get_weights()); "
        "x = m.generate(labels=[0, 1], seed=0); assert np.isfinite(x).all(); print('ok')"),
        str(out)], env=_env(), capture_output=True, text=True, timeout=300)
    assert check.stdout.strip() == "ok", check.stderr[-3000:]


def test_distribute_on_two_virtual_jax_devices(tiny_cache, tmp_path):
    proc = fit(["--data", str(tiny_cache), "--epochs", "1", "--out", str(tmp_path / "w"),
                "--distribute", *TINY], backend="jax", cwd=tmp_path,
               env=_env("jax", XLA_FLAGS="--xla_force_host_platform_device_count=2"))
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "data-parallel over 2 device(s) (jax)" in proc.stdout
    assert len(_history(tmp_path / "w")) == 1


def test_distribute_on_two_virtual_tensorflow_devices(tiny_cache, tmp_path):
    script = (
        "import sys, tensorflow as tf\n"
        "cpu = tf.config.list_physical_devices('CPU')[0]\n"
        "tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)\n"
        "from kana_keras.fit import main\n"
        "sys.exit(main(sys.argv[1:]))\n")
    proc = subprocess.run([sys.executable, "-c", script, "--data", str(tiny_cache), "--epochs",
                           "1", "--out", str(tmp_path / "w"), "--distribute", *TINY],
                          cwd=tmp_path, env=_env("tensorflow"), capture_output=True, text=True,
                          timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "data-parallel over 2 device(s) (tensorflow)" in proc.stdout
    assert len(_history(tmp_path / "w")) == 1


def test_trains_without_tensorflow_on_the_numpy_feed(tiny_cache, tmp_path):
    """A GPU box with JAX only: TensorFlow cannot be imported, fit picks the NumPy feed."""
    blocker = tmp_path / "no_tf"
    blocker.mkdir()
    (blocker / "sitecustomize.py").write_text('import sys\nsys.modules["tensorflow"] = None\n')
    env = _env("jax")
    env["PYTHONPATH"] = os.pathsep.join([str(blocker), str(ROOT)])
    proc = fit(["--data", str(tiny_cache), "--epochs", "2", "--out", str(tmp_path / "w"), *TINY],
               backend="jax", cwd=tmp_path, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    rows = _history(tmp_path / "w")
    assert len(rows) == 2 and all(float(r["loss"]) > 0 for r in rows)
    assert (tmp_path / "w" / "kana_vae.weights.h5").exists()
    refused = fit(["--data", str(tiny_cache), "--pipeline", "tf.data", "--out",
                   str(tmp_path / "w2"), *TINY], backend="jax", cwd=tmp_path, env=env)
    assert refused.returncode != 0 and "--pipeline tf.data needs TensorFlow" in refused.stderr


def test_distribute_on_torch_is_refused_plainly(tiny_cache, tmp_path):
    proc = fit(["--data", str(tiny_cache), "--distribute", "--out", str(tmp_path / "w"), *TINY],
               backend="torch", cwd=tmp_path)
    assert proc.returncode == 2
    assert "not available with --backend torch" in proc.stderr
    assert not (tmp_path / "w").exists()


def test_bad_arguments_get_clear_errors(tmp_path):
    missing = fit(["--data", str(tmp_path / "nope"), "--out", str(tmp_path / "w"), *TINY],
                  cwd=tmp_path)
    assert missing.returncode == 2 and "no such file or folder" in missing.stderr
    preset = fit(["--preset", "huge", "--out", str(tmp_path / "w")], cwd=tmp_path)
    assert preset.returncode != 0 and "--preset must be one of" in preset.stderr
