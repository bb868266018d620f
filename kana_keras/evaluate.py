"""Honest quality numbers for a trained kana VAE: ``python -m kana_keras.evaluate``.

Generators of handwriting usually show pictures; we measure, with a recognizer that never
saw the VAE (``kana_keras.recognizer``) as the judge:

- **test split** (unseen writers): reconstruction error and both loss terms per image;
- **conditional samples**: N per class from the prior, share recognised as the requested
  class (per class and overall), the usual protocol for conditional generators;
- **reconstructions** of test images, share recognised as their class;
- **diversity**: mean pairwise distance of samples of one class over the same on real test
  images of that class (a collapsed model scores near 0, a noisy one far above 1), on the
  raw pixels and on the judge's view (both sets through the same ``prepare``: thresholded
  and framed, so an MSE decoder's soft edges, which shrink every distance, do not count as
  sameness);
- **kana FID**: Fréchet distance between real test images and samples in the recognizer's
  penultimate feature space, one number to compare two models;
- **realistic inputs** (``kana_keras.photos``: photos, scans, canvas layers of writers no
  run has seen): the recognizer's accuracy, and how often the VAE's reconstruction of such
  an input is still recognised as the same kana (look-alike pairs such as へ/ヘ count).

Writes ``report.md``, ``report.json`` and pictures into ``--out``, prints a short table,
side by side with the ``blog`` preset when ``--blog-weights`` is given.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Callable, Sequence

import cv2
import numpy as np

from kana_keras import kana as kana_mod
from kana_keras.files import write_json_atomic, write_text_atomic

DEFAULT_SAMPLES_PER_CLASS = 16
DEFAULT_REALISTIC_PER_CLASS = 2
DEFAULT_HELDOUT_PER_CLASS = 6

# ## Metrics: plain numpy, each testable on constructed cases


def per_image_losses(images, reconstruction_mean, reconstruction_sampled, z_mean, z_log_var,
                     beta: float = 1.0, prior_mean=None, prior_log_var=None) -> dict:
    """The VAE's loss terms per image (means over images) and the per-pixel error.

    ``reconstruction_mean`` decodes z_mean (what people look at); ``reconstruction_sampled``
    decodes a sampled z (what the training loss sees). ``prior_mean``/``prior_log_var``
    (per image, as ``vae.prior_params`` gives them) are a learned class prior: the KL is then
    taken to it, as in training; None is N(0, I).
    """
    x = np.asarray(images, np.float64).reshape(len(images), -1)
    mean = np.asarray(reconstruction_mean, np.float64).reshape(len(images), -1)
    sampled = np.asarray(reconstruction_sampled, np.float64).reshape(len(images), -1)
    zm, zlv = np.asarray(z_mean, np.float64), np.asarray(z_log_var, np.float64)
    if prior_mean is None and prior_log_var is None:
        kl = (-0.5 * (1 + zlv - zm ** 2 - np.exp(zlv))).sum(axis=1)
    else:  # KL between diagonal Gaussians, as model.vae_loss
        pm = np.zeros_like(zm) if prior_mean is None else np.asarray(prior_mean, np.float64)
        plv = np.zeros_like(zlv) if prior_log_var is None else np.asarray(prior_log_var,
                                                                          np.float64)
        kl = (0.5 * (plv - zlv - 1 + (np.exp(zlv) + (zm - pm) ** 2) * np.exp(-plv))).sum(axis=1)
    sse = ((x - sampled) ** 2).sum(axis=1)
    return {
        "reconstruction_mse": float(((x - mean) ** 2).mean()),          # per pixel, z = mean
        "reconstruction_loss": float(sse.mean()),                        # per image, sampled z
        "kl_loss": float(kl.mean()),                                     # per image
        "loss": float((sse + beta * kl).mean()),
        "images": int(len(x)),
    }


def judge_accuracy(predict: Callable[[np.ndarray], np.ndarray], images, targets,
                   classes: Sequence[str]) -> dict:
    """Share of images the judge names as their target class (look-alikes count as right).

    ``predict`` maps images to class indices; returns overall and per-class accuracy.
    """
    targets = np.asarray(targets)
    if not len(targets):
        return {"accuracy": float("nan"), "per_class": {}, "count": 0}
    predicted = np.asarray(predict(images))
    right = np.array([kana_mod.same_kana(classes[p], classes[t])
                      for p, t in zip(predicted, targets)])
    per_class = {classes[c]: float(right[targets == c].mean()) for c in np.unique(targets)}
    return {"accuracy": float(right.mean()), "per_class": per_class, "count": int(len(targets))}


def mean_pairwise_distance(images) -> float:
    """Mean Euclidean distance between all pairs of images (flattened)."""
    x = np.asarray(images, np.float64).reshape(len(images), -1)
    n = len(x)
    if n < 2:
        return 0.0
    sq = (x ** 2).sum(axis=1)
    d2 = np.clip(sq[:, None] + sq[None, :] - 2 * x @ x.T, 0, None)
    iu = np.triu_indices(n, k=1)
    return float(np.sqrt(d2[iu]).mean())


def diversity_ratio(samples, sample_labels, real, real_labels) -> dict:
    """Per class: pairwise distance of samples / of real images; summary = mean over classes."""
    samples, real = np.asarray(samples), np.asarray(real)
    sample_labels, real_labels = np.asarray(sample_labels), np.asarray(real_labels)
    per_class = {}
    for c in np.unique(sample_labels):
        real_c = real[real_labels == c]
        sam_c = samples[sample_labels == c]
        if len(real_c) < 2 or len(sam_c) < 2:
            continue
        ref = mean_pairwise_distance(real_c)
        if ref > 0:
            per_class[int(c)] = mean_pairwise_distance(sam_c) / ref
    values = np.array(list(per_class.values()))
    return {"ratio": float(values.mean()) if len(values) else float("nan"),
            "ratio_min": float(values.min()) if len(values) else float("nan"),
            "ratio_max": float(values.max()) if len(values) else float("nan"),
            "per_class": per_class}


def frechet_distance(features_a, features_b) -> float:
    """Fréchet distance between Gaussians fitted to two feature sets (the FID formula)."""
    a, b = np.asarray(features_a, np.float64), np.asarray(features_b, np.float64)
    mu_a, mu_b = a.mean(axis=0), b.mean(axis=0)
    cov_a, cov_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    # Tr sqrt(A B) = sum sqrt(eig(sqrt(A) B sqrt(A))), all symmetric: no complex sqrtm needed
    w, v = np.linalg.eigh(cov_a)
    sqrt_a = (v * np.sqrt(np.clip(w, 0, None))) @ v.T
    middle = sqrt_a @ cov_b @ sqrt_a
    tr_sqrt = np.sqrt(np.clip(np.linalg.eigvalsh((middle + middle.T) / 2), 0, None)).sum()
    fd = ((mu_a - mu_b) ** 2).sum() + np.trace(cov_a) + np.trace(cov_b) - 2 * tr_sqrt
    return float(max(fd, 0.0))


def judge_view(images, size: int) -> np.ndarray:
    """What the judge sees: each image through ``prepare(ink="high")``, as every input is.

    VAE drawings are grey and soft; prepare thresholds and frames them exactly as it does a
    photo or a test image, so the recognizer judges shapes, not the decoder's haze. An
    image prepare finds empty stays empty (and is judged wrong).
    """
    from kana_keras import preprocess

    x = np.asarray(images)
    if x.ndim == 4:
        x = x[..., 0]
    if x.dtype != np.uint8:
        x = np.clip(np.rint(x.astype(np.float32) * 255.0), 0, 255).astype(np.uint8)
    out = np.zeros((len(x), size, size), np.uint8)
    for i, img in enumerate(x):
        try:
            out[i] = preprocess.prepare(img, size, ink="high")
        except ValueError:
            pass
    return out


def peak_ink(images) -> np.ndarray:
    """The darkest point of each image as ink in [0, 1] (float ink-high or uint8 ink-high).

    A sample whose strongest stroke is pale grey reads as fog, however right its shape.
    """
    x = _ink_float(images)
    return x.reshape(len(x), -1).max(axis=1) if len(x) else np.zeros(0)


def sharpness(images) -> np.ndarray:
    """Edge length per unit of ink of each image, contrast-normalised (nan if blank).

    Sum of |horizontal| + |vertical| differences over the sum of ink, after each image is
    divided by its own peak: a crisp stroke of width w scores about 2/w whatever its
    darkness, the same stroke smeared over twice the width about half that.
    """
    x = _ink_float(images)
    peak = x.reshape(len(x), -1).max(axis=1) if len(x) else np.zeros(0)
    out = np.full(len(x), np.nan)
    for i in np.flatnonzero(peak > 1e-3):
        img = x[i] / peak[i]
        edges = np.abs(np.diff(img, axis=0)).sum() + np.abs(np.diff(img, axis=1)).sum()
        out[i] = edges / img.sum()
    return out


def _ink_float(images) -> np.ndarray:
    """float ink-high (N, H, W) in [0, 1] from float or uint8, with or without a channel."""
    x = np.asarray(images)
    if x.ndim == 4:
        x = x[..., 0]
    return x.astype(np.float64) / 255.0 if x.dtype == np.uint8 else x.astype(np.float64)


def ink_quality(images, reference_sharpness: float) -> dict:
    """Peak ink (median, 5th percentile) and sharpness relative to the training images'."""
    peaks, sharp = peak_ink(images), sharpness(images)
    mean_sharp = float(np.nanmean(sharp)) if np.isfinite(sharp).any() else 0.0
    return {"peak_ink_median": float(np.median(peaks)),
            "peak_ink_p5": float(np.percentile(peaks, 5)),
            "sharpness": mean_sharp,
            "sharpness_ratio": mean_sharp / reference_sharpness if reference_sharpness else
            float("nan")}


