"""An ETL writer for the tests, in all seven layouts.

Written from the format text (../shared/etl-formats.md, AIST's form pages), NOT from
``kana_keras.etl.layouts``: if a layout table in the reader is wrong, the round trip through
this independent writer fails. Byte-aligned headers use ``struct``; the 6-bit worlds of
C and K types are packed into one Python integer. Undefined areas are filled with a 0xEE
pattern so that a reader looking at the wrong offset sees garbage, not zeros.
"""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np

# T56, retyped from the spec: index = 6-bit code.
T56 = "0123456789[#@:>? ABCDEFGHI&.](<  JKLMNOPQR-$*);'|/STUVWXYZ ,%=\"!"
T56_SPACE = 16
GARBAGE = 0xEE


class Bits:
    """Big-endian bit packer: append (value, width) pairs, get bytes."""

    def __init__(self):
        self.value, self.nbits = 0, 0

    def add(self, value: int, width: int) -> "Bits":
        assert 0 <= value < (1 << width), (value, width)
        self.value = (self.value << width) | value
        self.nbits += width
        return self

    def t56(self, text: str) -> "Bits":
        for ch in text:
            self.add(T56.index(ch), 6)
        return self

    def to_bytes(self) -> bytes:
        assert self.nbits % 8 == 0, self.nbits
        return self.value.to_bytes(self.nbits // 8, "big")


def pack_levels(levels, depth: int) -> bytes:
    """Row-major pixels, first pixel in the most significant bits."""
    flat = np.asarray(levels, np.int64).reshape(-1)
    assert flat.min() >= 0 and flat.max() < (1 << depth)
    if depth == 4:
        return ((flat[0::2] << 4) | flat[1::2]).astype(np.uint8).tobytes()
    if depth == 1:
        return np.packbits(flat.astype(np.uint8)).tobytes()
    bits = "".join(format(int(v), f"0{depth}b") for v in flat)   # 6-bit: slow, exact
    return int(bits, 2).to_bytes(len(bits) // 8, "big")


# ---- M-type: ETL1, ETL6, ETL7 (2052 bytes) --------------------------------------------

def m_record(levels, jis: int, *, data_number=0, character_code=b"  ", sheet=0, ebcdic=0,
             image_evaluation=0, group_evaluation=0, sex=1, age=20, serial=0, industry=0,
             occupation=0, gathering_date=0, scanning_date=0, position_y=0, position_x=0,
             min_level=0, max_level=15) -> bytes:
    """levels: (63, 64) in 0..15."""
    assert np.shape(levels) == (63, 64)
    rec = struct.pack(">H2sH6BI4H4B", data_number, character_code, sheet, jis, ebcdic,
                      image_evaluation, group_evaluation, sex, age, serial, industry,
                      occupation, gathering_date, scanning_date, position_y, position_x,
                      min_level, max_level)
    assert len(rec) == 28
    rec += bytes([GARBAGE]) * 4 + pack_levels(levels, 4) + bytes([GARBAGE]) * 4
    assert len(rec) == 2052
    return rec


# ---- C-type: ETL3, ETL4, ETL5 (2952 bytes) --------------------------------------------

C_INTS = ("image_evaluation", "group_evaluation", "position_y", "position_x", "sex", "age",
          "industry", "occupation", "gathering_date", "scanning_date", "x_points", "y_points",
          "levels", "magnification", "old_serial_data_number")


def c_record(levels, jis: int, *, t56="K  A", serial=0, sheet=0, ebcdic=0, **ints) -> bytes:
    """levels: (76, 72) in 0..15; ``ints`` the fifteen 36-bit words by name."""
    assert np.shape(levels) == (76, 72) and len(t56) == 4
    defaults = dict.fromkeys(C_INTS, 0) | {"x_points": 72, "y_points": 76, "levels": 16}
    unknown = set(ints) - set(C_INTS)
    assert not unknown, unknown
    values = defaults | ints
    b = Bits().add(serial, 36).add(sheet, 36).add(jis, 8).add(0, 28).add(ebcdic, 8).add(0, 28)
    b.t56(t56).add(T56_SPACE, 6).add(T56_SPACE, 6)
    for name in C_INTS:
        b.add(values[name], 36)
    for _ in range(1008 // 8):
        b.add(GARBAGE, 8)
    header = b.to_bytes()
    assert len(header) == 216
    rec = header + pack_levels(levels, 4)
    assert len(rec) == 2952
    return rec


# ---- K-type: ETL2 (2745 bytes = 3660 six-bit characters) --------------------------------

def k_record(levels, co59: tuple[int, int], *, serial=0, mark="A", contents="HRKANA",
             style="MINCHO") -> bytes:
    """levels: (60, 60) in 0..63; co59 the two 6-bit numbers."""
    assert np.shape(levels) == (60, 60)
    b = Bits().add(serial, 36).t56(mark).t56("     ").t56(contents).t56(style)
    b.add(0, 24).add(co59[0], 6).add(co59[1], 6)
    for _ in range(30):                      # characters 31-60 undefined
        b.add(0b101110, 6)
    header = b.to_bytes()
    assert len(header) == 45
    rec = header + pack_levels(levels, 6)
    assert len(rec) == 2745
    return rec


# ---- 8B / 9B (512 / 576 bytes) ----------------------------------------------------------

def b_record(ink, jis: int, *, sheet=0, reading=b"A.HI", variant="8B") -> bytes:
    """ink: (63, 64) of 0/1 (1 = ink)."""
    assert np.shape(ink) == (63, 64) and variant in ("8B", "9B")
    rec = struct.pack(">HH4s", sheet, jis, reading) + pack_levels(ink, 1)
    assert len(rec) == 512
    if variant == "9B":
        rec += bytes([GARBAGE]) * 64
    return rec


# ---- 8G / 9G (8199 bytes) ---------------------------------------------------------------

def g_record(levels, jis: int, *, sheet=0, reading=b"A.HIRA  ", serial=0, image_evaluation=0,
             group_evaluation=0, sex=1, age=20, industry=0, occupation=0, gathering_date=0,
             scanning_date=0, position_x=0, position_y=0, variant="8G") -> bytes:
    """levels: (127, 128) in 0..15."""
    assert np.shape(levels) == (127, 128) and variant in ("8G", "9G")
    head = struct.pack(">HH8sI4B4H2B", sheet, jis, reading, serial, image_evaluation,
                       group_evaluation, sex, age, industry, occupation, gathering_date,
                       scanning_date, position_x, position_y)
    assert len(head) == 30
    gap, tail = (30, 11) if variant == "8G" else (34, 7)
    rec = head + bytes([GARBAGE]) * gap + pack_levels(levels, 4) + bytes([GARBAGE]) * tail
    assert len(rec) == 8199
    return rec


def dummy_b_record(variant="8B") -> bytes:
    """The first record of an ETL8B/ETL9B file: not a sample (code 0 decodes to nothing)."""
    return b_record(np.ones((63, 64), np.uint8), 0, sheet=0xFFFF, reading=b"\0\0\0\0",
                    variant=variant)


def write_file(path, records, *, extra: bytes = b"") -> Path:
    """Concatenate records (plus optional trailing junk) into one file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"".join(records) + extra)
    return path
