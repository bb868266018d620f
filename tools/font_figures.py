"""The font's figures for the README: time to make one from five drawings, file sizes, and
docs/font_sentence.png (three unseen synthetic writers' drawings and their fonts' sentence).

    nice -n 10 python tools/font_figures.py            # prints JSON, writes the picture
"""

import json
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from kana_keras.font import render  # noqa: E402
from kana_keras.font.writers import unseen_writers, writer_drawings  # noqa: E402
from kana_keras.images import save_atomic  # noqa: E402
from kana_keras.inference import KanaGenerator  # noqa: E402

SENTENCE = "かなのてがきフォント"
CELL = 64


def main() -> None:
    start = time.perf_counter()
    gen = KanaGenerator.load(ROOT / "weights")
    figures = {"load_s": round(time.perf_counter() - start, 2), "fonts": []}
    rows = []
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
