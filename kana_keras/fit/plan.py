"""The run configuration: the command line, turned into one checked ``Plan`` before any work.

Every value the user can get wrong (a number out of range, an image size the preset's decoder
cannot draw, a backend that cannot do ``--distribute``, an ``--out`` holding another
configuration) is a ``FitError``: one line, exit 2, before anything is converted or built.
The ``Plan`` is the one object the steps of ``kana_keras.fit.run`` share.

Nothing here imports Keras at module level: ``--backend`` must set KERAS_BACKEND first.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shlex
import sys
from dataclasses import dataclass
from pathlib import Path

from kana_keras.errors import UsageError
from kana_keras.files import read_json_object

CHECKPOINT_DIR = "checkpoint"
BACKENDS = ("jax", "tensorflow", "torch")
#: The CPU default: measured fastest of the three for the default model on a 2-core CPU
#: (per 1,000 images: tensorflow 5.4 CPU-s, torch 24, jax 48: XLA-CPU transposed convs are slow).
DEFAULT_BACKEND = "tensorflow"
PIPELINES = ("auto", "tf.data", "numpy")
#: Whole-number flags: (flag, argument name, least value accepted); unset (None) means the preset's.
INTEGER_FLAGS = (("--epochs", "epochs", 1), ("--batch-size", "batch_size", 1),
                 ("--latent-dim", "latent_dim", 1), ("--image-size", "image_size", 8),
                 ("--max-steps", "max_steps", 1), ("--seed", "seed", 0))


#: Model settings a flag can change: with the training settings they decide the configuration
#: before the model exists (num_classes follows --data and --kana, which are training settings).
MODEL_FLAGS = ("image_size", "latent_dim", "beta", "seed")


class FitError(UsageError):
    """fit's usage errors."""


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


@dataclass
class Plan:
    """What the command line asks for: the preset with the flags applied, every value checked.

    ``model_kwargs`` and ``training`` decide the configuration (its signature); the rest says
    where and how this run goes.
    """

    preset: str
    model_kwargs: dict
    training: dict
    out: Path = Path("weights")
    backend: str | None = None      # as asked (--backend); set_backend picks the one used
    distribute: bool = False
    pipeline: str = "auto"
    resume: bool = False
    overwrite: bool = False
    recognizer: bool = True
    max_steps: int | None = None    # tests only
    quiet: bool = False

    @property
    def seed(self) -> int:
        return self.training["seed"]

    def early_signature(self) -> dict:
        """The part of the configuration known before data or model exist (see MODEL_FLAGS)."""
        return config_signature({k: self.model_kwargs[k] for k in MODEL_FLAGS}, self.training)


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
    return Plan(args.preset, model_kwargs, training, out=args.out, backend=args.backend,
                distribute=args.distribute, pipeline=args.pipeline, resume=args.resume,
                overwrite=args.overwrite, recognizer=args.recognizer, max_steps=args.max_steps,
                quiet=args.quiet)


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


def check_engine(plan: Plan, backend: str) -> None:
    """What a backend cannot do, refused before the data is converted."""
    if plan.distribute and backend == "torch":
        raise FitError("--distribute is not available with --backend torch: Keras 3 has no "
                       "distribution API for PyTorch. Use --backend jax (DataParallel) or "
                       "--backend tensorflow (MirroredStrategy), or drop --distribute.")


def choose_pipeline(pipeline: str) -> str:
    """'tf.data' or 'numpy' for --pipeline, importing neither (auto: tf.data if installed)."""
    if pipeline == "auto":
        return "tf.data" if _have_tensorflow() else "numpy"
    if pipeline == "tf.data" and not _have_tensorflow():
        raise FitError("--pipeline tf.data needs TensorFlow (pip install tensorflow), "
                       "or use --pipeline numpy")
    return pipeline


def _have_tensorflow() -> bool:
    import importlib.util
    try:
        return importlib.util.find_spec("tensorflow") is not None
    except (ImportError, ValueError):  # e.g. sys.modules["tensorflow"] = None
        return False


def have_tensorboard() -> bool:
    """Keras's TensorBoard callback writes through tf.summary: it needs both packages."""
    import importlib.util
    return importlib.util.find_spec("tensorboard") is not None and _have_tensorflow()


def command(extra_flags=()) -> str:
    """This run's command line, for the model card and the --resume advice."""
    argv = [a for a in sys.argv[1:] if a not in ("--resume", "--overwrite")]
    return shlex.join(["python", "-m", "kana_keras.fit", *argv, *extra_flags])


def config_signature(model_config: dict, training: dict) -> dict:
    """What makes two runs 'the same configuration' (epochs may grow on --resume)."""
    keep = {k: v for k, v in training.items() if k not in ("epochs",)}
    return json.loads(json.dumps({"model": model_config, "training": keep}))


def check_out_dir(plan: Plan, signature: dict) -> dict | None:
    """Refuse to overwrite another configuration's weights; return the checkpoint state if resuming.

    ``signature`` may hold only some model settings (Plan.early_signature, before the data is
    converted): then only those are compared. Run again with the full one once the model exists.
    """
    from kana_keras.model import CONFIG_FILE

    out = plan.out
    state_path = out / CHECKPOINT_DIR / "state.json"
    if plan.resume:
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
    if config_path.exists() and not plan.overwrite:
        config = _read_json_object(config_path, (),
                                   "use another --out, or --overwrite to replace it")
        old = _as_compared(config.get("signature"), signature)
        if old != signature:
            raise FitError(f"{out} already holds weights from a different configuration"
                           + (f" ({_diff(old, signature)})" if old else "")
                           + "; use another --out, or --overwrite to replace them")
    if state_path.exists() and not plan.overwrite:
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
