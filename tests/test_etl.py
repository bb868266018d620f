"""The ETL reader: exact round trips through an independent writer, every label trap,
fast == reference bit for bit, chunks, names, bad input, CLI."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import etl_writer as w
from kana_keras import etl
from kana_keras.etl import fast, labels, layouts, reference
from kana_keras.etl.__main__ import main as cli_main

ROOT = Path(__file__).resolve().parents[1]
RNG_SEED = 20240601


# ---- helpers -----------------------------------------------------------------------------

def levels(rng, n, shape, depth):
    """Random pixels that always include the darkest and lightest level."""
    out = rng.integers(0, 1 << depth, (n, *shape))
    out[:, 0, 0], out[:, 0, 1] = 0, (1 << depth) - 1
    return out


def expected_ink(lv, depth):
    """Levels -> 0..255 as the spec says, computed here, not by the reader."""
    if depth == 4:
        return (lv * 17).astype(np.uint8)
    if depth == 6:
        return np.rint(lv * 255 / 63).astype(np.uint8)
    return (lv * 255).astype(np.uint8)


def build(fmt, folder, rng, codes, **per_record):
    """Write a file of ``fmt`` with one record per code; returns (path, levels, sheets).

    ``_name`` renames an M-type file (ETL7...), ``t56`` sets C-type 4-character codes.
    """
    n = len(codes)
    sheets = [100 + 7 * i for i in range(n)]
    if fmt == "M":
        name = per_record.pop("_name", None) or "ETL1C_01"
        lv = levels(rng, n, (63, 64), 4)
        recs = [w.m_record(lv[i], c, sheet=sheets[i], serial=10_000 + i, age=20 + i, sex=1 + i % 2,
                           data_number=i, character_code=b" A") for i, c in enumerate(codes)]
    elif fmt == "C":
        lv = levels(rng, n, (76, 72), 4)
        t56 = per_record.get("t56", ["K  A"] * n)
        recs = [w.c_record(lv[i], c, t56=t56[i], sheet=sheets[i], serial=2**35 + i, age=30 + i,
                           magnification=5, old_serial_data_number=2**36 - 1 - i)
                for i, c in enumerate(codes)]
        name = "ETL5C"
    elif fmt == "K":
        lv = levels(rng, n, (60, 60), 6)
        recs = [w.k_record(lv[i], c, serial=2**36 - 1 - i, mark="B", contents="KTKANA",
                           style="GOTHIC") for i, c in enumerate(codes)]
        sheets = [-1] * n
        name = "ETL2_3"
    elif fmt in ("8B", "9B"):
        lv = levels(rng, n, (63, 64), 1)
        recs = [w.dummy_b_record(fmt)] + [
            w.b_record(lv[i], c, sheet=sheets[i], reading=b"KA  ", variant=fmt)
            for i, c in enumerate(codes)]
        name = "ETL8B2C2" if fmt == "8B" else "ETL9B_4"
    else:
        lv = levels(rng, n, (127, 128), 4)
        recs = [w.g_record(lv[i], c, sheet=sheets[i], serial=4_000_000_000 + i, age=60 + i,
                           sex=2, position_x=i, position_y=2 * i, scanning_date=0x8704,
                           reading=b"A.HIRA  ", variant=fmt) for i, c in enumerate(codes)]
        name = "ETL8G_07" if fmt == "8G" else "ETL9G_13"
    path = w.write_file(Path(folder) / name, recs)
    return path, lv, np.array(sheets, np.int64)


CO59 = {(3, 10): "ア", (2, 7): "あ", (40, 1): "亜", (63, 63): "ヰ"}


@pytest.fixture(scope="module")
def co59_file(tmp_path_factory):
    """A CO-59 table in AIST's euc_co59.dat form: CHAR:a,b in EUC-JP."""
    path = tmp_path_factory.mktemp("co59") / "euc_co59.dat"
    text = "\n".join(f"{c}:{a},{b}" for (a, b), c in CO59.items()) + "\n"
    path.write_bytes(text.encode("euc_jp"))
    return path


