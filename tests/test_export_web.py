"""The static web export: its ONNX decoder against Keras, and the page in headless Chromium.

The shipped weights are exported once per module; the page is served from 127.0.0.1 with
every other address refused, as a visitor with no network past the static host would see it.

    python tests/test_export_web.py --screenshot docs/screenshots/web.png   # README picture
"""

from __future__ import annotations

import argparse
import base64
import functools
import io
import json
import os
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from test_browser import CHROMIUM, CHROMIUM_ARGS, WAIT_MS

ROOT = Path(__file__).resolve().parents[1]
WEIGHTS = ROOT / "weights"
PER_CLASS = 7  # 146 kana x 7 = 1,022 a press, the page's most (MAX_SAMPLES = 1,024)
PRESSES = 3  # 3,066 samples a side: the difference's standard error is about 1 point

needs_weights = pytest.mark.skipif(not (WEIGHTS / "kana_vae.weights.h5").is_file(),
                                   reason="the shipped weights are not in weights/")


# ## Fixtures: the generator, the exported site, a static server


@pytest.fixture(scope="module")
def generator():
    from kana_keras.inference import KanaGenerator

    return KanaGenerator.load(WEIGHTS)


@pytest.fixture(scope="module")
def site(generator, tmp_path_factory):
    from kana_keras.export.web import export_web

    return export_web(generator, tmp_path_factory.mktemp("site"))


class StaticFiles(SimpleHTTPRequestHandler):
    extensions_map = {**SimpleHTTPRequestHandler.extensions_map, ".mjs": "text/javascript",
                      ".wasm": "application/wasm", ".js": "text/javascript"}

    def log_message(self, *args):
        pass


