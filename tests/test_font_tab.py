"""demo/font_tab.py: the Font tab's event, called directly and through gradio_client on a
small Blocks holding only that tab (shipped weights: the font must be a real one)."""

from __future__ import annotations

import io
import sys
from pathlib import Path

import gradio as gr
import numpy as np
import pytest
from PIL import Image, ImageFont

from kana_keras import photos

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "demo"))
from font_tab import font_handler, font_tab, has_ink  # noqa: E402

pytestmark = pytest.mark.slow


def layer(char="あ", seed=0, size=256) -> np.ndarray:
    """A Sketchpad-like RGBA layer of a kana drawn with a pen."""
    rng = np.random.default_rng(seed)
    return photos.canvas_layer(photos.stroke_glyph(char, rng, 256, 10), rng, size)


EMPTY = {"background": None, "layers": [], "composite": None}


@pytest.fixture(scope="module")
def gen():
    from kana_keras.inference import KanaGenerator

    return KanaGenerator.load(ROOT / "weights")


def test_has_ink_tells_drawings_from_empty_canvases():
    assert has_ink({"layers": [layer()]})
    assert not has_ink(EMPTY) and not has_ink(None)
    assert not has_ink({"layers": [np.zeros((64, 64, 4), np.uint8)], "composite": None})


def test_handler_makes_a_font_and_a_sheet(gen, tmp_path):
    make = font_handler(gen, tmp_path)
    sketches = [{"layers": [layer("あ")]}, EMPTY, {"layers": [layer("き", 1)]}, EMPTY, EMPTY]
    sheet, font_path = make(*sketches, "テスト")
    assert font_path.endswith("テスト.otf")
    from fontTools.ttLib import TTFont

    assert TTFont(font_path)["name"].getDebugName(1) == "テスト"   # Pillow shows "???" for it
    assert ImageFont.truetype(font_path, 32).getbbox("あ")[2] > 0
    page = np.asarray(Image.open(sheet))
    assert page.shape[1] == 16 * 48 and (page < 128).mean() > 0.01      # 146 kana drawn


def test_handler_says_what_is_missing(gen, tmp_path):
    make = font_handler(gen, tmp_path)
    with pytest.raises(gr.Error, match="at least one kana"):
        make(*[EMPTY] * 5, "x")
    with pytest.raises(gr.Error, match="--name must be at most 63"):
        make({"layers": [layer()]}, *[EMPTY] * 4, "x" * 80)


def test_tab_through_gradio_client(gen, tmp_path):
    from gradio_client import Client, handle_file

    with gr.Blocks() as demo:
        font_tab(gen)
    demo.launch(server_name="127.0.0.1", prevent_thread_lock=True, quiet=True)
    try:
        path = tmp_path / "a.png"
        Image.fromarray(layer("あ")).save(path)
        value = {"background": None, "layers": [handle_file(str(path))], "composite": None}
        client = Client(demo.local_url, verbose=False)
        sheet, font_path = client.predict(value, EMPTY, EMPTY, EMPTY, EMPTY, "Hand",
                                          api_name="/font")
        assert Path(font_path).name == "Hand.otf"
        data = Path(font_path).read_bytes()
        assert ImageFont.truetype(io.BytesIO(data), 32).getname() == ("Hand", "Regular")
        assert Image.open(sheet).size[0] == 16 * 48
        client.close()
    finally:
        demo.close()
