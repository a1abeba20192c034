"""Ceilings of a ranking against benchmark ground truth that is itself noisy (no torch).

A supernet is compared with the benchmark's accuracies, but those are themselves training runs (or means of a
few): retraining an arch with another seed moves its accuracy, so no predictor can rank the archs perfectly
against the column. For the archs a run evaluated, this module gives three reference points, each with the
same statistics as the supernet (metrics.CORRELATIONS, regret and top-k figures where they apply):

- seed vs seed ("run vs run"): one per-seed column ranks another, over the archs that have both. It says how
  far single benchmark runs agree; it bounds nothing the supernet faces: the truth column is a mean of runs,
  which a predictor free of seed noise can match better (on Channel-Bench-Macro ResNet, FLOPs alone reaches
  Kendall 0.673 against the 3-run mean, above run vs run's 0.56);
- seed vs rest: seed i against the mean of the other seeds of each arch (archs with seed i and at least one
  other), closer to the supernet's target, still a single run on one side;
- reliability bound ("bound for any predictor"): the Kendall, Spearman and precision at k that the best
  possible predictor reaches against the truth column actually used, where the best possible predictor is
  each arch's expected accuracy (what infinitely many benchmark runs would average), and any predictor that
  does not see the benchmark's own training noise (a supernet, FLOPs, a zero-cost proxy) can only do worse.
  Model: in a Gaussian latent scale, each run = the arch's expected accuracy + independent seed noise. The
  single-run reliability r1 = sin(pi/2 tau1), tau1 the mean Kendall of run vs run; the column averages m runs
  per arch (m_eff = 1 / mean(1/m) over the archs), so its reliability by Spearman-Brown is
  r_m = m_eff r1 / (1 + (m_eff - 1) r1), and the expected accuracy correlates with it at c = sqrt(r_m).
  The bound's Kendall, Spearman and precision at k are those of simulated predictors at latent correlation c
  with the column (a standard normal sample put in the column's order), scored against the column's own
  values (ties included), on the same archs and the same k as the supernet's; an
  interval comes from resampling archs for tau1. A model check compares the predicted and observed Kendall
  of seed vs rest. Above the bound, a predictor fits the benchmark's own seed noise (or the model is off).

Which runs: the per-seed columns of the chosen metric itself (GroundTruth.seed_columns, `<metric>#seed<k>`)
and nothing else; a metric without them (every NB201 column but `cifar10/test`) has no ceiling. For NB201
`cifar10/test` those columns are the NB201-v1_1 runs (200 epochs, CIFAR-10 train+valid, test accuracy; 1 to 3
per arch, so pairs involving seed 2 cover only the archs with three runs), while `cifar10/test` itself is
NATS-tss-v1_0's mean over its runs, which has more runs for some archs (then its true reliability, and the
true bound, are a little higher than computed here). Column k is the k-th run the source lists for an arch;
the source does not record the training seed (777/888/999), so "seed k" need not be the same seed for every
arch. `seed_mean_vs_metric` (Kendall tau of the per-arch mean of the seed columns against the metric) says how
closely the seed runs match the metric's values.
"""
from __future__ import annotations

import itertools
from functools import partial
from typing import Any, Callable, Sequence

import numpy as np

from wsnas.analysis.metrics import (CORRELATIONS, MIN_ARCHS, SPARSE_TOL, bootstrap_values, inclusion_probability,
                                    kendall_tau, regret, resolve_k, sparse_kendall, stat_or_nan, topk_table)
from wsnas.analysis.null import kendall_rows, pearson_rows, rank_rows
from wsnas.benchmarks.groundtruth import GroundTruth

BOUND_SIMS = 200  # simulated best-possible predictors behind the reliability bound's figures
BOUND_BOOT = 200  # resamples of archs for the bound's interval
BOUND_BOOT_MAX_ARCHS = 2000  # above this many archs the bound gets no interval (the Kendall bootstrap is O(n^2))


def no_ceiling_reason(truth: GroundTruth, metric: str) -> str | None:
    """Why `metric` has no seed-noise ceiling (fewer than two per-seed columns), or None when it has one."""
    columns = truth.seed_columns(metric)
    if len(columns) >= 2:
        return None
    return (f"{metric} has {len(columns)} per-seed column(s) in the {truth.space} ground truth, and a seed-noise "
            f"ceiling needs two; per-seed columns exist for "
            f"{', '.join(m for m in truth.metrics() if len(truth.seed_columns(m)) >= 2) or 'no metric'}")


def _statistics(tol: float | None) -> dict[str, Callable | None]:
    """metrics.CORRELATIONS with sparse Kendall at `tol` (None where no tolerance is known: left undefined)."""
    return {**CORRELATIONS, "sparse_kendall": None if tol is None else partial(sparse_kendall, tol=tol)}


