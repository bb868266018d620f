"""What a ``--data`` argument names -> a ready cache folder, converting only when needed.

fit, evaluate and the recognizer's trainer resolve ``--data`` here. The conversion itself runs
as ``python -m kana_keras.convert`` in a process of its own, so a process that holds
TensorFlow (and its threads) never forks or decodes ETL; this module only decides whether a
cache is up to date and starts the converter when it is not.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import kana_keras
from kana_keras.cache import MANIFEST, Cache, recover_interrupted, sha256_file
from kana_keras.convert import CODE_VERSION, default_cache_dir, resolve_sources
from kana_keras.errors import CacheError, ConvertError, DataArgumentError
from kana_keras.preprocess import PREPROCESS_PARAMS


def resolve_data(data, size: int = 64, kana: str = "all") -> Path:
    """``"synthetic"`` (the built-in set), an ETL file or download folder (converted by
    ``ensure_cache``), or a cache folder itself (used as it is, if its image size fits)."""
    if str(data) == "synthetic":
        from kana_keras import synth

        drawn = synth.ensure_synthetic()  # the one check: redraws a set from an older synth
        return ensure_cache([drawn], default_cache_dir(["synthetic"], size, kana), size, kana)
    path = Path(data)
    if not path.exists():
        raise DataArgumentError(f"--data {data}: no such file or folder (expected an ETL "
                                f"file/folder, a cache folder, or 'synthetic')")
    if (path / MANIFEST).exists():
        cache = Cache.open(path)
        if cache.image_size != size:
            raise DataArgumentError(f"--data {path}: the cache holds {cache.image_size} px images "
                                    f"but {size} px are wanted (pass --image-size "
                                    f"{cache.image_size} or point --data at the ETL files)")
        return path
    return ensure_cache([path], size=size, kana=kana)


def ensure_cache(sources, out=None, size: int = 64, kana: str = "all",
                 workers: int | None = None, verify: bool = True) -> Path:
    """The cache for these sources: reused if up to date, else rebuilt by the converter's own
    process (its progress bar streams to this process's terminal)."""
    sources = [sources] if isinstance(sources, (str, os.PathLike)) else list(sources)
    out = Path(out) if out is not None else default_cache_dir(sources, size, kana)
    recover_interrupted(out)
    fresh, why = is_up_to_date(out, sources, size, kana, verify=verify)
    if fresh:
        return out
    print(f"kana_keras: (re)building the cache {out}: {why}", file=sys.stderr, flush=True)
    cmd = [sys.executable, "-m", "kana_keras.convert", *map(str, sources), "--out", str(out),
           "--size", str(size), "--kana", kana]
    if workers:
        cmd += ["--workers", str(workers)]
    env = dict(os.environ)
    package_root = str(Path(kana_keras.__file__).resolve().parent.parent)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (package_root, env.get("PYTHONPATH")) if p)
    try:
        subprocess.run(cmd, check=True, env=env)
    except subprocess.CalledProcessError as exc:
        raise ConvertError(f"the converter failed (exit code {exc.returncode}; its message is "
                           f"above): {' '.join(cmd)}") from None
    Cache.open(out)
    return out


def is_up_to_date(cache_path, sources, size: int = 64, kana: str = "all",
                  verify: bool = True) -> tuple[bool, str]:
    """(True, "") if the cache matches the sources and parameters, else (False, why)."""
    try:
        cache = Cache.open(cache_path, verify=verify)
    except CacheError as exc:
        return False, str(exc)
    m = cache.manifest
    wanted = {"image_size": int(size), "kana": kana, "code_version": CODE_VERSION,
              "preprocess": json.loads(json.dumps(PREPROCESS_PARAMS))}
    for key, value in wanted.items():
        if m.get(key) != value:
            return False, f"{key} changed ({m.get(key)!r} -> {value!r})"
    try:
        files, skipped = resolve_sources(sources, skip_bad=True, progress=False)
    except (ConvertError, OSError) as exc:
        return False, str(exc)
    recorded = {s["path"]: s for s in m.get("sources", [])}
    current = {str(f.path): f for f in files}
    skipped_now = {s["path"] for s in skipped}
    skipped_then = {s["path"] for s in m.get("skipped_sources", [])}
    if set(current) != set(recorded) or skipped_now != skipped_then:
        return False, "the set of source files changed"
    for name, rec in recorded.items():
        f = current[name]
        if f.size != rec["size"]:
            return False, f"{name}: size changed"
        if f.mtime_ns != rec["mtime_ns"] and sha256_file(f.path) != rec["sha256"]:
            return False, f"{name}: contents changed"
    return True, ""
