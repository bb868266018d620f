"""Allographs and habits: forms real hands write that KanjiVG's textbook skeleton lacks.

Joined strokes (き, さ, り, ふ), two-stroke そ, each writer's way with the dashes of ツ, シ,
ソ and ン, and where the ゛/゜ marks wander.
"""

from __future__ import annotations

import math

import numpy as np

from kana_keras import kana as kana_mod
from kana_keras import kanjivg
from kana_keras.synth.geometry import STEP, arclength, first_corner, resample, rotation
from kana_keras.synth.style import WriterStyle

_DAKUTEN = set(kana_mod.HIRAGANA_VOICED) | {kana_mod.to_katakana(c) for c in kana_mod.HIRAGANA_VOICED}
_HANDAKUTEN = set(kana_mod.HIRAGANA_SEMIVOICED) | {
    kana_mod.to_katakana(c) for c in kana_mod.HIRAGANA_SEMIVOICED}



def stroke_groups(char: str, n: int) -> np.ndarray:
    """0 for the body, 1 for the ゛ strokes (last two) or the ゜ circle (last one)."""
    groups = np.zeros(n, np.int64)
    if char in _DAKUTEN and n >= 3:
        groups[-2:] = 1
    elif char in _HANDAKUTEN and n >= 2:
        groups[-1:] = 1
    return groups



#: Strokes people join into one (first index, second index): the looped lower stroke of
#: き and さ, one-stroke り, ふ's top running into its middle curve.
# fmt: off
JOINS = {"き": (2, 3), "ぎ": (2, 3), "さ": (1, 2), "ざ": (1, 2), "り": (0, 1), "ふ": (0, 1),
         "む": (0, 1),
         "ぶ": (0, 1), "ぷ": (0, 1)}
#: The dash-and-sweep kana: base form and the indices of its dashes. ツ's dashes stand side
#: by side above a falling sweep, シ's are stacked left of a rising one; ソ's dash falls
#: like ツ's, ン's dot sits over a rising sweep.
DASHES = {"ツ": ("ツ", (0, 1)), "ヅ": ("ツ", (0, 1)), "シ": ("シ", (0, 1)), "ジ": ("シ", (0, 1)),
          "ソ": ("ソ", (0,)), "ゾ": ("ソ", (0,)), "ン": ("ン", (0,))}
#: Direction (degrees, y down) the dashes turn towards, as a writer's habit strengthens.
_DASH_ANGLE = {"ツ": 88.0, "シ": 62.0, "ソ": 80.0, "ン": 30.0}
# fmt: on