# Codes and the labels a person expects, typed out literally (not computed).
CASES = {
    "M": ([0x31, 0x41, 0xB1, 0xA6, 0xDD], "1Aアヲン"),
    "C": ([0xB6, 0xA8, 0xAA, 0xDD, 0x5A], "カヰヱンZ"),
    "K": ([(3, 10), (2, 7), (40, 1)], "アあ亜"),
    "8B": ([0x2422, 0x3021, 0x2473, 0x2570], "あ亜んヰ"),
    "9B": ([0x2470, 0x2471, 0x2572, 0x4F53], "ゐゑヲ腕"),
    "8G": ([0x2422, 0x242C, 0x2574, 0x212B], "あがヴ゛"),
    "9G": ([0x2421, 0x2575, 0x2576, 0x3042], "ぁヵヶ安"),
}


# ---- round trips -------------------------------------------------------------------------

@pytest.mark.parametrize("fmt", list(CASES))
def test_round_trip_every_layout(fmt, tmp_path, co59_file):
    rng = np.random.default_rng(RNG_SEED)
    codes, expect = CASES[fmt]
    path, lv, sheets = build(fmt, tmp_path, rng, codes)
    recs = etl.read(path, co59_table=co59_file if fmt == "K" else None)
    depth = {"8B": 1, "9B": 1, "K": 6}.get(fmt, 4)
    assert recs.format == fmt and len(recs) == len(codes)
    assert recs.images.dtype == np.uint8 and recs.images.shape == lv.shape
    np.testing.assert_array_equal(recs.images, expected_ink(lv, depth))
    assert recs.labels.tolist() == list(expect)
    assert recs.sheets.dtype == np.int64
    np.testing.assert_array_equal(recs.sheets, sheets)
    first = 1 if fmt in ("8B", "9B") else 0
    np.testing.assert_array_equal(recs.meta["record"], np.arange(first, first + len(codes)))
    meta = recs.meta
    if fmt == "M":
        assert meta["serial_data_number"].tolist() == [10_000 + i for i in range(5)]
        assert meta["age"].tolist() == [20, 21, 22, 23, 24]
        assert meta["sex"].tolist() == [1, 2, 1, 2, 1]
        assert meta["data_number"].tolist() == list(range(5))
        assert set(meta["character_code"].tolist()) == {b" A"}
        assert meta["max_level"].tolist() == [15] * 5
    elif fmt == "C":
        assert meta["serial_data_number"].tolist() == [2**35 + i for i in range(5)]
        assert meta["old_serial_data_number"].tolist() == [2**36 - 1 - i for i in range(5)]
        assert meta["age"].tolist() == [30 + i for i in range(5)]
        assert set(meta["x_points"].tolist()) == {72} and set(meta["y_points"].tolist()) == {76}
        assert set(meta["levels"].tolist()) == {16} and set(meta["magnification"].tolist()) == {5}
        assert set(meta["t56_code"].tolist()) == {"K  A"}
    elif fmt == "K":
        assert meta["serial_data_number"].tolist() == [2**36 - 1 - i for i in range(3)]
        assert set(meta["contents"].tolist()) == {"KTKANA"}
        assert set(meta["style"].tolist()) == {"GOTHIC"} and set(meta["style_mark"]) == {"B"}
    elif fmt in ("8B", "9B"):
        assert set(meta["reading"].tolist()) == {b"KA  "}
    else:
        assert meta["serial_data_number"].tolist() == [4_000_000_000 + i for i in range(4)]
        assert meta["age"].tolist() == [60, 61, 62, 63] and set(meta["sex"].tolist()) == {2}
        assert meta["position_x"].tolist() == [0, 1, 2, 3]
        assert meta["position_y"].tolist() == [0, 2, 4, 6]
        assert set(meta["scanning_date"].tolist()) == {0x8704}
        assert set(meta["reading"].tolist()) == {b"A.HIRA  "}
    assert "image" not in meta and "sheet" not in meta


# ---- label traps -------------------------------------------------------------------------

def _m_file(tmp_path, name, codes):
    rng = np.random.default_rng(1)
    lv = levels(rng, len(codes), (63, 64), 4)
    return w.write_file(tmp_path / name, [w.m_record(lv[i], c) for i, c in enumerate(codes)])


