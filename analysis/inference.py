"""Inference at the replicate level: intervals and paired tests that keep their promise with few replicates
(no torch).

A figure of R replicates (supernets that differ only in their training seed, scored on the same n archs) is the
mean over replicates of a per-replicate statistic x_r (Kendall tau, Spearman rho, a top-k figure). Its error has
three parts, read off the per-replicate values and the arch bootstrap of each replicate on the same resamples:

  shared arch part   the arch sample, common to every replicate, so its error does not average out: the covariance
                     between two replicates' statistics under resampling the archs (the mean off-diagonal
                     covariance of the bootstrap), C.
  seed x arch part   each replicate's own arch-sampling error (its bootstrap variance minus C), I: it averages out
                     as I / R and is known as well as C is.
  net seed part      the training seed's own effect: the spread S^2 of the R values holds it and I, so it is
                     max(0, S^2 - I), measured on R - 1 degrees of freedom.

The leading interval gives each part its own quantile: mean +- sqrt(t(R-1)^2 max(0, S^2 - I)/R + z^2 (C + I/R)),
t(R-1) on the net seed part and the normal z on the parts the bootstrap measures. At R = 3 and a large seed
spread it is the t interval with 2 degrees of freedom, as wide as three numbers allow; with no seed effect it is
the arch bootstrap's normal interval. In simulation (tests/test_calibration.py) it covers 0.93-0.96 for R in
3..10 and seed sds of 0.03-0.24; one pooled t with Welch-Satterthwaite df covered 0.90 (its df is estimated from
the same S^2 it scales), and t(R-1) on all of S^2 0.97-0.99 at small seed sds (it gives the well-known seed x arch
part 2 degrees of freedom). It holds nothing fixed but the truth table: seeds are random and archs resampled.
A single supernet (R = 1) has no seed part to measure: its interval resamples the
archs only, with the seed fixed, and says so. A difference of two score sets is the same interval on the
per-replicate differences when both come from the same supernets, or when one side is a fixed scorer (parameter
count, a zero-cost proxy); two independent groups of supernets combine their seed parts Welch-style and share the
arch part. tests/test_calibration.py checks coverage and error rates by simulation.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import optimize, stats

ALPHA = 0.05
POWER = 0.80
MAX_REPLICATES = 200  # replicates_needed searches up to this many
P_FLOOR = 1e-12  # p-values below this print as 0 (and as p<0.001 anyway)

SEEDS_RANDOM = "seeds random, archs resampled"
SEEDS_FIXED = "seeds fixed, archs resampled"


@dataclass(frozen=True)
class Spread:
    """The two error parts of a mean over replicates (module docstring): per-replicate values and the arch
    bootstrap covariance of the mean that all replicates share."""

    values: np.ndarray  # (R,) per-replicate statistic (or difference)
    shared: float  # C: the arch-sampling variance the replicates share
    own_arch: float  # the arch-sampling variance of one replicate (diagonal mean): holds for R = 1

    @property
    def replicates(self) -> int:
        return int(self.values.size)

    @property
    def seed_variance(self) -> float:
        """S^2: variance of the per-replicate values (ddof 1); NaN for one replicate."""
        v = self.values[np.isfinite(self.values)]
        return float(np.var(v, ddof=1)) if v.size > 1 else math.nan

    @property
    def interaction(self) -> float:
        """I: one replicate's own arch-sampling variance beyond the shared part (0 for one replicate)."""
        return max(0.0, self.own_arch - self.shared) if self.replicates > 1 else 0.0

    @property
    def net_seed(self) -> float:
        """The net seed part of the mean's variance: max(0, S^2 - I) / R (0 for one replicate)."""
        if self.replicates < 2:
            return 0.0
        return max(0.0, self.seed_variance - self.interaction) / self.replicates

    @property
    def arch_of_mean(self) -> float:
        """The arch-sampling variance of the mean over replicates: C + I / R (one replicate: its own)."""
        return self.shared + self.interaction / self.replicates if self.replicates > 1 else self.own_arch


