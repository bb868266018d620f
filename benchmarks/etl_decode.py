"""How fast is ``kana_keras.etl.read``? Records per second against two yardsticks.

    python benchmarks/etl_decode.py [--records 3000] [--repeat 5]

On the same generated ETL8G and C-type (ETL4C) files, in one run:

- ``read``: the library, images + labels + sheets + header fields;
- ``bitstring``: a per-record reader in the style of AIST's sample unpacker (bitstring
  ``read_list`` per record, PIL's 'bit' decoder for the picture, the label decoded per
  record), ported to bitstring 5 (``Reader`` instead of the removed ``ConstBitStream``);
- ``numpy nibble split``: the bare pixel unpacking of the same bytes, no labels, no header,
  no scaling: the ceiling a vectorised reader can hope for.

Targets (issue 2): read >= 10x bitstring on 8G, >= 15x on C-type. Best of ``--repeat``.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import unicodedata
from pathlib import Path

import numpy as np
from bitstring import Bits, Reader
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

import etl_writer  # noqa: E402  (the tests' independent ETL writer)
from kana_keras import etl  # noqa: E402
from kana_keras.kana import to_hiragana  # noqa: E402

TARGETS = {"8G": 10.0, "C": 15.0}


# ---- data --------------------------------------------------------------------------------

def _strokes(rng, n, h, w, levels=16):
    """Blobby pen-like pictures (not white noise), so the files look like scans."""
    yy, xx = np.mgrid[0:h, 0:w]
    out = np.zeros((n, h, w), np.int64)
    for i in range(n):
        img = np.zeros((h, w))
        for _ in range(4):
            cy, cx = rng.uniform(0.2, 0.8) * h, rng.uniform(0.2, 0.8) * w
            img += np.exp(-(((yy - cy) / (h / 10)) ** 2 + ((xx - cx) / (w / 3)) ** 2))
        out[i] = np.clip(img * (levels - 1), 0, levels - 1).astype(np.int64)
    return out


def make_files(folder: Path, n: int, seed: int = 0) -> dict[str, Path]:
    rng = np.random.default_rng(seed)
    kana_0208 = [0x2421 + k for k in range(0x53)]                    # ぁ .. ん
    g_imgs = _strokes(rng, 64, 127, 128)
    g = [etl_writer.g_record(g_imgs[i % 64], kana_0208[i % len(kana_0208)], sheet=1 + i // 75,
                             serial=i, reading=b"A.HIRA  ") for i in range(n)]
    kata_0201 = list(range(0xA6, 0xB0)) + list(range(0xB1, 0xDE))
    c_imgs = _strokes(rng, 64, 76, 72)
    c = [etl_writer.c_record(c_imgs[i % 64], kata_0201[i % len(kata_0201)],
                             t56="H  A" if i % 2 else "K  A", sheet=1 + i // 51, serial=i)
         for i in range(n)]
    return {"8G": etl_writer.write_file(folder / "ETL8G_01", g),
            "C": etl_writer.write_file(folder / "ETL4C", c)}


# ---- the AIST-style per-record reader ---------------------------------------------------

def _jis0201_label(code: int, hiragana: bool) -> str:
    char = {0x5C: "\u00a5", 0x7E: "\u203e", 0xA8: "ヰ", 0xAA: "ヱ",
            0xDE: "\u309b", 0xDF: "\u309c"}.get(code)
    if char is None:
        char = unicodedata.normalize("NFKC", bytes([code]).decode("shift_jis"))
    return to_hiragana(char) if hiragana else char


def bitstring_read_8g(path: Path):
    images, labels, sheets = [], [], []
    with open(path, "rb") as f:
        while s := f.read(8199):
            r = Reader(Bits.from_bytes(s)).read_list(
                "uint16, uint16, bytes8, uint32, 4*uint8, 4*uint16, 2*uint8, pad240, "
                "bytes8128, pad88")
            picture = Image.frombytes("F", (128, 127), r[14], "bit", 4)
            images.append((np.asarray(picture) * 17).astype(np.uint8))
            labels.append(bytes((0x80 | r[1] >> 8, 0x80 | r[1] & 0xFF)).decode("euc_jp"))
            sheets.append(r[0])
    return np.stack(images), np.array(labels), np.array(sheets, np.int64)


T56 = etl_writer.T56


def bitstring_read_c(path: Path):
    images, labels, sheets = [], [], []
    with open(path, "rb") as f:
        while s := f.read(2952):
            r = Reader(Bits.from_bytes(s)).read_list(
                "uint36, uint36, uint8, pad28, uint8, pad28, 4*uint6, pad12, 15*uint36, "
                "pad1008, bytes2736")
            picture = Image.frombytes("F", (72, 76), r[-1], "bit", 4)
            images.append((np.asarray(picture) * 17).astype(np.uint8))
            labels.append(_jis0201_label(r[2], T56[r[4]] == "H"))
            sheets.append(r[1])
    return np.stack(images), np.array(labels), np.array(sheets, np.int64)


# ---- the ceiling -------------------------------------------------------------------------

def nibble_split(path: Path, record_bytes: int, image_offset: int, h: int, w: int):
    raw = np.fromfile(path, np.uint8).reshape(-1, record_bytes)
    packed = raw[:, image_offset:image_offset + h * w // 2]
    out = np.empty((len(raw), h * w), np.uint8)
    out[:, 0::2] = packed >> 4
    out[:, 1::2] = packed & 15
    return out.reshape(-1, h, w)


def best_times(fns: dict, repeat: int) -> dict[str, float]:
    """Best wall time of each function, taking turns so that load on a shared machine
    hits all of them alike."""
    times = {name: [] for name in fns}
    for _ in range(repeat):
        for name, fn in fns.items():
            t0 = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - t0)
    return {name: min(t) for name, t in times.items()}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--records", type=int, default=3000)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args(argv)
    ok = True
    with tempfile.TemporaryDirectory() as tmp:
        files = make_files(Path(tmp), args.records)
        cases = {
            "8G": (bitstring_read_8g, (8199, 60, 127, 128)),
            "C": (bitstring_read_c, (2952, 216, 76, 72)),
        }
        print(f"{args.records} records per file, best of {args.repeat}")
        for fmt, (baseline, geometry) in cases.items():
            path = files[fmt]
            # Same answers first: a fast wrong reader is no benchmark.
            recs = etl.read(path)
            ref_images, ref_labels, ref_sheets = baseline(path)
            assert np.array_equal(recs.images, ref_images), fmt
            assert np.array_equal(recs.labels, ref_labels), fmt
            assert np.array_equal(recs.sheets, ref_sheets), fmt
            best = best_times({"read": lambda: etl.read(path),
                               "bitstring": lambda: baseline(path),
                               "ceiling": lambda: nibble_split(path, *geometry)}, args.repeat)
            t_read, t_bits, t_ceil = best["read"], best["bitstring"], best["ceiling"]
            n = args.records
            ratio, ceiling = t_bits / t_read, t_bits / t_ceil
            print(f"{fmt:>2}: read {n / t_read:12,.0f} rec/s | bitstring {n / t_bits:9,.0f} rec/s"
                  f" | nibble split {n / t_ceil:12,.0f} rec/s")
            print(f"    read = {ratio:.1f}x bitstring (target >= {TARGETS[fmt]:.0f}x), "
                  f"ceiling = {ceiling:.1f}x, read/ceiling = {t_ceil / t_read:.2f}")
            ok &= ratio >= TARGETS[fmt]
    print("targets met" if ok else "TARGETS NOT MET")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
