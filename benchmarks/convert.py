"""Converter speed: records/s end to end vs a per-record bitstring reader's decode alone.

    python benchmarks/convert.py [--records 4000] [--size 64]

Generates ETL8G files (KanjiVG kana drawn at random pen widths, 4-bit levels) in a temporary
folder, then measures in the same run:

- baseline A, AIST's sample-unpacker style: each 8199-byte record read with bitstring
  (``Reader(Bits).read_list(...)``, the bitstring 5 form of ``ConstBitStream.readlist``),
  the picture unpacked by PIL (``Image.frombytes('F', ..., 'bit', 4)``). Decode only.
- baseline B, all bitstring: the same, with the pixels unpacked by ``bitstring.Array``
  (what a reader without PIL does). Decode only, measured on a subset.
- ``python -m kana_keras.convert`` end to end (decode + preprocess + split + write +
  checksums) with 1 and 2 workers, timed by the converter itself (interpreter start-up
  excluded) and as a whole; peak RSS of the converter and its workers
  (``resource.getrusage(RUSAGE_CHILDREN)``), also at 4x the records to show it stays flat.

The issue's target: end to end >= 5x the bitstring reader's decode-only speed.
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from kana_keras import kanjivg  # noqa: E402
from kana_keras.kana import ALL_KANA  # noqa: E402

RECORD = 8199

# ## Test data: ETL8G records


def record_8g(levels: np.ndarray, char: str, sheet: int) -> bytes:
    """One ETL8G record (form_e8g): 30-byte header, 30 undefined, 8128 image, 11 unknown."""
    jis = int.from_bytes(char.encode("euc_jp"), "big") - 0x8080
    head = struct.pack(">HH8sI4B4H2B", sheet, jis, b"BENCH   ", sheet, 0, 0, 1, 20,
                       0, 0, 0, 0, 0, 0)
    flat = levels.reshape(-1).astype(np.uint8)
    image = ((flat[0::2] << 4) | flat[1::2]).astype(np.uint8).tobytes()
    return head + bytes(30) + image + bytes(11)


def write_files(folder: Path, records: int, files: int, seed: int = 0) -> list[Path]:
    rng = np.random.default_rng(seed)
    per_file = -(-records // files)
    paths = []
    for f in range(files):
        chunk = []
        for r in range(f * per_file, min(records, (f + 1) * per_file)):
            img = np.zeros((127, 128), np.uint8)
            scale = rng.uniform(0.75, 1.0)
            offset = rng.uniform(0, 128 - 109 * scale, 2)
            for stroke in kanjivg.strokes(ALL_KANA[r % len(ALL_KANA)]):
                pts = np.rint((stroke * scale + offset) * 16).astype(np.int32)
                cv2.polylines(img, [pts], False, int(rng.integers(9, 16)),
                              int(rng.integers(2, 6)), cv2.LINE_AA, shift=4)
            chunk.append(record_8g(img, ALL_KANA[r % len(ALL_KANA)], r // len(ALL_KANA) + 1))
        path = folder / f"ETL8G_{f + 1:02d}"
        path.write_bytes(b"".join(chunk))
        paths.append(path)
    return paths


# ## Baselines: per-record bitstring readers (decode only)

FORMAT_8G = ("uint16, uint16, bytes8, uint32, uint8, uint8, uint8, uint8, "
             "uint16, uint16, uint16, uint16, uint8, uint8, pad240, bytes8128, pad88")


def decode_aist_style(path: Path) -> int:
    from bitstring import Bits, Reader
    from PIL import Image

    n = 0
    with open(path, "rb") as f:
        while (record := f.read(RECORD)) and len(record) == RECORD:
            fields = Reader(Bits.from_bytes(record)).read_list(FORMAT_8G)
            image = Image.frombytes("F", (128, 127), fields[-1], "bit", 4).convert("L")
            np.asarray(image)
            n += 1
    return n


def decode_all_bitstring(path: Path, limit: int) -> int:
    from bitstring import Array, Bits, Reader

    n = 0
    with open(path, "rb") as f:
        while n < limit and (record := f.read(RECORD)) and len(record) == RECORD:
            fields = Reader(Bits.from_bytes(record)).read_list(FORMAT_8G)
            levels = Array.from_bytes("uint4", fields[-1]).tolist()
            np.array(levels, np.uint8).reshape(127, 128)
            n += 1
    return n


# ## The converter, as training starts it


def run_converter(sources: list[Path], out: Path, size: int, workers: int) -> tuple[float, float]:
    """(seconds the converter reports, wall seconds including start-up)."""
    env = dict(os.environ, PYTHONPATH=str(REPO))
    started = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "kana_keras.convert", *map(str, sources),
                           "--out", str(out), "--size", str(size), "--workers", str(workers),
                           "--quiet"], capture_output=True, text=True, env=env)
    wall = time.perf_counter() - started
    if proc.returncode:
        sys.exit(f"converter failed:\n{proc.stderr}")
    inner = float(re.search(r"in ([0-9.]+) s", proc.stdout).group(1))
    return inner, wall


def children_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024.0  # KiB on Linux


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--records", type=int, default=4000)
    parser.add_argument("--files", type=int, default=2, help="ETL8G files (workers need >1)")
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--subset", type=int, default=400, help="records for baseline B")
    args = parser.parse_args()
    print(f"cpus: {os.cpu_count()}, load average: {os.getloadavg()[0]:.1f} "
          f"(a loaded machine slows every figure; the ratios are from the same run)")
    with tempfile.TemporaryDirectory(prefix="kana-bench-") as tmp:
        tmp = Path(tmp)
        small, big = tmp / "small", tmp / "big"
        small.mkdir()
        big.mkdir()
        files = write_files(small, args.records, args.files)
        print(f"data: {args.records} ETL8G records in {len(files)} files "
              f"({sum(f.stat().st_size for f in files) / 1e6:.0f} MB)")

        t, c = time.perf_counter(), time.process_time()
        n = sum(decode_aist_style(f) for f in files)
        rate_a = n / (time.perf_counter() - t)
        cpu_a = (time.process_time() - c) / n
        t, c = time.perf_counter(), time.process_time()
        m = decode_all_bitstring(files[0], args.subset)
        rate_b = m / (time.perf_counter() - t)
        cpu_b = (time.process_time() - c) / m
        print(f"baseline A  bitstring fields + PIL pixels, decode only: {rate_a:8.0f} rec/s "
              f"({cpu_a * 1e6:.0f} us CPU/rec)")
        print(f"baseline B  bitstring fields + pixels,     decode only: {rate_b:8.0f} rec/s "
              f"({cpu_b * 1e6:.0f} us CPU/rec)")

        rates = {}
        for workers in (1, 2):
            c = children_cpu_s()
            inner, wall = run_converter(files, tmp / f"cache-{workers}", args.size, workers)
            cpu = (children_cpu_s() - c) / args.records
            rates[workers] = args.records / inner
            print(f"  CPU per record, all processes, start-up included: {cpu * 1e6:.0f} us")
            print(f"convert --workers {workers}: {rates[workers]:8.0f} rec/s end to end "
                  f"({inner:.2f} s; {args.records / wall:.0f} rec/s counting interpreter "
                  f"start-up, {wall:.2f} s); peak RSS so far {peak_rss_mb():.0f} MB")
        # CPU cost per record without interpreter start-up: load-independent, unlike rec/s
        from kana_keras import convert

        c = time.process_time()
        convert.convert(files, tmp / "cache-inproc", size=args.size, workers=1, progress=False)
        cpu_convert = (time.process_time() - c) / args.records
        print(f"convert in-process, 1 worker: {cpu_convert * 1e6:.0f} us CPU/rec "
              f"(decode + preprocess + split + write + checksums)")
        big_files = write_files(big, 4 * args.records, 2 * args.files, seed=1)
        inner, _ = run_converter(big_files, tmp / "cache-big", args.size, 2)
        print(f"convert --workers 2 on {4 * args.records} records: "
              f"{4 * args.records / inner:.0f} rec/s; peak RSS {peak_rss_mb():.0f} MB "
              "(flat: memory does not grow with the input)")
        print()
        for workers, rate in rates.items():
            print(f"ratio end-to-end ({workers} worker{'s' if workers > 1 else ''}) / "
                  f"baseline A: {rate / rate_a:5.2f}x   / baseline B: {rate / rate_b:6.2f}x"
                  "   (target >= 5x)")
        print(f"CPU-time ratio per worker (load-independent): baseline A "
              f"{cpu_a / cpu_convert:.2f}x, baseline B {cpu_b / cpu_convert:.2f}x; with 2 "
              f"workers on 2 idle cores expect about twice that")


if __name__ == "__main__":
    main()
