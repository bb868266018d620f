"""Record coding: the ETL8G layout of ``etl/layouts.py`` as a writable numpy dtype.

Synthetic samples are written as real ETL8G records, so the project's reader
(``kana_keras.etl``) and its fast decoder read them like any ETL file.
"""

from __future__ import annotations

import numpy as np

from kana_keras import kana as kana_mod
from kana_keras.etl import fast
from kana_keras.etl.layouts import G8, Layout


def record_dtype(layout: Layout) -> np.dtype:
    """A writable numpy record of a byte-aligned layout: the one table, not a copy of it."""
    fields = []
    for f in layout.fields:
        if f.bits % 8 or layout.offsets.get(f.name, 0) % 8:
            raise ValueError(f"{layout.format}.{f.name}: not byte-aligned, cannot be written by numpy")
        n = f.bits // 8
        if f.kind == "uint":
            fields.append((f.name, f">u{n}"))
        elif f.kind == "ascii":
            fields.append((f.name, f"S{n}"))
        else:                                    # image and padding: raw bytes
            fields.append((f.name, "u1", (n,)))
    dtype = np.dtype(fields)
    assert dtype.itemsize == layout.record_bytes
    return dtype


ETL8G_RECORD = record_dtype(G8)
ETL8G_WIDTH, ETL8G_HEIGHT = G8.width, G8.height

# Kunrei-shiki readings in the order of kana.HIRAGANA (ETL writes e.g. "KA.HIRA ").
_ROMAJI = (
    "A I U E O KA KI KU KE KO SA SI SU SE SO TA TI TU TE TO NA NI NU NE NO "
    "HA HI HU HE HO MA MI MU ME MO YA YU YO RA RI RU RE RO WA WO N "
    "GA GI GU GE GO ZA ZI ZU ZE ZO DA DI DU DE DO BA BI BU BE BO "
    "PA PI PU PE PO WI WE"
).split()
assert len(_ROMAJI) == len(kana_mod.HIRAGANA)
_READING = {h: r for h, r in zip(kana_mod.HIRAGANA, _ROMAJI)}

_DAKUTEN = set(kana_mod.HIRAGANA_VOICED) | {kana_mod.to_katakana(c) for c in kana_mod.HIRAGANA_VOICED}
_HANDAKUTEN = set(kana_mod.HIRAGANA_SEMIVOICED) | {
    kana_mod.to_katakana(c) for c in kana_mod.HIRAGANA_SEMIVOICED}


def reading(char: str) -> bytes:
    """The 8-byte ASCII reading of a kana, e.g. b"KA.KATA "."""
    hira = kana_mod.to_hiragana(char)
    if hira not in _READING:
        raise ValueError(f"no ETL reading for {char!r}: not one of the {len(kana_mod.ALL_KANA)} kana classes")
    script = "HIRA" if kana_mod.is_hiragana(char) else "KATA"
    return f"{_READING[hira]}.{script}".ljust(8).encode("ascii")


def jis_code(char: str) -> int:
    """JIS X 0208 row/cell code (EUC-JP bytes minus 0x8080), e.g. 0x2422 for あ."""
    euc = char.encode("euc_jp")
    if len(euc) != 2:
        raise ValueError(f"{char!r} has no two-byte JIS X 0208 code")
    return int.from_bytes(euc, "big") - 0x8080



def decode_images(data: bytes) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(images uint8 (N,127,128) 0..255 ink-high, labels, sheets) of our own ETL8G bytes.

    Through ``etl.fast``, the decoder every ETL file goes through: one reader, not two.
    """
    raw = np.frombuffer(data, np.uint8).reshape(-1, G8.record_bytes)
    images, labels, sheets, _ = fast.decode(raw, G8, "ETL8G")
    return images, np.asarray(labels), sheets
