"""Synthetic writers: reproducible bytes, right labels through the ETL reader, human variety."""

from __future__ import annotations

import dataclasses
import json
import unicodedata

import cv2
import numpy as np
import pytest
from PIL import Image

from kana_keras import etl, kana, synth

N_CLASSES = len(kana.ALL_KANA)


# ## helpers


def _read_all(folder) -> etl.EtlRecords:
    found = sorted(etl.find(folder))
    assert found, f"no ETL files found in {folder}"
    parts = [etl.read(path) for path, _, _ in found]
    return etl.EtlRecords(np.concatenate([p.images for p in parts]),
                          np.concatenate([p.labels for p in parts]),
                          np.concatenate([p.sheets for p in parts]), "8G", "ETL8G")


def _stroke_width(image: np.ndarray) -> float:
    """Mean stroke width in pixels: ink area / centre-line length (= half the outline)."""
    mask = (image >= 0.5 * image.max()).astype(np.uint8)
    contours, _ = cv2.findContours(mask, cv2.RETR_LIST, cv2.CHAIN_APPROX_NONE)
    outline = sum(cv2.arcLength(c, True) for c in contours)
    return 2.0 * mask.sum() / max(outline, 1.0)


@pytest.fixture(scope="module")
def records(synthetic_dir):
    return _read_all(synthetic_dir)


@pytest.fixture(scope="module")
def writers(records):
    """How many writers the shared fixture drew (conftest's TINY_WRITERS)."""
    return len(np.unique(records.sheets))


# ## files and labels


def test_every_class_of_every_writer_round_trips_through_the_etl_reader(synthetic_dir, records, writers):
    assert writers >= 2
    found = etl.find(synthetic_dir)
    assert {fmt for _, _, fmt in found} == {"8G"}
    assert len(records) == writers * N_CLASSES
    # Writer w is sheet w + 1, its samples in class order.
    expected_labels = np.tile(np.array(list(kana.ALL_KANA)), writers)
    np.testing.assert_array_equal(records.labels, expected_labels)
    np.testing.assert_array_equal(records.sheets, np.repeat(np.arange(1, writers + 1), N_CLASSES))
    assert records.images.shape[1:] == (127, 128) and records.images.dtype == np.uint8


def test_header_fields_follow_the_etl8g_layout(synthetic_dir):
    path = sorted(synthetic_dir.glob("ETL8G_*"))[0]
    recs = etl.read(path)
    assert path.stat().st_size % 8199 == 0
    readings = [bytes(r).decode("ascii") for r in recs.meta["reading"][:N_CLASSES]]
    assert readings[kana.ALL_KANA.index("あ")] == "A.HIRA  "
    assert readings[kana.ALL_KANA.index("カ")] == "KA.KATA "
    assert readings[kana.ALL_KANA.index("ゐ")] == "WI.HIRA "
    assert synth.jis_code("あ") == 0x2422
    np.testing.assert_array_equal(recs.meta["serial_data_number"], np.arange(1, len(recs) + 1))
    sex, age = recs.meta["sex"], recs.meta["age"]
    assert set(np.unique(sex)) <= {1, 2} and ((age >= 16) & (age < 70)).all()
    for sheet in np.unique(recs.sheets):              # drawn once per writer
        assert len(np.unique(age[recs.sheets == sheet])) == 1


def test_readme_and_stamp_say_what_the_files_are(synthetic_dir, writers):
    readme = (synthetic_dir / synth.README_NAME).read_text(encoding="utf-8")
    assert "SYNTHETIC" in readme and "KanjiVG" in readme and "CC BY-SA 3.0" in readme
    assert f"writers={writers} seed=0 kana=all" in readme
    stamp = json.loads((synthetic_dir / synth.STAMP_NAME).read_text(encoding="utf-8"))
    assert stamp["writers"] == writers and stamp["seed"] == 0 and stamp["kana"] == "all"


