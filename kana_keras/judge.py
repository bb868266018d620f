"""A second judge, built apart from the shipped recognizer: ``python -m kana_keras.judge``.

``evaluate`` reads samples with ``KanaGenerator.recognize``. A VAE tuned while watching one
recognizer can learn that recognizer's blind spots, so a second opinion has to differ in
everything that could share them:

- **architecture**: a small ResNet (functional Keras, two residual stages), not the
  ``KanaRecognizer`` class, at 32 x 32 rather than the recognizer's 64;
- **seed**: its own synthetic writers (``JUDGE_SEED``), none of them the cache's;
- **mix of sources**: ``FONT_SHARE`` of its writers copy a training font (the cache: 35 %),
  the rest write KanjiVG strokes; half its images are blurred, so a soft decoder's output is
  not out of its world.

It reads a picture through the same ``prepare`` as ``recognize`` (at its own size), so both
judges see what a user hands over. Its weights are small (``judge/``, committed with a card).
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

import cv2
import numpy as np

from kana_keras import forms, preprocess, synth
from kana_keras import kana as kana_mod
from kana_keras.files import atomic_path, read_json_object, write_json_atomic, write_text_atomic

# data
JUDGE_SEED = 20261203
FONT_SHARE = 0.6
BLUR_SHARE = 0.5
DEFAULT_WRITERS = 48
VAL_WRITERS = 4
# architecture
IMAGE_SIZE = 32
WIDTHS = (16, 32, 96)
# optimization
DEFAULT_EPOCHS = 8
BATCH_SIZE = 128
LEARNING_RATE = 3e-3

MODEL_FILE = "judge.keras"
INFO_FILE = "judge.json"
CARD_FILE = "JUDGE_CARD.md"


# ## Its own training set, drawn with kana_keras.synth


def writer_images(classes, writer: int, seed: int = JUDGE_SEED, font_share: float = FONT_SHARE,
                  size: int = IMAGE_SIZE) -> np.ndarray:
    """Every class in one synthetic hand, prepared as ``recognize`` prepares: uint8 ink-high."""
    rng = np.random.default_rng(np.random.SeedSequence([int(seed), int(writer), 7]))
    style = synth.WriterStyle.random(rng)
    font = forms.TRAIN_FONTS[int(rng.integers(len(forms.TRAIN_FONTS)))] \
        if rng.random() < font_share else None
    out = np.zeros((len(classes), size, size), np.uint8)
    for i, char in enumerate(classes):
        ink = (synth.render_font_sample(char, font, style, rng) if font is not None
               else synth.render_sample(char, style, rng))
        if rng.random() < BLUR_SHARE:   # a decoder's soft edges, met in training
            ink = cv2.GaussianBlur(ink, (0, 0), float(rng.uniform(1.0, 3.0)))
        try:
            out[i] = preprocess.prepare(ink, size, ink="high")
        except ValueError:              # a blank render: left blank, still labelled
            pass
    return out


def draw_set(classes, writers, seed: int = JUDGE_SEED, font_share: float = FONT_SHARE,
             size: int = IMAGE_SIZE, progress: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """(images, labels) of the given writer numbers, every class each."""
    from tqdm import tqdm

    writers = list(writers)
    images = [writer_images(classes, w, seed, font_share, size)
              for w in tqdm(writers, desc="judge data", unit="writer", disable=not progress)]
    labels = np.tile(np.arange(len(classes), dtype=np.int32), len(writers))
    return (np.concatenate(images) if images else np.zeros((0, size, size), np.uint8)), labels


# ## The model: a small ResNet, functional Keras


def _norm():
    """Group normalisation: the same sums in training and reading, whatever the batch (batch
    norm's moving averages lagged in a run this short, and it read its own writers at 47 %)."""
    from keras import layers

    return layers.GroupNormalization(groups=8)


def _residual(x, width: int, stride: int):
    """conv-norm-relu-conv-norm plus a (projected) shortcut, then relu."""
    from keras import layers

    shortcut = x
    if stride != 1 or x.shape[-1] != width:
        shortcut = layers.Conv2D(width, 1, strides=stride, use_bias=False)(x)
        shortcut = _norm()(shortcut)
    y = layers.Conv2D(width, 3, strides=stride, padding="same", use_bias=False)(x)
    y = layers.ReLU()(_norm()(y))
    y = layers.Conv2D(width, 3, padding="same", use_bias=False)(y)
    y = _norm()(y)
    return layers.ReLU()(layers.Add()([shortcut, y]))


def build_judge(num_classes: int, image_size: int = IMAGE_SIZE, widths=WIDTHS):
    """uint8-valued (N, S, S, 1) ink-high images → class logits."""
    import keras
    from keras import layers

    inputs = keras.Input((image_size, image_size, 1), name="image")
    x = layers.Rescaling(1.0 / 255.0)(inputs)
    # training only: small turns, shifts and zooms, many hands out of few drawn writers
    x = layers.RandomRotation(0.03, fill_mode="constant")(x)
    x = layers.RandomTranslation(0.06, 0.06, fill_mode="constant")(x)
    x = layers.RandomZoom(0.1, fill_mode="constant")(x)
    x = layers.Conv2D(widths[0], 3, padding="same", use_bias=False)(x)
    x = layers.ReLU()(_norm()(x))
    for i, width in enumerate(widths[1:]):
        x = _residual(x, width, stride=2)
    x = layers.AveragePooling2D(2)(x)      # 4 x 4 places kept: where a stroke is matters
    x = layers.Dropout(0.2)(layers.Flatten()(x))
    outputs = layers.Dense(num_classes, name="logits")(x)
    return keras.Model(inputs, outputs, name="kana_judge")


# ## Reading pictures


class Judge:
    """A trained judge: ``read(pictures)`` names each picture's class index, or -1 if blank."""

    def __init__(self, model, classes, info: dict | None = None):
        self.model, self.classes, self.info = model, list(classes), dict(info or {})
        self.image_size = int(model.input_shape[1])

    def predict(self, prepared) -> np.ndarray:
        """Class index of each prepared (N, S, S) ink-high uint8 image."""
        x = np.asarray(prepared, np.float32)[..., None]
        if not len(x):
            return np.zeros(0, np.int64)
        return np.asarray(self.model.predict(x, batch_size=512, verbose=0)).argmax(1)

    def read(self, pictures, prepare) -> np.ndarray:
        """Each picture through ``prepare(picture, size)`` (the user's), then ``predict``:
        -1 where prepare refuses it, as ``recognize`` would."""
        views, kept = [], []
        for i, picture in enumerate(pictures):
            try:
                views.append(prepare(picture, self.image_size))
                kept.append(i)
            except ValueError:
                pass
        out = np.full(len(pictures), -1, np.int64)
        if views:
            out[kept] = self.predict(np.stack(views))
        return out


def accuracy(judge: Judge, images, labels) -> float:
    """Share of prepared images read as their label (look-alikes such as へ/ヘ count)."""
    if not len(labels):
        return float("nan")
    return float(np.mean(read_right(judge.classes, judge.predict(images), labels)))


def read_right(classes, predicted, labels) -> np.ndarray:
    """Per image, whether the predicted index names its label's kana (-1: refused, wrong)."""
    return np.array([p >= 0 and kana_mod.same_kana(classes[p], classes[t])
                     for p, t in zip(np.asarray(predicted), np.asarray(labels))], bool)


def load_judge(folder) -> Judge:
    """The judge saved in ``folder`` by ``train_judge``; a ValueError names what is missing."""
    import keras

    folder = Path(folder)
    for name in (MODEL_FILE, INFO_FILE):
        if not (folder / name).is_file():
            raise ValueError(f"{folder}: {name} is missing (expected a judge folder written by "
                             f"python -m kana_keras.judge --out {folder})")
    info = read_json_object(folder / INFO_FILE, ("classes",),
                            f"rewrite it with python -m kana_keras.judge --out {folder}")
    try:
        model = keras.models.load_model(folder / MODEL_FILE, compile=False)
    except Exception as exc:
        raise ValueError(f"{folder / MODEL_FILE}: cannot be read as a judge "
                         f"({type(exc).__name__}: {str(exc).splitlines()[0][:200]})") from None
    return Judge(model, info["classes"], info)


# ## Training


def train_judge(out_dir, classes=None, writers: int = DEFAULT_WRITERS, epochs: int = DEFAULT_EPOCHS,
                seed: int = JUDGE_SEED, font_share: float = FONT_SHARE, size: int = IMAGE_SIZE,
                widths=WIDTHS, progress: bool = True, command: str = "") -> Judge:
    """Draw its writers, train, save ``judge.keras``, ``judge.json`` and a card, each whole."""
    import keras

    t0 = time.time()
    classes = list(classes or kana_mod.kana_classes("all"))
    keras.utils.set_random_seed(seed)
    train_x, train_y = draw_set(classes, range(writers), seed, font_share, size, progress)
    val_x, val_y = draw_set(classes, range(writers, writers + VAL_WRITERS), seed, font_share,
                            size, progress)
    model = build_judge(len(classes), size, widths)
    steps = epochs * math.ceil(len(train_y) / BATCH_SIZE)
    schedule = keras.optimizers.schedules.CosineDecay(LEARNING_RATE, max(1, steps))
    model.compile(keras.optimizers.Adam(schedule),
                  keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    model.fit(train_x[..., None].astype(np.float32), train_y, batch_size=BATCH_SIZE,
              epochs=epochs, shuffle=True, verbose=2 if progress else 0)
    judge = Judge(model, classes)
    judge.info = {"classes": classes, "image_size": size, "widths": list(widths), "seed": seed,
                  "font_share": font_share, "blur_share": BLUR_SHARE, "writers": writers,
                  "epochs": epochs, "val_writers": VAL_WRITERS,
                  "val_accuracy": accuracy(judge, val_x, val_y),
                  "seconds": round(time.time() - t0, 1), "command": command}
    save_judge(judge, out_dir)
    return judge


def save_judge(judge: Judge, out_dir) -> Path:
    """The model, its facts and a card, each written whole."""
    import keras

    out = Path(out_dir)
    bare = keras.models.clone_model(judge.model)    # uncompiled: no optimizer state saved
    bare.set_weights(judge.model.get_weights())
    with atomic_path(out / MODEL_FILE) as tmp:
        bare.save(tmp)
    write_json_atomic(out / INFO_FILE, judge.info)
    write_text_atomic(out / CARD_FILE, _card(judge.info))
    return out


def _card(info: dict) -> str:
    return "\n".join([
        "# The second judge", "",
        "A small ResNet (functional Keras; widths " + ", ".join(map(str, info["widths"])) +
        f"; {info['image_size']} x {info['image_size']} input) trained apart from the shipped "
        "recognizer, so that `evaluate` has a second opinion on samples and reconstructions.",
        "", f"- made by: `{info.get('command') or 'python -m kana_keras.judge --out judge/'}`",
        f"- data: {info['writers']} synthetic writers of its own (seed {info['seed']}), "
        f"{info['font_share']:.0%} of them copying a training font, "
        f"{info['blur_share']:.0%} of images blurred; none from the training cache",
        f"- {info['epochs']} epochs, {info['seconds']:.0f} s on the machine that made it",
        f"- accuracy on {info['val_writers']} further writers of its own: "
        f"{info['val_accuracy']:.1%}", ""])


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m kana_keras.judge",
                                     description="Train the second judge evaluate reads with.")
    parser.add_argument("--out", default="judge", help="folder to write (default judge)")
    parser.add_argument("--writers", type=int, default=DEFAULT_WRITERS)
    parser.add_argument("--epochs", type=int, default=DEFAULT_EPOCHS)
    parser.add_argument("--seed", type=int, default=JUDGE_SEED)
    parser.add_argument("--kana", default="all", help="class set (default all)")
    args = parser.parse_args(argv)
    from kana_keras.cli import UsageError, report_errors

    def job(args) -> int:
        for flag in ("writers", "epochs"):
            if getattr(args, flag) < 1:
                raise UsageError(f"--{flag} must be at least 1, got {getattr(args, flag)}")
        if args.kana not in kana_mod.KANA_SETS:
            raise UsageError(f"--kana {args.kana}: expected one of "
                             f"{', '.join(kana_mod.KANA_SETS)}")
        command = "python -m kana_keras.judge " + " ".join(argv if argv is not None
                                                            else sys.argv[1:])
        judge = train_judge(args.out, kana_mod.kana_classes(args.kana), args.writers,
                            args.epochs, args.seed, command=command.strip())
        print(f"wrote {Path(args.out) / MODEL_FILE}: accuracy {judge.info['val_accuracy']:.1%} "
              f"on {VAL_WRITERS} unseen writers of its own ({judge.info['seconds']:.0f} s)")
        return 0

    return report_errors(job, args)


if __name__ == "__main__":
    sys.exit(main())
