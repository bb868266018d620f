"""Everything training needs, made in run's order: the data, the engine, the feeds, the
learning-rate curve, the compiled model, and its start (fresh or from the checkpoint).

Each function takes the ``Plan``; Keras is imported inside them, after ``set_backend``.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from kana_keras.fit.loop import sigint_if_asked, to_numpy
from kana_keras.fit.outputs import load_checkpoint
from kana_keras.fit.plan import CHECKPOINT_DIR, FitError, Plan, choose_pipeline

#: At most this many training codes are encoded to fit a fitted prior (memory, time).
FITTED_PRIOR_CODES = 60_000
#: The cosine learning-rate curve ends at this share of the peak rate.
LR_FLOOR = 0.05
#: Tests only: from this many training batches on, feed NaN images (to exercise the NaN stop).
_NAN_ENV = "_KANA_KERAS_FIT_NAN_FROM_BATCH"


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


def open_data(plan: Plan) -> TrainingData:
    """--data -> a ready cache (the converter runs in its own process, Keras not needed yet)."""
    sigint_if_asked("data")
    from kana_keras.cache import Cache
    from kana_keras.datasets import resolve_data

    path = resolve_data(plan.training["data"], size=plan.model_kwargs["image_size"],
                        kana=plan.training["kana"])
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


def start_engine(plan: Plan, backend: str) -> Engine:
    """Import Keras, set every seed, and set up data parallelism if asked for."""
    import keras

    keras.utils.set_random_seed(plan.seed)
    if not plan.distribute:
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


def input_feed(pipeline: str):
    """The module whose make_dataset feeds fit: tf.data, or NumPy batches without TensorFlow."""
    if choose_pipeline(pipeline) == "numpy":
        from kana_keras import batches
        return batches
    from kana_keras import data
    return data


def make_feeds(plan: Plan, data: TrainingData) -> None:
    """Training and validation batches (tf.data or NumPy) and the steps of one epoch."""
    feed = input_feed(plan.pipeline)
    batch_size = plan.training["batch_size"]
    data.steps = feed.steps_per_epoch(data.cache, "train", batch_size)
    if plan.max_steps:
        data.steps = min(data.steps, plan.max_steps)
    val_steps = max(1, plan.max_steps // 2) if plan.max_steps else None
    data.train = feed.make_dataset(data.cache, "train", batch_size,
                                   augment=plan.training["augment"], seed=plan.seed,
                                   max_steps=plan.max_steps)
    data.val = feed.make_dataset(data.cache, data.val_split, batch_size, shuffle=False,
                                 max_steps=val_steps)
    if os.environ.get(_NAN_ENV) and feed.__name__ == "kana_keras.data":  # a test hook (tf.data)
        data.train = _poison(data.train, int(os.environ[_NAN_ENV]))


def _poison(ds, from_batch: int):
    """NaN images from the given global batch on (a test hook: see _NAN_ENV)."""
    import tensorflow as tf

    counter = tf.Variable(0, dtype=tf.int64, trainable=False)

    def maybe_nan(x, y):
        seen = counter.assign_add(1)
        return tf.cond(seen > from_batch, lambda: x * float("nan"), lambda: x), y

    return ds.map(maybe_nan)


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


def restore_or_start(model, engine: Engine, plan: Plan, data: TrainingData,
                     state: dict | None) -> list[dict]:
    """On --resume, the checkpoint's weights, optimizer state and history; else a fresh start
    (class templates from the training images). Returns the history of the epochs done."""
    out, epochs = plan.out, plan.training["epochs"]
    out.mkdir(parents=True, exist_ok=True)
    if state is None:
        if plan.overwrite and (out / CHECKPOINT_DIR).exists():
            shutil.rmtree(out / CHECKPOINT_DIR)
        model.init_class_templates(np.asarray(data.cache.images("train"), np.float32) / 255.0,
                                   np.asarray(data.cache.labels("train")))
        return []
    with engine.scope():
        load_checkpoint(model, out)
    history = list(state["history"])[:int(state["epoch"])]
    step = int(to_numpy(model.optimizer.iterations))
    if len(history) >= epochs:
        print(f"kana_keras: the checkpoint already has {len(history)} epochs (--epochs "
              f"{epochs}); pass a larger --epochs to train further")
    else:
        print(f"kana_keras: resuming {out} at epoch {len(history) + 1} of {epochs} "
              f"(learning-rate step {step} of {state.get('decay_steps', '?')})")
    return history


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
