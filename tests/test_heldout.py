"""heldout: the held-out-forms proxy set and its scoring."""

from __future__ import annotations

import numpy as np
import pytest

from kana_keras import forms, heldout


def test_heldout_set_is_prepared_and_uses_only_held_out_fonts():
    classes = list("ツシソンきさ")
    x, y, sources = heldout.heldout_forms_set(classes, per_class=3, seed=0, size=32)
    assert x.shape == (18, 32, 32) and x.dtype == np.uint8
    assert sorted(set(y.tolist())) == list(range(6))
    assert set(sources) == {f.name for f in forms.HELDOUT_FONTS}
    x2, _, _ = heldout.heldout_forms_set(classes, per_class=3, seed=0, size=32)
    assert np.array_equal(x, x2)


class _Canned:
    """A stand-in recognizer that gives canned answers."""

    def __init__(self, classes, answers):
        self.classes, self.image_size, self.answers = list(classes), 32, answers

    def predict(self, images):
        assert len(images) == len(self.answers)
        return self.answers


def test_heldout_accuracy_counts_right_answers_per_source_and_class():
    classes = list("ツシソン")
    _, y, _ = heldout.heldout_forms_set(classes, per_class=3, seed=0, size=32)
    rec = _Canned(classes, np.where(np.isin(y, [0, 1]), y, 0))     # right on ツ シ, else "ツ"
    result = heldout.heldout_forms_accuracy(rec, per_class=3, seed=0)
    assert result["accuracy"] == pytest.approx(0.5)
    assert result["per_class"] == {"ツ": 1.0, "シ": 1.0, "ソ": 0.0, "ン": 0.0}
    assert set(result["per_source"]) == {f.name for f in forms.HELDOUT_FONTS}
    assert result["confusions"] == {"ソ→ツ": 3, "ン→ツ": 3}
    assert result["count"] == 12


def test_cli_names_a_missing_weights_folder(tmp_path, capsys):
    assert heldout.main(["--weights", str(tmp_path / "nowhere")]) == 2
    assert "nowhere" in capsys.readouterr().err
