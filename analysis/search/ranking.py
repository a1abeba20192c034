"""The method's own ranking of a search run against the ground truth (no torch).

The method's own ranking (RUN/method_scores.csv: log-probability under its arch distribution, ENAS's controller
log-likelihood, RSPS's one-batch accuracy) is compared with the ground truth over the archs `wsnas evaluate`
scored, beside the supernet's own ranking of the same archs (RUN/metrics.json): Kendall and Spearman with
bootstrap CIs and top-k figures, as analysis.compare gives them for the supernet.
"""
from __future__ import annotations

import json
import math
from typing import Any

import numpy as np

from wsnas.analysis.metrics import (MetricInputError, bootstrap_ci, correlation_summary, precision_at_bottom_k,
                                    resolve_k, topk_best_truth, topk_table, undefined_interval)
from wsnas.analysis.search.results import number, read_result
from wsnas.benchmarks.truth_lookup import TRUTH_PREFIX, TruthLookup
from wsnas.core.atomic import write_json
from wsnas.core.config import Config
from wsnas.core.errors import WsnasError
from wsnas.core.run_files import METHOD_SCORES, SEARCH_RESULT
from wsnas.core.runs import RunDir, read_table


def finite_scores(scores: np.ndarray) -> np.ndarray:
    """Scores with -inf (archs of probability zero, e.g. holding an excluded choice) tied just below the lowest
    finite score, so the ranking metrics can use them."""
    scores = np.asarray(scores, dtype=float)
    finite = np.isfinite(scores)
    if finite.all():
        return scores
    floor = scores[finite].min() - 1.0 if finite.any() else 0.0
    return np.where(finite, scores, floor)


def _correlations(score: np.ndarray, truth: np.ndarray, n_boot: int, seed: int) -> dict[str, Any]:
    try:
        return correlation_summary(score, truth, n_boot=n_boot, seed=seed)
    except MetricInputError as exc:  # e.g. a uniform distribution scores every arch the same
        return {"n": len(score), "kendall": undefined_interval(str(exc)), "spearman": undefined_interval(str(exc))}


def _topk_with_ci(score: np.ndarray, truth: np.ndarray, ks, n_boot: int, seed: int) -> list[dict[str, Any]]:
    """metrics.topk_table's rows, with bootstrap CIs (archs resampled) of the best truth among the top k and of
    precision at k (the fraction of the top k by score in the top k by truth)."""
    rows = topk_table(score, truth, ks)
    for row in rows:
        k = resolve_k(row["k"], len(score))[0]
        stats = {"supernet_best": lambda s, t: topk_best_truth(s, t, k),
                 "precision_at_k": lambda s, t: precision_at_bottom_k(-np.asarray(s), -np.asarray(t), k)}
        for name, fn in stats.items():
            try:
                row[f"{name}_ci"] = list(bootstrap_ci(fn, score, truth, n_boot=n_boot, seed=seed))
            except MetricInputError:
                row[f"{name}_ci"] = None
    return rows


def method_ranking(cfg: Config, run: RunDir, truth: TruthLookup) -> str:
    """Compare the method's own ranking with the truth over the evaluated archs (all of method_scores.csv when the
    run has no scores.csv), beside the supernet's; adds "method_ranking" to RUN/search.json; returns a text table."""
    a = cfg.analysis
    if truth.table is None:
        raise WsnasError(f"space {cfg.space!r} has no ground truth to rank against; give a table with "
                         f"--set analysis.truth_file=PATH")
    table = read_table(run.path / METHOD_SCORES)
    supernet: dict[str, Any] = {}
    if run.scores_path.is_file():
        scores = run.read_scores()
        last = scores[scores.epoch == scores.epoch.max()]
        table = table[table.key.isin(set(last.key))]
    if run.metrics_path.is_file():
        results = json.loads(run.metrics_path.read_text()).get("results", [])
        plain = [r for r in results if not r.get("finetune_batches")]
        if plain:
            best = max(plain, key=lambda r: r["epoch"])
            supernet = {name: best[name] for name in ("epoch", "bn_policy", "n_archs", "kendall", "spearman")}
    table = table[table.key.isin(truth.known)]
    score = finite_scores(table.method_score.to_numpy())
    true = truth.table.values(a.truth, table.key.tolist())
    keep = np.isfinite(true)
    score, true = score[keep], true[keep]
    ranking = {"metric": a.truth, "n_archs": int(len(score)), **_correlations(score, true, a.n_boot, a.seed)}
    ranking["topk"] = _topk_with_ci(score, true, a.topk, a.n_boot, a.seed) if len(score) >= 3 else []
    document = read_result(run.path)
    document["method_ranking"] = {"method": ranking, "supernet": supernet}
    write_json(run.path / SEARCH_RESULT, document)
    return format_ranking(document)


def _ci(entry: dict[str, Any] | None) -> str:
    if not entry or entry.get("value") is None or not math.isfinite(entry.get("value", math.nan)):
        return "undefined"
    low, high = entry.get("ci_low"), entry.get("ci_high")
    interval = f" [{low:+.3f}, {high:+.3f}]" if low is not None and high is not None else ""
    return f"{entry['value']:+.3f}{interval}"


def format_ranking(document: dict[str, Any]) -> str:
    r = document["method_ranking"]
    method, supernet = r["method"], r["supernet"]
    metric = document["truth_metric"]
    lines = [f"[search] {document['method']}: derived {document['derived']['key']}, "
             f"{metric} {number(document['derived']['truth'].get(TRUTH_PREFIX + metric))}",
             f"  ranking of {method['n_archs']} evaluated archs against {method['metric']}:",
             f"    method ({document['method_score']}): kendall {_ci(method.get('kendall'))}  "
             f"spearman {_ci(method.get('spearman'))}"]
    if supernet:
        lines.append(f"    supernet (epoch {supernet['epoch']}, BN {supernet['bn_policy']}): kendall "
                     f"{_ci(supernet.get('kendall'))}  spearman {_ci(supernet.get('spearman'))}")
    return "\n".join(lines)