def test_jis0201_katakana_ascii_and_roman_half(tmp_path):
    # ETL1: digits/letters stay ASCII, 0x5C/0x7E follow JIS X 0201 (¥, ‾), half-width kana
    # become ordinary full-width, 0xA8/0xAA mean ヰ/ヱ, the marks are the spacing ゛゜.
    codes = [0x30, 0x39, 0x41, 0x5A, 0x2B, 0x5C, 0x7E, 0xB1, 0xA6, 0xA8, 0xAA, 0xDD, 0xB0,
             0xDE, 0xDF, 0xA5]
    recs = etl.read(_m_file(tmp_path, "ETL1C_13", codes))
    assert recs.dataset == "ETL1"
    assert recs.labels.tolist() == ["0", "9", "A", "Z", "+", "\u00a5", "\u203e", "ア", "ヲ",
                                    "ヰ", "ヱ", "ン", "ー", "\u309b", "\u309c", "・"]


def test_etl6_stays_katakana(tmp_path):
    recs = etl.read(_m_file(tmp_path, "ETL6C_12", [0xB1, 0xA8, 0xDD, 0x31]))
    assert recs.dataset == "ETL6" and recs.labels.tolist() == ["ア", "ヰ", "ン", "1"]


@pytest.mark.parametrize("name", ["ETL7LC_1", "ETL7LC_2", "ETL7SC_1", "ETL7SC_2"])
def test_etl7_is_hiragana_with_spacing_marks(tmp_path, name):
    recs = etl.read(_m_file(tmp_path, name, [0xB1, 0xB6, 0xA6, 0xDD, 0xDE, 0xDF]))
    assert recs.dataset == "ETL7"
    assert recs.labels.tolist() == ["あ", "か", "を", "ん", "\u309b", "\u309c"]
    assert not any(ch in "\u3099\u309a" for ch in recs.labels.tolist())  # not combining


def test_etl7_archaic_codes_would_be_hiragana(tmp_path):
    # ETL7 holds no ゐ/ゑ, but the rule is the same as ETL4's: 0xA8/0xAA in a hiragana set.
    recs = etl.read(_m_file(tmp_path, "ETL7SC_1", [0xA8, 0xAA]))
    assert recs.labels.tolist() == ["ゐ", "ゑ"]


def test_c_type_hiragana_follows_t56_code(tmp_path):
    rng = np.random.default_rng(2)
    t56 = ["H  A", "H  I", "H WI", "H WE", "K  A", "K WI", "K WE", "N  1", "A  A", "S  /"]
    codes = [0xB1, 0xB2, 0xA8, 0xAA, 0xB1, 0xA8, 0xAA, 0x31, 0x41, 0x5C]
    lv = levels(rng, len(codes), (76, 72), 4)
    for name, dataset in (("ETL4C", "ETL4"), ("ETL5C", "ETL5"), ("ETL3C_2", "ETL3")):
        path = w.write_file(tmp_path / name,
                            [w.c_record(lv[i], c, t56=t56[i]) for i, c in enumerate(codes)])
        recs = etl.read(path)
        assert recs.dataset == dataset and recs.format == "C"
        assert recs.labels.tolist() == ["あ", "い", "ゐ", "ゑ", "ア", "ヰ", "ヱ", "1", "A", "\u00a5"]


def test_jis0201_table_has_no_half_width_or_combining_kana():
    for code in range(0xA1, 0xE0):
        char = labels.JIS0201_KATAKANA[code]
        assert len(char) == 1 and not "\uff61" <= char <= "\uff9f", hex(code)
        assert char not in "\u3099\u309a\u30a3\u30a7", hex(code)   # no combining, no small ィ/ェ
    assert labels.ROMAN_CONVENTION.startswith("JIS X 0201")
    for code in (*range(0x00, 0x20), 0x7F, *range(0x80, 0xA1), *range(0xE0, 0x100)):
        with pytest.raises(etl.EtlError):
            labels.jis0201_char(code)


def test_jis0208_through_euc_jp():
    assert labels.jis0208_char(0x2422) == "あ"          # the spec's example
    assert labels.jis0208_char(0x3021) == "亜"
    assert labels.jis0208_char(0x212B) == "\u309b"      # ゛ in JIS X 0208 is the spacing one
    # 0x2474 (ゔ) and 0x2577 (ヷ) came with JIS X 0213, not JIS X 0208: refused, not guessed.
    for bad in (0x0000, 0x2220 + 0x80, 0x7F21, 0x2F21, 0x2474, 0x2577, 0x4F54):
        with pytest.raises(etl.EtlError):
            labels.jis0208_char(bad)


