"""The demo in a real browser: headless Chromium, driven by Playwright, as a person would use it.

Also the README's screenshot taker (real weights, one PNG per tab):

    python tests/test_browser.py --screenshots docs/screenshots [--weights weights]

Under pytest, set KANA_SCREENSHOTS=DIR to keep the tiny test model's screenshots.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from pathlib import Path

import pytest

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "demo"))

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run"]
WAIT_MS = 120_000  # a loaded 2-core CI machine answers slowly; a missing answer still fails

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.skipif(not Path(CHROMIUM).exists(),
                       reason="headless Chromium is not installed (apt-get install chromium)"),
]


# ## What a person does on each tab


def output_image(page, label):
    """The <img> inside the output block whose label reads `label`."""
    block = page.get_by_role("tabpanel").locator(".block").filter(
        has=page.get_by_text(label, exact=True))
    return block.locator("img")


def open_tab(page, name):
    page.get_by_role("tab", name=name).click()
    return page.get_by_role("tabpanel")


def draw_kana(page, panel):
    """Two strokes with the mouse on the tab's first Sketchpad (pick the brush first)."""
    from playwright.sync_api import expect

    panel.get_by_role("button", name="Brush").first.click()
    canvas = panel.locator("canvas").first
    expect(canvas).to_be_visible()
    box = canvas.bounding_box()
    cx, cy = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    for (x0, y0), (x1, y1) in [((-60, -50), (60, -40)), ((0, -90), (-15, 90))]:
        page.mouse.move(cx + x0, cy + y0)
        page.mouse.down()
        page.mouse.move(cx + x1, cy + y1, steps=20)
        page.mouse.up()


def shoot(page, shots, name):
    if shots is not None:
        shots.mkdir(parents=True, exist_ok=True)
        # an error toast left over from an earlier step would hide part of the picture
        page.locator('[data-testid="toast-body"]').evaluate_all("els => els.forEach(e => e.remove())")
        page.screenshot(path=str(shots / f"{name}.png"), full_page=True)


def tour(page, url, shots: Path | None = None):
    """Open every tab, use it once, see its answer appear; a screenshot of each if asked."""
    from playwright.sync_api import expect

    page.goto(url, wait_until="networkidle")
    names = ["Sample", "Reconstruct", "Interpolate", "Write", "Font"]
    expect(page.get_by_role("tab")).to_have_count(len(names), timeout=WAIT_MS)
    tabs = [t.inner_text() for t in page.get_by_role("tab").all()]
    assert tabs == names, tabs

    panel = open_tab(page, "Sample")
    for char in ("か", "ナ"):
        panel.get_by_label("Characters (empty: random)").click()
        page.get_by_role("option", name=char, exact=True).click()
    page.keyboard.press("Escape")
    panel.get_by_role("button", name="Sample", exact=True).click()
    expect(output_image(page, "New kana")).to_be_visible(timeout=WAIT_MS)
    shoot(page, shots, "sample")

    panel = open_tab(page, "Reconstruct")
    panel.get_by_role("button", name="Reconstruct", exact=True).click()  # nothing drawn yet
    expect(page.get_by_text("draw a kana on the canvas").first).to_be_visible(timeout=WAIT_MS)
    draw_kana(page, panel)
    panel.get_by_role("button", name="Reconstruct", exact=True).click()
    expect(output_image(page, "Reconstruction")).to_be_visible(timeout=WAIT_MS)
    expect(output_image(page, "As the model sees it")).to_be_visible()
    expect(panel.get_by_test_id("label-output-value")).to_be_visible()
    shoot(page, shots, "reconstruct")
    # "Redraw as": type the kana meant, and the same drawing comes back as that kana
    first = output_image(page, "Reconstruction").get_attribute("src")
    meant = panel.get_by_label("Redraw as (the top 3, or any kana)")
    expect(meant).not_to_have_value("")  # it starts at the kana it was redrawn as
    kana = "ン" if meant.input_value() != "ン" else "あ"
    meant.fill(kana)
    page.keyboard.press("Enter")
    panel.get_by_role("button", name="Redraw as", exact=True).click()
    expect(output_image(page, "Reconstruction")).not_to_have_attribute("src", first,
                                                                       timeout=WAIT_MS)

    panel = open_tab(page, "Interpolate")
    expect(panel.get_by_label("From kana")).to_be_visible()
    panel.get_by_role("button", name="Interpolate", exact=True).click()
    expect(output_image(page, "Animation")).to_be_visible(timeout=WAIT_MS)
    expect(output_image(page, "Steps")).to_be_visible()
    shoot(page, shots, "interpolate")

    panel = open_tab(page, "Write")
    panel.get_by_label("Kana text").fill("ありがとう カタカナ")
    panel.get_by_role("button", name="Write", exact=True).click()
    expect(output_image(page, "Written")).to_be_visible(timeout=WAIT_MS)
    shoot(page, shots, "write")


def browse(url, shots=None):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.set_default_timeout(WAIT_MS)
            tour(page, url, shots)
        finally:
            browser.close()


# ## The test


def test_every_tab_in_a_real_browser(tmp_path_factory, tiny_cache, tmp_path):
    from test_demo import tiny_weights  # one tiny model per session, shared with test_demo

    from app import build_demo
    from kana_keras.inference import KanaGenerator

    demo = build_demo(KanaGenerator.load(tiny_weights(tmp_path_factory, tiny_cache)))
    demo.launch(server_name="127.0.0.1", prevent_thread_lock=True, quiet=True)
    shots = Path(os.environ.get("KANA_SCREENSHOTS") or tmp_path)
    try:
        browse(demo.local_url, shots)
    finally:
        demo.close()
    assert {"sample.png", "reconstruct.png", "interpolate.png", "write.png"} <= {
        p.name for p in shots.glob("*.png")}


# ## README screenshots with real weights


def main(argv=None):
    parser = argparse.ArgumentParser(description="Screenshot each tab of the demo in Chromium.")
    parser.add_argument("--screenshots", type=Path, default=ROOT / "docs" / "screenshots")
    parser.add_argument("--weights", type=Path, default=ROOT / "weights")
    args = parser.parse_args(argv)
    from app import build_demo
    from kana_keras.inference import KanaGenerator

    demo = build_demo(KanaGenerator.load(args.weights))
    demo.launch(server_name="127.0.0.1", prevent_thread_lock=True, quiet=True)
    try:
        browse(demo.local_url, args.screenshots)
    finally:
        demo.close()
    print(f"screenshots in {args.screenshots}")


if __name__ == "__main__":
    main()
