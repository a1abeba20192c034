"""Statistics of replicated supernets and paired comparisons of score sets on the same archs (no torch).

A score set is a matrix: one row per replicate (supernets that differ only in their training seed, or a single
run, or a free baseline such as parameter count), one column per arch. Its figure for a statistic (Kendall tau,
Spearman rho, top-k) is the mean over rows of the statistic of each row against the truth.

The leading interval of every figure and difference is built at the replicate level (wsnas.analysis.inference):
the mean plus or minus t(df) times a standard error that combines the spread of the per-replicate values with
the arch-sampling variance the replicates share (seeds random, archs resampled). A single supernet's interval
resamples the archs with its seed fixed, and says so. A difference is tested on the per-replicate differences
when both sides are the same supernets (two BN policies of one group) or one side is a fixed scorer (a free
baseline); two independent groups combine their seed parts Welch-style. Each difference carries its t p-value,
the smallest difference it could detect at 80% power, and how many replicates would detect the observed one.

A two-level bootstrap (archs and replicates resampled) stays as a secondary figure ("bootstrap"): with 3
replicates its replicate level is little more than the min and max of three numbers, and it covers too little.
"""
from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from functools import partial
from typing import Any, Sequence

import numpy as np

from wsnas.analysis.inference import (SEEDS_FIXED, Estimate, cross_shared, p_text, replicated_estimate,
                                      replicates_needed, spread, welch_estimate)
from wsnas.analysis.metrics import (MetricInputError, StatFn, kendall_tau, precision_at_bottom_k, precision_at_k,
                                    random_expected_best, resample_indices, resampled_stat, resolve_k,
                                    spearman_rho, stat_or_nan, topk_best_truth)

ALPHA = 0.05
CORRELATION_STATS: dict[str, StatFn] = {"kendall": kendall_tau, "spearman": spearman_rho}
TOPK_STATS = {"supernet_best": topk_best_truth, "precision_at_k": precision_at_k,
              "precision_at_bottom_k": precision_at_bottom_k}


@dataclass(frozen=True)
class ScoreSet:
    """Scores of the same archs by R replicates: `scores[r, j]` is replicate r's score of arch keys[j] (higher =
    better); `members[r]` names replicate r (sets that share member names are the same supernets). `fixed`: a
    scorer with no training seed (parameter count, FLOPs, a zero-cost proxy computed once), whose figure varies
    only with the archs."""

    label: str
    keys: tuple[str, ...]
    scores: np.ndarray
    members: tuple[str, ...]
    fixed: bool = False

    def __post_init__(self) -> None:
        if self.scores.ndim != 2 or self.scores.shape != (len(self.members), len(self.keys)):
            raise MetricInputError(f"score set {self.label!r}: scores of shape {self.scores.shape} do not match "
                                   f"{len(self.members)} replicates x {len(self.keys)} archs")

    @property
    def replicates(self) -> int:
        return len(self.members)

    def select(self, keys: Sequence[str]) -> "ScoreSet":
        """The same set restricted to (and ordered as) `keys`, each of which it must hold."""
        position = {k: j for j, k in enumerate(self.keys)}
        missing = [k for k in keys if k not in position]
        if missing:
            raise MetricInputError(f"score set {self.label!r} has no score for {len(missing)} of the archs, e.g. "
                                   f"{missing[0]}")
        columns = [position[k] for k in keys]
        return ScoreSet(self.label, tuple(keys), self.scores[:, columns], self.members, self.fixed)


def fitting(topk: Sequence[int | float], n: int) -> list[int | float]:
    """The top-k specs that fit n archs: fractions, and counts up to n."""
    return [spec for spec in topk if isinstance(spec, (float, np.floating)) or spec <= n]


def statistics(topk: Sequence[int | float], n: int) -> dict[str, StatFn]:
    """Name -> stat_fn(score, truth): Kendall, Spearman and, per top-k spec that fits n archs (resolved on n),
    '<figure>@<label>' for the best true value in the top k, precision at k and precision at bottom k."""
    stats = dict(CORRELATION_STATS)
    for spec in fitting(topk, n):
        k, label = resolve_k(spec, n)
        stats.update({f"{figure}@{label}": partial(fn, k=k) for figure, fn in TOPK_STATS.items()})
    return stats


def _replicate_draws(replicates: int, n_boot: int, seed: int) -> np.ndarray:
    """(n_boot, R) replicate indices drawn with replacement, from the seed and R alone (not the members' paths: a
    group moved elsewhere keeps its intervals); a set of other supernets draws with another seed."""
    return np.random.default_rng([seed, 1_000_003]).integers(0, replicates, size=(n_boot, replicates))


