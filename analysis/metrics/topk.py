"""Top-k and bottom-k: the best true accuracy among the top k, precision at k, regret, exact under ties."""
from __future__ import annotations

import math
from functools import partial
from typing import Sequence

import numpy as np
from numpy.typing import ArrayLike

from wsnas.analysis.metrics.bootstrap import stat_or_nan
from wsnas.analysis.metrics.correlations import kendall_tau
from wsnas.analysis.metrics.inputs import MIN_ARCHS, MetricInputError, aligned_pair, as_vector, check_count, check_k


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
    x, y = aligned_pair(score, truth)
    return _expected_topk_max(x, y, check_k(k, x.size))


def topk_true_ranks(score: ArrayLike, truth: ArrayLike, k: int) -> tuple[float, float]:
    """(best, worst) true rank among the supernet's top-k (1 = truly best; tied truth shares the best rank).

    Score ties at the top-k boundary are broken uniformly at random; both are exact expected values.
    """
    x, y = aligned_pair(score, truth)
    k = check_k(k, x.size)
    ranks = _true_ranks(y)
    return -_expected_topk_max(x, -ranks, k), _expected_topk_max(x, ranks, k)


def precision_at_k(score: ArrayLike, truth: ArrayLike, k: int) -> float:
    """Fraction of the supernet's top k that is in the true top k (exact expectation over tie-breaks)."""
    x, y = aligned_pair(score, truth)
    return _precision(x, y, check_k(k, x.size))


def precision_at_bottom_k(score: ArrayLike, truth: ArrayLike, k: int) -> float:
    """Fraction of the supernet's bottom k that is in the true bottom k (exact expectation over tie-breaks).

    The mirror of precision at k (topk_table): how reliably the supernet spots the architectures to discard.
    """
    x, y = aligned_pair(score, truth)
    return _precision(-x, -y, check_k(k, x.size))


def kendall_in_topk(score: ArrayLike, truth: ArrayLike, k: int) -> float:
    """Kendall tau-b of score and truth among the truly best architectures: does the supernet order them?

    The set is fixed by the truth alone: every architecture whose truth is at least the k-th best truth, so
    all architectures tied with the k-th are in (the set can exceed k; no random tie-break). Raises
    MetricInputError when fewer than MIN_ARCHS architectures are in it or score or truth is constant there.
    """
    x, y = aligned_pair(score, truth)
    return _kendall_in_topk(x, y, check_k(k, x.size))


def regret(score: ArrayLike, truth: ArrayLike) -> float:
    """Best truth minus the truth of the supernet's pick (its top-1; expectation over score ties). Never < 0."""
    x, y = aligned_pair(score, truth)
    return float(y.max()) - _expected_topk_max(x, y, 1)


def random_expected_best(truth: ArrayLike, k: int) -> float:
    """Exact expected best truth of k architectures drawn uniformly without replacement from `truth`."""
    y = as_vector(truth, "truth")
    check_count(y.size, "truth")
    return _expected_max(y, check_k(k, y.size))


def resolve_k(spec: int | float, n: int) -> tuple[int, str]:
    """(count, label) for an int count or a fraction in (0, 1] of n (ceil, at least 1)."""
    if isinstance(spec, (float, np.floating)):
        if not 0 < spec <= 1:
            raise MetricInputError(
                f"top-k fraction {spec!r} must lie in (0, 1]; pass e.g. 0.01 for the top 1%, or an int count"
            )
        # round first so float noise (0.07 * 100 = 7.000000000000001) does not push ceil up by one
        return max(1, math.ceil(round(spec * n, 9))), f"{spec * 100:g}%"
    k = check_k(spec, n)
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
    x, y = aligned_pair(score, truth)
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
