"""judge: its own data, a tiny training run, save and load, and its errors."""

from __future__ import annotations

import numpy as np
import pytest

from kana_keras import judge as J

CLASSES = list("あいがぱ")


def test_writer_images_are_prepared_and_differ_by_writer_and_seed():
    a = J.writer_images(CLASSES, 0, size=24)
    assert a.shape == (4, 24, 24) and a.dtype == np.uint8
    assert all(img.max() > 128 for img in a)                     # every class drawn
    np.testing.assert_array_equal(a, J.writer_images(CLASSES, 0, size=24))   # seeded
    assert not np.array_equal(a, J.writer_images(CLASSES, 1, size=24))
    assert not np.array_equal(a, J.writer_images(CLASSES, 0, seed=1, size=24))


def test_draw_set_labels_every_class_of_every_writer():
    x, y = J.draw_set(CLASSES, [0, 1, 2], size=16, progress=False)
    assert x.shape == (12, 16, 16)
    np.testing.assert_array_equal(y, np.tile(np.arange(4), 3))


@pytest.mark.slow
def test_tiny_judge_trains_saves_and_reads_back_the_same(tmp_path):
    judge = J.train_judge(tmp_path / "j", CLASSES, writers=6, epochs=3, size=16,
                          widths=(8, 8, 16), progress=False, command="test")
    info = judge.info
    assert info["classes"] == CLASSES and 0 <= info["val_accuracy"] <= 1
    for name in (J.MODEL_FILE, J.INFO_FILE, J.CARD_FILE):
        assert (tmp_path / "j" / name).stat().st_size > 0
    assert "made by: `test`" in (tmp_path / "j" / J.CARD_FILE).read_text(encoding="utf-8")
    again = J.load_judge(tmp_path / "j")
    x, _ = J.draw_set(CLASSES, [50], size=16, progress=False)
    np.testing.assert_array_equal(judge.predict(x), again.predict(x))
    assert again.image_size == 16 and again.classes == CLASSES


def test_read_refuses_what_prepare_refuses_and_read_right_counts_look_alikes():
    class Model:
        input_shape = (None, 8, 8, 1)

        def predict(self, x, batch_size=None, verbose=0):
            return np.eye(3)[np.full(len(x), 2)]

    judge = J.Judge(Model(), ["あ", "へ", "ヘ"])

    def prepare(picture, size):
        if not picture.any():
            raise ValueError("blank")
        return np.zeros((size, size), np.uint8)

    read = judge.read([np.ones((4, 4)), np.zeros((4, 4))], prepare)
    np.testing.assert_array_equal(read, [2, -1])
    np.testing.assert_array_equal(J.read_right(judge.classes, [2, -1, 0], [1, 1, 1]),
                                  [True, False, False])


def test_load_judge_names_the_missing_file_and_a_bad_info_file(tmp_path):
    with pytest.raises(ValueError, match="judge.keras is missing .*kana_keras.judge --out"):
        J.load_judge(tmp_path)
    (tmp_path / J.MODEL_FILE).write_bytes(b"not a model")
    (tmp_path / J.INFO_FILE).write_text("[1, 2]", encoding="utf-8")
    with pytest.raises(ValueError, match="judge.json: expected a JSON object"):
        J.load_judge(tmp_path)
    (tmp_path / J.INFO_FILE).write_text('{"classes": ["あ"]}', encoding="utf-8")
    with pytest.raises(ValueError, match="judge.keras: cannot be read as a judge"):
        J.load_judge(tmp_path)


@pytest.mark.parametrize("argv, want", [
    (["--writers", "0"], "--writers must be at least 1, got 0"),
    (["--epochs", "-1"], "--epochs must be at least 1, got -1"),
    (["--kana", "kanji"], "--kana kanji: expected one of hiragana, katakana, all")])
def test_cli_usage_errors_are_one_line(tmp_path, capsys, argv, want):
    assert J.main(["--out", str(tmp_path / "j"), *argv]) == 2
    err = capsys.readouterr().err.strip()
    assert err == f"error: {want}" and not (tmp_path / "j").exists()
