"""Rank correlations between scores and truth: Kendall tau-b, Spearman, Pearson, weighted and sparse Kendall."""
from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike
from scipy import stats

from wsnas.analysis.metrics.inputs import MetricInputError, StatFn, as_vector, correlation_pair


SPARSE_TOL = 0.1  # percentage points: true accuracies this close count as ties in sparse_kendall



def kendall_tau(score: ArrayLike, truth: ArrayLike) -> float:
    """Kendall's tau-b between score and truth (ties in either array handled)."""
    x, y = correlation_pair(score, truth)
    return float(stats.kendalltau(x, y, variant="b").statistic)


def spearman_rho(score: ArrayLike, truth: ArrayLike) -> float:
    """Spearman's rho: Pearson correlation of the average (tie-aware) ranks."""
    x, y = correlation_pair(score, truth)
    return float(stats.spearmanr(x, y).statistic)


def pearson_r(score: ArrayLike, truth: ArrayLike) -> float:
    """Pearson's linear correlation between score and truth."""
    x, y = correlation_pair(score, truth)
    return float(stats.pearsonr(x, y).statistic)


def weighted_kendall(score: ArrayLike, truth: ArrayLike) -> float:
    """Weighted Kendall tau (scipy.stats.weightedtau) that stresses the truly best architectures.

    Architectures are ranked by decreasing truth (ties broken by decreasing score) and an exchange between
    ranks r and s (0 = truly best) weighs 1/(r+1) + 1/(s+1), scipy's default additive hyperbolic weigher.
    Ranking by truth rather than by score (or scipy's default average of both) means misordering the
    architectures that really are good costs most, whatever the supernet believes. Like tau, 1 means the
    same order, -1 the reverse; it depends on the values only through their order.
    """
    x, y = correlation_pair(score, truth)
    return float(stats.weightedtau(y, x, rank=None).statistic)


def tie_buckets(truth: ArrayLike, tol: float = SPARSE_TOL) -> np.ndarray:
    """The tolerance bucket of each truth value: floor(truth / tol), or the values themselves when tol = 0.

    Bucket b holds the half-open interval [b * tol, (b + 1) * tol) (truth / tol is first rounded to 9
    decimals, so a value on an edge such as 93.7 at tol 0.1 lands in its own bucket despite float noise).
    Values in one bucket are less than tol apart; values less than tol apart may still straddle an edge.
    """
    y = as_vector(truth, "truth")
    if isinstance(tol, bool) or not isinstance(tol, (int, float, np.integer, np.floating)) or not (
        math.isfinite(tol) and tol >= 0
    ):
        raise MetricInputError(
            f"tol={tol!r} must be a finite number >= 0 (percentage points of truth treated as a tie); "
            f"use e.g. {SPARSE_TOL}, or 0 for no tolerance"
        )
    return y if tol == 0 else np.floor(np.round(y / tol, 9))


def sparse_kendall(score: ArrayLike, truth: ArrayLike, tol: float = SPARSE_TOL) -> float:
    """Kendall's tau-b between score and the truth's tie_buckets: true differences below tol do not count.

    Benchmark accuracies differ in the second decimal where training seeds differ by tenths, so ordering
    two architectures whose truth lies in one tol-wide bucket is neither rewarded nor penalised. Being tau-b,
    a score without ties then tops out below 1 (its pairs inside a bucket stay in the denominator), as in
    the sparse Kendall of Yu et al. (ICLR 2020), which rounds accuracies to 0.1%. tol = 0 gives kendall_tau.
    A tol so large that every architecture falls in one bucket leaves nothing to order: MetricInputError
    (correlation_summary and bootstrap_ci then report the statistic as undefined/NaN).
    """
    x, y = correlation_pair(score, truth)
    buckets = tie_buckets(y, tol)
    if np.all(buckets == buckets[0]):
        raise MetricInputError(
            f"all {y.size} truth values ({y.min():g} to {y.max():g}) fall in one tol={tol:g} bucket, so "
            "sparse Kendall has no pair to order; use a smaller tol"
        )
    return kendall_tau(x, buckets)


CORRELATIONS: dict[str, StatFn] = {
    "kendall": kendall_tau,
    "spearman": spearman_rho,
    "pearson": pearson_r,
    "weighted_kendall": weighted_kendall,
    "sparse_kendall": sparse_kendall,  # at the default tol, SPARSE_TOL
}