def test_etl2_labels_through_co59_table(tmp_path, co59_file):
    rng = np.random.default_rng(3)
    codes = [(3, 10), (63, 63), (40, 1), (2, 7)]
    path, _, _ = build("K", tmp_path, rng, codes)
    by_path = etl.read(path, co59_table=co59_file)
    assert by_path.labels.tolist() == ["ア", "ヰ", "亜", "あ"]
    by_mapping = etl.read(path, co59_table=CO59)
    assert by_mapping.labels.tolist() == by_path.labels.tolist()
    np.testing.assert_array_equal(by_mapping.sheets, [-1] * 4)
    assert labels.load_co59(co59_file) == CO59


# ---- fast == reference -------------------------------------------------------------------

@pytest.mark.parametrize("fmt", list(layouts.LAYOUTS))
def test_fast_equals_reference_on_random_bytes(fmt):
    """Any bytes at all: every field and every pixel agree bit for bit."""
    layout = layouts.LAYOUTS[fmt]
    raw = np.random.default_rng(list(layouts.LAYOUTS).index(fmt)).integers(
        0, 256, (4, layout.record_bytes), dtype=np.uint8)
    fields = fast.decode_fields(raw, layout)
    images = fast.decode_images(raw, layout)
    for i in range(len(raw)):
        ref = reference.read_record(raw[i].tobytes(), layout)
        expect = np.array([layouts.level_to_ink(v, layout.depth) for v in ref.pop("image")],
                          np.uint8).reshape(layout.height, layout.width)
        np.testing.assert_array_equal(images[i], expect)
        assert set(ref) == set(fields)
        for name, value in ref.items():
            if isinstance(value, bytes):      # numpy's S dtype drops trailing NUL bytes
                value = value.rstrip(b"\0")
            assert fields[name][i] == value, (fmt, name, i)


@pytest.mark.parametrize("fmt,dataset_name", [
    ("M", "ETL1C_02"), ("M", "ETL7LC_2"), ("C", None), ("K", None), ("8B", None),
    ("9B", None), ("8G", None), ("9G", None)])
def test_fast_equals_reference_decode(fmt, dataset_name, tmp_path):
    """The whole decode (labels, sheets, meta dtypes included) agrees on real records."""
    rng = np.random.default_rng(4)
    codes, _ = CASES[fmt]
    extra = {"_name": dataset_name} if dataset_name else {}
    path, _, _ = build(fmt, tmp_path, rng, codes, **extra)
    dataset, _ = etl.detect(path)
    layout = layouts.LAYOUTS[fmt]
    raw = np.fromfile(path, np.uint8).reshape(-1, layout.record_bytes)[int(layout.dummy_first):]
    got = fast.decode(raw, layout, dataset, CO59)
    ref = reference.decode(raw, layout, dataset, CO59)
    for a, b in zip(got[:3], ref[:3]):
        assert a.dtype == b.dtype
        np.testing.assert_array_equal(a, b)
    assert got[3].keys() == ref[3].keys()
    for name in got[3]:
        assert got[3][name].dtype == ref[3][name].dtype, name
        np.testing.assert_array_equal(got[3][name], ref[3][name])


def test_bitstring_format_string_has_no_removed_api():
    fmt = reference.format_string(layouts.C)
    assert fmt.startswith("uint36, uint36, uint8, pad28, uint8, pad28, uint6, uint6")
    assert fmt.endswith("pad1008, bits21888")                  # bits, not bytes:21888


# ---- chunks ------------------------------------------------------------------------------

@pytest.mark.parametrize("fmt", ["8B", "M", "9G"])
@pytest.mark.parametrize("chunk", [1, 3, 1000])
def test_chunks_equal_whole_read(fmt, chunk, tmp_path):
    rng = np.random.default_rng(5)
    codes = (CASES[fmt][0] * 2)[:7]
    path, _, _ = build(fmt, tmp_path, rng, codes)
    whole = etl.read(path)
    parts = list(etl.iter_chunks(path, chunk_records=chunk))
    assert [len(p) for p in parts] == [min(chunk, 7 - k) for k in range(0, 7, chunk)]
    np.testing.assert_array_equal(np.concatenate([p.images for p in parts]), whole.images)
    np.testing.assert_array_equal(np.concatenate([p.labels for p in parts]), whole.labels)
    np.testing.assert_array_equal(np.concatenate([p.sheets for p in parts]), whole.sheets)
    for name, value in whole.meta.items():
        np.testing.assert_array_equal(np.concatenate([p.meta[name] for p in parts]), value)


