"""kana-keras demo: sample, reconstruct, interpolate and write handwritten kana in a browser.

    python demo/app.py [--share] [--weights DIR] [--port N] [--host H]

Every event calls `kana_keras.inference.KanaGenerator` (plain, tested Python); this file lays
out the components and turns unusable input into a clear message (gr.Error), never a trace.
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
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import cv2
import gradio as gr
import numpy as np
from PIL import Image, ImageOps

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout, too
from kana_keras import images  # noqa: E402

MAX_SIDE = 1024  # photos are shrunk while decoding, so a 6000x4000 JPEG costs little
CONCURRENCY = 2  # model calls share the CPU cores; more workers would only wait inside Keras
MAX_TEXT = 200  # kana per Write request: a line people read, not a 5,000-kana poster


def clear_errors(fn):
    """The generator's ValueError (blank image, unknown kana, ...) becomes a message in the UI."""
    @functools.wraps(fn)
    def wrapper(*args):
        try:
            return fn(*args)
        except ValueError as e:
            raise gr.Error(str(e), print_exception=False) from None
    return wrapper


def seed_of(value):
    """The Seed box as the generator wants it: None (random) or a whole number >= 0."""
    if value is None or value == "":
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = float("nan")
    if not (number >= 0 and number.is_integer()):
        shown = int(number) if number.is_integer() else value
        raise gr.Error(f"Seed must be a whole number ≥ 0, got {shown}", print_exception=False)
    return int(number)


def text_of(value):
    """The Write box's text, refused (not drawn for minutes) past MAX_TEXT characters."""
    text = value or ""
    if len(text) > MAX_TEXT:
        raise gr.Error(f"The text is {len(text):,} characters long; the demo writes at most "
                       f"{MAX_TEXT} at a time.", print_exception=False)
    return text


def drawing(value):
    """A Sketchpad's drawing, black on white, from its layers' alpha (the composite's background
    is white or dark grey with the theme, and API callers may send none); else its composite."""
    alphas = [np.asarray(x)[..., 3] for x in (value or {}).get("layers") or []
              if x is not None and np.asarray(x).ndim == 3 and np.asarray(x).shape[-1] == 4]
    inked = [a for a in alphas if a.shape == alphas[0].shape and a.max() > 0]
    if inked:
        return 255 - np.max(inked, axis=0).astype(np.uint8)
    for key in ("composite", "background"):  # an uploaded picture, or a caller's composite
        picture = (value or {}).get(key)
        if picture is not None and np.ptp(np.asarray(picture)) > 0:
            return np.asarray(picture)
    return None


def photo(path):
    """An uploaded file as an array (L, RGB or RGBA), upright, at most MAX_SIDE pixels a side."""
    try:
        with Image.open(path) as img:
            img.draft(img.mode, (MAX_SIDE, MAX_SIDE))  # JPEG: decode at reduced size
            img = ImageOps.exif_transpose(img)
            img.thumbnail((MAX_SIDE, MAX_SIDE))
            alpha = "A" in img.getbands() or "transparency" in img.info
            return np.asarray(img if img.mode in ("L", "RGB", "RGBA") else
                              img.convert("RGBA" if alpha else "RGB"))
    except Exception as e:  # PIL raises many kinds for a non-image or a truncated file
        raise gr.Error(f"{Path(path).name} is not a readable image ({e.__class__.__name__}): "
                       "upload a PNG or JPEG photo or scan of one kana",
                       print_exception=False) from None


class Loading:
    """The generator, loaded in a thread from a weights folder: the page answers while Keras
    starts (most of a cold start); the first request waits for it. Reads config.json now."""

    def __init__(self, weights: Path):
        config = json.loads((weights / "config.json").read_text(encoding="utf-8"))
        self.classes, self.image_size = list(config["classes"]), int(config["image_size"])
        self.ready = ThreadPoolExecutor(1).submit(self._load, weights)

    @staticmethod
    def _load(weights):
        from kana_keras.inference import KanaGenerator

        return KanaGenerator.load(weights)

    def __getattr__(self, name):
        if name == "ready":  # not set yet: __init__ failed
            raise AttributeError(name)
        return getattr(self.ready.result(), name)


