"""Reader of the ETL Character Database (AIST): every record layout, every label right, fast.

    from kana_keras import etl
    recs = etl.read("ETL8G/ETL8G_01")          # format from the official file name
    recs.images  # uint8 (N, 127, 128), 0 = paper, 255 = ink
    recs.labels  # array of str: 'あ', '亜', ...
    for chunk in etl.iter_chunks("ETL9G/ETL9G_01", chunk_records=2048): ...
    etl.find("downloads/")                      # [(path, 'ETL8G', '8G'), ...]

Layouts live in ``layouts.py`` (data), labels in ``labels.py``, the numpy decoder in
``fast.py`` and a bitstring reference decoder in ``reference.py``. Every bad input raises
``EtlError`` (a ValueError) naming the file and what was expected.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import numpy as np

from kana_keras.etl import fast
from kana_keras.etl.labels import UndecodableLabel, load_co59
from kana_keras.etl.layouts import DATASETS, LAYOUTS, EtlError, Layout, dataset_of_name

__all__ = ["EtlError", "EtlRecords", "read", "iter_chunks", "read_records", "count", "find",
           "detect", "FORMATS", "DATASETS"]

FORMATS = tuple(LAYOUTS)
DEFAULT_CHUNK_RECORDS = 4096


@dataclass
class EtlRecords:
    """Decoded records of one file (or one chunk of it).

    ``images`` uint8 (N, H, W) at the format's native size, 0 = paper, 255 = full ink;
    ``labels`` str (N,); ``sheets`` int64 (N,) serial sheet number, -1 where the format has
    none; ``meta`` the other header fields as arrays, plus ``record`` (index in the file,
    counting the ETL8B/ETL9B dummy).
    """

    images: np.ndarray
    labels: np.ndarray
    sheets: np.ndarray
    format: str
    dataset: str
    meta: dict[str, np.ndarray] = field(default_factory=dict)
    path: Path | None = None

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, index) -> "EtlRecords":
        """A subset (index, slice, indices or mask) with its meta; always an EtlRecords."""
        if not isinstance(index, slice) and np.ndim(index) == 0:
            index = [index]
        return EtlRecords(self.images[index], self.labels[index], self.sheets[index],
                          self.format, self.dataset,
                          {k: v[index] for k, v in self.meta.items()}, self.path)

    def __repr__(self) -> str:
        name = self.path.name if self.path else "?"
        return (f"EtlRecords({name}: {len(self)} x {self.dataset}/{self.format}, "
                f"images {self.images.shape[1:]}, {len(np.unique(self.labels))} labels)")


# ---- names and formats -------------------------------------------------------------------

def detect(path) -> tuple[str, str]:
    """(dataset, format) from an official file name (ETL8G_01 -> ('ETL8G', '8G'))."""
    name = Path(path).name
    dataset = dataset_of_name(name)
    if dataset is None:
        raise EtlError(
            f"{path}: unknown ETL file name {name!r}; expected an official name (ETL1C_01..13, "
            "ETL2_1..5, ETL3C_1/2, ETL4C, ETL5C, ETL6C_01..12, ETL7LC_1/2, ETL7SC_1/2, "
            "ETL8B2C1..3, ETL8G_01..33, ETL9B_1..5, ETL9G_01..50) or pass format= "
            f"(one of {', '.join(FORMATS)} or a dataset name such as 'ETL7')")
    return dataset, DATASETS[dataset]


def _resolve(path, format) -> tuple[Path, str, Layout]:
    """Check the path and settle (dataset, layout); ``format`` overrides the name."""
    path = Path(path)
    if path.is_dir():
        raise EtlError(f"{path}: is a folder; expected an ETL file (etl.find() lists a folder)")
    if not path.exists():
        raise EtlError(f"{path}: no such file; expected an ETL file")
    if format is None:
        dataset, fmt = detect(path)
        return path, dataset, LAYOUTS[fmt]
    key = str(format).upper()
    named = dataset_of_name(path.name)
    if key in LAYOUTS:
        layout = LAYOUTS[key]
        # Keep the dataset the name says when it has this format (ETL7 matters for labels).
        dataset = named if named in layout.datasets else layout.datasets[0]
    elif key in DATASETS:
        dataset, layout = key, LAYOUTS[DATASETS[key]]
    else:
        raise EtlError(f"{path}: format={format!r} is not one of {', '.join(FORMATS)} "
                       f"or a dataset name ({', '.join(DATASETS)})")
    return path, dataset, layout


def _count_records(path: Path, layout: Layout) -> int:
    """Records in the file (dummy included); a size that is not whole is an error."""
    size = path.stat().st_size
    rb = layout.record_bytes
    if size == 0:
        raise EtlError(f"{path}: empty file; expected {layout.format}-type records of {rb} bytes")
    whole, left = divmod(size, rb)
    if left:
        raise EtlError(
            f"{path}: {size} bytes is not a whole number of {rb}-byte {layout.format}-type "
            f"records ({left} bytes left over after {whole} records); wrong format or a "
            "truncated file")
    return whole


def _co59(layout: Layout, path: Path, co59_table):
    if layout.label_code != "co59":
        return None
    if co59_table is None:
        raise EtlError(f"{path}: ETL2 (K-type) labels are CO-59 codes; pass "
                       "co59_table=<path of euc_co59.dat from AIST's sample unpacker>")
    return load_co59(co59_table)


def _decode(raw: np.ndarray, path: Path, dataset: str, layout: Layout, co59,
            record_index: np.ndarray) -> EtlRecords:
    try:
        images, labels, sheets, meta = fast.decode(raw, layout, dataset, co59)
    except UndecodableLabel as exc:
        record = int(record_index[exc.index])
        raise EtlError(f"{path}: record {record} (0-based, byte offset "
                       f"{record * layout.record_bytes}): label cannot be decoded: "
                       f"{exc.reason}") from None
    meta["record"] = record_index
    return EtlRecords(images, labels, sheets, layout.format, dataset, meta, path)


# ---- reading -----------------------------------------------------------------------------

def read(path, format=None, co59_table=None) -> EtlRecords:
    """All records of one ETL file (ETL8B/ETL9B: the dummy first record skipped)."""
    path, dataset, layout = _resolve(path, format)
    total = _count_records(path, layout)
    co59 = _co59(layout, path, co59_table)
    first = 1 if layout.dummy_first else 0
    raw = np.fromfile(path, np.uint8).reshape(total, layout.record_bytes)[first:]
    return _decode(raw, path, dataset, layout, co59, np.arange(first, total))


def count(path, format=None) -> int:
    """Samples in a file (dummy not counted), from its size alone."""
    path, _, layout = _resolve(path, format)
    return _count_records(path, layout) - (1 if layout.dummy_first else 0)


def read_records(path, indices, format=None, co59_table=None) -> EtlRecords:
    """Chosen records of a file by sample index (dummy not counted), read via memmap."""
    path, dataset, layout = _resolve(path, format)
    total = _count_records(path, layout)
    co59 = _co59(layout, path, co59_table)
    first = 1 if layout.dummy_first else 0
    idx = np.asarray(indices, np.int64).reshape(-1)
    if len(idx) and (idx.min() < 0 or idx.max() >= total - first):
        raise EtlError(f"{path}: record indices must lie in 0..{total - first - 1}, "
                       f"got {idx.min()}..{idx.max()}")
    mm = np.memmap(path, np.uint8, "r", shape=(total, layout.record_bytes))
    raw = np.array(mm[idx + first])
    del mm
    return _decode(raw, path, dataset, layout, co59, idx + first)


def iter_chunks(path, chunk_records: int = DEFAULT_CHUNK_RECORDS, format=None,
                co59_table=None) -> Iterator[EtlRecords]:
    """The file in chunks of at most ``chunk_records``, reading only one chunk at a time.

    The name, size and CO-59 table are checked before the first chunk is read, so a bad
    file fails at the call, not half-way through a conversion.
    """
    path, dataset, layout = _resolve(path, format)
    total = _count_records(path, layout)
    co59 = _co59(layout, path, co59_table)
    if not isinstance(chunk_records, (int, np.integer)) or chunk_records < 1:
        raise EtlError(f"chunk_records must be a positive integer, got {chunk_records!r}")
    return _chunks(path, dataset, layout, co59, total, int(chunk_records))


def _chunks(path, dataset, layout, co59, total, chunk_records):
    rb = layout.record_bytes
    start = 1 if layout.dummy_first else 0
    with open(path, "rb") as f:
        f.seek(start * rb)
        while start < total:
            n = min(chunk_records, total - start)
            buf = f.read(n * rb)
            if len(buf) != n * rb:
                raise EtlError(f"{path}: file shrank while reading (record {start})")
            raw = np.frombuffer(buf, np.uint8).reshape(n, rb)
            yield _decode(raw, path, dataset, layout, co59, np.arange(start, start + n))
            start += n


def find(root) -> list[tuple[Path, str, str]]:
    """ETL files under an unpacked download (any depth), as (path, dataset, format)."""
    root = Path(root)
    if not root.exists():
        raise EtlError(f"{root}: no such file or folder; expected an ETL download folder")
    if root.is_file():
        return [(root, *detect(root))]
    found = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for name in sorted(filenames):
            dataset = dataset_of_name(name)
            if dataset is not None:
                found.append((Path(dirpath) / name, dataset, DATASETS[dataset]))
    return found