def test_files_hold_whole_writers_and_stale_files_go(tmp_path, monkeypatch):
    monkeypatch.setattr(synth.dataset, "WRITERS_PER_FILE", 2)
    files = synth.generate(tmp_path, writers=5, seed=1, kana="katakana", progress=False, workers=1)
    assert [f.name for f in files] == ["ETL8G_01", "ETL8G_02", "ETL8G_03"]
    sheets = [set(etl.read(f).sheets.tolist()) for f in files]
    assert sheets == [{1, 2}, {3, 4}, {5}]
    assert set(etl.read(files[0]).labels) == set(kana.KATAKANA)
    # A smaller set drawn into the same folder must not leave files of the old one behind.
    files = synth.generate(tmp_path, writers=1, seed=1, kana="katakana", progress=False, workers=1)
    assert sorted(p.name for p in tmp_path.glob("ETL8G_*")) == ["ETL8G_01"]
    assert not list(tmp_path.glob(".tmp-*")) and not list(tmp_path.glob(".*.tmp"))


# ## determinism


def test_same_options_give_identical_bytes_whatever_the_worker_count(tmp_path):
    one = synth.generate(tmp_path / "one", writers=3, seed=7, kana="hiragana", progress=False, workers=1)
    two = synth.generate(tmp_path / "two", writers=3, seed=7, kana="hiragana", progress=False, workers=2)
    other = synth.generate(tmp_path / "other", writers=3, seed=8, kana="hiragana", progress=False,
                           workers=1)
    assert [f.read_bytes() for f in one] == [f.read_bytes() for f in two]
    assert one[0].read_bytes() != other[0].read_bytes()


def test_a_writer_does_not_depend_on_how_many_writers_are_drawn(tmp_path, records):
    files = synth.generate(tmp_path, writers=2, seed=0, kana="all", progress=False, workers=1)
    small = etl.read(files[0])
    np.testing.assert_array_equal(small.images, records.images[: 2 * N_CLASSES])


# ## pictures


def test_images_have_ink_and_stay_inside_the_box(records):
    images = records.images
    ink = (images >= 4 * 17).sum(axis=(1, 2))          # pixels at level 4 of 15 or more
    assert ink.min() >= 30, f"a sample with only {ink.min()} ink pixels"
    assert images.max(axis=(1, 2)).min() >= 5 * 17, "a sample too faint to read"
    frame = np.concatenate([images[:, :2].reshape(len(images), -1), images[:, -2:].reshape(len(images), -1),
                            images[:, :, :2].reshape(len(images), -1),
                            images[:, :, -2:].reshape(len(images), -1)], axis=1)
    # Only scanner noise (level <= 2) may reach the outer two pixels, never a stroke.
    assert frame.max() <= 2 * 17


def test_style_is_consistent_within_a_writer_and_differs_between_writers(records, writers):
    widths = np.array([_stroke_width(im) for im in records.images]).reshape(writers, N_CLASSES)
    within = widths.var(axis=1, ddof=1).mean()
    between = widths.mean(axis=1).var(ddof=1)
    # One-way ANOVA: F = (between-writer variance of means * n) / within-writer variance.
    f_ratio = between * N_CLASSES / within
    assert f_ratio > 50, f"writers are not distinguishable by stroke width (F = {f_ratio:.1f})"
    # The measured width follows the pen each writer was given.
    styles = [synth.WriterStyle.random(synth.writer_rng(0, w)) for w in range(writers)]
    pen_px = [s.pen_width * s.size * 128 for s in styles]
    assert np.corrcoef(pen_px, np.median(widths, axis=1))[0, 1] > 0.8
    assert len({s.pen for s in styles}) >= 3, "ten writers should use several kinds of pen"


def test_samples_of_one_writer_still_vary(records):
    # The same writer never writes a class twice the same; compare writer 1's あ with itself
    # re-rendered: the per-sample random stream differs, so must the picture.
    rng = synth.writer_rng(0, 0)
    style = synth.WriterStyle.random(rng)
    a1, a2 = synth.render_sample("あ", style, rng), synth.render_sample("あ", style, rng)
    assert a1.shape == (127, 128) and a1.dtype == np.uint8
    assert np.abs(a1.astype(int) - a2.astype(int)).mean() > 1.0


def test_dakuten_and_handakuten_stay_clear_of_the_body_and_of_each_other():
    # A ゛ merged into the body (or its two ticks into one blob) would turn ば into は.
    voiced = [c for c in kana.ALL_KANA if len(unicodedata.normalize("NFD", c)) == 2]
    checked = failures = 0
    for writer in range(8):
        rng = synth.writer_rng(11, writer)
        style = synth.WriterStyle.random(rng)
        pen = style.pen_width * 109.0
        for char in voiced:
            strokes, _, _ = synth.strokes.character_strokes(char, style, rng)
            groups = synth.habits.stroke_groups(char, len(strokes))
            body = np.concatenate([s for s, g in zip(strokes, groups) if not g])
            marks = [s for s, g in zip(strokes, groups) if g]

            def gap(a, b):
                return np.hypot(*(a[:, None] - b[None]).transpose(2, 0, 1)).min()

            ok = min(gap(m, body) for m in marks) >= 0.8 * pen
            if len(marks) == 2:
                ok = ok and gap(*marks) >= pen
            checked += 1
            failures += not ok
    assert failures <= 0.02 * checked, f"{failures} of {checked} marks touch"


