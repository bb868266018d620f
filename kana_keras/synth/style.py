"""Writer style: everything one synthetic person does the same way on every character."""

from __future__ import annotations

import dataclasses
import math

import numpy as np

#: Pen kinds: (probability, width range as a fraction of the character height).
#: Widths come from real sources: ballpoint on paper photographed (2-3 %), ETL-like pencil /
#: felt scans (3-6 %), web canvases with a fixed lineWidth (3-12 %), markers (6-12 %).
PENS = {
    "ballpoint": (0.26, (0.016, 0.034)),
    "pencil":    (0.14, (0.022, 0.045)),
    "felt":      (0.20, (0.030, 0.065)),
    "brush":     (0.10, (0.040, 0.090)),
    "marker":    (0.10, (0.055, 0.100)),
    "canvas":    (0.20, (0.025, 0.100)),
}


@dataclasses.dataclass(frozen=True)
class WriterStyle:
    """Everything one synthetic person does the same way on every character they write.

    Lengths in KanjiVG units (the box is 109) unless said otherwise; ``size`` and
    ``offset_*`` are fractions of the image. ``WriterStyle.random(rng)`` draws one.
    """

    pen: str = "felt"
    pen_width: float = 0.045        # stroke width / character height
    pressure: float = 0.3           # 0 uniform width .. 1 strong press at starts, thin tails
    taper: float = 0.3              # chance a stroke ends in a thin tail (harai)
    ink: float = 0.9                # peak ink level, 0..1 (faint scans are low)
    blur: float = 0.6               # scan blur, sigma in pixels of a 128 image
    grain: float = 0.0              # pencil / dry-pen texture, 0..1
    slant: float = 0.0              # shear: x += slant * (y - centre)
    aspect: float = 1.0             # width / height scale
    rotation: float = 0.0           # degrees, clockwise on paper
    size: float = 0.7               # character box / image
    offset_x: float = 0.0           # character centre - image centre, fraction of image
    offset_y: float = 0.0
    speed: float = 0.5              # 0 slow and careful .. 1 fast: straighter, more taper
    sloppiness: float = 1.0         # scales every per-sample jitter
    looseness: float = 2.0          # endpoint jitter (units): how loosely strokes join
    connect: float = 0.0            # chance to join consecutive strokes with a hairline
    roundness: float = 0.0          # -1 angular (corners) .. +1 round (smoothed)
    hook: float = 0.8               # chance to keep a hook (hane) where KanjiVG has one
    compact: float = 1.0            # spread of strokes about the character centre
    dakuten: float = 1.0            # how freely ゛/゜ wander, grow and turn
    tremor: float = 0.0             # small wobble (finger on a screen, shaky hand)
    sparse: float = 0.0             # mouse/touch event spacing (units): straight runs, 0 = smooth
    noise: float = 0.0              # scanner background noise level, 0..1
    variant: float = 0.0            # chance of a common handwritten form (e.g. two-stroke そ)
    hand: int = 0                   # seed of the writer's own proportions (a fixed distortion)

    @classmethod
    def random(cls, rng: np.random.Generator) -> "WriterStyle":
        """A random writer; draws in a fixed order so a seed always gives the same person."""
        names = list(PENS)
        probs = np.array([PENS[n][0] for n in names])
        pen = names[int(rng.choice(len(names), p=probs / probs.sum()))]
        lo, hi = PENS[pen][1]
        pen_width = float(math.exp(rng.uniform(math.log(lo), math.log(hi))))
        speed = float(rng.beta(2.0, 2.0))
        canvas = pen == "canvas"
        pressure = {"brush": rng.uniform(0.6, 1.0), "felt": rng.uniform(0.1, 0.5),
                    "pencil": rng.uniform(0.1, 0.5), "ballpoint": rng.uniform(0.0, 0.3),
                    "marker": rng.uniform(0.0, 0.15), "canvas": 0.0}[pen]
        taper = float(np.clip(rng.uniform(0.0, 0.5) + 0.4 * speed, 0, 1)) if pressure > 0.05 else 0.0
        ink = 1.0 if canvas else float(np.clip(rng.choice([rng.uniform(0.75, 1.0), rng.uniform(0.4, 0.75)],
                                                          p=[0.8, 0.2]), 0.3, 1.0))
        if pen == "pencil":
            ink *= rng.uniform(0.55, 0.85)
        blur = 0.0 if canvas else float(rng.uniform(0.2, 1.1))
        grain = float(rng.uniform(0.3, 0.7)) if pen == "pencil" else (
            float(rng.uniform(0.0, 0.3)) if pen in ("brush", "ballpoint") else 0.0)
        slant = float(np.clip(rng.normal(0.05, 0.1), -0.25, 0.35))
        aspect = float(np.exp(np.clip(rng.normal(0.0, 0.1), -0.25, 0.25)))
        rotation = float(np.clip(rng.normal(0.0, 3.0), -8, 8))
        size = float(rng.uniform(0.45, 0.9))
        room = max(0.0, (1.0 - size) / 2 - 0.04)
        offset_x = float(np.clip(rng.normal(0, 0.05), -room, room))
        offset_y = float(np.clip(rng.normal(0, 0.05), -room, room))
        # Capped: beyond ~1.5 samples stop being readable (メ turns into 人), and a label
        # must stay true.
        sloppiness = float(np.clip(np.exp(rng.normal(0.0, 0.3)) * (0.8 + 0.5 * speed), 0.5, 1.5))
        looseness = float(rng.uniform(0.8, 2.8) * (0.8 + 0.4 * speed))
        connect = float(rng.choice([0.0, rng.uniform(0.05, 0.4)], p=[0.6, 0.4]) * (0.5 + speed))
        roundness = float(np.clip(rng.normal(0.0, 0.5) - 0.4 * (speed - 0.5), -1, 1))
        hook = float(rng.uniform(0.4, 1.0))
        compact = float(np.exp(rng.normal(0.0, 0.06)))
        dakuten = float(np.exp(rng.normal(0.0, 0.3)))
        shaky = canvas and rng.random() < 0.5                           # finger or mouse
        tremor = float(rng.uniform(0.3, 1.0) if shaky else rng.uniform(0.0, 0.3))
        sparse = float(rng.uniform(2.0, 4.5)) if canvas and rng.random() < 0.4 else 0.0
        noise = 0.0 if canvas else float(rng.choice([0.0, rng.uniform(0.0, 1.0)], p=[0.6, 0.4]))
        variant = float(rng.choice([0.0, 0.5, 1.0], p=[0.5, 0.2, 0.3]))
        hand = int(rng.integers(0, 2**31))
        return cls(pen=pen, pen_width=pen_width, pressure=float(pressure), taper=taper, ink=ink,
                   blur=blur, grain=grain, slant=slant, aspect=aspect, rotation=rotation, size=size,
                   offset_x=offset_x, offset_y=offset_y, speed=speed, sloppiness=sloppiness,
                   looseness=looseness, connect=connect, roundness=roundness, hook=hook,
                   compact=compact, dakuten=dakuten, tremor=tremor, sparse=sparse, noise=noise,
                   variant=variant, hand=hand)

