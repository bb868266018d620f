"""kana-keras: a Keras 3 VAE that learns handwritten Japanese kana and draws new ones.

Importing the package stays cheap on purpose: no Keras, no TensorFlow, so the converter
process (``python -m kana_keras.convert``) can import it without pulling a framework in.
"""

__version__ = "0.1.0"
