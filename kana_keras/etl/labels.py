"""ETL label codes -> Unicode characters, with the traps known readers fall into.

Three code systems label the ETL sets:

- JIS X 0201 (M and C types): one byte; ASCII-like roman half plus half-width katakana.
  * half-width katakana become the ordinary full-width characters (NFKC);
  * JIS X 0201 has no ヰ/ヱ, so ETL stores them with the codes of small ィ (0xA8) and small
    ェ (0xAA): in ETL those codes mean ヰ/ヱ (no ETL set holds a small ィ or ェ);
  * the voiced/semi-voiced marks 0xDE/0xDF become the spacing ゛ (U+309B) and ゜ (U+309C),
    the JIS X 0208 characters, not the combining U+3099/U+309A that NFKC would give;
  * ETL4 and ETL7 are hiragana stored with katakana codes: the caller says which records
    are hiragana and gets ゐ/ゑ for 0xA8/0xAA there;
  * roman half: we follow JIS X 0201 itself, 0x5C = ¥ (U+00A5) and 0x7E = ‾ (U+203E),
    because ETL1/ETL3 draw a yen sign there; Python's shift_jis codec would say \\ and ~.
    Digits and letters stay ASCII.
- JIS X 0208 (8B/8G/9B/9G): the row/cell code + 0x8080 is the EUC-JP byte pair.
- CO-59 (ETL2): a 1959 newspaper code in no Python codec; AIST ships the table
  ``euc_co59.dat`` (whitespace-separated ``CHAR:a,b`` in EUC-JP, a and b decimal).

Whole files are decoded through the distinct codes only (a few dozen per file), then
spread with numpy, so labels cost next to nothing per record.
"""

from __future__ import annotations

import os
import unicodedata
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from kana_keras.kana import to_hiragana
from kana_keras.etl.layouts import EtlError

ROMAN_CONVENTION = "JIS X 0201: 0x5C -> '¥' (U+00A5), 0x7E -> '‾' (U+203E)"

_SPECIAL_0201 = {
    0x5C: "\u00a5",   # YEN SIGN, JIS X 0201 roman
    0x7E: "\u203e",   # OVERLINE, JIS X 0201 roman
    0xA8: "ヰ",        # small ィ code, used by ETL for ヰ
    0xAA: "ヱ",        # small ェ code, used by ETL for ヱ
    0xDE: "\u309b",   # ゛ KATAKANA-HIRAGANA VOICED SOUND MARK (spacing)
    0xDF: "\u309c",   # ゜ KATAKANA-HIRAGANA SEMI-VOICED SOUND MARK (spacing)
}


def _jis0201(code: int) -> str | None:
    if code in _SPECIAL_0201:
        return _SPECIAL_0201[code]
    if 0x20 <= code <= 0x7E:
        return chr(code)
    if 0xA1 <= code <= 0xDF:   # half-width katakana block, U+FF61..U+FF9F
        return unicodedata.normalize("NFKC", chr(0xFF61 + code - 0xA1))
    return None


#: code -> character ('' where JIS X 0201 has none), katakana and hiragana readings.
JIS0201_KATAKANA: tuple[str, ...] = tuple(_jis0201(c) or "" for c in range(256))
JIS0201_HIRAGANA: tuple[str, ...] = tuple(to_hiragana(c) for c in JIS0201_KATAKANA)


class UndecodableLabel(EtlError):
    """A label code that means no character; ``index`` is the record within the batch."""

    def __init__(self, index: int, reason: str):
        super().__init__(reason)
        self.index = index
        self.reason = reason


def jis0201_char(code: int, hiragana: bool = False) -> str:
    """One JIS X 0201 byte as ETL means it; raises UndecodableLabel(-1, ...) if none."""
    table = JIS0201_HIRAGANA if hiragana else JIS0201_KATAKANA
    char = table[code] if 0 <= code < 256 else ""
    if not char:
        raise UndecodableLabel(-1, f"JIS X 0201 code 0x{code:02X} is not a character")
    return char


