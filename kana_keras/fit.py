"""The main job: ``python -m kana_keras.fit`` trains a KanaVAE and writes a weights folder.

With no arguments it draws the built-in synthetic set if needed, converts it, trains the
``default`` preset and writes ``weights/``: kana_vae.weights.h5, config.json, samples.png,
reconstructions.png, history.csv, training_curves.png, MODEL_CARD.md (and, unless
``--no-recognizer``, the recognizer beside them).

``run`` reads as the list of steps, each a function below it. Bad input (a number out of
range, an image size the preset's decoder cannot draw, an ``--out`` holding another
configuration) is refused with one line and exit 2 before anything is converted or built.

Ctrl-C stops after the current batch and keeps the last *complete* epoch: its weights are in
``--out`` and its checkpoint (weights, optimizer state, history, the learning-rate schedule's
length) in ``--out``/checkpoint; an epoch cut short is dropped and ``--resume`` redoes it.
``--resume`` follows the first run's cosine schedule even if ``--epochs`` changes.

Nothing here imports Keras at module level: ``--backend`` must set KERAS_BACKEND first.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import io
import json
import math
import os
import platform
import shlex
import shutil
import signal
import sys
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from kana_keras.cli import EXIT_INTERRUPTED, UsageError, report_errors
from kana_keras.files import read_json_object, write_json_atomic, write_text_atomic

BACKENDS = ("jax", "tensorflow", "torch")
#: The CPU default: measured fastest of the three for the default model on a 2-core CPU
#: (per 1,000 images: tensorflow 5.4 CPU-s, torch 24, jax 48: XLA-CPU transposed convs are slow).
DEFAULT_BACKEND = "tensorflow"
PIPELINES = ("auto", "tf.data", "numpy")
CHECKPOINT_DIR = "checkpoint"
#: At most this many training codes are encoded to fit a fitted prior (memory, time).
FITTED_PRIOR_CODES = 60_000
RUNS_DIR = Path("runs")
SAMPLE_CLASSES_SHOWN = 146
#: samples.png draws exactly what ``KanaGenerator.sample`` gives by default: temperature 1.
SAMPLE_TEMPERATURE = 1.0
#: The cosine learning-rate curve ends at this share of the peak rate.
LR_FLOOR = 0.05
EXIT_NAN = 3
#: Tests only: from this many training batches on, feed NaN images (to exercise the NaN stop).
_NAN_ENV = "_KANA_KERAS_FIT_NAN_FROM_BATCH"
#: Tests only: send ourselves the SIGINT of Ctrl-C at one point: "data" (before training),
#: "train:EPOCH:BATCH" (after that batch) or "val:EPOCH" (during that epoch's validation).
_SIGINT_ENV = "_KANA_KERAS_FIT_SIGINT_AT"


class FitError(UsageError):
    """fit's usage errors."""


# ## Command line


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m kana_keras.fit",
        description="Train the kana VAE and write a weights folder (default: the synthetic set, "
                    "the 'default' preset, weights/).")
    # data
    p.add_argument("--data", default="synthetic",
                   help="an ETL file or folder, a converted cache folder, or 'synthetic' (default)")
    p.add_argument("--kana", default="all", choices=("all", "hiragana", "katakana"),
                   help="class set when converting (all)")
    # model
    p.add_argument("--preset", default="default", help="model preset: default or blog")
    p.add_argument("--image-size", type=int, default=None, help="pixels (preset's)")
    p.add_argument("--latent-dim", type=int, default=None, help="latent size (preset's)")
    p.add_argument("--beta", type=float, default=None, help="KL weight (preset's)")
    # optimization
    p.add_argument("--epochs", type=int, default=None, help="epochs (preset's)")
    p.add_argument("--batch-size", type=int, default=None, help="global batch (preset's)")
    p.add_argument("--learning-rate", type=float, default=None, help="Adam rate (preset's)")
    p.add_argument("--seed", type=int, default=0, help="random seed (0)")
    # engine
    p.add_argument("--backend", choices=BACKENDS, default=None,
                   help=f"Keras backend (default: $KERAS_BACKEND or {DEFAULT_BACKEND})")
    p.add_argument("--distribute", action="store_true",
                   help="data-parallel over all local devices (JAX DataParallel, TF MirroredStrategy)")
    p.add_argument("--pipeline", choices=PIPELINES, default="auto",
                   help="input feed: tf.data, numpy (no TensorFlow needed), or auto: tf.data "
                        "when TensorFlow is installed (default)")
    # output
    p.add_argument("--out", type=Path, default=Path("weights"), help="weights folder (weights)")
    p.add_argument("--resume", action="store_true", help="continue from OUT/checkpoint")
    p.add_argument("--overwrite", action="store_true",
                   help="replace an OUT folder written with a different configuration")
    p.add_argument("--recognizer", dest="recognizer", action="store_true", default=True,
                   help="also train the kana recognizer into OUT (default)")
    p.add_argument("--no-recognizer", dest="recognizer", action="store_false")
    p.add_argument("--max-steps", type=int, default=None, help=argparse.SUPPRESS)  # tests
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    return p


