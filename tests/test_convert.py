"""The converter: its own process, writer-disjoint splits, reuse, rebuild, bad input, crashes.

Inputs are the session's synthetic ETL8G set (tests/conftest.py), split into two files so
that two workers have work, and small ETL8G files written here with tests/etl_writer.py.
"""

from __future__ import annotations

import errno
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import etl_writer
from kana_keras import convert, datasets, kanjivg
from kana_keras.cache import MANIFEST, SPLITS, Cache, NpyAppender, sha256_file
from kana_keras.kana import ALL_KANA, HIRAGANA
from kana_keras.preprocess import PREPROCESS_PARAMS

REPO = Path(__file__).resolve().parent.parent
RECORD = 8199
FORBIDDEN = ("tensorflow", "keras", "jax", "torch")


def child_env(**extra) -> dict:
    env = dict(os.environ, **extra)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH")) if p)
    return env


@pytest.fixture(scope="module")
def two_files(synthetic_dir, tmp_path_factory):
    """The synthetic set cut into ETL8G_01 (first half of the writers) and ETL8G_02."""
    data = (Path(synthetic_dir) / "ETL8G_01").read_bytes()
    records = len(data) // RECORD
    half = (records // len(ALL_KANA) // 2) * len(ALL_KANA) * RECORD
    out = tmp_path_factory.mktemp("two")
    (out / "ETL8G_01").write_bytes(data[:half])
    (out / "ETL8G_02").write_bytes(data[half:])
    return out


def levels_of(char: str | None) -> np.ndarray:
    """A (127, 128) 4-bit picture of a kana (or a blank one)."""
    import cv2

    img = np.zeros((127, 128), np.uint8)
    if char is not None:
        for stroke in kanjivg.strokes(char if kanjivg.has_strokes(char) else "あ"):
            pts = np.rint((stroke + 10) * 16).astype(np.int32)
            cv2.polylines(img, [pts], False, 15, 4, cv2.LINE_AA, shift=4)
    return img


def jis(char: str) -> int:
    return int.from_bytes(char.encode("euc_jp"), "big") - 0x8080


def leftovers(out: Path) -> list[str]:
    return sorted(p.name for p in out.parent.iterdir() if p.name.startswith(f".{out.name}."))


# ---------------------------------------------------------------------------------------
# The cache the converter writes
# ---------------------------------------------------------------------------------------


def test_tiny_cache_is_complete(tiny_cache, synthetic_dir):
    cache = Cache.open(tiny_cache).verify()
    m = cache.manifest
    assert cache.classes == list(ALL_KANA) and cache.image_size == 32
    assert sum(cache.count(s) for s in SPLITS) == m["records"]["kept"] == 10 * len(ALL_KANA)
    assert all(cache.count(s) > 0 for s in SPLITS)
    for split in SPLITS:
        labels = np.asarray(cache.labels(split))
        counts = np.bincount(labels, minlength=len(ALL_KANA))
        assert list(counts) == list(m["splits"][split]["class_counts"].values())
        images = np.asarray(cache.images(split))
        assert images.shape[1:] == (32, 32) and images[:, 0, :].max() == 0  # paper at the top
        assert (images.reshape(len(images), -1).max(axis=1) > 120).all()      # ink everywhere
    source = m["sources"][0]
    assert source["sha256"] == sha256_file(Path(synthetic_dir) / "ETL8G_01")
    assert m["preprocess"] == PREPROCESS_PARAMS and m["dropped"] == {}


def test_splits_are_writer_disjoint(tiny_cache):
    cache = Cache.open(tiny_cache)
    sheets = {s: set(np.unique(cache.sheets(s)).tolist()) for s in SPLITS}
    assert not sheets["train"] & sheets["val"]
    assert not sheets["train"] & sheets["test"]
    assert not sheets["val"] & sheets["test"]
    assert set().union(*sheets.values()) == set(range(1, 11))
    recorded = cache.manifest["split"]["writers"]
    assert {s: {sh for _, sh in recorded[s]} for s in SPLITS} == sheets


def test_split_of_a_writer_is_stable_and_small_sets_fill_every_split():
    many = [("ETL9G", s) for s in range(1, 4001)]
    split = convert.assign_splits(many)
    share = {s: sum(v == s for v in split.values()) / len(many) for s in SPLITS}
    assert abs(share["train"] - 0.8) < 0.03 and abs(share["val"] - 0.1) < 0.02
    half = convert.assign_splits(many[:2000])  # a writer keeps its split in a subset
    assert all(half[w] == split[w] for w in many[:2000])
    for n in (3, 5, 10):
        small = convert.assign_splits([("ETL8G", s) for s in range(1, n + 1)])
        assert set(small.values()) == set(SPLITS), n
    assert set(convert.assign_splits([("ETL8G", 1)]).values()) <= set(SPLITS)


def test_drop_reasons():
    kana = set(HIRAGANA)
    assert convert.drop_reason("あ", kana) is None
    assert convert.drop_reason("ア", kana) == "katakana not in this class set"
    assert convert.drop_reason("亜", kana) == "kanji"
    assert convert.drop_reason("7", kana) == convert.drop_reason("７", kana) == "digit"
    assert convert.drop_reason("A", kana) == convert.drop_reason("Ａ", kana) == "Latin letter"
    assert convert.drop_reason("゛", kana).startswith("voicing mark")
    assert convert.drop_reason("っ", kana) == "small kana"
    assert convert.drop_reason("ヴ", kana) == "kana outside the 146 classes"
    assert convert.drop_reason("・", kana) == "symbol or other"


def test_non_kana_records_are_dropped_and_counted(tmp_path):
    chars = ["あ", "い", "ア", "亜", "０", "Ａ", "゛", "っ", "、"]
    records = [etl_writer.g_record(levels_of(c), jis(c), sheet=1 + i % 3)
               for i, c in enumerate(chars)]
    records.append(etl_writer.g_record(levels_of(None), jis("う"), sheet=2))  # blank sample
    etl_writer.write_file(tmp_path / "ETL8G_01", records)
    out = convert.convert([tmp_path / "ETL8G_01"], tmp_path / "c", size=16, kana="hiragana",
                          workers=1, progress=False)
    m = Cache.open(out).verify().manifest
    assert m["records"] == {"read": 10, "kept": 2}
    assert m["dropped"] == {"katakana not in this class set": 1, "kanji": 1, "digit": 1,
                            "Latin letter": 1, "voicing mark ゛/゜ on its own": 1,
                            "small kana": 1, "symbol or other": 1, "blank image": 1}


def test_two_writers_leave_an_empty_split_with_a_warning(tmp_path, capsys):
    records = [etl_writer.g_record(levels_of(c), jis(c), sheet=sheet)
               for sheet in (1, 2) for c in "あいう"]
    etl_writer.write_file(tmp_path / "ETL8G_01", records)
    out = convert.convert([tmp_path / "ETL8G_01"], tmp_path / "c", size=16, kana="hiragana",
                          workers=1, progress=False)
    empty = [s for s in SPLITS if Cache.open(out).count(s) == 0]
    err = capsys.readouterr().err
    assert empty and err.count("\n") == 1, err
    assert err.startswith(f"warning: the {' and '.join(empty)} split") and "2 writer(s)" in err
    assert "convert at least 3 writers" in err


def test_three_writers_convert_without_a_warning(tmp_path, capsys):
    records = [etl_writer.g_record(levels_of("あ"), jis("あ"), sheet=sheet) for sheet in (1, 2, 3)]
    etl_writer.write_file(tmp_path / "ETL8G_01", records)
    convert.convert([tmp_path / "ETL8G_01"], tmp_path / "c", size=16, kana="hiragana",
                    workers=1, progress=False)
    assert "warning" not in capsys.readouterr().err


def test_worker_chunks_equal_prepare_record_by_record(two_files, tmp_path):
    """The batched worker keeps, labels and prepares exactly what a per-record loop would."""
    from kana_keras import etl
    from kana_keras.kana import kana_classes
    from kana_keras.preprocess import prepare

    chars = ["あ", "亜", "い", "０", "う", "ア", "え"] * 3
    records = [etl_writer.g_record(levels_of(None if i % 5 == 4 else c), jis(c), sheet=1 + i % 4)
               for i, c in enumerate(chars)]
    etl_writer.write_file(tmp_path / "ETL8G_01", records)
    classes = kana_classes("hiragana")
    for path in (tmp_path / "ETL8G_01", two_files / "ETL8G_02"):
        expected, dropped = [], {}
        for chunk in etl.iter_chunks(path, chunk_records=64):
            for image, label, sheet in zip(chunk.images, chunk.labels, chunk.sheets):
                reason = convert.drop_reason(str(label), set(classes))
                if reason is None:
                    try:
                        expected.append((prepare(image, 24, ink="high"),
                                         classes.index(label), sheet))
                        continue
                    except ValueError:
                        reason = "blank image"
                dropped[reason] = dropped.get(reason, 0) + 1
        got = list(convert._file_chunks(0, str(path), 24, classes, 64))
        images = np.concatenate([m[4] for m in got if m[0] == "chunk"])
        labels = np.concatenate([m[5] for m in got if m[0] == "chunk"])
        sheets = np.concatenate([m[6] for m in got if m[0] == "chunk"])
        assert len(images) == len(expected) > 0
        np.testing.assert_array_equal(images, np.stack([e[0] for e in expected]))
        assert labels.tolist() == [e[1] for e in expected]
        assert sheets.tolist() == [e[2] for e in expected]
        assert got[-1][0] == "done" and got[-1][3]["dropped"] == dropped
        if path.parent == tmp_path:  # the small file has every kind of drop
            assert set(dropped) == {"blank image", "kanji", "digit",
                                    "katakana not in this class set"}


def test_sources_without_any_kana_of_the_set_are_an_error(tmp_path):
    records = [etl_writer.g_record(levels_of("亜"), jis("亜"), sheet=1),
               etl_writer.g_record(levels_of("ア"), jis("ア"), sheet=2)]
    etl_writer.write_file(tmp_path / "ETL8G_01", records)
    with pytest.raises(convert.ConvertError, match="none of the 2 records.*hiragana.*1 kanji"):
        convert.convert([tmp_path], tmp_path / "c", size=16, kana="hiragana", workers=1,
                        progress=False)
    assert not (tmp_path / "c").exists() and leftovers(tmp_path / "c") == []


# ---------------------------------------------------------------------------------------
# Its own process
# ---------------------------------------------------------------------------------------


def test_cli_child_and_its_workers_never_import_a_framework(two_files, tmp_path):
    out, preview = tmp_path / "c", tmp_path / "before_after.png"
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "kana_keras.convert", str(two_files),
         "--out", str(out), "--size", "16", "--workers", "2", "--quiet",
         "--preview", str(preview)],
        capture_output=True, text=True, env=child_env(), timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    modules = [line.rsplit("|", 1)[-1].strip() for line in proc.stderr.splitlines()
               if line.startswith("import time:") and "|" in line]
    # the main process and both workers log their imports
    assert sum(m == "kana_keras.preprocess" for m in modules) >= 3
    bad = sorted({m for m in modules if m.split(".")[0] in FORBIDDEN})
    assert bad == []
    assert "wrote" in proc.stdout and preview.stat().st_size > 1000
    assert sum(Cache.open(out).verify().count(s) for s in SPLITS) == 10 * len(ALL_KANA)


