"""The fast path: decode many ETL records at once with numpy.

A batch of records is one ``(N, record_bytes)`` uint8 matrix. Byte-aligned fields are read
through a structured dtype built from the layout table (no copy); fields that straddle bytes
(the 36-bit words and 6-bit characters of C and K types) are cut out of the matrix column by
column with shifts, still for all records at once. Pictures: a nibble split into 16-bit
slots, block by block so its temporary stays in cache (4-bit); a 3-bytes-to-4-pixels split
and a lookup table (6-bit); ``np.unpackbits`` (1-bit). Labels: once per distinct code.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from kana_keras.etl import labels as _labels
from kana_keras.etl.layouts import (
    HIRAGANA_DATASETS, T56, T56_HIRAGANA_MARK, Layout, level_to_ink, uint_dtype,
)

# ---- lookup tables -----------------------------------------------------------------------

#: 4-bit level -> 0..255 is x17; checked against the shared formula at import.
_X17 = 17
assert all(level_to_ink(v, 4) == v * _X17 for v in range(16))
#: Bytes of 16-bit slots per block when splitting nibbles: stays in cache (~256 KB).
_BLOCK_BYTES = 1 << 18
#: 6-bit level -> 0..255.
_LUT6 = level_to_ink(np.arange(64), 6).astype(np.uint8)
_T56_CHARS = np.array(list(T56))
_T56_H = T56.index(T56_HIRAGANA_MARK)


@lru_cache(maxsize=None)
def _struct_dtype(layout: Layout) -> tuple[np.dtype, tuple[str, ...]]:
    """A structured dtype over the layout's byte-aligned uint/ascii fields (nibabel style)."""
    names, formats, offsets = [], [], []
    for f in layout.fields:
        pos = layout.offsets.get(f.name)
        if pos is None or pos % 8:
            continue
        if f.kind == "uint" and f.bits in (8, 16, 32, 64):
            formats.append(f">u{f.bits // 8}")
        elif f.kind == "ascii":
            formats.append(f"S{f.bits // 8}")
        else:
            continue
        names.append(f.name)
        offsets.append(pos // 8)
    dtype = np.dtype({"names": names, "formats": formats, "offsets": offsets,
                      "itemsize": layout.record_bytes})
    return dtype, tuple(names)


def _bitfield(raw: np.ndarray, bit_offset: int, bits: int) -> np.ndarray:
    """An unsigned field of any width (<= 57 bits) at any bit offset, for every record."""
    first, last = bit_offset // 8, (bit_offset + bits - 1) // 8
    acc = raw[:, first].astype(np.uint64)
    for col in range(first + 1, last + 1):
        acc = (acc << np.uint64(8)) | raw[:, col]
    shift = (last - first + 1) * 8 - bit_offset % 8 - bits
    return (acc >> np.uint64(shift)) & np.uint64((1 << bits) - 1)


def _t56_codes(raw: np.ndarray, bit_offset: int, n_chars: int) -> np.ndarray:
    """(N, n_chars) six-bit character codes."""
    return np.stack([_bitfield(raw, bit_offset + 6 * k, 6) for k in range(n_chars)], axis=1)


def _t56_strings(codes: np.ndarray) -> np.ndarray:
    """(N, k) T56 codes -> (N,) str, joined without a Python loop."""
    chars = np.ascontiguousarray(_T56_CHARS[codes.astype(np.intp)])
    return chars.view(f"<U{codes.shape[1]}").reshape(len(codes))


def decode_fields(raw: np.ndarray, layout: Layout) -> dict[str, np.ndarray]:
    """Every non-image field of every record, keyed by the layout's field names."""
    out = {}
    dtype, aligned = _struct_dtype(layout)
    records = raw.reshape(-1).view(dtype) if len(raw) else np.zeros(0, dtype)
    for f in layout.fields:
        if f.kind in ("pad", "image"):
            continue
        pos = layout.offsets[f.name]
        if f.name in aligned:
            value = records[f.name]
            out[f.name] = value.astype(uint_dtype(f.bits)) if f.kind == "uint" else value.copy()
        elif f.kind == "uint":
            out[f.name] = _bitfield(raw, pos, f.bits).astype(uint_dtype(f.bits))
        elif f.kind == "t56":
            out[f.name] = _t56_strings(_t56_codes(raw, pos, f.bits // 6))
        else:
            raise AssertionError(f"{layout.format}.{f.name}: unaligned {f.kind} field")
    return out


def _split_nibbles(packed: np.ndarray) -> np.ndarray:
    """(N, B) bytes -> (N, 2B) pixels x17, high nibble first.

    Each byte widens in place into a little-endian 16-bit slot of the output, low byte =
    first pixel; worked block by block so the one temporary stays in cache.
    """
    n, nbytes = packed.shape
    out = np.empty((n, nbytes), "<u2")
    block = max(1, _BLOCK_BYTES // max(2 * nbytes, 1))
    high = np.empty((min(block, n), nbytes), "<u2")
    for start in range(0, n, block):
        slots = out[start:start + block]
        first = high[:len(slots)]
        slots[...] = packed[start:start + block]
        np.right_shift(slots, 4, out=first)     # first pixel: the high nibble, low byte
        slots &= 15
        slots <<= 8                             # second pixel: the low nibble, high byte
        slots |= first
        slots *= _X17                           # 15 * 17 = 255: no carry between bytes
    return out.view(np.uint8)


def decode_images(raw: np.ndarray, layout: Layout) -> np.ndarray:
    """(N, H, W) uint8 pictures, 0 = paper, 255 = full ink."""
    n = len(raw)
    start = layout.image_byte_offset
    packed = raw[:, start:start + layout.image_bytes]
    if layout.depth == 4:
        pixels = _split_nibbles(packed)
    elif layout.depth == 6:
        b = packed.reshape(n, -1, 3)
        b0, b1, b2 = b[..., 0], b[..., 1], b[..., 2]
        pixels = np.empty((n, b.shape[1], 4), np.uint8)
        pixels[..., 0] = b0 >> 2
        pixels[..., 1] = ((b0 & 3) << 4) | (b1 >> 4)
        pixels[..., 2] = ((b1 & 15) << 2) | (b2 >> 6)
        pixels[..., 3] = b2 & 63
        pixels = np.take(_LUT6, pixels)
    elif layout.depth == 1:
        pixels = np.unpackbits(packed, axis=1)
        pixels *= 255
    else:
        raise AssertionError(f"{layout.format}: no decoder for {layout.depth}-bit pixels")
    return pixels.reshape(n, layout.height, layout.width)


def hiragana_mask(raw: np.ndarray, layout: Layout, dataset: str) -> np.ndarray | None:
    """Which JIS X 0201 records are hiragana: all of ETL7, C-type records marked "H"."""
    if layout.label_code != "jis0201":
        return None
    if dataset in HIRAGANA_DATASETS:
        return np.ones(len(raw), bool)
    if "t56_code" in layout.offsets:
        return _bitfield(raw, layout.offsets["t56_code"], 6) == _T56_H
    return None


def decode(raw: np.ndarray, layout: Layout, dataset: str, co59=None):
    """(N, record_bytes) uint8 -> (images, labels, sheets, meta).

    Raises labels.UndecodableLabel whose ``index`` is the record within ``raw``.
    """
    raw = np.ascontiguousarray(raw, dtype=np.uint8)
    meta = decode_fields(raw, layout)
    codes = meta[layout.label_field]
    labels = _labels.decode_labels(codes, layout.label_code,
                                   hiragana=hiragana_mask(raw, layout, dataset), co59=co59)
    if layout.sheet_field:
        sheets = meta.pop(layout.sheet_field).astype(np.int64)
    else:
        sheets = np.full(len(raw), -1, np.int64)
    return decode_images(raw, layout), labels, sheets, meta
