"""The set and its command: whole synthetic writers drawn into ETL8G files, once.

``generate`` draws ``writers`` x every class in parallel processes, byte-identical for a
seed whatever the worker count; ``ensure_synthetic`` redraws only when the stamp (written
last) says the set is missing, incomplete or drawn by another version or font table.
"""

from __future__ import annotations

import argparse
import json
import math
import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import cv2
import numpy as np

from kana_keras import forms
from kana_keras import kana as kana_mod
from kana_keras.files import write_bytes_atomic, write_json_atomic, write_text_atomic
from kana_keras.synth.fonts import FONT_WRITER_SHARE, render_font_sample, writer_font
from kana_keras.synth.ink import render_sample
from kana_keras.synth.records import ETL8G_RECORD, decode_images, jis_code, reading
from kana_keras.synth.style import WriterStyle

#: Where ``ensure_synthetic`` keeps the built-in set.
DEFAULT_SYNTHETIC_DIR = Path("data/synthetic")

#: Bump when the drawing changes: a set drawn by an older version is redrawn.
SYNTH_VERSION = 4

#: The stamp is written last; without it (or with other options in it) a set is redrawn.
STAMP_NAME = "SYNTHETIC.json"
README_NAME = "README.txt"

#: Whole writers per file; ETL8G_01, ETL8G_02, ... (the real set has 33 files).
WRITERS_PER_FILE = 40


def writer_rng(seed: int, writer: int) -> np.random.Generator:
    """The random stream of writer ``writer`` (0-based): independent of how work is split.

    Its first draws make the writer's style: ``WriterStyle.random(writer_rng(seed, w))``
    is the style of sheet w + 1 in a set drawn with ``seed``.
    """
    return np.random.default_rng(np.random.SeedSequence([int(seed), int(writer)]))



