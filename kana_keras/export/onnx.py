"""The decoder as ONNX, and the tables a page needs to feed it as ``KanaGenerator`` does.

The page runs one model, the decoder that takes a class *vector* and template image instead
of a label (``KanaVAE``'s blend decoder): a label is its table row, and a morph between two
kana mixes two rows, exactly as ``KanaVAE.decode_blend``. The prior's mapping from a style
eps to z is read off ``vae.from_style`` itself (``prior_tables``), so the page follows
however the model maps styles, as long as the map is affine (z = mean_c + scale_c @ eps).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from kana_keras.files import atomic_path


def blend_decoder(vae):
    """The decoder of (z, class vector[, template]); a ValueError for a model without one."""
    model = getattr(vae, "_blend_decoder", None)
    if not vae.conditional or model is None:
        raise ValueError("the web export needs a conditional model (the default preset's "
                         "weights): an unconditional one has no kana to choose")
    return model


def class_tables(vae) -> dict[str, np.ndarray]:
    """Per class the decoder's inputs besides z: "vectors" (C, E) and "templates" (C, S*S),
    the rows ``decode_blend`` mixes (zeros where the model has no templates)."""
    decoder = vae.decoder
    vectors = np.asarray(decoder.get_layer("class").embedding.embeddings, np.float32)
    side = vae.image_size
    templates = np.zeros((len(vectors), side * side), np.float32)
    if len(blend_decoder(vae).inputs) == 3:
        templates = np.asarray(decoder.get_layer("class_template").embeddings, np.float32)
    return {"vectors": vectors, "templates": templates}


def prior_tables(vae, check_seed: int = 0) -> dict[str, np.ndarray]:
    """``vae.from_style`` as per-class tables: "mean" (C, D) and "scale" (C, D, D), with
    from_style(eps, c) == mean[c] + scale[c] @ eps (checked on random eps: ValueError if not)."""
    classes, dim = vae.num_classes, vae.latent_dim
    labels = np.arange(classes, dtype=np.int32)
    mean = vae.from_style(np.zeros((classes, dim), np.float32), labels)
    scale = np.empty((classes, dim, dim), np.float32)
    for j in range(dim):
        unit = np.zeros((classes, dim), np.float32)
        unit[:, j] = 1.0
        scale[:, :, j] = vae.from_style(unit, labels) - mean
    eps = np.random.default_rng(check_seed).standard_normal((classes, dim)).astype(np.float32)
    mapped = mean + np.einsum("cij,cj->ci", scale, eps)
    if not np.allclose(mapped, vae.from_style(eps, labels), atol=1e-4):
        raise ValueError("vae.from_style is not affine in eps: the web page's tables cannot "
                         "mirror it; update kana_keras/export/onnx.py and the page's fromStyle")
    return {"mean": mean.astype(np.float32), "scale": scale}


def decoder_inputs(tables: dict, z, labels_a, labels_b=None, weight_a=1.0) -> list[np.ndarray]:
    """What the page feeds the ONNX decoder for z (N, D) of kana a (mixed with b by weight_a):
    the Python twin of the page's ``decoderInputs``, used to test that the two agree."""
    z = np.asarray(z, np.float32)
    a = np.asarray(labels_a).reshape(-1)
    b = a if labels_b is None else np.asarray(labels_b).reshape(-1)
    w = np.broadcast_to(np.asarray(weight_a, np.float32).reshape(-1, 1), (len(z), 1))
    vectors = w * tables["vectors"][a] + (1 - w) * tables["vectors"][b]
    templates = w * tables["templates"][a] + (1 - w) * tables["templates"][b]
    side = int(round(np.sqrt(templates.shape[1])))
    return [z, vectors.astype(np.float32),
            templates.reshape(-1, side, side, 1).astype(np.float32)]


def export_decoder(vae, path) -> Path:
    """The blend decoder as one ONNX file (Keras's own exporter), written whole."""
    import keras

    model = blend_decoder(vae)
    signature = [keras.InputSpec(shape=tuple(x.shape), dtype=x.dtype, name=x.name)
                 for x in model.inputs]
    with atomic_path(path) as tmp:
        model.export(str(tmp), format="onnx", input_signature=[signature], verbose=False)
    return Path(path)
