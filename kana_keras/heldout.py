"""The held-out-forms proxy: how a recognizer reads letter forms it was never shown.

Real people's kana are measured on a set the project never sees; this is the nearest thing
we can measure ourselves. Some fonts (``forms.HELDOUT_FONTS``) are never drawn into the
training set; fresh synthetic writers write every kana in them, ``preprocess.prepare``
cleans them as it cleans any input, and the recognizer reads them. A recognizer that only
knows KanjiVG's forms scores visibly worse here (92.8 % against 98.2 %, see the README).

    python -m kana_keras.heldout --weights weights      # the proxy as JSON
"""

from __future__ import annotations

import numpy as np

from kana_keras import forms, preprocess, synth
from kana_keras import kana as kana_mod


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


# ## Command line


def main(argv=None) -> int:
    """``python -m kana_keras.heldout --weights weights``: the held-out-forms proxy as JSON."""
    import argparse
    import json

    parser = argparse.ArgumentParser(prog="python -m kana_keras.heldout",
                                     description="Accuracy of a trained recognizer on held-out letter forms.")
    parser.add_argument("--weights", default="weights", help="folder with recognizer.* (weights)")
    parser.add_argument("--per-class", type=int, default=6, help="writers per class (6)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    from kana_keras.recognizer import load_recognizer

    try:
        recognizer = load_recognizer(args.weights)
        result = heldout_forms_accuracy(recognizer, per_class=args.per_class, seed=args.seed)
    except (FileNotFoundError, ValueError) as err:
        parser.error(str(err))
    shown = {k: v for k, v in result.items() if k != "per_class"}
    print(json.dumps(shown, indent=2, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
