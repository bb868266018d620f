"""How every command ends on bad input (kana_keras.cli), and the floor the error types live on."""

from __future__ import annotations

import subprocess
import sys

import pytest

from kana_keras.cli import EXIT_INTERRUPTED, EXIT_USAGE, UsageError, report_errors
from kana_keras.errors import CacheError, ConvertError, DataArgumentError


def _raise(exc):
    raise exc


@pytest.mark.parametrize("exc, rc", [
    (UsageError("--epochs must be at least 1, got 0"), EXIT_USAGE),
    (DataArgumentError("--data nowhere: no such file or folder"), EXIT_USAGE),
    (ConvertError("the converter failed (exit code 1)"), 1),
    (CacheError("data/cache/x/train_images.npy: checksum mismatch"), 1),
    (OSError(28, "No space left on device"), 1),
])
def test_a_known_problem_is_one_error_line_and_its_exit_code(capsys, exc, rc):
    assert report_errors(_raise, exc) == rc
    err = capsys.readouterr().err
    assert err == f"error: {exc}\n"


def test_ctrl_c_says_files_are_whole_and_exits_130(capsys):
    assert report_errors(_raise, KeyboardInterrupt()) == EXIT_INTERRUPTED
    assert "interrupted (Ctrl-C); files already written are whole" in capsys.readouterr().err


def test_a_bug_is_not_swallowed():
    with pytest.raises(TypeError):
        report_errors(_raise, TypeError("a bug, not bad input"))


def test_cli_and_errors_stand_on_the_ground_floor():
    """cli.py no longer imports the converter (nor NumPy, OpenCV or Keras) to name its errors."""
    code = ("import sys, kana_keras.cli, kana_keras.errors; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in "
            "('numpy', 'cv2', 'keras', 'tensorflow') or m in ('kana_keras.convert', "
            "'kana_keras.cache')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_the_old_homes_still_name_the_same_types():
    from kana_keras import cache, convert

    assert cache.CacheError is CacheError and convert.ConvertError is ConvertError
    assert issubclass(DataArgumentError, ConvertError) and issubclass(ConvertError, ValueError)