def shape_masks(images, size: int) -> np.ndarray:
    """Boolean ink masks of the prepared (thresholded, framed) images: shapes to compare."""
    return judge_view(images, size) > 0


def mask_iou(a, b) -> np.ndarray:
    """Intersection over union of two stacks of boolean masks, per pair (0 if both empty)."""
    a, b = np.asarray(a).reshape(len(a), -1), np.asarray(b).reshape(len(b), -1)
    inter, union = (a & b).sum(axis=1), (a | b).sum(axis=1)
    return np.where(union > 0, inter / np.maximum(union, 1), 0.0)


def style_kept(inputs, reconstructions, labels, class_means, size: int) -> dict:
    """Share of inputs whose reconstruction is closer to them (IoU of the prepared,
    thresholded shapes) than their class's average drawing is.

    A reconstruction that only redraws the class's typical shape keeps none of the writer.
    """
    labels = np.asarray(labels)
    if not len(labels):
        return {"share": float("nan"), "count": 0}
    shown = shape_masks(inputs, size)
    iou_recon = mask_iou(shown, shape_masks(reconstructions, size))
    iou_mean = mask_iou(shown, shape_masks(np.asarray(class_means)[labels], size))
    return {"share": float((iou_recon > iou_mean).mean()), "count": int(len(labels)),
            "iou_reconstruction": float(iou_recon.mean()), "iou_class_mean": float(iou_mean.mean())}


