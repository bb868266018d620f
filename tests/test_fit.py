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
    # the default preset samples from per-class Gaussians fitted to the finished codes
    assert config["model"]["fitted_prior"] and "fitted the per-class latent prior" in resumed.stdout
    assert "fitted to the trained encoder's codes" in card
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


# ## Usage errors: checked before any work, one line, rc 2


@pytest.mark.parametrize("flags, want", [
    (["--beta", "-1"], "--beta (the KL weight) must be a finite number >= 0, got -1.0"),
    (["--beta", "nan"], "--beta (the KL weight) must be a finite number >= 0"),
    (["--latent-dim", "0"], "--latent-dim must be at least 1, got 0"),
    (["--image-size", "50"], "--image-size 50 does not fit preset 'default': its decoder doubles "
                             "the picture 4 times, so the size must be a multiple of 16 (e.g. 48 "
                             "or 64)"),
    (["--image-size", "4"], "--image-size must be at least 8, got 4"),
    (["--preset", "huge"], "--preset must be one of ['blog', 'default'], got 'huge'"),
    (["--epochs", "0"], "--epochs must be at least 1, got 0"),
    (["--batch-size", "0"], "--batch-size must be at least 1, got 0"),
    (["--learning-rate", "-0.1"], "--learning-rate must be a finite number > 0, got -0.1"),
    (["--max-steps", "0"], "--max-steps must be at least 1, got 0"),
    (["--seed", "-1"], "--seed must be at least 0, got -1"),
])
def test_numbers_are_checked_before_any_work(tmp_path, monkeypatch, capsys, flags, want):
    """In-process: nothing is imported, drawn or converted before the check fails."""
    from kana_keras import fit as F

    monkeypatch.chdir(tmp_path)  # --data synthetic would draw and convert under data/ here
    monkeypatch.setenv("KERAS_BACKEND", os.environ.get("KERAS_BACKEND", "tensorflow"))
    rc = F.main(["--data", "synthetic", "--out", str(tmp_path / "w"), *flags])
    err = capsys.readouterr().err
    assert rc == 2 and err.startswith("error: ") and want in err, err
    assert len(err.strip().splitlines()) == 1
    assert not (tmp_path / "data").exists() and not (tmp_path / "w").exists()


def test_out_is_checked_before_the_data_is_converted(synthetic_dir, tmp_path):
    """A refused --out (another configuration, or a config.json that is no JSON object) is
    reported before the ETL files are converted: no cache appears under data/."""
    out = tmp_path / "w"
    out.mkdir()
    args = ["--data", str(synthetic_dir), "--out", str(out), *TINY]
    (out / "config.json").write_text(json.dumps({"signature": {"model": {"latent_dim": 4},
                                                               "training": {}}}))
    other = fit(args, cwd=tmp_path)
    assert other.returncode == 2, other.stderr[-3000:]
    assert "already holds weights from a different configuration" in other.stderr
    assert "latent_dim: 4 -> 8" in other.stderr
    (out / "config.json").write_text("[1, 2, 3]")
    listed = fit(args, cwd=tmp_path)
    assert listed.returncode == 2, listed.stderr[-3000:]
    assert f"error: {out / 'config.json'}: expected a JSON object, found a list" in listed.stderr
    assert "Traceback" not in listed.stderr
    assert not (tmp_path / "data").exists()


# ## Ctrl-C (sent by the process itself at a named point: _KANA_KERAS_FIT_SIGINT_AT)


