"""Synthetic handwritten kana, drawn from KanjiVG stroke centre-lines, stored as ETL8G records.

ETL data needs a registration and may not be redistributed, so the project draws its own
default data set. Each synthetic *writer* gets a style drawn once (pen, width, pressure,
slant, aspect, size and place in the box, speed, sloppiness, cursive habits) and every
sample adds its own variation on top (per-stroke drift, bends, trims, overshoots, hooks,
dakuten placement, elastic distortion, ink and scan effects). The samples are written in
the ETL8G record layout, so the same reader, converter and pipeline serve real and
synthetic data alike.

    python -m kana_keras.synth --out data/synthetic --preview grid.png

A share of the writers (``FONT_WRITER_SHARE``) write in one of the handwriting and text
fonts of ``kana_keras.forms`` instead: letter forms KanjiVG lacks, through the same hand.
The stroke writers carry habits of their own too: joined strokes in き, さ, り, ふ and how
they set the dashes of ツ, シ, ソ and ン.

One file per job, each importing only those above it:

- ``records``   the ETL8G record as a numpy dtype, readings and JIS codes;
- ``style``     ``WriterStyle``: what one person does the same way every time;
- ``geometry``  polyline helpers and ``wave_field``, the one warp field;
- ``habits``    allographs: joins, dashes, two-stroke そ, ゛/゜ placement;
- ``strokes``   one character's strokes as a writer draws them this time;
- ``ink``       rasterising, pen, paper and scanner (``render_sample``);
- ``fonts``     font writers (``render_font_sample``);
- ``dataset``   the set, its stamp and its command (``generate``, ``ensure_synthetic``).

Stroke data: KanjiVG, (c) Ulrich Apel, CC BY-SA 3.0 (https://kanjivg.tagaini.net).
Fonts: see ``kana_keras/assets/fonts/README.md``.
"""

from kana_keras.synth.dataset import (
    DEFAULT_SYNTHETIC_DIR, PREVIEW_KANA, README_NAME, STAMP_NAME, SYNTH_VERSION, WRITERS_PER_FILE,
    ensure_synthetic, generate, main, write_preview, writer_hand, writer_rng,
)
from kana_keras.synth.fonts import FONT_WRITER_SHARE, render_font_sample, writer_font
from kana_keras.synth.habits import DASHES, JOINS
from kana_keras.synth.ink import finish_ink, render_sample
from kana_keras.synth.records import (
    ETL8G_HEIGHT, ETL8G_RECORD, ETL8G_WIDTH, decode_images, jis_code, reading, record_dtype,
)
from kana_keras.synth.style import PENS, WriterStyle

__all__ = [
    "DASHES", "DEFAULT_SYNTHETIC_DIR", "ETL8G_HEIGHT", "ETL8G_RECORD", "ETL8G_WIDTH",
    "FONT_WRITER_SHARE", "JOINS", "PENS", "PREVIEW_KANA", "README_NAME", "STAMP_NAME",
    "SYNTH_VERSION", "WRITERS_PER_FILE", "WriterStyle", "decode_images", "ensure_synthetic",
    "finish_ink", "generate", "jis_code", "main", "reading", "record_dtype", "render_font_sample",
    "render_sample", "write_preview", "writer_font", "writer_hand", "writer_rng",
]