def user_recognised(gen, pictures, targets, classes: Sequence[str]) -> dict:
    """Share of pictures that ``KanaGenerator.recognize`` (the user's call) names as their
    target (look-alikes count as right), and how many it refuses as blank."""
    right, refused = user_read_right(gen, pictures, targets, classes)
    return summary(right, refused, targets, classes)


def user_read_right(gen, pictures, targets, classes: Sequence[str]) -> tuple[np.ndarray, int]:
    """Per picture, whether ``recognize`` reads it as its target; and how many it refuses."""
    read = gen.recognize_batch(list(pictures), k=1)
    right = np.array([r is not None and kana_mod.same_kana(r[0][0], classes[t])
                      for r, t in zip(read, np.asarray(targets))], bool)
    return right, int(sum(r is None for r in read))


def summary(right, refused: int, targets, classes: Sequence[str]) -> dict:
    targets = np.asarray(targets)
    per_class = {classes[c]: float(right[targets == c].mean()) for c in np.unique(targets)}
    return {"accuracy": float(right.mean()) if len(right) else float("nan"),
            "refused": refused, "per_class": per_class, "count": int(len(targets))}


# ## Evaluating one weights folder


def _images_float(images) -> np.ndarray:
    return np.asarray(images, np.float32)[..., None] / 255.0


