"""The seven ETL record layouts, declared once as data.

Both decoders read these tables: ``fast.py`` (numpy, whole files) and ``reference.py``
(bitstring, one record at a time). So a layout is written down exactly once, next to the
offsets printed on AIST's format pages (etlcdb ``form_m``, ``form_k``, ``form_c``,
``form_e8b``, ``form_e8g``, ``form_e9b``, ``form_e9g``), and an import-time check proves
that each table adds up to its record length.

A field is ``(name, bits, kind)``; fields follow each other without gaps, big-endian, the
first pixel of an image in the most significant bits. Kinds:

- ``uint``  unsigned integer of ``bits`` bits (need not fall on byte boundaries: C/K types)
- ``ascii`` ``bits // 8`` bytes of ASCII text, kept as bytes
- ``t56``   ``bits // 6`` six-bit T56 characters (ETL2-5 wrote 6-bit "characters")
- ``pad``   undefined, zero or spaces on the page: skipped
- ``image`` the packed picture, ``width x height`` pixels of ``depth`` bits
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import NamedTuple


class EtlError(ValueError):
    """Bad ETL input: the message names the file and what was expected."""


class Field(NamedTuple):
    name: str
    bits: int
    kind: str


F = Field

#: T56 code, index = 6-bit code (AIST). Four codes print as a space; only the first
#: character of the C-type "4 character code" is relied on (H = hiragana, K = katakana).
T56 = "0123456789[#@:>? ABCDEFGHI&.](<  JKLMNOPQR-$*);'|/STUVWXYZ ,%=\"!"
assert len(T56) == 64


@dataclass(frozen=True)
class Layout:
    """One record format: its fields, its picture, where its label and sheet live."""

    format: str
    datasets: tuple[str, ...]
    record_bytes: int
    fields: tuple[Field, ...]
    width: int
    height: int
    depth: int                      # bits per pixel
    label_field: str
    label_code: str                 # "jis0201" | "jis0208" | "co59"
    sheet_field: str | None         # serial sheet number, None where the format has none
    dummy_first: bool = False       # ETL8B/ETL9B: the first record of each file is a dummy
    offsets: dict = field(init=False, repr=False, compare=False)

    def __post_init__(self):
        offsets, pos = {}, 0
        for f in self.fields:
            if f.kind not in ("uint", "ascii", "t56", "pad", "image"):
                raise AssertionError(f"{self.format}.{f.name}: unknown kind {f.kind!r}")
            if f.kind != "pad":
                offsets[f.name] = pos
            pos += f.bits
        if pos != self.record_bytes * 8:
            raise AssertionError(f"{self.format}: fields add up to {pos} bits, "
                                 f"expected {self.record_bytes} bytes")
        image = self.find_field("image")
        if image.bits != self.width * self.height * self.depth or offsets["image"] % 8:
            raise AssertionError(f"{self.format}: image field does not match its size")
        object.__setattr__(self, "offsets", offsets)

    def find_field(self, name: str) -> Field:
        return next(f for f in self.fields if f.name == name)

    @property
    def image_byte_offset(self) -> int:
        return self.offsets["image"] // 8

    @property
    def image_bytes(self) -> int:
        return self.width * self.height * self.depth // 8


# fmt: off
# ---- M-type: ETL1, ETL6, ETL7 (form_m; byte positions 1-based) --------------------------
M = Layout("M", ("ETL1", "ETL6", "ETL7"), 2052, (
    F("data_number",          16, "uint"),    # 1-2       data number
    F("character_code",       16, "ascii"),   # 3-4       2 ASCII chars, e.g. "KA", " A"
    F("sheet",                16, "uint"),    # 5-6       serial sheet number
    F("jis_code",              8, "uint"),    # 7         JIS X 0201 code
    F("ebcdic_code",           8, "uint"),    # 8         EBCDIC code
    F("image_evaluation",      8, "uint"),    # 9         evaluation of individual image
    F("group_evaluation",      8, "uint"),    # 10        evaluation of character group
    F("sex",                   8, "uint"),    # 11        1 male, 2 female
    F("age",                   8, "uint"),    # 12        age of writer
    F("serial_data_number",   32, "uint"),    # 13-16     serial data number
    F("industry",             16, "uint"),    # 17-18     industry classification code
    F("occupation",           16, "uint"),    # 19-20     occupation classification code
    F("gathering_date",       16, "uint"),    # 21-22     sheet gathering date (YYMM)
    F("scanning_date",        16, "uint"),    # 23-24     scanning date (YYMM)
    F("position_y",            8, "uint"),    # 25        sample position Y on sheet
    F("position_x",            8, "uint"),    # 26        sample position X on sheet
    F("min_level",             8, "uint"),    # 27        minimum scanned level
    F("max_level",             8, "uint"),    # 28        maximum scanned level
    F("undefined_29",         32, "pad"),     # 29-32     undefined
    F("image",             16128, "image"),   # 33-2048   64 x 63 pixels, 4 bits (2016 bytes)
    F("undefined_2049",       32, "pad"),     # 2049-2052 undefined
), width=64, height=63, depth=4,              # total 2052 bytes
   label_field="jis_code", label_code="jis0201", sheet_field="sheet")

# ---- K-type: ETL2, machine-printed (form_k; positions in 6-bit characters, 1-based) -----
K = Layout("K", ("ETL2",), 2745, (
    F("serial_data_number",   36, "uint"),    # 1-6       serial data number (36 bits)
    F("style_mark",            6, "t56"),     # 7         T56 A/B/C/D
    F("spaces_8",             30, "pad"),     # 8-12      spaces
    F("contents",             36, "t56"),     # 13-18     T56 "HRKANA", "KTKANA", "KANJI "
    F("style",                36, "t56"),     # 19-24     T56 "MINCHO", "GOTHIC"
    F("zeros_25",             24, "pad"),     # 25-28     zeros
    F("co59_code",            12, "uint"),    # 29-30     CO-59 code: two 6-bit numbers a, b
                                              #           (a = code >> 6, b = code & 63)
    F("undefined_31",        180, "pad"),     # 31-60     undefined
    F("image",             21600, "image"),   # 61-3660   60 x 60 pixels, 6 bits (2700 bytes)
), width=60, height=60, depth=6,              # total 3660 characters = 2745 bytes
   label_field="co59_code", label_code="co59", sheet_field=None)

# ---- C-type: ETL3, ETL4, ETL5 (form_c; positions in bits from the record start) ---------
C = Layout("C", ("ETL3", "ETL4", "ETL5"), 2952, (
    F("serial_data_number",   36, "uint"),    # 0-35      serial data number
    F("sheet",                36, "uint"),    # 36-71     serial sheet number
    F("jis_code",              8, "uint"),    # 72-79     JIS X 0201 code
    F("zeros_80",             28, "pad"),     # 80-107    28 zero bits
    F("ebcdic_code",           8, "uint"),    # 108-115   EBCDIC code
    F("zeros_116",            28, "pad"),     # 116-143   28 zero bits
    F("t56_code",             24, "t56"),     # 144-167   4 x T56 "4 character code", "H  A"
    F("spaces_168",           12, "pad"),     # 168-179   2 x T56 spaces
    F("image_evaluation",     36, "uint"),    # 180-215   fifteen 36-bit integers follow
    F("group_evaluation",     36, "uint"),    # 216-251
    F("position_y",           36, "uint"),    # 252-287
    F("position_x",           36, "uint"),    # 288-323
    F("sex",                  36, "uint"),    # 324-359
    F("age",                  36, "uint"),    # 360-395
    F("industry",             36, "uint"),    # 396-431
    F("occupation",           36, "uint"),    # 432-467
    F("gathering_date",       36, "uint"),    # 468-503
    F("scanning_date",        36, "uint"),    # 504-539
    F("x_points",             36, "uint"),    # 540-575   number of X sampling points (72)
    F("y_points",             36, "uint"),    # 576-611   number of Y sampling points (76)
    F("levels",               36, "uint"),    # 612-647   number of levels (16)
    F("magnification",        36, "uint"),    # 648-683   lens magnification
    F("old_serial_data_number", 36, "uint"),  # 684-719
    F("undefined_720",      1008, "pad"),     # 720-1727  undefined; header = 216 bytes
    F("image",             21888, "image"),   # 1728-     72 x 76 pixels, 4 bits (2736 bytes)
), width=72, height=76, depth=4,              # total 216 + 2736 = 2952 bytes
   label_field="jis_code", label_code="jis0201", sheet_field="sheet")

# ---- 8B: ETL8B (form_e8b; bytes 1-based) ------------------------------------------------
B8 = Layout("8B", ("ETL8B",), 512, (
    F("sheet",                16, "uint"),    # 1-2       serial sheet number
    F("jis_code",             16, "uint"),    # 3-4       JIS X 0208 row/cell, 0x2422 = あ
    F("reading",              32, "ascii"),   # 5-8       ASCII reading
    F("image",              4032, "image"),   # 9-512     64 x 63 pixels, 1 bit (504 bytes)
), width=64, height=63, depth=1,              # total 512 bytes
   label_field="jis_code", label_code="jis0208", sheet_field="sheet", dummy_first=True)

# ---- 9B: ETL9B (form_e9b; bytes 1-based) ------------------------------------------------
B9 = Layout("9B", ("ETL9B",), 576, (
    F("sheet",                16, "uint"),    # 1-2       serial sheet number
    F("jis_code",             16, "uint"),    # 3-4       JIS X 0208 row/cell
    F("reading",              32, "ascii"),   # 5-8       ASCII reading
    F("image",              4032, "image"),   # 9-512     64 x 63 pixels, 1 bit (504 bytes)
    F("unknown_513",         512, "pad"),     # 513-576   unknown
), width=64, height=63, depth=1,              # total 576 bytes
   label_field="jis_code", label_code="jis0208", sheet_field="sheet", dummy_first=True)


def _g_layout(fmt, dataset, undefined_bytes, tail_bytes, image_from):
    """8G and 9G share their header; only the gap before and after the image differs."""
    return Layout(fmt, (dataset,), 8199, (
        F("sheet",                16, "uint"),    # 1-2     serial sheet number
        F("jis_code",             16, "uint"),    # 3-4     JIS X 0208 row/cell
        F("reading",              64, "ascii"),   # 5-12    ASCII reading, "A.HIRA  "
        F("serial_data_number",   32, "uint"),    # 13-16   serial data number
        F("image_evaluation",      8, "uint"),    # 17      evaluation of individual image
        F("group_evaluation",      8, "uint"),    # 18      evaluation of character group
        F("sex",                   8, "uint"),    # 19      sex of writer
        F("age",                   8, "uint"),    # 20      age of writer
        F("industry",             16, "uint"),    # 21-22   industry classification code
        F("occupation",           16, "uint"),    # 23-24   occupation classification code
        F("gathering_date",       16, "uint"),    # 25-26   sheet gathering date
        F("scanning_date",        16, "uint"),    # 27-28   scanning date
        F("position_x",            8, "uint"),    # 29      sample position X on sheet
        F("position_y",            8, "uint"),    # 30      sample position Y on sheet
        F("undefined_31", undefined_bytes * 8, "pad"),   # 8G: 31-60, 9G: 31-64
        F("image",             65024, "image"),   # 8G: 61-8188, 9G: 65-8192; 128 x 127, 4 bits
        F(f"unknown_{image_from + 8128}", tail_bytes * 8, "pad"),  # 8G: 8189-8199, 9G: 8193-8199
    ), width=128, height=127, depth=4,            # total 8199 bytes
       label_field="jis_code", label_code="jis0208", sheet_field="sheet")


G8 = _g_layout("8G", "ETL8G", undefined_bytes=30, tail_bytes=11, image_from=61)
G9 = _g_layout("9G", "ETL9G", undefined_bytes=34, tail_bytes=7, image_from=65)
# fmt: on

LAYOUTS: dict[str, Layout] = {lay.format: lay for lay in (M, K, C, B8, G8, B9, G9)}

#: dataset -> format
DATASETS: dict[str, str] = {ds: lay.format for lay in LAYOUTS.values() for ds in lay.datasets}

# fmt: off
#: Official file names (any folder) -> (dataset, format). Matched on the whole name,
#: case-insensitively. ETL8G accepts any two-digit number: AIST ships 01..33, and the
#: project's synthetic sets (kana_keras.synth) use the same names and may number further.
FILE_NAMES: tuple[tuple[str, str], ...] = (
    (r"ETL1C_(0[1-9]|1[0-3])",   "ETL1"),     # ETL1C_01 .. ETL1C_13
    (r"ETL2_[1-5]",              "ETL2"),     # ETL2_1 .. ETL2_5
    (r"ETL3C_[12]",              "ETL3"),     # ETL3C_1, ETL3C_2
    (r"ETL4C",                   "ETL4"),     # ETL4C
    (r"ETL5C",                   "ETL5"),     # ETL5C
    (r"ETL6C_(0[1-9]|1[0-2])",   "ETL6"),     # ETL6C_01 .. ETL6C_12
    (r"ETL7[LS]C_[12]",          "ETL7"),     # ETL7LC_1, ETL7LC_2, ETL7SC_1, ETL7SC_2
    (r"ETL8B2C[1-3]",            "ETL8B"),    # ETL8B2C1 .. ETL8B2C3
    (r"ETL8G_\d\d",              "ETL8G"),    # ETL8G_01 .. ETL8G_33 (synthetic: more)
    (r"ETL9B_[1-5]",             "ETL9B"),    # ETL9B_1 .. ETL9B_5
    (r"ETL9G_(0[1-9]|[1-4]\d|50)", "ETL9G"),  # ETL9G_01 .. ETL9G_50
)
# fmt: on
_NAME_RE = [(re.compile(pattern, re.IGNORECASE), ds) for pattern, ds in FILE_NAMES]

#: Datasets whose every record is hiragana though stored with katakana codes.
HIRAGANA_DATASETS = frozenset({"ETL7"})
#: C-type records whose T56 "4 character code" starts with this are hiragana (ETL4).
T56_HIRAGANA_MARK = "H"


def dataset_of_name(name: str) -> str | None:
    """The dataset an official file name belongs to, or None."""
    for regex, dataset in _NAME_RE:
        if regex.fullmatch(name):
            return dataset
    return None


def uint_dtype(bits: int) -> str:
    """The numpy dtype both decoders give an unsigned field of this width."""
    return "u1" if bits <= 8 else "u2" if bits <= 16 else "u4" if bits <= 32 else "i8"


def level_to_ink(level, depth: int):
    """Scanner level -> 0..255 ink, rounded: 4-bit x17, 6-bit x255/63, 1-bit x255.

    Works on ints and on integer numpy arrays alike, so both decoders share it.
    """
    top = (1 << depth) - 1
    return (level * 255 + top // 2) // top
