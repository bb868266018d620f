"""kana-keras demo: sample, reconstruct, interpolate, write kana and make a font, in a browser.

    python demo/app.py [--share] [--weights DIR] [--port N] [--host H]

Every event calls `kana_keras.inference.KanaGenerator`, which also reads the canvases and
uploads; this file lays out the components and shows the generator's ValueErrors as messages.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import io
import json
import os
import socket
import sys
import tempfile
import time
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import cv2
import gradio as gr
import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout, too
sys.path.insert(0, str(Path(__file__).resolve().parent))      # font_tab.py beside this file
from font_tab import font_tab  # noqa: E402
from kana_keras import images  # noqa: E402  (Keras loads later, after the port check)

CONCURRENCY = 2  # model calls share the CPU cores; more workers would only wait inside Keras


def shown(fn):
    """The generator's ValueError (blank canvas, unknown kana, ...) becomes a message on the page."""
    @functools.wraps(fn)
    def wrapper(*args):
        try:
            return fn(*args)
        except ValueError as e:
            raise gr.Error(str(e), print_exception=False) from None
    return wrapper


def seed_of(value):
    """The Seed box as the generator wants it: None (empty: random) or a whole number."""
    if value is None or value == "":
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = float("nan")
    if not (number >= 0 and number.is_integer()):
        raise ValueError(f"Seed must be a whole number ≥ 0, got {value}")
    return int(number)


