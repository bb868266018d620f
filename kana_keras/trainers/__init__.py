"""Per-backend gradient code for the VAE, picked once at import (as Keras picks its trainers).

Everything shared (the forward pass, ``vae_loss``, the trackers) lives on the model; a
backend file holds only how that backend takes a gradient step: ``tf.GradientTape``,
``jax.value_and_grad`` over a stateless function, or ``loss.backward()``.
"""

from __future__ import annotations

import keras

BACKEND = keras.backend.backend()

if BACKEND == "tensorflow":
    from kana_keras.trainers.tensorflow import VAETrainer
elif BACKEND == "jax":
    from kana_keras.trainers.jax import VAETrainer
elif BACKEND == "torch":
    from kana_keras.trainers.torch import VAETrainer
else:  # numpy/openvino cannot train
    raise ImportError(
        f"KERAS_BACKEND={BACKEND!r} cannot train a KanaVAE; use tensorflow, jax or torch"
    )

__all__ = ["BACKEND", "VAETrainer"]
