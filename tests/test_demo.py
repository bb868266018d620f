"""The demo app, driven through its named API endpoints with gradio_client, as users' scripts do.

A tiny model (trained for one epoch on the tiny synthetic cache) stands in for the shipped
weights: these tests check the app's wiring and its answers to bad input, not drawing quality.
"""

from __future__ import annotations

import inspect
import io
import os
import socket
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageSequence

from kana_keras import images

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "demo"))

ENDPOINTS = {"/sample", "/reconstruct", "/redraw", "/interpolate", "/write", "/font"}


# ## Fixtures: tiny weights, the launched app, a client

_TINY_WEIGHTS: dict[str, Path] = {}


def tiny_weights(tmp_path_factory, cache_path) -> Path:
    """A one-epoch VAE plus recognizer on the tiny cache, made once per session (< 1 min on CPU)."""
    if "path" not in _TINY_WEIGHTS:
        from kana_keras.cache import Cache
        from kana_keras.model import KanaVAE, save_vae
        from kana_keras.preprocess import PREPROCESS_PARAMS
        from kana_keras.recognizer import train_recognizer

        out = tmp_path_factory.mktemp("demo-weights")
        cache = Cache.open(cache_path)
        pixels = cache.images("train")[..., None].astype("float32") / 255.0
        vae = KanaVAE(image_size=cache.image_size, latent_dim=8, num_classes=len(cache.classes),
                      encoder_filters=(16, 32), decoder_filters=(32, 16), hidden_dim=64, seed=0)
        vae.compile(optimizer="adam")
        vae.fit(pixels, cache.labels("train"), epochs=1, batch_size=64, verbose=0)
        save_vae(vae, out, cache.classes, extra={"preset": "test", "preprocess": PREPROCESS_PARAMS})
        train_recognizer(cache_path, out, epochs=1, batch_size=64, seed=0, photo_pool_size=64,
                         photo_eval=32, progress=False)
        _TINY_WEIGHTS["path"] = out
    return _TINY_WEIGHTS["path"]


@pytest.fixture(scope="session")
def demo_weights(tmp_path_factory, tiny_cache):
    return tiny_weights(tmp_path_factory, tiny_cache)


@pytest.fixture(scope="module")
def app(demo_weights):
    """The demo launched in this process on a free localhost port, as `python demo/app.py` does."""
    from app import build_demo
    from kana_keras.inference import KanaGenerator

    demo = build_demo(KanaGenerator.load(demo_weights))
    demo.launch(server_name="127.0.0.1", prevent_thread_lock=True, quiet=True)
    yield demo
    demo.close()


@pytest.fixture(scope="module")
def client(app):
    from gradio_client import Client

    return Client(app.local_url, verbose=False)


# ## Helpers: inputs people send


def save(tmp_path, name, array_or_image) -> str:
    path = tmp_path / name
    if not isinstance(array_or_image, Image.Image):
        array_or_image = Image.fromarray(array_or_image)
    array_or_image.save(path)
    return str(path)


