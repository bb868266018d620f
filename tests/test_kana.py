"""The class list and code tables, and the package import every command starts with."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from kana_keras import kana

REPO = Path(__file__).resolve().parent.parent


def test_146_classes_hiragana_then_katakana_in_the_same_order():
    assert len(kana.HIRAGANA) == len(kana.KATAKANA) == 73 and len(set(kana.ALL_KANA)) == 146
    assert kana.ALL_KANA == kana.HIRAGANA + kana.KATAKANA
    assert [kana.to_katakana(c) for c in kana.HIRAGANA] == list(kana.KATAKANA)
    assert [kana.to_hiragana(c) for c in kana.KATAKANA] == list(kana.HIRAGANA)
    assert kana.KATAKANA[:5] == "アイウエオ" and kana.HIRAGANA[-2:] == "ゐゑ"


def test_conversions_leave_other_characters_alone():
    assert kana.to_katakana("ゐ") == "ヰ" and kana.to_hiragana("ヱ") == "ゑ"
    for other in "A漢ー゛ヷ":
        assert kana.to_katakana(other) == other and kana.to_hiragana(other) == other
    assert kana.is_hiragana("ん") and not kana.is_hiragana("ン") and not kana.is_hiragana("あい")


def test_same_kana_accepts_lookalikes_only():
    assert kana.same_kana("へ", "ヘ") and kana.same_kana("ペ", "ぺ") and kana.same_kana("あ", "あ")
    assert not kana.same_kana("あ", "ア") and not kana.same_kana("か", "カ")


def test_kana_classes_by_name_and_unknown_name():
    assert kana.kana_classes("hiragana") == list(kana.HIRAGANA)
    assert kana.kana_classes() == list(kana.ALL_KANA)
    with pytest.raises(ValueError, match=r"--kana must be one of \['all', 'hiragana', "
                                         r"'katakana'\], got 'kanji'"):
        kana.kana_classes("kanji")


def package_env(**extra) -> dict:
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH")) if p)
    return {**env, **extra}


@pytest.mark.parametrize("user_level, expected", [(None, "2"), ("0", "0")])
def test_package_import_quiets_tensorflow_unless_told_and_imports_no_framework(user_level,
                                                                              expected):
    extra = {} if user_level is None else {"TF_CPP_MIN_LOG_LEVEL": user_level}
    code = ("import os, sys, kana_keras; print(os.environ['TF_CPP_MIN_LOG_LEVEL'], "
            "sorted({'keras', 'tensorflow', 'jax', 'torch'} & set(sys.modules)))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env=package_env(**extra), timeout=60, check=True).stdout
    assert out.split(maxsplit=1) == [expected, "[]\n"]


def test_split_mark_finds_the_base_under_dakuten_and_handakuten():
    assert kana.split_mark("が") == ("か", 1)
    assert kana.split_mark("パ") == ("ハ", 2)
    assert kana.split_mark("あ") == ("あ", 0)
    assert kana.split_mark("ゐ") == ("ゐ", 0)


def test_class_parts_of_the_146_classes():
    bases, marks = kana.class_parts(kana.ALL_KANA)
    assert marks.count(1) == 40 and marks.count(2) == 10     # 20 + 20 ゛, 5 + 5 ゜
    assert kana.ALL_KANA[bases[kana.ALL_KANA.index("ぴ")]] == "ひ"
    assert kana.ALL_KANA[bases[kana.ALL_KANA.index("ヅ")]] == "ツ"
    assert all(kana.ALL_KANA[b] == c for b, c, m in zip(bases, kana.ALL_KANA, marks) if m == 0)
    # a base missing from the list is the class itself
    assert kana.class_parts(["が"]) == ([0], [1])
