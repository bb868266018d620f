"""KanaVAE: a variational autoencoder that learns handwritten kana and draws new ones.

Reading order, as in keras-io's ``vae.py``: the loss, the encoder, the decoder, the model
with its trackers (its gradient step comes from ``kana_keras.trainers``, one small file per
backend), then saving and loading the weights folder.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import keras
import numpy as np
from keras import ops

from kana_keras import kana, priors
from kana_keras.files import atomic_path, load_weights, read_json_object, write_json_atomic
from kana_keras.layers import ClassConditioning, DepthToSpace, Sampling
from kana_keras.trainers import BACKEND, VAETrainer

WEIGHTS_FILE = "kana_vae.weights.h5"
CONFIG_FILE = "config.json"
PRIORS = ("standard", "class")
UPSAMPLINGS = ("transpose", "nearest", "subpixel")
#: Range of a learned prior's log-variance: no class's cloud may collapse or explode.
PRIOR_LOG_VAR_RANGE = (-8.0, 4.0)

# ## The loss


def vae_loss(images, reconstruction, z_mean, z_log_var, beta=1.0, prior_mean=None,
             prior_log_var=None):
    """Squared error summed over pixels + beta * KL(q(z|x) || p(z)), averaged over the batch.

    The one loss of the project: train_step and test_step on every backend call it.
    p(z) is N(0, I), or N(prior_mean, exp(prior_log_var)) per example when given (a learned
    class prior; a missing one of the two counts as 0). Returns (total, reconstruction_loss,
    kl_loss) as scalars.
    """
    images = ops.cast(images, reconstruction.dtype)
    squared_error = ops.square(images - reconstruction)
    reconstruction_loss = ops.mean(ops.sum(ops.reshape(squared_error, (ops.shape(images)[0], -1)),
                                           axis=-1))
    if prior_mean is None and prior_log_var is None:
        kl = -0.5 * (1.0 + z_log_var - ops.square(z_mean) - ops.exp(z_log_var))
    else:  # KL between diagonal Gaussians
        prior_mean = ops.zeros_like(z_mean) if prior_mean is None else prior_mean
        prior_log_var = ops.zeros_like(z_log_var) if prior_log_var is None else prior_log_var
        kl = 0.5 * (prior_log_var - z_log_var - 1.0
                    + (ops.exp(z_log_var) + ops.square(z_mean - prior_mean))
                    * ops.exp(-prior_log_var))
    kl_loss = ops.mean(ops.sum(kl, axis=-1))
    return reconstruction_loss + beta * kl_loss, reconstruction_loss, kl_loss


# ## Encoder and decoder


def _activation(name, leaky_slope, layer_name):
    if name == "leaky_relu":
        return keras.layers.LeakyReLU(negative_slope=leaky_slope, name=layer_name)
    return keras.layers.Activation(name, name=layer_name)


def _normalization(kind, layer_name):
    if kind == "batch":
        return keras.layers.BatchNormalization(name=layer_name)
    if kind == "group":
        return keras.layers.GroupNormalization(groups=8, name=layer_name)
    if kind in (None, "none"):
        return None
    raise ValueError(f"normalization must be 'batch', 'group' or None, got {kind!r}")


def _apply(layers, x):
    for layer in layers:
        x = layer(x)
    return x


# ## The model


@keras.saving.register_keras_serializable(package="kana_keras")
class KanaVAE(VAETrainer, keras.Model):
    """A conditional (or not) convolutional VAE for kana images.

    Args:
        image_size: int, side of the square input (float32 in [0, 1], ink high).
        latent_dim: int, size of z.
        num_classes: int, number of kana classes (conditioning).
        conditional: bool, feed a class embedding to encoder and decoder.
        beta: float, weight of the KL term.
        embedding_dim: int, size of the class embedding.
        encoder_filters: filters of the stride-2 encoder convolutions.
        kernel_size: int, encoder kernel size.
        activation: "relu", "leaky_relu", or any Keras activation name.
        leaky_slope: float, negative slope when activation is leaky_relu.
        normalization: "batch", "group" or None.
        dropout: float, dropout after each encoder convolution.
        hidden_dim: int, dense layer before z (0 for none).
        decoder: "conv" (transposed convolutions) or "dense" (the blog's).
        decoder_filters: filters of the decoder's upsampling steps (each doubles the side).
        upsampling: how the decoder doubles the side: "transpose" (4x4 stride-2 transposed
            convolutions), "nearest" (nearest-neighbour doubling, then a 3x3 convolution) or
            "subpixel" (a convolution to 4x the channels, then ``DepthToSpace``).
        class_template: bool, add a learned per-class image to the conv decoder's logits
            (conditional models only).
        decoder_normalization: normalization of the conv decoder ("batch", "group", None),
            or "same" as the encoder's.
        output_upsampling: bool, make the conv decoder's pixel layer a 4x4 stride-2
            transposed convolution (one more doubling), so no feature maps are held at full
            size: the full-size maps are most of a small decoder's time on a CPU.
        dense_units: hidden sizes of the dense decoder.
        prior: "standard" (p(z) = N(0, I)) or "class": a learned p(z | class) =
            N(mu_c, diag(exp(logvar_c))) as in Sohn et al.'s CVAE (conditional models
            only). At low beta z carries style and each class's codes sit in their own
            region of z; sampling from that region instead of N(0, I) avoids drawing a
            chimera of classes.
        class_parts: None, or (bases, marks) per class (``kana.class_parts``): condition on
            each class's base kana plus its mark, so ゛ and ゜ are each learned across ~25 kana
            (``for_classes(classes, class_parts="marks")`` builds them).
        upsampling_kernel: int, kernel of the "subpixel" decoder's doubling convolutions (the
            pixel layer keeps 3x3, centred): 2 costs what a 4x4 stride-2 transposed
            convolution does.
        writer_bank: int, room for this many training writers' styles (every class as that
            writer drew it, eps of the fitted Gaussians), filled by ``fit_latent_prior`` given
            writer ids: ``write`` then writes a word in one real hand (0: none).
        fitted_prior: bool, keep room for a full-covariance Gaussian per class fitted to
            the trained encoder's codes (``fit_latent_prior``, ex post, as in Ghosh et al.
            2020). Once fitted, samples and styles go through it instead of the trained
            prior: at low beta the codes no longer fill the trained prior, and samples
            drawn where no code lies decode to mush.
        seed: int, seed of the sampling noise.

    Example:
        >>> vae = KanaVAE(image_size=32, latent_dim=8, num_classes=146)
        >>> vae.compile(optimizer="adam")
        >>> vae.fit(images, labels, epochs=1)
        >>> drawings = vae.generate(labels=[0, 1, 2], seed=0)
    """

    def __init__(self, image_size=64, latent_dim=32, num_classes=146, conditional=True,
                 beta=1.0, embedding_dim=16, encoder_filters=(32, 64, 128, 256), kernel_size=3,
                 activation="relu", leaky_slope=0.3, normalization="batch", dropout=0.0,
                 hidden_dim=256, decoder="conv", decoder_filters=(128, 64, 32, 16),
                 dense_units=(512,), upsampling="transpose", class_template=True,
                 decoder_normalization="same", output_upsampling=False, prior="standard",
                 fitted_prior=False, writer_bank=0, class_parts=None, upsampling_kernel=3,
                 seed=0, **kwargs):
        super().__init__(**kwargs)
        self.image_size = int(image_size)
        self.latent_dim = int(latent_dim)
        self.num_classes = int(num_classes)
        self.conditional = bool(conditional)
        self.beta = float(beta)
        self.embedding_dim = int(embedding_dim)
        self.encoder_filters = tuple(int(f) for f in encoder_filters)
        self.kernel_size = int(kernel_size)
        self.activation = activation
        self.leaky_slope = float(leaky_slope)
        self.normalization = normalization
        self.dropout = float(dropout)
        self.hidden_dim = int(hidden_dim)
        self.decoder_kind = decoder
        self.decoder_filters = tuple(int(f) for f in decoder_filters)
        self.dense_units = tuple(int(u) for u in dense_units)
        self.upsampling = upsampling
        self.class_template = bool(class_template)
        self.decoder_normalization = (normalization if decoder_normalization == "same"
                                      else decoder_normalization)
        self.output_upsampling = bool(output_upsampling)
        self.prior = prior
        self.fitted_prior = bool(fitted_prior)
        self.writer_bank = int(writer_bank) if self.fitted_prior and self.conditional else 0
        self.class_parts = _checked_parts(class_parts, self.num_classes, self.conditional)
        self.upsampling_kernel = int(upsampling_kernel)
        self.seed = seed
        if prior not in PRIORS:
            raise ValueError(f"prior must be 'standard' or 'class', got {prior!r}")
        if prior == "class" and not self.conditional:
            raise ValueError("prior='class' needs conditional=True: an unconditional model has "
                             "no class to look its prior up by")
        if upsampling not in UPSAMPLINGS:
            raise ValueError(f"upsampling must be one of {UPSAMPLINGS}, got {upsampling!r}")
        if decoder not in ("conv", "dense"):
            raise ValueError(f"decoder must be 'conv' or 'dense', got {decoder!r}")
        doublings = len(self.decoder_filters) + self.output_upsampling
        if decoder == "conv" and self.image_size % 2 ** doublings:
            raise ValueError(
                f"image_size {self.image_size} must be divisible by 2**{doublings} (one doubling"
                f" per decoder filter {self.decoder_filters}"
                + (", one in the output layer)" if self.output_upsampling else ")")
            )

        # === Layers ===
        self.encoder = self._build_encoder()
        self.decoder = self._build_decoder()
        self.sampler = Sampling(seed=seed, name="sampling")
        self.sampler.build(((None, self.latent_dim), (None, self.latent_dim)))
        # p(z | class): one row (mean, log-variance) per class, built now so its weights exist
        # before the first call; zeros = N(0, I) to start. None keeps the old weights layout.
        self.class_prior = None
        if self.prior == "class":
            self.class_prior = keras.layers.Embedding(self.num_classes, 2 * self.latent_dim,
                                                      embeddings_initializer="zeros",
                                                      name="class_prior")
            self.class_prior.build((None,))
        self._build_fitted_prior()

        # === Trackers ===
        self.total_loss_tracker = keras.metrics.Mean(name="loss")
        self.reconstruction_loss_tracker = keras.metrics.Mean(name="reconstruction_loss")
        self.kl_loss_tracker = keras.metrics.Mean(name="kl_loss")
        self.built = True

    def _build_fitted_prior(self):
        """Non-trainable room for ``fit_latent_prior``: per class a mean and a Cholesky factor
        (saved with the weights), and a flag that says whether they were fitted yet."""
        self.fitted_mean = self.fitted_scale = self.prior_is_fitted = None
        if not self.fitted_prior:
            return
        classes = self.num_classes if self.conditional else 1
        eye = np.broadcast_to(np.eye(self.latent_dim, dtype=np.float32),
                              (classes, self.latent_dim, self.latent_dim))
        self.fitted_mean = self.add_weight(shape=(classes, self.latent_dim), initializer="zeros",
                                           trainable=False, name="fitted_mean")
        self.fitted_scale = self.add_weight(shape=eye.shape, initializer="zeros",
                                            trainable=False, name="fitted_scale")
        self.fitted_scale.assign(eye)
        self.prior_is_fitted = self.add_weight(shape=(), initializer="zeros", trainable=False,
                                               name="prior_is_fitted")
        self.bank_styles = self.bank_has = None
        if self.writer_bank:
            room = (self.writer_bank, self.num_classes)
            self.bank_styles = self.add_weight(shape=(*room, self.latent_dim), trainable=False,
                                               initializer="zeros", name="bank_styles")
            self.bank_has = self.add_weight(shape=room, initializer="zeros", trainable=False,
                                            name="bank_has")

    def _build_encoder(self):
        """Image (and class) -> (z_mean, z_log_var)."""
        images = keras.Input((self.image_size, self.image_size, 1), name="images")
        inputs = [images]
        x = images
        for i, filters in enumerate(self.encoder_filters):
            x = keras.layers.Conv2D(filters, self.kernel_size, strides=2, padding="same",
                                    use_bias=self.normalization is None, name=f"conv_{i}")(x)
            norm = _normalization(self.normalization, f"norm_{i}")
            if norm is not None:
                x = norm(x)
            x = _activation(self.activation, self.leaky_slope, f"act_{i}")(x)
            if self.dropout:
                x = keras.layers.Dropout(self.dropout, name=f"dropout_{i}")(x)
        x = keras.layers.Flatten(name="flatten")(x)
        if self.conditional:
            labels = keras.Input((1,), dtype="int32", name="labels")
            inputs.append(labels)
            x = ClassConditioning(self.num_classes, self.embedding_dim, self.class_parts,
                                  name="class")([x, labels])
        if self.hidden_dim:
            x = keras.layers.Dense(self.hidden_dim, name="hidden")(x)
            x = _activation(self.activation, self.leaky_slope, "act_hidden")(x)
        z_mean = keras.layers.Dense(self.latent_dim, name="z_mean")(x)
        z_log_var = keras.layers.Dense(self.latent_dim, name="z_log_var")(x)
        inputs = inputs if self.conditional else images  # one input: no list to match
        return keras.Model(inputs, [z_mean, z_log_var], name="encoder")

    def _build_decoder(self):
        """z (and class) -> image in [0, 1]; also ``blend_decoder``, the same layers fed a
        class vector (and template image) instead of a label, for morphing between kana."""
        z = keras.Input((self.latent_dim,), name="z")
        layers = self._decoder_layers()
        if not self.conditional:
            return keras.Model(z, self._to_images(_apply(layers, z), None), name="decoder")
        labels = keras.Input((1,), dtype="int32", name="labels")
        x = ClassConditioning(self.num_classes, self.embedding_dim, self.class_parts,
                              name="class")([z, labels])
        template = None
        if self.class_template and self.decoder_kind == "conv":
            # A learned per-class image added to the logits: the label alone draws the
            # class's typical shape from the first steps, so z is left to learn the style
            # (without it the decoder learns to read the class from z and ignores the label).
            side = self.image_size
            template = keras.layers.Embedding(self.num_classes, side * side,
                                              embeddings_initializer="zeros",
                                              name="class_template")(labels)
            template = keras.layers.Reshape((side, side, 1), name="template_image")(template)
        decoder = keras.Model([z, labels], self._to_images(_apply(layers, x), template),
                              name="decoder")
        # Built once from the same layer objects (shared weights), kept out of Keras's
        # tracking so the weights file is unchanged.
        object.__setattr__(self, "_blend_decoder", self._build_blend_decoder(layers))
        return decoder

    def _build_blend_decoder(self, layers):
        """(z, class vector[, template logits]) -> image: a label's embedding replaced by any
        vector, so two kana's vectors (and templates) can be mixed."""
        z = keras.Input((self.latent_dim,), name="z")
        vector = keras.Input((self.embedding_dim,), name="class_vector")
        inputs = [z, vector]
        template = None
        if self.class_template and self.decoder_kind == "conv":
            template = keras.Input((self.image_size, self.image_size, 1), name="template")
            inputs.append(template)
        x = keras.layers.Concatenate(name="class")([z, vector])
        return keras.Model(inputs, self._to_images(_apply(layers, x), template),
                           name="blend_decoder")

    def _to_images(self, logits, template):
        if template is not None:
            logits = keras.layers.Add(name="add_template")([logits, template])
        if self.decoder_kind == "dense":
            return logits  # the dense decoder's pixel layer has its own sigmoid
        return keras.layers.Activation("sigmoid", name="images")(logits)

    def _decoder_layers(self):
        """The decoder's chain of layers, from the (z, class) vector to the pixel logits."""
        side = self.image_size
        if self.decoder_kind == "dense":
            layers = []
            for i, units in enumerate(self.dense_units):
                layers += [keras.layers.Dense(units, name=f"dense_{i}"),
                           _activation(self.activation, self.leaky_slope, f"act_{i}")]
            return layers + [keras.layers.Dense(side * side, activation="sigmoid", name="pixels"),
                             keras.layers.Reshape((side, side, 1), name="images")]
        start = side // 2 ** (len(self.decoder_filters) + self.output_upsampling)
        channels = self.encoder_filters[-1]
        layers = [keras.layers.Dense(start * start * channels, name="project"),
                  _activation(self.activation, self.leaky_slope, "act_project"),
                  keras.layers.Reshape((start, start, channels), name="reshape")]
        for i, filters in enumerate(self.decoder_filters):
            layers += self._doubling(filters, f"deconv_{i}", self.decoder_normalization is None)
            norm = _normalization(self.decoder_normalization, f"norm_{i}")
            layers += [norm] if norm is not None else []
            layers.append(_activation(self.activation, self.leaky_slope, f"act_{i}"))
        if self.output_upsampling:
            return layers + self._doubling(1, "pixels", True, output=True)
        return layers + [keras.layers.Conv2D(1, 3, padding="same", name="pixels")]

    def _doubling(self, filters, name, bias, output=False):
        """Layers that double the picture's side and give it ``filters`` channels."""
        if self.upsampling == "subpixel":  # a convolution, then channels become pixels
            kernel = 3 if output else self.upsampling_kernel  # the pixels: centred taps
            return [keras.layers.Conv2D(4 * filters, kernel, padding="same", use_bias=bias,
                                        name=f"{name}_conv"),
                    DepthToSpace(2, name=name)]
        if self.upsampling == "nearest" and not output:  # resize, then convolve
            return [keras.layers.UpSampling2D(2, name=f"{name}_upsample"),
                    keras.layers.Conv2D(filters, 3, padding="same", use_bias=bias, name=name)]
        return [keras.layers.Conv2DTranspose(filters, 4, strides=2, padding="same",
                                             use_bias=bias, name=name)]

    # === Forward pass, shared by every backend's trainer ===

    @property
    def metrics(self):
        return [self.total_loss_tracker, self.reconstruction_loss_tracker, self.kl_loss_tracker]

    def unpack_batch(self, data):
        """(images, labels) or images -> (images, labels or None)."""
        if isinstance(data, (tuple, list)):
            images = data[0]
            labels = data[1] if len(data) > 1 else None
        else:
            images, labels = data, None
        if self.conditional and labels is None:
            raise ValueError("a conditional KanaVAE needs (images, labels) batches")
        return images, labels

    def model_inputs(self, images, labels):
        return (images, labels) if self.conditional else images

    def _split_inputs(self, inputs):
        if isinstance(inputs, (tuple, list)):
            return inputs[0], (inputs[1] if len(inputs) > 1 else None)
        return inputs, None

    def _encoder_inputs(self, images, labels):
        images = ops.convert_to_tensor(images)
        if not self.conditional:
            return images
        return [images, ops.reshape(ops.cast(ops.convert_to_tensor(labels), "int32"), (-1, 1))]

    def _decoder_inputs(self, z, labels):
        z = ops.convert_to_tensor(z)
        if not self.conditional:
            return z
        return [z, ops.reshape(ops.cast(ops.convert_to_tensor(labels), "int32"), (-1, 1))]

    def _class_prior(self, labels):
        """Class indices -> (prior_mean, prior_log_var) tensors (N, latent_dim), log-var clipped."""
        labels = ops.reshape(ops.cast(ops.convert_to_tensor(labels), "int32"), (-1,))
        rows = self.class_prior(labels)
        prior_log_var = ops.clip(rows[:, self.latent_dim:], *PRIOR_LOG_VAR_RANGE)
        return rows[:, :self.latent_dim], prior_log_var

    def call(self, inputs, training=False):
        """(images, labels) -> {"reconstruction", "z_mean", "z_log_var"}, with
        "prior_mean" and "prior_log_var" for a class prior."""
        images, labels = self._split_inputs(inputs)
        z_mean, z_log_var = self.encoder(self._encoder_inputs(images, labels), training=training)
        z = self.sampler([z_mean, z_log_var])
        reconstruction = self.decoder(self._decoder_inputs(z, labels), training=training)
        outputs = {"reconstruction": reconstruction, "z_mean": z_mean, "z_log_var": z_log_var}
        if self.class_prior is not None:
            outputs["prior_mean"], outputs["prior_log_var"] = self._class_prior(labels)
        return outputs

    def vae_losses(self, images, outputs):
        total, reconstruction_loss, kl_loss = vae_loss(
            images, outputs["reconstruction"], outputs["z_mean"], outputs["z_log_var"], self.beta,
            outputs.get("prior_mean"), outputs.get("prior_log_var"),
        )
        return {"loss": total, "reconstruction_loss": reconstruction_loss, "kl_loss": kl_loss}

    def update_trackers(self, losses):
        for tracker in self.metrics:
            tracker.update_state(losses[tracker.name])
        return {tracker.name: tracker.result() for tracker in self.metrics}

    # === Drawing: numpy in, numpy out ===

    def _labels_array(self, labels, n):
        if not self.conditional:
            return None
        if labels is None:
            raise ValueError("a conditional KanaVAE needs labels (class indices)")
        labels = np.asarray(labels, dtype=np.int32).reshape(-1)
        if labels.size == 1 and n and n > 1:
            labels = np.repeat(labels, n)
        if labels.size and (labels.min() < 0 or labels.max() >= self.num_classes):
            raise ValueError(f"labels must lie in [0, {self.num_classes}), got {labels.min()}..{labels.max()}")
        return labels

    def encode(self, images, labels=None, batch_size=256):
        """Images (N, S, S[, 1]) float in [0, 1] -> (z_mean, z_log_var) numpy arrays."""
        images = np.asarray(images, dtype=np.float32)
        if images.ndim == 3:
            images = images[..., None]
        if images.shape[1:] != (self.image_size, self.image_size, 1):
            raise ValueError(f"images must be (N, {self.image_size}, {self.image_size}, 1), "
                             f"got {images.shape}")
        labels = self._labels_array(labels, len(images))
        if not len(images):
            empty = np.zeros((0, self.latent_dim), np.float32)
            return empty, empty.copy()
        means, log_vars = [], []
        for start in range(0, len(images), batch_size):
            part = slice(start, start + batch_size)
            z_mean, z_log_var = self.encoder(self._numpy_inputs(images[part], labels, part),
                                             training=False)
            means.append(ops.convert_to_numpy(z_mean).astype(np.float32))
            log_vars.append(ops.convert_to_numpy(z_log_var).astype(np.float32))
        return np.concatenate(means), np.concatenate(log_vars)

    def _numpy_inputs(self, x, labels, part):
        """One chunk of a sub-model's inputs: (x, labels as (n, 1)) or x alone.

        Called directly, not through ``predict_on_batch``: under a distribution strategy
        (``fit --distribute``) predict would split and regroup the batch."""
        if labels is None:
            return x
        return [x, labels[part].reshape(-1, 1)]

    def decode(self, z, labels=None, batch_size=256):
        """Latent codes (N, latent_dim) -> images float32 (N, S, S, 1) in [0, 1]."""
        z = np.asarray(z, dtype=np.float32).reshape(-1, self.latent_dim)
        labels = self._labels_array(labels, len(z))
        out = []
        for start in range(0, len(z), batch_size):
            part = slice(start, start + batch_size)
            out.append(ops.convert_to_numpy(self.decoder(
                self._numpy_inputs(z[part], labels, part), training=False)).astype(np.float32))
        return np.concatenate(out).astype(np.float32) if out else np.zeros(
            (0, self.image_size, self.image_size, 1), np.float32)

    def decode_blend(self, z, label_a: int, label_b: int, weight_a) -> np.ndarray:
        """Decode z (N, latent_dim) as a mix of two kana: per row, weight_a (N,) of class a's
        embedding and template and the rest of class b's. An interpolation between two
        kana then passes through shapes between them instead of switching halfway."""
        if not self.conditional:
            raise ValueError("an unconditional KanaVAE has no classes to blend")
        z = np.asarray(z, np.float32).reshape(-1, self.latent_dim)
        w = np.asarray(weight_a, np.float32).reshape(-1, 1)
        a, b = self._labels_array([label_a, label_b], 2)
        vectors = ops.convert_to_numpy(
            self.decoder.get_layer("class").class_vectors(np.asarray([a, b], np.int32)))
        inputs = [z, (w * vectors[0] + (1 - w) * vectors[1]).astype(np.float32)]
        if len(self._blend_decoder.inputs) == 3:
            side = self.image_size
            templates = ops.convert_to_numpy(self.decoder.get_layer("class_template").embeddings)
            mixed = w * templates[a] + (1 - w) * templates[b]
            inputs.append(mixed.reshape(-1, side, side, 1).astype(np.float32))
        return ops.convert_to_numpy(self._blend_decoder(inputs, training=False)).astype(
            np.float32)

    def reconstruct(self, images, labels=None):
        """Deterministic round trip through the latent means (what people compare)."""
        z_mean, _ = self.encode(images, labels)
        return self.decode(z_mean, labels)

    def prior_params(self, labels=None, n=None):
        """p(z | class) of each label -> (mean, log_var), float32 (N, latent_dim).

        Zeros for the standard prior (N is len(labels), else n), so callers need no branch.
        """
        if self.class_prior is None:
            count = len(np.asarray(labels).reshape(-1)) if labels is not None else (n or 1)
            zeros = np.zeros((count, self.latent_dim), np.float32)
            return zeros, zeros.copy()
        labels = self._labels_array(labels, n)
        table = ops.convert_to_numpy(self.class_prior.embeddings).astype(np.float32)[labels]
        log_var = np.clip(table[:, self.latent_dim:], *PRIOR_LOG_VAR_RANGE)
        return table[:, :self.latent_dim], log_var.astype(np.float32)

    def to_style(self, z, labels=None):
        """Codes z of the given classes -> class-free style eps = (z - mu_c) / sigma_c.

        With a class prior each class's codes sit in their own region of z; eps says where a
        drawing lies within its class, so ``from_style(eps, other)`` writes another kana in
        the same hand. Identity for the standard prior.
        """
        z = np.asarray(z, np.float32).reshape(-1, self.latent_dim)
        if self.has_fitted_prior:
            return priors.to_eps(z, *self._fitted_params(labels, len(z)))
        if self.class_prior is None:
            return z
        mean, log_var = self.prior_params(labels, len(z))
        return ((z - mean) * np.exp(-0.5 * log_var)).astype(np.float32)

    def from_style(self, eps, labels=None):
        """Style eps -> codes z = mu_c + sigma_c * eps of the given classes (to_style's inverse).

        eps ~ N(0, I) gives z ~ p(z | class): samples land where that class's codes are.
        Identity for the standard prior.
        """
        eps = np.asarray(eps, np.float32).reshape(-1, self.latent_dim)
        if self.has_fitted_prior:
            return priors.from_eps(eps, *self._fitted_params(labels, len(eps)))
        if self.class_prior is None:
            return eps
        mean, log_var = self.prior_params(labels, len(eps))
        return (mean + np.exp(0.5 * log_var) * eps).astype(np.float32)

    # === The fitted prior: where the codes really are ===

    @property
    def has_fitted_prior(self) -> bool:
        """True once ``fit_latent_prior`` ran (its weights were fitted, or loaded fitted)."""
        return (self.prior_is_fitted is not None
                and float(ops.convert_to_numpy(self.prior_is_fitted)) > 0.5)

    def _fitted_params(self, labels, n):
        """Each row's class mean (N, D) and Cholesky factor (N, D, D) of the fitted prior."""
        rows = self._labels_array(labels, n) if self.conditional else np.zeros(n, np.int32)
        mean = ops.convert_to_numpy(self.fitted_mean)[rows]
        return mean, ops.convert_to_numpy(self.fitted_scale)[rows]

    def fit_latent_prior(self, images, labels=None, shrinkage=None, batch_size=256,
                         writers=None):
        """Fit N(mu_c, Sigma_c) per class to the encoder's codes of ``images`` (ex post; see
        ``priors.class_gaussians``), and with ``writers`` (each image's writer id) fill the
        writer bank. Returns the mean log-likelihood of the codes under the fit (nats)."""
        if not self.fitted_prior:
            raise ValueError("this KanaVAE was built with fitted_prior=False: no room to fit")
        z_mean, z_log_var = self.encode(images, labels, batch_size)
        rows = (np.asarray(labels).reshape(-1) if self.conditional
                else np.zeros(len(z_mean), np.int64))
        classes = self.num_classes if self.conditional else 1
        means, scales = priors.class_gaussians(z_mean, z_log_var, rows, classes, shrinkage)
        self.fitted_mean.assign(means)
        self.fitted_scale.assign(scales)
        self.prior_is_fitted.assign(1.0)
        eps = priors.to_eps(z_mean, means[rows], scales[rows])
        if writers is not None and self.writer_bank:
            bank, has = priors.writer_bank(eps, rows, writers, classes, self.writer_bank)
            self.bank_styles.assign(bank)
            self.bank_has.assign(has)
        return priors.log_likelihood(eps, scales[rows])

    def pick_bank_writer(self, labels, rng: np.random.Generator) -> int | None:
        """A writer of the bank who drew every one of ``labels``, or None (no bank, unfitted)."""
        if not self.writer_bank or not self.has_fitted_prior:
            return None
        return priors.pick_writer(ops.convert_to_numpy(self.bank_has), labels, rng)

    def bank_writer_styles(self, labels, writer: int) -> np.ndarray:
        """Bank writer ``writer``'s style (eps) for each label: (N, latent_dim)."""
        labels = self._labels_array(labels, None)
        return ops.convert_to_numpy(self.bank_styles)[int(writer), labels].astype(np.float32)

    def generate(self, labels=None, n=None, temperature=1.0, seed=None):
        """New drawings: z ~ the prior at temperature (eps * temperature through ``from_style``),
        decoded (for the given classes if conditional)."""
        if labels is not None:
            labels = np.asarray(labels, dtype=np.int32).reshape(-1)
            if n is not None and n != len(labels):
                labels = np.resize(labels, n)
        n = len(labels) if labels is not None else (n or 1)
        eps = np.random.default_rng(seed).standard_normal((n, self.latent_dim)).astype(np.float32)
        return self.decode(self.from_style(eps * float(temperature), labels), labels)

    def init_class_templates(self, images, labels):
        """Start each class's template at the logit of its mean image (data-dependent init).

        Embedding rows only learn from their own class's examples, so learned from zero
        they lag behind z for epochs; starting at the class mean, the decoder draws the
        right class from the first step and z only has to learn the style.
        """
        if not (self.conditional and self.class_template and self.decoder_kind == "conv"):
            return
        images = np.asarray(images, dtype=np.float32).reshape(len(labels), -1)
        labels = np.asarray(labels).reshape(-1)
        table = np.zeros((self.num_classes, self.image_size * self.image_size), np.float32)
        for c in range(self.num_classes):
            members = images[labels == c]
            if len(members):
                mean = np.clip(members.mean(0), 0.02, 0.98)
                table[c] = np.log(mean / (1.0 - mean))
            else:
                table[c] = np.log(0.02 / 0.98)
        self.decoder.get_layer("class_template").embeddings.assign(table)

    # === Config ===

    def get_config(self):
        config = super().get_config()
        config.update({
            "image_size": self.image_size,
            "latent_dim": self.latent_dim,
            "num_classes": self.num_classes,
            "conditional": self.conditional,
            "beta": self.beta,
            "embedding_dim": self.embedding_dim,
            "encoder_filters": list(self.encoder_filters),
            "kernel_size": self.kernel_size,
            "activation": self.activation,
            "leaky_slope": self.leaky_slope,
            "normalization": self.normalization,
            "dropout": self.dropout,
            "hidden_dim": self.hidden_dim,
            "decoder": self.decoder_kind,
            "decoder_filters": list(self.decoder_filters),
            "dense_units": list(self.dense_units),
            "upsampling": self.upsampling,
            "class_template": self.class_template,
            "decoder_normalization": self.decoder_normalization,
            "output_upsampling": self.output_upsampling,
            "prior": self.prior,
            "fitted_prior": self.fitted_prior,
            "writer_bank": self.writer_bank,
            "class_parts": self.class_parts,
            "upsampling_kernel": self.upsampling_kernel,
            "seed": self.seed,
        })
        return config

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    @classmethod
    def for_classes(cls, classes, class_parts=None, **kwargs):
        """A KanaVAE for this class list; ``class_parts="marks"`` conditions it by parts
        (each class's base kana plus its ゛/゜ mark, ``kana.class_parts``)."""
        classes = list(classes)
        if class_parts == "marks":
            class_parts = list(kana.class_parts(classes))
        return cls(num_classes=len(classes), class_parts=class_parts, **kwargs)


