"""What a finished run says: MODEL_CARD.md (how it was trained, results, data credit), the
recognizer's section of it, and the few lines printed at the end.
"""

from __future__ import annotations

import math
import os
import platform
import shlex
import time
from datetime import datetime, timezone
from pathlib import Path

from kana_keras.files import write_text_atomic
from kana_keras.fit.outputs import SAMPLE_TEMPERATURE
from kana_keras.fit.plan import Plan, command, have_tensorboard


def write_model_card(plan: Plan, engine, model, data, result, total_seconds: float) -> None:
    """MODEL_CARD.md: what the model is, the command and machine that made it, its figures."""
    import keras

    out, training, cache, history = plan.out, plan.training, data.cache, result.history
    backend, devices, train_seconds = engine.backend, engine.devices, result.seconds
    last = history[-1] if history else {}
    lines = [
        "# Model card: kana-keras VAE",
        "",
        f"A {'conditional ' if model.conditional else ''}variational autoencoder that draws "
        f"handwritten Japanese kana ({len(cache.classes)} classes, {model.image_size}x"
        f"{model.image_size} px, {model.latent_dim} latents, {model.count_params():,} parameters; "
        f"preset `{plan.preset}`).",
        "",
        "## How it was trained",
        "",
        f"- Command: `{command()}`",
        f"- Epochs: {len(history)} (batch {training['batch_size']}, Adam {training['learning_rate']}"
        f" with cosine decay, augmentation {'on' if training['augment'] else 'off'}, seed "
        f"{training['seed']})",
        f"- Backend: Keras {keras.__version__} on {backend}"
        + (f", data-parallel over {devices} devices" if devices > 1 else ""),
        f"- Machine: {_machine()}",
        f"- Time: {total_seconds / 60:.1f} min in all, {train_seconds / 60:.1f} min of training "
        f"(finished {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC)",
        f"- Data: `{training['data']}` -> cache `{cache.path if hasattr(cache, 'path') else ''}` "
        f"({cache.count('train')} train / {cache.count('val')} val / {cache.count('test')} test "
        f"images; the splits hold different writers)",
        "",
        "## Results (last epoch)",
        "",
        *(f"- {k}: {v}" for k, v in last.items() if k not in ("epoch", "seconds")),
        "",
        "Losses are per image: squared error summed over pixels + beta x KL divergence.",
        f"`samples.png`: one drawing per class at temperature {SAMPLE_TEMPERATURE}, "
        + _prior_words(model) + ". See also "
        "`reconstructions.png` (validation writers, top; their reconstructions, below), "
        "`training_curves.png`, `history.csv`.",
        "",
        "## Data credit and limits",
        "",
        "The built-in training set is synthetic: kana drawn from the stroke data of KanjiVG "
        "(c) Ulrich Apel, licensed CC BY-SA 3.0 (https://kanjivg.tagaini.net), by simulated "
        "writers. Weights trained on it are derived from KanjiVG and shared under CC BY-SA 3.0. "
        "It is not real handwriting: expect neat, stroke-like drawings; train on ETL "
        "(`--data path/to/ETL`) for real handwriting.",
        "",
    ]
    write_text_atomic(out / "MODEL_CARD.md", "\n".join(lines))


def _prior_words(model) -> str:
    """How samples.png's codes were drawn, in words for the model card."""
    if getattr(model, "has_fitted_prior", False):
        return ("z = mu_c + L_c eps, eps ~ N(0, I), from a full-covariance Gaussian per class "
                "fitted to the trained encoder's codes of the training split")
    if getattr(model, "prior", "standard") == "class":
        return "z = mu_c + sigma_c * eps, eps ~ N(0, I), from the learned class prior"
    return "z ~ N(0, I)"


def _machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count()} logical CPUs, {platform.system()} {platform.release()}"


def _append_card(out: Path, text: str) -> None:
    card = out / "MODEL_CARD.md"
    write_text_atomic(card, card.read_text(encoding="utf-8") + "\n" + text)


def train_recognizer_beside(plan: Plan, data, started: float) -> dict | None:
    """The kana recognizer (the judge of evaluate, the reader of the demo) into the same folder."""
    if not plan.recognizer:
        return None
    from kana_keras.recognizer import train_recognizer  # lazily: only when asked for

    metrics = train_recognizer(data.path, plan.out, seed=plan.seed, progress=not plan.quiet)
    scalars = {k: (round(v, 4) if isinstance(v, float) else v) for k, v in metrics.items()
               if isinstance(v, (int, float, str))}
    _append_card(plan.out, "## Recognizer (recognizer.weights.h5)\n\n" + "\n".join(
        f"- {k}: {v}" for k, v in scalars.items())
        + f"\n\nWhole job, recognizer included: {(time.time() - started) / 60:.1f} min.\n")
    return metrics


def print_summary(out: Path, history: list[dict], recognizer: dict | None, seconds: float,
                  run_dir: Path) -> None:
    """The few lines a person reads at the end: what is where, how good, what to run next."""
    from kana_keras.model import WEIGHTS_FILE

    last = history[-1] if history else {}
    figure = lambda key: f"{last[key]:.2f}" if key in last else "-"  # noqa: E731
    weights_flag = "" if out == Path("weights") else f" --weights {shlex.quote(str(out))}"
    lines = [f"kana_keras: done in {seconds / 60:.1f} min. In {out}:",
             f"  model       {WEIGHTS_FILE}, config.json, MODEL_CARD.md, history.csv",
             "  pictures    samples.png, reconstructions.png, training_curves.png"]
    if last:
        lines.append(f"  epoch {last['epoch']:<5} loss {figure('loss')} (validation "
                     f"{figure('val_loss')}): reconstruction {figure('reconstruction_loss')} "
                     f"+ KL {figure('kl_loss')} per image")
    if recognizer is not None:
        split = "test" if "test_accuracy" in recognizer else "val"
        lines.append(f"  recognizer  {recognizer.get(f'{split}_accuracy', math.nan):.1%} right on "
                     f"{recognizer.get(f'{split}_count', '?')} {split} images (unseen writers): "
                     f"recognizer.weights.h5")
    else:
        lines.append("  recognizer  not trained (--no-recognizer)")
    logs = "CSV and TensorBoard" if have_tensorboard() else "CSV"
    lines += [f"  logs        {run_dir} ({logs})",
              "Next:", f"  python demo/app.py{weights_flag}",
              f"  python -m kana_keras.evaluate{weights_flag}"]
    print("\n".join(lines), flush=True)
