"""Atomic writes: the destination is whole or untouched, temporaries never linger."""

import json

import pytest

from kana_keras.files import (atomic_path, read_json_object, temporary_name,
                              write_bytes_atomic, write_json_atomic, write_text_atomic)


def test_writes_replace_the_destination_whole(tmp_path):
    target = tmp_path / "sub" / "a.json"
    write_json_atomic(target, {"kana": "あ"})
    assert json.loads(target.read_text(encoding="utf-8")) == {"kana": "あ"}
    assert "あ" in target.read_text(encoding="utf-8")  # readable, not \\u escapes
    write_text_atomic(target, "x")
    write_bytes_atomic(tmp_path / "b.bin", b"\x00\x01")
    assert target.read_text() == "x" and (tmp_path / "b.bin").read_bytes() == b"\x00\x01"
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["a.json", "b.bin", "sub"]


def test_a_failed_write_keeps_the_old_file_and_removes_the_temporary(tmp_path):
    target = tmp_path / "w.weights.h5"
    target.write_bytes(b"old")
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_bytes(b"half")
            raise RuntimeError("crash")
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["w.weights.h5"]


def test_temporary_names_keep_the_suffix_and_never_repeat(tmp_path):
    a, b = temporary_name(tmp_path / "m.weights.h5"), temporary_name(tmp_path / "m.weights.h5")
    assert a != b
    assert a.name.endswith(".weights.h5") and a.name.startswith(".")
    assert a.parent == tmp_path


def test_read_json_object_names_the_file_and_what_is_wrong(tmp_path):
    path = tmp_path / "state.json"
    write_json_atomic(path, {"epoch": 3})
    assert read_json_object(path, ("epoch",)) == {"epoch": 3}
    with pytest.raises(ValueError, match=r"state.json: missing field 'history'; resume"):
        read_json_object(path, ("epoch", "history"), "resume")
    path.write_text("[1]")
    with pytest.raises(ValueError, match=r"state.json: expected a JSON object, found a list$"):
        read_json_object(path)
    path.write_text("{half")
    with pytest.raises(ValueError, match=r"state.json: not valid JSON"):
        read_json_object(path)
    with pytest.raises(FileNotFoundError):
        read_json_object(tmp_path / "none.json")
