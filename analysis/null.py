"""The null model of the bias studies: unbiased scorers that see only the truth plus noise (no torch).

A statistic such as "tau(params, supernet) is below tau(params, truth)" or "archs with many conv edges sit
lower in the supernet's ranking than in the truth's" is also produced by a scorer that knows nothing about
size or operators and merely tracks the truth imperfectly (regression to the mean). A bias is claimed only
where the supernet's statistic lies outside what such an unbiased scorer of the same quality produces.

The unbiased scorer (a Gaussian copula): the truth's normal scores u = Phi^-1((average rank - 1/2) / n)
(tied truths share one u) plus Gaussian noise,

    z_r = rho_r * u + sqrt(1 - rho_r^2) * (sqrt(g) * c + sqrt(1 - g) * e_r),    c, e_r ~ N(0, I) independent,

and the scorer's values are replicate r's own supernet scores placed in the order of z_r (the largest score
where z_r is largest), so the null scorer has exactly the supernet's marginal, ties included, and differs from
it only in which arch gets which score. rho_r is solved (Brent's method, common random numbers) so that the
expected Kendall tau-b of null scorer r with the truth equals supernet replicate r's; analytically
tau = (2/pi) asin(rho) for continuous values, which ties and finite n bend a little, hence the simulation.
With several replicates (supernets on the same archs) the shared part g of the noise is solved the same way
so that null scorers agree with each other (mean Kendall over pairs) as much as the replicates do: errors
that the replicates share do not average out, and the null for their mean must not pretend they do.
Nothing here sees a feature (parameters, ops), so whatever a null scorer's statistic is, it is not a bias.

`NullModel.simulate` draws `sims` such scorer sets with a fixed seed; `null_bands` turns the statistic
computed on each draw into its band: the pointwise central interval and a simultaneous band over a family of
statistics (all of one study) that all the statistics of 95% of the draws stay inside, so a study's
false-positive rate is that level, not one per statistic.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
from numpy.typing import ArrayLike
from scipy import optimize, stats

CALIBRATION_SIMS = 256  # draws (common random numbers) the expected Kendall is solved on
RHO_LIMIT = 0.9999  # |rho| solved within (-RHO_LIMIT, RHO_LIMIT)
XTOL = 1e-4  # tolerance of the solved analytic Kendall (and shared noise share)
LOOP_KERNEL_MAX_N = 2000  # kendall_rows: all rows at once up to this many archs, scipy's O(n log n) per row above
ONE_SIGMA = stats.norm.cdf(-1.0)  # 0.1587: the quantiles that scale the simultaneous band


# --------------------------------------------------------------------------------------------- kernels

def normal_scores(values: ArrayLike) -> np.ndarray:
    """Phi^-1((average rank - 1/2) / n): the values' ranks as standard normal quantiles (ties share one)."""
    v = np.asarray(values, dtype=float)
    return stats.norm.ppf((stats.rankdata(v) - 0.5) / v.size)


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

def _place(sorted_scores: np.ndarray, latent: np.ndarray) -> np.ndarray:
    """Each row's sorted scores put where its latent values rank (smallest score at the smallest latent)."""
    out = np.empty_like(latent)
    np.put_along_axis(out, np.argsort(latent, axis=-1), np.broadcast_to(sorted_scores, latent.shape), axis=-1)
    return out


def _solve(f: Callable[[float], float], low: float, high: float, guess: float, step: float) -> tuple[float, bool]:
    """The root of increasing `f` in [low, high], searched first within `step` of `guess`; the nearer end
    when f keeps one sign over [low, high] (then True: the target was out of reach)."""
    a, b = max(low, guess - step), min(high, guess + step)
    fa, fb = f(a), f(b)
    if fa > 0 and a > low:
        b, fb, a = a, fa, low
        fa = f(a)
    elif fb < 0 and b < high:
        a, fa, b = b, fb, high
        fb = f(b)
    if fa >= 0:
        return a, fa > 0
    if fb <= 0:
        return b, fb < 0
    return float(optimize.brentq(f, a, b, xtol=XTOL)), False


