"""preprocess.prepare on inputs that imitate reality, each compared with a clean rendering.

A kana is drawn from its KanjiVG strokes (ink-high, the clean truth), then photographed in
imitation: paper with light falloff, a shadow, sensor noise, JPEG, coloured ink, a canvas
layer with a transparent background, white on black, a dark-mode canvas, a big photo with
the kana small and off-centre among dust specks. ``prepare`` of the imitation must give the
same ink as ``prepare(clean, ink="high")`` (IoU of the ink masks).
"""

from __future__ import annotations

import io

import cv2
import numpy as np
import pytest
from PIL import Image

from kana_keras import kanjivg
from kana_keras import preprocess
from kana_keras.preprocess import PREPROCESS_PARAMS, prepare, prepare_batch, stroke_width

KANA = "あぬばふり"   # loops, dakuten, separate dots, a tall one
SIZE = 64


def render(char: str, side: int = 400, thick: int = 8, box: float = 0.7,
           offset=(0.0, 0.0), shape=None) -> np.ndarray:
    """Ink-high rendering of a kana (antialiased strokes), the ground truth."""
    h, w = shape or (side, side)
    img = np.zeros((h, w), np.uint8)
    scale = min(h, w) * box / kanjivg.KANJIVG_BOX
    ox = (w - min(h, w) * box) / 2 + offset[0] * w
    oy = (h - min(h, w) * box) / 2 + offset[1] * h
    for stroke in kanjivg.strokes(char):
        pts = np.rint((stroke * scale + [ox, oy]) * 16).astype(np.int32)
        cv2.polylines(img, [pts], False, 255, thick, cv2.LINE_AA, shift=4)
    return img


def iou(a: np.ndarray, b: np.ndarray) -> float:
    a, b = a > 0, b > 0
    return float((a & b).sum() / max((a | b).sum(), 1))


def jpeg(img: np.ndarray, quality: int = 40) -> np.ndarray:
    ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if img.ndim == 2:
        return cv2.imdecode(buf, cv2.IMREAD_GRAYSCALE)
    # what IMREAD_COLOR_RGB gives, on OpenCV releases before it existed too
    return np.ascontiguousarray(cv2.imdecode(buf, cv2.IMREAD_COLOR)[..., ::-1])


def light(shape, rng, falloff=0.45, shadow=0.0) -> np.ndarray:
    """Multiplicative illumination: a linear falloff at a random angle, optional soft shadow."""
    h, w = shape
    yy, xx = np.mgrid[0:h, 0:w] / max(h, w)
    angle = rng.uniform(0, 2 * np.pi)
    ramp = np.cos(angle) * xx + np.sin(angle) * yy
    ramp = (ramp - ramp.min()) / max(np.ptp(ramp), 1e-6)
    field = 1.0 - falloff * ramp
    if shadow:
        mask = np.zeros((h, w), np.float32)
        mask[:, : int(w * rng.uniform(0.3, 0.6))] = shadow
        field = field * (1 - cv2.GaussianBlur(mask, (0, 0), 0.03 * w))
    return field


def on_paper(ink: np.ndarray, rng, paper=(238, 232, 215), pen=(25, 25, 30), falloff=0.45,
             shadow=0.0, noise=5.0, quality=40) -> np.ndarray:
    """An RGB 'photo' of the ink on paper under uneven light, with noise and JPEG."""
    t = (ink.astype(np.float32) / 255.0)[..., None]
    colour = np.array(paper, np.float32) * (1 - t) + np.array(pen, np.float32) * t
    photo = colour * light(ink.shape, rng, falloff, shadow)[..., None]
    photo += rng.normal(0, noise, photo.shape)
    return jpeg(np.clip(photo, 0, 255).astype(np.uint8), quality)


@pytest.fixture(scope="module")
def clean():
    """(ink, prepare(ink, ink='high')) for each kana at two pen widths."""
    out = {}
    for char in KANA:
        for thick in (3, 10):
            ink = render(char, thick=thick)
            out[char, thick] = ink, prepare(ink, SIZE, ink="high")
    return out


# ---------------------------------------------------------------------------------------
# The shared pipeline (ETL arrays)
# ---------------------------------------------------------------------------------------