def jis0208_char(code: int) -> str:
    """A JIS X 0208 row/cell code (0x2422 = あ) through EUC-JP (code + 0x8080)."""
    hi, lo = code >> 8, code & 0xFF
    if not (0x21 <= hi <= 0x7E and 0x21 <= lo <= 0x7E):
        raise UndecodableLabel(-1, f"JIS X 0208 code 0x{code:04X} is outside rows/cells 0x21-0x7E")
    try:
        char = bytes((hi | 0x80, lo | 0x80)).decode("euc_jp")
    except UnicodeDecodeError:
        raise UndecodableLabel(-1, f"JIS X 0208 code 0x{code:04X} is unassigned") from None
    return char


def co59_char(table: Mapping[tuple[int, int], str], code: int) -> str:
    """A 12-bit CO-59 field (two 6-bit numbers a, b) through AIST's table."""
    key = (code >> 6, code & 63)
    try:
        return table[key]
    except KeyError:
        raise UndecodableLabel(
            -1, f"CO-59 code {key[0]},{key[1]} is not in the CO-59 table") from None


def load_co59(source) -> dict[tuple[int, int], str]:
    """AIST's ``euc_co59.dat`` (path) -> {(a, b): char}; a ready mapping passes through."""
    if isinstance(source, Mapping):
        return dict(source)
    if not isinstance(source, (str, os.PathLike)):
        raise EtlError(f"co59_table must be the path of euc_co59.dat or a mapping, "
                       f"got {type(source).__name__}")
    path = Path(source)
    try:
        text = path.read_bytes().decode("euc_jp")
    except OSError as exc:
        raise EtlError(f"{path}: cannot read the CO-59 table ({exc.strerror})") from None
    except UnicodeDecodeError as exc:
        raise EtlError(f"{path}: the CO-59 table is not EUC-JP text (byte {exc.start})") from None
    table = {}
    for n, token in enumerate(text.split(), 1):
        char, sep, pair = token.rpartition(":")
        a, comma, b = pair.partition(",")
        if not (sep and comma and char and a.isdigit() and b.isdigit()
                and int(a) < 64 and int(b) < 64):
            raise EtlError(f"{path}: entry {n} {token!r} is not CHAR:a,b with a, b in 0..63")
        table[(int(a), int(b))] = char
    if not table:
        raise EtlError(f"{path}: the CO-59 table is empty, expected lines CHAR:a,b")
    return table


def decode_labels(codes: np.ndarray, code_kind: str, *, hiragana: np.ndarray | None = None,
                  co59: Mapping[tuple[int, int], str] | None = None) -> np.ndarray:
    """Label codes (N,) -> array of str, decoding each distinct code once.

    ``hiragana`` (bool (N,)) marks JIS X 0201 records to read as hiragana. Raises
    UndecodableLabel with the index of the first record whose code means nothing.
    """
    codes = np.asarray(codes).astype(np.int64, copy=False)
    if code_kind == "jis0201":
        keys = codes if hiragana is None else codes + (np.asarray(hiragana, bool) << 8)
        decode = lambda key: jis0201_char(int(key) & 0xFF, bool(key >> 8))  # noqa: E731
    elif code_kind == "jis0208":
        keys, decode = codes, lambda key: jis0208_char(int(key))
    elif code_kind == "co59":
        if co59 is None:
            raise EtlError("ETL2 labels need the CO-59 table: pass co59_table=<euc_co59.dat>")
        keys, decode = codes, lambda key: co59_char(co59, int(key))
    else:
        raise ValueError(f"unknown label code {code_kind!r}")
    if len(keys) == 0:
        return np.zeros(0, "<U1")
    unique, inverse = np.unique(keys, return_inverse=True)
    chars = []
    for k, key in enumerate(unique):
        try:
            chars.append(decode(key))
        except UndecodableLabel as exc:
            raise UndecodableLabel(int(np.argmax(inverse == k)), exc.reason) from None
    return np.array(chars)[inverse]


def decode_label(code: int, code_kind: str, *, hiragana: bool = False,
                 co59: Mapping[tuple[int, int], str] | None = None) -> str:
    """One record's label (the reference decoder's path)."""
    if code_kind == "jis0201":
        return jis0201_char(code, hiragana)
    if code_kind == "jis0208":
        return jis0208_char(code)
    if co59 is None:
        raise EtlError("ETL2 labels need the CO-59 table: pass co59_table=<euc_co59.dat>")
    return co59_char(co59, code)