def test_read_records_and_subsets(tmp_path):
    rng = np.random.default_rng(6)
    path, _, _ = build("8B", tmp_path, rng, CASES["8B"][0])
    whole = etl.read(path)
    assert etl.count(path) == 4
    some = etl.read_records(path, [3, 0])
    assert some.labels.tolist() == ["ヰ", "あ"]
    np.testing.assert_array_equal(some.images, whole.images[[3, 0]])
    np.testing.assert_array_equal(some.meta["record"], [4, 1])
    sub = whole[1:3]
    assert len(sub) == 2 and sub.labels.tolist() == ["亜", "ん"] and sub.dataset == "ETL8B"
    one = whole[2]
    assert len(one) == 1 and one.labels.tolist() == ["ん"] and one.images.shape == (1, 63, 64)
    with pytest.raises(etl.EtlError, match="0..3"):
        etl.read_records(path, [4])


@pytest.mark.parametrize("fmt", ["8B", "9B"])
def test_file_of_only_the_dummy_has_no_samples(fmt, tmp_path):
    path = w.write_file(tmp_path / ("ETL8B2C1" if fmt == "8B" else "ETL9B_2"),
                        [w.dummy_b_record(fmt)])
    recs = etl.read(path)
    assert len(recs) == 0 and recs.images.shape == (0, 63, 64) and etl.count(path) == 0
    assert list(etl.iter_chunks(path)) == []


# ---- names and formats -------------------------------------------------------------------

OFFICIAL = [
    ("ETL1C_01", "ETL1", "M"), ("ETL1C_13", "ETL1", "M"), ("ETL2_1", "ETL2", "K"),
    ("ETL2_5", "ETL2", "K"), ("ETL3C_1", "ETL3", "C"), ("ETL3C_2", "ETL3", "C"),
    ("ETL4C", "ETL4", "C"), ("ETL5C", "ETL5", "C"), ("ETL6C_01", "ETL6", "M"),
    ("ETL6C_12", "ETL6", "M"), ("ETL7LC_1", "ETL7", "M"), ("ETL7LC_2", "ETL7", "M"),
    ("ETL7SC_1", "ETL7", "M"), ("ETL7SC_2", "ETL7", "M"), ("ETL8B2C1", "ETL8B", "8B"),
    ("ETL8B2C3", "ETL8B", "8B"), ("ETL8G_01", "ETL8G", "8G"), ("ETL8G_33", "ETL8G", "8G"),
    ("ETL9B_1", "ETL9B", "9B"), ("ETL9B_5", "ETL9B", "9B"), ("ETL9G_01", "ETL9G", "9G"),
    ("ETL9G_50", "ETL9G", "9G"),
]


@pytest.mark.parametrize("name,dataset,fmt", OFFICIAL)
def test_detect_official_names_in_any_folder(name, dataset, fmt):
    assert etl.detect(name) == (dataset, fmt)
    assert etl.detect(Path("/some/where/else") / name) == (dataset, fmt)


@pytest.mark.parametrize("name", ["ETL9G_51", "ETL1C_14", "ETL1C_00", "ETL8G_1", "ETL4C.zip",
                                  "ETL8INFO", "ETL2_6", "ETL8B2C4", "ETL7MC_1", "euc_co59.dat"])
def test_detect_rejects_other_names(name):
    with pytest.raises(etl.EtlError, match="format="):
        etl.detect(name)


def test_find_walks_a_download_folder(tmp_path):
    rng = np.random.default_rng(7)
    build("8G", tmp_path / "ETL8G", rng, CASES["8G"][0])       # ETL8G/ETL8G_07
    _m_file(tmp_path / "deep" / "er", "ETL7SC_2", [0xB1])
    (tmp_path / "ETL8G" / "ETL8INFO").write_bytes(b"not a data file")
    (tmp_path / "README.txt").write_text("hello")
    found = etl.find(tmp_path)
    assert [(p.relative_to(tmp_path).as_posix(), d, f) for p, d, f in found] == [
        ("ETL8G/ETL8G_07", "ETL8G", "8G"), ("deep/er/ETL7SC_2", "ETL7", "M")]
    assert [len(etl.read(p)) for p, _, _ in found] == [4, 1]
    assert etl.find(found[0][0]) == [found[0]]
    with pytest.raises(etl.EtlError, match="no such"):
        etl.find(tmp_path / "missing")


