"""The training loop: ``model.fit`` with the callback that keeps complete epochs, and Ctrl-C.

Ctrl-C stops after the current batch and keeps the last *complete* epoch: its weights are in
``--out`` and its checkpoint (weights, optimizer state, history, the learning-rate schedule's
length) in ``--out``/checkpoint; an epoch cut short is dropped and ``--resume`` redoes it.
A second Ctrl-C aborts. A non-finite loss or weight stops training (exit 3), keeping the last
good epoch.
"""

from __future__ import annotations

import math
import os
import signal
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from kana_keras.cli import EXIT_INTERRUPTED
from kana_keras.fit.outputs import OutputWriter, save_checkpoint
from kana_keras.fit.plan import CHECKPOINT_DIR, Plan, command, have_tensorboard


EXIT_NAN = 3
#: Tests only: send ourselves the SIGINT of Ctrl-C at one point: "data" (before training),
#: "train:EPOCH:BATCH" (after that batch) or "val:EPOCH" (during that epoch's validation).
_SIGINT_ENV = "_KANA_KERAS_FIT_SIGINT_AT"


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
        sigint_if_asked(f"train:{self.epoch}:{batch + 1}")
        if self.ctrl_c.is_set():
            self.cut_short = batch + 1 < self.steps
            self.model.stop_training = True
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(float(loss)):
            self.bad = f"the training loss became {float(loss)} at batch {batch + 1}"
            self.model.stop_training = True

    def on_test_batch_end(self, batch, logs=None):
        sigint_if_asked(f"val:{self.epoch}")
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


def train(model, plan: Plan, data, writer: OutputWriter, history: list[dict],
          checkpoint_state: dict) -> TrainingResult:
    """model.fit over the epochs still to do, with logs under runs/; Ctrl-C and NaN stop it
    cleanly (see EpochEnd)."""
    import keras

    epochs, started = plan.training["epochs"], time.time()
    ctrl_c = threading.Event()
    epoch_end = EpochEnd(model, writer, history, data.steps, ctrl_c, checkpoint_state, started)
    writer.run_dir.mkdir(parents=True, exist_ok=True)
    callbacks = [epoch_end.keras_callback(),
                 keras.callbacks.CSVLogger(str(writer.run_dir / "log.csv"), append=True)]
    if have_tensorboard():
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
                          verbose=keras_verbosity(plan.quiet),
                          shuffle=False)  # the dataset shuffles itself
    except KeyboardInterrupt:  # a second Ctrl-C
        interrupted = True
    return TrainingResult(history, time.time() - started, epoch_end.bad,
                          interrupted or ctrl_c.is_set(), epoch_end.cut_short)


def keras_verbosity(quiet: bool) -> int:
    """Keras's ``verbose``: a live bar on a terminal, one line per epoch into a log or a pipe
    (a bar there writes a line per step), none with --quiet."""
    return 0 if quiet else (1 if sys.stdout.isatty() else 2)


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
              f"Continue with:\n  {command(extra_flags=['--resume'])}", file=sys.stderr)
    return EXIT_INTERRUPTED


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


def sigint_if_asked(where: str) -> None:
    """A test hook: Ctrl-C's SIGINT, once, at the point named in _SIGINT_ENV."""
    if os.environ.get(_SIGINT_ENV) == where:
        del os.environ[_SIGINT_ENV]
        os.kill(os.getpid(), signal.SIGINT)


def to_numpy(variable):
    from keras import ops
    return ops.convert_to_numpy(variable.value if hasattr(variable, "value") else variable)


def _finite_weights(model) -> bool:
    return all(np.isfinite(to_numpy(w)).all() for w in model.weights)