def test_etl_array_is_cropped_centred_and_keeps_pressure():
    ink = render("り", side=128, thick=5, shape=(127, 128))
    ink = (ink.astype(np.float32) * np.linspace(0.25, 0.9, 128)[None, :]).astype(np.uint8)
    out = prepare(ink, SIZE, ink="high")
    assert out.shape == (SIZE, SIZE) and out.dtype == np.uint8
    ys, xs = np.nonzero(out)
    margin = PREPROCESS_PARAMS["margin"] * SIZE
    # tall kana: touches the top and bottom margins, centred horizontally
    assert ys.min() <= margin + 2 and ys.max() >= SIZE - margin - 3
    assert abs((xs.min() + xs.max()) / 2 - SIZE / 2) < 3
    assert xs.max() - xs.min() < 0.7 * (ys.max() - ys.min())  # aspect ratio kept
    assert out.max() >= 240 and len(np.unique(out[out > 0])) > 20  # grey levels kept
    assert (out == 0).mean() > 0.6  # paper exactly zero


def test_faint_etl4_like_levels_are_stretched():
    ink = render("あ", side=76, thick=3, shape=(76, 72))
    faint = (ink // 255.0 * 3 * 17).astype(np.uint8)  # levels 0..3 of 15, scaled x17
    out = prepare(faint, 32, ink="high")
    assert out.max() >= 240
    assert iou(out, prepare(ink, 32, ink="high")) > 0.75


def test_specks_do_not_move_the_crop(clean):
    ink, ref = clean["ぬ", 10]
    dusty = ink.copy()
    for x, y in ((8, 8), (390, 20), (15, 385), (380, 390)):
        cv2.circle(dusty, (x, y), 2, 255, -1)
    assert iou(prepare(dusty, SIZE, ink="high"), ref) > 0.95


def test_dakuten_and_dots_survive(clean):
    _, ref = clean["ば", 10]
    # the dakuten sit top right: some ink must remain in the right third, upper quarter
    assert ref[: SIZE // 4, 2 * SIZE // 3:].max() > 0


def test_thin_strokes_get_the_floor_thick_ones_stay(clean):
    thin = clean["あ", 3][1]
    thick = clean["あ", 10][1]
    floor = PREPROCESS_PARAMS["min_stroke"] * SIZE
    assert stroke_width(thin) >= 0.7 * floor
    assert stroke_width(thick) > stroke_width(thin)


def etl_like_records(rng, n: int, shape=(127, 128)) -> np.ndarray:
    """Varied ink-high records: 4-bit levels x17 like ETL8G/9G, faint ETL4-like ones (levels
    0..3), pressure gradients, specks, thin and thick pens, tiny and edge-touching kana,
    and the empty kinds (all paper, one grey level, a single dot, noise only)."""
    h, w = shape
    out = np.zeros((n, h, w), np.uint8)
    chars = [c for c in "あいうえおかきくけこさしすせそばぱふりゑヲンヴ" if kanjivg.has_strokes(c)]
    for i in range(n):
        kind = i % 12
        if kind == 0:
            continue  # blank record: all paper
        if kind == 1:
            out[i] = rng.integers(1, 255)  # a single grey level everywhere
            continue
        if kind == 2:
            out[i, rng.integers(h), rng.integers(w)] = 17 * rng.integers(1, 16)  # one dot
            continue
        if kind == 3:
            out[i] = rng.integers(0, 2, (h, w)) * 17  # noise of one level only
            continue
        box = rng.uniform(0.15, 1.0)
        offset = rng.uniform(-0.25, 0.25, 2) if kind == 4 else (0.0, 0.0)
        ink = render(chars[i % len(chars)], thick=int(rng.integers(1, 7)), box=box,
                     offset=offset, shape=shape)
        if kind in (5, 6):  # faint ETL4: levels 0..3 of 15
            ink = (ink.astype(np.float32) / 255 * rng.integers(1, 4)).round().astype(np.uint8) * 17
        elif kind == 7:  # pen pressure fading across the sheet
            ink = (ink * np.linspace(rng.uniform(0.1, 0.5), 1, w)[None, :]).astype(np.uint8)
        elif kind == 8:  # dust specks and a faint paper texture
            for _ in range(4):
                cv2.circle(ink, (int(rng.integers(w)), int(rng.integers(h))), 1, 255, -1)
            ink = np.maximum(ink, rng.integers(0, 2, ink.shape).astype(np.uint8) * 17)
        else:
            ink = (ink // 17) * 17  # 16 levels, as ETL8G stores them
        out[i] = ink
    return out


@pytest.mark.parametrize("shape, size", [((127, 128), 64), ((76, 72), 32), ((63, 64), 48)])
def test_prepare_batch_is_prepare_bit_for_bit(shape, size):
    images = etl_like_records(np.random.default_rng(size), 96, shape)
    out, problems = prepare_batch(images, size, ink="high")
    assert out.shape == (len(images), size, size) and out.dtype == np.uint8
    refused = 0
    for i, image in enumerate(images):
        try:
            expected = prepare(image, size, ink="high")
        except ValueError as exc:  # a blank record: the same message, no picture
            refused += 1
            assert problems[i] == str(exc) and "empty" in problems[i], i
            assert not out[i].any()
            continue
        assert problems[i] is None, (i, problems[i])
        np.testing.assert_array_equal(out[i], expected, err_msg=f"record {i}")
    # the set really holds both kinds (all paper and one-level records are always refused)
    assert 2 * len(images) // 12 <= refused < len(images) // 2


def test_stretch_tables_match_the_per_image_arithmetic():
    """The chunk-wide stretch against the plain one-image form (np.searchsorted on the
    cumulative histogram, a float32 table)."""
    rng = np.random.default_rng(1)
    hists = rng.integers(0, 40, (200, 256)) * (rng.random((200, 256)) < 0.1)
    hists[:, 0] += rng.integers(0, 20000, 200)
    hists[:5] = 0
    hists[np.arange(5), rng.integers(0, 256, 5)] = 500  # one level only
    luts, problems = preprocess._stretch_luts(hists, min_contrast=1)
    for hist, lut, problem in zip(hists, luts, problems):
        cum = np.cumsum(hist)
        n = int(cum[-1])
        lo = int(np.searchsorted(cum, n // 2))
        hi = int(np.searchsorted(cum, n - max(int(0.002 * n), 3)))
        if hi - lo < 1:
            hi = int(np.searchsorted(cum, n))
        if hi == lo:
            assert problem is not None and "single level" in problem
            continue
        assert problem is None
        levels = np.arange(256, dtype=np.float32)
        np.testing.assert_array_equal(
            lut, np.clip((levels - lo) * (255.0 / (hi - lo)), 0, 255).astype(np.uint8))
    assert sum(p is not None for p in problems) >= 5


def _finish_on_the_whole_record(img: np.ndarray, size: int) -> np.ndarray:
    """The shared pipeline in its plain form, every pass over the whole record: component
    areas from OpenCV's own statistics, the box from the ink pixels' coordinates. The
    converter's ``_finish`` works on the ink's box only (faster): its output must not move."""
    p = PREPROCESS_PARAMS
    img = cv2.GaussianBlur(img, (p["blur"], p["blur"]), 0)
    _, img = cv2.threshold(img, 0, 255, cv2.THRESH_TOZERO | cv2.THRESH_OTSU)
    count, labels, stats, _ = cv2.connectedComponentsWithStats(img, connectivity=8)
    areas = stats[:, cv2.CC_STAT_AREA].copy()
    areas[0] = 0
    speck = areas < p["speck_fraction"] * areas.sum()
    speck[0] = False
    img[speck[labels]] = 0
    rows, cols = np.nonzero(img)
    crop = img[rows.min():rows.max() + 1, cols.min():cols.max() + 1]
    (h, w), side = crop.shape, max(crop.shape)
    full = side + 2 * int(round(p["margin"] * side / (1 - 2 * p["margin"])))
    square = np.zeros((full, full), np.uint8)
    square[(full - h) // 2:(full - h) // 2 + h, (full - w) // 2:(full - w) // 2 + w] = crop
    square = preprocess._stroke_floor(square, p["min_stroke"] * full)
    interp = cv2.INTER_AREA if full >= size else cv2.INTER_CUBIC
    return cv2.resize(square, (size, size), interpolation=interp)


@pytest.mark.parametrize("size", [64, 24])
def test_the_fast_finish_is_the_whole_record_pipeline_bit_for_bit(size):
    """Specks, ink at the edges, several pieces: the crop-first speck removal changes no byte
    of a cache (the converter's output for the same input stays the same)."""
    rng = np.random.default_rng(7)
    images = etl_like_records(rng, 120, (127, 128))
    for image in images[::3]:  # dust anywhere, edges included
        for _ in range(int(rng.integers(1, 6))):
            y, x = int(rng.integers(0, 126)), int(rng.integers(0, 127))
            image[y:y + 2, x:x + 2] = 17 * rng.integers(1, 16)
    out, problems = prepare_batch(images, size, ink="high")
    compared = 0
    for i, image in enumerate(images):
        if problems[i] is not None:
            continue
        hist = preprocess._histogram(np.ascontiguousarray(image))[None]
        lut = preprocess._stretch_luts(hist, 1)[0][0]
        expected = _finish_on_the_whole_record(cv2.LUT(image, lut), size)
        np.testing.assert_array_equal(out[i], expected, err_msg=f"record {i}")
        compared += 1
    assert compared > len(images) // 2


def test_prepare_batch_takes_lists_and_refuses_other_ink():
    images = etl_like_records(np.random.default_rng(3), 12)
    odd = [images[5], images[6][:60, :90], np.zeros((2, 50), np.uint8), images[0]]
    out, problems = prepare_batch(odd, 32)
    np.testing.assert_array_equal(out[0], prepare(images[5], 32, ink="high"))
    np.testing.assert_array_equal(out[1], prepare(images[6][:60, :90], 32, ink="high"))
    assert "too small" in problems[2] and "empty" in problems[3]
    assert prepare_batch(images[:0], 32)[0].shape == (0, 32, 32)
    with pytest.raises(ValueError, match="ink='high'"):
        prepare_batch(images, 32, ink="auto")


# ---------------------------------------------------------------------------------------
# ink="auto": photos, scans, canvases
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("char", KANA)
def test_photo_with_light_falloff_noise_and_jpeg(clean, char):
    rng = np.random.default_rng(ord(char))
    ink, ref = clean[char, 10]
    photo = on_paper(ink, rng, falloff=0.5, noise=6, quality=35)
    assert iou(prepare(photo, SIZE), ref) > 0.85


@pytest.mark.parametrize("char", KANA)
def test_photo_with_a_soft_shadow(clean, char):
    rng = np.random.default_rng(1 + ord(char))
    ink, ref = clean[char, 10]
    photo = on_paper(ink, rng, falloff=0.2, shadow=0.55, noise=4)
    assert iou(prepare(photo, SIZE), ref) > 0.85


@pytest.mark.parametrize("pen, paper", [
    ((30, 50, 170), (245, 236, 190)),     # blue ballpoint on yellowed paper
    ((190, 30, 40), (245, 236, 190)),     # red pen
    ((20, 120, 60), (245, 236, 190)),     # green pen
    ((250, 190, 0), (250, 250, 250)),     # yellow-orange felt pen on white: weak in grey
])
def test_coloured_ink_on_tinted_paper(clean, pen, paper):
    rng = np.random.default_rng(sum(pen))
    ink, ref = clean["ぬ", 10]
    photo = on_paper(ink, rng, paper=paper, pen=pen, falloff=0.35, noise=4)
    assert iou(prepare(photo, SIZE), ref) > 0.85


def test_thick_marker_and_thin_pen_match_their_clean_versions(clean):
    rng = np.random.default_rng(7)
    for thick in (3, 10):
        ink, ref = clean["あ", thick]
        assert iou(prepare(on_paper(ink, rng, noise=3), SIZE), ref) > 0.8, thick
    marker = render("あ", thick=30)
    out = prepare(on_paper(marker, rng, noise=3), SIZE)
    assert iou(out, prepare(marker, SIZE, ink="high")) > 0.85


@pytest.mark.parametrize("stroke", [(0, 0, 0), (255, 255, 255), (40, 90, 220)])
def test_canvas_layer_with_transparent_background(clean, stroke):
    ink, ref = clean["ふ", 3]
    layer = np.zeros((*ink.shape, 4), np.uint8)
    layer[..., :3] = stroke          # the stroke colour; alpha says where the ink is
    layer[..., 3] = ink
    out = prepare(Image.fromarray(layer, "RGBA"), SIZE)
    assert iou(out, ref) > 0.9


def test_transparent_png_bytes_and_path(clean, tmp_path):
    ink, ref = clean["あ", 10]
    layer = np.zeros((*ink.shape, 4), np.uint8)
    layer[..., 3] = ink
    buf = io.BytesIO()
    Image.fromarray(layer, "RGBA").save(buf, format="PNG")
    assert iou(prepare(buf.getvalue(), SIZE), ref) > 0.9
    path = tmp_path / "drawing.png"
    path.write_bytes(buf.getvalue())
    assert iou(prepare(path, SIZE), ref) > 0.9


def test_white_on_black_and_dark_mode_canvas(clean):
    ink, ref = clean["ば", 10]
    assert iou(prepare(ink, SIZE), ref) > 0.95                      # white on black
    assert iou(prepare(255 - ink, SIZE), ref) > 0.95                # black on white
    dark = (39 + ink.astype(np.float32) / 255.0 * (235 - 39)).astype(np.uint8)
    composite = np.dstack([dark, dark, dark + 3])
    assert iou(prepare(composite, SIZE), ref) > 0.9                 # dark-mode grey canvas
    chalk = on_paper(ink, np.random.default_rng(3), paper=(40, 60, 45), pen=(225, 230, 220))
    assert iou(prepare(chalk, SIZE), ref) > 0.85                    # chalk on a board


def test_small_off_centre_kana_in_a_big_dusty_photo():
    rng = np.random.default_rng(11)
    ink = render("ぬ", thick=14, box=0.3, offset=(0.2, -0.15), shape=(1200, 1800))
    ref = prepare(ink, SIZE, ink="high")
    photo = on_paper(ink, rng, falloff=0.4, noise=5, quality=60)
    for _ in range(40):  # dust and paper fibres
        x, y = rng.integers(0, 1800), rng.integers(0, 1200)
        cv2.circle(photo, (int(x), int(y)), int(rng.integers(2, 5)), (90, 90, 90), -1)
    out = prepare(photo, SIZE)
    assert iou(out, ref) > 0.8


def test_6000x4000_photo_is_downscaled_first():
    rng = np.random.default_rng(5)
    ink = render("り", thick=15, box=0.6, shape=(1000, 1500))
    photo = cv2.resize(on_paper(ink, rng, noise=3), (6000, 4000), interpolation=cv2.INTER_LINEAR)
    encoded = io.BytesIO()
    Image.fromarray(photo).save(encoded, format="JPEG", quality=85)  # decoded in draft mode
    for image in (photo, Image.fromarray(photo), encoded.getvalue()):
        assert iou(prepare(image, SIZE), prepare(ink, SIZE, ink="high")) > 0.8


@pytest.mark.parametrize("mode", ["L", "P", "LA", "I;16", "1", "CMYK"])
def test_pil_modes(clean, mode):
    ink, ref = clean["あ", 10]
    gray = Image.fromarray(255 - ink)
    if mode == "LA":
        img = Image.merge("LA", [gray, Image.new("L", gray.size, 255)])
    elif mode == "I;16":
        img = Image.fromarray((255 - ink).astype(np.uint16) * 257)
    else:
        img = gray.convert(mode)
    assert iou(prepare(img, SIZE), ref) > (0.75 if mode == "1" else 0.9)


def test_numpy_dtypes(clean):
    ink, ref = clean["ぬ", 10]
    assert iou(prepare(ink.astype(np.float32) / 255.0, SIZE), ref) > 0.95
    assert iou(prepare(ink > 127, SIZE), ref) > 0.8
    assert iou(prepare(ink[..., None], SIZE), ref) > 0.95


# ---------------------------------------------------------------------------------------
# Inputs that must be refused with a clear message
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("name, image", [
    ("black", np.zeros((300, 300), np.uint8)),
    ("white", np.full((300, 300, 3), 255, np.uint8)),
    ("grey", np.full((50, 80), 128, np.uint8)),
    ("transparent", np.zeros((64, 64, 4), np.uint8)),
    ("noise", np.clip(np.random.default_rng(0).normal(128, 12, (200, 200)), 0, 255).astype(np.uint8)),
])
def test_blank_images_are_refused(name, image):
    with pytest.raises(ValueError, match="empty"):
        prepare(image, SIZE)


def test_photo_of_blank_paper_is_refused():
    photo = on_paper(np.zeros((600, 800), np.uint8), np.random.default_rng(2), shadow=0.4)
    with pytest.raises(ValueError, match="empty"):
        prepare(photo, SIZE)


@pytest.mark.parametrize("image, message", [
    (None, "not an image"),
    ("no/such/file.png", "no file"),
    (b"this is not a picture", "not an image"),
    (np.array([["a", "b"]] * 8), "not an image"),
    (np.zeros((10, 10, 5), np.uint8), "shape"),
    (np.zeros((2, 100), np.uint8), "too small"),
    (np.full((20, 20), np.nan), "NaN"),
])
def test_non_images_are_refused(image, message):
    with pytest.raises(ValueError, match=message):
        prepare(image, SIZE)


def test_text_file_is_refused(tmp_path):
    path = tmp_path / "notes.png"
    path.write_text("hello")
    with pytest.raises(ValueError, match="not an image.*notes.png"):
        prepare(path, SIZE)


def test_bad_arguments():
    ink = render("あ")
    with pytest.raises(ValueError, match="ink must be"):
        prepare(ink, SIZE, ink="dark")
    with pytest.raises(ValueError, match="size"):
        prepare(ink, 2)