def stroke_layer(side=200) -> np.ndarray:
    """A Sketchpad drawing layer: black brush, transparent elsewhere (the ink is the alpha)."""
    import cv2

    layer = np.zeros((side, side, 4), np.uint8)
    s = side / 10
    pts = (np.array([[2, 3], [8, 3], [5, 1], [5, 9], [3, 7]]) * s).astype(np.int32)
    cv2.polylines(layer, [pts], False, (0, 0, 0, 255), max(2, side // 40), cv2.LINE_AA)
    return layer


def sketch(tmp_path, layer=None, composite=None):
    """The Sketchpad's API value: layers only, as API callers send it (no composite)."""
    from gradio_client import handle_file

    layers = [] if layer is None else [handle_file(save(tmp_path, "layer.png", layer))]
    if composite is not None:
        composite = handle_file(save(tmp_path, "comp.png", composite))
    return {"background": None, "layers": layers, "composite": composite}


def kana_photo(char="あ", size=(6000, 4000)) -> Image.Image:
    """A phone-photo-like picture of one kana: blue ink on unevenly lit paper, large."""
    import cv2

    from kana_keras import kanjivg

    w, h = size
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    paper = (200 + 40 * xx / w - 25 * yy / h)[..., None] * np.array([1.0, 0.97, 0.9], np.float32)
    picture = np.clip(paper, 0, 255).astype(np.uint8)
    scale = 0.6 * h / kanjivg.KANJIVG_BOX
    for stroke in kanjivg.strokes(char):
        pts = (stroke * scale + [0.3 * w, 0.2 * h]).astype(np.int32)
        cv2.polylines(picture, [pts], False, (40, 50, 140), max(3, h // 120), cv2.LINE_AA)
    return Image.fromarray(picture)


def read_image(path) -> np.ndarray:
    with Image.open(path) as img:
        return np.asarray(img.convert("L"))


# ## Every named endpoint


def test_api_names_every_endpoint(client):
    api = client.view_api(return_format="dict", print_info=False)
    assert set(api["named_endpoints"]) == ENDPOINTS


def test_sample_same_seed_same_grid(client):
    first = read_image(client.predict([], 6, 7, 1.0, api_name="/sample"))
    again = read_image(client.predict([], 6, 7, 1.0, api_name="/sample"))
    other = read_image(client.predict([], 6, 8, 1.0, api_name="/sample"))
    np.testing.assert_array_equal(first, again)
    assert first.shape == other.shape and not np.array_equal(first, other)
    assert first.min() < 128 < first.max()  # black ink on white paper


def test_sample_chosen_characters_and_count(client):
    grid4 = read_image(client.predict(["あ", "カ"], 4, 0, 0.5, api_name="/sample"))
    grid16 = read_image(client.predict(["あ"], 16, 0, 0.5, api_name="/sample"))
    assert grid16.size > 2 * grid4.size  # more cells, bigger picture


def test_reconstruct_a_drawing_from_its_layer_alone(client, tmp_path):
    prepared, recon, top, meant = client.predict(sketch(tmp_path, stroke_layer()), None,
                                                 api_name="/reconstruct")
    prepared, recon = read_image(prepared), read_image(recon)
    assert prepared.shape == recon.shape
    assert prepared.min() < 128 and np.median(prepared) > 128  # the stroke, black on white
    assert len(top["confidences"]) == 3
    probs = [c["confidence"] for c in top["confidences"]]
    assert probs == sorted(probs, reverse=True) and 0 < sum(probs) <= 1.0001
    # "Redraw as" offers the top 3 first and starts at the kana it was redrawn as
    assert meant["value"] == top["label"]
    assert [c for c, _ in meant["choices"][:3]] == [c["label"] for c in top["confidences"]]


def test_redraw_as_another_kana(client, tmp_path, demo_weights):
    """"Redraw as": the same drawing decoded as the kana the writer meant, as the API does."""
    from kana_keras.inference import KanaGenerator

    drawing = sketch(tmp_path, stroke_layer())
    top = client.predict(drawing, None, api_name="/reconstruct")[2]
    meant = next(c for c in "あかさたな" if c != top["label"])
    as_meant = read_image(client.predict(drawing, None, meant, api_name="/redraw"))
    as_read = read_image(client.predict(drawing, None, top["label"], api_name="/redraw"))
    assert as_meant.shape == as_read.shape and not np.array_equal(as_meant, as_read)
    gen = KanaGenerator.load(demo_weights)
    expected = gen.reconstruct({"layers": [stroke_layer()]}, kana=meant).reconstruction
    step = as_meant.shape[0] // expected.shape[0]
    assert np.abs(as_meant[::step, ::step].astype(int) - expected).mean() < 2  # enlarged


def test_reconstruct_reads_the_alpha_not_a_dark_mode_composite(client, tmp_path):
    """Dark mode: black ink on a dark grey composite; the layer's alpha still has the drawing."""
    layer = stroke_layer()
    dark = np.full(layer.shape, (40, 40, 40, 255), np.uint8)
    dark[layer[..., 3] > 0] = (0, 0, 0, 255)
    alone = client.predict(sketch(tmp_path, layer), None, api_name="/reconstruct")[0]
    both = client.predict(sketch(tmp_path, layer, composite=dark), None, api_name="/reconstruct")[0]
    np.testing.assert_array_equal(read_image(alone), read_image(both))


def test_reconstruct_large_photo_upload(client, tmp_path):
    from gradio_client import handle_file

    path = tmp_path / "photo.jpg"
    kana_photo().save(path, quality=90)
    prepared, recon, top, _ = client.predict(None, handle_file(str(path)),
                                             api_name="/reconstruct")
    prepared, recon = read_image(prepared), read_image(recon)
    assert prepared.min() < 128 and recon.shape == prepared.shape
    assert top["label"]


def test_reconstruct_transparent_png_with_ink(client, tmp_path):
    from gradio_client import handle_file

    path = save(tmp_path, "canvas-export.png", stroke_layer(300))
    prepared = client.predict(None, handle_file(path), api_name="/reconstruct")[0]
    assert read_image(prepared).min() < 128


def test_interpolate_chosen_and_drawn_ends(client, tmp_path):
    strip_path, gif_path = client.predict("あ", None, "ン", None, 5, api_name="/interpolate")
    strip = read_image(strip_path)
    frame_ms = inspect.signature(images.save_gif).parameters["duration_ms"].default
    with Image.open(gif_path) as gif:  # 5 steps there, 3 back (Pillow merges equal frames)
        assert gif.format == "GIF"
        assert sum(frame.info["duration"] for frame in ImageSequence.Iterator(gif)) == 8 * frame_ms
    assert strip.shape[1] > 4 * strip.shape[0]  # five frames side by side
    drawn, _ = client.predict("あ", sketch(tmp_path, stroke_layer()), "ン", None, 5,
                              api_name="/interpolate")
    drawn = read_image(drawn)
    assert drawn.shape == strip.shape and not np.array_equal(drawn, strip)  # it used the drawing


def test_write_text_with_spaces_and_style(client, tmp_path):
    short = read_image(client.predict("あい", 0, None, api_name="/write"))
    spaced = read_image(client.predict("あい う", 0, None, api_name="/write"))
    assert spaced.shape[1] > short.shape[1]
    again = read_image(client.predict("あい う", 0, None, api_name="/write"))
    np.testing.assert_array_equal(spaced, again)  # one seed, one handwriting
    plain = read_image(client.predict("カタカナ", 0, None, api_name="/write"))
    styled = read_image(client.predict("カタカナ", 0, sketch(tmp_path, stroke_layer()),
                                       api_name="/write"))
    assert styled.shape == plain.shape and not np.array_equal(styled, plain)  # the drawing's style


# ## Bad input: a clear message each time, and the app keeps serving


def bad_inputs(tmp_path):
    from gradio_client import handle_file

    def upload(name, picture):
        return None, handle_file(save(tmp_path, name, picture))

    text = tmp_path / "notes.txt"
    text.write_text("not a picture")
    fake_png = tmp_path / "notes.png"
    fake_png.write_bytes(b"this is not a PNG at all")
    drawn = tmp_path / "drawn"  # sketch() names its file layer.png: one folder per drawing
    drawn.mkdir()
    return {
        "empty canvas": ("/reconstruct", (sketch(tmp_path, np.zeros((64, 64, 4), np.uint8)), None),
                         "draw a kana"),
        "nothing at all": ("/reconstruct", (None, None), "draw a kana"),
        "all-white image": ("/reconstruct", upload("white.png", np.full((480, 640), 255, np.uint8)),
                            "empty"),
        "all-black image": ("/reconstruct", upload("black.png", np.zeros((480, 640, 3), np.uint8)),
                            "empty"),
        "transparent PNG": ("/reconstruct", upload("clear.png", np.zeros((300, 300, 4), np.uint8)),
                            "empty"),
        "text file": ("/reconstruct", (None, handle_file(str(text))), "file type"),
        "text named .png": ("/reconstruct", (None, handle_file(str(fake_png))), "notes.png"),
        "unknown characters": ("/write", ("あAb漢 い", 0, None), "漢"),
        "no text": ("/write", ("   ", 0, None), "type some kana"),
        "no ends": ("/interpolate", (None, None, "ン", None, 5), "choose or draw"),
        "negative seed": ("/sample", ([], 2, -1, 1.0), "Seed must be a whole number ≥ 0, got -1"),
        "negative write seed": ("/write", ("あい", -3, None), "whole number ≥ 0, got -3"),
        "5,000 kana": ("/write", ("あ" * 5000, 0, None), "5,000 characters, at most 400"),
        "redraw as two kana": ("/redraw", (sketch(drawn, stroke_layer()), None, "あい"),
                               "one kana, got 'あい'"),
        "redraw as unknown": ("/redraw", (sketch(drawn, stroke_layer()), None, "漢"), "漢"),
        "redraw nothing": ("/redraw", (None, None, "あ"), "draw a kana"),
    }


BAD = ["empty canvas", "nothing at all", "all-white image", "all-black image", "transparent PNG",
       "text file", "text named .png", "unknown characters", "no text", "no ends",
       "negative seed", "negative write seed", "5,000 kana", "redraw as two kana",
       "redraw as unknown", "redraw nothing"]


@pytest.mark.parametrize("case", BAD)
def test_bad_input_gets_a_clear_message(client, tmp_path, case):
    from gradio_client.exceptions import AppError

    endpoint, args, expected = bad_inputs(tmp_path)[case]
    with pytest.raises(AppError) as err:
        client.predict(*args, api_name=endpoint)
    message = str(err.value)
    assert len(message) > 15 and "Traceback" not in message, message
    assert expected.lower() in message.lower(), message
    assert read_image(client.predict([], 2, 0, 1.0, api_name="/sample")).size  # still serving


def test_unknown_characters_are_named(client):
    from gradio_client.exceptions import AppError

    with pytest.raises(AppError) as err:
        client.predict("あA漢", 0, None, api_name="/write")
    assert "A" in str(err.value) and "漢" in str(err.value)


# ## The command line, as people start it: --share where no tunnel can open, then load


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def served(demo_weights):
    """`python demo/app.py --share` in its own process (its own GIL: the load test's clients
    and the server do not share one); yields (local URL, its output lines so far)."""
    port = free_port()
    env = {**os.environ, "GRADIO_ANALYTICS_ENABLED": "False", "PYTHONUNBUFFERED": "1",
           # no internet here; elsewhere this points the tunnel at a dead local address
           "GRADIO_SHARE_SERVER_ADDRESS": f"127.0.0.1:{free_port()}"}
    proc = subprocess.Popen([sys.executable, str(ROOT / "demo" / "app.py"), "--share", "--weights",
                             str(demo_weights), "--port", str(port)], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, env=env, cwd=ROOT)
    lines: list[str] = []
    threading.Thread(target=lambda: lines.extend(proc.stdout), daemon=True).start()
    try:
        deadline = time.monotonic() + 180
        while not any("link" in line for line in lines):
            assert proc.poll() is None and time.monotonic() < deadline, "".join(lines)
            time.sleep(0.2)
        yield f"http://127.0.0.1:{port}", lines
        assert proc.poll() is None, "".join(lines)  # still serving after every test
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_share_without_internet_says_so_and_serves_locally(served):
    import httpx

    url, lines = served
    links = [line for line in lines if "share link" in line.lower() or "public link" in line]
    assert len(links) == 1 and "No public link" in links[0] and url in links[0], "".join(lines)
    assert httpx.get(url, timeout=30).status_code == 200


def test_load_20_clients_x_50_requests(served, tmp_path):
    """20 users at once, 50 requests each over the four endpoints (Gradio's REST API): 0 errors."""
    import httpx

    url, _ = served
    with httpx.Client(base_url=url, timeout=60) as http:
        png = io.BytesIO()
        Image.fromarray(stroke_layer(96)).save(png, "PNG")
        [layer] = http.post("/gradio_api/upload",
                            files={"files": ("layer.png", png.getvalue())}).json()
    layer = {"path": layer, "meta": {"_type": "gradio.FileData"}}
    calls = [("sample", [[], 4, 1, 1.0]), ("reconstruct", [{"layers": [layer]}, None]),
             ("interpolate", ["あ", None, "か", None, 3]), ("write", ["かな", 0, None])]
    errors, done = [], []

    def user(index):
        with httpx.Client(base_url=url, timeout=120) as http:
            for i in range(50):
                name, data = calls[(index + i) % len(calls)]
                try:
                    posted = http.post(f"/gradio_api/call/{name}", json={"data": data})
                    event = posted.json()["event_id"]
                    answer = http.get(f"/gradio_api/call/{name}/{event}").text
                    assert "event: complete" in answer, answer[:300]
                    done.append(name)
                except Exception as e:  # noqa: BLE001 - every failure is counted and shown
                    errors.append(f"{name}: {e!r}")

    with ThreadPoolExecutor(20) as pool:
        for future in [pool.submit(user, i) for i in range(20)]:
            future.result(timeout=600)
    assert errors == [] and len(done) == 1000, errors[:5]


def run_app(*args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(ROOT / "demo" / "app.py"), *args],
                          capture_output=True, text=True, timeout=180,
                          env={**os.environ, "GRADIO_ANALYTICS_ENABLED": "False"})


@pytest.mark.parametrize("port", ["99999", "0", "-1"])
def test_port_out_of_range_is_one_line(demo_weights, port):
    result = run_app("--weights", str(demo_weights), "--port", port)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr == f"error: --port {port}: expected a port number from 1 to 65535\n"


def test_port_in_use_is_one_line(demo_weights):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run_app("--weights", str(demo_weights), "--port", str(port))
    assert result.returncode == 2 and result.stderr.count("\n") == 1, result.stderr
    assert result.stderr.startswith(f"error: --port {port}: 127.0.0.1:{port} cannot be used")
    assert "choose another --port" in result.stderr


def test_missing_weights_folder_is_a_clear_error(tmp_path):
    command = [sys.executable, str(ROOT / "demo" / "app.py"), "--weights", str(tmp_path / "no"),
               "--port", str(free_port())]  # 7860 may be serving another demo
    result = subprocess.run(command, capture_output=True, text=True, timeout=180,
                            env={**os.environ, "GRADIO_ANALYTICS_ENABLED": "False"})
    assert result.returncode == 2
    assert str(tmp_path / "no") in result.stderr and "kana_keras.fit" in result.stderr
    assert "Traceback" not in result.stderr
