"""The two layers a kana VAE needs beyond Keras's own: sampling and class conditioning.

Both are written with ``keras.ops``/``keras.random`` only, so they run unchanged on the
TensorFlow, JAX and PyTorch backends, and both round-trip through ``get_config``.
"""

from __future__ import annotations

import keras
from keras import ops

SAMPLING_MODES = ("random", "mean")


@keras.saving.register_keras_serializable(package="kana_keras")
class Sampling(keras.layers.Layer):
    """Uses (z_mean, z_log_var) to sample z, the vector encoding a character.

    ``mode="random"`` is the reparameterisation trick (z = mean + sigma * eps) used in
    training; ``mode="mean"`` returns z_mean, a deterministic encoding for tests and for
    reconstructions people look at. A ``SeedGenerator`` keeps the noise reproducible
    and stateless-friendly (JAX).

    Args:
        seed: int, seed of the noise.
        mode: "random" or "mean".

    Example:
        >>> z = Sampling(seed=1)([ops.zeros((2, 4)), ops.zeros((2, 4))])
    """

    def __init__(self, seed=None, mode="random", **kwargs):
        super().__init__(**kwargs)
        if mode not in SAMPLING_MODES:
            raise ValueError(f"Sampling mode must be one of {SAMPLING_MODES}, got {mode!r}")
        self.seed = seed
        self.mode = mode
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, inputs, mode=None):
        z_mean, z_log_var = inputs
        if (mode or self.mode) == "mean":
            return z_mean
        epsilon = keras.random.normal(ops.shape(z_mean), seed=self.seed_generator)
        return z_mean + ops.exp(0.5 * z_log_var) * epsilon

    def compute_output_shape(self, input_shape):
        return input_shape[0]

    def get_config(self):
        config = super().get_config()
        config.update({"seed": self.seed, "mode": self.mode})
        return config


@keras.saving.register_keras_serializable(package="kana_keras")
class ClassConditioning(keras.layers.Layer):
    """Appends a learned embedding of the kana class to a feature vector.

    Feeding the same class vector to encoder and decoder lets the latent code keep only
    *how* a character is written (the writer's style), while the label says *which*
    character: so users can ask for a given kana, or keep one style across kana.

    Args:
        num_classes: int, number of kana classes.
        embedding_dim: int, size of the class vector.

    Example:
        >>> h = ClassConditioning(146, 16)([ops.zeros((2, 8)), ops.convert_to_tensor([0, 5])])
        >>> h.shape  # (2, 24)
    """

    def __init__(self, num_classes, embedding_dim=16, **kwargs):
        super().__init__(**kwargs)
        self.num_classes = num_classes
        self.embedding_dim = embedding_dim
        self.embedding = keras.layers.Embedding(num_classes, embedding_dim, name="embedding")

    def build(self, input_shape):
        self.embedding.build(input_shape[1])

    def call(self, inputs):
        features, labels = inputs
        labels = ops.reshape(ops.cast(labels, "int32"), (-1,))
        return ops.concatenate([features, self.embedding(labels)], axis=-1)

    def compute_output_shape(self, input_shape):
        features_shape = input_shape[0]
        return (*features_shape[:-1], features_shape[-1] + self.embedding_dim)

    def get_config(self):
        config = super().get_config()
        config.update({"num_classes": self.num_classes, "embedding_dim": self.embedding_dim})
        return config
