"""Pictures: grids and strips come out black ink on white paper, in the expected shape."""

from __future__ import annotations

import errno

import numpy as np
import pytest
from PIL import Image

from kana_keras import images


def ink_squares(n=5, side=8) -> np.ndarray:
    """n ink-high images: paper 0 with a 2x2 ink square (255) in the corner."""
    arr = np.zeros((n, side, side), np.uint8)
    arr[:, :2, :2] = 255
    return arr


def test_grid_shape_and_polarity():
    picture = np.asarray(images.grid(ink_squares(5), cols=3, pad=2))
    assert picture.shape == (2 * (8 + 2) + 2, 3 * (8 + 2) + 2)   # 2 rows of 3 cells
    assert picture[2, 2] == 0 and picture[5, 5] == 255            # black ink, white paper
    assert picture[12, 12] == 0 and picture[12, 22] == 255       # 5th cell inked, no 6th


def test_grid_captions_scale_and_floats():
    plain = images.grid(ink_squares(4), cols=2)
    captioned = images.grid(ink_squares(4), ["あ", "い", "う", "え"], cols=2)
    assert captioned.width == plain.width and captioned.height == plain.height + 2 * 12
    assert images.grid(ink_squares(4), cols=2, scale=3).width == 2 * (24 + 2) + 2
    floats = ink_squares(1).astype(np.float32)[..., None] / 255.0  # (N, H, W, 1) in [0, 1]
    np.testing.assert_array_equal(np.asarray(images.grid(floats)), np.asarray(images.grid(
        ink_squares(1))))


def test_caption_draws_kana_from_strokes_and_strip_is_one_row():
    cap = images.caption("あ い", 16)
    assert cap.shape == (16, 48) and cap[:, :16].max() > 0 and cap[:, 16:32].max() == 0
    strip = images.strip(ink_squares(6))
    assert strip.height == 8 + 4 and strip.width == 6 * 10 + 2


def test_save_atomic_leaves_only_the_picture(tmp_path):
    out = images.save_atomic(images.grid(ink_squares(2)), tmp_path / "sub" / "g.png")
    with Image.open(out) as picture:
        assert out == tmp_path / "sub" / "g.png" and picture.format == "PNG"
    assert [p.name for p in out.parent.iterdir()] == ["g.png"]
    frames = np.zeros((4, 8, 8), np.uint8)
    for i in range(4):
        frames[i, 2 * i:2 * i + 2] = 255    # a bar moving down: no two frames alike
    with Image.open(images.save_gif(frames, tmp_path / "a.gif")) as gif:
        assert gif.n_frames == 4 + 2        # forward, then back without the ends


def test_a_failed_save_names_the_picture_not_a_temporary(tmp_path, monkeypatch):
    def full_disk(self, fp, *args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device", str(fp))

    monkeypatch.setattr(Image.Image, "save", full_disk)
    with pytest.raises(OSError) as err:
        images.save_atomic(images.grid(ink_squares(1)), tmp_path / "g.png")
    assert err.value.filename == str(tmp_path / "g.png") and ".tmp" not in str(err.value)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("name, expected", [
    ("grid.txt", "--out grid.txt: expected a picture file name ending in .png, .gif"),
    ("grid", "--out grid: expected a picture file name ending in .png"),
    ("folder.png", "--out folder.png: is a folder, expected a picture file name"),
    ("/proc/x.png", "--out /proc/x.png: cannot write there"),
])
def test_check_picture_path_names_the_flag_and_value(tmp_path, monkeypatch, name, expected):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "folder.png").mkdir()
    with pytest.raises(ValueError) as err:
        images.check_picture_path(name, "--out")
    assert str(err.value).startswith(expected)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["folder.png"]  # no probe left


def test_check_picture_path_accepts_a_new_folder(tmp_path):
    assert images.check_picture_path(tmp_path / "new" / "g.PNG") == tmp_path / "new" / "g.PNG"
    assert list(tmp_path.iterdir()) == []   # checked, nothing made yet


def _history(epochs, nan_val=False):
    return [{"epoch": e, "loss": 100.0 - e, "reconstruction_loss": 90.0 - e, "kl_loss": 5.0 + e,
             "val_loss": float("nan") if nan_val else 101.0 - e,
             "val_reconstruction_loss": 91.0 - e, "val_kl_loss": 5.5 + e} for e in epochs]


def _colour_pixels(picture, rgb) -> int:
    return int(np.all(np.asarray(picture) == rgb, axis=-1).sum())


def test_curves_draw_each_loss_in_its_colour_in_two_panels():
    picture = images.curves(_history(range(1, 6)), width=400, height=200)
    assert picture.size == (400, 400) and picture.mode == "RGB"
    pixels = np.asarray(picture)
    blue, red = (30, 90, 200), (200, 60, 30)
    kl_rows = np.nonzero(np.all(pixels == red, axis=-1).any(axis=1))[0]
    recon_rows = np.nonzero(np.all(pixels == blue, axis=-1).any(axis=1))[0]
    assert kl_rows.min() > 200                    # KL has the lower panel to itself
    assert recon_rows.max() < 200                 # reconstruction stays in the top panel
    assert _colour_pixels(picture, (0, 0, 0)) > 0  # the total loss in black


def test_curves_dash_validation_and_skip_values_that_are_not_numbers():
    solid_and_dashed = images.curves(_history(range(1, 6)))
    no_val_loss = images.curves(_history(range(1, 6), nan_val=True))
    black = (0, 0, 0)
    # the dashed validation loss adds black pixels; without it (NaN) only the solid line is left
    assert _colour_pixels(solid_and_dashed, black) > _colour_pixels(no_val_loss, black) > 0


def test_curves_of_one_epoch_are_dots_and_of_none_an_empty_frame():
    one = images.curves(_history([3]))
    assert _colour_pixels(one, (200, 60, 30)) > _colour_pixels(images.curves([]), (200, 60, 30))
    assert _colour_pixels(images.curves([]), (0, 0, 0)) == 0