def _compare(ranker: np.ndarray, target: np.ndarray, topk: Sequence[int | float],
             tol: float | None = SPARSE_TOL) -> dict[str, Any]:
    """Statistics of ranking `target` by `ranker` over the archs where both are known (NaN where undefined)."""
    known = ~np.isnan(ranker) & ~np.isnan(target)
    x, y = ranker[known], target[known]
    out: dict[str, Any] = {"n": int(known.sum())}
    if out["n"] < MIN_ARCHS:
        return {**out, **{name: np.nan for name in CORRELATIONS}, "regret": np.nan, "topk": []}
    out.update({name: np.nan if fn is None else stat_or_nan(fn, x, y) for name, fn in _statistics(tol).items()})
    out["regret"] = regret(x, y)
    fits = [spec for spec in topk if isinstance(spec, (float, np.floating)) or spec <= out["n"]]
    out["topk"] = [{"label": r["label"], "k": r["k"], "best_gap": r["oracle_best"] - r["supernet_best"],
                    "precision_at_k": r["precision_at_k"]} for r in topk_table(x, y, fits)]
    return out


def _row_mean(values: np.ndarray) -> np.ndarray:
    """Mean of each row over its known (non-NaN) entries; NaN where a row has none."""
    known = ~np.isnan(values)
    with np.errstate(invalid="ignore"):
        return np.where(known, values, 0).sum(axis=1) / known.sum(axis=1)


def _spread(values: Sequence[float]) -> dict[str, float]:
    """Mean, min and max over the comparisons where the value is defined (all NaN if none is)."""
    v = np.asarray(values, dtype=float)
    v = v[~np.isnan(v)]
    if v.size == 0:
        return {"mean": np.nan, "min": np.nan, "max": np.nan}
    return {"mean": float(v.mean()), "min": float(v.min()), "max": float(v.max())}


def _aggregate(comparisons: list[dict[str, Any]]) -> dict[str, Any]:
    """The comparisons, and each statistic's spread over them (top-k figures per label)."""
    sizes = [c["n"] for c in comparisons]
    summary: dict[str, Any] = {"comparisons": comparisons, "n": {"min": min(sizes), "max": max(sizes)}}
    for name in (*CORRELATIONS, "regret"):
        summary[name] = _spread([c[name] for c in comparisons])
    labels = list(dict.fromkeys(t["label"] for c in comparisons for t in c["topk"]))
    summary["topk"] = [
        {"label": label, **{field: _spread([t[field] for c in comparisons for t in c["topk"] if t["label"] == label])
                            for field in ("best_gap", "precision_at_k")}}
        for label in labels
    ]
    return summary


def seed_ceiling(truth: GroundTruth, metric: str, keys: Sequence[str],
                 topk: Sequence[int | float] = (1, 10), tol: float | None = SPARSE_TOL) -> dict[str, Any] | None:
    """The seed-noise ceiling of `metric` over the archs `keys` (see the module docstring).

    None when `metric` has fewer than two per-seed columns (no_ceiling_reason says why). Otherwise
    {"metric", "seed_columns", "n_keys", "seed_mean_vs_metric": {"n", "kendall"}, "seed_vs_seed",
    "seed_vs_rest"}; the last two hold "comparisons" (each with "seeds" ([i, j], or [i] for seed i against
    the mean of the rest), "n" archs used, every metrics.CORRELATIONS statistic, "regret" and "topk" rows
    with best_gap (oracle minus best of the ranker's top k, in points of the target) and precision_at_k),
    and for each statistic its {"mean", "min", "max"} over comparisons, "n": {"min", "max"} and "topk" rows.
    topk takes topk_table's specs, resolved per comparison (a fraction of its archs); an int k larger than
    the archs of a comparison is left out of it. `tol` is sparse Kendall's tolerance in the metric's units
    (None: sparse Kendall is left undefined).
    """
    if no_ceiling_reason(truth, metric) is not None:
        return None
    columns = truth.seed_columns(metric)
    keys = list(keys)
    seeds = np.column_stack([truth.values(c, keys) for c in columns])
    pairs = []
    for i, j in itertools.combinations(range(len(columns)), 2):
        pairs.append({"seeds": [i, j], **_compare(seeds[:, i], seeds[:, j], topk, tol)})
    rest = [{"seeds": [i], **_compare(seeds[:, i], _row_mean(np.delete(seeds, i, axis=1)), topk, tol)}
            for i in range(len(columns))]
    seed_mean, values = _row_mean(seeds), truth.values(metric, keys)
    known = ~np.isnan(seed_mean) & ~np.isnan(values)
    seed_vs_rest = _aggregate(rest)
    return {
        "metric": metric,
        "seed_columns": columns,
        "n_keys": len(keys),
        "seed_mean_vs_metric": {"n": int(known.sum()), "kendall": stat_or_nan(kendall_tau, seed_mean[known],
                                                                             values[known])},
        "seed_vs_seed": _aggregate(pairs),
        "seed_vs_rest": seed_vs_rest,
        "reliability": reliability_bound(seeds, values, topk, seed_vs_rest["kendall"]["mean"]),
    }


def _latent(tau: np.ndarray | float) -> np.ndarray | float:
    """Latent (Gaussian) correlation of a Kendall tau: sin(pi/2 tau) (Greiner's relation)."""
    return np.sin(np.pi / 2 * np.asarray(tau))