def test_format_override(tmp_path):
    rng = np.random.default_rng(8)
    path, lv, _ = build("9G", tmp_path, rng, CASES["9G"][0])
    mystery = path.rename(tmp_path / "mystery.bin")
    recs = etl.read(mystery, format="9G")
    assert (recs.format, recs.dataset) == ("9G", "ETL9G")
    np.testing.assert_array_equal(recs.images, expected_ink(lv, 4))
    # A wrong name is overridden too: 9G bytes under an 8G name read right with format=.
    misnamed = mystery.rename(tmp_path / "ETL8G_02")
    assert etl.read(misnamed, format="9g").labels.tolist() == list(CASES["9G"][1])
    # A dataset name picks the label rules: ETL7 is hiragana.
    m = _m_file(tmp_path, "scan.dat", [0xB1, 0xDE])
    assert etl.read(m, format="ETL7").labels.tolist() == ["あ", "\u309b"]
    assert etl.read(m, format="M").labels.tolist() == ["ア", "\u309b"]
    # A bare format keeps the dataset the name gives when it fits.
    etl7 = _m_file(tmp_path, "ETL7LC_2", [0xB1])
    assert etl.read(etl7, format="M").labels.tolist() == ["あ"]
    assert [len(c) for c in etl.iter_chunks(m, chunk_records=1, format="ETL7")] == [1, 1]
    with pytest.raises(etl.EtlError, match="format='X'"):
        etl.read(m, format="X")


# ---- bad input ---------------------------------------------------------------------------

def test_errors_are_value_errors():
    assert issubclass(etl.EtlError, ValueError)


def test_empty_file(tmp_path):
    path = tmp_path / "ETL8G_01"
    path.write_bytes(b"")
    with pytest.raises(etl.EtlError,
                       match=r"ETL8G_01: empty file; expected 8G-type records of 8199"):
        etl.read(path)
    with pytest.raises(etl.EtlError, match="empty"):
        etl.iter_chunks(path)        # fails at the call, before any chunk


def test_leftover_bytes(tmp_path):
    rng = np.random.default_rng(9)
    path, _, _ = build("M", tmp_path, rng, [0xB1, 0xB2])
    path.write_bytes(path.read_bytes() + b"\0\0\0\0\0")
    with pytest.raises(etl.EtlError) as info:
        etl.read(path)
    msg = str(info.value)
    assert "ETL1C_01" in msg and "5 bytes left over" in msg and "2052-byte M-type" in msg
    with pytest.raises(etl.EtlError, match="5 bytes left over"):
        etl.iter_chunks(path)


def test_folder_and_missing_file(tmp_path):
    folder = tmp_path / "ETL8G_01"
    folder.mkdir()
    with pytest.raises(etl.EtlError, match="ETL8G_01: is a folder; expected an ETL file"):
        etl.read(folder)
    with pytest.raises(etl.EtlError, match="no such file"):
        etl.read(tmp_path / "ETL8G_02")


def test_unknown_name_without_format(tmp_path):
    path = _m_file(tmp_path, "kana.bin", [0xB1])
    with pytest.raises(etl.EtlError, match=r"kana.bin.*unknown ETL file name.*format="):
        etl.read(path)


def test_undecodable_label_names_the_record(tmp_path):
    path = _m_file(tmp_path, "ETL6C_03", [0xB1, 0xB2, 0x80, 0xB3])
    with pytest.raises(etl.EtlError) as info:
        etl.read(path)
    msg = str(info.value)
    assert "ETL6C_03" in msg and "record 2 " in msg and "0x80" in msg
    # Chunked: the same record, found in the third chunk.
    with pytest.raises(etl.EtlError, match="record 2 "):
        list(etl.iter_chunks(path, chunk_records=1))
    # 8B: record numbers count the dummy, so they match byte offsets in the file.
    rng = np.random.default_rng(10)
    path8b, _, _ = build("8B", tmp_path, rng, [0x2422, 0x7F7F])
    with pytest.raises(etl.EtlError, match=r"ETL8B2C2: record 2 \(0-based, byte offset 1024\)"):
        etl.read(path8b)


