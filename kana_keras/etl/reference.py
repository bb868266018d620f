"""The reference path: one record at a time with bitstring, from the same layout tables.

Slow and plain on purpose: the layout table is turned into a bitstring 5 format string
(``uint36, uint36, uint8, pad28, ...``) and read with ``Reader.read_list``; pictures are
cut with ``bitstring.Array``. It shares nothing with ``fast.py`` but the tables and the
label functions, so a test that both agree bit for bit on every layout checks the numpy
tricks. (AIST's sample unpacker used ``ConstBitStream``, which bitstring 5 removed.)
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from bitstring import Array, Bits, Reader

from kana_keras.etl import labels as _labels
from kana_keras.etl.layouts import (
    HIRAGANA_DATASETS, T56, T56_HIRAGANA_MARK, Layout, level_to_ink, uint_dtype,
)


@lru_cache(maxsize=None)
def format_string(layout: Layout) -> str:
    """The layout as a bitstring ``read_list`` format, e.g. 'uint16, bytes2, ...'."""
    tokens = []
    for f in layout.fields:
        if f.kind == "uint":
            tokens.append(f"uint{f.bits}")
        elif f.kind == "ascii":
            tokens.append(f"bytes{f.bits // 8}")
        elif f.kind == "t56":
            tokens.append(", ".join(["uint6"] * (f.bits // 6)))
        elif f.kind == "pad":
            tokens.append(f"pad{f.bits}")
        elif f.kind == "image":
            tokens.append(f"bits{f.bits}")
    return ", ".join(tokens)


def read_record(record: bytes, layout: Layout) -> dict:
    """One record -> {field: value}; T56 fields as str, the image as a level list."""
    values = iter(Reader(Bits.from_bytes(record)).read_list(format_string(layout)))
    out = {}
    for f in layout.fields:
        if f.kind == "pad":
            continue
        if f.kind == "t56":
            out[f.name] = "".join(T56[next(values)] for _ in range(f.bits // 6))
        elif f.kind == "image":
            out[f.name] = Array.from_bytes(f"uint{layout.depth}", next(values).to_bytes()).tolist()
        else:
            out[f.name] = next(values)
    return out


def decode(raw: np.ndarray | bytes, layout: Layout, dataset: str, co59=None):
    """Same contract as ``fast.decode``: records -> (images, labels, sheets, meta)."""
    data = bytes(np.asarray(raw, np.uint8).reshape(-1)) if not isinstance(raw, bytes) else raw
    n = len(data) // layout.record_bytes
    records = [read_record(data[i * layout.record_bytes:(i + 1) * layout.record_bytes], layout)
               for i in range(n)]
    images = np.zeros((n, layout.height, layout.width), np.uint8)
    labels = []
    for i, rec in enumerate(records):
        images[i] = np.array([level_to_ink(v, layout.depth) for v in rec["image"]],
                             np.uint8).reshape(layout.height, layout.width)
        hiragana = dataset in HIRAGANA_DATASETS or (
            "t56_code" in rec and rec["t56_code"][0] == T56_HIRAGANA_MARK)
        try:
            labels.append(_labels.decode_label(rec[layout.label_field], layout.label_code,
                                               hiragana=hiragana, co59=co59))
        except _labels.UndecodableLabel as exc:
            raise _labels.UndecodableLabel(i, exc.reason) from None
    meta = {}
    for f in layout.fields:
        if f.kind in ("pad", "image") or f.name == layout.sheet_field:
            continue
        column = [rec[f.name] for rec in records]
        if f.kind == "uint":
            meta[f.name] = np.array(column, uint_dtype(f.bits))
        elif f.kind == "ascii":
            meta[f.name] = np.array(column, f"S{f.bits // 8}")
        else:
            meta[f.name] = np.array(column, f"<U{f.bits // 6}")
    if layout.sheet_field:
        sheets = np.array([rec[layout.sheet_field] for rec in records], np.int64)
    else:
        sheets = np.full(n, -1, np.int64)
    return images, np.array(labels, dtype=None if labels else "<U1"), sheets, meta
