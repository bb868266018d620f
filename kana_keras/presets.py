"""Named model configurations, as data (the way KerasHub keeps presets).

``blog`` reproduces the seed network for comparison: 72x72 input, 12 latents, three 4x4
convolutions of 64 filters with leaky ReLU 0.3 and dropout, then a dense decoder of about
66M parameters (two 5,900-unit hidden layers and one dense output per pixel), unconditional,
Adam 5e-4, batch 32. Nearly all its parameters and time sit in that decoder.

``default`` is what we ship: a conditional convolutional VAE at 64x64 (strided 3x3
convolutions of 32-256 filters with batch norm in; sub-pixel doublings of 128-32 filters out
(a 2x2 convolution to 4x the channels, then depth_to_space: a transposed convolution's cost,
about 5x faster under XLA), the last one drawing the pixels, so no feature map is held at
full size; a 16-d class embedding fed to both halves, plus a learned per-class logit image in
the decoder; 32 latents), about 4.2M trainable parameters, beta 0.05, a full-covariance
Gaussian per class fitted to the finished encoder's codes to sample from, and a writer bank
(each training writer's own style of every kana) that Write takes one hand from. Convolutions share weights
across the picture, so it learns strokes instead of memorising pixels; the wide encoder and
decoder are what let z carry the writer (74 nats per image instead of 8 with the earlier
1.5M-parameter network, both at beta 0.1), and sampling where the codes really are is what
keeps low-beta samples legible (``docs/tradeoffs.md``).
"""

from __future__ import annotations

import copy

# fmt: off
PRESETS = {
    "blog": {
        "description": "The seed blog's network: unconditional, conv encoder, ~66M-param dense decoder.",
        "model": {
            # data
            "image_size": 72,
            # architecture
            "latent_dim": 12,
            "conditional": False,
            "encoder_filters": (64, 64, 64),    # three 4x4 convolutions, stride 2: 72 -> 36 -> 18 -> 9
            "kernel_size": 4,
            "activation": "leaky_relu",
            "leaky_slope": 0.3,
            "normalization": None,
            "dropout": 0.25,
            "hidden_dim": 0,                    # z_mean/z_log_var straight from the flattened maps
            "decoder": "dense",
            "dense_units": (5900, 5900),        # 12 -> 5900 -> 5900 -> 72*72: ~66M parameters
            "beta": 1.0,
        },
        # optimization
        "learning_rate": 5e-4,
        "batch_size": 32,
        "epochs": 10,
        "augment": False,
    },
    "default": {
        "description": "Conditional conv VAE: strided convs + batch norm, sub-pixel decoder, class embedding.",
        "model": {
            # data
            "image_size": 64,
            # architecture
            "latent_dim": 32,
            "conditional": True,
            "class_template": True,                 # per-class logit image: label draws the shape
            "embedding_dim": 16,
            "encoder_filters": (32, 64, 128, 256),  # 3x3 stride 2: 64 -> 32 -> 16 -> 8 -> 4
            "kernel_size": 3,
            "activation": "relu",
            "normalization": "batch",               # encoder only: the decoder trains fine
            "decoder_normalization": None,          # without, and batch norm costs CPU time
            "dropout": 0.0,
            "hidden_dim": 512,
            "decoder": "conv",
            "decoder_filters": (128, 64, 32),       # doublings: 4 -> 8 -> 16 -> 32
            "output_upsampling": True,              # ... and the pixel layer: 32 -> 64
            "upsampling": "subpixel",               # conv to 4x channels, then depth_to_space:
            "upsampling_kernel": 2,                 # a transposed conv's cost, 5x faster on XLA
            "prior": "class",                       # learned p(z | class) while training
            "fitted_prior": True,                   # samples: a Gaussian per class fitted ex post
                                                    # to the codes (Ghosh et al. 2020)
            "writer_bank": 160,                     # training writers' own styles: Write in one hand
            "beta": 0.05,                           # z keeps the writer: sharp reconstructions
        },
        # optimization
        "learning_rate": 2e-3,
        "batch_size": 64,
        "epochs": 16,                           # ~7 min on a 2-core CPU (tensorflow)
        "augment": True,
    },
}
# fmt: on


def get_preset(name: str) -> dict:
    """A deep copy of the named preset (so callers can tweak it freely)."""
    try:
        return copy.deepcopy(PRESETS[name])
    except KeyError:
        raise ValueError(f"--preset must be one of {sorted(PRESETS)}, got {name!r}") from None
