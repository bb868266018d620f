"""Held-out measures: how a recognizer reads what it was never shown.

Real people's kana are measured on a set the project never sees; these are the nearest
things we can measure ourselves:

- ``heldout_forms_accuracy``: the held-out fonts (``forms.HELDOUT_FONTS``), written by fresh
  synthetic writers and cleaned by ``preprocess.prepare``. It reads 98 % on the shipped
  recognizer while real people read 84 %: too easy to predict them.
- ``real_proxy`` (``kana_keras.proxies``): eight sets whose failures look like the real
  misreads (dash kana upright, hiragana like their katakana twins, small characters on big
  canvases, 1-bit and noisy 4-bit scans, thin white-on-black JPEG crops, held-out fonts),
  read through the user's path ``KanaGenerator.recognize_batch``.

    python -m kana_keras.heldout --weights weights              # each proxy's accuracy
    python -m kana_keras.heldout --weights weights --recognizer runs/rec --json
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from kana_keras import forms, preprocess, synth
from kana_keras import kana as kana_mod
from kana_keras.proxies import PROXY_SETS, proxy_accuracy


def heldout_forms_set(classes=None, per_class: int = 4, seed: int = 0, size: int = 64,
                      fonts=None) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Kana in the held-out fonts, written by fresh synthetic writers, then prepared.

    Returns (images uint8 (N, size, size) ink-high, as ``preprocess.prepare`` makes them;
    labels int (N,) indices into ``classes``; source font name per image). Writers are
    seeded apart from any training writer, ``per_class`` of them per class, cycling through
    the held-out fonts.
    """
    classes = list(kana_mod.ALL_KANA if classes is None else classes)
    fonts = [forms.font_named(f) if isinstance(f, str) else f for f in (fonts or forms.HELDOUT_FONTS)]
    if per_class < 1:
        raise ValueError(f"per_class must be >= 1, got {per_class}")
    images, labels, sources = [], [], []
    for i in range(per_class):
        rng = np.random.default_rng([int(seed), 7_000_001, i])
        style = synth.WriterStyle.random(rng)
        font = fonts[i % len(fonts)]
        for label, char in enumerate(classes):
            raw = synth.render_font_sample(char, font, style, rng)
            images.append(preprocess.prepare(raw, size=size, ink="high"))
            labels.append(label)
            sources.append(font.name)
    return np.stack(images), np.asarray(labels, np.int64), sources


def heldout_forms_accuracy(recognizer, per_class: int = 6, seed: int = 0, fonts=None) -> dict:
    """Top-1 accuracy of ``recognizer`` on the held-out forms: overall, per font, per class.

    へ/ヘ-like pairs of one shape count as right (as in the recognizer's own metrics).
    """
    classes = list(recognizer.classes)
    x, y, sources = heldout_forms_set(classes, per_class, seed, recognizer.image_size, fonts)
    predicted = recognizer.predict(x)
    right = np.array([kana_mod.same_kana(classes[p], classes[t]) for p, t in zip(predicted, y)])
    sources = np.asarray(sources)
    per_class_acc = {c: float(right[y == i].mean()) for i, c in enumerate(classes) if (y == i).any()}
    confusions: dict[str, int] = {}
    for p, t, ok in zip(predicted, y, right):
        if not ok:
            key = f"{classes[t]}→{classes[p]}"
            confusions[key] = confusions.get(key, 0) + 1
    return {"accuracy": float(right.mean()), "count": int(len(y)),
            "per_source": {s: float(right[sources == s].mean()) for s in dict.fromkeys(sources)},
            "per_class": per_class_acc,
            "worst_classes": sorted(per_class_acc, key=per_class_acc.get)[:10],
            "confusions": dict(sorted(confusions.items(), key=lambda kv: -kv[1])[:15]),
            "fonts": [f.name if isinstance(f, forms.Font) else f for f in (fonts or forms.HELDOUT_FONTS)],
            "seed": int(seed), "per_class_writers": int(per_class)}


def real_proxy(generator, seed: int = 0, scale: float = 1.0) -> dict:
    """The real-handwriting proxy of a ``KanaGenerator``: ``proxies.proxy_accuracy``.

    What ``evaluate`` reports beside the synthetic test split: per set, ``mean`` and ``pooled``.
    """
    return proxy_accuracy(generator, seed=seed, scale=scale)


# ## Command line


def _generator(weights, recognizer_dir):
    """The shipped generator, or its VAE with another recognizer (a training run's)."""
    from kana_keras.cli import UsageError
    from kana_keras.inference import KanaGenerator
    from kana_keras.recognizer import load_recognizer

    for flag, folder in (("--weights", weights), ("--recognizer", recognizer_dir)):
        if folder is not None and not Path(folder).is_dir():
            raise UsageError(f"{flag} {folder}: no such folder (expected a weights folder "
                             "with recognizer.json and recognizer.weights.h5)")
    generator = KanaGenerator.load(weights)
    if recognizer_dir is not None:
        generator.recognizer = load_recognizer(recognizer_dir)
    if generator.recognizer is None:
        raise FileNotFoundError(f"{weights}: no recognizer.json / recognizer.weights.h5 "
                                "(train one with `python -m kana_keras.recognizer`)")
    return generator


def _report(args) -> int:
    import json

    from kana_keras.cli import UsageError

    if not args.scale > 0:
        raise UsageError(f"--scale must be above 0 (pictures per class times it), got {args.scale}")
    generator = _generator(args.weights, args.recognizer)
    result = real_proxy(generator, seed=args.seed, scale=args.scale)
    if args.json:
        print(json.dumps(result, indent=2, ensure_ascii=False))
        return 0
    for name, row in result["sets"].items():
        print(f"{name:<16} {100 * row['accuracy']:5.1f} %  ({row['count']} pictures)")
    print(f"{'mean of sets':<16} {100 * result['mean']:5.1f} %")
    print(f"{'pooled':<16} {100 * result['pooled']:5.1f} %  ({result['count']} pictures)")
    print("most common misreads: " + ", ".join(f"{k} {v}" for k, v in
                                               list(result["confusions"].items())[:12]))
    return 0


def main(argv=None) -> int:
    """``python -m kana_keras.heldout --weights weights``: each proxy's accuracy."""
    import argparse

    from kana_keras.cli import report_errors

    parser = argparse.ArgumentParser(
        prog="python -m kana_keras.heldout",
        description="Accuracy of the recognizer on held-out pictures that fail like real "
                    f"handwriting ({', '.join(PROXY_SETS)}), through KanaGenerator.recognize.")
    parser.add_argument("--weights", default="weights", help="folder with kana_vae.* and recognizer.*")
    parser.add_argument("--recognizer", default=None,
                        help="folder with another recognizer.* to read with (default: --weights)")
    parser.add_argument("--scale", type=float, default=1.0, help="pictures per class times this (1)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", action="store_true", help="the whole result as JSON")
    args = parser.parse_args(argv)
    return report_errors(_report, args)


if __name__ == "__main__":
    raise SystemExit(main())