def test_etl2_needs_co59_table(tmp_path, co59_file):
    rng = np.random.default_rng(11)
    path, _, _ = build("K", tmp_path, rng, [(3, 10), (5, 5)])
    with pytest.raises(etl.EtlError, match=r"ETL2_3: .*co59_table"):
        etl.read(path)
    with pytest.raises(etl.EtlError, match="co59_table"):
        etl.iter_chunks(path)
    with pytest.raises(etl.EtlError, match=r"record 1 .*CO-59 code 5,5 is not in"):
        etl.read(path, co59_table=co59_file)


def test_bad_co59_table(tmp_path):
    bad = tmp_path / "euc_co59.dat"
    bad.write_bytes("ア:1,2\nイ:1\n".encode("euc_jp"))
    with pytest.raises(etl.EtlError, match=r"euc_co59.dat: entry 2 'イ:1'"):
        labels.load_co59(bad)
    with pytest.raises(etl.EtlError, match="cannot read"):
        labels.load_co59(tmp_path / "missing.dat")


def test_bad_chunk_size(tmp_path):
    path = _m_file(tmp_path, "ETL1C_05", [0xB1])
    with pytest.raises(etl.EtlError, match="chunk_records"):
        etl.iter_chunks(path, chunk_records=0)


# ---- CLI ---------------------------------------------------------------------------------

def test_cli_info(tmp_path):
    rng = np.random.default_rng(12)
    build("8G", tmp_path / "ETL8G", rng, [0x2422, 0x2422, 0x2422, 0x2424, 0x2424, 0x3021])
    _m_file(tmp_path / "ETL7", "ETL7LC_1", [0xB1, 0xDE])
    proc = subprocess.run([sys.executable, "-m", "kana_keras.etl", "info", str(tmp_path)],
                          capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "ETL8G_07: ETL8G (8G-type), 6 records, 128x127 px, 3 distinct labels" in out
    assert "most:  あ 3  い 2  亜 1" in out and "least: 亜 1  い 2  あ 3" in out
    assert "ETL7LC_1: ETL7 (M-type), 2 records, 64x63 px, 2 distinct labels" in out


def test_cli_info_reports_bad_files(tmp_path, capsys):
    (tmp_path / "ETL4C").write_bytes(b"\0" * 100)
    assert cli_main(["info", str(tmp_path / "ETL4C")]) == 1
    assert "100 bytes left over" in capsys.readouterr().err


def test_cli_show_writes_black_on_white_grid(tmp_path, capsys):
    rng = np.random.default_rng(13)
    path, _, _ = build("8B", tmp_path, rng, CASES["8B"][0])
    out = tmp_path / "pics" / "grid.png"
    assert cli_main(["show", str(path), "--out", str(out), "--n", "3", "--cols", "3"]) == 0
    assert "wrote" in capsys.readouterr().out
    picture = np.asarray(Image.open(out).convert("L"))
    assert picture.shape[1] > 3 * 64 and picture.shape[0] > 63
    assert np.median(picture) == 255 and picture.min() == 0      # white paper, black ink
    assert cli_main(["show", str(tmp_path / "nothing"), "--out", str(out)]) == 2


@pytest.mark.parametrize("args, expected", [
    (["--out", "/proc/x.png"], "--out /proc/x.png: cannot write there"),
    (["--out", "grid.txt"], "--out grid.txt: expected a picture file name ending in .png"),
    (["--out", "grid"], "--out grid: expected a picture file name ending in .png"),
    (["--out", "grid.png", "--cols", "-5"], "--cols must be a whole number of at least 1, got -5"),
    (["--out", "grid.png", "--scale", "0"], "--scale must be a whole number of at least 1, got 0"),
])
def test_cli_show_names_a_bad_output_before_reading(tmp_path, capsys, monkeypatch, args, expected):
    rng = np.random.default_rng(13)
    path, _, _ = build("8B", tmp_path, rng, CASES["8B"][0])
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(etl, "read_records", lambda *a, **k: pytest.fail("read before checking"))
    assert cli_main(["show", str(path), *args]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {expected}") and err.count("\n") == 1 and ".tmp" not in err
    assert sorted(p.name for p in tmp_path.iterdir()) == [path.name]
