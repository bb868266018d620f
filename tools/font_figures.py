"""The font's figures for the README: time to make one from five drawings, file sizes, how
close the font comes to kana the writer drew but did not give it, and docs/font_sentence.png
(three unseen synthetic writers' drawings and their fonts' sentence).

    nice -n 10 python tools/font_figures.py            # prints JSON, writes the picture
    nice -n 10 python tools/font_figures.py picture    # the picture (and its fonts' sizes) only
"""

import json
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from kana_keras.metrics import mask_iou, shape_masks  # noqa: E402
from kana_keras.font import font_of_style, render  # noqa: E402
from kana_keras.font.writers import unseen_writers, writer_drawings  # noqa: E402
from kana_keras.images import save_atomic  # noqa: E402
from kana_keras.inference import KanaGenerator  # noqa: E402

SENTENCE = "かなのてがきフォント"
CELL = 64
OTHER_KANA = "あきさなのほゆるをんアキサナノホユルヲン"   # kana the writer drew but did not give


def closer(gen, drawings, font: bytes, default: bytes, chars) -> list[bool]:
    """Per drawing: the font's glyph nearer to it (IoU of prepared shapes) than the default's."""
    cells = lambda data: 255 - render(data, "".join(chars), CELL).reshape(CELL, len(chars), CELL
                                                                         ).transpose(1, 0, 2)
    shown = shape_masks(np.stack([gen.prepare(d) for d in drawings]), gen.image_size)
    mine = mask_iou(shown, shape_masks(cells(font), gen.image_size))
    return list(mine > mask_iou(shown, shape_masks(cells(default), gen.image_size)))


def main() -> None:
    start = time.perf_counter()
    gen = KanaGenerator.load(ROOT / "weights")
    figures = {"load_s": round(time.perf_counter() - start, 2), "fonts": []}
    rows, given, other = [], [], []
    default = font_of_style(gen, np.zeros(gen.latent_dim, np.float32), "default")
    for i, writer in enumerate(unseen_writers(0 if sys.argv[1:] == ["picture"] else 12)):
        chars, drawings = writer_drawings(writer, 5)
        otf = gen.font(drawings, name=f"writer {writer}")
        others = [c for c in OTHER_KANA if c not in chars][i % 4::4][:4]
        given += closer(gen, drawings, otf, default, chars)
        other += closer(gen, writer_drawings(writer, 4, kana=others)[1], otf, default, others)
    if given:
        figures["style_kept_given"] = round(float(np.mean(given)), 3)
        figures["style_kept_other_kana"] = round(float(np.mean(other)), 3)
    for writer in unseen_writers(3):
        chars, drawings = writer_drawings(writer, 5)
        sizes = {}
        for flavor in ("otf", "ttf"):
            start = time.perf_counter()
            data = gen.font(drawings, name=f"writer {writer}", flavor=flavor)
            sizes[flavor] = {"seconds": round(time.perf_counter() - start, 2),
                             "kib": round(len(data) / 1024, 1)}
        otf = gen.font(drawings, name=f"writer {writer}")
        figures["fonts"].append({"writer": writer, "kana": "".join(chars), **sizes})
        shown = np.concatenate([255 - gen.prepare(d) for d in drawings], axis=1)
        line = render(otf, SENTENCE, CELL)
        gap = np.full((CELL, CELL // 2), 255, np.uint8)
        rows.append(np.concatenate([shown, gap, gap, line], axis=1))
        rows.append(np.full((CELL // 4, rows[-1].shape[1]), 255, np.uint8))
    save_atomic(Image.fromarray(np.concatenate(rows[:-1])), ROOT / "docs" / "font_sentence.png")
    print(json.dumps(figures, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
