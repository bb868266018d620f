"""Opt-in check of the Space export (minutes: a fresh venv installs torch, TF and Gradio).

    python tools/check_space.py [--weights weights] [--keep DIR]

Exports the Space, makes a fresh virtual environment, installs the Space's own
requirements.txt with kana-keras taken from this checkout (pip's cache serves the wheels),
starts app.py on the torch backend and calls its /sample and /write endpoints with
gradio_client. Prints each step's time; exits 1 with the reason on any failure.
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def step(name, command, **kwargs):
    start = time.monotonic()
    result = subprocess.run(command, capture_output=True, text=True, **kwargs)
    print(f"{name}: {time.monotonic() - start:.0f} s", flush=True)
    if result.returncode:
        sys.exit(f"{name} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    return result


def check(space: Path) -> None:
    from gradio_client import Client

    venv = space / ".venv"
    step("venv", [sys.executable, "-m", "venv", str(venv)])
    python = str(venv / "bin" / "python")
    step("pip install -r requirements.txt",
         [python, "-m", "pip", "install", "-q", "-r", str(space / "requirements.txt")], cwd=space)
    port = free_port()
    env = {**os.environ, "GRADIO_SERVER_NAME": "127.0.0.1", "GRADIO_SERVER_PORT": str(port),
           "GRADIO_ANALYTICS_ENABLED": "False", "PYTHONPATH": ""}
    app = subprocess.Popen([python, "app.py"], cwd=space, env=env, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, text=True)
    try:
        start = time.monotonic()
        for line in app.stdout:
            if "Model loaded" in line:
                break
        else:
            sys.exit(f"app.py ended with {app.wait()} before loading the model")
        print(f"app.py started: {time.monotonic() - start:.0f} s", flush=True)
        client = Client(f"http://127.0.0.1:{port}", verbose=False)
        for args, api_name in ((([], 4, 0, 1.0), "/sample"), (("かな", 0, None), "/write")):
            path = client.predict(*args, api_name=api_name)
            assert Path(path).stat().st_size > 0, api_name
            print(f"{api_name}: answered {path}")
        backend = subprocess.run([python, "-c", "import os; os.environ.setdefault("
                                  "'KERAS_BACKEND', 'torch'); import keras; print(keras.backend.backend())"],
                                 capture_output=True, text=True).stdout.strip()
        print(f"backend in the Space's venv: {backend}")
    finally:
        app.terminate()
        app.wait(timeout=30)


def main(argv=None):
    parser = argparse.ArgumentParser(description="Install and start the Space export.")
    parser.add_argument("--weights", type=Path, default=ROOT / "weights")
    parser.add_argument("--keep", type=Path, help="build the Space here and keep it")
    args = parser.parse_args(argv)
    from kana_keras.export.space import export_space

    with tempfile.TemporaryDirectory() as tmp:
        space = export_space(args.weights, args.keep or Path(tmp) / "space", project=str(ROOT))
        check(space)
    print("the Space installs, starts and answers")


if __name__ == "__main__":
    main()