def build_demo(generator, classes=None) -> gr.Blocks:
    """Four tabs, each a form calling one of the generator's methods. ``generator`` is a
    KanaGenerator, or a Future of one (the page serves while Keras loads; give ``classes``)."""
    from kana_keras import inference

    model = generator.result if isinstance(generator, Future) else lambda: generator
    classes = list(classes or generator.classes)
    workdir = tempfile.TemporaryDirectory(prefix="kana-demo-")  # removed at exit

    def stash(picture, suffix=".png", scale=1):
        """Each picture its own file: Gradio rewrites identical outputs in place, so two
        users asking for one seed at once could read half a PNG. Gradio copied older ones."""
        for old in Path(workdir.name).iterdir():
            with contextlib.suppress(OSError):
                if time.time() - old.stat().st_mtime > 600:
                    old.unlink()
        path = tempfile.mkstemp(suffix=suffix, dir=workdir.name)[1]
        if suffix == ".gif":
            return str(images.save_gif(255 - np.asarray(picture), path, scale=scale))
        picture = cv2.resize(np.asarray(picture, np.uint8), None, fx=scale, fy=scale,
                             interpolation=cv2.INTER_NEAREST)
        return str(images.save_atomic(Image.fromarray(picture), path))

    def zoom():
        return max(1, 128 // model().image_size)

    @shown
    def sample(chars, count, seed, temperature):
        count, seed, chars = int(count), seed_of(seed), chars or None
        pictures = model().sample(count, kana=chars, seed=seed, temperature=float(temperature))
        labels = model().sample_labels(count, kana=chars, seed=seed)
        return stash(images.grid(255 - pictures, labels, cols=min(count, 8), scale=zoom()))

    def redrawn(sketch, upload, kana):
        if kana and len(kana.strip()) != 1:
            raise ValueError(f"Redraw as: choose or type one kana, got {kana!r}")
        image = inference.read_photo(upload) if upload is not None else sketch or {}
        prepared, recon = result = model().reconstruct(image, kana=(kana or "").strip() or None)
        side = 256 // len(prepared)
        return image, result, stash(prepared, scale=side), stash(recon, scale=side)

    @shown
    def reconstruct(sketch, upload):
        image, result, prepared, recon = redrawn(sketch, upload, None)
        try:
            top = {kana: float(p) for kana, p in model().recognize(image, k=3)}
        except inference.NoRecognizerError as e:  # still show the reconstruction
            gr.Warning(str(e))
            top = {}
        choices = list(top) + [kana for kana in classes if kana not in top]
        return prepared, recon, top, gr.Dropdown(choices=choices, value=result.kana)

    @shown
    def redraw(sketch, upload, kana):
        return redrawn(sketch, upload, kana)[3]

    def end(kana, sketch, which):
        picture = inference.read_canvas(sketch)
        if picture is None and not kana:
            raise ValueError(f"Choose or draw the {which} kana.")
        return kana if picture is None else picture

    @shown
    def interpolate(kana_a, sketch_a, kana_b, sketch_b, steps):
        frames = model().interpolate(end(kana_a, sketch_a, "first"),
                                     end(kana_b, sketch_b, "second"), steps=int(steps))
        return (stash(images.strip(255 - frames, scale=zoom())),
                stash(frames, ".gif", scale=2 * zoom()))

    @shown
    def write(text, seed, sketch):
        style = inference.read_canvas(sketch)
        page = model().write(text or "", style=style, seed=seed_of(seed))
        return stash(page, scale=zoom())

    picture = functools.partial(gr.Image, type="filepath", format="png", buttons=["download"])
    canvas = functools.partial(gr.Sketchpad, type="numpy", canvas_size=(384, 384))
    with gr.Blocks(title="kana-keras", delete_cache=(600, 3600)) as demo:
        demo.workdir = workdir
        gr.Markdown("# kana-keras\nA variational autoencoder that learned handwritten kana.")
        with gr.Tab("Sample"), gr.Row():
            with gr.Column():
                chars = gr.Dropdown(classes, multiselect=True, label="Characters (empty: random)")
                count = gr.Slider(1, 64, value=16, step=1, label="How many")
                seed = gr.Number(0, precision=0, label="Seed")
                temperature = gr.Slider(0.1, 2.0, value=1.0, step=0.05, label="Temperature")
                go = gr.Button("Sample", variant="primary")
            grid = picture(label="New kana")
            go.click(sample, [chars, count, seed, temperature], grid, api_name="sample")
        with gr.Tab("Reconstruct"), gr.Row():
            with gr.Column():
                pad = canvas(label="Draw a kana", canvas_size=(512, 512))
                upload = gr.File(label="Or upload a photo or scan", file_types=["image"])
                go = gr.Button("Reconstruct", variant="primary")
            with gr.Column():
                seen, recon = picture(label="As the model sees it"), picture(label="Reconstruction")
                top = gr.Label(num_top_classes=3, label="Recognised as")
                with gr.Row():
                    meant = gr.Dropdown(classes, allow_custom_value=True, scale=3,
                                        label="Redraw as (the top 3, or any kana)")
                    again = gr.Button("Redraw as", scale=1)
            go.click(reconstruct, [pad, upload], [seen, recon, top, meant], api_name="reconstruct")
            again.click(redraw, [pad, upload, meant], recon, api_name="redraw")
        with gr.Tab("Interpolate"):
            ends = []
            with gr.Row():
                for which, kana in (("From", classes[0]), ("To", classes[len(classes) // 2])):
                    with gr.Column():
                        ends.append(gr.Dropdown(classes, value=kana, label=f"{which} kana"))
                        ends.append(canvas(label=f"{which}: or draw it (drawing wins)",
                                           sources=("upload",)))
            steps = gr.Slider(3, 24, value=8, step=1, label="Steps")
            go = gr.Button("Interpolate", variant="primary")
            with gr.Row():
                outputs = [picture(label="Steps", scale=3), picture(label="Animation", scale=1)]
            go.click(interpolate, [*ends, steps], outputs, api_name="interpolate")
        with gr.Tab("Write"):  # one column: a line of text wants the page's width
            with gr.Row():
                text = gr.Textbox("ありがとう", label="Kana text", scale=3,
                                  info=f"at most {inference.MAX_WRITE_CHARS} characters")
                wseed = gr.Number(0, precision=0, label="Handwriting seed", scale=1)
            with gr.Accordion("In the style of your drawing (optional)", open=False):
                style = canvas(label="Style kana", sources=("upload",))
            go = gr.Button("Write", variant="primary")
            written = picture(label="Written")
            go.click(write, [text, wseed, style], written, api_name="write")
        font_tab(generator)
    return demo.queue(default_concurrency_limit=CONCURRENCY, max_size=256)


def check_port(host: str, port: int) -> str | None:
    """Why the demo cannot serve on host:port (out of range, taken, unknown host), or None."""
    if not 1 <= port <= 65535:
        return f"--port {port}: expected a port number from 1 to 65535"
    try:
        family, kind, _, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    except socket.gaierror as e:
        return f"--host {host}: not an address of this machine ({e.strerror})"
    with socket.socket(family, kind) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # TIME_WAIT is no conflict
        try:
            probe.bind(address)
        except OSError as e:
            return (f"--port {port}: {host}:{port} cannot be used ({e.strerror}); another "
                    f"program may be serving there: choose another --port")
    return None


def main(argv=None):
    parser = argparse.ArgumentParser(description="Serve the kana-keras demo in a browser.")
    parser.add_argument("--weights", type=Path, default=Path("weights"), help="a fit --out folder")
    parser.add_argument("--share", action="store_true", help="also a public link (needs internet)")
    parser.add_argument("--port", type=int, default=int(os.environ.get("GRADIO_SERVER_PORT", 7860)))
    parser.add_argument("--host", default=os.environ.get("GRADIO_SERVER_NAME", "127.0.0.1"))
    args = parser.parse_args(argv)
    if problem := check_port(args.host, args.port):  # before the load: a second, not minutes
        parser.exit(2, f"error: {problem}\n")
    failed = (f"error: cannot load weights from {args.weights}: {{}}\n"
              f"Train some with: python -m kana_keras.fit --out {args.weights}\n")
    try:
        config = json.loads((args.weights / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        parser.exit(2, failed.format(e))
    from kana_keras.inference import KanaGenerator

    loading = ThreadPoolExecutor(1).submit(KanaGenerator.load, args.weights)
    demo = build_demo(loading, classes=config["classes"])
    try:
        with contextlib.redirect_stdout(io.StringIO()):  # Gradio's share failure is a page
                demo.launch(server_name=args.host, server_port=args.port, share=args.share,
                        quiet=True, prevent_thread_lock=True, theme=gr.themes.Soft())
    except OSError as e:  # the port was taken between the check and the launch
        parser.exit(2, f"error: --port {args.port}: cannot serve there ({e})\n")
    print(f"* Running on local URL: {demo.local_url}")
    if demo.share_url:
        print(f"* Public link (send it to friends): {demo.share_url}")
    elif args.share:
        print("* No public link: Gradio's share server could not be reached (no internet?); "
              f"serving locally only at {demo.local_url}")
    try:
        loading.result()
    except (OSError, ValueError, KeyError) as e:
        demo.close()
        parser.exit(2, failed.format(e))
    print("* Model loaded: ready", flush=True)
    demo.block_thread()


if __name__ == "__main__":
    main()
