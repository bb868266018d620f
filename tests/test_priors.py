"""The fitted prior's NumPy maths and the writer bank, on constructed codes."""

from __future__ import annotations

import numpy as np
import pytest

from kana_keras import priors


def _codes(seed=0, n=300, d=3, classes=3):
    rng = np.random.default_rng(seed)
    rows = np.arange(n) % classes
    centres = np.array([[0, 0, 0], [5, 0, 0], [0, -5, 2]], np.float64)[:classes, :d]
    spreads = np.array([[1.0, 0.5, 2.0], [3.0, 1.0, 0.2], [0.5, 0.5, 0.5]])[:classes, :d]
    z = centres[rows] + rng.standard_normal((n, d)) * spreads[rows]
    return z.astype(np.float32), np.full((n, d), np.log(0.01), np.float32), rows


def test_class_gaussians_match_each_class_moments():
    z, log_var, rows = _codes()
    means, scales = priors.class_gaussians(z, log_var, rows, 3, shrinkage=0)
    for c in range(3):
        members = z[rows == c].astype(np.float64)
        np.testing.assert_allclose(means[c], members.mean(0), atol=1e-5)
        want = np.cov(members, rowvar=False) + 0.01 * np.eye(3)
        np.testing.assert_allclose(scales[c] @ scales[c].T, want, rtol=1e-4, atol=1e-5)


def test_shrinkage_pulls_a_class_towards_the_pooled_covariance():
    z, log_var, rows = _codes()
    _, alone = priors.class_gaussians(z, log_var, rows, 3, shrinkage=0)
    _, pulled = priors.class_gaussians(z, log_var, rows, 3, shrinkage=1e6)
    cov = [s @ s.T for s in pulled]
    np.testing.assert_allclose(cov[0], cov[1], atol=1e-2)       # all near the pooled one
    assert not np.allclose(alone[0] @ alone[0].T, alone[1] @ alone[1].T, rtol=1e-2)


def test_eps_and_codes_are_inverse_and_standardised():
    z, log_var, rows = _codes(n=3000)
    log_var = np.full_like(log_var, np.log(1e-6))   # eps of the means alone is N(0, I)
    means, scales = priors.class_gaussians(z, log_var, rows, 3, shrinkage=0)
    eps = priors.to_eps(z, means[rows], scales[rows])
    np.testing.assert_allclose(priors.from_eps(eps, means[rows], scales[rows]), z, atol=1e-4)
    assert np.abs(eps.mean(0)).max() < 0.05
    np.testing.assert_allclose(np.cov(eps, rowvar=False), np.eye(3), atol=0.05)
    # a unit Gaussian's log-density at its own samples: -d/2 (1 + log 2 pi)
    unit = np.broadcast_to(np.eye(3, dtype=np.float32), (5000, 3, 3))
    samples = np.random.default_rng(1).standard_normal((5000, 3)).astype(np.float32)
    assert priors.log_likelihood(samples, unit) == pytest.approx(-1.5 * (1 + np.log(2 * np.pi)),
                                                                 abs=0.05)


def test_writer_bank_keeps_each_writers_mean_style_per_class():
    eps = np.arange(8 * 2, dtype=np.float32).reshape(8, 2)
    rows = np.array([0, 1, 0, 1, 0, 0, 1, 2])
    writers = np.array([7, 7, 9, 9, 9, 3, 3, 3])
    bank, has = priors.writer_bank(eps, rows, writers, classes=3, room=4)
    # writers kept in id order: 3, 7, 9; the fourth slot stays empty
    np.testing.assert_array_equal(has, [[1, 1, 1], [1, 1, 0], [1, 1, 0], [0, 0, 0]])
    np.testing.assert_allclose(bank[2, 0], (eps[2] + eps[4]) / 2)   # writer 9 drew class 0 twice
    np.testing.assert_allclose(bank[0, 2], eps[7])
    assert not bank[3].any()


def test_writer_bank_keeps_the_writers_who_drew_most_when_room_is_short():
    eps = np.zeros((5, 2), np.float32)
    rows = np.array([0, 1, 2, 0, 0])
    writers = np.array([1, 1, 1, 2, 3])
    _, has = priors.writer_bank(eps, rows, writers, classes=3, room=1)
    np.testing.assert_array_equal(has, [[1, 1, 1]])


def test_pick_writer_only_takes_writers_who_drew_every_kana_asked():
    has = np.array([[1, 1, 0], [1, 1, 1], [0, 0, 0]], np.float32)
    rng = np.random.default_rng(0)
    assert {priors.pick_writer(has, [0, 2], rng) for _ in range(20)} == {1}
    assert {priors.pick_writer(has, [0, 1], rng) for _ in range(40)} == {0, 1}
    assert priors.pick_writer(np.zeros((2, 3)), [0], rng) is None
