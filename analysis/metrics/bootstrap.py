"""Bootstrap over archs: vectorised resampled correlations, percentile intervals, the summary with CIs."""
from __future__ import annotations

import math
from typing import Callable

import numpy as np
from numpy.typing import ArrayLike

from wsnas.analysis.metrics.correlations import (CORRELATIONS, SPARSE_TOL, kendall_tau, pearson_r, sparse_kendall,
                                               spearman_rho, tie_buckets)
from wsnas.analysis.metrics.inputs import MetricInputError, StatFn, aligned_pair, correlation_pair


_BLOCK_ELEMENTS = 4_000_000  # caps the temporary matrices of the vectorised Kendall bootstrap (~32 MB each)



def _counts(idx: np.ndarray, size: int) -> np.ndarray:
    """(rows, size) array: how often each value in 0..size-1 occurs in each row of `idx`."""
    rows = idx.shape[0]
    flat = (idx + size * np.arange(rows)[:, None]).ravel()
    return np.bincount(flat, minlength=rows * size).reshape(rows, size)


def _boot_groups(values: np.ndarray, idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per resample, the count of each distinct value (ascending), and each architecture's value group."""
    _, group = np.unique(values, return_inverse=True)
    return _counts(group[idx], group.max() + 1), group


def _tied_pairs(group_counts: np.ndarray) -> np.ndarray:
    """Per resample, the number of pairs with equal values."""
    return (group_counts * (group_counts - 1) / 2).sum(axis=1)


def _is_constant(group_counts: np.ndarray, n: int) -> np.ndarray:
    """Per resample, whether all n resampled values are equal."""
    return group_counts.max(axis=1) == n


def _weighted_pearson(a: np.ndarray, b: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Row-wise Pearson correlation of a and b where column j counts w[:, j] times."""
    total = w.sum(axis=1, keepdims=True)
    da = a - (w * a).sum(axis=1, keepdims=True) / total
    db = b - (w * b).sum(axis=1, keepdims=True) / total
    with np.errstate(divide="ignore", invalid="ignore"):
        return (w * da * db).sum(axis=1) / np.sqrt((w * da * da).sum(axis=1) * (w * db * db).sum(axis=1))


def _boot_kendall(x: np.ndarray, y: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """tau-b of every resample from its architecture counts c: (C - D) = c' M c / 2, M_ij = sgn dx_ij sgn dy_ij.

    Copies of one architecture are tied in both arrays, which the tie counts of the resample include.
    """
    n = x.size
    c = _counts(idx, n).astype(float)
    block = max(1, _BLOCK_ELEMENTS // max(n, c.shape[0]))
    twice_s = np.zeros(c.shape[0])
    for start in range(0, n, block):
        cols = slice(start, start + block)
        m = np.sign(x[:, None] - x[None, cols]) * np.sign(y[:, None] - y[None, cols])
        twice_s += np.einsum("bj,bj->b", c @ m, c[:, cols])
    gx, _ = _boot_groups(x, idx)
    gy, _ = _boot_groups(y, idx)
    pairs = n * (n - 1) / 2
    denom = np.sqrt((pairs - _tied_pairs(gx)) * (pairs - _tied_pairs(gy)))
    with np.errstate(divide="ignore", invalid="ignore"):
        tau = twice_s / 2 / denom
    return np.where(_is_constant(gx, n) | _is_constant(gy, n), np.nan, tau)


def _boot_average_ranks(values: np.ndarray, idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per resample, every architecture's average rank (1-based, ties averaged) and the value-group counts."""
    g, group = _boot_groups(values, idx)
    below = np.cumsum(g, axis=1) - g
    return (below + (g + 1) / 2)[:, group], g


def _boot_spearman(x: np.ndarray, y: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """Spearman rho of every resample: count-weighted Pearson correlation of the resample's average ranks."""
    rx, gx = _boot_average_ranks(x, idx)
    ry, gy = _boot_average_ranks(y, idx)
    rho = _weighted_pearson(rx, ry, _counts(idx, x.size))
    return np.where(_is_constant(gx, x.size) | _is_constant(gy, x.size), np.nan, rho)


def _boot_pearson(x: np.ndarray, y: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """Pearson r of every resample: count-weighted Pearson correlation of the original values."""
    gx, _ = _boot_groups(x, idx)
    gy, _ = _boot_groups(y, idx)
    r = _weighted_pearson(x[None, :], y[None, :], _counts(idx, x.size))
    return np.where(_is_constant(gx, x.size) | _is_constant(gy, x.size), np.nan, r)


_VECTORISED: dict[Callable, Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]] = {
    kendall_tau: _boot_kendall,
    spearman_rho: _boot_spearman,
    pearson_r: _boot_pearson,
}


def stat_or_nan(stat_fn: StatFn, x: ArrayLike, y: ArrayLike) -> float:
    """stat_fn(x, y), or NaN where the statistic is undefined (stat_fn raises MetricInputError)."""
    try:
        return float(stat_fn(x, y))
    except MetricInputError:
        return math.nan


def resample_indices(n: int, n_boot: int, seed: int) -> np.ndarray:
    """(n_boot, n) architecture indices drawn with replacement: the resamples of every bootstrap here."""
    return np.random.default_rng(seed).integers(0, n, size=(n_boot, n))


def resampled_stat(stat_fn: StatFn, x: np.ndarray, y: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """stat_fn on each resample `idx[b]` of the architectures (NaN where undefined); Kendall, Spearman and
    Pearson vectorised over all resamples at once."""
    vectorised = _VECTORISED.get(stat_fn)
    if vectorised is not None:
        return vectorised(x, y, idx)
    return np.array([stat_or_nan(stat_fn, x[rows], y[rows]) for rows in idx])


def _resample_stats(stat_fn: StatFn, x: np.ndarray, y: np.ndarray, n_boot: int, seed: int) -> np.ndarray:
    """stat_fn on n_boot resamples of the architectures (NaN where undefined)."""
    return resampled_stat(stat_fn, x, y, resample_indices(x.size, n_boot, seed))


def bootstrap_values(stat_fn: StatFn, score: ArrayLike, truth: ArrayLike, *, n_boot: int = 1000,
                     seed: int = 0) -> np.ndarray:
    """stat_fn on n_boot resamples of the architectures, NaN where undefined (bootstrap_ci's resamples).

    One seed draws the same resamples for any stat_fn and any arrays of one length, so values are paired:
    statistics of several arrays over the same archs can be combined resample by resample.
    """
    x, y = aligned_pair(score, truth)
    return _resample_stats(stat_fn, x, y, int(n_boot), seed)


def bootstrap_ci(
    stat_fn: StatFn,
    score: ArrayLike,
    truth: ArrayLike,
    *,
    n_boot: int = 1000,
    alpha: float = 0.05,
    seed: int = 0,
) -> tuple[float, float]:
    """Percentile bootstrap (1 - alpha) interval of stat_fn(score, truth), resampling architectures (pairs).

    Resamples come from numpy.random.default_rng(seed): a seed gives the same resamples for every stat_fn,
    so intervals from one seed are paired. Resamples where the statistic is undefined (constant score or
    truth, i.e. stat_fn raises MetricInputError, or NaN) are dropped. kendall_tau, spearman_rho and
    pearson_r are evaluated on all resamples at once from per-architecture resample counts
    (O(n_boot * n^2) BLAS work for Kendall, O(n_boot * n) for the others) with the same values as
    calling them per resample; any other stat_fn is called once per resample.
    """
    x, y = aligned_pair(score, truth)
    if isinstance(n_boot, bool) or not isinstance(n_boot, (int, np.integer)) or n_boot < 1:
        raise MetricInputError(f"n_boot={n_boot!r} must be a positive int (number of resamples), e.g. 1000")
    if not 0 < alpha < 1:
        raise MetricInputError(f"alpha={alpha!r} must lie in (0, 1); use 0.05 for a 95% interval")
    stat_fn(x, y)  # raises stat_fn's own error if the full data cannot be used
    values = _resample_stats(stat_fn, x, y, int(n_boot), seed)
    values = values[np.isfinite(values)]
    if values.size == 0:
        raise MetricInputError(
            f"the statistic is undefined on all {n_boot} resamples (too few distinct values among "
            f"{x.size} architectures); evaluate more architectures"
        )
    low, high = np.quantile(values, [alpha / 2, 1 - alpha / 2])
    return float(low), float(high)


def undefined_interval(reason: str) -> dict:
    """A correlation entry for a statistic that cannot be computed: NaN value and interval, and why."""
    return {"value": math.nan, "ci_low": math.nan, "ci_high": math.nan, "undefined_because": reason}


def with_ci(stat_fn: StatFn, x: np.ndarray, y: np.ndarray, n_boot: int, alpha: float, seed: int) -> dict:
    """{"value", "ci_low", "ci_high"}, or undefined_interval when stat_fn cannot use the data."""
    try:
        low, high = bootstrap_ci(stat_fn, x, y, n_boot=n_boot, alpha=alpha, seed=seed)
    except MetricInputError as exc:
        return undefined_interval(str(exc))
    return {"value": float(stat_fn(x, y)), "ci_low": low, "ci_high": high}


def correlation_summary(
    score: ArrayLike,
    truth: ArrayLike,
    *,
    n_boot: int = 1000,
    alpha: float = 0.05,
    seed: int = 0,
    tol: float | None = SPARSE_TOL,
    step: Callable[[], object] | None = None,
) -> dict:
    """Kendall tau-b, Spearman rho, Pearson r, weighted and sparse Kendall with paired bootstrap intervals.

    Returns {"n": N, "kendall": {"value", "ci_low", "ci_high"}, "spearman", "pearson", "weighted_kendall",
    "sparse_kendall": {..., "tol"}}. Raises MetricInputError when score or truth is constant; sparse Kendall
    alone can be undefined (all truth within one tol bucket, or `tol` None: no tolerance known): its entry is then
    NaN with "undefined_because". Sparse Kendall's interval is kendall_tau's on the bucketed truth, which resamples
    the same way. `step` is called after each statistic (a progress bar's update).
    """
    x, y = correlation_pair(score, truth)
    summary: dict = {"n": int(x.size)}
    for name, fn in CORRELATIONS.items():
        if fn is not sparse_kendall:
            summary[name] = with_ci(fn, x, y, n_boot, alpha, seed)
            if step:
                step()
    if tol is None:
        sparse = undefined_interval("no sparse-Kendall tolerance is given")
    else:
        buckets = tie_buckets(y, tol)  # a bad tol raises here instead of reading as "undefined"
        try:
            sparse_kendall(x, y, tol)  # raises with the reason when undefined
        except MetricInputError as exc:
            sparse = undefined_interval(str(exc))
        else:
            sparse = with_ci(kendall_tau, x, buckets, n_boot, alpha, seed)
    if step:
        step()
    summary["sparse_kendall"] = {**sparse, "tol": tol}
    return summary
