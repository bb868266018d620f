"""The export command: ``python -m kana_keras.export {web,space} --weights DIR --out DIR``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from kana_keras.cli import UsageError, report_errors


def parse(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m kana_keras.export",
                                     description="Export the demo to run without this machine.")
    parser.add_argument("target", choices=("web", "space"),
                        help="web: a static site (ONNX in the browser); space: a Gradio Space")
    parser.add_argument("--weights", type=Path, default=Path("weights"), help="a fit --out folder")
    parser.add_argument("--out", type=Path, required=True, help="the folder to write")
    parser.add_argument("--project", help="space only: the kana-keras requirement to install "
                        "(a local path or URL; default the released version)")
    return parser.parse_args(argv)


def run(args) -> int:
    if not args.weights.is_dir():
        raise UsageError(f"--weights {args.weights}: no such folder (train one with "
                         "`python -m kana_keras.fit --out DIR`)")
    if args.out.exists() and not args.out.is_dir():
        raise UsageError(f"--out {args.out}: exists and is not a folder")
    if args.target == "space":
        from kana_keras.export.space import export_space

        out = export_space(args.weights, args.out, args.project)
    else:
        from kana_keras.export.web import export_web
        from kana_keras.inference import KanaGenerator

        out = export_web(KanaGenerator.load(args.weights), args.out)
    size = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    print(f"{args.target} export in {out} ({size / 1e6:.1f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(report_errors(run, parse()))
