"""The project's files: written whole, read back with errors that name the file.

Atomic writes: a crash or Ctrl-C never leaves half a file that looks valid. Every writer of
the project goes through here. A file is written under a temporary name
beside its destination (unique per process and call, so two processes writing the same
file never share a temporary), then renamed into place with ``os.replace``, which is atomic
on POSIX and Windows. On any error the temporary is removed and the destination is left
as it was.

Example:
    >>> write_text_atomic("out/report.md", "# report\\n")
    >>> with atomic_path("out/model.weights.h5") as tmp:   # any writer that takes a path
    ...     model.save_weights(tmp)
"""

from __future__ import annotations

import contextlib
import json
import os
import uuid
from pathlib import Path
from typing import Iterator


def temporary_name(path: str | os.PathLike) -> Path:
    """A hidden name beside ``path`` that keeps its suffixes (``.weights.h5`` needs it)."""
    path = Path(path)
    return path.with_name(f".tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}-{path.name}")


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path to write; on success it replaces ``path``, else it is removed."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temporary_name(path)
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def write_bytes_atomic(path: str | os.PathLike, data: bytes) -> Path:
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)
    return Path(path)


def write_text_atomic(path: str | os.PathLike, text: str) -> Path:
    return write_bytes_atomic(path, text.encode("utf-8"))


def write_json_atomic(path: str | os.PathLike, payload) -> Path:
    """Indented UTF-8 JSON (kana stay readable), newline-terminated."""
    return write_text_atomic(path, json.dumps(payload, indent=2, ensure_ascii=False) + "\n")


def read_json_object(path: str | os.PathLike, fields=(), advice: str | None = None) -> dict:
    """A JSON object holding ``fields``, or a ValueError naming the file (and ``advice``).

    config.json, recognizer.json and a checkpoint's state.json are all read this way, so a
    list, a half-written file or a missing field reads the same wherever it is met.
    """
    path = Path(path)
    then = f"; {advice}" if advice else ""
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ValueError(f"{path}: not valid JSON ({exc}){then}") from None
    if not isinstance(value, dict):
        raise ValueError(f"{path}: expected a JSON object, found a {type(value).__name__}{then}")
    missing = [name for name in fields if name not in value]
    if missing:
        raise ValueError(f"{path}: missing field {missing[0]!r}{then}")
    return value


def load_weights(model, path: str | os.PathLike) -> None:
    """``model.load_weights(path)``, or a ValueError naming the file: h5py and Keras say a
    truncated, foreign or mismatched file many ways, none of them with its name."""
    try:
        model.load_weights(path)
    except Exception as exc:
        raise ValueError(f"{path}: cannot be read as this model's weights "
                         f"({type(exc).__name__}: {str(exc).splitlines()[0][:200]})") from None
