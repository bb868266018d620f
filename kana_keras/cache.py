"""The converted-data cache: a folder that training memory-maps instead of re-reading ETL.

Layout (nanoGPT's ``train.bin``/``meta.pkl`` idea, with checksums)::

    CACHE/manifest.json          classes, counts, sources, parameters, checksums (written last)
    CACHE/train_images.npy       uint8 (N, S, S), 0 = paper, 255 = ink
    CACHE/train_labels.npy       int64 (N,), index into manifest["classes"]
    CACHE/train_sheets.npy       int64 (N,), the writer's serial sheet number
    CACHE/val_*.npy, CACHE/test_*.npy

Why a folder renamed into place: a cache is built in ``.NAME.tmp-PID`` beside its final
place and only renamed to ``NAME`` once every array and the manifest are on disk, so a run
killed at any moment (Ctrl-C, kill -9, full disk) leaves either the earlier cache or nothing
that looks like one. Checksums are SHA-256 of whole files: hashlib's SHA-256 runs at
about 1-2 GB/s here, so even an ETL9G-sized cache (2.5 GB) verifies in seconds, and it is
what ``sha256sum`` prints, so a person can check a file by hand.

Every ``Cache.open`` checks those checksums (the 23k-image 64 px synthetic cache, 96 MB,
in about 60 ms on one core), so a cache corrupted on disk is named before training,
evaluation or the recognizer read it. That is cheap enough to need no remembered result,
which a file rewritten within one mtime tick could fool.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path

import numpy as np

from kana_keras.errors import CacheError
from kana_keras.files import atomic_path

SPLITS = ("train", "val", "test")
MANIFEST = "manifest.json"
FORMAT = "kana-keras-cache"
FORMAT_VERSION = 1
ARRAYS = {"images": np.uint8, "labels": np.int64, "sheets": np.int64}

#: A fixed .npy header size, so arrays can grow and get their shape at the end.
NPY_HEADER_BYTES = 128



def sha256_file(path: str | os.PathLike, chunk: int = 1 << 22) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def array_name(split: str, kind: str) -> str:
    return f"{split}_{kind}.npy"


# ---------------------------------------------------------------------------------------
# Reading
# ---------------------------------------------------------------------------------------


class Cache:
    """An opened, structurally checked cache; arrays are memory-mapped on first use.

    Example:
        cache = Cache.open("data/cache/synthetic-64-all")
        x = cache.images("train")            # np.memmap uint8 (N, 64, 64)
        y = cache.labels("train")            # int64 indices into cache.classes
    """

    def __init__(self, path: Path, manifest: dict):
        self.path = path
        self.manifest = manifest
        self.classes: list[str] = list(manifest["classes"])
        self.image_size: int = int(manifest["image_size"])
        self._arrays: dict[tuple[str, str], np.ndarray] = {}

    @classmethod
    def open(cls, path: str | os.PathLike, verify: bool = True) -> "Cache":
        """Open ``path``, checksums included; CacheError names the missing/short/corrupt file.

        ``verify=False`` skips the checksums (for a caller that runs ``verify()`` itself).
        """
        path = Path(path)
        manifest_path = path / MANIFEST
        if not path.is_dir():
            raise CacheError(f"no cache at {path} (folder missing)")
        if not manifest_path.is_file():
            raise CacheError(f"{manifest_path}: missing, the cache is incomplete or not a cache")
        try:
            manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise CacheError(f"{manifest_path}: unreadable manifest ({exc})") from None
        if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
            raise CacheError(f"{manifest_path}: not a kana-keras cache manifest")
        if manifest.get("format_version") != FORMAT_VERSION:
            raise CacheError(f"{manifest_path}: cache format version "
                             f"{manifest.get('format_version')}, expected {FORMAT_VERSION}")
        for key in ("classes", "image_size", "splits"):
            if key not in manifest:
                raise CacheError(f"{manifest_path}: manifest lacks {key!r}")
        for split in SPLITS:
            entry = manifest["splits"].get(split)
            if entry is None:
                raise CacheError(f"{manifest_path}: manifest lacks split {split!r}")
            for kind in ARRAYS:
                info = entry["files"][kind]
                file = path / info["name"]
                if not file.is_file():
                    raise CacheError(f"{file}: missing")
                if file.stat().st_size != info["bytes"]:
                    raise CacheError(f"{file}: {file.stat().st_size} bytes, the manifest says "
                                     f"{info['bytes']} (truncated or replaced)")
        cache = cls(path, manifest)
        return cache.verify() if verify else cache

    def _array(self, split: str, kind: str) -> np.ndarray:
        if split not in SPLITS:
            raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
        key = (split, kind)
        if key not in self._arrays:
            file = self.path / array_name(split, kind)
            try:
                arr = np.load(file, mmap_mode="r")
            except (OSError, ValueError) as exc:
                raise CacheError(f"{file}: unreadable array ({exc})") from None
            n = self.count(split)
            expected = (n, self.image_size, self.image_size) if kind == "images" else (n,)
            if arr.shape != expected or arr.dtype != ARRAYS[kind]:
                raise CacheError(f"{file}: shape {arr.shape} {arr.dtype}, expected "
                                 f"{expected} {np.dtype(ARRAYS[kind])}")
            self._arrays[key] = arr
        return self._arrays[key]

    def images(self, split: str) -> np.ndarray:
        return self._array(split, "images")

    def labels(self, split: str) -> np.ndarray:
        return self._array(split, "labels")

    def sheets(self, split: str) -> np.ndarray:
        return self._array(split, "sheets")

    def count(self, split: str) -> int:
        return int(self.manifest["splits"][split]["count"])

    def verify(self) -> "Cache":
        """Check every array against its SHA-256 in the manifest; CacheError names the bad one."""
        for split in SPLITS:
            for info in self.manifest["splits"][split]["files"].values():
                file = self.path / info["name"]
                try:
                    actual = sha256_file(file)
                except OSError as exc:
                    raise CacheError(f"{file}: unreadable ({exc.strerror or exc})") from None
                if actual != info["sha256"]:
                    raise CacheError(f"{file}: checksum mismatch, the file is corrupt; rebuild "
                                     f"the cache with python -m kana_keras.convert")
        return self

    def __repr__(self) -> str:
        counts = ", ".join(f"{s}={self.count(s)}" for s in SPLITS)
        return f"Cache({str(self.path)!r}, {len(self.classes)} classes, {self.image_size} px, {counts})"


# ---------------------------------------------------------------------------------------
# Writing
# ---------------------------------------------------------------------------------------


class NpyAppender:
    """A .npy file that grows by appending rows; its header gets the final shape on close."""

    def __init__(self, path: Path, dtype, item_shape: tuple[int, ...] = ()):
        self.path = path
        self.dtype = np.dtype(dtype)
        self.item_shape = tuple(item_shape)
        self.rows = 0
        self._file = open(path, "wb")
        self._file.write(self._header(0))

    def _header(self, rows: int) -> bytes:
        descr = np.lib.format.dtype_to_descr(self.dtype)
        text = repr({"descr": descr, "fortran_order": False, "shape": (rows, *self.item_shape)})
        preamble = b"\x93NUMPY\x01\x00"
        body_len = NPY_HEADER_BYTES - len(preamble) - 2
        text = text.ljust(body_len - 1) + "\n"
        if len(text) != body_len:
            raise ValueError(f"shape {(rows, *self.item_shape)} too long for the .npy header")
        return preamble + body_len.to_bytes(2, "little") + text.encode("latin1")

    def append(self, rows: np.ndarray) -> None:
        rows = np.ascontiguousarray(rows, dtype=self.dtype)
        if rows.shape[1:] != self.item_shape:
            raise ValueError(f"{self.path.name}: rows of shape {rows.shape[1:]}, "
                             f"expected {self.item_shape}")
        self._file.write(rows.tobytes())
        self.rows += len(rows)

    def close(self) -> None:
        if self._file.closed:
            return
        self._file.seek(0)
        self._file.write(self._header(self.rows))
        self._file.flush()
        os.fsync(self._file.fileno())
        self._file.close()

    def discard(self) -> None:
        if not self._file.closed:
            self._file.close()


class CacheWriter:
    """Builds a cache in ``.NAME.tmp-PID`` beside ``out`` and renames it into place.

    Use as a context manager: leaving the block by an exception removes the temporary folder
    and leaves any earlier cache at ``out`` untouched.
    """

    def __init__(self, out: str | os.PathLike, image_size: int):
        self.out = Path(out).absolute()
        self.image_size = int(image_size)
        parent = self.out.parent
        try:
            parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise CacheError(f"cannot create the cache's parent folder {parent}: "
                             f"{exc.strerror or exc}") from None
        if self.out.exists() and not _replaceable(self.out):
            raise CacheError(f"{self.out} exists and is not a kana-keras cache; refusing to "
                             f"replace it (choose another --out or remove it)")
        recover_interrupted(self.out)
        self.tmp = parent / f".{self.out.name}.tmp-{os.getpid()}"
        if self.tmp.exists():
            shutil.rmtree(self.tmp)
        try:
            self.tmp.mkdir()
            probe = self.tmp / ".write-test"
            probe.write_bytes(b"ok")
            probe.unlink()
        except OSError as exc:
            shutil.rmtree(self.tmp, ignore_errors=True)
            raise CacheError(f"cannot write the cache in {parent}: {exc.strerror or exc}") from None
        self._appenders: dict[str, NpyAppender] = {}

    def __enter__(self) -> "CacheWriter":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is not None:
            self.abort()

    def appender(self, name: str, dtype, item_shape: tuple[int, ...] = ()) -> NpyAppender:
        if name not in self._appenders:
            self._appenders[name] = NpyAppender(self.tmp / name, dtype, item_shape)
        return self._appenders[name]

    def staging_path(self, name: str) -> Path:
        """A scratch file inside the temporary folder (gone after finish/abort)."""
        return self.tmp / name

    def finish(self, manifest: dict) -> Path:
        """Close the split arrays, checksum them, write the manifest, rename into place."""
        for app in self._appenders.values():
            app.close()
        splits = manifest.setdefault("splits", {})
        for split in SPLITS:
            entry = splits.setdefault(split, {})
            files = {}
            for kind, dtype in ARRAYS.items():
                name = array_name(split, kind)
                if name not in self._appenders:
                    shape = (self.image_size, self.image_size) if kind == "images" else ()
                    self.appender(name, dtype, shape).close()
                file = self.tmp / name
                files[kind] = {"name": name, "bytes": file.stat().st_size,
                               "sha256": sha256_file(file)}
            rows = {kind: self._appenders[array_name(split, kind)].rows for kind in ARRAYS}
            if len(set(rows.values())) != 1:
                raise CacheError(f"{self.tmp}: split {split!r} has unequal arrays {rows}")
            entry["files"] = files
            entry["count"] = rows["labels"]
        manifest.update(format=FORMAT, format_version=FORMAT_VERSION,
                        image_size=self.image_size)
        for extra in self.tmp.iterdir():
            if extra.name not in {array_name(s, k) for s in SPLITS for k in ARRAYS}:
                extra.unlink()
        _write_json(self.tmp / MANIFEST, manifest)
        _fsync_dir(self.tmp)
        old = None
        if self.out.exists():
            old = self.out.parent / f".{self.out.name}.old-{os.getpid()}"
            os.rename(self.out, old)
        os.rename(self.tmp, self.out)
        _fsync_dir(self.out.parent)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
        return self.out

    def abort(self) -> None:
        for app in self._appenders.values():
            app.discard()
        shutil.rmtree(self.tmp, ignore_errors=True)


def _replaceable(path: Path) -> bool:
    """Only an earlier cache (or an empty folder) may be replaced, never somebody's files."""
    if not path.is_dir():
        return False
    return (path / MANIFEST).is_file() or not any(path.iterdir())


def recover_interrupted(out: str | os.PathLike) -> None:
    """Tidy up after a killed run: drop its temp folders, restore a cache it moved aside.

    The only moment a cache is not at ``out`` is between the two renames in ``finish``;
    if a run died there, the earlier cache sits at ``.NAME.old-PID`` and is moved back.
    Temp folders of processes that are still alive are left alone.
    """
    out = Path(out).absolute()
    parent = out.parent
    if not parent.is_dir():
        return
    for entry in parent.glob(f".{out.name}.*-*"):
        kind, _, pid = entry.name[len(out.name) + 2:].partition("-")
        if kind not in ("tmp", "old") or not pid.isdigit() or _alive(int(pid)):
            continue
        if kind == "old" and not out.exists() and (entry / MANIFEST).is_file():
            os.rename(entry, out)
        else:
            shutil.rmtree(entry, ignore_errors=True)


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _write_json(path: Path, data: dict) -> None:
    """The manifest, on disk (fsync) before the folder is renamed into place."""
    with atomic_path(path) as tmp, open(tmp, "w", encoding="utf-8") as f:
        json.dump(data, f, ensure_ascii=False, indent=1)
        f.flush()
        os.fsync(f.fileno())


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
