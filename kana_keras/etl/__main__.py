"""A look at ETL files from the shell.

    python -m kana_keras.etl info PATH...              format, records, labels per file
    python -m kana_keras.etl show PATH --out grid.png  a labelled grid of samples

A folder PATH means every ETL file under it (official names). ETL2 needs --co59-table.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path

import numpy as np

from kana_keras import etl


def _files(paths):
    """Expand folders into their ETL files; plain files pass through (format= may name them)."""
    for path in map(Path, paths):
        if path.is_dir():
            found = etl.find(path)
            if not found:
                raise etl.EtlError(f"{path}: no ETL files (official names) under this folder")
            yield from (p for p, _, _ in found)
        else:
            yield path


def info(paths, format=None, co59_table=None, top=5, out=sys.stdout) -> int:
    """Per file: dataset/format, records, picture size, distinct labels, most/least frequent."""
    failed = 0
    for path in _files(paths):
        try:
            counts, n, shape, dataset, fmt, sheets = Counter(), 0, None, "?", "?", set()
            for chunk in etl.iter_chunks(path, format=format, co59_table=co59_table):
                labels, freq = np.unique(chunk.labels, return_counts=True)
                counts.update(dict(zip(labels.tolist(), freq.tolist())))
                n += len(chunk)
                shape, dataset, fmt = chunk.images.shape[1:], chunk.dataset, chunk.format
                sheets.update(np.unique(chunk.sheets).tolist())
        except etl.EtlError as exc:
            print(f"error: {exc}", file=sys.stderr)
            failed += 1
            continue
        ranked = counts.most_common()
        size = f"{shape[1]}x{shape[0]} px" if shape else "no pictures"
        sheet_text = ("no sheet numbers" if sheets <= {-1}
                      else f"{len(sheets)} sheet{'s' if len(sheets) != 1 else ''}")
        print(f"{path}: {dataset} ({fmt}-type), {n:,} records, {size}, "
              f"{len(counts)} distinct labels, {sheet_text}", file=out)
        if ranked:
            print("  most:  " + "  ".join(f"{c} {k:,}" for c, k in ranked[:top]), file=out)
            print("  least: " + "  ".join(f"{c} {k:,}" for c, k in ranked[::-1][:top]), file=out)
    return 1 if failed else 0


def show(path, out, n=64, cols=None, scale=1, format=None, co59_table=None) -> Path:
    """A black-on-white grid of n samples spread evenly over the file, captioned."""
    from kana_keras import images

    size = etl.count(path, format=format)
    if size == 0:
        raise etl.EtlError(f"{path}: no samples to show")
    idx = np.unique(np.linspace(0, size - 1, min(n, size)).round().astype(np.int64))
    recs = etl.read_records(path, idx, format=format, co59_table=co59_table)
    picture = images.grid(recs.images, recs.labels.tolist(), cols=cols, scale=scale)
    return images.save_atomic(picture, out)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m kana_keras.etl",
                                 description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="command", required=True)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--format", help="override the name: M, K, C, 8B, 8G, 9B, 9G or ETL7 ...")
    common.add_argument("--co59-table", help="AIST's euc_co59.dat, needed for ETL2")
    p_info = sub.add_parser("info", parents=[common], help="format, records, labels per file")
    p_info.add_argument("paths", nargs="+", metavar="PATH")
    p_info.add_argument("--top", type=int, default=5, help="how many most/least frequent labels")
    p_show = sub.add_parser("show", parents=[common], help="a labelled grid of samples")
    p_show.add_argument("path", metavar="PATH")
    p_show.add_argument("--out", required=True, help="picture to write (.png, .gif, .jpg, .webp)")
    p_show.add_argument("--n", type=int, default=64, help="samples, spread over the file")
    p_show.add_argument("--cols", type=int, default=None)
    p_show.add_argument("--scale", type=int, default=1, help="enlarge pixels this many times")
    args = ap.parse_args(argv)
    try:
        if args.command == "info":
            return info(args.paths, args.format, args.co59_table, args.top)
        _check_show_args(args)
        out = show(args.path, args.out, args.n, args.cols, args.scale, args.format,
                   args.co59_table)
    except (etl.EtlError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # the folder vanished or filled up after the check
        print(f"error: --out {args.out}: cannot write it ({exc.strerror or exc})", file=sys.stderr)
        return 1
    print(f"wrote {out}")
    return 0


def _check_show_args(args) -> None:
    """Usage errors of ``show``, found before any ETL file is read (ValueError names the flag)."""
    from kana_keras import images

    for flag, value in (("--n", args.n), ("--cols", args.cols), ("--scale", args.scale)):
        if value is not None and value < 1:
            raise ValueError(f"{flag} must be a whole number of at least 1, got {value}")
    images.check_picture_path(args.out, "--out")

if __name__ == "__main__":
    raise SystemExit(main())