def _per_row(stat_fn: StatFn, scores: np.ndarray, truth: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """(R, n_boot): stat_fn of each row on each resample of the archs (NaN where undefined)."""
    return np.stack([resampled_stat(stat_fn, row, truth, idx) for row in scores])


def _two_level(per_row: np.ndarray, draws: np.ndarray) -> np.ndarray:
    """Per resample b: the mean over replicates draws[b] of the per-row resampled statistic."""
    return per_row[draws, np.arange(per_row.shape[1])[:, None]].mean(axis=1)


def _interval(values: np.ndarray) -> tuple[float, float]:
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return math.nan, math.nan
    low, high = np.quantile(finite, [ALPHA / 2, 1 - ALPHA / 2])
    return float(low), float(high)


def _point(stat_fn: StatFn, scores: np.ndarray, truth: np.ndarray) -> list[float]:
    return [stat_or_nan(stat_fn, row, truth) for row in scores]


def replicated_stat(stat_fn: StatFn, scores: np.ndarray, truth: np.ndarray, idx: np.ndarray,
                    draws: np.ndarray) -> dict[str, Any]:
    """{"value" (mean over replicates), "sd" (over replicates, ddof 1; NaN for one), "ci_low", "ci_high", "se",
    "df", "conditions", "interval" (the leading interval: module docstring), "bootstrap" (the two-level
    bootstrap's "ci_low", "ci_high", secondary), "per_replicate"}."""
    per = np.asarray(_point(stat_fn, scores, truth), dtype=float)
    per_row = _per_row(stat_fn, scores, truth, idx)
    estimate = replicated_estimate(spread(per, per_row))
    if estimate.conditions == SEEDS_FIXED:  # one scorer: the percentile interval of the arch bootstrap
        low, high = _interval(per_row[0])
        lead = {**estimate.to_dict(), "ci_low": low, "ci_high": high}
    else:
        lead = estimate.to_dict()
    boot_low, boot_high = _interval(_two_level(per_row, draws))
    return {"value": float(np.nanmean(per)) if np.isfinite(per).any() else math.nan,
            "sd": float(np.std(per, ddof=1)) if per.size > 1 else math.nan, **lead,
            "bootstrap": {"ci_low": boot_low, "ci_high": boot_high,
                          "conditions": "two-level bootstrap: replicates and archs resampled"},
            "per_replicate": per.tolist()}


def replicate_summary(score_set: ScoreSet, truth: np.ndarray, *, topk: Sequence[int | float], n_boot: int,
                      seed: int) -> dict[str, Any]:
    """A score set's figures against the truth (see the module docstring), plus how its replicates agree.

    Keys: "replicates", every statistic of `statistics()` as replicated_stat, "agreement" (Kendall tau between
    every pair of replicates: "pairs", "mean", "min", "max"; absent for one replicate) and "mean_score" (Kendall
    and Spearman of the replicates' mean score against the truth, with an arch-bootstrap interval).
    """
    scores, n = score_set.scores, len(score_set.keys)
    idx = resample_indices(n, n_boot, seed)
    draws = _replicate_draws(score_set.replicates, n_boot, seed)
    out: dict[str, Any] = {"replicates": score_set.replicates, "members": list(score_set.members)}
    for name, fn in statistics(topk, n).items():
        out[name] = replicated_stat(fn, scores, truth, idx, draws)
    out["random_expected_best"] = {label: random_expected_best(truth, k)
                                   for k, label in (resolve_k(spec, n) for spec in fitting(topk, n))}
    if score_set.replicates > 1:
        pairs = [{"members": [score_set.members[i], score_set.members[j]],
                  "kendall": stat_or_nan(kendall_tau, scores[i], scores[j])}
                 for i, j in itertools.combinations(range(score_set.replicates), 2)]
        taus = np.array([p["kendall"] for p in pairs], dtype=float)
        out["agreement"] = {"pairs": pairs, "mean": float(np.nanmean(taus)), "min": float(np.nanmin(taus)),
                            "max": float(np.nanmax(taus))}
        mean = scores.mean(axis=0)
        single = np.zeros((n_boot, 1), dtype=int)
        out["mean_score"] = {name: replicated_stat(fn, mean[None, :], truth, idx, single)
                             for name, fn in CORRELATION_STATS.items()}  # these supernets' mean: seeds fixed
    return out


def paired_difference(a: ScoreSet, b: ScoreSet, truth: np.ndarray, *, topk: Sequence[int | float], n_boot: int,
                      seed: int) -> dict[str, dict[str, Any]]:
    """a minus b for every statistic of `statistics()`, on the same archs (a.keys == b.keys, aligned with
    `truth`): per statistic {"a", "b", "difference", "ci_low", "ci_high", "p_value", "se", "df", "conditions",
    "interval", "design", "detectable", "replicates_needed", "per_replicate"}."""
    return paired_differences(a, [b], truth, topk=topk, n_boot=n_boot, seed=seed)[0]


def _design(a: ScoreSet, b: ScoreSet) -> str:
    """How A and B pair: 'same supernets', 'fixed B', 'fixed A', 'independent' (module docstring)."""
    if a.members == b.members:
        return "same supernets"
    if b.fixed and b.replicates == 1:
        return "fixed B"
    if a.fixed and a.replicates == 1:
        return "fixed A"
    return "independent"


def _difference(design: str, per_a: np.ndarray, per_b: np.ndarray, boot_a: np.ndarray,
                boot_b: np.ndarray) -> tuple[Estimate, list[float]]:
    """The estimate of mean(A) - mean(B) and the per-replicate differences (empty for independent groups)."""
    if design == "independent":
        return welch_estimate(spread(per_a, boot_a), spread(per_b, boot_b), cross_shared(boot_a, boot_b)), []
    d = spread(per_a - per_b, boot_a - boot_b)  # fixed sides broadcast: one row against every replicate
    return replicated_estimate(d), d.values.tolist()


def paired_differences(a: ScoreSet, others: Sequence[ScoreSet], truth: np.ndarray, *, topk: Sequence[int | float],
                       n_boot: int, seed: int) -> list[dict[str, dict[str, Any]]]:
    """paired_difference(a, b) for each b of `others`, a's side resampled once."""
    for b in others:
        if a.keys != b.keys:
            raise MetricInputError(f"score sets {a.label!r} and {b.label!r} are not on the same archs; align them "
                                   f"first")
    n = len(a.keys)
    idx = resample_indices(n, n_boot, seed)
    out: list[dict[str, dict[str, Any]]] = [{} for _ in others]
    designs = [_design(a, b) for b in others]
    for name, fn in statistics(topk, n).items():
        per_a = np.asarray(_point(fn, a.scores, truth), dtype=float)
        boot_a = _per_row(fn, a.scores, truth, idx)
        for entry, b, design in zip(out, others, designs):
            per_b = np.asarray(_point(fn, b.scores, truth), dtype=float)
            estimate, per_difference = _difference(design, per_a, per_b, boot_a, _per_row(fn, b.scores, truth, idx))
            entry[name] = {"a": float(np.nanmean(per_a)), "b": float(np.nanmean(per_b)),
                           "difference": estimate.value, **estimate.to_dict(), "p_value": estimate.p_value(),
                           "design": design, "replicates": estimate.replicates, "per_replicate": per_difference,
                           "detectable": estimate.detectable(),
                           "replicates_needed": replicates_needed(estimate, estimate.value)}
    return out


def decide_text(entry: dict[str, Any]) -> str:
    """What a difference's design could detect, and what would decide it: 'detectable at 80% power: 0.61; about
    9 replicates would detect -0.339'."""
    detect = entry.get("detectable")
    if detect is None or not math.isfinite(detect):
        return ""
    text = f"smallest difference detectable at 80% power: {detect:.3f}"
    needed = entry.get("replicates_needed")
    if entry.get("ci_low", 0) <= 0 <= entry.get("ci_high", 0) and entry.get("conditions") != SEEDS_FIXED:
        if needed:
            text += f"; about {needed} replicates would detect {entry['difference']:+.3f}"
        elif entry.get("difference"):
            text += f"; no number of replicates detects {entry['difference']:+.3f} on these archs (more archs needed)"
    return text


def verdict(entry: dict[str, Any], a: str, b: str, what: str = "Kendall tau") -> str:
    """'A beats B by +x [lo, hi] (p, what the interval holds fixed)' / 'A loses to B ...' / 'A and B are not
    distinguishable ...' with the replicate count and what it could have detected."""
    d, low, high = entry["difference"], entry["ci_low"], entry["ci_high"]
    if math.isnan(low):
        return f"{a} vs {b}: {what} difference undefined"
    reps = entry.get("replicates")
    interval = f"{d:+.3f} [{low:+.3f}, {high:+.3f}], {p_text(entry['p_value'])}"
    held = "; ".join(part for part in (f"R={reps}" if reps and reps > 1 else "", entry.get("conditions", "")) if part)
    held = f" ({held})" if held else ""
    if low > 0:
        return f"{a} beats {b} on {what} by {interval}{held}"
    if high < 0:
        return f"{a} loses to {b} on {what} by {interval}{held}"
    decide = decide_text(entry)
    return (f"{a} and {b} are not distinguishable on {what}: {interval}{held}"
            + (f"; {decide}" if decide else ""))
