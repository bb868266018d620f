"""ETL (real or synthetic) → clean, cached training data, in a process of its own.

    python -m kana_keras.convert data/ETL --out data/cache/etl-64-all --size 64
    python -m kana_keras.convert synthetic --preview before_after.png

The blog this project grew from needed two notebooks because ETL parsing and TensorFlow
would not live in one process; we keep the separation on purpose. This module never
imports TensorFlow, Keras, JAX or torch (a test checks the child's modules), uses one
process per ETL file, and leaves a cache (``kana_keras.cache``) that training reuses until
its inputs or parameters change: ``kana_keras.datasets.ensure_cache`` is what training calls.

## How a conversion runs

1. Sources are resolved to ETL files (``etl.find`` for folders, "synthetic" for the built-in
   set) and every file is checked (name, size) before any work, so a broken file is named
   at once; ``skip_bad`` leaves it out instead of stopping.
2. Workers (one file each, ``workers`` at a time) decode the file in chunks
   (``etl.iter_chunks``), drop the records that are not kana of the chosen set (counted by
   reason, once per distinct label of a chunk), run ``preprocess.prepare_batch`` on the
   chunk (the same output as ``prepare`` record by record, with less Python per record)
   and send it back through a bounded queue: memory stays flat whatever the input size.
3. The main process appends the chunks to staging arrays on disk. When every writer is
   known, each (dataset, sheet) gets its split (below), and the staging rows are copied,
   in file order, into the split arrays. The cache is then checksummed and renamed into
   place (``cache.CacheWriter``).

## Splits by writer

Validation and test must measure *unseen writers*, so a split is a set of sheets. A
writer's split comes from a hash of ``"<dataset>:<sheet>"`` (BLAKE2b → u in [0, 1)):
u < 0.8 train, u < 0.9 validation, else test, so a writer keeps its split whatever else is
converted with it. Only a small set (a test fixture with 10 writers) can end with an
empty split by chance: then the train writer whose u lies closest to that split's interval
is moved into it, so any set of 3+ writers has writers in every split.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import hashlib
import os
import queue as queue_mod
import sys
import time
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

import kana_keras
from kana_keras import kana as kana_mod
from kana_keras.cache import NPY_HEADER_BYTES, SPLITS, Cache, CacheWriter, array_name, sha256_file
from kana_keras.errors import ConvertError, PreviewError
from kana_keras.preprocess import PREPROCESS_PARAMS, prepare, prepare_batch

# ## Setup

#: Bump when the conversion itself changes (not preprocessing: that has its own params).
CONVERTER_VERSION = 1
CODE_VERSION = f"{kana_keras.__version__}+convert{CONVERTER_VERSION}"

SPLIT_FRACTIONS = {"train": 0.8, "val": 0.1, "test": 0.1}
DEFAULT_CACHE_ROOT = Path("data/cache")
CHUNK_RECORDS = 512          # records per worker message: ~2 MB at 64 px, small queue
MACHINE_PRINTED = {"ETL2"}   # not handwriting: left out, and said so in the manifest

#: Test hook: seconds a worker sleeps after each chunk (lets a test kill a run mid-way).
_DELAY_ENV = "_KANA_KERAS_CONVERT_CHUNK_DELAY"


@dataclass
class SourceFile:
    path: Path
    dataset: str
    format: str
    size: int
    mtime_ns: int
    records: int
    sha256: str | None = None
    stats: dict = field(default_factory=dict)

    def fingerprint(self) -> dict:
        return {"path": str(self.path), "dataset": self.dataset, "format": self.format,
                "size": self.size, "mtime_ns": self.mtime_ns, "sha256": self.sha256,
                "records": self.records, **self.stats}


# ## Sources


def resolve_sources(sources, skip_bad: bool = False, progress: bool = True
                    ) -> tuple[list[SourceFile], list[dict]]:
    """SOURCE arguments → checked ETL files, plus the files left out and why.

    Raises ConvertError naming every broken file unless ``skip_bad``.
    """
    from kana_keras import etl

    if isinstance(sources, (str, os.PathLike)):
        sources = [sources]
    if not sources:
        raise ConvertError("no sources given: pass ETL files, ETL folders or 'synthetic'")
    found: list[tuple[Path, str, str]] = []
    for source in sources:
        if str(source) == "synthetic":
            from kana_keras import synth

            source = synth.ensure_synthetic(progress=progress)
        path = Path(source)
        if not path.exists():
            raise ConvertError(f"{path}: no such file or folder; expected an ETL file, an "
                               f"unpacked ETL download folder or 'synthetic'")
        if path.is_dir():
            files = etl.find(path)
            if not files:
                raise ConvertError(
                    f"{path}: no ETL files found in this folder (looked for official names "
                    f"such as ETL8G_01, ETL9B_1, ETL4C, ETL7LC_1 at any depth)")
            found.extend(files)
        else:
            try:
                found.append((path, *etl.detect(path)))
            except etl.EtlError as exc:
                found.append((path, "?", str(exc)))
    resolved, skipped, bad = [], [], []
    seen = set()
    for path, dataset, fmt in found:
        key = path.resolve()
        if key in seen:
            continue
        seen.add(key)
        if dataset == "?":
            bad.append((path, fmt))
            continue
        if dataset in MACHINE_PRINTED:
            skipped.append({"path": str(key), "reason": f"{dataset} is machine-printed, "
                                                        "not handwriting"})
            continue
        try:
            next(etl.iter_chunks(path, chunk_records=1), None)  # name, size and first record
        except etl.EtlError as exc:
            bad.append((path, str(exc)))
            continue
        stat = key.stat()
        layout = etl.layouts.LAYOUTS[fmt]
        records = stat.st_size // layout.record_bytes - (1 if layout.dummy_first else 0)
        resolved.append(SourceFile(key, dataset, fmt, stat.st_size, stat.st_mtime_ns, records))
    if bad and not skip_bad:
        lines = "\n".join(f"  {why}" if why.startswith(str(p)) else f"  {p}: {why}"
                          for p, why in bad)
        raise ConvertError(f"{len(bad)} of {len(bad) + len(resolved)} input files cannot be "
                           f"read (pass --skip-bad to convert the others):\n{lines}")
    skipped += [{"path": str(p.resolve()), "reason": why} for p, why in bad]
    if not resolved:
        raise ConvertError("no readable ETL files among the sources: "
                           + "; ".join(f"{s['path']}: {s['reason']}" for s in skipped))
    return resolved, skipped


def default_cache_dir(sources, size: int = 64, kana: str = "all") -> Path:
    """``data/cache/synthetic-<size>-<kana>`` for the built-in set, else named by the sources."""
    sources = [sources] if isinstance(sources, (str, os.PathLike)) else list(sources)
    if [str(s) for s in sources] == ["synthetic"]:
        return DEFAULT_CACHE_ROOT / f"synthetic-{size}-{kana}"
    names = sorted(str(Path(s).resolve()) for s in sources)
    tag = hashlib.blake2b("\n".join(names).encode(), digest_size=4).hexdigest()
    return DEFAULT_CACHE_ROOT / f"{Path(names[0]).name}-{tag}-{size}-{kana}"


# ## Labels: what a kana cache keeps and why it drops the rest

_SMALL_KANA = set("ぁぃぅぇぉっゃゅょゎゕゖァィゥェォッャュョヮヵヶ")


def drop_reason(label: str, classes: set[str]) -> str | None:
    """None if ``label`` is one of ``classes``, else a short reason for the manifest."""
    if label in classes:
        return None
    if label in kana_mod.ALL_KANA:
        script = "hiragana" if kana_mod.is_hiragana(label) else "katakana"
        return f"{script} not in this class set"
    if label in ("゛", "゜", "\u3099", "\u309a"):
        return "voicing mark ゛/゜ on its own"
    if label in _SMALL_KANA:
        return "small kana"
    if len(label) == 1 and unicodedata.name(label, "").startswith(("HIRAGANA LETTER",
                                                                    "KATAKANA LETTER")):
        return "kana outside the 146 classes"
    if len(label) == 1 and label.isdigit():
        return "digit"
    if len(label) == 1 and unicodedata.normalize("NFKC", label).isascii() and label.isalpha():
        return "Latin letter"
    if len(label) == 1 and ("\u4e00" <= label <= "\u9fff" or "\u3400" <= label <= "\u4dbf"
                            or label == "々"):
        return "kanji"
    return "symbol or other"


# ## Splits


def writer_hash(dataset: str, sheet: int) -> float:
    """u in [0, 1) for a writer: the same writer always gets the same u."""
    digest = hashlib.blake2b(f"{dataset}:{int(sheet)}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2.0**64


def assign_splits(writers) -> dict[tuple[str, int], str]:
    """(dataset, sheet) → "train"/"val"/"test" (see the module doc)."""
    bounds = np.cumsum([SPLIT_FRACTIONS[s] for s in SPLITS])
    u = {w: writer_hash(*w) for w in set(writers)}
    split = {w: SPLITS[min(int(np.searchsorted(bounds, x, side="right")), len(SPLITS) - 1)]
             for w, x in u.items()}
    if len(u) >= len(SPLITS):
        for needed, edge in (("test", bounds[1]), ("val", bounds[0])):
            if needed in split.values():
                continue
            candidates = [w for w in u if split[w] == "train"]
            if len(candidates) > 1:
                w = min(candidates, key=lambda w: (abs(u[w] - edge), w))
                split[w] = needed
    return split


# ## Worker: one ETL file → prepared chunks


def _file_chunks(index: int, path: str, size: int, class_list: list[str], chunk_records: int):
    """Yield ("chunk", ...) messages for one file, then ("done", index, stats)."""
    from kana_keras import etl

    delay = float(os.environ.get(_DELAY_ENV, "0") or 0)
    class_index = {c: i for i, c in enumerate(class_list)}
    class_set = set(class_list)
    dropped: collections.Counter = collections.Counter()
    kept = read = 0
    for number, chunk in enumerate(etl.iter_chunks(path, chunk_records=chunk_records)):
        n = len(chunk)
        # labels are decided once per distinct label of the chunk, not once per record
        distinct, inverse = np.unique(chunk.labels, return_inverse=True)
        reasons = [drop_reason(str(label), class_set) for label in distinct]
        classes = np.array([class_index.get(str(label), -1) for label in distinct], np.int64)
        labels = classes[inverse.ravel()]
        keep = labels >= 0
        for j, count in enumerate(np.bincount(inverse.ravel(), minlength=len(distinct))):
            if reasons[j] is not None and count:
                dropped[reasons[j]] += int(count)
        rows = np.flatnonzero(keep)
        out, problems = prepare_batch(chunk.images[rows], size, ink="high")
        blank = [i for i, problem in enumerate(problems) if problem is not None]
        if blank:
            dropped["blank image"] += len(blank)
            good = np.ones(len(rows), bool)
            good[blank] = False
            rows, out = rows[good], out[good]
        read += n
        kept += len(rows)
        yield ("chunk", index, number, n, out, labels[rows],
               np.asarray(chunk.sheets, np.int64)[rows])
        if delay:
            time.sleep(delay)
    stats = {"read": read, "kept": kept, "dropped": dict(dropped)}
    yield ("done", index, sha256_file(path), stats)


def _worker_main(task, messages, parent_pid: int) -> None:
    """Process entry: stream one file's messages; a failure becomes an ("error", ...) message.

    If the parent dies (kill -9), the worker exits instead of waiting on a full queue.
    """
    import signal

    import cv2

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    cv2.setNumThreads(1)  # parallelism is over files; OpenCV threads would only contend

    def send(message) -> None:
        while True:
            try:
                messages.put(message, timeout=1.0)
                return
            except queue_mod.Full:
                if os.getppid() != parent_pid:
                    os._exit(1)

    index = task[0]
    try:
        for message in _file_chunks(*task):
            if os.getppid() != parent_pid:
                os._exit(1)
            send(message)
    except Exception as exc:  # noqa: BLE001 - reported to the parent with the file's name
        send(("error", index, f"{type(exc).__name__}: {exc}"))


def _run_workers(tasks, workers: int):
    """Yield worker messages; ``workers`` spawned processes, one file each, bounded queue."""
    if workers <= 1:
        import cv2

        threads = cv2.getNumThreads()
        cv2.setNumThreads(1)  # as in the workers: on one 128x127 record threads only cost
        try:
            for task in tasks:
                try:
                    yield from _file_chunks(*task)
                except Exception as exc:  # noqa: BLE001 - same contract as the processes
                    yield ("error", task[0], f"{type(exc).__name__}: {exc}")
        finally:
            cv2.setNumThreads(threads)
        return
    import multiprocessing

    ctx = multiprocessing.get_context("spawn")  # never fork a process that may hold threads
    messages = ctx.Queue(maxsize=2 * workers + 2)
    pending = list(tasks)
    running: dict[int, object] = {}
    try:
        while pending or running:
            while pending and len(running) < workers:
                task = pending.pop(0)
                proc = ctx.Process(target=_worker_main, args=(task, messages, os.getpid()),
                                   daemon=True)
                proc.start()
                running[task[0]] = proc
            try:
                message = messages.get(timeout=0.5)
            except queue_mod.Empty:
                for index, proc in list(running.items()):
                    if proc.exitcode not in (None, 0):
                        running.pop(index)
                        yield ("error", index, f"worker process died (exit code {proc.exitcode})")
                continue
            if message[0] in ("done", "error"):
                proc = running.pop(message[1], None)
                if proc is not None:
                    proc.join()
            yield message
    finally:
        for proc in running.values():
            if proc.is_alive():
                proc.terminate()
        for proc in running.values():
            proc.join(timeout=5)
        messages.cancel_join_thread()
        messages.close()


# ## Conversion


def convert(sources, out, size: int = 64, kana: str = "all", workers: int | None = None,
            progress: bool = True, skip_bad: bool = False, preview=None) -> Path:
    """Convert ETL files/folders (or "synthetic") into a cache at ``out``; returns its path.

    Runs in the calling process (workers are spawned processes); imports no framework.
    The earlier cache at ``out``, if any, is replaced only once the new one is complete.
    """
    from tqdm import tqdm

    size = int(size)
    if not 8 <= size <= 512:
        raise ConvertError(f"--size must be between 8 and 512 pixels, got {size}")
    classes = kana_mod.kana_classes(kana)
    if preview is not None:
        _check_preview_path(preview)
    files, skipped = resolve_sources(sources, skip_bad=skip_bad, progress=progress)
    workers = max(1, min(int(workers or os.cpu_count() or 1), len(files)))
    out = Path(out)
    tasks = [(i, str(f.path), size, classes, CHUNK_RECORDS) for i, f in enumerate(files)]
    total = sum(f.records for f in files)
    bar = tqdm(total=total, unit="rec", desc=f"converting {len(files)} file(s)",
               disable=not progress, smoothing=0.1)
    try:
        with CacheWriter(out, size) as writer:
            chunks, failed = _stage(writer, tasks, files, workers, bar, skip_bad)
            for i in sorted(failed):
                skipped.append({"path": str(files[i].path), "reason": failed[i]})
            good = [f for i, f in enumerate(files) if i not in failed]
            if not good:
                raise ConvertError("every input file failed: " + "; ".join(
                    f"{files[i].path}: {why}" for i, why in sorted(failed.items())))
            split_info = _split(writer, chunks, files, failed, len(classes))
            manifest = _manifest(good, skipped, classes, kana, size, split_info)
            if manifest["records"]["kept"] == 0:
                raise ConvertError(
                    f"none of the {manifest['records']['read']} records is a kana of "
                    f"--kana {kana}; dropped: " + ", ".join(
                        f"{n} {why}" for why, n in manifest["dropped"].items()))
            _check_unchanged(good)
            _warn_empty_splits(manifest)
            path = writer.finish(manifest)
    except OSError as exc:
        raise ConvertError(_os_message(exc, out)) from None
    finally:
        bar.close()
    if preview is not None:
        try:
            write_preview(files[0].path, classes, size, preview)
        except (OSError, ValueError) as exc:
            why = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
            raise PreviewError(f"the cache {path} was written; only the preview failed: "
                               f"--preview {preview}: {why}") from None
    return path


def _stage(writer, tasks, files, workers, bar, skip_bad):
    """Run the workers, append every chunk to the staging arrays; returns the chunk table."""
    size = tasks[0][2]
    images = writer.appender("staging_images.npy", np.uint8, (size, size))
    labels = writer.appender("staging_labels.npy", np.int64)
    sheets = writer.appender("staging_sheets.npy", np.int64)
    chunks = []  # (file, chunk number, first staging row, rows)
    failed: dict[int, str] = {}
    with contextlib.closing(_run_workers(tasks, workers)) as messages:
        _consume(messages, images, labels, sheets, chunks, failed, files, bar, skip_bad)
    for app in (images, labels, sheets):
        app.close()
    return chunks, failed


def _consume(messages, images, labels, sheets, chunks, failed, files, bar, skip_bad) -> None:
    for message in messages:
        kind, index = message[0], message[1]
        if kind == "chunk":
            _, _, number, n_read, imgs, labs, shs = message
            chunks.append((index, number, images.rows, len(labs)))
            images.append(imgs)
            labels.append(labs)
            sheets.append(shs)
            bar.update(n_read)
        elif kind == "done":
            files[index].sha256 = message[2]
            files[index].stats = message[3]
        else:
            if not skip_bad:
                raise ConvertError(f"{files[index].path}: {message[2]} (pass --skip-bad to "
                                   "convert the other files without it)")
            failed[index] = message[2]
            bar.write(f"skipping {files[index].path}: {message[2]}")


def _split(writer, chunks, files, failed, n_classes):
    """Assign writers to splits, copy staging rows into the split arrays in file order.

    Staging rows are read with plain file reads, not a memory map: mapped pages would count
    as resident memory, and an ETL9G-sized staging file is 2.5 GB.
    """
    chunks = sorted(c for c in chunks if c[0] not in failed)
    kinds = {"images": np.uint8, "labels": np.int64, "sheets": np.int64}
    handles = {k: open(writer.staging_path(f"staging_{k}.npy"), "rb") for k in kinds}
    try:
        shape = np.load(writer.staging_path("staging_images.npy"), mmap_mode="r").shape[1:]
        item = {"images": shape, "labels": (), "sheets": ()}

        def rows(kind, start, n):
            dtype = np.dtype(kinds[kind])
            row_bytes = dtype.itemsize * int(np.prod(item[kind], dtype=np.int64))
            f = handles[kind]
            f.seek(NPY_HEADER_BYTES + start * row_bytes)
            return np.frombuffer(f.read(n * row_bytes), dtype).reshape(n, *item[kind])

        writers = set()
        for index, _, start, n in chunks:
            for sheet in np.unique(rows("sheets", start, n)):
                writers.add((files[index].dataset, int(sheet)))
        split_of = assign_splits(writers)
        out = {s: {k: writer.appender(array_name(s, k), dt, item[k]) for k, dt in kinds.items()}
               for s in SPLITS}
        counts = {s: np.zeros(n_classes, np.int64) for s in SPLITS}
        for index, _, start, n in chunks:
            dataset = files[index].dataset
            data = {k: rows(k, start, n) for k in kinds}
            where = np.array([split_of[(dataset, int(s))] for s in data["sheets"]])
            for split in SPLITS:
                mask = where == split
                if mask.any():
                    for kind in kinds:
                        out[split][kind].append(data[kind][mask])
                    counts[split] += np.bincount(data["labels"][mask], minlength=n_classes)
    finally:
        for f in handles.values():
            f.close()
    for kind in kinds:
        writer.staging_path(f"staging_{kind}.npy").unlink()
    writers_of = {s: sorted([d, sh] for (d, sh), sp in split_of.items() if sp == s)
                  for s in SPLITS}
    return {"writers": writers_of, "counts": counts}


def _manifest(files, skipped, classes, kana, size, split_info) -> dict:
    dropped: collections.Counter = collections.Counter()
    for f in files:
        dropped.update(f.stats.get("dropped", {}))
    splits = {s: {"class_counts": {c: int(n) for c, n in zip(classes, split_info["counts"][s])},
                  "writers": len(split_info["writers"][s])} for s in SPLITS}
    return {
        "code_version": CODE_VERSION,
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "kana": kana,
        "classes": classes,
        "preprocess": PREPROCESS_PARAMS,
        "sources": [f.fingerprint() for f in files],
        "skipped_sources": skipped,
        "records": {"read": sum(f.stats.get("read", 0) for f in files),
                    "kept": sum(f.stats.get("kept", 0) for f in files)},
        "dropped": dict(sorted(dropped.items(), key=lambda kv: -kv[1])),
        "split": {"method": "blake2b('<dataset>:<sheet>') -> u in [0,1): train < 0.8 <= val "
                            "< 0.9 <= test; small sets: nearest train writer fills an empty split",
                  "fractions": SPLIT_FRACTIONS, "writers": split_info["writers"]},
        "splits": splits,
    }


def _warn_empty_splits(manifest) -> None:
    """A set of fewer than 3 writers leaves a split without writers: say so, do not stop."""
    writers = {s: manifest["splits"][s]["writers"] for s in SPLITS}
    empty = [s for s in SPLITS if writers[s] == 0]
    if empty:
        counts = ", ".join(f"{s} {n}" for s, n in writers.items())
        print(f"warning: the {' and '.join(empty)} split{'s are' if len(empty) > 1 else ' is'} "
              f"empty ({sum(writers.values())} writer(s): {counts}); training or evaluating on "
              f"it will fail: convert at least {len(SPLITS)} writers", file=sys.stderr)


def _check_unchanged(files) -> None:
    for f in files:
        stat = f.path.stat()
        if (stat.st_size, stat.st_mtime_ns) != (f.size, f.mtime_ns):
            raise ConvertError(f"{f.path}: changed while it was being converted; run again")


def _os_message(exc: OSError, out: Path) -> str:
    import errno

    where = exc.filename or out
    if exc.errno == errno.ENOSPC:
        what = "no space left on the device"
    elif exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        what = "permission denied / read-only"
    else:
        what = exc.strerror or str(exc)
    return (f"cannot write the cache {out}: {what} ({where}); any earlier cache at {out} "
            "is untouched")


# ## Preview


def _check_preview_path(path) -> None:
    """--preview checked before any work (images, with PIL, is imported only when asked for:
    every spawned worker imports this module, and PIL costs each of them start-up time)."""
    from kana_keras import images

    images.check_picture_path(path, "--preview")


def write_preview(path, classes, size: int, out, n: int = 16) -> Path:
    """Raw ETL records beside their prepared versions (black on white), for a quick look."""
    from kana_keras import etl

    class_set = set(classes)
    cells, labels = [], []
    for chunk in etl.iter_chunks(path, chunk_records=256):
        for img, label in zip(chunk.images, chunk.labels):
            if label not in class_set:
                continue
            try:
                prepared = prepare(img, size, ink="high")
            except ValueError:
                continue
            h, w = img.shape
            side = max(h, w)
            raw = np.zeros((side, side), np.uint8)
            raw[(side - h) // 2:(side - h) // 2 + h, (side - w) // 2:(side - w) // 2 + w] = img
            import cv2

            cells += [cv2.resize(raw, (size, size), interpolation=cv2.INTER_AREA), prepared]
            labels += [f"{label}", f"{label}"]
            if len(cells) >= 2 * n:
                break
        # spread the picks over the file: one chunk is enough for a look
        break
    from kana_keras import images

    picture = images.grid(np.stack(cells), labels, cols=8, scale=max(1, 64 // size))
    return images.save_atomic(picture, out)


# ## Command line


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m kana_keras.convert",
        description="Convert ETL files (or the synthetic set) into a kana-keras cache.")
    parser.add_argument("sources", nargs="+", metavar="SOURCE",
                        help="ETL file, unpacked ETL folder, or 'synthetic'")
    parser.add_argument("--out", type=Path, default=None,
                        help="cache folder (default: data/cache/<sources>-<size>-<kana>)")
    parser.add_argument("--size", type=int, default=64, help="image side in pixels (64)")
    parser.add_argument("--kana", default="all", choices=sorted(kana_mod.KANA_SETS))
    parser.add_argument("--workers", type=int, default=None, help="processes (default: cores)")
    parser.add_argument("--preview", type=Path, default=None,
                        help="write a PNG of raw vs prepared records")
    parser.add_argument("--skip-bad", action="store_true",
                        help="leave unreadable files out instead of stopping")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    args = parser.parse_args(argv)
    if args.preview is not None:
        try:
            _check_preview_path(args.preview)
        except ValueError as exc:
            parser.exit(2, f"error: {exc}\n")
    out = args.out or default_cache_dir(args.sources, args.size, args.kana)
    started = time.perf_counter()
    try:
        path = convert(args.sources, out, size=args.size, kana=args.kana, workers=args.workers,
                       progress=not args.quiet, skip_bad=args.skip_bad, preview=args.preview)
    except (ValueError, OSError) as exc:  # EtlError, CacheError, ConvertError are ValueErrors
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted: no cache was written (an earlier one is untouched)", file=sys.stderr)
        return 130
    cache = Cache.open(path)
    m = cache.manifest
    counts = ", ".join(f"{s} {cache.count(s)}" for s in SPLITS)
    print(f"wrote {path}: {m['records']['kept']} of {m['records']['read']} records "
          f"({counts}) in {time.perf_counter() - started:.1f} s")
    if m["dropped"]:
        print("dropped: " + ", ".join(f"{n} {why}" for why, n in m["dropped"].items()))
    for s in m["skipped_sources"]:
        print(f"left out {s['path']}: {s['reason']}")
    if args.preview:
        print(f"preview: {args.preview}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
