"""The Space export's folder: what Hugging Face reads (README header, requirements, app.py).

Installing it into a fresh venv and calling it with gradio_client takes minutes (torch, TF,
Gradio): that is the opt-in `python tools/check_space.py`.
"""

from __future__ import annotations

import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def weights(tmp_path):
    """A weights folder as the Space copies it (the files' contents do not matter here)."""
    folder = tmp_path / "weights"
    folder.mkdir()
    for name in ("config.json", "kana_vae.weights.h5", "recognizer.json"):
        (folder / name).write_text(name)
    return folder


def test_space_folder_has_what_the_hub_reads(weights, tmp_path):
    from kana_keras.export.space import export_space

    space = export_space(weights, tmp_path / "space", project="kana-keras @ ./wheel")
    readme = (space / "README.md").read_text(encoding="utf-8")
    header = readme.split("---\n")[1]
    assert "sdk: gradio\n" in header and "app_file: app.py\n" in header
    assert f"sdk_version: {metadata.version('gradio')}\n" in header
    assert f'python_version: "{sys.version_info.major}.{sys.version_info.minor}"' in header
    requirements = (space / "requirements.txt").read_text().splitlines()
    assert requirements[0] == "kana-keras @ ./wheel"
    assert all("==" in line and "+" not in line for line in requirements[1:]), requirements
    assert {line.split("==")[0] for line in requirements[1:]} >= {"torch", "keras", "gradio"}
    assert (space / "weights" / "kana_vae.weights.h5").read_text() == "kana_vae.weights.h5"
    assert not (space / "weights" / "MODEL_CARD.md").exists()  # absent there: not invented
    app = (space / "app.py").read_text()
    assert 'os.environ.setdefault("KERAS_BACKEND", "torch")' in app
    assert app.index("KERAS_BACKEND") < app.index("from demo_app import")
    assert (space / "demo_app.py").read_text() == (ROOT / "demo" / "app.py").read_text()


def test_space_app_parses_as_python(weights, tmp_path):
    from kana_keras.export.space import export_space

    space = export_space(weights, tmp_path / "space")
    compile((space / "app.py").read_text(), "app.py", "exec")
    assert (space / "requirements.txt").read_text().startswith("kana-keras==")


def test_weights_without_a_vae_are_named(tmp_path):
    result = subprocess.run([sys.executable, "-m", "kana_keras.export", "space", "--weights",
                             str(tmp_path), "--out", str(tmp_path / "space")],
                            capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert result.returncode == 2, result.stderr
    assert result.stderr == (f"error: --weights {tmp_path}: no config.json (a "
                             "`kana_keras.fit --out` folder)\n")
