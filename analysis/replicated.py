"""Statistics of replicated supernets and paired comparisons of score sets on the same archs (no torch).

A score set is a matrix: one row per replicate (supernets that differ only in their training seed, or a single
run, or a free baseline such as parameter count), one column per arch. Its figure for a statistic (Kendall tau,
Spearman rho, top-k) is the mean over rows of the statistic of each row against the truth.

Intervals come from a two-level bootstrap: each resample draws the archs with replacement (the same draw for
every row and for both sides of a comparison: the comparison is paired over archs) and the replicates with
replacement, and averages the statistic over the drawn replicates on the drawn archs. Two score sets made by the
same supernets (e.g. two BN policies of one replicate group) also share the replicate draw; sets of different
supernets draw their replicates independently. A difference's p-value is the two-sided bootstrap p:
2 x the smaller share of resampled differences on either side of 0 (at least 1/n_boot).
"""
from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from functools import partial
from typing import Any, Sequence

import numpy as np

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
    better); `members[r]` names replicate r (sets that share member names are the same supernets)."""

    label: str
    keys: tuple[str, ...]
    scores: np.ndarray
    members: tuple[str, ...]

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
        return ScoreSet(self.label, tuple(keys), self.scores[:, columns], self.members)


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


def _resampled(stat_fn: StatFn, scores: np.ndarray, truth: np.ndarray, idx: np.ndarray,
               draws: np.ndarray) -> np.ndarray:
    """Per resample b: the mean over replicates draws[b] of stat_fn on archs idx[b] (NaN where undefined)."""
    per_row = np.stack([resampled_stat(stat_fn, row, truth, idx) for row in scores])  # (R, n_boot)
    return per_row[draws, np.arange(idx.shape[0])[:, None]].mean(axis=1)


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
    """{"value" (mean over replicates), "sd" (over replicates, ddof 1; NaN for one), "ci_low", "ci_high"
    (two-level bootstrap), "per_replicate"}."""
    per = _point(stat_fn, scores, truth)
    low, high = _interval(_resampled(stat_fn, scores, truth, idx, draws))
    values = np.asarray(per, dtype=float)
    return {"value": float(np.nanmean(values)) if np.isfinite(values).any() else math.nan,
            "sd": float(np.std(values, ddof=1)) if values.size > 1 else math.nan,
            "ci_low": low, "ci_high": high, "per_replicate": per}


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
                             for name, fn in CORRELATION_STATS.items()}
    return out


def paired_difference(a: ScoreSet, b: ScoreSet, truth: np.ndarray, *, topk: Sequence[int | float], n_boot: int,
                      seed: int) -> dict[str, dict[str, Any]]:
    """a minus b for every statistic of `statistics()`, on the same archs (a.keys == b.keys, aligned with
    `truth`): {"a", "b", "difference", "ci_low", "ci_high", "p_value"} per statistic."""
    return paired_differences(a, [b], truth, topk=topk, n_boot=n_boot, seed=seed)[0]


def paired_differences(a: ScoreSet, others: Sequence[ScoreSet], truth: np.ndarray, *, topk: Sequence[int | float],
                       n_boot: int, seed: int) -> list[dict[str, dict[str, Any]]]:
    """paired_difference(a, b) for each b of `others`, a's side resampled once."""
    for b in others:
        if a.keys != b.keys:
            raise MetricInputError(f"score sets {a.label!r} and {b.label!r} are not on the same archs; align them "
                                   f"first")
    n = len(a.keys)
    idx = resample_indices(n, n_boot, seed)
    draws_a = _replicate_draws(a.replicates, n_boot, seed)
    out: list[dict[str, dict[str, Any]]] = [{} for _ in others]
    for name, fn in statistics(topk, n).items():
        value_a = float(np.nanmean(_point(fn, a.scores, truth)))
        resampled_a = _resampled(fn, a.scores, truth, idx, draws_a)
        for entry, b in zip(out, others):
            draws_b = draws_a if a.members == b.members else _replicate_draws(b.replicates, n_boot, seed + 1)
            value_b = float(np.nanmean(_point(fn, b.scores, truth)))
            diffs = resampled_a - _resampled(fn, b.scores, truth, idx, draws_b)
            low, high = _interval(diffs)
            entry[name] = {"a": value_a, "b": value_b, "difference": value_a - value_b, "ci_low": low,
                           "ci_high": high, "p_value": _two_sided_p(diffs)}
    return out


def _two_sided_p(diffs: np.ndarray) -> float:
    finite = diffs[np.isfinite(diffs)]
    if finite.size == 0:
        return math.nan
    side = min(np.mean(finite <= 0), np.mean(finite >= 0))
    return float(min(1.0, max(2 * side, 1 / finite.size)))


def verdict(entry: dict[str, Any], a: str, b: str, what: str = "Kendall tau") -> str:
    """'A beats B by +x [lo, hi] (p)' / 'A loses to B ...' / 'A and B are not distinguishable ...'."""
    d, low, high, p = entry["difference"], entry["ci_low"], entry["ci_high"], entry["p_value"]
    interval = f"{d:+.3f} [{low:+.3f}, {high:+.3f}], p={p:.3f}"
    if math.isnan(low):
        return f"{a} vs {b}: {what} difference undefined"
    if low > 0:
        return f"{a} beats {b} on {what} by {interval}"
    if high < 0:
        return f"{a} loses to {b} on {what} by {interval}"
    return f"{a} and {b} are not distinguishable on {what}: {interval} (the 95% CI covers 0)"