def evaluate_vae(weights_dir, recognizer, cache, samples_per_class: int = DEFAULT_SAMPLES_PER_CLASS,
                 seed: int = 0, realistic=None, out_dir=None, tag: str = "default",
                 progress: bool = True, heldout=None) -> dict:
    """Every metric of one weights folder against one judge; pictures into out_dir.

    Samples and reconstructions are made and read exactly as a user makes and reads them:
    ``KanaGenerator.sample``/``reconstruct`` (no class given: the recognizer picks it, as in
    the demo), then ``KanaGenerator.recognize``. The judge's view (``judge_view``: ink
    polarity given) is kept beside as a second opinion.
    """
    t0 = time.time()
    gen = _generator(weights_dir, recognizer)
    vae, classes, s = gen.vae, gen.classes, gen.image_size
    _check_cache_fits(weights_dir, cache, classes, s)
    judge = lambda imgs: recognizer.predict(judge_view(imgs, recognizer.image_size))  # noqa: E731
    test_x, test_y = np.asarray(cache.images("test")), np.asarray(cache.labels("test"))
    train_x, train_y = np.asarray(cache.images("train")), np.asarray(cache.labels("train"))
    x = _images_float(test_x)
    cond = gen.conditional
    result = {"weights": str(weights_dir), "preset": gen.config.get("preset"),
              "conditional": cond, "image_size": s, "latent_dim": gen.latent_dim,
              "test_images": int(len(test_y)), "fitted_prior": bool(vae.has_fitted_prior)}
    reference = float(np.nanmean(sharpness(train_x[::max(1, len(train_x) // 4000)])))
    result["data_sharpness"] = reference
    result["test"] = _test_losses(vae, x, test_y if cond else None, seed)

    # reconstructions of unseen writers, as a user asks for them
    recons = user_reconstructions(gen, test_x, progress)
    result["reconstructions_user"] = user_recognised(gen, 255 - recons, test_y, classes)
    result["reconstructions_recognised"] = judge_accuracy(judge, recons, test_y, classes)
    result["reconstructions_ink"] = ink_quality(recons, reference)
    result["style_kept"] = style_kept(test_x, recons, test_y, class_means(train_x, train_y,
                                                                          len(classes)), s)
    result["test_recognised"] = judge_accuracy(judge, x, test_y, classes)

    # samples, as a user asks for them: every class, temperature 1
    sample_labels = np.repeat(np.arange(len(classes)), samples_per_class).astype(np.int32)
    samples = user_samples(gen, samples_per_class, seed) if cond else \
        255 - gen.sample(len(sample_labels), seed=seed)
    result["samples_ink"] = ink_quality(samples, reference)
    if cond:
        result["samples_user"] = user_recognised(gen, 255 - samples, sample_labels, classes)
        result["samples_recognised"] = judge_accuracy(judge, samples, sample_labels, classes)
        grouping = sample_labels
    else:  # the blog's model: no class to ask for; group samples by what the judge reads
        probs = recognizer.probabilities(judge_view(samples, recognizer.image_size))
        grouping = probs.argmax(1)
        result["samples_legible"] = float((probs.max(1) >= 0.5).mean())
        result["samples_classes_covered"] = int(len(np.unique(grouping)))
    result.update(_diversity_and_fid(recognizer, samples, grouping, test_x, test_y))
    result["samples_per_class"] = samples_per_class

    # realistic inputs: recognised, and reconstructed-then-recognised
    if realistic is not None and len(realistic):
        result["realistic"] = realistic_metrics(gen, realistic, progress=progress)
    if heldout is not None and cond:
        result["heldout_forms"] = heldout_metrics(gen, *heldout, progress=progress)
    if out_dir is not None:
        _pictures(out_dir, tag, classes, samples, sample_labels if cond else None, test_x,
                  recons, test_y)
    result["seconds"] = round(time.time() - t0, 1)
    return result


def _generator(weights_dir, recognizer):
    from kana_keras.inference import KanaGenerator

    return KanaGenerator(*_load_vae(weights_dir), recognizer=recognizer, weights_dir=weights_dir)


def _check_cache_fits(weights_dir, cache, classes, size) -> None:
    if list(cache.classes) != classes:
        raise ValueError(f"{weights_dir}: the model's classes differ from the cache's "
                         f"({len(classes)} vs {len(cache.classes)})")
    if int(cache.image_size) != size:
        raise ValueError(f"{weights_dir}: model image size {size} but cache image size "
                         f"{cache.image_size}")


def _test_losses(vae, x, labels, seed) -> dict:
    """The training loss's terms on the test split (KL to the model's trained prior)."""
    z_mean, z_log_var = vae.encode(x, labels)
    recon_mean = vae.decode(z_mean, labels)
    eps = np.random.default_rng([seed, 1]).standard_normal(z_mean.shape).astype(np.float32)
    recon_sampled = vae.decode(z_mean + np.exp(0.5 * z_log_var) * eps, labels)
    prior = vae.prior_params(labels) if vae.prior == "class" else (None, None)
    return per_image_losses(x, recon_mean, recon_sampled, z_mean, z_log_var,
                            float(getattr(vae, "beta", 1.0)), *prior)


def user_reconstructions(gen, images, progress: bool = True) -> np.ndarray:
    """``gen.reconstruct`` of each ink-high image, handed over as a user's black-on-white
    picture with no class given: ink-high uint8 (N, S, S); blank where it is refused."""
    from tqdm import tqdm

    out = np.zeros((len(images), gen.image_size, gen.image_size), np.uint8)
    for i, img in enumerate(tqdm(images, desc="reconstructions", unit="img",
                                 disable=not progress, mininterval=2.0)):
        try:
            out[i] = 255 - gen.reconstruct(255 - img).reconstruction
        except ValueError:  # nothing stands out from the paper: the user gets no drawing
            pass
    return out


def user_samples(gen, per_class: int, seed: int) -> np.ndarray:
    """``gen.sample(per_class, kana=c, seed=..., temperature=1)`` for every class c, in class
    order: ink-high uint8 (C * per_class, S, S)."""
    return np.concatenate([255 - gen.sample(per_class, kana=c, seed=seed * 1000 + i,
                                            temperature=1.0)
                           for i, c in enumerate(gen.classes)])


def class_means(images, labels, n_classes: int, chunk: int = 8192) -> np.ndarray:
    """Each class's average drawing, float ink-high (C, S, S): what a writer-free model draws.

    Summed a chunk at a time, so a large memory-mapped split is never held as floats."""
    labels = np.asarray(labels)
    sums = np.zeros((n_classes, *images.shape[1:]), np.float64)
    for start in range(0, len(labels), chunk):
        np.add.at(sums, labels[start:start + chunk],
                  np.asarray(images[start:start + chunk], np.float64) / 255.0)
    counts = np.bincount(labels, minlength=n_classes).reshape(-1, *([1] * (sums.ndim - 1)))
    return (sums / np.maximum(counts, 1)).astype(np.float32)


def _diversity_and_fid(recognizer, samples, grouping, test_x, test_y) -> dict:
    """Diversity on raw pixels and in the judge's view, and the kana FID."""
    seen_real = judge_view(test_x, recognizer.image_size)
    seen_fake = judge_view(samples, recognizer.image_size)
    raw = diversity_ratio(_ink_float(samples), grouping, _ink_float(test_x), test_y)
    return {"diversity": raw,
            "diversity_judged": diversity_ratio(seen_fake / 255.0, grouping, seen_real / 255.0,
                                                test_y),
            "kana_fid": frechet_distance(recognizer.features(seen_real),
                                         recognizer.features(seen_fake))}


def _pictures(out_dir, tag, classes, samples, sample_labels, test_x, recons, test_y) -> None:
    """A sample grid (8 per shown class) and test images above their reconstructions."""
    from kana_keras import images as pictures

    out_dir = Path(out_dir)
    show = np.linspace(0, len(classes) - 1, min(len(classes), 12)).astype(int)
    if sample_labels is not None:
        pick = np.concatenate([np.flatnonzero(sample_labels == c)[:8] for c in show])
        pictures.save_atomic(pictures.grid(samples[pick], [classes[sample_labels[i]] for i in pick],
                                           cols=8, scale=2), out_dir / f"{tag}_samples.png")
    else:
        pictures.save_atomic(pictures.grid(samples[:96], cols=12, scale=2),
                             out_dir / f"{tag}_samples.png")
    pick = np.concatenate([np.flatnonzero(test_y == c)[:1] for c in show])
    pair = np.concatenate([test_x[pick], recons[pick]])
    pictures.save_atomic(pictures.grid(pair, [classes[test_y[i]] for i in pick] * 2,
                                       cols=len(pick), scale=2),
                         out_dir / f"{tag}_reconstructions.png")


def _load_vae(weights_dir):
    from kana_keras.model import load_vae

    return load_vae(weights_dir)


def heldout_metrics(gen, images, labels, sources, progress: bool = True) -> dict:
    """Letter forms no training writer used (``kana_keras.heldout``), handed over as a user's
    pictures: recognised, and reconstructed with the recognised kana kept (per font too)."""
    classes, sources = gen.classes, np.asarray(sources)
    right, refused = user_read_right(gen, 255 - np.asarray(images), labels, classes)
    redrawn = user_recognised(gen, 255 - user_reconstructions(gen, images, progress), labels,
                              classes)
    return {"recognised": summary(right, refused, labels, classes), "reconstructions": redrawn,
            "per_source": {str(f): float(right[sources == f].mean()) for f in np.unique(sources)}}


def realistic_metrics(gen, realistic, progress: bool = True) -> dict:
    """Photo-like inputs as users hand them over: ``recognize``d, and ``reconstruct``ed (class
    picked by the recognizer, as in the demo) with the reconstruction ``recognize``d again."""
    from tqdm import tqdm

    labels, kinds = list(realistic.labels), np.array(realistic.kinds)
    read = gen.recognize_batch(list(realistic.images), k=1)
    redraws = [None if r is None else gen.reconstruct(image).reconstruction
               for image, r in tqdm(list(zip(realistic.images, read)), desc="realistic inputs",
                                    unit="img", disable=not progress, mininterval=2.0)]
    kept = [i for i, r in enumerate(redraws) if r is not None]
    reread = [None] * len(redraws)
    for i, r in zip(kept, gen.recognize_batch([redraws[i] for i in kept], k=1)):
        reread[i] = r
    right = np.array([r is not None and kana_mod.same_kana(r[0][0], t)
                      for r, t in zip(read, labels)])
    recon_right = np.array([r is not None and kana_mod.same_kana(r[0][0], t)
                            for r, t in zip(reread, labels)])
    per_kind = {k: {"recognised": float(right[kinds == k].mean()),
                    "reconstruction_recognised": float(recon_right[kinds == k].mean()),
                    "count": int((kinds == k).sum())} for k in np.unique(kinds)}
    return {"recognised": float(right.mean()), "reconstruction_recognised":
            float(recon_right.mean()), "count": int(len(right)),
            "rejected_by_prepare": int(sum(r is None for r in read)), "per_kind": per_kind}


# ## Report


ROWS = [
    ("test reconstruction MSE / pixel", lambda r: r["test"]["reconstruction_mse"], "{:.4f}"),
    ("test reconstruction loss / image", lambda r: r["test"]["reconstruction_loss"], "{:.1f}"),
    ("test KL / image", lambda r: r["test"]["kl_loss"], "{:.1f}"),
    ("samples recognised by `recognize` (target ≥ 97 %)",
     lambda r: r["samples_user"]["accuracy"], "{:.1%}"),
    ("samples `recognize` refuses as blank (target 0)",
     lambda r: r["samples_user"]["refused"], "{:d}"),
    ("samples recognised, judge's view",
     lambda r: r["samples_recognised"]["accuracy"], "{:.1%}"),
    ("reconstructions recognised by `recognize` (target ≥ 98 %)",
     lambda r: r["reconstructions_user"]["accuracy"], "{:.1%}"),
    ("reconstructions recognised, judge's view",
     lambda r: r["reconstructions_recognised"]["accuracy"], "{:.1%}"),
    ("style kept: reconstruction nearer the input than the class average (target ≥ 90 %)",
     lambda r: r["style_kept"]["share"], "{:.1%}"),
    ("sharpness of samples / of data (target ≥ 0.8)",
     lambda r: r["samples_ink"]["sharpness_ratio"], "{:.2f}"),
    ("sharpness of reconstructions / of data (target ≥ 0.8)",
     lambda r: r["reconstructions_ink"]["sharpness_ratio"], "{:.2f}"),
    ("peak ink of samples, 5th percentile (target ≥ 0.8)",
     lambda r: r["samples_ink"]["peak_ink_p5"], "{:.2f}"),
    ("peak ink of reconstructions, 5th percentile (target ≥ 0.8)",
     lambda r: r["reconstructions_ink"]["peak_ink_p5"], "{:.2f}"),
    ("diversity ratio, judge's view (target 0.7–1.3)",
     lambda r: r["diversity_judged"]["ratio"], "{:.2f}"),
    ("diversity ratio, raw pixels", lambda r: r["diversity"]["ratio"], "{:.2f}"),
    ("kana FID (lower is better)", lambda r: r["kana_fid"], "{:.2f}"),
    ("held-out letter forms recognised by `recognize` (target ≥ 95 %)",
     lambda r: r["heldout_forms"]["recognised"]["accuracy"], "{:.1%}"),
    ("their reconstructions recognised", lambda r: r["heldout_forms"]["reconstructions"]["accuracy"],
     "{:.1%}"),
    ("realistic inputs recognised", lambda r: r.get("realistic", {}).get("recognised"), "{:.1%}"),
    ("their reconstructions recognised",
     lambda r: r.get("realistic", {}).get("reconstruction_recognised"), "{:.1%}"),
    ("unconditional samples legible (p ≥ 0.5)", lambda r: r.get("samples_legible"), "{:.1%}"),
]


def table(results: dict[str, dict]) -> str:
    """A Markdown table: one row per metric, one column per evaluated weights folder."""
    names = list(results)
    lines = ["| metric | " + " | ".join(names) + " |", "|---|" + "---|" * len(names)]
    for title, get, fmt in ROWS:
        cells = []
        for name in names:
            try:
                value = get(results[name])
            except (KeyError, TypeError):
                value = None
            cells.append("–" if value is None or (isinstance(value, float) and np.isnan(value))
                         else fmt.format(value))
        if any(c != "–" for c in cells):
            lines.append(f"| {title} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _realistic_pictures(gen, realistic, out_dir: Path, n: int = 20) -> None:
    """Thumbnails of realistic inputs, what prepare made of them, and the reconstructions."""
    from PIL import Image

    from kana_keras import images as pictures

    thumbs, prepared, recons = [], [], []
    s = gen.image_size
    for image in realistic.images[:: max(1, len(realistic) // n)][:n]:
        arr = np.asarray(image)
        if arr.ndim == 2:
            arr = np.repeat(arr[..., None], 3, axis=-1)
        if arr.shape[-1] == 4:  # transparent layer shown over a checker, as editors do
            a = arr[..., 3:4].astype(np.float32) / 255.0
            yy, xx = np.mgrid[0:arr.shape[0], 0:arr.shape[1]]
            checker = np.where(((yy // 16 + xx // 16) % 2)[..., None], 200, 235)
            arr = (arr[..., :3] * a + checker * (1 - a)).astype(np.uint8)
        thumbs.append(cv2.resize(arr, (2 * s, 2 * s), interpolation=cv2.INTER_AREA))
        try:
            r = gen.reconstruct(image)
            prepared.append(cv2.resize(r.prepared, (2 * s, 2 * s), interpolation=cv2.INTER_NEAREST))
            recons.append(cv2.resize(r.reconstruction, (2 * s, 2 * s), interpolation=cv2.INTER_NEAREST))
        except ValueError:
            prepared.append(np.full((2 * s, 2 * s), 255, np.uint8))
            recons.append(np.full((2 * s, 2 * s), 255, np.uint8))
    rows = [np.concatenate(thumbs, 1),
            np.repeat(np.concatenate(prepared, 1)[..., None], 3, -1),
            np.repeat(np.concatenate(recons, 1)[..., None], 3, -1)]
    pictures.save_atomic(Image.fromarray(np.concatenate(rows, 0)), out_dir / "realistic.png")


def evaluate(weights_dir="weights", blog_weights=None, data: str = "synthetic", out_dir="report",
             recognizer_dir=None, samples_per_class: int = DEFAULT_SAMPLES_PER_CLASS,
             realistic_per_class: int = DEFAULT_REALISTIC_PER_CLASS, seed: int = 0,
             progress: bool = True, realistic_long_side: int | None = None,
             heldout_per_class: int = DEFAULT_HELDOUT_PER_CLASS) -> dict:
    """Evaluate ``weights_dir`` (and ``blog_weights``); write report.md/json + pictures.

    ``realistic_long_side`` caps the realistic inputs' frame size (None: phone-sized photos);
    ``heldout_per_class`` writers per class write the held-out fonts (0: skip the proxy).
    """
    from kana_keras import heldout, photos
    from kana_keras.cache import Cache
    from kana_keras.inference import KanaGenerator
    from kana_keras.model import load_config
    from kana_keras.recognizer import load_recognizer

    t0 = time.time()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    recognizer = load_recognizer(recognizer_dir or weights_dir)
    folders = {"default": weights_dir}
    if blog_weights is not None:
        folders["blog"] = blog_weights
    results = {}
    realistic = None
    if realistic_per_class > 0:
        realistic = photos.realistic_set(recognizer.classes, per_class=realistic_per_class,
                                         seed=seed, long_side=realistic_long_side)
    forms = None
    if heldout_per_class > 0:
        forms = heldout.heldout_forms_set(recognizer.classes, heldout_per_class, seed,
                                          size=recognizer.image_size)
    for tag, folder in folders.items():
        config = load_config(folder)
        cache = Cache.open(_cache_for(data, int(config["image_size"]),
                                      _kana_set(config["classes"])))
        first = tag == "default"
        results[tag] = evaluate_vae(folder, recognizer, cache, samples_per_class, seed,
                                    realistic if first else None, out_dir, tag, progress,
                                    forms if first else None)
    if realistic is not None:
        gen = KanaGenerator(*_load_vae(weights_dir), recognizer=recognizer, weights_dir=weights_dir)
        _realistic_pictures(gen, realistic, out_dir)
    report = {"results": results, "recognizer": {
        "weights": str(recognizer_dir or weights_dir), "temperature": recognizer.temperature,
        "metrics": {k: v for k, v in recognizer.info.get("metrics", {}).items() if k != "history"}},
        "data": data, "seed": seed, "seconds": round(time.time() - t0, 1)}
    write_json_atomic(out_dir / "report.json", report)   # each written whole
    write_text_atomic(out_dir / "report.md", _markdown(report))
    return report


def _kana_set(classes) -> str:
    for name, chars in kana_mod.KANA_SETS.items():
        if list(chars) == list(classes):
            return name
    return "all"


def _cache_for(data: str, size: int, kana: str) -> Path:
    from kana_keras.datasets import resolve_data

    return resolve_data(data, size=size, kana=kana)


def _markdown(report: dict) -> str:
    results = report["results"]
    lines = ["# kana-keras evaluation", "",
             f"Data: `{report['data']}` (test split: writers never seen in training). "
             f"Judge: the recognizer in `{report['recognizer']['weights']}` "
             f"(temperature {report['recognizer']['temperature']:.3f}). "
             f"Seed {report['seed']}; {report['seconds']:.0f} s.", "",
             table(results), ""]
    default = results.get("default", {})
    forms = default.get("heldout_forms")
    if forms:
        lines += ["## Held-out letter forms by font", "",
                  "Fonts no training writer used (`kana_keras.heldout`), written by fresh "
                  "synthetic writers: the nearest proxy we can measure for letter forms of real "
                  "people the project never saw.", "", "| font | recognised |", "|---|---|"]
        lines += [f"| {font} | {acc:.1%} |" for font, acc in forms["per_source"].items()]
        worst = sorted(forms["recognised"]["per_class"].items(), key=lambda kv: kv[1])[:12]
        lines += ["", "Hardest classes: " + ", ".join(f"{k} {v:.0%}" for k, v in worst), ""]
    real = default.get("realistic")
    if real:
        lines += ["## Realistic inputs by kind", "",
                  "| kind | count | recognised | reconstruction recognised |", "|---|---|---|---|"]
        for kind, v in real["per_kind"].items():
            lines.append(f"| {kind} | {v['count']} | {v['recognised']:.1%} | "
                         f"{v['reconstruction_recognised']:.1%} |")
        lines += ["", "![realistic inputs, prepared, reconstructed](realistic.png)", ""]
    for tag in results:
        lines += [f"## {tag}", "", f"![samples]({tag}_samples.png)", "",
                  f"![test images (top) and reconstructions (bottom)]({tag}_reconstructions.png)", ""]
        for key, what in (("samples_user", "samples"),
                          ("reconstructions_user", "reconstructions")):
            acc = results[tag].get(key, {}).get("per_class")
            if acc:
                worst = sorted(acc.items(), key=lambda kv: kv[1])[:12]
                lines += [f"Hardest classes for {what} (`recognize`): " + ", ".join(
                    f"{k} {v:.0%}" for k, v in worst), ""]
    return "\n".join(lines)


# ## Command line: usage errors before any work


def check_arguments(args) -> None:
    """Each flag checked before anything loads: a UsageError names the flag and what it expected."""
    from kana_keras.cli import UsageError

    if args.samples_per_class < 1:
        raise UsageError(f"--samples-per-class must be at least 1, got {args.samples_per_class}")
    for flag in ("realistic_per_class", "heldout_per_class"):
        if getattr(args, flag) < 0:
            raise UsageError(f"--{flag.replace('_', '-')} must be at least 0, "
                             f"got {getattr(args, flag)}")
    folders = {"--weights": args.weights, "--blog-weights": args.blog_weights}
    configs = {flag: _weights_config(flag, folder) for flag, folder in folders.items() if folder}
    judge_flag = "--recognizer" if args.recognizer else "--weights"
    _check_recognizer_folder(judge_flag, args.recognizer or args.weights)
    for flag, config in configs.items():
        _check_test_split(args.data, config, f"{flag} {folders[flag]}")


def _weights_config(flag: str, folder) -> dict:
    """config.json of a weights folder written by fit (the files present and readable)."""
    from kana_keras.cli import UsageError
    from kana_keras.model import CONFIG_FILE, WEIGHTS_FILE, load_config

    path = Path(folder)
    if not path.is_dir():
        raise UsageError(f"{flag} {folder}: no such folder (expected a weights folder written "
                         f"by python -m kana_keras.fit)")
    for name in (CONFIG_FILE, WEIGHTS_FILE):
        if not (path / name).is_file():
            raise UsageError(f"{flag} {folder}: {name} is missing (expected a weights folder "
                             f"written by python -m kana_keras.fit)")
    try:
        config = load_config(path)
        int(config.get("image_size") or config["model"]["image_size"])
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise UsageError(f"{flag} {folder}: {CONFIG_FILE} is not a kana-keras config "
                         f"({exc})") from None
    return config


def _check_recognizer_folder(flag: str, folder) -> None:
    """The judge's two files are there (they are loaded later, with the rest)."""
    from kana_keras.cli import UsageError
    from kana_keras.recognizer import CONFIG_FILE, WEIGHTS_FILE

    for name in (CONFIG_FILE, WEIGHTS_FILE):
        if not (Path(folder) / name).is_file():
            raise UsageError(f"{flag} {folder}: no recognizer ({name} is missing), and evaluate "
                             f"needs one as its judge: train one with python -m "
                             f"kana_keras.recognizer --out {folder}, or pass --recognizer FOLDER")


def _check_test_split(data: str, config: dict, owner: str) -> None:
    """evaluate measures writers never seen in training: the test split must hold some."""
    from kana_keras.cache import Cache
    from kana_keras.cli import UsageError

    size = int(config.get("image_size") or config["model"]["image_size"])
    path = _cache_for(data, size, _kana_set(config["classes"]))
    if Cache.open(path).count("test") == 0:
        raise UsageError(f"--data {data}: the test split of {path} (for {owner}) is empty; "
                         f"evaluate needs unseen writers there (convert a set with more writers)")


def run(args) -> int:
    check_arguments(args)
    report = evaluate(args.weights, args.blog_weights, args.data, args.out, args.recognizer,
                      args.samples_per_class, args.realistic_per_class, args.seed,
                      heldout_per_class=args.heldout_per_class)
    print(table(report["results"]))
    print(f"\nwrote {Path(args.out) / 'report.md'} and report.json ({report['seconds']:.0f} s)")
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m kana_keras.evaluate",
                                     description="Measure a trained kana VAE.")
    parser.add_argument("--weights", default="weights", help="weights folder (default weights)")
    parser.add_argument("--blog-weights", default=None, help="a blog-preset folder to compare")
    parser.add_argument("--recognizer", default=None,
                        help="folder of recognizer.* (default: the --weights folder)")
    parser.add_argument("--data", default="synthetic",
                        help="'synthetic', a cache folder, or ETL files (its test split is used)")
    parser.add_argument("--out", default="report", help="report folder (default report)")
    parser.add_argument("--samples-per-class", type=int, default=DEFAULT_SAMPLES_PER_CLASS)
    parser.add_argument("--realistic-per-class", type=int, default=DEFAULT_REALISTIC_PER_CLASS)
    parser.add_argument("--heldout-per-class", type=int, default=DEFAULT_HELDOUT_PER_CLASS,
                        help="writers per class of the held-out letter forms (0: skip)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    from kana_keras.cli import report_errors  # one "error: ..." line, rc 2 for usage errors

    return report_errors(run, args)


if __name__ == "__main__":
    sys.exit(main())