def _checked_parts(parts, num_classes, conditional):
    """None, or (bases, marks) as two lists of ``num_classes`` indices (see ``kana.class_parts``)."""
    if parts is None:
        return None
    if not conditional:
        raise ValueError("class_parts needs conditional=True: an unconditional model has no "
                         "classes to split into parts")
    if isinstance(parts, str) or len(parts) != 2:
        raise ValueError("class_parts must be (bases, marks) lists, e.g. from "
                         f"kana.class_parts(classes) or KanaVAE.for_classes; got {parts!r}")
    bases, marks = ([int(i) for i in p] for p in parts)
    if len(bases) != num_classes or len(marks) != num_classes or \
            not all(0 <= b < num_classes for b in bases) or min(marks, default=0) < 0:
        raise ValueError(f"class_parts must give a base class in [0, {num_classes}) and a mark "
                         f">= 0 for each of the {num_classes} classes")
    return [bases, marks]


# ## Saving and loading the weights folder


def save_weights_atomic(model: keras.Model, path) -> Path:
    """model.save_weights through a temporary name, so a crash never leaves half a file."""
    with atomic_path(path) as tmp:  # the temporary keeps the .weights.h5 suffix Keras wants
        model.save_weights(tmp)
    return Path(path)


def file_digest(path) -> str:
    """SHA-256 of a file: config.json names the weights file it belongs to."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def save_vae(model: KanaVAE, out_dir, classes, extra: dict | None = None) -> Path:
    """Write kana_vae.weights.h5 + config.json (everything needed to rebuild) into out_dir.

    Each file is replaced atomically, and config.json records the SHA-256 of the weights
    it was written with: a crash between the two replacements leaves a pair that
    ``load_vae`` refuses by name instead of a model that silently mismatches its config.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    classes = list(classes)
    if model.conditional and len(classes) != model.num_classes:
        raise ValueError(f"{len(classes)} classes given for a model with num_classes={model.num_classes}")
    if getattr(model, "optimizer", None) is not None:
        # A compiled model's weights file also holds the optimizer state: ship the weights only.
        bare = KanaVAE.from_config(model.get_config())
        bare.set_weights(model.get_weights())
        model = bare
    weights = save_weights_atomic(model, out_dir / WEIGHTS_FILE)
    config = {"model": model.get_config(), "classes": classes, "image_size": model.image_size,
              "backend": BACKEND, "weights_sha256": file_digest(weights)}
    config.update(extra or {})
    write_json_atomic(out_dir / CONFIG_FILE, config)
    return out_dir


def load_config(weights_dir) -> dict:
    path = Path(weights_dir) / CONFIG_FILE
    try:
        return read_json_object(path, ("model", "classes"))
    except FileNotFoundError:
        raise FileNotFoundError(f"{path}: no config.json (is this a kana-keras weights folder?)") from None


def load_vae(weights_dir):
    """Rebuild the model from config.json and load kana_vae.weights.h5 -> (model, config)."""
    weights_dir = Path(weights_dir)
    config = load_config(weights_dir)
    model = KanaVAE.from_config(config["model"])
    weights = weights_dir / WEIGHTS_FILE
    if not weights.exists():
        raise FileNotFoundError(f"{weights}: missing weights file")
    expected = config.get("weights_sha256")
    if expected and file_digest(weights) != expected:
        raise ValueError(f"{weights}: does not match {weights_dir / CONFIG_FILE} (written by "
                         "another save, or damaged): retrain or restore both files together")
    load_weights(model, weights)
    return model, config
