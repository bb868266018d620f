"""``python -m kana_keras.export space``: a Gradio Space folder running the demo on PyTorch.

app.py (demo/app.py, started on the torch backend, which ZeroGPU runs), requirements.txt
with pinned versions, the weights, and a README whose YAML header Hugging Face reads.
"""

from __future__ import annotations

import platform
import shutil
from importlib import metadata
from pathlib import Path

from kana_keras.cli import UsageError
from kana_keras.files import write_text_atomic

DEMO = Path(__file__).resolve().parents[2] / "demo" / "app.py"
WEIGHT_FILES = ("config.json", "kana_vae.weights.h5", "recognizer.json",
                "recognizer.weights.h5", "MODEL_CARD.md")
#: What the Space installs besides kana-keras itself, pinned to what this machine runs.
PINNED = ("keras", "torch", "gradio", "numpy", "h5py")

APP = '''"""kana-keras on a Hugging Face Space: the project's demo on the PyTorch backend."""

import os

os.environ.setdefault("KERAS_BACKEND", "torch")  # before the first `import keras`

from demo_app import main  # noqa: E402

if __name__ == "__main__":
    main(["--weights", "weights", "--host", os.environ.get("GRADIO_SERVER_NAME", "0.0.0.0"),
          "--port", os.environ.get("GRADIO_SERVER_PORT", "7860")])
'''

README = """---
title: kana-keras
emoji: ✍️
colorFrom: gray
colorTo: red
sdk: gradio
sdk_version: {gradio}
app_file: app.py
python_version: "{python}"
pinned: false
license: mit
---

# kana-keras

Sample, reconstruct, interpolate and write handwritten kana with a Keras 3 conditional VAE,
on the PyTorch backend. Made with `python -m kana_keras.export space` from kana-keras {version}.
"""


def requirements(project: str) -> str:
    """requirements.txt: kana-keras (``project``: a pip requirement) and pinned runtimes."""
    pins = [f"{name}=={metadata.version(name).split('+')[0]}" for name in PINNED]  # 2.13.0+cpu
    return "\n".join([project, *pins]) + "\n"


def export_space(weights, out, project: str | None = None) -> Path:
    """Write the Space into ``out``; ``project`` replaces the kana-keras requirement (a path
    or URL; default the released version of this checkout)."""
    from kana_keras import __version__

    weights, out = Path(weights), Path(out)
    missing = [n for n in WEIGHT_FILES[:2] if not (weights / n).is_file()]
    if missing:
        raise UsageError(f"--weights {weights}: no {missing[0]} (a `kana_keras.fit --out` "
                         "folder)")
    (out / "weights").mkdir(parents=True, exist_ok=True)
    for name in WEIGHT_FILES:
        if (weights / name).is_file():
            shutil.copyfile(weights / name, out / "weights" / name)
    shutil.copyfile(DEMO, out / "demo_app.py")
    write_text_atomic(out / "app.py", APP)
    write_text_atomic(out / "requirements.txt", requirements(project or f"kana-keras=={__version__}"))
    python = ".".join(platform.python_version_tuple()[:2])
    write_text_atomic(out / "README.md", README.format(gradio=metadata.version("gradio"),
                                                       python=python, version=__version__))
    return out
