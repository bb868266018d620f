"""The main job: ``python -m kana_keras.fit`` trains a KanaVAE and writes a weights folder.

With no arguments it draws the built-in synthetic set if needed, converts it, trains the
``default`` preset and writes ``weights/``: kana_vae.weights.h5, config.json, samples.png,
reconstructions.png, history.csv, training_curves.png, MODEL_CARD.md (and, unless
``--no-recognizer``, the recognizer beside them).

Nothing here imports Keras at module level: ``--backend`` must set KERAS_BACKEND first.
"""

from __future__ import annotations

import argparse
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
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

BACKENDS = ("jax", "tensorflow", "torch")
#: The CPU default: measured fastest of the three for the default model on a 2-core CPU
#: (per 1,000 images: tensorflow 5.4 CPU-s, torch 24, jax 48: XLA-CPU transposed convs are slow).
DEFAULT_BACKEND = "tensorflow"
PIPELINES = ("auto", "tf.data", "numpy")
CHECKPOINT_DIR = "checkpoint"
RUNS_DIR = Path("runs")
SAMPLE_CLASSES_SHOWN = 146
#: samples.png draws from the prior at temperature 0.7: its tails decode to smudges, its core to kana.
SAMPLE_TEMPERATURE = 0.7
EXIT_NAN = 3
EXIT_INTERRUPTED = 130
#: Tests only: from this many training batches on, feed NaN images (to exercise the NaN stop).
_NAN_ENV = "_KANA_KERAS_FIT_NAN_FROM_BATCH"


class FitError(RuntimeError):
    """A problem the user can fix (message says how)."""


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


# ## Configuration


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
    """Refuse to overwrite another configuration's weights; return the checkpoint state if resuming."""
    from kana_keras.model import CONFIG_FILE

    state_path = out / CHECKPOINT_DIR / "state.json"
    if resume:
        if not state_path.exists():
            raise FitError(f"--resume: no checkpoint in {out / CHECKPOINT_DIR} (training finished "
                           f"or never started there); run without --resume to start afresh")
        state = json.loads(state_path.read_text(encoding="utf-8"))
        if state["signature"] != signature:
            raise FitError(f"--resume: {out} was trained with a different configuration:\n"
                           f"  {_diff(state['signature'], signature)}\n"
                           f"pass the same options as the first run")
        return state
    config_path = out / CONFIG_FILE
    if config_path.exists() and not overwrite:
        try:
            old = json.loads(config_path.read_text(encoding="utf-8")).get("signature")
        except json.JSONDecodeError:
            old = None
        if old != signature:
            raise FitError(f"{out} already holds weights from a different configuration"
                           + (f" ({_diff(old, signature)})" if old else "")
                           + f"; use another --out, or --overwrite to replace them")
    if state_path.exists() and not overwrite:
        raise FitError(f"{out} holds an unfinished run ({state_path}); continue it with --resume "
                       f"or start afresh with --overwrite")
    return None


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

    keys = ("loss", "reconstruction_loss", "kl_loss")
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


def write_history(path: Path, rows: list[dict]) -> None:
    """history.csv, written whole through a temporary file."""
    if not rows:
        return
    fields = list(rows[0])
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=fields)
    writer.writeheader()
    writer.writerows(rows)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(buf.getvalue(), encoding="utf-8")
    os.replace(tmp, path)


def _write_text_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


# ## Checkpoints


def save_checkpoint(model, out: Path, state: dict) -> None:
    """Weights + optimizer state (a compiled model's weights file holds both), then state.json
    last, so the state never points at files not yet written."""
    from kana_keras.model import save_weights_atomic

    ckpt = out / CHECKPOINT_DIR
    ckpt.mkdir(parents=True, exist_ok=True)
    save_weights_atomic(model, ckpt / "kana_vae.weights.h5")
    _write_text_atomic(ckpt / "state.json", json.dumps(state, indent=2))


def load_checkpoint(model, out: Path) -> None:
    model.optimizer.build(model.trainable_variables)  # so its saved state has somewhere to go
    model.load_weights(out / CHECKPOINT_DIR / "kana_vae.weights.h5")


