"""Replicated supernet scores with a known truth: the simulator that checks wsnas's intervals, tests, noise budget
and null models (no torch).

A study draws n archs from an infinite population: truth t ~ N(0, 1), a feature f (say, size) correlated with the
truth, f = lam t + sqrt(1 - lam^2) v, and an artefact u ~ N(0, 1) that every supernet of the study shares (what
weight sharing prefers whatever the seed). Replicate r (a training seed) scores arch j as

    s_rj = beta_r t_j + gamma u_j + sigma(t_j) e_rj + bias f_j,     beta_r = beta + seed_sd z_r,

with z_r, e_rj ~ N(0, 1): the seed moves how much of the truth a supernet sees (seed_sd), and its noise on each arch
(sigma). sigma(t) = noise exp(hetero t): hetero > 0 makes the scorer precise on bad archs and noisy on good
ones, as supernets are. With hetero = 0 and bias = 0, replicate r's population Kendall tau is
(2/pi) asin(beta_r / sqrt(beta_r^2 + gamma^2 + noise^2)), and the figure wsnas estimates, the seed mean, is its
expectation over z (`seed_mean_kendall`, by Gauss-Hermite quadrature).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

QUADRATURE_NODES = 64


@dataclass(frozen=True)
class Scenario:
    """The generating model of the module docstring."""

    beta: float = 0.586  # seed-mean signal: Kendall about +0.25 with gamma = noise = 1, as the CPU default
    seed_sd: float = 0.0  # sd of the per-seed signal beta_r
    gamma: float = 1.0  # the artefact every replicate shares
    noise: float = 1.0  # sd of each replicate's own noise per arch (at t = 0)
    hetero: float = 0.0  # log-slope of the noise sd along the truth
    bias: float = 0.0  # weight of the feature in the score: a planted size bias
    feature_corr: float = 0.5  # lam: the feature's correlation with the truth

    def seed_mean_kendall(self) -> float:
        """E over seeds of a replicate's population Kendall tau (hetero = bias = 0)."""
        if self.hetero or self.bias:
            raise ValueError("the closed form holds for a homoscedastic, unbiased scorer only")
        nodes, weights = np.polynomial.hermite_e.hermegauss(QUADRATURE_NODES)
        beta = self.beta + self.seed_sd * nodes
        rho = beta / np.sqrt(beta ** 2 + self.gamma ** 2 + self.noise ** 2)
        return float(np.sum(weights * 2 / np.pi * np.arcsin(rho)) / math.sqrt(2 * math.pi))


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
    beta = s.beta + s.seed_sd * rng.standard_normal((replicates, 1))
    e = rng.standard_normal((replicates, archs))
    scores = beta * t + s.gamma * u + s.noise * np.exp(s.hetero * t) * e + s.bias * f
    return Study(t, f, scores)


def hits(s: Scenario, replicates: int, draws: int, archs: int, images: int, rng: np.random.Generator,
         calib_sd: float = 0.1, image_share: float = 0.5) -> tuple[np.ndarray, np.ndarray]:
    """(truth (archs,), per-image correctness (replicates, draws, archs, images)) of a noise study: replicate r's
    accuracy on arch j under calibration draw c is Phi(s_rj / 2 + calib_sd w_rcj) and each held-out image is
    right or wrong through a Gaussian copula whose share `image_share` is common to every replicate and draw (an
    image hard for an arch is hard for it in every supernet)."""
    study = simulate(s, replicates, archs, rng)
    latent = study.scores[:, None, :] / 2 + calib_sd * rng.standard_normal((replicates, draws, archs))
    shared = rng.standard_normal((1, 1, archs, images))
    own = rng.standard_normal((replicates, draws, archs, images))
    z = math.sqrt(image_share) * shared + math.sqrt(1 - image_share) * own
    return study.truth, z < latent[..., None]