def _spearman_brown(r1: np.ndarray | float, m: float) -> np.ndarray | float:
    """Reliability of the mean of m runs from the single-run reliability r1."""
    return m * r1 / (1 + (m - 1) * r1)


def reliability_bound(seeds: np.ndarray, values: np.ndarray, topk: Sequence[int | float] = (),
                      observed_seed_vs_rest: float = np.nan, seed: int = 0) -> dict[str, Any]:
    """The reliability bound of the column `values` (n,) from its per-seed runs `seeds` (n, K; NaN = no run).

    Returns {"single_run_kendall", "single_run_reliability", "runs_per_arch" (m_eff), "reliability" (r_m),
    "index" (c = sqrt(r_m)), "n", "kendall", "spearman" (the best predictor's expected values, with
    "kendall_ci_low"/"kendall_ci_high" from resampling archs when n <= BOUND_BOOT_MAX_ARCHS),
    "topk": [{"label", "k", "precision_at_k"}] on all n archs, "check": {"seed_vs_rest_predicted",
    "seed_vs_rest_observed"}}, or {"undefined_because"} (see the module docstring).
    """
    pairs = [(i, j) for i in range(seeds.shape[1]) for j in range(i + 1, seeds.shape[1])]
    shared = [~np.isnan(seeds[:, i]) & ~np.isnan(seeds[:, j]) for i, j in pairs]
    taus = [stat_or_nan(kendall_tau, seeds[k, i], seeds[k, j]) for (i, j), k in zip(pairs, shared)]
    runs = (~np.isnan(seeds)).sum(axis=1)
    known = ~np.isnan(values) & (runs > 0)
    if np.all(np.isnan(taus)) or known.sum() < MIN_ARCHS or np.ptp(values[known]) == 0:
        return {"undefined_because": "fewer than 3 archs with two runs, or a constant column"}
    tau1, m_eff = float(np.nanmean(taus)), float(1 / np.mean(1 / runs[known]))
    r1 = float(_latent(tau1))
    r_m = float(_spearman_brown(r1, m_eff))
    if r_m <= 0:
        return {"undefined_because": f"single runs do not agree (Kendall {tau1:+.3f}): no reliability to bound"}
    index = float(np.sqrt(r_m))
    y = values[known]
    rng = np.random.default_rng(seed)
    latent = np.empty((BOUND_SIMS, y.size))  # a standard normal sample in the column's order, fresh per draw
    latent[:, np.argsort(y, kind="stable")] = np.sort(rng.standard_normal(latent.shape), axis=1)
    best = index * latent + np.sqrt(1 - r_m) * rng.standard_normal(latent.shape)
    out: dict[str, Any] = {
        "single_run_kendall": tau1, "single_run_reliability": r1, "runs_per_arch": m_eff, "reliability": r_m,
        "index": index, "n": int(y.size), "kendall_analytic": float(2 / np.pi * np.arcsin(index)),
        "kendall": float(kendall_rows(best, y).mean()),
        "spearman": float(pearson_rows(rank_rows(best), rank_rows(y)).mean()),
        "kendall_ci_low": np.nan, "kendall_ci_high": np.nan,
    }
    boots = ([bootstrap_values(kendall_tau, seeds[k, i], seeds[k, j], n_boot=BOUND_BOOT, seed=seed)
              for (i, j), k in zip(pairs, shared) if k.sum() >= MIN_ARCHS] if y.size <= BOUND_BOOT_MAX_ARCHS else [])
    if boots:
        stacked = np.vstack(boots)
        finite = np.isfinite(stacked)
        with np.errstate(divide="ignore", invalid="ignore"):
            boot = np.where(finite, stacked, 0).sum(axis=0) / finite.sum(axis=0)  # mean over pairs, per resample
            bound = 2 / np.pi * np.arcsin(np.sqrt(np.clip(_spearman_brown(_latent(boot), m_eff), 0, 1)))
        bound = bound[np.isfinite(bound)]
        if bound.size:
            shift = out["kendall"] - out["kendall_analytic"]  # the column's ties, which the analytic value ignores
            low, high = np.clip(np.quantile(bound, [0.025, 0.975]) + shift, -1, 1)
            out["kendall_ci_low"], out["kendall_ci_high"] = float(low), float(high)
    top_rows = []
    for spec in topk:
        if not isinstance(spec, (float, np.floating)) and spec > y.size:
            continue
        k, label = resolve_k(spec, y.size)
        chosen = np.argsort(-best, axis=1)[:, :k]
        top_rows.append({"label": label, "k": k,
                         "precision_at_k": float(inclusion_probability(y, k)[chosen].sum(axis=1).mean() / k)})
    out["topk"] = top_rows
    # check: a run against the mean of the o other runs of its arch: latent r1 / sqrt(r1 + (1 - r1) mean(1/o))
    others = runs[known & (runs > 1)] - 1
    predicted = r1 / np.sqrt(r1 + (1 - r1) * np.mean(1 / others)) if others.size else np.nan
    out["check"] = {"seed_vs_rest_predicted": float(2 / np.pi * np.arcsin(min(1.0, predicted))),
                    "seed_vs_rest_observed": float(observed_seed_vs_rest)}
    return out