def start_slow_child(sources, out) -> tuple[subprocess.Popen, Path]:
    """A converter child that sleeps after each chunk; returns it once it has written data."""
    child = subprocess.Popen(
        [sys.executable, "-m", "kana_keras.convert", str(sources), "--out", str(out),
         "--size", "16", "--workers", "2", "--quiet"],
        env=child_env(_KANA_KERAS_CONVERT_CHUNK_DELAY="3"), start_new_session=True,
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        # a suite started in the background ignores SIGINT, and a child inherits that
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    staging = out.parent / f".{out.name}.tmp-{child.pid}" / "staging_images.npy"
    deadline = time.monotonic() + 120
    while not (staging.exists() and staging.stat().st_size > 128):
        if child.poll() is not None or time.monotonic() > deadline:
            os.killpg(child.pid, signal.SIGKILL)
            pytest.fail(f"the child never wrote staging data: {child.stderr.read()}")
        time.sleep(0.05)
    return child, staging.parent


def test_interrupted_runs_leave_no_valid_looking_cache(two_files, tmp_path):
    out = tmp_path / "c"
    convert.convert([two_files], out, size=16, workers=1, progress=False)
    before = (out / MANIFEST).read_text()

    child, tmp = start_slow_child(two_files, out)          # Ctrl-C: cleans up after itself
    os.kill(child.pid, signal.SIGINT)
    _, err = child.communicate(timeout=60)
    assert child.returncode == 130 and "interrupted" in err and "Traceback" not in err
    assert (out / MANIFEST).read_text() == before and leftovers(out) == []

    child, tmp = start_slow_child(two_files, out)          # kill -9: no chance to clean up
    os.killpg(child.pid, signal.SIGKILL)
    child.wait()
    assert (out / MANIFEST).read_text() == before
    Cache.open(out).verify()
    with pytest.raises(ValueError, match="manifest.json: missing"):
        Cache.open(tmp)
    convert.convert([two_files], out, size=16, workers=1, progress=False)
    assert leftovers(out) == []                             # the next run tidies up


def test_full_disk_mid_write_keeps_the_earlier_cache(two_files, tmp_path, monkeypatch):
    out = convert.convert([two_files], tmp_path / "c", size=16, workers=1, progress=False)
    before = (out / MANIFEST).read_text()
    calls = {"n": 0}
    real_append = NpyAppender.append

    def append(self, rows):
        calls["n"] += 1
        if calls["n"] > 3:
            raise OSError(errno.ENOSPC, "No space left on device", str(self.path))
        real_append(self, rows)

    monkeypatch.setattr(NpyAppender, "append", append)
    with pytest.raises(convert.ConvertError, match="no space left.*untouched"):
        convert.convert([two_files], out, size=16, workers=1, progress=False)
    assert (out / MANIFEST).read_text() == before and leftovers(out) == []


# ---------------------------------------------------------------------------------------
# datasets.ensure_cache: reuse until the inputs change
# ---------------------------------------------------------------------------------------


def test_ensure_cache_reuses_and_rebuilds(two_files, tmp_path, monkeypatch):
    src = tmp_path / "src"
    src.mkdir()
    for name in ("ETL8G_01", "ETL8G_02"):
        (src / name).write_bytes((two_files / name).read_bytes())
    out = tmp_path / "c"
    monkeypatch.setenv("PYTHONPATH", child_env()["PYTHONPATH"])
    assert datasets.ensure_cache([src], out, size=16, workers=1) == out     # built (child)
    first = Cache.open(out).verify().manifest

    def no_child(*args, **kwargs):
        raise AssertionError("the cache was rebuilt although nothing changed")

    monkeypatch.setattr(subprocess, "run", no_child)
    assert datasets.ensure_cache([src], out, size=16, workers=1) == out     # reused
    os.utime(src / "ETL8G_02", ns=(1, 1))                                  # touched only
    assert datasets.ensure_cache([src], out, size=16, workers=1) == out     # still reused
    assert datasets.is_up_to_date(out, [src], size=32)[0] is False          # params matter
    assert datasets.is_up_to_date(out, [src], size=16, kana="hiragana")[0] is False
    monkeypatch.undo()
    monkeypatch.setenv("PYTHONPATH", child_env()["PYTHONPATH"])

    data = bytearray((src / "ETL8G_02").read_bytes())
    data[RECORD * 5 + 61 + 4000] ^= 0xFF                                  # one pixel pair
    (src / "ETL8G_02").write_bytes(bytes(data))
    fresh, why = datasets.is_up_to_date(out, [src], size=16)
    assert not fresh and "changed" in why
    datasets.ensure_cache([src], out, size=16, workers=1)                   # rebuilt (child)
    second = Cache.open(out).verify().manifest
    assert second["sources"][1]["sha256"] != first["sources"][1]["sha256"]
    assert second["sources"][0]["sha256"] == first["sources"][0]["sha256"]


# ---------------------------------------------------------------------------------------
# Bad input
# ---------------------------------------------------------------------------------------


def test_folder_without_etl_files(tmp_path):
    (tmp_path / "empty" / "sub").mkdir(parents=True)
    (tmp_path / "empty" / "notes.txt").write_text("nothing here")
    with pytest.raises(convert.ConvertError, match="empty: no ETL files found"):
        convert.convert([tmp_path / "empty"], tmp_path / "c", workers=1, progress=False)
    proc = subprocess.run([sys.executable, "-m", "kana_keras.convert", str(tmp_path / "empty"),
                           "--out", str(tmp_path / "c")], capture_output=True, text=True,
                          env=child_env(), timeout=120)
    assert proc.returncode == 1 and "error:" in proc.stderr and "no ETL files" in proc.stderr
    assert "Traceback" not in proc.stderr and not (tmp_path / "c").exists()


def test_file_that_is_not_etl(tmp_path):
    bad = tmp_path / "holiday.jpg"
    bad.write_bytes(b"\xff\xd8 not ETL")
    with pytest.raises(convert.ConvertError, match="holiday.jpg.*unknown ETL file name"):
        convert.convert([bad], tmp_path / "c", workers=1, progress=False)
    missing = tmp_path / "ETL8G_09"
    with pytest.raises(convert.ConvertError, match="ETL8G_09: no such file"):
        convert.convert([missing], tmp_path / "c", workers=1, progress=False)


def test_mix_of_good_and_broken_files(two_files, tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    (src / "ETL8G_01").write_bytes((two_files / "ETL8G_01").read_bytes())
    (src / "ETL8G_02").write_bytes((two_files / "ETL8G_02").read_bytes()[:-100])  # truncated
    good = [etl_writer.g_record(levels_of("あ"), jis("あ"), sheet=99)] * 600
    broken_late = good + [etl_writer.g_record(levels_of("い"), 0x7F7F, sheet=99)]
    etl_writer.write_file(src / "ETL8G_03", broken_late)       # bad label in chunk 2
    out = tmp_path / "c"
    with pytest.raises(convert.ConvertError, match=r"1 of 3 input files cannot be read \(pass --skip-bad(?s:.*)ETL8G_02: .*truncated"):
        convert.convert([src], out, size=16, workers=1, progress=False)
    (src / "ETL8G_02").unlink()
    with pytest.raises(convert.ConvertError, match="ETL8G_03.*record 600.*--skip-bad"):
        convert.convert([src], out, size=16, workers=2, progress=False)
    assert not out.exists() and leftovers(out) == []
    (src / "ETL8G_02").write_bytes((two_files / "ETL8G_02").read_bytes()[:-100])
    convert.convert([src], out, size=16, workers=2, progress=False, skip_bad=True)
    m = Cache.open(out).verify().manifest
    skipped = {Path(s["path"]).name for s in m["skipped_sources"]}
    assert skipped == {"ETL8G_02", "ETL8G_03"}
    assert [Path(s["path"]).name for s in m["sources"]] == ["ETL8G_01"]
    cache = Cache.open(out)
    assert 99 not in set().union(*(set(np.asarray(cache.sheets(s)).tolist()) for s in SPLITS))


def test_unwritable_output_keeps_the_message_clear(two_files, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    with pytest.raises(ValueError, match="cannot create the cache's parent folder"):
        convert.convert([two_files], blocker / "c", size=16, workers=1, progress=False)


@pytest.mark.parametrize("preview, expected", [
    ("/proc/p.png", "--preview /proc/p.png: cannot write there"),
    ("p.txt", "--preview p.txt: expected a picture file name ending in .png"),
])
def test_cli_bad_preview_is_refused_before_any_work(tmp_path, preview, expected):
    proc = subprocess.run([sys.executable, "-m", "kana_keras.convert", str(tmp_path / "none"),
                           "--out", str(tmp_path / "c"), "--preview", preview, "--quiet"],
                          capture_output=True, text=True, env=child_env(), cwd=tmp_path,
                          timeout=120)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.startswith(f"error: {expected}") and proc.stderr.count("\n") == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_preview_failing_after_the_cache_says_the_cache_was_written(tmp_path, monkeypatch):
    from kana_keras import images

    records = [etl_writer.g_record(levels_of("あ"), jis("あ"), sheet=s) for s in (1, 2, 3)]
    etl_writer.write_file(tmp_path / "ETL8G_01", records)

    def full_disk(picture, path, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device", str(path))

    monkeypatch.setattr(images, "save_atomic", full_disk)
    with pytest.raises(convert.PreviewError) as err:
        convert.convert([tmp_path / "ETL8G_01"], tmp_path / "c", size=16, kana="hiragana",
                        workers=1, progress=False, preview=tmp_path / "p.png")
    assert str(err.value) == (f"the cache {tmp_path / 'c'} was written; only the preview failed: "
                              f"--preview {tmp_path / 'p.png'}: No space left on device")
    assert Cache.open(tmp_path / "c").count("train") > 0


def test_a_corrupt_cache_named_by_data_is_refused(tiny_cache, tmp_path):
    """fit, evaluate and the recognizer resolve --data CACHE here: a flipped byte stops them."""
    import shutil

    from kana_keras.cache import CacheError
    from kana_keras.datasets import resolve_data

    copy = Path(shutil.copytree(tiny_cache, tmp_path / "copy"))
    shard = copy / "train_images.npy"
    data = bytearray(shard.read_bytes())
    data[len(data) // 2] ^= 0xFF
    shard.write_bytes(bytes(data))
    with pytest.raises(CacheError) as err:
        resolve_data(copy, size=32)
    assert str(err.value) == (f"{shard}: checksum mismatch, the file is corrupt; rebuild the "
                              "cache with python -m kana_keras.convert")


def test_resolve_data_names_the_bad_argument(tiny_cache, tmp_path):
    """--data for fit/recognizer/evaluate: a cache is used as is; a missing path or a cache of
    the wrong image size is refused with the value and what was expected."""
    from kana_keras.datasets import resolve_data

    assert resolve_data(tiny_cache, size=32) == tiny_cache
    with pytest.raises(ValueError, match="no such file or folder"):
        resolve_data(tmp_path / "missing", size=32)
    with pytest.raises(ValueError, match="holds 32 px images but 64 px"):
        resolve_data(tiny_cache, size=64)


def test_synthetic_is_checked_once_and_its_cache_reused(synthetic_dir, tmp_path, monkeypatch):
    """--data synthetic: the drawn set is checked (stamp, file sizes) once per resolve, not
    again by the up-to-date check or the converter; the cache keeps its synthetic-SIZE-KANA name."""
    from kana_keras import synth

    calls = []
    monkeypatch.setattr(synth, "ensure_synthetic", lambda *a, **k: calls.append(1) or synthetic_dir)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PYTHONPATH", child_env()["PYTHONPATH"])
    out = datasets.resolve_data("synthetic", size=16, kana="hiragana")     # built (child)
    assert out == Path("data/cache/synthetic-16-hiragana") and len(calls) == 1
    assert Cache.open(out).manifest["kana"] == "hiragana"
    monkeypatch.setattr(subprocess, "run", lambda *a, **k: pytest.fail("rebuilt for nothing"))
    assert datasets.resolve_data("synthetic", size=16, kana="hiragana") == out  # reused
    assert len(calls) == 2
