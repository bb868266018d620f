"""``python -m kana_keras.font``: 1-5 drawings of kana → an OpenType font in that hand.

    python -m kana_keras.font --style a.png b.png --kana あ き --name "My hand" --out myhand.otf

Bad input (a blank, unreadable, 1x1 or huge picture, more than five, a bad --out) ends with
one ``error: ...`` line and exit status 2, and no file is written: the font is built in
memory and written whole (``kana_keras.files``).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from kana_keras.cli import UsageError, report_errors
from kana_keras.files import write_bytes_atomic

SUFFIXES = {".otf": "otf", ".ttf": "ttf"}


class _Parser(argparse.ArgumentParser):
    """argparse whose mistakes read like every other bad input: one line, exit 2."""

    def error(self, message):
        raise UsageError(message)


def parser() -> argparse.ArgumentParser:
    from kana_keras.font import MAX_DRAWINGS

    p = _Parser(prog="python -m kana_keras.font",
                description="Make an OpenType font of all 146 kana in the hand of your drawings.")
    p.add_argument("--style", nargs="+", metavar="PICTURE", default=[],
                   help=f"1 to {MAX_DRAWINGS} pictures of one kana each (none: a random hand "
                        "from --seed)")
    p.add_argument("--kana", nargs="+", metavar="KANA",
                   help="the kana of each --style picture, in order ('-': recognise it)")
    p.add_argument("--name", default="My hand", help="the font's name ('My hand')")
    p.add_argument("--out", required=True, help="the font file to write: .otf (CFF) or .ttf")
    p.add_argument("--weights", default="weights", help="the trained weights folder (weights)")
    p.add_argument("--seed", type=int, default=0, help="the random hand without --style (0)")
    return p


def check_out(out: str) -> str:
    """The font flavour --out asks for, or a UsageError naming what is wrong with it."""
    path = Path(out)
    if path.suffix.lower() not in SUFFIXES:
        raise UsageError(f"--out {out}: expected a file name ending in .otf or .ttf")
    if path.is_dir():
        raise UsageError(f"--out {out}: is a folder; give a file name such as {out}/myhand.otf")
    if not path.parent.is_dir():
        raise UsageError(f"--out {out}: the folder {path.parent} does not exist")
    return SUFFIXES[path.suffix.lower()]


def check_style(args) -> list | None:
    """The --kana list matched to --style (None: recognise every picture)."""
    from kana_keras import preprocess
    from kana_keras.font import MAX_DRAWINGS, check_picture

    if len(args.style) > MAX_DRAWINGS:
        raise UsageError(f"--style: at most {MAX_DRAWINGS} pictures, got {len(args.style)}")
    if args.kana is not None and len(args.kana) != len(args.style):
        raise UsageError(f"--kana: give one kana per --style picture ({len(args.style)}), "
                         f"got {len(args.kana)}")
    for picture in args.style:  # before the model loads: a bad picture fails at once
        try:
            check_picture(picture, f"--style {picture}")
            preprocess.prepare(picture)
        except ValueError as exc:
            raise UsageError(str(exc) if str(exc).startswith("--style") else
                             f"--style {picture}: {exc}") from None
    return None if args.kana is None else [None if k == "-" else k for k in args.kana]


def run(args) -> int:
    flavor, kana = check_out(args.out), check_style(args)
    if args.seed < 0:
        raise UsageError(f"--seed must be >= 0, got {args.seed}")
    from kana_keras.inference import KanaGenerator

    try:
        gen = KanaGenerator.load(args.weights)
    except (FileNotFoundError, ValueError) as exc:
        raise UsageError(f"--weights {args.weights}: {exc}") from None
    start = time.perf_counter()
    try:
        data = gen.font(args.style or None, name=args.name, kana=kana, seed=args.seed,
                        flavor=flavor)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    write_bytes_atomic(args.out, data)
    print(f"wrote {args.out}: {args.name!r}, {len(data) / 1024:.0f} KiB, made in "
          f"{time.perf_counter() - start:.1f} s")
    return 0


def main(argv=None) -> int:
    p = parser()
    try:
        args = p.parse_args(argv)
    except UsageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return report_errors(run, args)


if __name__ == "__main__":
    raise SystemExit(main())
