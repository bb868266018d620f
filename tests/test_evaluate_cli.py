"""`python -m kana_keras.evaluate`'s command line: bad input ends in one line, before any work."""

from __future__ import annotations

import json

import pytest

from kana_keras import evaluate as E
from kana_keras.kana import ALL_KANA


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # a check that let bad input through would write report/ here


@pytest.fixture
def weights(tmp_path):
    """A folder that passes the up-front checks (its weights files are never loaded here)."""
    folder = tmp_path / "weights"
    folder.mkdir()
    config = {"model": {"image_size": 32}, "classes": list(ALL_KANA), "image_size": 32}
    (folder / "config.json").write_text(json.dumps(config))
    for name in ("kana_vae.weights.h5", "recognizer.json", "recognizer.weights.h5"):
        (folder / name).write_bytes(b"not read by the checks")
    return folder


def _fails(capsys, argv) -> str:
    """Run evaluate's main on argv; it must end in one 'error: ' line, rc 2."""
    rc = E.main(argv)
    err = capsys.readouterr().err
    assert rc == 2, err
    assert err.startswith("error: ") and len(err.strip().splitlines()) == 1, err
    assert "Traceback" not in err
    return err


def test_missing_weights_folder_is_a_usage_error(tmp_path, capsys):
    report = tmp_path / "report"
    err = _fails(capsys, ["--weights", str(tmp_path / "nonexistent"), "--out", str(report)])
    assert f"--weights {tmp_path / 'nonexistent'}: no such folder" in err
    assert not report.exists()


def test_weights_folder_without_weights_or_recognizer(weights, capsys):
    (weights / "kana_vae.weights.h5").unlink()
    assert "kana_vae.weights.h5 is missing" in _fails(capsys, ["--weights", str(weights)])
    (weights / "kana_vae.weights.h5").write_bytes(b"")
    (weights / "recognizer.json").unlink()
    err = _fails(capsys, ["--weights", str(weights)])
    assert "no recognizer (recognizer.json is missing)" in err and "--recognizer" in err


def test_config_that_is_not_an_object_names_the_file(weights, capsys):
    (weights / "config.json").write_text("[1, 2]")
    err = _fails(capsys, ["--weights", str(weights)])
    assert "config.json is not a kana-keras config" in err


def test_missing_data_is_a_usage_error(weights, tmp_path, capsys):
    err = _fails(capsys, ["--data", str(tmp_path / "nonexistent"), "--weights", str(weights)])
    assert f"--data {tmp_path / 'nonexistent'}: no such file or folder" in err


def test_empty_test_split_is_a_usage_error(weights, tiny_cache, monkeypatch, capsys):
    from kana_keras.cache import Cache

    count = Cache.count
    monkeypatch.setattr(Cache, "count",
                        lambda self, split: 0 if split == "test" else count(self, split))
    err = _fails(capsys, ["--data", str(tiny_cache), "--weights", str(weights)])
    assert f"--data {tiny_cache}: the test split" in err and "is empty" in err


@pytest.mark.parametrize("flag, value, want", [("--samples-per-class", "0", "at least 1"),
                                               ("--realistic-per-class", "-1", "at least 0"),
                                               ("--heldout-per-class", "-2", "at least 0")])
def test_counts_are_checked(weights, capsys, flag, value, want):
    err = _fails(capsys, [flag, value, "--weights", str(weights)])
    assert f"{flag} must be {want}, got {value}" in err


def test_a_missing_judge_folder_is_a_usage_error(weights, tiny_cache, tmp_path, capsys):
    err = _fails(capsys, ["--data", str(tiny_cache), "--weights", str(weights),
                          "--judge", str(tmp_path / "nowhere")])
    assert f"--judge {tmp_path / 'nowhere'}: no such folder" in err
    assert "python -m kana_keras.judge --out" in err


def test_a_judge_folder_without_its_model_names_the_file(weights, tiny_cache, tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    err = _fails(capsys, ["--data", str(tiny_cache), "--weights", str(weights),
                          "--judge", str(tmp_path / "empty")])
    assert f"--judge {tmp_path / 'empty'}: judge.keras is missing" in err


def test_the_judge_defaults_to_judge_folder_when_it_holds_one(tmp_path):
    from kana_keras.judge import INFO_FILE, MODEL_FILE

    assert E.judge_folder(None) is None                    # no judge/ here: reported missing
    (tmp_path / "judge").mkdir()
    assert E.judge_folder(None) is None                    # an empty judge/ is not a judge
    for name in (MODEL_FILE, INFO_FILE):
        (tmp_path / "judge" / name).write_bytes(b"x")
    assert str(E.judge_folder(None)) == "judge"
