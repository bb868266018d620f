"""The kana class list and the code tables every other module agrees on.

One place says which characters the project learns, in which order (the order is the
class index everywhere: cache labels, model embeddings, recognizer outputs).
"""

from __future__ import annotations

import unicodedata

# fmt: off
HIRAGANA_BASIC = (
    "あいうえお" "かきくけこ" "さしすせそ" "たちつてと" "なにぬねの"
    "はひふへほ" "まみむめも" "やゆよ" "らりるれろ" "わを" "ん"
)                                                    # 46 gojūon positions in use today
HIRAGANA_VOICED = "がぎぐげご" "ざじずぜぞ" "だぢづでど" "ばびぶべぼ"   # 20 with dakuten
HIRAGANA_SEMIVOICED = "ぱぴぷぺぽ"                      # 5 with handakuten
HIRAGANA_ARCHAIC = "ゐゑ"                               # in ETL4/ETL5, rare today
# fmt: on

HIRAGANA = HIRAGANA_BASIC + HIRAGANA_VOICED + HIRAGANA_SEMIVOICED + HIRAGANA_ARCHAIC
_HIRA_TO_KATA_OFFSET = 0x60
KATAKANA = "".join(chr(ord(c) + _HIRA_TO_KATA_OFFSET) for c in HIRAGANA)

#: Every class, hiragana first then katakana in the same order (146 classes).
ALL_KANA = HIRAGANA + KATAKANA

KANA_SETS = {"hiragana": HIRAGANA, "katakana": KATAKANA, "all": ALL_KANA}

#: Pairs that look the same when handwritten: a recognizer answering either is right.
LOOKALIKES = {"へ": "ヘ", "ヘ": "へ", "べ": "ベ", "ベ": "べ", "ぺ": "ペ", "ペ": "ぺ"}


def kana_classes(kana: str = "all") -> list[str]:
    """The ordered class list for ``--kana hiragana|katakana|all``."""
    try:
        return list(KANA_SETS[kana])
    except KeyError:
        raise ValueError(
            f"--kana must be one of {sorted(KANA_SETS)}, got {kana!r}"
        ) from None


def is_hiragana(char: str) -> bool:
    return len(char) == 1 and "\u3041" <= char <= "\u309f"


def to_hiragana(char: str) -> str:
    """Katakana → hiragana (other characters unchanged); used for ETL4/ETL7 labels."""
    if "\u30a1" <= char <= "\u30f6":
        return chr(ord(char) - _HIRA_TO_KATA_OFFSET)
    return char


def to_katakana(char: str) -> str:
    """Hiragana → katakana (other characters unchanged)."""
    if "\u3041" <= char <= "\u3096":
        return chr(ord(char) + _HIRA_TO_KATA_OFFSET)
    return char


def same_kana(a: str, b: str) -> bool:
    """True when a and b are the same class or a look-alike pair such as へ/ヘ."""
    return a == b or LOOKALIKES.get(a) == b


#: Small kana are written as their large class, scaled down and set low in the cell.
SMALL_KANA = {s: l for s, l in zip("ぁぃぅぇぉっゃゅょゎァィゥェォッャュョヮヵヶ",
                                   "あいうえおつやゆよわアイウエオツヤユヨワカケ")}
#: The long-vowel mark, drawn as a stroke.
LONG_VOWEL = "ー"

#: The marks a kana can carry, in the order ``class_parts`` numbers them.
MARKS = ("", "゛", "゜")
_COMBINING_MARKS = {"\u3099": 1, "\u309a": 2}


def split_mark(char: str) -> tuple[str, int]:
    """'が' → ('か', 1), 'ぱ' → ('は', 2), 'あ' → ('あ', 0): the kana under its ゛/゜ mark."""
    decomposed = unicodedata.normalize("NFD", char)
    if len(decomposed) == 2 and decomposed[1] in _COMBINING_MARKS:
        return decomposed[0], _COMBINING_MARKS[decomposed[1]]
    return char, 0


def class_parts(classes) -> tuple[list[int], list[int]]:
    """Each class as (base, mark) indices: the base is the unmarked kana's own class (か for
    が and ぱ's は), so the 50 marked classes share what their bases look like and one ゛ and
    one ゜ are learned across ~25 kana each. A base missing from ``classes`` is itself."""
    classes = list(classes)
    index = {c: i for i, c in enumerate(classes)}
    bases, marks = [], []
    for i, c in enumerate(classes):
        base, mark = split_mark(c)
        bases.append(index.get(base, i))
        marks.append(mark)
    return bases, marks
