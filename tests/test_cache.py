"""The cache folder: round trip, memory mapping, checksums, atomic replacement, recovery."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

from kana_keras.cache import (MANIFEST, SPLITS, Cache, CacheError, CacheWriter, NpyAppender,
                              recover_interrupted)

SIZE = 8


def build(out, seed=0, rows=(5, 2, 1), fail_after=None):
    """A small cache with random content; ``fail_after`` raises after that many splits."""
    rng = np.random.default_rng(seed)
    with CacheWriter(out, SIZE) as writer:
        for i, (split, n) in enumerate(zip(SPLITS, rows)):
            if fail_after is not None and i == fail_after:
                raise RuntimeError("simulated crash mid-write")
            for half in (n // 2, n - n // 2):  # two appends per split: arrays grow
                writer.appender(f"{split}_images.npy", np.uint8, (SIZE, SIZE)).append(
                    rng.integers(0, 256, (half, SIZE, SIZE), dtype=np.uint8))
                writer.appender(f"{split}_labels.npy", np.int64).append(rng.integers(0, 3, half))
                writer.appender(f"{split}_sheets.npy", np.int64).append(rng.integers(1, 9, half))
        return writer.finish({"classes": ["あ", "い", "う"], "seed": seed})


def leftovers(out):
    return sorted(p.name for p in out.parent.iterdir() if p.name.startswith(f".{out.name}."))


def test_round_trip_is_memory_mapped_and_verifies(tmp_path):
    out = build(tmp_path / "c")
    cache = Cache.open(out).verify()
    assert cache.classes == ["あ", "い", "う"] and cache.image_size == SIZE
    assert [cache.count(s) for s in SPLITS] == [5, 2, 1]
    images = cache.images("train")
    assert isinstance(images, np.memmap) and images.shape == (5, SIZE, SIZE)
    assert images.dtype == np.uint8 and cache.labels("val").dtype == np.int64
    assert cache.sheets("test").shape == (1,)
    assert cache.manifest["seed"] == 0 and leftovers(out) == []
    with pytest.raises(ValueError, match="split"):
        cache.images("training")


def test_empty_split_is_a_valid_empty_array(tmp_path):
    cache = Cache.open(build(tmp_path / "c", rows=(3, 0, 0)))
    assert cache.images("val").shape == (0, SIZE, SIZE) and cache.count("test") == 0


def test_appender_header_holds_large_shapes(tmp_path):
    app = NpyAppender(tmp_path / "x.npy", np.uint8, (64, 64))
    app.append(np.ones((3, 64, 64), np.uint8))
    app.rows = 10**11  # the header must still fit when a shape has many digits
    app._header(app.rows)
    app.rows = 3
    app.close()
    assert np.load(tmp_path / "x.npy").shape == (3, 64, 64)


def test_flipped_byte_is_detected_and_named(tmp_path):
    out = build(tmp_path / "c")
    target = out / "val_images.npy"
    data = bytearray(target.read_bytes())
    data[-1] ^= 0xFF
    target.write_bytes(bytes(data))
    with pytest.raises(CacheError, match="val_images.npy.*checksum") as err:
        Cache.open(out)  # same size: only the checksum can tell, and every open checks it
    assert "\n" not in str(err.value) and "rebuild" in str(err.value)
    assert "kana_keras.convert" in str(err.value)
    Cache.open(out, verify=False)  # for a caller that verifies by itself


def test_truncated_or_missing_files_are_named(tmp_path):
    out = build(tmp_path / "c")
    with open(out / "train_labels.npy", "r+b") as f:
        f.truncate(100)
    with pytest.raises(CacheError, match="train_labels.npy.*truncated"):
        Cache.open(out)
    (out / "train_labels.npy").unlink()
    with pytest.raises(CacheError, match="train_labels.npy: missing"):
        Cache.open(out)
    (out / MANIFEST).write_text("{not json")
    with pytest.raises(CacheError, match="manifest.json: unreadable"):
        Cache.open(out)
    (out / MANIFEST).unlink()
    with pytest.raises(CacheError, match="manifest.json: missing"):
        Cache.open(out)
    with pytest.raises(CacheError, match="no cache"):
        Cache.open(tmp_path / "nothing-here")


def test_crash_mid_write_keeps_the_earlier_cache(tmp_path):
    out = build(tmp_path / "c", seed=1)
    before = (out / MANIFEST).read_text()
    with pytest.raises(RuntimeError, match="simulated"):
        build(tmp_path / "c", seed=2, fail_after=2)
    assert (out / MANIFEST).read_text() == before
    Cache.open(out).verify()
    assert leftovers(out) == []


def test_replacing_a_cache_leaves_only_the_new_one(tmp_path):
    build(tmp_path / "c", seed=1)
    out = build(tmp_path / "c", seed=2, rows=(4, 4, 4))
    cache = Cache.open(out).verify()
    assert cache.manifest["seed"] == 2 and cache.count("val") == 4
    assert leftovers(out) == []


def test_never_replaces_a_folder_that_is_not_a_cache(tmp_path):
    precious = tmp_path / "photos"
    precious.mkdir()
    (precious / "holiday.jpg").write_bytes(b"...")
    with pytest.raises(CacheError, match="not a kana-keras cache"):
        build(precious)
    assert (precious / "holiday.jpg").exists()


def test_unwritable_place_is_a_clear_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("a file, not a folder")
    with pytest.raises(CacheError, match="cannot create the cache's parent folder"):
        CacheWriter(blocker / "cache", SIZE)


def test_recovery_after_a_kill_between_the_renames(tmp_path):
    out = build(tmp_path / "c", seed=3)
    dead_pid = 2**22 + 12345  # above the default pid_max: never alive
    os.rename(out, tmp_path / f".c.old-{dead_pid}")
    (tmp_path / f".c.tmp-{dead_pid}").mkdir()
    (tmp_path / f".c.tmp-{dead_pid}" / "train_images.npy").write_bytes(b"half")
    recover_interrupted(out)
    assert Cache.open(out).verify().manifest["seed"] == 3
    assert leftovers(out) == []


def test_manifest_is_plain_json_with_checksums(tmp_path):
    out = build(tmp_path / "c")
    manifest = json.loads((out / MANIFEST).read_text(encoding="utf-8"))
    info = manifest["splits"]["train"]["files"]["images"]
    assert info["name"] == "train_images.npy" and len(info["sha256"]) == 64
    assert info["bytes"] == (out / "train_images.npy").stat().st_size
