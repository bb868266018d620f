"""``python -m kana_keras.export web``: a static site that draws kana in the visitor's browser.

index.html and kana.js (from ``site/``), the decoder as ONNX, its tables, and a vendored,
pinned ONNX Runtime Web (``vendor/``, with its licence): served by any static file server,
and a static Hugging Face Space as it stands (README.md's YAML header says ``sdk: static``).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np

from kana_keras import inference
from kana_keras.export import onnx
from kana_keras.files import write_bytes_atomic, write_json_atomic, write_text_atomic

HERE = Path(__file__).parent
ORT_VERSION = "1.31.1"  # npm pack onnxruntime-web@1.31.1: the wasm build only (see vendor/)
ORT_FILES = ("ort.wasm.min.js", "ort-wasm-simd-threaded.mjs", "ort-wasm-simd-threaded.wasm",
             "LICENSE")

README = """---
title: kana-keras
emoji: ✍️
colorFrom: gray
colorTo: red
sdk: static
app_file: index.html
pinned: false
license: mit
---

# kana-keras in your browser

A conditional VAE that learned handwritten hiragana and katakana, sampling, morphing and
writing kana in the visitor's browser with ONNX Runtime Web {ort} (vendored in `ort/`, MIT
licence beside it). Nothing runs on a server: any static host serves this folder.

Made with `python -m kana_keras.export web --weights WEIGHTS --out DIR` from kana-keras {version}.
"""


def tables_blob(tables: dict[str, np.ndarray]) -> tuple[bytes, dict]:
    """Float32 little-endian tables back to back -> (bytes, {name: [byte offset, shape]})."""
    blob, where = bytearray(), {}
    for name, table in tables.items():
        where[name] = [len(blob), list(table.shape)]
        blob += np.ascontiguousarray(table, "<f4").tobytes()
    return bytes(blob), where


def meta(generator, where: dict) -> dict:
    """What the page needs to mirror KanaGenerator: kana, sizes, limits, the Write rules."""
    vae = generator.vae
    return {"classes": generator.classes, "image_size": generator.image_size,
            "latent_dim": generator.latent_dim, "embedding_dim": int(vae.embedding_dim),
            "tables": where, "max_samples": inference.MAX_SAMPLES,
            "max_steps": inference.MAX_STEPS, "max_write_chars": inference.MAX_WRITE_CHARS,
            "write_temperature": inference.WRITE_TEMPERATURE, "small_kana": inference.SMALL_KANA,
            "small_scale": inference.SMALL_SCALE, "long_vowel": inference.LONG_VOWEL,
            "spaces": inference.SPACES, "onnxruntime_web": ORT_VERSION}


def export_web(generator, out) -> Path:
    """Write the site into ``out`` (created; files already there are replaced)."""
    from kana_keras import __version__

    out = Path(out)
    onnx.export_decoder(generator.vae, out / "decoder.onnx")
    blob, where = tables_blob({**onnx.prior_tables(generator.vae),
                               **onnx.class_tables(generator.vae)})
    write_bytes_atomic(out / "tables.bin", blob)
    write_json_atomic(out / "meta.json", meta(generator, where))
    for name in ("index.html", "kana.js"):
        write_bytes_atomic(out / name, (HERE / "site" / name).read_bytes())
    (out / "ort").mkdir(exist_ok=True)
    for name in ORT_FILES:
        shutil.copyfile(HERE / "vendor" / "onnxruntime-web" / name, out / "ort" / name)
    write_text_atomic(out / "README.md", README.format(ort=ORT_VERSION, version=__version__))
    return out