def _join(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """One stroke: ``a``, a straight run from its end to ``b``'s start, then ``b``."""
    bridge = resample(np.stack([a[-1], b[0]]), STEP)
    return np.concatenate([a, bridge[1:-1], b])


def _turn(pts: np.ndarray, degrees: float, scale: float, centre=None) -> np.ndarray:
    c = pts.mean(axis=0) if centre is None else centre
    return (pts - c) @ (rotation(degrees) * scale).T + c


def _dash_habit(char: str, base: list[np.ndarray], style: WriterStyle,
                rng: np.random.Generator) -> list[np.ndarray]:
    """This writer's dashes in ツ シ ソ ン: angle, length, spacing, place; the sweep's depth.

    Real hands turn the dashes of ツ and シ nearly upright and set them close together
    (the forms recognizers read as リ); ン's dot drifts far left over a shallow sweep. The
    habit is the writer's own (seeded by ``style.hand``), each sample varies it a little;
    the sweep keeps its direction, which is what tells ツ from シ and ソ from ン.
    """
    form, dashes = DASHES[char]
    habit = np.random.default_rng([style.hand, 31])
    strength = float(habit.choice([0.0, habit.uniform(0.3, 1.0)], p=[0.3, 0.7]))
    strength = float(np.clip(strength + rng.normal(0, 0.1), 0, 1)) if strength else 0.0
    if strength == 0.0:
        return base
    out = list(base)
    target = math.radians(_DASH_ANGLE[form] + habit.normal(0, 6))
    length = math.exp(habit.normal(-0.1, 0.2) + rng.normal(0, 0.08))
    for i in dashes:
        d = out[i]
        v = d[-1] - d[0]
        now = math.atan2(v[1], v[0])
        turn = (target - now + math.pi) % (2 * math.pi) - math.pi
        # positive degrees of rotation turn clockwise on paper (y down), as atan2 does
        out[i] = _turn(d, math.degrees(turn * strength), length)
    centres = [out[i].mean(axis=0) for i in dashes]
    if len(dashes) == 2:                                  # closer together
        mid = (centres[0] + centres[1]) / 2
        closer = 1.0 - strength * habit.uniform(0.1, 0.45)
        for i, c in zip(dashes, centres):
            out[i] = out[i] + (mid + (c - mid) * closer - c)
        out[dashes[0]], out[dashes[1]] = _keep_apart(out[dashes[0]], out[dashes[1]], style)
    sweep = len(dashes)
    if form == "ン":                                      # dot far left, shallow sweep
        out[0] = out[0] + np.array([-strength * habit.uniform(0, 12), strength * habit.uniform(-3, 6)])
        s = out[sweep]
        c = s.mean(axis=0)
        out[sweep] = c + (s - c) * np.array([1.0, 1.0 - strength * habit.uniform(0, 0.45)])
    elif form == "ソ":                                    # the dash huddles near the sweep's head
        pull = strength * habit.uniform(0.0, 0.35)
        out[0] = out[0] + (out[1][0] - out[0].mean(axis=0)) * pull * np.array([1.0, 0.3])
    return out


def _keep_apart(a: np.ndarray, b: np.ndarray, style: WriterStyle) -> tuple[np.ndarray, np.ndarray]:
    """Two dashes pushed apart until a pen's width of paper shows between them.

    Upright dashes set close stay two (ツ, シ); merged into one they would read as ソ or リ.
    """
    least = 1.5 * style.pen_width * kanjivg.KANJIVG_BOX + 2.0
    gap = float(np.min(np.hypot(*(a[:, None, :] - b[None, :, :]).transpose(2, 0, 1))))
    if gap >= least:
        return a, b
    axis = b.mean(axis=0) - a.mean(axis=0)
    axis = axis / max(float(np.hypot(*axis)), 1e-6)
    push = axis * (least - gap) / 2
    return a - push, b + push


#: Where the short stroke of ヌ and マ sits on the long one varies most between people:
#: ヌ's tick crosses far or barely, マ's meets the hook high or low.
CROSSINGS = {"ヌ": 1, "マ": 1}
#: The dot that tells a hiragana from its katakana twin (か/カ, や/ヤ); people shrink it,
#: but never below 70 % (``proxies`` holds out the smaller dots).
TWIN_DOTS = {"か": 2, "が": 2, "や": 1}


def _crossing(char: str, base: list[np.ndarray], rng: np.random.Generator) -> list[np.ndarray]:
    """ヌ's tick longer or shorter about its middle, マ's stroke reaching higher or lower."""
    out = list(base)
    i = CROSSINGS[char]
    s = out[i]
    if char == "ヌ":
        c = s.mean(axis=0)
        out[i] = (s - c) * rng.uniform(0.85, 1.4) + c
    else:                                                  # about its lower end
        out[i] = (s - s[-1]) * rng.uniform(0.75, 1.3) + s[-1]
    return out


def _twin_dot(char: str, base: list[np.ndarray], rng: np.random.Generator) -> list[np.ndarray]:
    out = list(base)
    i = TWIN_DOTS[char]
    c = out[i].mean(axis=0)
    out[i] = (out[i] - c) * rng.uniform(0.7, 1.0) + c
    return out


def variant_strokes(char: str, style: WriterStyle, rng: np.random.Generator) -> list[np.ndarray]:
    """KanjiVG strokes, sometimes in a common handwritten form instead of the textbook one."""
    base = [np.asarray(s, np.float64) for s in kanjivg.strokes(char, 1.0)]
    if char in DASHES:
        base = _dash_habit(char, base, style, rng)
    if char in CROSSINGS:
        base = _crossing(char, base, rng)
    if char in TWIN_DOTS and rng.random() < 0.5 * style.variant:
        base = _twin_dot(char, base, rng)
    if char in JOINS and rng.random() < 0.7 * style.variant:
        i, j = JOINS[char]
        base = base[:i] + [_join(base[i], base[j])] + base[i + 1:j] + base[j + 1:]
    if char == "そ" and rng.random() < style.variant:
        # Two-stroke そ: the first short stroke lifted off as a separate tick.
        corner = first_corner(resample(base[0], 1.0))
        if corner is not None:
            pts = resample(base[0], 1.0)
            head, tail = pts[: max(2, corner - 1)], pts[corner + 2:]
            if len(tail) >= 2:
                base = [head, tail + np.array([0.0, 1.5])] + base[1:]
    return base


def place_marks(strokes: list[np.ndarray], groups: np.ndarray, style: WriterStyle,
                 rng: np.random.Generator, sloppy: float) -> list[np.ndarray]:
    """゛/゜ wander far in real writing (place, size, angle), but stay readable.

    People keep the marks clear of the body and draw them bigger with a thick pen; a mark
    that merges into a blob or into the body would be a mislabelled sample (ば drawn as は).
    """
    strokes = list(strokes)
    ticks = [i for i, g in enumerate(groups) if g]
    body = np.concatenate([s for s, g in zip(strokes, groups) if not g])
    mark = np.concatenate([strokes[i] for i in ticks])
    c = mark.mean(axis=0)
    # Where the mark sits as seen from the body (up and right): the way out of a collision.
    outward = c - (body.min(axis=0) + body.max(axis=0)) / 2
    outward = outward / max(float(np.hypot(*outward)), 1e-6)
    spread = style.dakuten * sloppy
    m = rotation(float(np.clip(rng.normal(0, 9 * spread), -25, 25))) * math.exp(
        float(np.clip(rng.normal(0.05, 0.15 * spread), -0.3, 0.4)))
    shift = rng.normal(0, 2.5 * spread, size=2) + np.array([rng.normal(-0.5, 1.5), rng.normal(0.5, 1.5)])
    for i in ticks:
        strokes[i] = (strokes[i] - c) @ m.T + c + shift
    # Big enough for the pen: a ゜ keeps its hole, each tick of ゛ is a stroke, not a dot.
    pen = style.pen_width * kanjivg.KANJIVG_BOX
    for i in ticks:
        own = strokes[i].mean(axis=0)
        if len(ticks) == 1:
            extent = float(np.max(strokes[i].max(axis=0) - strokes[i].min(axis=0)))
            need = pen * rng.uniform(2.4, 3.0) / max(extent, 1e-6)
        else:
            need = pen * rng.uniform(1.5, 2.0) / max(arclength(strokes[i])[-1], 1e-6)
        strokes[i] = (strokes[i] - own) * float(np.clip(need, 1.0, 2.5)) + own
    # The two ticks of ゛ stay two: closer or further apart, never merged.
    if len(ticks) == 2:
        a, b = strokes[ticks[0]], strokes[ticks[1]]
        axis = b.mean(axis=0) - a.mean(axis=0)
        axis = axis / max(float(np.hypot(*axis)), 1e-6)
        gap = rng.normal(0.0, 1.0 * spread)
        least = pen * rng.uniform(1.2, 1.7) + 1.0
        for attempt in range(6):                                  # crossed ticks need a few
            apart = float(np.min(np.hypot(*(a[:, None, :] - b[None, :, :]).transpose(2, 0, 1))))
            want = max(apart + gap, least) if attempt == 0 else least
            if attempt and apart >= least:
                break
            a, b = a - axis * (want - apart) / 2, b + axis * (want - apart) / 2
        strokes[ticks[0]], strokes[ticks[1]] = a, b
    # Clear of the body: pushed outwards (up and right, where the mark belongs).
    clear = pen * rng.uniform(0.9, 1.4) + 1.5
    for _ in range(8):
        mark = np.concatenate([strokes[i] for i in ticks])
        d = np.hypot(*(mark[:, None, :] - body[None, :, :]).transpose(2, 0, 1))
        dist = float(d.min())
        if dist >= clear:
            break
        for i in ticks:
            strokes[i] = strokes[i] + outward * (clear - dist + 0.5)
    return strokes

