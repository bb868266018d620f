"""How long people wait in the demo, on the CPU: model calls, answers over HTTP, cold start.

    python benchmarks/demo_latency.py [--weights weights] [--repeats 30] [--starts 3]

Measures, with the given weights:
- in process: `KanaGenerator.sample(16)`, `reconstruct(a drawing)`, `write("ありがとう")`;
- over HTTP: the same three through the launched app's API (`python demo/app.py`), which adds
  Gradio's queue, pre/post-processing and PNG encoding: what a user's browser waits for;
- cold start: `python demo/app.py` launched as a subprocess until its URL answers (the model
  loads in a thread meanwhile) and until its first 16 samples come back, against a bare
  Gradio app started the same way in the same run (the floor set by importing Gradio).
Targets (issue 7): 16 samples <= 100 ms median; cold start <= 10 s.
"""

from __future__ import annotations

import argparse
import io
import os
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")  # the CPU, as the demo's users have
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

TARGET_SAMPLES_MS = 100.0
TARGET_COLD_START_S = 10.0
BARE_APP = ("import gradio as gr, sys\n"
            "with gr.Blocks() as demo:\n    gr.Markdown('bare')\n"
            "demo.launch(server_name='127.0.0.1', server_port=int(sys.argv[1]), quiet=True)\n")


# ## helpers


def stroke_drawing(side=512):
    """A Sketchpad-like drawing (black on white) of two strokes, the size of the demo's canvas."""
    import cv2
    import numpy as np

    picture = np.full((side, side), 255, np.uint8)
    s = side / 10
    cv2.polylines(picture, [np.array([[2 * s, 3 * s], [8 * s, 3 * s]], np.int32),
                            np.array([[5 * s, 1 * s], [5 * s, 9 * s], [3 * s, 7 * s]], np.int32)],
                  False, 0, side // 40, cv2.LINE_AA)
    return picture


def timed(fn, repeats):
    """Milliseconds per call, after one warm-up call."""
    fn()
    out = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t0) * 1000)
    return out


def p95(values):
    return sorted(values)[min(len(values) - 1, int(round(0.95 * (len(values) - 1))))]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cold_start(command, port, timeout=120.0):
    """Seconds from launching `command` to its URL answering 200; returns (seconds, process)."""
    import httpx

    t0 = time.perf_counter()
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=ROOT)
    while time.perf_counter() - t0 < timeout:
        if proc.poll() is not None:
            said = proc.stderr.read().decode()[-2000:]
            raise RuntimeError(f"{' '.join(map(str, command))} exited: {said}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/", timeout=1).status_code == 200:
                return time.perf_counter() - t0, proc
        except httpx.HTTPError:
            pass
        time.sleep(0.05)
    proc.kill()
    raise RuntimeError(f"no answer on port {port} after {timeout:.0f} s")


def call_api(http, name, data):
    """One request through Gradio's REST API (POST, then read the event stream)."""
    event = http.post(f"/gradio_api/call/{name}", json={"data": data}).json()["event_id"]
    answer = http.get(f"/gradio_api/call/{name}/{event}").text
    if "event: complete" not in answer:
        raise RuntimeError(f"/{name} failed: {answer[:300]}")


def row(what, values, target=None):
    median = statistics.median(values)
    line = f"{what:<34} median {median:9.1f}   p95 {p95(values):9.1f}"
    if target:
        verdict = "met" if median <= target else "MISSED"
        line += f"   target {target:g}: ratio {median / target:5.2f} ({verdict})"
    print(line, flush=True)
    return median


# ## the benchmark


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--weights", type=Path, default=ROOT / "weights")
    parser.add_argument("--repeats", type=int, default=30, help="timed calls per measurement")
    parser.add_argument("--starts", type=int, default=3, help="cold starts of each app")
    args = parser.parse_args(argv)
    if not (args.weights / "config.json").is_file():
        parser.exit(2, f"error: --weights {args.weights}: no trained weights there; make them "
                       f"with: python -m kana_keras.fit --out {args.weights}\n")

    import httpx
    from PIL import Image

    from kana_keras.inference import KanaGenerator

    t0 = time.perf_counter()
    gen = KanaGenerator.load(args.weights)
    load_s = time.perf_counter() - t0
    drawing = stroke_drawing()
    print(f"weights {args.weights} ({gen.image_size} px, {len(gen.classes)} classes, "
          f"recognizer: {'yes' if gen.recognizer is not None else 'no'}), load {load_s:.1f} s, "
          f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}")

    print("\nin process (ms)")
    row("sample(16)", timed(lambda: gen.sample(16, seed=0), args.repeats), TARGET_SAMPLES_MS)
    row("reconstruct(512x512 drawing)", timed(lambda: gen.reconstruct(drawing), args.repeats))
    if gen.recognizer is not None:
        row("recognize(512x512 drawing)", timed(lambda: gen.recognize(drawing, k=3), args.repeats))
    row("write(ありがとう)", timed(lambda: gen.write("ありがとう", seed=0), args.repeats))

    print("\ncold start (s): launch until the URL answers")
    app_runs, first_runs, bare_runs, proc = [], [], [], None
    for i in range(args.starts):
        port = free_port()
        seconds, bare = cold_start([sys.executable, "-c", BARE_APP, str(port)], port)
        bare.terminate(), bare.wait()
        bare_runs.append(seconds)
        port = free_port()
        t0 = time.perf_counter()
        seconds, app = cold_start([sys.executable, str(ROOT / "demo" / "app.py"), "--weights",
                                   str(args.weights), "--port", str(port)], port)
        app_runs.append(seconds)
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=120) as http:
            call_api(http, "sample", [[], 16, 0, 1.0])  # waits for the model to load
        first_runs.append(time.perf_counter() - t0)
        if i < args.starts - 1:
            app.terminate(), app.wait()
        else:
            proc, url = app, f"http://127.0.0.1:{port}"
    bare_median = row("bare Gradio app (baseline)", bare_runs)
    app_median = row("python demo/app.py", app_runs, TARGET_COLD_START_S)
    print(f"{'':<34} {app_median / bare_median:.2f}x the bare Gradio app")
    row("... until its first 16 samples", first_runs)

    try:
        print("\nover HTTP through the app (ms)")
        with httpx.Client(base_url=url, timeout=60) as http:
            png = io.BytesIO()
            layer = Image.new("RGBA", drawing.shape[::-1], (0, 0, 0, 0))
            layer.putalpha(Image.fromarray(255 - drawing))
            layer.save(png, "PNG")
            [path] = http.post("/gradio_api/upload",
                               files={"files": ("layer.png", png.getvalue())}).json()
            sketch = {"layers": [{"path": path, "meta": {"_type": "gradio.FileData"}}]}
            row("/sample (16)", timed(lambda: call_api(http, "sample", [[], 16, 0, 1.0]),
                                      args.repeats), TARGET_SAMPLES_MS)
            row("/reconstruct (512x512 drawing)",
                timed(lambda: call_api(http, "reconstruct", [sketch, None]), args.repeats))
            row("/write (ありがとう)",
                timed(lambda: call_api(http, "write", ["ありがとう", 0, None]), args.repeats))
    finally:
        proc.terminate()
        proc.wait()


if __name__ == "__main__":
    main()
