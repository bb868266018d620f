"""Shared fixtures: a tiny synthetic ETL set and a tiny cache, made once per test session."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

#: Small enough to keep the suite fast, large enough for writer-disjoint splits.
TINY_WRITERS = 10
TINY_SIZE = 32


@pytest.fixture(scope="session")
def synthetic_dir(tmp_path_factory):
    """A synthetic ETL8G set: TINY_WRITERS writers x every kana class."""
    from kana_keras import synth

    out = tmp_path_factory.mktemp("synthetic")
    synth.generate(out, writers=TINY_WRITERS, seed=0, kana="all", progress=False)
    return out


@pytest.fixture(scope="session")
def tiny_cache(synthetic_dir, tmp_path_factory):
    """The converter's cache of the synthetic set at TINY_SIZE pixels (converted in-process)."""
    from kana_keras import convert

    out = tmp_path_factory.mktemp("cache") / "tiny"
    convert.convert([synthetic_dir], out, size=TINY_SIZE, kana="all", workers=1, progress=False)
    return out