def set_backend(backend: str | None) -> str:
    """Choose the Keras backend before Keras is imported (it cannot change afterwards)."""
    wanted = backend or os.environ.get("KERAS_BACKEND") or DEFAULT_BACKEND
    if "keras" in sys.modules:
        import keras
        if keras.backend.backend() != wanted:
            raise FitError(f"Keras is already imported with backend {keras.backend.backend()!r}; "
                           f"start a new process to use --backend {wanted}")
    os.environ["KERAS_BACKEND"] = wanted
    return wanted


# ## Configuration: every value checked before any work


#: Whole-number flags: (flag, argument name, least value accepted); unset (None) means the preset's.
INTEGER_FLAGS = (("--epochs", "epochs", 1), ("--batch-size", "batch_size", 1),
                 ("--latent-dim", "latent_dim", 1), ("--image-size", "image_size", 8),
                 ("--max-steps", "max_steps", 1), ("--seed", "seed", 0))
#: Model settings a flag can change: with the training settings they decide the configuration
#: before the model exists (num_classes follows --data and --kana, which are training settings).
MODEL_FLAGS = ("image_size", "latent_dim", "beta", "seed")


@dataclass
class Plan:
    """What the command line asks for: the preset with the flags applied, every value checked."""

    preset: str
    model_kwargs: dict
    training: dict

    def early_signature(self) -> dict:
        """The part of the configuration known before data or model exist (see MODEL_FLAGS)."""
        return _signature({k: self.model_kwargs[k] for k in MODEL_FLAGS}, self.training)


def plan_run(args) -> Plan:
    """Preset + flags -> a Plan; a bad value is a FitError naming its flag, before any work."""
    from kana_keras.presets import get_preset  # plain data, no Keras

    try:
        preset = get_preset(args.preset)
    except ValueError as exc:
        raise FitError(str(exc)) from None
    check_numbers(args)
    model_kwargs, training = training_config(args, preset)
    check_image_size(model_kwargs, args.preset)
    choose_pipeline(args.pipeline)  # --pipeline tf.data without TensorFlow: say so now
    return Plan(args.preset, model_kwargs, training)


def check_numbers(args) -> None:
    """Each numeric flag in its range: out of it, training fails late, in Keras, or into NaN."""
    for flag, name, least in INTEGER_FLAGS:
        value = getattr(args, name)
        if value is not None and value < least:
            raise FitError(f"{flag} must be at least {least}, got {value}")
    if args.seed >= 2**32:
        raise FitError(f"--seed must be below 2**32, got {args.seed}")
    if args.beta is not None and not (math.isfinite(args.beta) and args.beta >= 0):
        raise FitError(f"--beta (the KL weight) must be a finite number >= 0, got {args.beta}")
    if args.learning_rate is not None and not (math.isfinite(args.learning_rate)
                                               and args.learning_rate > 0):
        raise FitError(f"--learning-rate must be a finite number > 0, got {args.learning_rate}")


def check_image_size(model_kwargs: dict, preset: str) -> None:
    """A conv decoder doubles a square map once per filter (and once in the pixel layer), so
    the image size must divide by 2**doublings; checked on the preset's dict, nothing built."""
    if model_kwargs.get("decoder", "conv") != "conv" or "decoder_filters" not in model_kwargs:
        return  # a dense decoder takes any size; a preset without filters: the model checks
    doublings = len(model_kwargs["decoder_filters"]) + bool(model_kwargs.get("output_upsampling"))
    step, size = 2 ** doublings, model_kwargs["image_size"]
    if size % step:
        below, above = max(step, size - size % step), size - size % step + step
        raise FitError(f"--image-size {size} does not fit preset {preset!r}: its decoder doubles "
                       f"the picture {doublings} times, so the size must be a multiple of {step} "
                       f"(e.g. {below} or {above})")


def training_config(args, preset: dict) -> tuple[dict, dict]:
    """(model kwargs, training settings) from the preset overridden by the command line."""
    model_kwargs = dict(preset["model"])
    for name in ("image_size", "latent_dim", "beta"):
        value = getattr(args, name)
        if value is not None:
            model_kwargs[name] = value
    model_kwargs["seed"] = args.seed
    training = {
        "preset": args.preset,
        "epochs": args.epochs if args.epochs is not None else preset["epochs"],
        "batch_size": args.batch_size if args.batch_size is not None else preset["batch_size"],
        "learning_rate": (args.learning_rate if args.learning_rate is not None
                          else preset["learning_rate"]),
        "augment": preset["augment"],
        "seed": args.seed,
        "data": args.data,
        "kana": args.kana,
    }
    for name in ("epochs", "batch_size"):
        if training[name] < 1:
            raise FitError(f"--{name.replace('_', '-')} must be at least 1, got {training[name]}")
    return model_kwargs, training


def _signature(model_config: dict, training: dict) -> dict:
    """What makes two runs 'the same configuration' (epochs may grow on --resume)."""
    keep = {k: v for k, v in training.items() if k not in ("epochs",)}
    return json.loads(json.dumps({"model": model_config, "training": keep}))


