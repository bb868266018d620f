"""The numbers evaluate reports, as plain NumPy over ink-high arrays: each pinned on
constructed images in tests/test_metrics.py.

Every function here takes the project's one convention, ink high (0 = paper, 255 or 1.0 =
ink; uint8 or float, with or without a channel): ``evaluate`` converts the API's
black-on-white pictures once, at its edge, before anything here sees them.
"""

from __future__ import annotations

import unicodedata
from typing import Callable, Sequence

import numpy as np

from kana_keras import kana as kana_mod
from kana_keras import preprocess
from kana_keras.images import to_uint8

# ## Losses and judges


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
    x = to_uint8(images)
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
    x = ink_float(images)
    return x.reshape(len(x), -1).max(axis=1) if len(x) else np.zeros(0)


def sharpness(images) -> np.ndarray:
    """Edge length per unit of ink of each image, contrast-normalised (nan if blank).

    Sum of |horizontal| + |vertical| differences over the sum of ink, after each image is
    divided by its own peak: a crisp stroke of width w scores about 2/w whatever its
    darkness, the same stroke smeared over twice the width about half that.
    """
    x = ink_float(images)
    peak = x.reshape(len(x), -1).max(axis=1) if len(x) else np.zeros(0)
    out = np.full(len(x), np.nan)
    for i in np.flatnonzero(peak > 1e-3):
        img = x[i] / peak[i]
        edges = np.abs(np.diff(img, axis=0)).sum() + np.abs(np.diff(img, axis=1)).sum()
        out[i] = edges / img.sum()
    return out


def ink_float(images) -> np.ndarray:
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



def summary(right, refused: int, targets, classes: Sequence[str]) -> dict:
    """Overall and per-class share of ``right``, with the refusal count."""
    targets = np.asarray(targets)
    per_class = {classes[c]: float(right[targets == c].mean()) for c in np.unique(targets)}
    return {"accuracy": float(right.mean()) if len(right) else float("nan"),
            "refused": refused, "per_class": per_class, "count": int(len(targets))}


# ## Per class: the worst, and the marked kana


#: Combining voiced (゛) and semi-voiced (゜) marks, as NFD spells が and ぱ.
MARKS = ("\u3099", "\u309a")


def marked_classes(classes: Sequence[str]) -> list[str]:
    """The classes written with ゛ or ゜ (が, ぱ, ガ, パ...): 50 of the 146."""
    return [c for c in classes if any(m in unicodedata.normalize("NFD", c) for m in MARKS)]


def class_floor(per_class: dict, target: float, only: Sequence[str] | None = None) -> dict:
    """The worst class of a per-class accuracy dict (limited to ``only``), and every class
    below ``target``, worst first."""
    items = {k: v for k, v in per_class.items() if only is None or k in set(only)}
    if not items:
        return {"min": float("nan"), "worst": None, "below": [], "classes": 0}
    ranked = sorted(items.items(), key=lambda kv: kv[1])
    return {"min": float(ranked[0][1]), "worst": ranked[0][0], "classes": len(items),
            "below": [[k, float(v)] for k, v in ranked if v < target]}


# ## Novelty: are samples new drawings or copies?


def nearest_distances(queries, references) -> np.ndarray:
    """Each query's Euclidean distance to its nearest reference (both flattened)."""
    q = np.asarray(queries, np.float64).reshape(len(queries), -1)
    r = np.asarray(references, np.float64).reshape(len(references), -1)
    if not len(q):
        return np.zeros(0)
    if not len(r):
        return np.full(len(q), np.inf)
    d2 = (q ** 2).sum(1)[:, None] + (r ** 2).sum(1)[None, :] - 2 * q @ r.T
    return np.sqrt(np.clip(d2, 0, None).min(axis=1))