def serve(folder):
    """A static file server for ``folder`` on a free 127.0.0.1 port -> (server, base URL)."""
    server = ThreadingHTTPServer(("127.0.0.1", 0),
                                 functools.partial(StaticFiles, directory=str(folder)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/"


def read_tables(site):
    """tables.bin back as numpy arrays, by meta.json's offsets (what kana.js reads)."""
    meta = json.loads((site / "meta.json").read_text(encoding="utf-8"))
    blob = (site / "tables.bin").read_bytes()
    return {name: np.frombuffer(blob, "<f4", int(np.prod(shape)), offset).reshape(shape)
            for name, (offset, shape) in meta["tables"].items()}


# ## The ONNX decoder draws what Keras draws


@needs_weights
def test_onnx_decoder_matches_keras_for_a_z_and_a_kana(generator, site):
    import onnxruntime

    from kana_keras.export.onnx import decoder_inputs

    session = onnxruntime.InferenceSession(str(site / "decoder.onnx"))
    names = [x.name for x in session.get_inputs()]
    tables = read_tables(site)
    labels = np.array([generator.classes.index(c) for c in "あをンぱゴ"])
    z = np.random.default_rng(1).standard_normal((len(labels), generator.latent_dim))
    z = z.astype(np.float32)
    page = session.run(None, dict(zip(names, decoder_inputs(tables, z, labels))))[0]
    np.testing.assert_allclose(page, generator.vae.decode(z, labels), atol=1e-4)
    w = np.linspace(0, 1, len(labels), dtype=np.float32)  # a morph あ -> ン, as interpolate
    mixed = session.run(None, dict(zip(names, decoder_inputs(tables, z, 0, 2, w))))[0]
    np.testing.assert_allclose(mixed, generator.vae.decode_blend(z, 0, 2, w), atol=1e-4)


@needs_weights
def test_tables_map_styles_as_from_style(generator, site):
    tables = read_tables(site)
    labels = np.arange(len(generator.classes))
    eps = np.random.default_rng(2).standard_normal((len(labels), generator.latent_dim))
    page = tables["mean"] + np.einsum("cij,cj->ci", tables["scale"], eps)
    np.testing.assert_allclose(page, generator.vae.from_style(eps, labels), atol=1e-4)


def test_a_model_whose_styles_are_not_affine_is_refused():
    from kana_keras.export.onnx import prior_tables

    class Bent:
        num_classes, latent_dim = 3, 4

        def from_style(self, eps, labels):
            return np.asarray(eps) ** 3

    with pytest.raises(ValueError, match="not affine"):
        prior_tables(Bent())


def test_export_command_names_a_missing_weights_folder(tmp_path):
    import subprocess
    import sys

    result = subprocess.run([sys.executable, "-m", "kana_keras.export", "web", "--weights",
                             str(tmp_path / "none"), "--out", str(tmp_path / "site")],
                            capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert result.returncode == 2
    assert result.stderr == (f"error: --weights {tmp_path / 'none'}: no such folder (train one "
                             "with `python -m kana_keras.fit --out DIR`)\n")


# ## The page in a browser, with no network


def open_page(browser, url):
    """A page that may reach only 127.0.0.1, loaded until its first sample is drawn."""
    page = browser.new_page(viewport={"width": 1100, "height": 900})
    page.set_default_timeout(WAIT_MS)
    page.route("**/*", lambda route: route.continue_() if route.request.url.startswith(url)
               else route.abort())
    page.goto(url)
    page.wait_for_function("window.kana && (kana.timings.firstSample || kana.timings.error)")
    assert page.evaluate("kana.timings.error || null") is None
    return page


def canvas_cells(page, selector, size):
    """The canvas's pixels, one (size, size) uint8 cell each, and the kana it says it drew."""
    data = page.evaluate(f"document.querySelector('{selector}').toDataURL('image/png')")
    with Image.open(io.BytesIO(base64.b64decode(data.split(",", 1)[1]))) as img:
        pixels = np.asarray(img.convert("L"))
    drawn = page.evaluate(f"document.querySelector('{selector}').dataset.kana")
    cols = pixels.shape[1] // size
    cells = [pixels[(i // cols) * size:(i // cols + 1) * size, (i % cols) * size:(i % cols + 1) * size]
             for i in range(len(drawn))]
    return cells, drawn


def read_rate(generator, pictures, kana) -> float:
    """Share of pictures the recognizer reads as the kana they were drawn as."""
    read = generator.recognize_batch(list(pictures))
    return float(np.mean([r is not None and r[0][0] == k for r, k in zip(read, kana)]))


@pytest.mark.browser
@pytest.mark.slow
@needs_weights
@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="headless Chromium is not installed")
def test_the_page_samples_kana_the_recognizer_reads_as_python_samples(generator, site):
    from playwright.sync_api import expect, sync_playwright

    server, url = serve(site)
    wanted = "".join(generator.classes)
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = open_page(browser, url)
            timings = page.evaluate("kana.timings")
            print(f"\nfirst sample {timings['firstSample'] - timings['ready']:.0f} ms after the "
                  f"model loaded, {timings['firstSample']:.0f} ms after navigation")
            page.get_by_label("Characters (empty: random)").fill(wanted)
            page.get_by_label("How many").fill(str(PER_CLASS * len(wanted)))
            cells, drawn = [], ""
            for _ in range(PRESSES):
                page.evaluate("document.querySelector('#sample-canvas').dataset.kana = ''")
                page.get_by_role("button", name="Sample").click()
                page.wait_for_function(f"document.querySelector('#sample-canvas').dataset.kana"
                                       f".length === {PER_CLASS * len(wanted)}")
                more, kana = canvas_cells(page, "#sample-canvas", generator.image_size)
                cells, drawn = cells + more, drawn + kana

            page.get_by_role("tab", name="Write").click()
            for text, message in (("あ漢い", "unknown character(s) '漢'"),
                                  ("  ", "no text to write")):
                page.get_by_label("Kana text").fill(text)
                page.get_by_role("button", name="Write").click()
                expect(page.locator("#write-message")).to_contain_text(message)
            page.get_by_label("Kana text").fill("ありがとう カタカナ")
            page.get_by_role("button", name="Write").click()
            expect(page.locator("#write-message")).to_have_text("")
            page.get_by_role("tab", name="Interpolate").click()
            page.get_by_role("button", name="Interpolate").click()
            expect(page.locator("#interpolate-message")).to_have_text("")
            browser.close()
    finally:
        server.shutdown()
    assert drawn == wanted * PER_CLASS * PRESSES
    python = np.concatenate([generator.sample(PER_CLASS * len(wanted), kana=wanted, seed=seed)
                             for seed in range(PRESSES)])
    in_page, in_python = read_rate(generator, cells, drawn), read_rate(generator, python, drawn)
    print(f"recognised: page {in_page:.3f}, Python {in_python:.3f} over {len(drawn)} samples")
    assert abs(in_page - in_python) <= 0.03


def main(argv=None):
    """Export the shipped weights, open the page, take the README's screenshot."""
    from playwright.sync_api import sync_playwright

    from kana_keras.export.web import export_web
    from kana_keras.inference import KanaGenerator

    parser = argparse.ArgumentParser(description="Screenshot the static web export.")
    parser.add_argument("--screenshot", type=Path, default=ROOT / "docs/screenshots/web.png")
    parser.add_argument("--out", type=Path, default=Path("/tmp/kana-site"))
    args = parser.parse_args(argv)
    site = export_web(KanaGenerator.load(WEIGHTS), args.out)
    server, url = serve(site)
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = open_page(browser, url)
            print(json.dumps(page.evaluate("kana.timings")))
            page.screenshot(path=str(args.screenshot), full_page=True)
            browser.close()
    finally:
        server.shutdown()


if __name__ == "__main__":
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    main()