def arch_parts(boot: np.ndarray) -> tuple[float, float]:
    """(C, own) of per-replicate resampled statistics `boot` (R, n_boot), every row on the same resamples of the
    archs (resamples undefined for a row left out): the mean off-diagonal covariance (C; one replicate: its
    variance) and the mean variance (own); NaN for fewer than 2 usable resamples."""
    boot = np.atleast_2d(np.asarray(boot, dtype=float))
    boot = boot[:, np.isfinite(boot).all(axis=0)]
    if boot.shape[1] < 2:
        return math.nan, math.nan
    cov = np.atleast_2d(np.cov(boot))
    reps = cov.shape[0]
    own = float(np.mean(np.diag(cov)))
    return (float((cov.sum() - np.trace(cov)) / (reps * (reps - 1))) if reps > 1 else own), own


def spread(values: np.ndarray, boot: np.ndarray) -> Spread:
    """The Spread of per-replicate `values` (R,) whose arch-bootstrap resamples are `boot` (R, n_boot), every row
    on the same resamples of the archs."""
    shared, own = arch_parts(boot)
    return Spread(np.asarray(values, dtype=float), max(0.0, shared) if math.isfinite(shared) else shared, own)


def cross_shared(boot_a: np.ndarray, boot_b: np.ndarray) -> float:
    """Mean covariance between any replicate of A and any of B under the same arch resamples."""
    a, b = np.atleast_2d(boot_a), np.atleast_2d(boot_b)
    keep = np.isfinite(a).all(axis=0) & np.isfinite(b).all(axis=0)
    a, b = a[:, keep], b[:, keep]
    if a.shape[1] < 2:
        return math.nan
    a = a - a.mean(axis=1, keepdims=True)
    b = b - b.mean(axis=1, keepdims=True)
    return float((a @ b.T).mean() / (a.shape[1] - 1))


@dataclass(frozen=True)
class Estimate:
    """A mean with the parts of its variance (module docstring) and what its interval holds fixed."""

    value: float
    seed_part: float  # max(0, S^2 - I) / R: the net seed part of the variance; 0 where seeds are fixed
    seed_df: float  # its degrees of freedom (R - 1; Welch's for two groups); inf where seeds are fixed
    arch_shared: float  # C: the arch-sampling variance that more replicates do not shrink
    interaction: float  # I: one replicate's seed x arch variance, which averages out as I / R
    replicates: int
    conditions: str

    @property
    def shared_part(self) -> float:
        """The parts the arch bootstrap measures: C + I / R."""
        return self.arch_shared + self.interaction / self.replicates

    @property
    def se(self) -> float:
        return math.sqrt(self.seed_part + self.shared_part)

    def half_width(self, alpha: float = ALPHA, power: float | None = None) -> float:
        """sqrt(q_t^2 seed_part + q_z^2 shared_part), q = the two-sided alpha quantile (plus the `power` quantile:
        the smallest true difference detected with that probability)."""
        q_t, q_z = t_quantile(1 - alpha / 2, self.seed_df), t_quantile(1 - alpha / 2, math.inf)
        if power is not None:
            q_t, q_z = q_t + t_quantile(power, self.seed_df), q_z + t_quantile(power, math.inf)
        return math.sqrt(q_t ** 2 * self.seed_part + q_z ** 2 * self.shared_part)

    def interval(self, alpha: float = ALPHA) -> tuple[float, float]:
        if not (math.isfinite(self.se) and math.isfinite(self.value)):
            return math.nan, math.nan
        half = self.half_width(alpha)
        return self.value - half, self.value + half

    def p_value(self) -> float:
        """Two-sided p of the hypothesis value = 0: the alpha whose interval just reaches 0."""
        if not (math.isfinite(self.se) and math.isfinite(self.value)):
            return math.nan
        distance = abs(self.value)
        if self.se == 0:
            return 1.0 if distance == 0 else 0.0
        if distance >= self.half_width(P_FLOOR):
            return 0.0
        if distance <= self.half_width(1.0 - 1e-12):
            return 1.0
        return float(optimize.brentq(lambda a: self.half_width(a) - distance, P_FLOOR, 1.0 - 1e-12, xtol=1e-14))

    def detectable(self, alpha: float = ALPHA, power: float = POWER) -> float:
        """The smallest true difference this design detects with probability `power` at level `alpha`."""
        return self.half_width(alpha, power) if math.isfinite(self.se) else math.nan

    def to_dict(self, alpha: float = ALPHA) -> dict[str, Any]:
        """The interval, its standard error, df and conditions, and the variance parts (`parts`, which
        from_dict reads back for projections)."""
        low, high = self.interval(alpha)
        return {"ci_low": low, "ci_high": high, "se": self.se,
                "df": self.seed_df if math.isfinite(self.seed_df) else None, "conditions": self.conditions,
                "interval": interval_method(self),
                "parts": {"seed": self.seed_part, "arch_shared": self.arch_shared, "seed_x_arch": self.interaction,
                          "replicates": self.replicates}}

    @classmethod
    def from_dict(cls, entry: dict[str, Any]) -> "Estimate":
        """The estimate behind an entry written by to_dict (its value and parts)."""
        parts, df = entry["parts"], entry.get("df")
        return cls(entry.get("value", entry.get("difference")), parts["seed"], math.inf if df is None else df,
                   parts["arch_shared"], parts["seed_x_arch"], parts["replicates"], entry["conditions"])


