"""The main job: ``python -m kana_keras.fit`` trains a KanaVAE and writes a weights folder.

With no arguments it draws the built-in synthetic set if needed, converts it, trains the
``default`` preset and writes ``weights/``: kana_vae.weights.h5, config.json, samples.png,
reconstructions.png, history.csv, training_curves.png, MODEL_CARD.md (and, unless
``--no-recognizer``, the recognizer beside them).

``run`` reads as the list of steps; the command line becomes one checked ``Plan`` that every
step takes. The rooms:

- ``plan``: the command line, the Plan, every check made before any work, the signature that
  says whether ``--out`` holds this configuration;
- ``setup``: data, engine, feeds, learning-rate curve, model, and its start or resumption;
- ``loop``: ``model.fit`` with the callback that keeps complete epochs, Ctrl-C and NaN stops;
- ``outputs``: the weights folder's files and the checkpoint;
- ``card``: MODEL_CARD.md, the recognizer beside the VAE, the closing summary.

``--resume`` follows the first run's cosine schedule even if ``--epochs`` changes. Nothing here
imports Keras at module level: ``--backend`` must set KERAS_BACKEND first.
"""

from __future__ import annotations

import time

from kana_keras.cli import report_errors
from kana_keras.fit.card import print_summary, train_recognizer_beside, write_model_card
from kana_keras.fit.loop import report_interrupt, report_nan, train
from kana_keras.fit.outputs import OutputWriter, remove_checkpoint
from kana_keras.fit.plan import (FitError, build_parser, check_engine, check_out_dir,
                                 config_signature, plan_run, set_backend)
from kana_keras.fit.setup import (build_model, finish_model, make_feeds, open_data,
                                  plan_schedule, restore_or_start, start_engine)

__all__ = ["FitError", "build_parser", "main", "print_summary", "run"]


def run(args) -> int:
    """The main job. Everything the user can get wrong is checked before the first real work."""
    started = time.time()
    plan = plan_run(args)                             # preset + flags, every value checked
    backend = set_backend(plan.backend)
    check_engine(plan, backend)                       # e.g. --distribute on torch: refused
    state = check_out_dir(plan, plan.early_signature())
    data = open_data(plan)                            # draws/converts the data when needed
    engine = start_engine(plan, backend)              # Keras, seeds, devices
    make_feeds(plan, data)                            # train/val batches, steps per epoch
    schedule = plan_schedule(plan, data, state)       # the first run's curve on --resume
    model = build_model(plan, engine, data.classes, schedule["decay_steps"])
    signature = config_signature(model.get_config(), plan.training)
    state = check_out_dir(plan, signature)            # the full configuration
    history = restore_or_start(model, engine, plan, data, state)
    writer = OutputWriter(model, plan, data, signature)
    result = train(model, plan, data, writer, history, {"signature": signature, **schedule})
    if result.bad is not None:
        return report_nan(result, plan.out)
    if result.interrupted:
        return report_interrupt(result, plan.out)
    finish_model(model, data)                         # post-training steps go here
    writer.write(result.history)
    write_model_card(plan, engine, model, data, result, time.time() - started)
    remove_checkpoint(plan.out)                       # finished: the weights folder is the result
    recognizer = train_recognizer_beside(plan, data, started)
    print_summary(plan.out, result.history, recognizer, time.time() - started, writer.run_dir)
    return 0


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    return report_errors(run, args)