@dataclass(frozen=True)
class NullModel:
    """Unbiased scorers matched to R supernet replicates on the same archs (see the module docstring)."""

    truth: np.ndarray  # (n,)
    latent_truth: np.ndarray  # (n,) normal scores of the truth
    sorted_scores: np.ndarray  # (R, n) each replicate's scores, ascending
    rho: np.ndarray  # (R,) latent correlation of null scorer r with the truth's normal scores
    shared: float  # g: the share of the noise common to the R null scorers of one draw
    target_kendall: np.ndarray  # (R,) each replicate's Kendall tau-b with the truth
    target_agreement: float | None  # mean Kendall over replicate pairs (None for one replicate)
    clipped: tuple[str, ...]  # what could not be matched exactly (the solved value sits at its limit)
    seed: int

    @property
    def replicates(self) -> int:
        return int(self.rho.size)

    def latent(self, common: np.ndarray, own: np.ndarray, shared: float | None = None) -> np.ndarray:
        """z (..., R, n) from standard normal draws common (..., 1, n) and own (..., R, n)."""
        g = self.shared if shared is None else shared
        noise = np.sqrt(g) * common + np.sqrt(1 - g) * own
        rho = self.rho[:, None]
        return rho * self.latent_truth + np.sqrt(1 - rho ** 2) * noise

    def simulate(self, sims: int, seed: int | None = None) -> np.ndarray:
        """(sims, R, n) null scores: `sims` independent draws of the R matched unbiased scorers.

        Seeded by `seed` (default: the model's seed), so the same model and seed give the same draws.
        """
        rng = np.random.default_rng([self.seed if seed is None else seed, 1])
        n = self.truth.size
        common = rng.standard_normal((sims, 1, n))
        own = rng.standard_normal((sims, self.replicates, n))
        return _place(self.sorted_scores, self.latent(common, own))

    def describe(self) -> dict[str, Any]:
        """The fitted quantities, for a study's JSON."""
        return {"rho": self.rho.tolist(), "shared_noise": self.shared, "target_kendall": self.target_kendall.tolist(),
                "target_agreement": self.target_agreement, "clipped": list(self.clipped), "seed": self.seed,
                "analytic_kendall": (2 / np.pi * np.arcsin(self.rho)).tolist()}


def fit_null(truth: ArrayLike, scores: ArrayLike, seed: int,
             calibration_sims: int = CALIBRATION_SIMS) -> NullModel:
    """Null scorers matched to `scores` (R, n): replicate r's Kendall with `truth`, and the replicates'
    mutual agreement (see the module docstring). Deterministic for a given seed."""
    y = np.asarray(truth, dtype=float)
    s = np.atleast_2d(np.asarray(scores, dtype=float))
    reps, n = s.shape
    u = normal_scores(y)
    target = kendall_rows(s, y)
    rng = np.random.default_rng([seed, 0])
    common = rng.standard_normal((calibration_sims, 1, n))
    own = rng.standard_normal((calibration_sims, reps, n))
    sorted_scores = np.sort(s, axis=1)
    rho, clipped = np.empty(reps), []
    tau_limit = 2 / np.pi * np.arcsin(RHO_LIMIT)
    for r in range(reps):
        def excess(tau: float, r: int = r) -> float:  # solved in the analytic tau = (2/pi) asin(rho): nearly linear
            value = np.sin(np.pi / 2 * tau)
            z = value * u + np.sqrt(1 - value ** 2) * own[:, r]
            return float(np.nanmean(kendall_rows(_place(sorted_scores[r], z), y)) - target[r])

        tau, hit = _solve(excess, -tau_limit, tau_limit, float(target[r]), 0.02)
        rho[r] = np.sin(np.pi / 2 * tau)
        if hit:
            clipped.append(f"replicate {r}: Kendall {target[r]:+.3f} out of reach, rho set to {rho[r]:+.4f}")
    model = NullModel(y, u, sorted_scores, rho, 0.0, target, None, (), seed)
    if reps < 2:
        return model
    pairs = [(i, j) for i in range(reps) for j in range(i + 1, reps)]
    observed = kendall_rows(s[[i for i, _ in pairs]], s[[j for _, j in pairs]])
    agreement = float(np.nanmean(observed))

    def excess_agreement(g: float) -> float:
        nulls = _place(sorted_scores, model.latent(common, own, g))
        return float(np.nanmean([kendall_rows(nulls[:, i], nulls[:, j]) for i, j in pairs])) - agreement

    # first guess from the latent correlation of a pair: sin(pi/2 tau) = rho_i rho_j + g sqrt((1-rho_i^2)(1-rho_j^2))
    guess = np.nanmean([(np.sin(np.pi / 2 * observed[k]) - rho[i] * rho[j]) / np.sqrt((1 - rho[i] ** 2) * (1 - rho[j] ** 2))
                        for k, (i, j) in enumerate(pairs)])
    shared, hit = _solve(excess_agreement, 0.0, 1.0, float(np.clip(guess, 0, 1)), 0.05)
    if hit:
        clipped.append(f"replicate agreement {agreement:+.3f} out of reach, shared noise set to {shared:g}")
    return NullModel(y, u, sorted_scores, rho, shared, target, agreement, tuple(clipped), seed)


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
