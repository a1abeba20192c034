"""Replicated supernet scores with a known truth: the simulator that checks wsnas's intervals, tests, noise budget
and null models (no torch).

A study draws n archs from an infinite population: truth t ~ N(0, 1), a feature f (say, size) correlated with the
truth, f = lam t + sqrt(1 - lam^2) v, and an artefact u ~ N(0, 1) that every supernet of the study shares (what
weight sharing prefers whatever the seed). Replicate r (a training seed) has its own population Kendall tau with
the truth, tau_r = kendall + seed_sd z_r (z_r ~ N(0, 1): the seed effect, Gaussian on the Kendall scale, so
`kendall` is the seed mean that wsnas estimates and seed_sd the seed's sd), and scores arch j as

    s_rj = rho_r L(t_j) + sqrt(1 - rho_r^2) (sqrt(g) u_j + sqrt(1 - g) e_rj) + bias f_j,

with rho_r = sin(pi tau_r / 2) (Greiner's relation: a Gaussian pair with correlation rho has Kendall
(2/pi) asin(rho)) and e_rj ~ N(0, 1). g is the share of the noise the replicates share (how much they agree
with each other beyond the truth). L(t) = t, or with hetero = h > 0 the concave L(t) = (1 - exp(-h t)) / h: the
signal is steep among bad archs and flat among good ones, so the scorer ranks bad archs precisely and good ones
noisily, as supernets do (precision at bottom-k above precision at top-k; tau_r is then only approximate);
bias plants a preference for the feature.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Scenario:
    """The generating model of the module docstring."""

    kendall: float = 0.25  # seed-mean Kendall with the truth (the CPU default's is about +0.2 to +0.3)
    seed_sd: float = 0.0  # sd of a replicate's Kendall over training seeds
    shared: float = 0.3  # g: the share of the noise the replicates share
    hetero: float = 0.0  # h: the concavity of the signal along the truth (0: linear)
    bias: float = 0.0  # weight of the feature in the score: a planted size bias
    feature_corr: float = 0.5  # lam: the feature's correlation with the truth


@dataclass(frozen=True)
class Study:
    """One simulated study: truth (n,), feature (n,), scores (R, n)."""

    truth: np.ndarray
    feature: np.ndarray
    scores: np.ndarray


def simulate(s: Scenario, replicates: int, archs: int, rng: np.random.Generator) -> Study:
    """One study of `replicates` supernets on `archs` archs drawn from the population."""
    t = rng.standard_normal(archs)
    f = s.feature_corr * t + math.sqrt(1 - s.feature_corr ** 2) * rng.standard_normal(archs)
    u = rng.standard_normal(archs)
    tau = np.clip(s.kendall + s.seed_sd * rng.standard_normal((replicates, 1)), -0.999, 0.999)
    rho = np.sin(np.pi * tau / 2)
    noise = math.sqrt(s.shared) * u + math.sqrt(1 - s.shared) * rng.standard_normal((replicates, archs))
    signal = (1 - np.exp(-s.hetero * t)) / s.hetero if s.hetero else t
    scores = rho * signal + np.sqrt(1 - rho ** 2) * noise + s.bias * f
    return Study(t, f, scores)


def hits(s: Scenario, replicates: int, draws: int, archs: int, images: int, rng: np.random.Generator,
         calib_sd: float = 0.1, image_share: float = 0.5) -> tuple[np.ndarray, np.ndarray]:
    """(truth (archs,), per-image correctness (replicates, draws, archs, images)) of a noise study: replicate r's
    accuracy on arch j under calibration draw c is Phi(s_rj + calib_sd w_rcj) and each held-out image is
    right or wrong through a Gaussian copula whose share `image_share` is common to every replicate and draw (an
    image hard for an arch is hard for it in every supernet)."""
    study = simulate(s, replicates, archs, rng)
    latent = study.scores[:, None, :] + calib_sd * rng.standard_normal((replicates, draws, archs))
    shared = rng.standard_normal((1, 1, archs, images))
    own = rng.standard_normal((replicates, draws, archs, images))
    z = math.sqrt(image_share) * shared + math.sqrt(1 - image_share) * own
    return study.truth, z < latent[..., None]