def _interrupted(tiny_cache, tmp_path, where, epochs=3):
    """fit, sent SIGINT at ``where``; SIGINT's default restored (a background shell ignores it)."""
    out = tmp_path / "w"
    proc = subprocess.run(
        [sys.executable, "-m", "kana_keras.fit", "--data", str(tiny_cache), "--epochs",
         str(epochs), "--out", str(out), *TINY], cwd=tmp_path,
        env=_env(_KANA_KERAS_FIT_SIGINT_AT=where), capture_output=True, text=True, timeout=600,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    assert proc.returncode == 130, proc.stderr[-3000:]
    assert "Traceback" not in proc.stderr
    return out, proc


def test_ctrl_c_before_training_is_one_line_and_writes_nothing(tiny_cache, tmp_path):
    out, proc = _interrupted(tiny_cache, tmp_path, "data")
    assert [line for line in proc.stderr.splitlines() if line.strip()][-1] == (
        "kana_keras: interrupted (Ctrl-C); files already written are whole, none is half-written")
    assert not out.exists()


def test_ctrl_c_during_validation_keeps_the_epoch_just_trained(tiny_cache, tmp_path):
    out, proc = _interrupted(tiny_cache, tmp_path, "val:2")
    assert "interrupted after 2 complete epoch(s)" in proc.stderr and "dropped" not in proc.stderr
    state = json.loads((out / "checkpoint" / "state.json").read_text())
    assert state["epoch"] == 2 and [r["epoch"] for r in state["history"]] == [1, 2]
    assert [int(r["epoch"]) for r in _history(out)] == [1, 2]


def test_ctrl_c_mid_epoch_keeps_the_last_complete_one_and_resume_keeps_the_schedule(
        tiny_cache, tmp_path):
    out, proc = _interrupted(tiny_cache, tmp_path, "train:2:2")
    assert ("interrupted after 1 complete epoch(s); the unfinished epoch 2 was dropped"
            in proc.stderr)
    state = json.loads((out / "checkpoint" / "state.json").read_text())
    assert state["epoch"] == 1 and state["decay_steps"] == 9 and state["planned_epochs"] == 3
    assert len(_history(out)) == 1

    resumed = fit(["--data", str(tiny_cache), "--epochs", "4", "--out", str(out), *TINY,
                   "--resume"], cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    # the optimizer's step count comes back with its state, and the curve is the first run's
    assert f"resuming {out} at epoch 2 of 4 (learning-rate step 3 of 9)" in resumed.stdout
    assert "keeps the first run's cosine schedule (3 epochs, 9 steps)" in resumed.stdout
    assert [int(r["epoch"]) for r in _history(out)] == [1, 2, 3, 4]
    # the end: a few readable lines, not a dict
    assert f"In {out}:" in resumed.stdout and "epoch 4 " in resumed.stdout
    assert "recognizer  not trained (--no-recognizer)" in resumed.stdout
    assert f"python demo/app.py --weights {out}" in resumed.stdout
    assert f"python -m kana_keras.evaluate --weights {out}" in resumed.stdout
    assert "{" not in resumed.stdout.split("In ")[-1]


def test_summary_names_files_figures_and_next_commands(tmp_path, capsys):
    from kana_keras import fit as F

    row = {"epoch": 12, "kl_loss": 4.3, "loss": 142.1, "reconstruction_loss": 139.9,
           "val_loss": 150.25, "seconds": 220.0}
    F.print_summary(tmp_path / "w", [row], {"test_accuracy": 0.982, "test_count": 2336}, 660.0,
                    Path("runs/w-1"))
    out = capsys.readouterr().out
    assert f"done in 11.0 min. In {tmp_path / 'w'}:" in out
    assert "kana_vae.weights.h5" in out and "samples.png" in out
    assert "epoch 12    loss 142.10 (validation 150.25): reconstruction 139.90 + KL 4.30" in out
    assert "recognizer  98.2% right on 2336 test images" in out
    assert f"python demo/app.py --weights {tmp_path / 'w'}" in out
    assert "{" not in out and len(out.splitlines()) <= 10
    F.print_summary(Path("weights"), [row], None, 60.0, Path("runs/weights-1"))
    out = capsys.readouterr().out
    assert "python demo/app.py\n" in out and "python -m kana_keras.evaluate\n" in out


# ## The Plan and the steps, in-process (no training)


def test_progress_is_a_bar_on_a_terminal_and_a_line_per_epoch_into_a_pipe(monkeypatch):
    from kana_keras.fit.loop import keras_verbosity

    monkeypatch.setattr(sys.stdout, "isatty", lambda: False)
    assert keras_verbosity(quiet=False) == 2 and keras_verbosity(quiet=True) == 0
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True)
    assert keras_verbosity(quiet=False) == 1


def test_the_plan_carries_the_run_and_the_recognizer_hears_quiet(tmp_path, monkeypatch):
    """Every step takes the Plan alone; --quiet and --seed reach the recognizer beside the VAE,
    whose figures go into the model card."""
    from types import SimpleNamespace

    from kana_keras import recognizer
    from kana_keras.fit import card, plan as P

    calls = []

    def fake_train(path, out, seed, progress):
        calls.append((path, out, seed, progress))
        return {"test_accuracy": 0.51234, "test_count": 10, "history": [1, 2]}

    monkeypatch.setattr(recognizer, "train_recognizer", fake_train)
    plan = P.plan_run(P.build_parser().parse_args(
        ["--out", str(tmp_path), "--quiet", "--seed", "3", "--epochs", "2", "--resume"]))
    assert (plan.out, plan.quiet, plan.seed, plan.resume, plan.recognizer) == (
        tmp_path, True, 3, True, True)
    assert plan.training["epochs"] == 2 and plan.model_kwargs["seed"] == 3
    (tmp_path / "MODEL_CARD.md").write_text("# Model card\n", encoding="utf-8")
    metrics = card.train_recognizer_beside(plan, SimpleNamespace(path=tmp_path / "c"), 0.0)
    assert calls == [(tmp_path / "c", tmp_path, 3, False)] and metrics["test_count"] == 10
    text = (tmp_path / "MODEL_CARD.md").read_text(encoding="utf-8")
    assert "## Recognizer (recognizer.weights.h5)" in text and "- test_accuracy: 0.5123" in text
    assert "history" not in text
    plan.recognizer = False
    assert card.train_recognizer_beside(plan, None, 0.0) is None and len(calls) == 1