def test_render_sample_sizes_and_bad_input():
    rng = np.random.default_rng(0)
    style = synth.WriterStyle.random(rng)
    assert synth.render_sample("ぬ", style, rng, size=64).shape == (63, 64)
    with pytest.raises(ValueError, match="KanjiVG has no strokes"):
        synth.render_sample("\u0001", style, rng)
    with pytest.raises(ValueError, match="at least 16"):
        synth.render_sample("あ", style, rng, size=8)


def test_preview_grid_is_written(tmp_path):
    png = tmp_path / "sub" / "grid.png"
    synth.generate(tmp_path / "data", writers=2, seed=0, kana="hiragana", preview=png, progress=False,
                   workers=1)
    picture = Image.open(png)
    assert picture.width > 16 * 128 and picture.height > 2 * 127
    pixels = np.asarray(picture.convert("L"))
    assert (pixels < 128).mean() > 0.01, "the preview shows no ink"


# ## options


@pytest.mark.parametrize("kwargs, message", [
    ({"writers": 0}, "writers must be"),
    ({"writers": -3}, "writers must be"),
    ({"writers": 2.5}, "writers must be"),
    ({"kana": "romaji"}, "kana must be one of"),
    ({"seed": -1}, "seed must be"),
    ({"workers": 0}, "workers must be"),
])
def test_bad_options_are_rejected_clearly(tmp_path, kwargs, message):
    with pytest.raises(ValueError, match=message):
        synth.generate(tmp_path, **{"writers": 1, "progress": False, **kwargs})
    assert not list(tmp_path.glob("ETL8G_*"))


def test_cli_rejects_bad_writers_and_writes_a_set(tmp_path, capsys):
    with pytest.raises(SystemExit) as err:
        synth.main(["--out", str(tmp_path), "--writers", "0"])
    assert err.value.code == 2 and "writers must be" in capsys.readouterr().err
    assert synth.main(["--out", str(tmp_path), "--writers", "1", "--kana", "katakana", "--quiet",
                       "--workers", "1"]) == 0
    assert "wrote 73 samples" in capsys.readouterr().out


def test_ensure_synthetic_draws_only_when_needed(tmp_path, monkeypatch):
    calls = []
    real_generate = synth.generate

    def counting_generate(*args, **kwargs):
        calls.append(kwargs)
        return real_generate(*args, **{**kwargs, "workers": 1})

    monkeypatch.setattr(synth.dataset, "generate", counting_generate)
    out = tmp_path / "syn"
    options = {"writers": 1, "seed": 3, "kana": "katakana", "progress": False}
    assert synth.ensure_synthetic(out, **options) == out and len(calls) == 1
    synth.ensure_synthetic(out, **options)
    assert len(calls) == 1, "an up-to-date set was drawn again"
    synth.ensure_synthetic(out, **{**options, "seed": 4})
    assert len(calls) == 2, "other options must redraw"
    # A half-written set (truncated file, or no stamp because drawing died) is redrawn.
    path = out / "ETL8G_01"
    path.write_bytes(path.read_bytes()[:8199])
    synth.ensure_synthetic(out, **{**options, "seed": 4})
    assert len(calls) == 3
    (out / synth.STAMP_NAME).unlink()
    synth.ensure_synthetic(out, **{**options, "seed": 4})
    assert len(calls) == 4
    assert len(etl.read(path)) == 73