def _writer_records(args) -> bytes:
    """All samples of one writer as ETL8G records (runs in a worker process)."""
    seed, writer, classes, serial0 = args
    rng = writer_rng(seed, writer)
    style = WriterStyle.random(rng)
    font = writer_font(rng)                 # after the style: stroke writers keep their draws
    records = np.zeros(len(classes), ETL8G_RECORD)
    sex, age = int(rng.integers(1, 3)), int(rng.integers(16, 70))
    industry, occupation = int(rng.integers(1, 20)), int(rng.integers(1, 30))
    gathered = 7400 + int(rng.integers(1, 13))
    for i, char in enumerate(classes):
        image = (render_font_sample(char, font, style, rng) if font is not None
                 else render_sample(char, style, rng))
        levels = ((image.astype(np.uint16) * 15 + 127) // 255).astype(np.uint8).reshape(-1)
        rec = records[i]
        rec["sheet"] = writer + 1
        rec["jis_code"] = jis_code(char)
        rec["reading"] = reading(char)
        rec["serial_data_number"] = serial0 + i
        rec["sex"], rec["age"] = sex, age
        rec["industry"], rec["occupation"] = industry, occupation
        rec["gathering_date"], rec["scanning_date"] = gathered, gathered + 100
        rec["position_x"], rec["position_y"] = i % 10 + 1, i // 10 + 1
        rec["image"] = (levels[0::2] << 4) | levels[1::2]
    return records.tobytes()


def writer_hand(seed: int, writer: int):
    """(style, font or None) of writer ``writer`` in a set drawn with ``seed``."""
    rng = writer_rng(seed, writer)
    style = WriterStyle.random(rng)
    return style, writer_font(rng)


def _file_name(index: int) -> str:
    return f"ETL8G_{index + 1:02d}"


def _check_options(writers, seed, kana, workers) -> list[str]:
    if isinstance(writers, bool) or not isinstance(writers, (int, np.integer)) or writers < 1:
        raise ValueError(f"writers must be a whole number >= 1, got {writers!r}")
    if writers > 65535:
        raise ValueError(f"writers must be <= 65535 (ETL's 2-byte sheet number), got {writers}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a whole number >= 0, got {seed!r}")
    if workers is not None and (not isinstance(workers, (int, np.integer)) or workers < 1):
        raise ValueError(f"workers must be a whole number >= 1 or None, got {workers!r}")
    if not isinstance(kana, str) or kana not in kana_mod.KANA_SETS:
        raise ValueError(f"kana must be one of {sorted(kana_mod.KANA_SETS)}, got {kana!r}")
    return kana_mod.kana_classes(kana)


def _options(writers: int, seed: int, kana: str) -> dict:
    return {"synth_version": SYNTH_VERSION, "writers": int(writers), "seed": int(seed), "kana": kana,
            "writers_per_file": WRITERS_PER_FILE, "format": "ETL8G",
            "font_writer_share": FONT_WRITER_SHARE,
            "fonts": [f.name for f in forms.TRAIN_FONTS]}


def _readme(options: dict, files: list[Path], classes: list[str]) -> str:
    redraw = f"--writers {options['writers']} --seed {options['seed']} --kana {options['kana']}"
    return f"""SYNTHETIC handwritten kana -- not real handwriting, not ETL data.

Drawn by kana_keras.synth (version {options['synth_version']}) from the stroke centre-lines of
KanjiVG (c) Ulrich Apel, https://kanjivg.tagaini.net, licensed CC BY-SA 3.0; these files
are derived from KanjiVG and share its licence.

Each synthetic writer has a pen, width, pressure, slant, size and handwriting habits of
its own; every sample adds its own jitter. About {options['font_writer_share']:.0%} of the writers
write in a font instead of KanjiVG's strokes ({', '.join(options['fonts'])}; credits and
licences in kana_keras/assets/fonts/README.md). The files use the ETL8G record layout (8199
bytes: sheet = writer + 1, JIS X 0208 code, ASCII reading, 128 x 127 image at 4 bits), so
ETL readers read them; header fields such as sex, age and dates are invented.

Options: writers={options['writers']} seed={options['seed']} kana={options['kana']}
Classes: {len(classes)} ({''.join(classes)})
Samples: {options['writers'] * len(classes)} in {len(files)} files: {' '.join(f.name for f in files)}
Redraw: python -m kana_keras.synth --out DIR {redraw}
"""


def generate(out_dir, writers: int = 160, seed: int = 0, kana: str = "all", preview=None,
             progress: bool = True, workers: int | None = None) -> list[Path]:
    """Draw ``writers`` synthetic writers x every class of ``kana`` into ETL8G files.

    Returns the ETL8G file paths. The same options and seed give byte-identical files,
    whatever ``workers`` is: each writer is seeded from (seed, writer index).
    """
    classes = _check_options(writers, seed, kana, workers)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    (out / STAMP_NAME).unlink(missing_ok=True)       # a half-written set must look unfinished
    workers = min(workers or os.cpu_count() or 1, writers)
    # ETL8G names have two digits: a huge set puts more writers in each of 99 files.
    n_files = min(99, math.ceil(writers / WRITERS_PER_FILE))
    per_file = math.ceil(writers / n_files)
    tasks = [(seed, w, classes, w * len(classes) + 1) for w in range(writers)]
    files: list[Path] = []
    preview_rows: list[bytes] = []
    preview_writers = _preview_writers(seed, writers)

    from tqdm import tqdm

    bar = tqdm(total=writers, unit="writer", desc=f"drawing {out}", disable=not progress)
    # spawn, not fork: callers may hold threads (TF, tqdm); a dead worker raises, never hangs.
    pool = (ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"),
                                initializer=cv2.setNumThreads, initargs=(1,))
            if workers > 1 else None)
    try:
        results = pool.map(_writer_records, tasks) if pool else map(_writer_records, tasks)
        chunk: list[bytes] = []
        for w, data in enumerate(results):
            chunk.append(data)
            if w in preview_writers:
                preview_rows.append(data)
            bar.update(1)
            if len(chunk) == per_file or w == writers - 1:
                path = out / _file_name(len(files))
                write_bytes_atomic(path, b"".join(chunk))
                files.append(path)
                chunk = []
    finally:
        bar.close()
        if pool:
            pool.shutdown(wait=True, cancel_futures=True)
    # Files of an earlier, larger set would be read as part of this one.
    for stale in out.glob("ETL8G_*"):
        if stale not in files and stale.name[6:].isdigit():
            stale.unlink()
    options = _options(writers, seed, kana)
    if preview is not None:
        write_preview(preview_rows, classes, preview)
    write_text_atomic(out / README_NAME, _readme(options, files, classes))
    write_json_atomic(out / STAMP_NAME, dict(options, files={f.name: f.stat().st_size for f in files}))
    return files


