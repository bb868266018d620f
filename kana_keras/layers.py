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

    With ``parts`` (see ``kana.class_parts``) a class's vector is the sum of its base kana's
    and its mark's (none, ゛ or ゜): が is か plus ゛, so the decoder is told the mark
    explicitly and learns each mark from ~25 kana instead of one.

    Args:
        num_classes: int, number of kana classes.
        embedding_dim: int, size of the class vector.
        parts: None, or (bases, marks): per class, the index of its base class and of its
            mark (0 none, 1 ゛, 2 ゜).

    Example:
        >>> h = ClassConditioning(146, 16)([ops.zeros((2, 8)), ops.convert_to_tensor([0, 5])])
        >>> h.shape  # (2, 24)
    """

    def __init__(self, num_classes, embedding_dim=16, parts=None, **kwargs):
        super().__init__(**kwargs)
        self.num_classes = num_classes
        self.embedding_dim = embedding_dim
        self.parts = None if parts is None else [list(map(int, p)) for p in parts]
        self.embedding = keras.layers.Embedding(num_classes, embedding_dim, name="embedding")
        self.mark_embedding = None
        if self.parts is not None:
            bases, marks = self.parts
            if len(bases) != num_classes or len(marks) != num_classes:
                raise ValueError(f"parts must give a base and a mark for each of the "
                                 f"{num_classes} classes, got {len(bases)} and {len(marks)}")
            self.mark_embedding = keras.layers.Embedding(max(marks) + 1, embedding_dim,
                                                         name="mark_embedding")

    def build(self, input_shape):
        self.embedding.build(input_shape[1])
        if self.mark_embedding is not None:
            self.mark_embedding.build(input_shape[1])

    def class_vectors(self, labels):
        """Class indices (N,) -> their class vectors (N, embedding_dim)."""
        labels = ops.reshape(ops.cast(labels, "int32"), (-1,))
        if self.parts is None:
            return self.embedding(labels)
        bases, marks = (ops.convert_to_tensor(p, dtype="int32") for p in self.parts)
        return (self.embedding(ops.take(bases, labels, axis=0))
                + self.mark_embedding(ops.take(marks, labels, axis=0)))

    def call(self, inputs):
        features, labels = inputs
        return ops.concatenate([features, self.class_vectors(labels)], axis=-1)

    def compute_output_shape(self, input_shape):
        features_shape = input_shape[0]
        return (*features_shape[:-1], features_shape[-1] + self.embedding_dim)

    def get_config(self):
        config = super().get_config()
        config.update({"num_classes": self.num_classes, "embedding_dim": self.embedding_dim,
                       "parts": self.parts})
        return config


@keras.saving.register_keras_serializable(package="kana_keras")
class DepthToSpace(keras.layers.Layer):
    """Rearranges channels into a ``block_size`` times larger picture (sub-pixel convolution).

    A convolution at low resolution that outputs ``block_size**2`` times the channels, then
    this, draws a picture twice (or more) the side: every output pixel has its own weights (no
    checkerboard, unlike a strided transposed convolution), and it is a plain convolution plus
    a reshape, which XLA (JAX, ``jit_compile``) runs several times faster on a CPU than the
    input-dilated convolution a transposed convolution becomes.

    Args:
        block_size: int, how many times larger each side becomes.

    Example:
        >>> DepthToSpace(2)(ops.zeros((1, 4, 4, 8))).shape  # (1, 8, 8, 2)
    """

    def __init__(self, block_size=2, **kwargs):
        super().__init__(**kwargs)
        self.block_size = int(block_size)

    def call(self, inputs):
        return ops.depth_to_space(inputs, self.block_size, data_format="channels_last")

    def compute_output_shape(self, input_shape):
        n, h, w, c = input_shape
        b = self.block_size
        grow = (lambda d: None if d is None else d * b)
        return (n, grow(h), grow(w), c // (b * b))

    def get_config(self):
        config = super().get_config()
        config.update({"block_size": self.block_size})
        return config
