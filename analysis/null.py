"""The null model of the bias studies: unbiased scorers that see only the truth plus noise (no torch).

A statistic such as "tau(params, supernet) is below tau(params, truth)" or "archs with many conv edges sit
lower in the supernet's ranking than in the truth's" is also produced by a scorer that knows nothing about
size or operators and merely tracks the truth imperfectly (regression to the mean). A bias is claimed only
where the supernet's statistic lies outside what such an unbiased scorer of the same quality produces.

The unbiased scorer is the supernet itself with its archs shuffled among archs of (nearly) the same truth: the
archs are sorted by their true value and cut into strata of STRATUM_SIZE neighbours, and a null draw permutes the
archs within every stratum, the same permutation for every replicate. Under the hypothesis "the score depends on
an arch only through its truth" the archs of one stratum are exchangeable, so the draw is a conditional
permutation test. It keeps whatever the supernet does along the truth: its marginal and ties, how much of the
truth it sees, and its precision profile (a supernet precise on bad archs and noisy on good ones stays so,
where a homoscedastic null flagged such a scorer as size-biased in 26 of 120 simulated studies), and the
replicates' agreement with each other exactly. Only what links the score to an arch beyond its truth, which is
what a bias is, is destroyed. The cost: pairs inside a stratum lose their order (about STRATUM_SIZE / n of the
pairs), so a null draw's Kendall with the truth sits a little below the supernet's (`null_kendall_mean` reports
it). Nothing here sees a feature (parameters, ops), so whatever a null draw's statistic is, it is not a bias.

`fit_null(...).simulate(sims)` draws `sims` permutations with a fixed seed; `null_bands` turns the statistic
computed on each draw into its band: the pointwise central interval and a simultaneous band over a family of
statistics (all of one study) that all the statistics of 95% of the draws stay inside, so a study's
false-positive rate is that level, not one per statistic (tests/test_calibration.py checks it by simulation).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike
from scipy import stats

STRATUM_SIZE = 5  # archs per truth stratum: within-stratum pairs are 4 / (n - 1) of all pairs (1.6% at 250 archs)
LOOP_KERNEL_MAX_N = 2000  # kendall_rows: all rows at once up to this many archs, scipy's O(n log n) per row above
ONE_SIGMA = stats.norm.cdf(-1.0)  # 0.1587: the quantiles that scale the simultaneous band


# --------------------------------------------------------------------------------------------- kernels

def rank_rows(values: np.ndarray) -> np.ndarray:
    """Average ranks (1-based, ties averaged) along the last axis."""
    return stats.rankdata(values, axis=-1)


def _tied_pairs(rows: np.ndarray) -> np.ndarray:
    """Per row, the number of pairs with equal values (sum over values of c(c-1)/2)."""
    return (stats.rankdata(rows, method="max", axis=-1) - stats.rankdata(rows, method="min", axis=-1)).sum(axis=-1) / 2


def kendall_rows(a: ArrayLike, b: ArrayLike) -> np.ndarray:
    """Kendall tau-b of every row of `a` (m, n) with `b` (n,) or with the same row of `b` (m, n).

    NaN for a row where either side is constant. Up to LOOP_KERNEL_MAX_N archs all rows at once (exact):
    with each row ordered by b, arch j is compared with the archs of strictly smaller b, j = 1..n; above
    that with scipy.stats.kendalltau row by row.
    """
    a = np.atleast_2d(np.asarray(a, dtype=float))
    b = np.asarray(b, dtype=float)
    m, n = a.shape
    if n > LOOP_KERNEL_MAX_N:
        return np.array([stats.kendalltau(x, y, variant="b").statistic
                         for x, y in zip(a, np.broadcast_to(b, a.shape))], dtype=float)
    order = np.argsort(b, axis=-1, kind="stable")
    a_sorted = np.take_along_axis(a, np.broadcast_to(order, a.shape), axis=-1)
    group_start = np.broadcast_to(stats.rankdata(np.take_along_axis(b, order, axis=-1), method="min", axis=-1)
                                  .astype(int) - 1, a.shape)
    numerator = np.zeros(m)
    for j in range(1, n):
        earlier = np.arange(j) < group_start[:, j:j + 1]  # archs with strictly smaller b
        before, current = a_sorted[:, :j], a_sorted[:, j:j + 1]
        numerator += (np.count_nonzero((before < current) & earlier, axis=1)
                      - np.count_nonzero((before > current) & earlier, axis=1))
    pairs = n * (n - 1) / 2
    with np.errstate(divide="ignore", invalid="ignore"):
        return numerator / np.sqrt((pairs - _tied_pairs(a)) * (pairs - _tied_pairs(b)))


def pearson_rows(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pearson correlation along the last axis (broadcasting); NaN where a side is constant."""
    da = a - a.mean(axis=-1, keepdims=True)
    db = b - b.mean(axis=-1, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        return (da * db).sum(axis=-1) / np.sqrt((da * da).sum(axis=-1) * (db * db).sum(axis=-1))


# ------------------------------------------------------------------------------------------ null model

def truth_strata(truth: ArrayLike, size: int = STRATUM_SIZE) -> tuple[np.ndarray, ...]:
    """The archs' indices sorted by truth and cut into n // size strata of `size` or `size` + 1 neighbours."""
    t = np.asarray(truth, dtype=float)
    order = np.argsort(t, kind="stable")
    return tuple(np.array_split(order, max(1, t.size // size)))


@dataclass(frozen=True)
class NullModel:
    """Unbiased scorers made from R supernet replicates on the same archs (see the module docstring)."""

    truth: np.ndarray  # (n,)
    scores: np.ndarray  # (R, n) the replicates' own scores
    strata: tuple[np.ndarray, ...]  # arch indices of each truth stratum
    seed: int

    @property
    def replicates(self) -> int:
        return int(self.scores.shape[0])

    def permutations(self, sims: int, seed: int | None = None) -> np.ndarray:
        """(sims, n): in draw s, arch j takes the scores of arch perm[s, j], a neighbour of its stratum."""
        rng = np.random.default_rng([self.seed if seed is None else seed, 1])
        perm = np.empty((sims, self.truth.size), dtype=int)
        for stratum in self.strata:
            perm[:, stratum] = stratum[np.argsort(rng.random((sims, stratum.size)), axis=1)]
        return perm

    def simulate(self, sims: int, seed: int | None = None) -> np.ndarray:
        """(sims, R, n) null scores: `sims` draws of the R replicates' scores, permuted within the truth strata
        (one permutation per draw for all replicates). Seeded by `seed` (default: the model's seed)."""
        return np.transpose(self.scores[:, self.permutations(sims, seed)], (1, 0, 2))

    def describe(self) -> dict[str, Any]:
        """The null's design, for a study's JSON."""
        sizes = [s.size for s in self.strata]
        return {"method": "permutation within truth strata (one permutation for all replicates)",
                "strata": len(self.strata), "stratum_size": [min(sizes), max(sizes)], "seed": self.seed,
                "target_kendall": kendall_rows(self.scores, self.truth).tolist()}


def fit_null(truth: ArrayLike, scores: ArrayLike, seed: int, stratum_size: int = STRATUM_SIZE) -> NullModel:
    """The null of `scores` (R, n) against `truth` (module docstring). Deterministic for a given seed."""
    y = np.asarray(truth, dtype=float)
    return NullModel(y, np.atleast_2d(np.asarray(scores, dtype=float)), truth_strata(y, stratum_size), seed)


# --------------------------------------------------------------------------------------------- bands

def null_bands(observed: ArrayLike, null: ArrayLike, level: float = 0.95) -> list[dict[str, Any]]:
    """The band of each statistic of a family under the null, and whether the observed value leaves it.

    observed (m,) and null (sims, m): the statistics and their values on each null draw. Per statistic:
    null_median; null_low/null_high, the pointwise central `level` interval of the draws; null_sim_low/
    null_sim_high, the simultaneous band median - c * (median - q_0.159) .. median + c * (q_0.841 - median)
    with c the `level` quantile over draws of each draw's largest such standardised distance over the family
    (all m statistics of `level` of the draws lie inside their bands at once); p_value, the two-sided Monte
    Carlo p-value of the observed value alone; outside, whether it lies outside the simultaneous band (never
    for an undefined value); excess, observed minus the null median.
    """
    obs = np.asarray(observed, dtype=float)
    draws = np.asarray(null, dtype=float).reshape(-1, obs.size)
    median = np.nanmedian(draws, axis=0)
    low_q, high_q = np.nanquantile(draws, [ONE_SIGMA, 1 - ONE_SIGMA], axis=0)
    tiny = 1e-12 * np.maximum(1.0, np.abs(median))
    below, above = np.maximum(median - low_q, tiny), np.maximum(high_q - median, tiny)
    with np.errstate(invalid="ignore"):
        distance = np.where(draws >= median, (draws - median) / above, (median - draws) / below)
    c = float(np.nanquantile(np.nanmax(distance, axis=1), level)) if np.isfinite(distance).any() else np.nan
    point_low, point_high = np.nanquantile(draws, [(1 - level) / 2, (1 + level) / 2], axis=0)
    sims = np.isfinite(draws).sum(axis=0)
    bands = []
    for j, value in enumerate(obs):
        defined = bool(np.isfinite(value))
        sim_low, sim_high = median[j] - c * below[j], median[j] + c * above[j]
        p = (min(1.0, 2 * min(1 + np.sum(draws[:, j] >= value), 1 + np.sum(draws[:, j] <= value)) / (1 + sims[j]))
             if defined else np.nan)
        bands.append({"null_median": float(median[j]), "null_low": float(point_low[j]),
                      "null_high": float(point_high[j]), "null_sim_low": float(sim_low),
                      "null_sim_high": float(sim_high), "p_value": float(p),
                      "outside": defined and not sim_low <= value <= sim_high,
                      "excess": float(value - median[j]) if defined else np.nan})
    return bands