def _preview_writers(seed: int, writers: int, n: int = 10) -> set[int]:
    """Evenly spread writers for the preview, up to half of them font writers."""
    fonts = [w for w in range(writers) if writer_hand(seed, w)[1] is not None]
    strokes = [w for w in range(writers) if w not in set(fonts)]
    n_fonts = min(len(fonts), n // 2, max(0, n - len(strokes)) + n // 2)
    pick = [fonts[i] for i in np.linspace(0, len(fonts) - 1, n_fonts).astype(int)] if n_fonts else []
    rest = min(len(strokes), n - len(pick))
    pick += [strokes[i] for i in np.linspace(0, len(strokes) - 1, rest).astype(int)] if rest else []
    return set(pick)


#: The preview's kana: the allographs and dash-and-sweep kana the synthesis varies, and a few others.
PREVIEW_KANA = "あきさそふりゆねぬツシソンヌマが"


def write_preview(writer_bytes: list[bytes], classes: list[str], path, n_kana: int = 16) -> Path:
    """A grid: one row per writer, the same few kana in every row (black ink on white)."""
    from kana_keras import images as images_mod

    if all(c in classes for c in PREVIEW_KANA[:n_kana]):
        picks = np.array([classes.index(c) for c in PREVIEW_KANA[:n_kana]])
    else:
        picks = np.linspace(0, len(classes) - 1, min(n_kana, len(classes))).astype(int)
    cells, labels = [], []
    for data in writer_bytes:
        imgs, labs, _ = decode_images(data)
        cells.extend(imgs[picks])
        labels.extend(labs[picks])
    picture = images_mod.grid(np.stack(cells), labels, cols=len(picks))
    return images_mod.save_atomic(picture, path)


def _stamp_ok(out: Path, writers: int, seed: int, kana: str) -> bool:
    try:
        stamp = json.loads((out / STAMP_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    wanted = _options(writers, seed, kana)
    if not isinstance(stamp, dict) or any(stamp.get(k) != v for k, v in wanted.items()):
        return False
    files = stamp.get("files") or {}
    return bool(files) and all((out / name).is_file() and (out / name).stat().st_size == size
                               for name, size in files.items())


def ensure_synthetic(out_dir=DEFAULT_SYNTHETIC_DIR, writers: int = 160, seed: int = 0,
                     kana: str = "all", progress: bool = True) -> Path:
    """The built-in set: drawn only when missing, incomplete or drawn with other options."""
    _check_options(writers, seed, kana, None)
    out = Path(out_dir)
    if not _stamp_ok(out, writers, seed, kana):
        generate(out, writers=writers, seed=seed, kana=kana, progress=progress)
    return out



# ## Command line


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m kana_keras.synth",
        description="Draw synthetic handwritten kana (KanjiVG strokes) as ETL8G files.")
    parser.add_argument("--out", required=True, type=Path, help="output folder")
    parser.add_argument("--writers", type=int, default=160, help="number of synthetic writers (160)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (0)")
    parser.add_argument("--kana", default="all", choices=sorted(kana_mod.KANA_SETS), help="class set")
    parser.add_argument("--preview", type=Path, default=None, help="write a PNG grid of samples")
    parser.add_argument("--workers", type=int, default=None, help="processes (default: all cores)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    args = parser.parse_args(argv)
    try:
        files = generate(args.out, writers=args.writers, seed=args.seed, kana=args.kana,
                         preview=args.preview, progress=not args.quiet, workers=args.workers)
    except ValueError as err:
        parser.error(str(err))
    total = sum(f.stat().st_size for f in files) // ETL8G_RECORD.itemsize
    print(f"wrote {total} samples in {len(files)} files to {args.out}"
          + (f"; preview {args.preview}" if args.preview else ""))
    return 0
