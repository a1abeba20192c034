"""Join a run's supernet scores with the benchmark's ground truth and summarise the ranking (no torch).

The ground truth is joined by canonical arch key only after scoring; it never feeds a supernet score.
"""
from __future__ import annotations

from typing import Any, Sequence

import pandas as pd

from wsnas.analysis.metrics import MetricInputError, correlation_summary, topk_table
from wsnas.benchmarks.groundtruth import GroundTruth
from wsnas.errors import WsnasError


def join_truth(scores: pd.DataFrame, truth: GroundTruth, metric: str) -> pd.DataFrame:
    """`scores` with the ground-truth column `truth` (and the benchmark `index`) added by arch key."""
    for column in ("key", "supernet_acc"):
        if column not in scores.columns:
            raise WsnasError(f"scores table lacks column {column!r}; it does not look like wsnas scores")
    joined = scores.copy()
    joined["truth"] = truth.values(metric, joined["key"].tolist())
    joined["index"] = [truth.index_of(k) for k in joined["key"]]
    return joined


def summarise(joined: pd.DataFrame, *, topk: Sequence[int | float], n_boot: int, seed: int) -> list[dict[str, Any]]:
    """Correlations with bootstrap intervals and top-k figures, one entry per (epoch, BN policy)."""
    results = []
    for (epoch, policy), group in joined.groupby(["epoch", "bn_policy"], sort=True):
        score, truth = group["supernet_acc"].to_numpy(), group["truth"].to_numpy()
        results.append({
            "epoch": int(epoch),
            "bn_policy": policy,
            "n_archs": int(len(group)),
            "mean_supernet_acc": float(score.mean()),
            "mean_truth": float(truth.mean()),
            **_correlations(score, truth, n_boot, seed),
            "topk": topk_table(score, truth, topk),
        })
    return results


def _correlations(score, truth, n_boot: int, seed: int) -> dict[str, Any]:
    """Correlations with intervals; NaN with the reason when undefined (e.g. every subnet scored the same)."""
    try:
        return correlation_summary(score, truth, n_boot=n_boot, seed=seed)
    except MetricInputError as exc:
        nan = {"value": float("nan"), "ci_low": float("nan"), "ci_high": float("nan")}
        return {"n": len(score), "kendall": nan, "spearman": nan, "pearson": nan, "undefined_because": str(exc)}


def format_summary(results: list[dict[str, Any]], metric: str) -> str:
    """A plain-text table of the summary for the terminal."""
    lines = []
    for r in results:
        lines.append(f"epoch {r['epoch']}  bn_policy={r['bn_policy']}  n={r['n_archs']} archs  "
                     f"truth={metric}  mean supernet acc {r['mean_supernet_acc']:.2f}%")
        for name in ("kendall", "spearman", "pearson"):
            c = r[name]
            lines.append(f"  {name:<9} {c['value']:+.3f}   95% CI [{c['ci_low']:+.3f}, {c['ci_high']:+.3f}]")
        lines.append(f"  {'top-k':<6} {'k':>4} {'supernet best':>14} {'random (exp.)':>14} {'oracle':>8} "
                     f"{'true rank':>10} {'prec@k':>7}")
        for t in r["topk"]:
            lines.append(f"  {t['label']:<6} {t['k']:>4} {t['supernet_best']:>14.2f} {t['random_expected_best']:>14.2f} "
                         f"{t['oracle_best']:>8.2f} {t['supernet_best_true_rank']:>10.1f} {t['precision_at_k']:>7.2f}")
    return "\n".join(lines)