def check_out_dir(out: Path, signature: dict, resume: bool, overwrite: bool) -> dict | None:
    """Refuse to overwrite another configuration's weights; return the checkpoint state if resuming.

    ``signature`` may hold only some model settings (Plan.early_signature, before the data is
    converted): then only those are compared. Run again with the full one once the model exists.
    """
    from kana_keras.model import CONFIG_FILE

    state_path = out / CHECKPOINT_DIR / "state.json"
    if resume:
        if not state_path.exists():
            raise FitError(f"--resume: no checkpoint in {out / CHECKPOINT_DIR} (training finished "
                           f"or never started there); run without --resume to start afresh")
        state = _read_json_object(state_path, ("signature", "epoch", "history"),
                                  "start afresh with --overwrite instead of --resume")
        old = _as_compared(state["signature"], signature)
        if old != signature:
            raise FitError(f"--resume: {out} was trained with a different configuration:\n"
                           f"  {_diff(old, signature)}\n"
                           f"pass the same options as the first run")
        return state
    config_path = out / CONFIG_FILE
    if config_path.exists() and not overwrite:
        config = _read_json_object(config_path, (),
                                   "use another --out, or --overwrite to replace it")
        old = _as_compared(config.get("signature"), signature)
        if old != signature:
            raise FitError(f"{out} already holds weights from a different configuration"
                           + (f" ({_diff(old, signature)})" if old else "")
                           + "; use another --out, or --overwrite to replace them")
    if state_path.exists() and not overwrite:
        raise FitError(f"{out} holds an unfinished run ({state_path}); continue it with --resume "
                       f"or start afresh with --overwrite")
    return None


def _read_json_object(path: Path, fields, advice: str) -> dict:
    """A JSON object with these fields, or a FitError (a usage error) naming the file and
    what to do."""
    try:
        return read_json_object(path, fields, advice)
    except ValueError as exc:
        raise FitError(str(exc)) from None


def _as_compared(old, signature: dict):
    """``old`` cut down to the model settings ``signature`` holds (all of them once it is full)."""
    if not isinstance(old, dict) or not isinstance(old.get("model"), dict):
        return old
    if set(signature["model"]) >= set(old["model"]):
        return old
    return {**old, "model": {k: old["model"].get(k) for k in signature["model"]}}


def _diff(old: dict | None, new: dict, prefix: str = "") -> str:
    if not isinstance(old, dict) or not isinstance(new, dict):
        return f"{prefix or 'config'}: {old!r} -> {new!r}"
    parts = []
    for key in sorted(set(old) | set(new)):
        if old.get(key) != new.get(key):
            parts.append(_diff(old.get(key), new.get(key), f"{prefix}{key}.") if isinstance(
                old.get(key), dict) else f"{prefix}{key}: {old.get(key)!r} -> {new.get(key)!r}")
    return "; ".join(parts) or "identical"


# ## Pictures


def sample_picture(model, classes, seed: int = 0):
    """One drawing per class (conditional) or a grid of unconditional samples."""
    from kana_keras import images

    if model.conditional:
        shown = list(range(min(len(classes), SAMPLE_CLASSES_SHOWN)))
        drawn = model.generate(labels=shown, seed=seed, temperature=SAMPLE_TEMPERATURE)
        return images.grid(drawn, labels=[classes[i] for i in shown], cols=16,
                           scale=_scale(model))
    return images.grid(model.generate(n=64, seed=seed, temperature=SAMPLE_TEMPERATURE), cols=8,
                       scale=_scale(model))


