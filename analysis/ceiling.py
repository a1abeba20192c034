"""The seed-noise ceiling: how well one training run of the benchmark ranks another (no torch).

A supernet is compared with the benchmark's accuracies, but those are themselves single training runs (or
means of a few). If retraining an architecture with another seed already reorders the archs, no supernet
can be expected to do better than that. For the archs a run evaluated, this module ranks them by one
per-seed column of the ground truth and compares with another, with the same statistics as the supernet
(metrics.CORRELATIONS, regret and top-k figures):

- seed vs seed: seed i against seed j for every pair, over the archs that have both;
- seed vs rest: seed i against the mean of the other seeds of each arch (archs with seed i and at least
  one other), which is closer to what the supernet faces: a ground truth averaged over runs.

Each is reported per comparison and as mean, min and max over comparisons, with the number of archs used.
It is a reference point, not a strict upper bound: a supernet could, by chance, agree with the truth better.

Which runs: the ceiling uses the per-seed columns of the chosen metric itself (GroundTruth.seed_columns,
`<metric>#seed<k>`) and nothing else; a metric without them (every NB201 column but `cifar10/test`) has no
ceiling. For NB201 `cifar10/test` those columns are the NB201-v1_1 runs (200 epochs, CIFAR-10 train+valid,
test accuracy; 1 to 3 per arch, so pairs involving seed 2 cover only the archs with three runs), while
`cifar10/test` itself is NATS-tss-v1_0's mean over its runs, which has more runs for some archs. Column k is
the k-th run the source lists for an arch; the source does not record the training seed (777/888/999),
so "seed k" need not be the same seed for every arch. `seed_mean_vs_metric` (Kendall tau of the per-arch
mean of the seed columns against the metric) says how closely the seed runs match the metric's values.
"""
from __future__ import annotations

import itertools
from functools import partial
from typing import Any, Callable, Sequence

import numpy as np

from wsnas.analysis.metrics import (CORRELATIONS, MIN_ARCHS, SPARSE_TOL, kendall_tau, regret, sparse_kendall,
                                    stat_or_nan, topk_table)
from wsnas.benchmarks.groundtruth import GroundTruth


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
    return {
        "metric": metric,
        "seed_columns": columns,
        "n_keys": len(keys),
        "seed_mean_vs_metric": {"n": int(known.sum()), "kendall": stat_or_nan(kendall_tau, seed_mean[known],
                                                                             values[known])},
        "seed_vs_seed": _aggregate(pairs),
        "seed_vs_rest": _aggregate(rest),
    }