def interval_method(e: Estimate) -> str:
    """How the interval was built, in words."""
    if e.conditions == SEEDS_FIXED:
        return "arch bootstrap (seeds fixed)"
    return f"t({e.seed_df:.3g}) on the net seed part + normal on the arch parts ({SEEDS_RANDOM})"


def t_quantile(q: float, df: float) -> float:
    return float(stats.norm.ppf(q) if not math.isfinite(df) else stats.t.ppf(q, df))


def replicated_estimate(s: Spread) -> Estimate:
    """The mean over replicates with the leading interval's parts (module docstring)."""
    values = s.values[np.isfinite(s.values)]
    mean = float(values.mean()) if values.size else math.nan
    if values.size < 2:
        return Estimate(mean, 0.0, math.inf, s.own_arch, 0.0, 1, SEEDS_FIXED)
    return Estimate(mean, s.net_seed, values.size - 1, s.shared, s.interaction, values.size, SEEDS_RANDOM)


def welch_estimate(a: Spread, b: Spread, cross: float) -> Estimate:
    """Mean of A minus mean of B for two independent groups of supernets on the same archs: their net seed parts
    add (Welch's degrees of freedom), the arch part is that of the difference of the two means. With a single
    supernet on either side its seed is fixed, and so are the comparison's."""
    mean = float(np.nanmean(a.values) - np.nanmean(b.values))
    arch = max(0.0, a.arch_of_mean + b.arch_of_mean - 2 * cross)
    groups = [side for side in (a, b) if side.replicates > 1]
    seed_part = sum(side.net_seed for side in groups)
    denom = sum(side.net_seed ** 2 / (side.replicates - 1) for side in groups)
    df = seed_part ** 2 / denom if denom > 0 else math.inf
    conditions = SEEDS_RANDOM if len(groups) == 2 else SEEDS_FIXED
    return Estimate(mean, seed_part, df, arch, 0.0, min(a.replicates, b.replicates), conditions)


def project(estimate: Estimate, new_reps: int) -> Estimate:
    """The same design with `new_reps` replicates on the same archs: the net seed variance and the seed x arch
    variance spread over new_reps instead of the estimate's replicates, the shared arch part unchanged."""
    return Estimate(estimate.value, estimate.seed_part * estimate.replicates / new_reps, new_reps - 1,
                    estimate.arch_shared, estimate.interaction, new_reps, estimate.conditions)


def replicates_needed(estimate: Estimate, effect: float, alpha: float = ALPHA, power: float = POWER) -> int | None:
    """The fewest replicates (same archs) that detect a true difference of `effect` at `power`; None when the
    arch part alone is too large (more archs are needed, not more replicates) or no effect is given."""
    if estimate.conditions != SEEDS_RANDOM or not effect or not math.isfinite(effect):
        return None
    return next((r for r in range(2, MAX_REPLICATES + 1)
                 if project(estimate, r).detectable(alpha, power) <= abs(effect)), None)


def replicates_for_half_width(estimate: Estimate, target: float) -> int | None:
    """The fewest replicates whose 95% half-width reaches `target` on the same archs; None when the arch part
    alone is wider."""
    if estimate.conditions != SEEDS_RANDOM:
        return None
    return next((r for r in range(2, MAX_REPLICATES + 1) if project(estimate, r).half_width() <= target), None)


def p_text(p: float) -> str:
    """'p<0.001' below 0.001, else 'p=0.123'."""
    if not math.isfinite(p):
        return "p undefined"
    return "p<0.001" if p < 0.001 else f"p={p:.3f}"
