"""The default preset's training images/s on each Keras backend, side by side in one run.

    python benchmarks/backends.py [--batch 64] [--old-checkout PATH]

Each backend runs ``train_throughput.py --presets default`` in its own process (a process has
one backend), all in this one sitting, so the ratios compare like with like on a shared
machine. ``--old-checkout`` also times TensorFlow in another checkout of the project (e.g.
``git worktree add /tmp/old 4c8b18d``), the "today's TensorFlow" of the speed targets.
Targets: slowest backend / fastest >= 0.8; fastest / the old checkout's TensorFlow >= 2.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
BACKENDS = ("tensorflow", "jax", "torch")


def images_per_second(script: Path, backend: str, batch: int, extra=()) -> float:
    """Run one train_throughput.py and read the default preset's images/s off its output."""
    out = subprocess.run([sys.executable, str(script), "--backend", backend, "--batch",
                          str(batch), *extra], capture_output=True, text=True, check=True,
                         cwd=script.parents[1]).stdout
    match = re.search(r"default\s+\d+ px\s+[\d,]+ params\s+([\d.]+) images/s", out)
    if match is None:
        raise SystemExit(f"error: no 'default ... images/s' line in the output of {script}:\n{out}")
    return float(match.group(1))


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--old-checkout", type=Path, default=None,
                   help="another checkout whose TensorFlow rate is the baseline")
    args = p.parse_args()
    rates = {}
    for backend in BACKENDS:
        rates[backend] = images_per_second(HERE / "train_throughput.py", backend, args.batch,
                                           ["--presets", "default"])
        print(f"  {backend:10s} {rates[backend]:8.1f} images/s", flush=True)
    fastest = max(rates, key=rates.get)
    slowest = min(rates, key=rates.get)
    print(f"slowest / fastest = {slowest} / {fastest} = {rates[slowest] / rates[fastest]:.2f} "
          "(target >= 0.8)")
    if args.old_checkout is not None:
        script = args.old_checkout.resolve() / "benchmarks" / "train_throughput.py"
        old = images_per_second(script, "tensorflow", args.batch)
        print(f"  old checkout, tensorflow {old:8.1f} images/s")
        print(f"fastest / old tensorflow = {rates[fastest] / old:.2f} (target >= 2)")


if __name__ == "__main__":
    main()
