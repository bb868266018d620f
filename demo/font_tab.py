"""The demo's Font tab: draw or upload up to five kana, see all 146 in that hand, take the .otf.

    with gr.Blocks() as demo:
        font_tab(generator)          # inside the Blocks, beside the other tabs

Every click calls ``KanaGenerator.font`` (plain, tested Python); unusable input (no drawing,
a blank upload, a bad name) becomes a message in the page, never a trace.
"""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

import gradio as gr
import numpy as np
from PIL import Image

from kana_keras.files import write_bytes_atomic
from kana_keras.images import save_atomic

CANVASES = 5  # KanaGenerator.font takes 1 to 5 drawings


def has_ink(value) -> bool:
    """Whether a Sketchpad value holds a drawing or an uploaded picture (else it is skipped):
    the rule every canvas of the demo is read by, ``inference.read_canvas``."""
    from kana_keras.inference import read_canvas  # Keras loads with the model, not before

    return read_canvas(value) is not None


def font_handler(generator, workdir: Path):
    """The tab's event: (sketch values..., name) → (preview sheet path, font file path)."""
    from kana_keras.font import preview_sheet

    def make(*values):
        *sketches, name = values
        drawings = [v for v in sketches if has_ink(v)]
        if not drawings:
            raise gr.Error("Draw or upload at least one kana first.", print_exception=False)
        try:
            data = generator.font(drawings, name=name or "My hand")
        except ValueError as exc:
            raise gr.Error(str(exc), print_exception=False) from None
        folder = Path(tempfile.mkdtemp(dir=workdir))      # unique per request
        stem = re.sub(r"[^\w-]+", "_", name or "My hand").strip("_") or "font"
        font_path = write_bytes_atomic(folder / f"{stem}.otf", data)
        sheet = save_atomic(Image.fromarray(preview_sheet(data, generator.classes)),
                            folder / "preview.png")
        return str(sheet), str(font_path)

    return make


def font_tab(generator) -> gr.Tab:
    """The Font tab, built inside the caller's ``gr.Blocks``."""
    workdir = tempfile.TemporaryDirectory(prefix="kana-font-")
    with gr.Tab("Font") as tab:
        tab.workdir = workdir                                 # removed with the tab
        gr.Markdown("Draw or upload one to five kana in your hand; all 146 kana are drawn "
                    "in it and built into an OpenType font.")
        with gr.Row():
            sketches = [gr.Sketchpad(type="numpy", canvas_size=(256, 256), sources=("upload",),
                                     label=f"Kana {i + 1}") for i in range(CANVASES)]
        name = gr.Textbox("My hand", label="Font name", max_length=63)
        go = gr.Button("Make my font", variant="primary")
        with gr.Row():
            sheet = gr.Image(type="filepath", label="All 146 kana in your hand", scale=3)
            download = gr.File(label="Your font (.otf)", scale=1)
        go.click(font_handler(generator, Path(workdir.name)), [*sketches, name],
                 [sheet, download], api_name="font")
    return tab