def novelty(samples, sample_labels, test, test_labels, train, train_labels,
            size: int = 32) -> dict:
    """Median distance of a sample to its nearest training image of its class, over the same
    for unseen test images (1: as new as a new writer; near 0: copies of training images).

    Distance: L2 between the thresholded, framed shapes (``shape_masks`` at ``size``), i.e.
    the square root of the pixels where two shapes differ. The framing removes position and
    scale, the threshold removes the decoder's haze (a soft sample would otherwise sit near
    many images at once), so only the drawn shape counts; a feature space trained to ignore
    the writer (the recognizer's) would call every ぎ a copy of every other.
    """
    sample_labels, test_labels = np.asarray(sample_labels), np.asarray(test_labels)
    train_labels = np.asarray(train_labels)
    s_masks, t_masks = shape_masks(samples, size), shape_masks(test, size)
    s_dist, t_dist = [], []
    for c in np.unique(sample_labels):
        ref = shape_masks(np.asarray(train)[train_labels == c], size)
        if not len(ref) or not (test_labels == c).any():
            continue
        s_dist.append(nearest_distances(s_masks[sample_labels == c], ref))
        t_dist.append(nearest_distances(t_masks[test_labels == c], ref))
    if not s_dist:
        return {"ratio": float("nan"), "sample_median": float("nan"),
                "test_median": float("nan"), "classes": 0}
    s_med = float(np.median(np.concatenate(s_dist)))
    t_med = float(np.median(np.concatenate(t_dist)))
    return {"ratio": s_med / t_med if t_med > 0 else float("nan"), "sample_median": s_med,
            "test_median": t_med, "classes": len(s_dist), "size": size}


# ## One hand across a word


def glyph_cells(page, count: int, size: int) -> np.ndarray:
    """The first ``count`` cells of one written row (ink-high, height ``size``): (count, S, S)."""
    page = to_uint8(page)[0]
    if page.shape[0] < size or page.shape[1] < count * size:
        raise ValueError(f"a page of {page.shape[1]}x{page.shape[0]} pixels holds fewer than "
                         f"{count} cells of {size} pixels")
    return np.stack([page[:size, i * size:(i + 1) * size] for i in range(count)])


def pen_marks(cells) -> tuple[np.ndarray, np.ndarray]:
    """Per glyph, its stroke width (pixels) and darkness (ink in [0, 1]); nan if blank.

    Both are read on the pixels at least half as dark as the glyph's darkest, so a faint pen
    is not taken for a thin one: width is ``preprocess.stroke_width`` of that mask (2 x area
    / boundary), darkness the median ink on it.
    """
    x = ink_float(cells)
    widths, dark = np.full(len(x), np.nan), np.full(len(x), np.nan)
    for i, glyph in enumerate(x):
        peak = glyph.max()
        if peak <= 1e-3:
            continue
        mask = glyph >= 0.5 * peak
        widths[i] = preprocess.stroke_width(mask.astype(np.uint8) * 255)
        dark[i] = float(np.median(glyph[mask]))
    return widths, dark


def spread(values) -> float:
    """Coefficient of variation (std / mean) of the finite values; nan if under two."""
    v = np.asarray(values, np.float64)
    v = v[np.isfinite(v)]
    return float(v.std() / v.mean()) if len(v) >= 2 and v.mean() > 0 else float("nan")


def hand_consistency(written_words, writer_words) -> dict:
    """How much one generated word's pen varies, over how much one synthetic writer's does.

    ``written_words``: glyph stacks, one per written word; ``writer_words``: the same
    characters drawn by one real (synthetic) writer each. For width and darkness: the median
    over words of the within-word spread, generated over writers'; ``ratio`` is the larger
    (≤ 1: no more mixed than one person).
    """
    out = {}
    for name, index in (("width", 0), ("darkness", 1)):
        gen = _median([spread(pen_marks(w)[index]) for w in written_words])
        ref = _median([spread(pen_marks(w)[index]) for w in writer_words])
        out[f"{name}_spread"], out[f"{name}_spread_writers"] = float(gen), float(ref)
        out[f"{name}_ratio"] = float(gen / ref) if ref > 0 else float("nan")
    out["ratio"] = max(out["width_ratio"], out["darkness_ratio"])
    out["words"], out["writer_words"] = len(written_words), len(writer_words)
    return out


def _median(values) -> float:
    """Median of the finite values; nan if there are none (no warning)."""
    v = np.asarray(values, np.float64)
    v = v[np.isfinite(v)]
    return float(np.median(v)) if len(v) else float("nan")