def test_a_set_drawn_by_an_older_version_or_font_table_is_redrawn(tmp_path, monkeypatch):
    calls = []
    real_generate = synth.generate
    monkeypatch.setattr(synth.dataset, "generate", lambda *a, **k: calls.append(k) or real_generate(
        *a, **{**k, "workers": 1}))
    out = tmp_path / "syn"
    options = {"writers": 1, "seed": 0, "kana": "katakana", "progress": False}
    synth.ensure_synthetic(out, **options)
    stamp = json.loads((out / synth.STAMP_NAME).read_text(encoding="utf-8"))
    assert stamp["synth_version"] == synth.SYNTH_VERSION and "yomogi" not in stamp["fonts"]
    for key, old in (("synth_version", 2), ("fonts", ["klee"])):
        (out / synth.STAMP_NAME).write_text(json.dumps({**stamp, key: old}), encoding="utf-8")
        synth.ensure_synthetic(out, **options)
    assert len(calls) == 3


# ## records through the one ETL8G layout


def test_the_record_dtype_is_the_layout_table_of_etl():
    from kana_keras.etl.layouts import G8

    assert synth.ETL8G_RECORD.itemsize == G8.record_bytes
    for f in G8.fields:
        if f.kind != "pad":                                   # layout offsets are in bits
            assert synth.ETL8G_RECORD.fields[f.name][1] * 8 == G8.offsets[f.name], f.name
    assert (synth.ETL8G_WIDTH, synth.ETL8G_HEIGHT) == (G8.width, G8.height)


# ## letter forms: font writers, joins, dash habits


def test_about_a_third_of_writers_write_in_a_training_font():
    fonts = [synth.writer_font(synth.writer_rng(0, w)) for w in range(300)]
    share = np.mean([f is not None for f in fonts])
    assert abs(share - synth.FONT_WRITER_SHARE) < 0.08


def test_a_font_writer_round_trips_through_the_etl_reader(tmp_path):
    from kana_keras import forms

    w = next(w for w in range(50) if synth.writer_hand(0, w)[1] is not None)
    data = synth.dataset._writer_records((0, w, list("きツね"), 1))
    path = tmp_path / "ETL8G_01"
    path.write_bytes(data)
    recs = etl.read(path)
    assert list(recs.labels) == list("きツね") and (recs.sheets == w + 1).all()
    assert all(img.max() > 60 for img in recs.images)
    style, font = synth.writer_hand(0, w)
    assert font in forms.TRAIN_FONTS
    alone = synth.render_font_sample("き", font, style, synth.writer_rng(0, w))
    assert alone.shape == recs.images[0].shape


def _style(**kw):
    return dataclasses.replace(synth.WriterStyle(), **kw)


def test_joined_strokes_are_one_stroke_in_some_samples_of_a_variant_writer():
    counts = {len(synth.habits.variant_strokes("き", _style(variant=1.0), np.random.default_rng(i)))
              for i in range(30)}
    assert counts == {3, 4}
    plain = {len(synth.habits.variant_strokes("き", _style(variant=0.0), np.random.default_rng(i)))
             for i in range(30)}
    assert plain == {4}


def _angle(stroke):
    v = stroke[-1] - stroke[0]
    return np.degrees(np.arctan2(v[1], v[0]))


def test_dash_habits_turn_dashes_upright_but_keep_tsu_and_shi_apart():
    from kana_keras import kanjivg

    tsu0 = [np.asarray(s) for s in kanjivg.strokes("ツ", 1.0)]
    turned, rows, columns = [], [], []
    for hand in range(60):
        rng = np.random.default_rng(hand)
        tsu = synth.habits.variant_strokes("ツ", _style(hand=hand), rng)
        shi = synth.habits.variant_strokes("シ", _style(hand=hand), rng)
        assert len(tsu) == 3 and np.array_equal(tsu[2], tsu0[2])    # the sweep is untouched
        turned.append(abs(90 - _angle(tsu[0])) <= abs(90 - _angle(tsu0[0])) + 1)
        d_tsu = tsu[1].mean(0) - tsu[0].mean(0)
        d_shi = shi[1].mean(0) - shi[0].mean(0)
        rows.append(abs(d_tsu[0]) > abs(d_tsu[1]))                 # ツ: side by side
        columns.append(abs(d_shi[1]) > abs(d_shi[0]))              # シ: one above the other
    assert np.mean(turned) > 0.9 and all(rows) and all(columns)


def test_n_keeps_its_dot_left_of_a_rising_sweep():
    for hand in range(40):
        n = synth.habits.variant_strokes("ン", _style(hand=hand), np.random.default_rng(hand))
        dot, sweep = n
        assert dot.mean(0)[0] < sweep.mean(0)[0]
        assert sweep[-1][1] < sweep[0][1]                            # rises left to right
