"""Ranking metrics: how well a supernet's scores order architectures compared with benchmark ground truth.

Every function takes aligned 1-D arrays, one entry per architecture: ``score`` (the supernet's estimate,
higher = better) and ``truth`` (ground-truth accuracy, higher = better). numpy/scipy only, no torch.

Ties are never broken by position: correlations use tie-aware variants (tau-b, average ranks), and top-k
(and bottom-k) metrics return the exact expected value when ties at the k boundary are broken uniformly at
random. Sparse Kendall additionally treats true accuracies closer than a tolerance as ties (tie_buckets).
"""
from __future__ import annotations

import math
from functools import partial
from typing import Callable, Sequence

import numpy as np
from numpy.typing import ArrayLike
from scipy import stats

from wsnas.core.errors import WsnasError

MIN_ARCHS = 3
SPARSE_TOL = 0.1  # percentage points: true accuracies this close count as ties in sparse_kendall
_BLOCK_ELEMENTS = 4_000_000  # caps the temporary matrices of the vectorised Kendall bootstrap (~32 MB each)

StatFn = Callable[[ArrayLike, ArrayLike], float]


class MetricInputError(WsnasError, ValueError):
    """Arrays or parameters that a ranking metric cannot use."""


# --------------------------------------------------------------------------------------------- validation

def _as_vector(values: ArrayLike, name: str) -> np.ndarray:
    """`values` as a finite 1-D float array."""
    try:
        arr = np.asarray(values, dtype=float)
    except (TypeError, ValueError) as exc:
        raise MetricInputError(
            f"{name} could not be read as numbers ({exc}); pass one numeric value per architecture"
        ) from None
    if arr.ndim != 1:
        raise MetricInputError(
            f"{name} must be 1-D (one value per architecture) but has shape {arr.shape}; "
            "pass a single column or flatten it"
        )
    bad = np.flatnonzero(~np.isfinite(arr))
    if bad.size:
        raise MetricInputError(
            f"{name} has {bad.size} NaN/inf value(s) (positions {bad[:5].tolist()}"
            f"{', ...' if bad.size > 5 else ''}); drop those architectures from both score and truth, "
            "or fix how they were evaluated"
        )
    return arr


def _check_count(n: int, name: str) -> None:
    """Ranking metrics need at least MIN_ARCHS architectures."""
    if n < MIN_ARCHS:
        raise MetricInputError(
            f"{name} has {n} architecture(s) but ranking metrics need at least {MIN_ARCHS}; "
            "evaluate more architectures"
        )


