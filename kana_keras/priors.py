"""Where the codes really are: the NumPy maths of the fitted prior and the writer bank.

After training, a KanaVAE at low beta no longer fills the prior it was trained with, so
samples and styles are drawn from what its encoder actually produced (Ghosh et al. 2020,
"From Variational to Deterministic Autoencoders"):

- a full-covariance Gaussian per class, N(mu_c, L_c L_c^T), fitted to the training codes
  (``class_gaussians``); a style eps ~ N(0, I) becomes z = mu_c + L_c eps;
- a bank of training writers' own styles (``writer_bank``): every class as one writer drew
  it, kept as eps of that class's Gaussian, so a word can be written by one hand.

Plain functions of arrays; the model keeps their results as non-trainable weights.
"""

from __future__ import annotations

import numpy as np

#: Pseudo-images of the pooled covariance mixed into each class's in ``class_gaussians``.
FITTED_SHRINKAGE = 4.0


def class_moments(z_mean, variances, rows, classes):
    """Per class: mean code (C, D) and covariance of the codes plus mean posterior variance
    (C, D, D). A class with fewer than two images gets the identity (shrinkage fills it)."""
    d = z_mean.shape[1]
    means = np.zeros((classes, d))
    covs = np.broadcast_to(np.eye(d), (classes, d, d)).copy()
    for c in range(classes):
        members = z_mean[rows == c]
        if len(members) >= 2:
            means[c] = members.mean(0)
            covs[c] = np.cov(members, rowvar=False) + np.diag(variances[rows == c].mean(0))
        elif len(members):
            means[c] = members[0]
    return means, covs


def class_gaussians(z_mean, z_log_var, rows, classes, shrinkage=None):
    """N(mu_c, Sigma_c) per class -> (means (C, D), Cholesky factors (C, D, D)), float32.

    Sigma_c is the class's covariance of the code means plus their mean posterior variance
    (the aggregate posterior, moment-matched), shrunk towards the pooled covariance by
    ``shrinkage`` pseudo-images (None: ``FITTED_SHRINKAGE``), which keeps a class with few
    images well-posed; with ~130 images a class little shrinkage samples best (85.7 % of samples read right with none,
    83.3 % with 32, 77.7 % with 200).
    """
    rows = np.asarray(rows).reshape(-1)
    means, covs = class_moments(np.asarray(z_mean, np.float64), np.exp(z_log_var), rows,
                                classes)
    counts = np.bincount(rows, minlength=classes).astype(np.float64)
    pooled = np.average(covs, axis=0, weights=counts)
    k = float(FITTED_SHRINKAGE if shrinkage is None else shrinkage)
    shrunk = (counts[:, None, None] * covs + k * pooled) / (counts[:, None, None] + k)
    scales = np.linalg.cholesky(shrunk + 1e-6 * np.eye(z_mean.shape[1]))
    return means.astype(np.float32), scales.astype(np.float32)


def to_eps(z, means, scales):
    """Codes (N, D) under per-row Gaussians (means (N, D), scales (N, D, D)) -> eps (N, D)."""
    return np.linalg.solve(scales, (z - means)[..., None])[..., 0].astype(np.float32)


def from_eps(eps, means, scales):
    """eps (N, D) -> codes z = mu + L eps under per-row Gaussians; ``to_eps``'s inverse."""
    return (means + np.einsum("nij,nj->ni", scales, eps)).astype(np.float32)


def log_likelihood(eps, scales):
    """Mean log-density (nats) of codes whose eps under their rows' Gaussians is ``eps``."""
    log_det = np.log(np.diagonal(scales, axis1=1, axis2=2)).sum(1)
    d = eps.shape[1]
    return float(np.mean(-0.5 * (eps.astype(np.float64) ** 2).sum(1) - log_det
                         - 0.5 * d * np.log(2 * np.pi)))


def writer_bank(eps, rows, writers, classes, room):
    """Each writer's mean eps per class -> (bank (W, C, D), has (W, C)), W = ``room``.

    ``eps`` (N, D) are the training codes as styles of their own classes, ``rows`` their
    classes and ``writers`` their writer (sheet) ids. Up to ``room`` writers who drew the most
    classes are kept, in id order; a class a writer never drew is marked missing in ``has``.
    """
    rows, writers = np.asarray(rows).reshape(-1), np.asarray(writers).reshape(-1)
    ids, first = np.unique(writers, return_inverse=True)
    drawn = np.zeros((len(ids), classes), bool)
    drawn[first, rows] = True
    keep = np.sort(np.argsort(-drawn.sum(1), kind="stable")[:room])
    bank = np.zeros((room, classes, eps.shape[1]), np.float32)
    count = np.zeros((room, classes), np.float32)
    slot = np.full(len(ids), -1)
    slot[keep] = np.arange(len(keep))
    mine = slot[first] >= 0
    np.add.at(bank, (slot[first][mine], rows[mine]), eps[mine])
    np.add.at(count, (slot[first][mine], rows[mine]), 1.0)
    has = count > 0
    bank[has] /= count[has][:, None]
    return bank, has.astype(np.float32)


def pick_writer(has, labels, rng: np.random.Generator) -> int | None:
    """A bank writer who drew every class in ``labels`` (uniformly at random), or None."""
    labels = np.asarray(labels, np.int64).reshape(-1)
    able = np.flatnonzero(np.asarray(has)[:, labels].min(axis=1) > 0.5) if labels.size else \
        np.flatnonzero(np.asarray(has).max(axis=1) > 0.5)
    return int(rng.choice(able)) if len(able) else None