def _to_numpy(variable):
    from keras import ops
    return ops.convert_to_numpy(variable.value if hasattr(variable, "value") else variable)


def _finite_weights(model) -> bool:
    return all(np.isfinite(_to_numpy(w)).all() for w in model.weights)


# ## Training


def run(args) -> int:
    backend = set_backend(args.backend)
    from kana_keras.presets import get_preset

    preset = get_preset(args.preset)
    model_kwargs, training = training_config(args, preset)
    out: Path = args.out
    started = time.time()

    if args.distribute and backend == "torch":
        raise FitError("--distribute is not available with --backend torch: Keras 3 has no "
                       "distribution API for PyTorch. Use --backend jax (DataParallel) or "
                       "--backend tensorflow (MirroredStrategy), or drop --distribute.")

    from kana_keras.convert import resolve_data  # no TF/Keras: cheap to import here

    cache_path = resolve_data(args.data, size=model_kwargs["image_size"], kana=args.kana)

    import keras

    from kana_keras.cache import Cache
    from kana_keras.model import KanaVAE, save_vae

    cache = Cache.open(cache_path)
    classes = list(cache.classes)
    model_kwargs["num_classes"] = len(classes)
    keras.utils.set_random_seed(args.seed)

    strategy, devices = None, 1
    if args.distribute:
        if backend == "jax":
            devices_list = keras.distribution.list_devices()
            keras.distribution.set_distribution(keras.distribution.DataParallel(devices=devices_list))
            devices = len(devices_list)
        else:
            import tensorflow as tf
            strategy = tf.distribute.MirroredStrategy()
            devices = strategy.num_replicas_in_sync
        if training["batch_size"] % devices:
            raise FitError(f"--batch-size {training['batch_size']} must be a multiple of the "
                           f"{devices} devices used by --distribute")
        print(f"kana_keras: --distribute: data-parallel over {devices} device(s) ({backend})")

    batch_size, epochs = training["batch_size"], training["epochs"]
    feed = input_feed(args.pipeline)
    steps = feed.steps_per_epoch(cache, "train", batch_size)
    if args.max_steps:
        steps = min(steps, args.max_steps)
    val_split = "val" if cache.count("val") else "train"
    val_steps = max(1, args.max_steps // 2) if args.max_steps else None
    train_ds = feed.make_dataset(cache, "train", batch_size, augment=training["augment"],
                                 seed=args.seed, max_steps=args.max_steps)
    val_ds = feed.make_dataset(cache, val_split, batch_size, shuffle=False, max_steps=val_steps)
    if os.environ.get(_NAN_ENV) and feed.__name__ == "kana_keras.data":  # a test hook (tf.data)
        train_ds = _poison(train_ds, int(os.environ[_NAN_ENV]))
    shown = np.linspace(0, cache.count(val_split) - 1, num=min(32, cache.count(val_split))).astype(int)
    val_images = cache.images(val_split)[shown].astype(np.float32)[..., None] / 255.0
    val_labels = np.asarray(cache.labels(val_split)[shown], dtype=np.int32)

    def build():
        model = KanaVAE(**model_kwargs)
        schedule = keras.optimizers.schedules.CosineDecay(
            training["learning_rate"], decay_steps=max(1, epochs * steps), alpha=0.05)
        model.compile(optimizer=keras.optimizers.Adam(schedule))
        return model

    if strategy is not None:
        with strategy.scope():
            model = build()
    else:
        model = build()
    model_config = model.get_config()
    signature = _signature(model_config, training)
    state = check_out_dir(out, signature, args.resume, args.overwrite)
    out.mkdir(parents=True, exist_ok=True)
    history: list[dict] = []
    initial_epoch = 0
    if state is not None:
        if strategy is not None:
            with strategy.scope():
                load_checkpoint(model, out)
        else:
            load_checkpoint(model, out)
        history = state["history"]
        initial_epoch = state["epoch"]
        if initial_epoch >= epochs:
            print(f"kana_keras: the checkpoint already has {initial_epoch} epochs (--epochs "
                  f"{epochs}); pass a larger --epochs to train further")
        else:
            print(f"kana_keras: resuming {out} at epoch {initial_epoch + 1} of {epochs}")
    else:
        if args.overwrite and (out / CHECKPOINT_DIR).exists():
            shutil.rmtree(out / CHECKPOINT_DIR)
        model.init_class_templates(np.asarray(cache.images("train"), np.float32) / 255.0,
                                   np.asarray(cache.labels("train")))

    run_dir = RUNS_DIR / f"{out.name}-{datetime.now(timezone.utc):%Y%m%d-%H%M%S}"
    extra = {"preset": args.preset, "training": training, "signature": signature,
             "preprocess": _preprocess_params(), "cache": str(cache_path)}

    def write_outputs(epoch_rows):
        save_vae(model, out, classes, extra=extra)
        pictures = {"samples.png": sample_picture(model, classes, seed=args.seed),
                    "reconstructions.png": reconstruction_picture(model, val_images, val_labels)}
        from kana_keras import images
        for name, picture in pictures.items():
            images.save_atomic(picture, out / name)
            if epoch_rows:
                images.save_atomic(picture, run_dir / f"epoch{epoch_rows[-1]['epoch']:03d}-{name}")
        if epoch_rows:
            write_history(out / "history.csv", epoch_rows)
            images.save_atomic(curves_picture(epoch_rows), out / "training_curves.png")

    class EpochEnd(keras.callbacks.Callback):
        """Per epoch: stop on NaN (keeping the last good files), else checkpoint + pictures."""

        def __init__(self):
            super().__init__()
            self.bad = None

        def on_train_batch_end(self, batch, logs=None):
            if ctrl_c.is_set():
                self.model.stop_training = True
            loss = (logs or {}).get("loss")
            if loss is not None and not math.isfinite(float(loss)):
                self.bad = f"the training loss became {float(loss)} at batch {batch + 1}"
                self.model.stop_training = True

        def on_epoch_end(self, epoch, logs=None):
            if ctrl_c.is_set():
                return  # a cut-short epoch is not a complete one: the caller checkpoints
            logs = {k: float(v) for k, v in (logs or {}).items()}
            if self.bad is None and not all(math.isfinite(v) for v in logs.values()):
                self.bad = f"a loss became non-finite in epoch {epoch + 1}: {logs}"
            if self.bad is None and not _finite_weights(self.model):
                self.bad = f"the weights became non-finite in epoch {epoch + 1}"
            if self.bad is not None:
                self.model.stop_training = True
                return
            row = {"epoch": epoch + 1, **{k: round(v, 5) for k, v in sorted(logs.items())},
                   "seconds": round(time.time() - started, 1)}
            history.append(row)
            save_checkpoint(self.model, out, {"epoch": epoch + 1, "history": history,
                                              "signature": signature})
            write_outputs(history)

    ctrl_c = threading.Event()
    epoch_end = EpochEnd()
    run_dir.mkdir(parents=True, exist_ok=True)
    callbacks = [epoch_end, keras.callbacks.CSVLogger(str(run_dir / "log.csv"), append=True)]
    if _have_tensorboard():
        callbacks.append(keras.callbacks.TensorBoard(log_dir=str(run_dir), write_graph=False))
    else:
        print("kana_keras: the tensorboard package is not installed: CSV logs only "
              "(pip install tensorboard for TensorBoard logs)")
    verbose = 0 if args.quiet else (1 if sys.stdout.isatty() else 2)
    print(f"kana_keras: training {args.preset} ({model.count_params():,} parameters) on "
          f"{cache_path} [{cache.count('train')} train / {cache.count(val_split)} {val_split}], "
          f"backend {backend}, batch {batch_size}, {epochs} epochs of {steps} steps; logs in "
          f"{run_dir}", flush=True)
    train_started = time.time()
    interrupted = False
    try:
        with _stop_on_ctrl_c(ctrl_c):
            if initial_epoch < epochs:
                model.fit(train_ds, validation_data=val_ds, epochs=epochs,
                          initial_epoch=initial_epoch, callbacks=callbacks, verbose=verbose,
                          shuffle=False)  # the dataset shuffles itself
    except KeyboardInterrupt:
        interrupted = True
    interrupted = interrupted or ctrl_c.is_set()
    train_seconds = time.time() - train_started

    resume_cmd = _command(extra_flags=["--resume"])
    if epoch_end.bad is not None:
        print(f"\nkana_keras: stopped: {epoch_end.bad}.\n"
              f"The last good weights (epoch {len(history)}) are kept in {out}"
              + ("" if history else " (none: it failed in the first epoch)")
              + ". Try a lower --learning-rate or a smaller --beta.", file=sys.stderr)
        return EXIT_NAN
    if interrupted:
        done = len(history)
        if _finite_weights(model):
            save_checkpoint(model, out, {"epoch": done, "history": history,
                                         "signature": signature})
            save_vae(model, out, classes, extra=extra)
        print(f"\nkana_keras: interrupted after {done} complete epoch(s); a usable checkpoint "
              f"is in {out / CHECKPOINT_DIR}. Continue with:\n  {resume_cmd}", file=sys.stderr)
        return EXIT_INTERRUPTED

    write_outputs(history)
    write_model_card(out, args, backend, training, model, history, cache, time.time() - started,
                     train_seconds, devices)
    if (out / CHECKPOINT_DIR).exists():
        shutil.rmtree(out / CHECKPOINT_DIR)  # finished: the weights folder is the result
    print(f"kana_keras: wrote {out} in {time.time() - started:.0f} s "
          f"(final {', '.join(f'{k} {v}' for k, v in history[-1].items() if k != 'epoch')})"
          if history else f"kana_keras: wrote {out}")

    if args.recognizer:
        from kana_keras.recognizer import train_recognizer  # lazily: only when asked for
        metrics = train_recognizer(cache_path, out, seed=args.seed)
        print(f"kana_keras: recognizer written to {out}: {metrics}")
        scalars = {k: (round(v, 4) if isinstance(v, float) else v) for k, v in metrics.items()
                   if isinstance(v, (int, float, str))}
        _append_card(out, "## Recognizer (recognizer.weights.h5)\n\n" + "\n".join(
            f"- {k}: {v}" for k, v in scalars.items())
            + f"\n\nWhole job, recognizer included: {(time.time() - started) / 60:.1f} min.\n")
    return 0


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


def input_feed(pipeline: str):
    """The module whose make_dataset feeds fit: tf.data, or NumPy batches without TensorFlow."""
    if pipeline == "auto":
        pipeline = "tf.data" if _have_tensorflow() else "numpy"
    if pipeline == "numpy":
        from kana_keras import batches
        return batches
    if not _have_tensorflow():
        raise FitError("--pipeline tf.data needs TensorFlow (pip install tensorflow), "
                       "or use --pipeline numpy")
    from kana_keras import data
    return data


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
        f"`samples.png`: one drawing per class from the prior at temperature {SAMPLE_TEMPERATURE} "
        + ("(z = mu_c + sigma_c * eps, eps ~ N(0, "
           if getattr(model, "prior", "standard") == "class" else "(z ~ N(0, ")
        + f"{SAMPLE_TEMPERATURE}^2); 1.0 gives more varied but messier kana). See also "
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
    _write_text_atomic(out / "MODEL_CARD.md", "\n".join(lines))


def _append_card(out: Path, text: str) -> None:
    card = out / "MODEL_CARD.md"
    _write_text_atomic(card, card.read_text(encoding="utf-8") + "\n" + text)


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return run(args)
    except FitError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except ValueError as exc:
        from kana_keras.convert import DataArgumentError  # cheap: no TF/Keras in convert

        print(f"error: {exc}", file=sys.stderr)
        return 2 if isinstance(exc, DataArgumentError) else 1
    except OSError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