def _scale(model) -> int:
    return max(1, 64 // model.image_size)


def reconstruction_picture(model, val_images, val_labels):
    """Rows of originals (top) and their reconstructions (below)."""
    from kana_keras import images

    recon = model.reconstruct(val_images, val_labels if model.conditional else None)
    cols = 16
    rows = []
    for start in range(0, len(val_images), cols):
        rows += [val_images[start:start + cols], recon[start:start + cols]]
    return images.grid(np.concatenate(rows), cols=cols, scale=_scale(model))


def curves_picture(rows: list[dict], width: int = 720, height: int = 300):
    """Training curves (loss, reconstruction, KL; train solid, val dashed) drawn with PIL."""
    from PIL import Image, ImageDraw

    colours = {"loss": (0, 0, 0), "reconstruction_loss": (30, 90, 200), "kl_loss": (200, 60, 30)}
    picture = Image.new("RGB", (width, height * 2), "white")
    draw = ImageDraw.Draw(picture)
    epochs = [r["epoch"] for r in rows]
    for panel, group in enumerate((("loss", "reconstruction_loss"), ("kl_loss",))):
        top, left, right, bottom = panel * height + 20, 60, width - 20, panel * height + height - 30
        values = [float(r[p + k]) for r in rows for k in group for p in ("", "val_")
                  if math.isfinite(float(r.get(p + k, "nan")))]
        if not values or not epochs:
            continue
        lo, hi = min(values), max(values)
        hi = hi if hi > lo else lo + 1.0
        x_of = lambda e: left + (right - left) * ((e - epochs[0]) / max(1, epochs[-1] - epochs[0]))
        y_of = lambda v: bottom - (bottom - top) * (v - lo) / (hi - lo)
        draw.rectangle((left, top, right, bottom), outline=(160, 160, 160))
        draw.text((4, top - 12), f"{hi:.1f}", fill=(0, 0, 0))
        draw.text((4, bottom - 6), f"{lo:.1f}", fill=(0, 0, 0))
        draw.text((left, bottom + 6), f"epoch {epochs[0]}", fill=(0, 0, 0))
        draw.text((right - 60, bottom + 6), f"epoch {epochs[-1]}", fill=(0, 0, 0))
        for i, key in enumerate(group):
            for prefix, dashed in (("", False), ("val_", True)):
                pts = [(x_of(r["epoch"]), y_of(float(r[prefix + key]))) for r in rows
                       if math.isfinite(float(r.get(prefix + key, "nan")))]
                for a, b in zip(pts, pts[1:]):
                    if not dashed:
                        draw.line((a, b), fill=colours[key], width=2)
                        continue
                    pieces = max(2, int(math.hypot(b[0] - a[0], b[1] - a[1]) // 6))
                    for j in range(0, pieces, 2):  # 6-px dashes
                        t0, t1 = j / pieces, (j + 1) / pieces
                        draw.line((a[0] + (b[0] - a[0]) * t0, a[1] + (b[1] - a[1]) * t0,
                                   a[0] + (b[0] - a[0]) * t1, a[1] + (b[1] - a[1]) * t1),
                                  fill=colours[key], width=2)
                if len(pts) == 1:
                    draw.ellipse((pts[0][0] - 2, pts[0][1] - 2, pts[0][0] + 2, pts[0][1] + 2),
                                 fill=colours[key])
            draw.text((left + 10 + 230 * i, top + 4), f"{key} (val dashed)", fill=colours[key])
    return picture


# ## Files and checkpoints


def write_history(path: Path, rows: list[dict]) -> None:
    """history.csv, written whole (never half a file)."""
    if not rows:
        return
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    write_text_atomic(path, buf.getvalue())


def save_checkpoint(model, out: Path, state: dict) -> None:
    """Weights + optimizer state (a compiled model's weights file holds both), then state.json
    last, so the state never points at files not yet written.

    Only complete epochs are checkpointed: ``state["epoch"]`` epochs were trained and
    validated, and the optimizer's step count is theirs.
    """
    from kana_keras.model import save_weights_atomic

    ckpt = out / CHECKPOINT_DIR
    ckpt.mkdir(parents=True, exist_ok=True)
    save_weights_atomic(model, ckpt / "kana_vae.weights.h5")
    write_json_atomic(ckpt / "state.json", state)


def load_checkpoint(model, out: Path) -> None:
    model.optimizer.build(model.trainable_variables)  # so its saved state has somewhere to go
    model.load_weights(out / CHECKPOINT_DIR / "kana_vae.weights.h5")


def _to_numpy(variable):
    from keras import ops
    return ops.convert_to_numpy(variable.value if hasattr(variable, "value") else variable)


def _finite_weights(model) -> bool:
    return all(np.isfinite(_to_numpy(w)).all() for w in model.weights)


# ## Training: run() is the list of steps; each step is a function below it, in that order


def run(args) -> int:
    """The main job. Everything the user can get wrong is checked before the first real work."""
    started = time.time()
    plan = plan_run(args)                             # preset + flags, every value checked
    backend = set_backend(args.backend)
    check_engine(args, backend)                       # e.g. --distribute on torch: refused
    state = check_out_dir(args.out, plan.early_signature(), args.resume, args.overwrite)
    data = open_data(args, plan)                      # draws/converts the data when needed
    engine = start_engine(args, backend, plan)        # Keras, seeds, devices
    make_feeds(args, plan, data)                      # train/val batches, steps per epoch
    schedule = plan_schedule(plan, data, state)       # the first run's curve on --resume
    model = build_model(plan, engine, data.classes, schedule["decay_steps"])
    signature = _signature(model.get_config(), plan.training)
    state = check_out_dir(args.out, signature, args.resume, args.overwrite)  # the full config
    history = restore_or_start(model, engine, args, plan, data, state)
    writer = OutputWriter(model, args, plan, data, signature)
    result = train(model, args, plan, data, writer, history, {"signature": signature, **schedule})
    if result.bad is not None:
        return report_nan(result, args.out)
    if result.interrupted:
        return report_interrupt(result, args.out)
    finish_model(model, data)                         # post-training steps go here
    writer.write(result.history)
    write_model_card(args.out, args, backend, plan.training, model, result.history, data.cache,
                     time.time() - started, result.seconds, engine.devices)
    remove_checkpoint(args.out)                       # finished: the weights folder is the result
    recognizer = train_recognizer_beside(args, data, started)
    print_summary(args.out, result.history, recognizer, time.time() - started, writer.run_dir)
    return 0


def check_engine(args, backend: str) -> None:
    if args.distribute and backend == "torch":
        raise FitError("--distribute is not available with --backend torch: Keras 3 has no "
                       "distribution API for PyTorch. Use --backend jax (DataParallel) or "
                       "--backend tensorflow (MirroredStrategy), or drop --distribute.")


@dataclass
class TrainingData:
    """The converted cache and what training reads from it (feeds filled in by make_feeds)."""

    path: Path
    cache: object
    classes: list
    val_split: str
    val_images: np.ndarray      # up to 32 validation images for reconstructions.png
    val_labels: np.ndarray
    train: object = None
    val: object = None
    steps: int = 0


def open_data(args, plan: Plan) -> TrainingData:
    """--data -> a ready cache (the converter runs in its own process, Keras not needed yet)."""
    _sigint_if_asked("data")
    from kana_keras.cache import Cache
    from kana_keras.convert import resolve_data

    path = resolve_data(args.data, size=plan.model_kwargs["image_size"], kana=args.kana)
    cache = Cache.open(path)
    val_split = "val" if cache.count("val") else "train"
    count = cache.count(val_split)
    shown = np.linspace(0, count - 1, num=min(32, count)).astype(int)
    return TrainingData(path, cache, list(cache.classes), val_split,
                        cache.images(val_split)[shown].astype(np.float32)[..., None] / 255.0,
                        np.asarray(cache.labels(val_split)[shown], dtype=np.int32))


@dataclass
class Engine:
    """The backend and, with --distribute, the devices a batch is spread over."""

    backend: str
    devices: int = 1
    strategy: object = None     # tf.distribute.MirroredStrategy (JAX distributes globally)

    def scope(self):
        return self.strategy.scope() if self.strategy is not None else contextlib.nullcontext()


def start_engine(args, backend: str, plan: Plan) -> Engine:
    """Import Keras, set every seed, and set up data parallelism if asked for."""
    import keras

    keras.utils.set_random_seed(args.seed)
    if not args.distribute:
        return Engine(backend)
    if backend == "jax":
        devices_list = keras.distribution.list_devices()
        keras.distribution.set_distribution(keras.distribution.DataParallel(devices=devices_list))
        engine = Engine(backend, len(devices_list))
    else:
        import tensorflow as tf
        strategy = tf.distribute.MirroredStrategy()
        engine = Engine(backend, strategy.num_replicas_in_sync, strategy)
    batch_size = plan.training["batch_size"]
    if batch_size % engine.devices:
        raise FitError(f"--batch-size {batch_size} must be a multiple of the "
                       f"{engine.devices} devices used by --distribute")
    print(f"kana_keras: --distribute: data-parallel over {engine.devices} device(s) ({backend})")
    return engine


def make_feeds(args, plan: Plan, data: TrainingData) -> None:
    """Training and validation batches (tf.data or NumPy) and the steps of one epoch."""
    feed = input_feed(args.pipeline)
    batch_size = plan.training["batch_size"]
    data.steps = feed.steps_per_epoch(data.cache, "train", batch_size)
    if args.max_steps:
        data.steps = min(data.steps, args.max_steps)
    val_steps = max(1, args.max_steps // 2) if args.max_steps else None
    data.train = feed.make_dataset(data.cache, "train", batch_size,
                                   augment=plan.training["augment"], seed=args.seed,
                                   max_steps=args.max_steps)
    data.val = feed.make_dataset(data.cache, data.val_split, batch_size, shuffle=False,
                                 max_steps=val_steps)
    if os.environ.get(_NAN_ENV) and feed.__name__ == "kana_keras.data":  # a test hook (tf.data)
        data.train = _poison(data.train, int(os.environ[_NAN_ENV]))


def plan_schedule(plan: Plan, data: TrainingData, state: dict | None) -> dict:
    """The cosine learning-rate curve: {"decay_steps", "planned_epochs"}, kept in the checkpoint.

    --resume keeps the first run's, so a resumed run follows the same curve as one never
    interrupted (the optimizer's step count comes back with its state).
    """
    epochs = plan.training["epochs"]
    planned = {"decay_steps": max(1, epochs * data.steps), "planned_epochs": epochs}
    if state is None or "decay_steps" not in state:  # a fresh run, or an older checkpoint
        return planned
    first = {"decay_steps": int(state["decay_steps"]),
             "planned_epochs": state.get("planned_epochs", epochs)}
    if first != planned:
        print(f"kana_keras: --resume: the learning rate keeps the first run's cosine schedule "
              f"({first['planned_epochs']} epochs, {first['decay_steps']} steps), not one over "
              f"--epochs {epochs} ({planned['decay_steps']} steps); steps past its end train "
              f"at its floor ({LR_FLOOR:.0%} of the peak rate)")
    return first


def build_model(plan: Plan, engine: Engine, classes, decay_steps: int):
    """A compiled KanaVAE: Adam on a cosine curve, built inside the distribution scope."""
    import keras

    from kana_keras.model import KanaVAE

    with engine.scope():
        model = KanaVAE.for_classes(classes, **plan.model_kwargs)
        schedule = keras.optimizers.schedules.CosineDecay(
            plan.training["learning_rate"], decay_steps=decay_steps, alpha=LR_FLOOR)
        model.compile(optimizer=keras.optimizers.Adam(schedule))
    return model


def restore_or_start(model, engine: Engine, args, plan: Plan, data: TrainingData,
                     state: dict | None) -> list[dict]:
    """On --resume, the checkpoint's weights, optimizer state and history; else a fresh start
    (class templates from the training images). Returns the history of the epochs done."""
    out, epochs = args.out, plan.training["epochs"]
    out.mkdir(parents=True, exist_ok=True)
    if state is None:
        if args.overwrite and (out / CHECKPOINT_DIR).exists():
            shutil.rmtree(out / CHECKPOINT_DIR)
        model.init_class_templates(np.asarray(data.cache.images("train"), np.float32) / 255.0,
                                   np.asarray(data.cache.labels("train")))
        return []
    with engine.scope():
        load_checkpoint(model, out)
    history = list(state["history"])[:int(state["epoch"])]
    step = int(_to_numpy(model.optimizer.iterations))
    if len(history) >= epochs:
        print(f"kana_keras: the checkpoint already has {len(history)} epochs (--epochs "
              f"{epochs}); pass a larger --epochs to train further")
    else:
        print(f"kana_keras: resuming {out} at epoch {len(history) + 1} of {epochs} "
              f"(learning-rate step {step} of {state.get('decay_steps', '?')})")
    return history


class OutputWriter:
    """Writes the weights folder, each file whole: weights + config, pictures, history, curves.

    Called after every complete epoch (so an interrupted run leaves usable weights) and once
    at the end; each epoch's pictures also go to the run's log folder under runs/.
    """

    def __init__(self, model, args, plan: Plan, data: TrainingData, signature: dict):
        self.model, self.out, self.data, self.seed = model, args.out, data, args.seed
        self.run_dir = RUNS_DIR / f"{args.out.name}-{datetime.now(timezone.utc):%Y%m%d-%H%M%S}"
        self.extra = {"preset": plan.preset, "training": plan.training, "signature": signature,
                      "preprocess": _preprocess_params(), "cache": str(data.path)}

    def write(self, history: list[dict]) -> None:
        from kana_keras import images
        from kana_keras.model import save_vae

        save_vae(self.model, self.out, self.data.classes, extra=self.extra)
        pictures = {"samples.png": sample_picture(self.model, self.data.classes, seed=self.seed),
                    "reconstructions.png": reconstruction_picture(
                        self.model, self.data.val_images, self.data.val_labels)}
        for name, picture in pictures.items():
            images.save_atomic(picture, self.out / name)
            if history:
                epoch = history[-1]["epoch"]
                images.save_atomic(picture, self.run_dir / f"epoch{epoch:03d}-{name}")
        if history:
            write_history(self.out / "history.csv", history)
            images.save_atomic(curves_picture(history), self.out / "training_curves.png")


class EpochEnd:
    """What happens between batches and after each epoch (given to Keras as a LambdaCallback).

    - a non-finite loss or weight stops training; the last good epoch's files stay;
    - Ctrl-C (the ``ctrl_c`` flag) stops after the current batch. An epoch cut short is
      dropped: its weights are not saved as a complete epoch, the previous epoch's checkpoint
      stays, and --resume redoes it. An epoch whose training finished is kept even if Ctrl-C
      comes during its validation;
    - a complete epoch gets a history row, a checkpoint (``checkpoint_state`` plus epoch and
      history) and the weights folder's files.
    """

    def __init__(self, model, writer: OutputWriter, history: list[dict], steps: int,
                 ctrl_c: threading.Event, checkpoint_state: dict, started: float):
        self.model, self.writer, self.history, self.steps = model, writer, history, steps
        self.ctrl_c, self.checkpoint_state, self.started = ctrl_c, checkpoint_state, started
        self.epoch = 0          # 1-based, the epoch under way
        self.bad = None         # why training was stopped as broken
        self.cut_short = False  # Ctrl-C stopped an epoch before its last batch

    def keras_callback(self):
        import keras

        return keras.callbacks.LambdaCallback(
            on_epoch_begin=self.on_epoch_begin, on_train_batch_end=self.on_train_batch_end,
            on_test_batch_end=self.on_test_batch_end, on_epoch_end=self.on_epoch_end)

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch + 1

    def on_train_batch_end(self, batch, logs=None):
        _sigint_if_asked(f"train:{self.epoch}:{batch + 1}")
        if self.ctrl_c.is_set():
            self.cut_short = batch + 1 < self.steps
            self.model.stop_training = True
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(float(loss)):
            self.bad = f"the training loss became {float(loss)} at batch {batch + 1}"
            self.model.stop_training = True

    def on_test_batch_end(self, batch, logs=None):
        _sigint_if_asked(f"val:{self.epoch}")
        if self.cut_short:
            self.model.stop_evaluating = True  # validating a dropped epoch is time lost

    def on_epoch_end(self, epoch, logs=None):
        if self.cut_short:
            return
        logs = {k: float(v) for k, v in (logs or {}).items()}
        if self.bad is None and not all(math.isfinite(v) for v in logs.values()):
            self.bad = f"a loss became non-finite in epoch {epoch + 1}: {logs}"
        if self.bad is None and not _finite_weights(self.model):
            self.bad = f"the weights became non-finite in epoch {epoch + 1}"
        if self.bad is not None:
            self.model.stop_training = True
            return
        row = {"epoch": epoch + 1, **{k: round(v, 5) for k, v in sorted(logs.items())},
               "seconds": round(time.time() - self.started, 1)}
        save_checkpoint(self.model, self.writer.out, {
            **self.checkpoint_state, "epoch": epoch + 1, "history": self.history + [row]})
        self.history.append(row)  # only once the checkpoint holds it
        self.writer.write(self.history)
        if self.ctrl_c.is_set():  # Ctrl-C came during validation: this epoch is kept
            self.model.stop_training = True


@dataclass
class TrainingResult:
    history: list[dict]
    seconds: float
    bad: str | None = None      # why a NaN stop happened
    interrupted: bool = False
    cut_short: bool = False     # the interrupt dropped an unfinished epoch


def train(model, args, plan: Plan, data: TrainingData, writer: OutputWriter,
          history: list[dict], checkpoint_state: dict) -> TrainingResult:
    """model.fit over the epochs still to do, with logs under runs/; Ctrl-C and NaN stop it
    cleanly (see EpochEnd)."""
    import keras

    epochs, started = plan.training["epochs"], time.time()
    ctrl_c = threading.Event()
    epoch_end = EpochEnd(model, writer, history, data.steps, ctrl_c, checkpoint_state, started)
    writer.run_dir.mkdir(parents=True, exist_ok=True)
    callbacks = [epoch_end.keras_callback(),
                 keras.callbacks.CSVLogger(str(writer.run_dir / "log.csv"), append=True)]
    if _have_tensorboard():
        callbacks.append(keras.callbacks.TensorBoard(log_dir=str(writer.run_dir),
                                                     write_graph=False))
    else:
        print("kana_keras: the tensorboard package is not installed: CSV logs only "
              "(pip install tensorboard for TensorBoard logs)")
    print(f"kana_keras: training {plan.preset} ({model.count_params():,} parameters) on "
          f"{data.path} [{data.cache.count('train')} train / {data.cache.count(data.val_split)} "
          f"{data.val_split}], backend {keras.backend.backend()}, batch "
          f"{plan.training['batch_size']}, {epochs} epochs of {data.steps} steps; logs in "
          f"{writer.run_dir}", flush=True)
    interrupted = False
    try:
        with _stop_on_ctrl_c(ctrl_c):
            if len(history) < epochs:
                model.fit(data.train, validation_data=data.val, epochs=epochs,
                          initial_epoch=len(history), callbacks=callbacks,
                          verbose=0 if args.quiet else (1 if sys.stdout.isatty() else 2),
                          shuffle=False)  # the dataset shuffles itself
    except KeyboardInterrupt:  # a second Ctrl-C
        interrupted = True
    return TrainingResult(history, time.time() - started, epoch_end.bad,
                          interrupted or ctrl_c.is_set(), epoch_end.cut_short)


def report_nan(result: TrainingResult, out: Path) -> int:
    done = len(result.history)
    print(f"\nkana_keras: stopped: {result.bad}.\n"
          f"The last good weights (epoch {done}) are kept in {out}"
          + ("" if done else " (none: it failed in the first epoch)")
          + ". Try a lower --learning-rate or a smaller --beta.", file=sys.stderr)
    return EXIT_NAN


def report_interrupt(result: TrainingResult, out: Path) -> int:
    """Nothing is written here: the last complete epoch's checkpoint and files are on disk."""
    done = len(result.history)
    dropped = (f"; the unfinished epoch {done + 1} was dropped (--resume redoes it)"
               if result.cut_short else "")
    if not done:
        print("\nkana_keras: interrupted in epoch 1, before any epoch was complete: nothing "
              "to resume; run the command again to start over", file=sys.stderr)
    else:
        print(f"\nkana_keras: interrupted after {done} complete epoch(s){dropped}. The weights "
              f"of epoch {done} are in {out}, its checkpoint in {out / CHECKPOINT_DIR}. "
              f"Continue with:\n  {_command(extra_flags=['--resume'])}", file=sys.stderr)
    return EXIT_INTERRUPTED


def finish_model(model, data: TrainingData) -> None:
    """Complete the trained model from its training data before the final files are written.

    A model built with ``fitted_prior`` gets its per-class Gaussians fitted to the finished
    encoder's codes of the (unaugmented) training split, so samples come from where each
    class's codes really lie. Per-epoch files are written without it.
    """
    if not getattr(model, "fitted_prior", False):
        return
    count = data.cache.count("train")
    rows = np.arange(0, count, max(1, count // FITTED_PRIOR_CODES))  # a large cache: a stride
    images = np.asarray(data.cache.images("train")[rows], np.float32)[..., None] / 255.0
    labels = np.asarray(data.cache.labels("train")[rows]) if model.conditional else None
    writers = np.asarray(data.cache.sheets("train")[rows])
    log_likelihood = model.fit_latent_prior(images, labels, writers=writers)
    print(f"kana_keras: fitted the per-class latent prior to {len(images)} training codes "
          f"({log_likelihood:.1f} nats per code)", flush=True)


def remove_checkpoint(out: Path) -> None:
    if (out / CHECKPOINT_DIR).exists():
        shutil.rmtree(out / CHECKPOINT_DIR)


def train_recognizer_beside(args, data: TrainingData, started: float) -> dict | None:
    """The kana recognizer (the judge of evaluate, the reader of the demo) into the same folder."""
    if not args.recognizer:
        return None
    from kana_keras.recognizer import train_recognizer  # lazily: only when asked for

    metrics = train_recognizer(data.path, args.out, seed=args.seed)
    scalars = {k: (round(v, 4) if isinstance(v, float) else v) for k, v in metrics.items()
               if isinstance(v, (int, float, str))}
    _append_card(args.out, "## Recognizer (recognizer.weights.h5)\n\n" + "\n".join(
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
    logs = "CSV and TensorBoard" if _have_tensorboard() else "CSV"
    lines += [f"  logs        {run_dir} ({logs})",
              "Next:", f"  python demo/app.py{weights_flag}",
              f"  python -m kana_keras.evaluate{weights_flag}"]
    print("\n".join(lines), flush=True)


# ## Helpers


class _stop_on_ctrl_c:
    """The first Ctrl-C asks training to stop after the current batch; a second one aborts.

    A KeyboardInterrupt raised deep inside a backend (a tf.data generator, a compiled step)
    can be swallowed or turned into an end-of-data error there, so the first SIGINT only
    sets a flag that a callback reads after each batch, wherever the signal landed.
    """

    def __init__(self, flag: threading.Event):
        self.flag = flag
        self.previous = None

    def _handle(self, signum, frame):
        if self.flag.is_set():
            raise KeyboardInterrupt
        self.flag.set()
        print("\nkana_keras: Ctrl-C: stopping after this batch (press again to abort)",
              file=sys.stderr, flush=True)

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            self.previous = signal.signal(signal.SIGINT, self._handle)
        return self

    def __exit__(self, *exc):
        if self.previous is not None:
            signal.signal(signal.SIGINT, self.previous)
        return False


def _poison(ds, from_batch: int):
    """NaN images from the given global batch on (a test hook: see _NAN_ENV)."""
    import tensorflow as tf

    counter = tf.Variable(0, dtype=tf.int64, trainable=False)

    def maybe_nan(x, y):
        seen = counter.assign_add(1)
        return tf.cond(seen > from_batch, lambda: x * float("nan"), lambda: x), y

    return ds.map(maybe_nan)


def _have_tensorflow() -> bool:
    import importlib.util
    try:
        return importlib.util.find_spec("tensorflow") is not None
    except (ImportError, ValueError):  # e.g. sys.modules["tensorflow"] = None
        return False


def _have_tensorboard() -> bool:
    """Keras's TensorBoard callback writes through tf.summary: it needs both packages."""
    import importlib.util
    return importlib.util.find_spec("tensorboard") is not None and _have_tensorflow()


def choose_pipeline(pipeline: str) -> str:
    """'tf.data' or 'numpy' for --pipeline, importing neither (auto: tf.data if installed)."""
    if pipeline == "auto":
        return "tf.data" if _have_tensorflow() else "numpy"
    if pipeline == "tf.data" and not _have_tensorflow():
        raise FitError("--pipeline tf.data needs TensorFlow (pip install tensorflow), "
                       "or use --pipeline numpy")
    return pipeline


def input_feed(pipeline: str):
    """The module whose make_dataset feeds fit: tf.data, or NumPy batches without TensorFlow."""
    if choose_pipeline(pipeline) == "numpy":
        from kana_keras import batches
        return batches
    from kana_keras import data
    return data


def _sigint_if_asked(where: str) -> None:
    """A test hook: Ctrl-C's SIGINT, once, at the point named in _SIGINT_ENV."""
    if os.environ.get(_SIGINT_ENV) == where:
        del os.environ[_SIGINT_ENV]
        os.kill(os.getpid(), signal.SIGINT)


def _preprocess_params():
    try:
        from kana_keras.preprocess import PREPROCESS_PARAMS
        return PREPROCESS_PARAMS
    except ImportError:  # preprocess not available: the cache manifest still records it
        return None


def _command(extra_flags=()) -> str:
    argv = [a for a in sys.argv[1:] if a not in ("--resume", "--overwrite")]
    return shlex.join(["python", "-m", "kana_keras.fit", *argv, *extra_flags])


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


def write_model_card(out, args, backend, training, model, history, cache, total_seconds,
                     train_seconds, devices) -> None:
    import keras

    last = history[-1] if history else {}
    lines = [
        "# Model card: kana-keras VAE",
        "",
        f"A {'conditional ' if model.conditional else ''}variational autoencoder that draws "
        f"handwritten Japanese kana ({len(cache.classes)} classes, {model.image_size}x"
        f"{model.image_size} px, {model.latent_dim} latents, {model.count_params():,} parameters; "
        f"preset `{args.preset}`).",
        "",
        "## How it was trained",
        "",
        f"- Command: `{_command()}`",
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


def _append_card(out: Path, text: str) -> None:
    card = out / "MODEL_CARD.md"
    write_text_atomic(card, card.read_text(encoding="utf-8") + "\n" + text)


# ## Command line, run


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    return report_errors(run, args)


if __name__ == "__main__":
    sys.exit(main())