def _pair(score: ArrayLike, truth: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """Validated, aligned (score, truth) float arrays."""
    x, y = _as_vector(score, "score"), _as_vector(truth, "truth")
    if x.size != y.size:
        raise MetricInputError(
            f"score has {x.size} values but truth has {y.size}; they must be aligned, one entry per "
            "architecture in the same order: pass the same architectures to both"
        )
    _check_count(x.size, "score")
    return x, y


def _correlation_pair(score: ArrayLike, truth: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """Like _pair, and neither array may be constant (a correlation with a constant is undefined)."""
    x, y = _pair(score, truth)
    for arr, name in ((x, "score"), (y, "truth")):
        if np.all(arr == arr[0]):
            raise MetricInputError(
                f"{name} is constant (all {arr.size} values are {arr[0]:g}), so its correlation is "
                f"undefined; check that {name} was really computed per architecture"
            )
    return x, y


def _check_k(k: int, n: int) -> int:
    """`k` as an int in 1..n."""
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 1 <= k <= n:
        raise MetricInputError(
            f"k={k!r} is not a whole number of architectures between 1 and {n} (the number of "
            "architectures); pass an int in that range (topk_table also accepts fractions in (0, 1])"
        )
    return int(k)


# ------------------------------------------------------------------------------------------- correlations

def kendall_tau(score: ArrayLike, truth: ArrayLike) -> float:
    """Kendall's tau-b between score and truth (ties in either array handled)."""
    x, y = _correlation_pair(score, truth)
    return float(stats.kendalltau(x, y, variant="b").statistic)


def spearman_rho(score: ArrayLike, truth: ArrayLike) -> float:
    """Spearman's rho: Pearson correlation of the average (tie-aware) ranks."""
    x, y = _correlation_pair(score, truth)
    return float(stats.spearmanr(x, y).statistic)


def pearson_r(score: ArrayLike, truth: ArrayLike) -> float:
    """Pearson's linear correlation between score and truth."""
    x, y = _correlation_pair(score, truth)
    return float(stats.pearsonr(x, y).statistic)


def weighted_kendall(score: ArrayLike, truth: ArrayLike) -> float:
    """Weighted Kendall tau (scipy.stats.weightedtau) that stresses the truly best architectures.

    Architectures are ranked by decreasing truth (ties broken by decreasing score) and an exchange between
    ranks r and s (0 = truly best) weighs 1/(r+1) + 1/(s+1), scipy's default additive hyperbolic weigher.
    Ranking by truth rather than by score (or scipy's default average of both) means misordering the
    architectures that really are good costs most, whatever the supernet believes. Like tau, 1 means the
    same order, -1 the reverse; it depends on the values only through their order.
    """
    x, y = _correlation_pair(score, truth)
    return float(stats.weightedtau(y, x, rank=None).statistic)


def tie_buckets(truth: ArrayLike, tol: float = SPARSE_TOL) -> np.ndarray:
    """The tolerance bucket of each truth value: floor(truth / tol), or the values themselves when tol = 0.

    Bucket b holds the half-open interval [b * tol, (b + 1) * tol) (truth / tol is first rounded to 9
    decimals, so a value on an edge such as 93.7 at tol 0.1 lands in its own bucket despite float noise).
    Values in one bucket are less than tol apart; values less than tol apart may still straddle an edge.
    """
    y = _as_vector(truth, "truth")
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
    x, y = _correlation_pair(score, truth)
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


# ---------------------------------------------------------------------------------------------- bootstrap

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
    x, y = _pair(score, truth)
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
    x, y = _pair(score, truth)
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
    tol: float = SPARSE_TOL,
) -> dict:
    """Kendall tau-b, Spearman rho, Pearson r, weighted and sparse Kendall with paired bootstrap intervals.

    Returns {"n": N, "kendall": {"value", "ci_low", "ci_high"}, "spearman", "pearson", "weighted_kendall",
    "sparse_kendall": {..., "tol"}}. Raises MetricInputError when score or truth is constant; sparse Kendall
    alone can be undefined (all truth within one tol bucket): its entry is then NaN with "undefined_because".
    Sparse Kendall's interval is kendall_tau's on the bucketed truth, which resamples the same way.
    """
    x, y = _correlation_pair(score, truth)
    summary: dict = {"n": int(x.size)}
    for name, fn in CORRELATIONS.items():
        if fn is not sparse_kendall:
            summary[name] = with_ci(fn, x, y, n_boot, alpha, seed)
    buckets = tie_buckets(y, tol)  # a bad tol raises here instead of reading as "undefined"
    try:
        sparse_kendall(x, y, tol)  # raises with the reason when undefined
    except MetricInputError as exc:
        sparse = undefined_interval(str(exc))
    else:
        sparse = with_ci(kendall_tau, x, buckets, n_boot, alpha, seed)
    summary["sparse_kendall"] = {**sparse, "tol": tol}
    return summary


# ------------------------------------------------------------------------------------------------- top-k

def _expected_max(values: np.ndarray, k: int) -> float:
    """Exact expected maximum of a uniformly random k-subset (without replacement) of `values`.

    With v sorted ascending, P(max = v_(i)) = C(i-1, k-1) / C(N, k): p_N = k/N and p_(i-1) = p_i (i-k)/(i-1),
    a product of ratios in [0, 1] that cannot overflow. Tied values need no special care. Computed as the
    maximum minus the expected shortfall from it, so rounding never lifts it above the maximum and tied
    values give the maximum exactly.
    """
    v = np.sort(values)[::-1]
    n = v.size
    i = np.arange(n, 1, -1)
    p = (k / n) * np.cumprod(np.concatenate(([1.0], (i - k) / (i - 1))))
    return float(v[0] - p @ (v[0] - v))


def _expected_topk_max(score: np.ndarray, values: np.ndarray, k: int) -> float:
    """Expected max of `values` over the top k by `score`, boundary ties in score included at random."""
    kth = np.partition(score, score.size - k)[score.size - k]
    sure = values[score > kth]
    tied = values[score == kth]
    if sure.size:
        tied = np.maximum(tied, sure.max())
    return _expected_max(tied, k - sure.size)


def inclusion_probability(values: np.ndarray, k: int) -> np.ndarray:
    """Probability that each architecture is in the top k by `values`, boundary ties included at random."""
    kth = np.partition(values, values.size - k)[values.size - k]
    above = values > kth
    tied = values == kth
    p = above.astype(float)
    p[tied] = (k - above.sum()) / tied.sum()
    return p


def _true_ranks(truth: np.ndarray) -> np.ndarray:
    """1 + the number of architectures with strictly higher truth (1 = best, ties share the best rank)."""
    ordered = np.sort(truth)
    return truth.size - np.searchsorted(ordered, truth, side="right") + 1.0


def _precision(score: np.ndarray, truth: np.ndarray, k: int) -> float:
    """Expected fraction of the top k by score that is in the top k by truth (random boundary tie-breaks)."""
    return float(inclusion_probability(score, k) @ inclusion_probability(truth, k) / k)


def _kendall_in_topk(x: np.ndarray, y: np.ndarray, k: int) -> float:
    """kendall_in_topk on validated arrays."""
    inside = y >= np.partition(y, y.size - k)[y.size - k]
    if inside.sum() < MIN_ARCHS:
        raise MetricInputError(
            f"Kendall within the true top-{k} needs at least {MIN_ARCHS} architectures there but has "
            f"{inside.sum()}; use a larger k"
        )
    try:
        return kendall_tau(x[inside], y[inside])
    except MetricInputError as exc:
        raise MetricInputError(f"within the true top-{k} architectures: {exc}") from None


def topk_best_truth(score: ArrayLike, truth: ArrayLike, k: int) -> float:
    """Best true accuracy among the supernet's top-k architectures.

    Score ties at the top-k boundary are broken uniformly at random; the exact expected value is returned.
    """
    x, y = _pair(score, truth)
    return _expected_topk_max(x, y, _check_k(k, x.size))


def topk_true_ranks(score: ArrayLike, truth: ArrayLike, k: int) -> tuple[float, float]:
    """(best, worst) true rank among the supernet's top-k (1 = truly best; tied truth shares the best rank).

    Score ties at the top-k boundary are broken uniformly at random; both are exact expected values.
    """
    x, y = _pair(score, truth)
    k = _check_k(k, x.size)
    ranks = _true_ranks(y)
    return -_expected_topk_max(x, -ranks, k), _expected_topk_max(x, ranks, k)


def precision_at_k(score: ArrayLike, truth: ArrayLike, k: int) -> float:
    """Fraction of the supernet's top k that is in the true top k (exact expectation over tie-breaks)."""
    x, y = _pair(score, truth)
    return _precision(x, y, _check_k(k, x.size))


def precision_at_bottom_k(score: ArrayLike, truth: ArrayLike, k: int) -> float:
    """Fraction of the supernet's bottom k that is in the true bottom k (exact expectation over tie-breaks).

    The mirror of precision at k (topk_table): how reliably the supernet spots the architectures to discard.
    """
    x, y = _pair(score, truth)
    return _precision(-x, -y, _check_k(k, x.size))


def kendall_in_topk(score: ArrayLike, truth: ArrayLike, k: int) -> float:
    """Kendall tau-b of score and truth among the truly best architectures: does the supernet order them?

    The set is fixed by the truth alone: every architecture whose truth is at least the k-th best truth, so
    all architectures tied with the k-th are in (the set can exceed k; no random tie-break). Raises
    MetricInputError when fewer than MIN_ARCHS architectures are in it or score or truth is constant there.
    """
    x, y = _pair(score, truth)
    return _kendall_in_topk(x, y, _check_k(k, x.size))


def regret(score: ArrayLike, truth: ArrayLike) -> float:
    """Best truth minus the truth of the supernet's pick (its top-1; expectation over score ties). Never < 0."""
    x, y = _pair(score, truth)
    return float(y.max()) - _expected_topk_max(x, y, 1)


def random_expected_best(truth: ArrayLike, k: int) -> float:
    """Exact expected best truth of k architectures drawn uniformly without replacement from `truth`."""
    y = _as_vector(truth, "truth")
    _check_count(y.size, "truth")
    return _expected_max(y, _check_k(k, y.size))


def resolve_k(spec: int | float, n: int) -> tuple[int, str]:
    """(count, label) for an int count or a fraction in (0, 1] of n (ceil, at least 1)."""
    if isinstance(spec, (float, np.floating)):
        if not 0 < spec <= 1:
            raise MetricInputError(
                f"top-k fraction {spec!r} must lie in (0, 1]; pass e.g. 0.01 for the top 1%, or an int count"
            )
        # round first so float noise (0.07 * 100 = 7.000000000000001) does not push ceil up by one
        return max(1, math.ceil(round(spec * n, 9))), f"{spec * 100:g}%"
    k = _check_k(spec, n)
    return k, str(k)


def topk_table(score: ArrayLike, truth: ArrayLike, ks: Sequence[int | float]) -> list[dict]:
    """One row per entry of ks (an int count, or a fraction of N: ceil(fraction * N), at least 1).

    Row keys: label ("10" or "1%"), k, supernet_best (topk_best_truth), random_expected_best, oracle_best
    (max truth), supernet_best_true_rank and worst_true_rank (topk_true_ranks: true ranks of the supernet's
    best and worst top-k pick, 1 = best, ties share the best rank), precision_at_k (fraction of the
    supernet's top k in the true top k), precision_at_bottom_k and kendall_in_topk (NaN where undefined,
    e.g. k < 3). Ties at either k boundary are broken uniformly at random and each value is the exact
    expectation, so ranks can be fractional.
    """
    x, y = _pair(score, truth)
    ranks = _true_ranks(y)
    rows = []
    for spec in ks:
        k, label = resolve_k(spec, x.size)
        rows.append({
            "label": label,
            "k": k,
            "supernet_best": _expected_topk_max(x, y, k),
            "random_expected_best": _expected_max(y, k),
            "oracle_best": float(y.max()),
            "supernet_best_true_rank": -_expected_topk_max(x, -ranks, k),
            "worst_true_rank": _expected_topk_max(x, ranks, k),
            "precision_at_k": _precision(x, y, k),
            "precision_at_bottom_k": _precision(-x, -y, k),
            "kendall_in_topk": stat_or_nan(partial(_kendall_in_topk, k=k), x, y),
        })
    return rows
