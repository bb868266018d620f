"""kana-keras: a Keras 3 VAE that learns handwritten Japanese kana and draws new ones.

Importing the package stays cheap on purpose: no Keras, no TensorFlow, so the converter
process (``python -m kana_keras.convert``) can import it without pulling a framework in.
It only quiets TensorFlow's C++ INFO and WARNING lines (CPU feature banners and the like)
before any command can import TensorFlow; a user's own TF_CPP_MIN_LOG_LEVEL still wins.
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

__version__ = "0.1.0"