def build_demo(generator) -> gr.Blocks:
    """Four tabs, each a form calling one of the generator's methods."""
    classes, scale = list(generator.classes), max(1, 128 // generator.image_size)
    big = functools.partial(cv2.resize, dsize=(256, 256), interpolation=cv2.INTER_NEAREST)
    workdir = tempfile.TemporaryDirectory(prefix="kana-demo-")  # removed at exit

    def stash(picture, suffix=".png"):
        """Pictures go out as uniquely named files: Gradio rewrites identical PIL outputs in
        place, so two users asking for the same seed at once could read half a PNG."""
        for old in Path(workdir.name).iterdir():  # Gradio holds its own copy by now
            with contextlib.suppress(OSError):
                if time.time() - old.stat().st_mtime > 600:
                    old.unlink()
        path = tempfile.mkstemp(suffix=suffix, dir=workdir.name)[1]
        if suffix == ".gif":
            return str(images.save_gif(255 - np.asarray(picture), path, scale=2 * scale))
        return str(images.save_atomic(Image.fromarray(np.asarray(picture, np.uint8)), path))

    @clear_errors
    def sample(chars, count, seed, temperature):
        count, seed, chars = int(count), seed_of(seed), chars or None
        pictures = generator.sample(count, kana=chars, seed=seed, temperature=float(temperature))
        labels = generator.sample_labels(count, kana=chars, seed=seed)
        grid = images.grid(255 - np.asarray(pictures), labels, cols=min(count, 8), scale=scale)
        return stash(grid)

    @clear_errors
    def reconstruct(sketch, upload):
        image = photo(upload) if upload is not None else drawing(sketch)
        if image is None:
            raise gr.Error("Nothing to reconstruct: draw a kana on the canvas or upload a photo "
                           "of one.", print_exception=False)
        prepared, recon = generator.reconstruct(image)
        try:
            top = {kana: float(p) for kana, p in generator.recognize(image, k=3)}
        except ValueError as e:  # weights without a recognizer: still show the reconstruction
            gr.Warning(str(e))
            top = {}
        return stash(big(prepared)), stash(big(recon)), top

    def end(kana, sketch, which):
        picture = drawing(sketch)
        if picture is None and not kana:
            raise gr.Error(f"Choose or draw the {which} kana.", print_exception=False)
        return kana if picture is None else picture

    @clear_errors
    def interpolate(kana_a, sketch_a, kana_b, sketch_b, steps):
        frames = generator.interpolate(end(kana_a, sketch_a, "first"),
                                       end(kana_b, sketch_b, "second"), steps=int(steps))
        return stash(images.strip(255 - np.asarray(frames), scale=scale)), stash(frames, ".gif")

    @clear_errors
    def write(text, seed, sketch):
        page = generator.write(text_of(text), style=drawing(sketch), seed=seed_of(seed))
        return stash(cv2.resize(page, None, fx=scale, fy=scale, interpolation=cv2.INTER_NEAREST))

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
                outputs = [picture(label="As the model sees it"), picture(label="Reconstruction"),
                           gr.Label(num_top_classes=3, label="Recognised as")]
            go.click(reconstruct, [pad, upload], outputs, api_name="reconstruct")
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
                                  info=f"at most {MAX_TEXT} characters")
                wseed = gr.Number(0, precision=0, label="Handwriting seed", scale=1)
            with gr.Accordion("In the style of your drawing (optional)", open=False):
                style = canvas(label="Style kana", sources=("upload",))
            go = gr.Button("Write", variant="primary")
            written = picture(label="Written")
            go.click(write, [text, wseed, style], written, api_name="write")
    return demo.queue(default_concurrency_limit=CONCURRENCY, max_size=256)


def check_port(host: str, port: int) -> str | None:
    """Why the demo cannot serve on host:port (out of range, taken, unknown host), or None.

    Checked before the weights load, so a busy port costs a second, not a cold start.
    """
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
    port_problem = check_port(args.host, args.port)
    if port_problem:
        parser.exit(2, f"error: {port_problem}\n")
    failed = (f"error: cannot load weights from {args.weights}: {{}}\n"
              f"Train some with: python -m kana_keras.fit --out {args.weights}\n")
    try:
        generator = Loading(args.weights)
    except (OSError, ValueError, KeyError) as e:
        parser.exit(2, failed.format(e))
    demo = build_demo(generator)
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
        generator.ready.result()
    except (OSError, ValueError, KeyError) as e:
        demo.close()
        parser.exit(2, failed.format(e))
    print("* Model loaded: ready", flush=True)
    demo.block_thread()


if __name__ == "__main__":
    main()
