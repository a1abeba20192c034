"""Results of `wsnas search` runs (no torch): the method's own ranking against the ground truth, the summary over
search seeds, and SNAS's resource trade-off.

The method's own ranking (RUN/method_scores.csv: log-probability under its arch distribution, ENAS's controller
log-likelihood, RSPS's one-batch accuracy) is compared with the ground truth over the archs `wsnas evaluate`
scored, beside the supernet's own ranking of the same archs (RUN/metrics.json): Kendall and Spearman with
bootstrap CIs and top-k figures, as analysis.compare gives them for the supernet.
"""
from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from wsnas.analysis.metrics import (MetricInputError, bootstrap_ci, correlation_summary, precision_at_bottom_k,
                                    resolve_k, topk_best_truth, topk_table, undefined_interval)
from wsnas.core.atomic import write_json
from wsnas.benchmarks.groundtruth import load_ground_truth
from wsnas.benchmarks.registry import get_space
from wsnas.benchmarks.space import SpaceError
from wsnas.core.config import Config
from wsnas.core.errors import WsnasError
from wsnas.core.runs import RunDir, read_table

SEARCH_LOG = "search_log.csv"
SHARES = "search_shares.csv"
RESULT = "search.json"
METHOD_SCORES = "method_scores.csv"
SUMMARY = "search_summary.json"
TRADEOFF = "snas_tradeoff.json"
COMPARE_UNIFORM = "compare_uniform.json"
TRUTH_PREFIX = "truth:"


def truth_metric(cfg: Config) -> str:
    """The truth column a search reports first (analysis.truth)."""
    return cfg.analysis.truth or f"{cfg.data.dataset}/test"


class TruthLookup:
    """The ground truth of the archs a search derives: a table look-up that never feeds the search. Archs missing
    from the table (a partial table of your own, analysis.truth_file) and spaces without one read NaN."""

    def __init__(self, cfg: Config) -> None:
        try:
            self.table = load_ground_truth(cfg.space, cfg.data.mirror, cfg.analysis.truth_file)
        except SpaceError:
            self.table = None
        self.metric = truth_metric(cfg)
        self.metrics = self.table.metrics() if self.table is not None else [self.metric]
        self.source = self.table.source if self.table is not None else None
        self.known = set(self.table.frame["key"]) if self.table is not None else set()

    def values(self, key: str) -> dict[str, float]:
        """`truth:<metric>` -> the arch's value on every truth column (NaN where unknown)."""
        known = key in self.known
        return {f"{TRUTH_PREFIX}{m}": float(self.table.values(m, [key])[0]) if known else math.nan
                for m in self.metrics}

    def index(self, key: str) -> int | None:
        """The arch's benchmark index (None where unknown)."""
        return self.table.index_of(key) if key in self.known else None


def read_result(run_path: str | Path) -> dict[str, Any]:
    """RUN/search.json."""
    path = Path(run_path) / RESULT
    if not path.is_file():
        raise WsnasError(f"{run_path} has no {RESULT}; it is not a finished search run (rerun `wsnas search`)")
    return json.loads(path.read_text())


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


def method_ranking(cfg: Config, run: RunDir) -> str:
    """Compare the method's own ranking with the truth over the evaluated archs (all of method_scores.csv when the
    run has no scores.csv), beside the supernet's; adds "method_ranking" to RUN/search.json; returns a text table."""
    a = cfg.analysis
    truth = TruthLookup(cfg)
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
    write_json(run.path / RESULT, document)
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
    lines = [f"[search] {document['method']}: derived {document['derived']['key']}, "
             f"{document['truth_metric']} {_number(document['derived']['truth'].get(TRUTH_PREFIX + document['truth_metric']))}",
             f"  ranking of {method['n_archs']} evaluated archs against {method['metric']}:",
             f"    method ({document['method_score']}): kendall {_ci(method.get('kendall'))}  "
             f"spearman {_ci(method.get('spearman'))}"]
    if supernet:
        lines.append(f"    supernet (epoch {supernet['epoch']}, BN {supernet['bn_policy']}): kendall "
                     f"{_ci(supernet.get('kendall'))}  spearman {_ci(supernet.get('spearman'))}")
    return "\n".join(lines)


def _number(value: Any, fmt: str = ".2f") -> str:
    return "-" if value is None or not math.isfinite(value) else f"{value:{fmt}}"


def _runs(directory: Path) -> list[Path]:
    """The seed-<k> runs of a search directory that finished, by seed."""
    runs = [p for p in directory.glob("seed-*") if (p / RESULT).is_file()]
    return sorted(runs, key=lambda p: int(p.name.split("-", 1)[1]))


def seed_rows(directory: Path) -> list[dict[str, Any]]:
    """One row per finished seed run of `directory`: the derived arch, its truth, the rankings' Kendall."""
    rows = []
    for path in _runs(directory):
        doc = read_result(path)
        metric = doc["truth_metric"]
        ranking = doc.get("method_ranking", {})
        rows.append({"seed": doc["seed"], "derived": doc["derived"]["key"],
                     "truth": doc["derived"]["truth"].get(TRUTH_PREFIX + metric),
                     "method_kendall": ranking.get("method", {}).get("kendall", {}).get("value"),
                     "supernet_kendall": ranking.get("supernet", {}).get("kendall", {}).get("value"),
                     "search_seconds": doc["seconds"]["search"],
                     "search_cpu_seconds": doc["seconds"].get("search_cpu"),
                     "minus_uniform_kendall": _minus_uniform(path), "run": str(path)})
    return rows


def _minus_uniform(run: Path) -> float | None:
    """The method's supernet's Kendall minus the uniform supernet's of the same budget, paired on the same archs
    (RUN/compare_uniform.json of `wsnas search --baseline`), or None."""
    path = run / COMPARE_UNIFORM
    if not path.is_file():
        return None
    return json.loads(path.read_text())["differences"]["kendall"]["difference"]


def _mean_sd(values: list[Any]) -> dict[str, float | None]:
    v = np.array([x for x in values if x is not None and math.isfinite(x)], dtype=float)
    if v.size == 0:
        return {"mean": None, "sd": None, "n": 0}
    return {"mean": float(v.mean()), "sd": float(v.std(ddof=1)) if v.size > 1 else None, "n": int(v.size)}


def summarise_search(root: str | Path) -> str:
    """Write ROOT/search_summary.json (the method's seeds and, if present, the uniform baseline's) and return a
    text table: derived arch and truth per seed, mean and sd over seeds."""
    root = Path(root)
    parts = {"method": seed_rows(root)}
    if (root / "uniform").is_dir():
        parts["uniform"] = seed_rows(root / "uniform")
    if not parts["method"]:
        raise WsnasError(f"{root} holds no finished search run (seed-<k>/{RESULT}); run `wsnas search` first")
    first = read_result(Path(parts["method"][0]["run"]))
    summary = {"method": first["method"], "space": first["space"], "truth_metric": first["truth_metric"],
               "parts": {name: {"seeds": rows, **{column: _mean_sd([r[column] for r in rows]) for column in
                                                   ("truth", "method_kendall", "supernet_kendall", "minus_uniform_kendall",
                                                    "search_seconds", "search_cpu_seconds")}}
                         for name, rows in parts.items()}}
    write_json(root / SUMMARY, summary)
    lines = [f"[search] {summary['method']} on {summary['space']}: {summary['truth_metric']} of the derived arch"]
    for name, part in summary["parts"].items():
        for r in part["seeds"]:
            versus = r.get("minus_uniform_kendall")
            lines.append(f"  {name:<8} seed {r['seed']:<3} {r['derived']:<60} {_number(r['truth']):>6}  kendall "
                         f"method {_number(r['method_kendall'], '+.3f')} supernet {_number(r['supernet_kendall'], '+.3f')}"
                         + ("" if versus is None else f", supernet - uniform's {_number(versus, '+.3f')}")
                         + f"  {r['search_seconds']:.0f}s ({_number(r['search_cpu_seconds'], '.0f')} CPU-s)")
        t = part["truth"]
        lines.append(f"  {name:<8} mean {_number(t['mean'])} sd {_number(t['sd'])} over {t['n']} seeds")
    lines.append(f"[search] {root / SUMMARY}")
    return "\n".join(lines)


def tradeoff_summary(root: str | Path) -> str:
    """SNAS's resource trade-off: for each lambda-<l>/seed-<k> run of ROOT, the derived arch's truth and cost
    (params_M, flops_M on the benchmark skeleton); writes ROOT/snas_tradeoff.json, returns a text table."""
    root = Path(root)
    rows = []
    for directory in sorted(root.glob("lambda-*"), key=lambda p: float(p.name.split("-", 1)[1])):
        for path in _runs(directory):
            doc = read_result(path)
            space = get_space(doc["space"])
            features = space.features(space.parse(doc["derived"]["key"]))
            rows.append({"lambda": float(directory.name.split("-", 1)[1]), "seed": doc["seed"],
                         "derived": doc["derived"]["key"],
                         "truth": doc["derived"]["truth"].get(TRUTH_PREFIX + doc["truth_metric"]),
                         "params_M": features.get("params_M"), "flops_M": features.get("flops_M"),
                         "space": doc["space"], "truth_metric": doc["truth_metric"], "run": str(path)})
    if not rows:
        raise WsnasError(f"{root} holds no finished SNAS sweep run (lambda-<l>/seed-<k>/{RESULT})")
    write_json(root / TRADEOFF, {"rows": rows})
    lines = [f"[search] SNAS resource trade-off ({rows[0]['space']}, {rows[0]['truth_metric']})"]
    lines += [f"  lambda {r['lambda']:<8g} seed {r['seed']:<3} {r['derived']:<60} {_number(r['truth']):>6}  "
              f"params {_number(r['params_M'], '.3f')}M  flops {_number(r['flops_M'], '.1f')}M" for r in rows]
    lines.append(f"[search] {root / TRADEOFF}")
    return "\n".join(lines)


def pareto_front(cost: np.ndarray, accuracy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The archs no other arch beats on both (lower or equal cost and higher accuracy): (cost, accuracy) of the
    front, by increasing cost."""
    order = np.lexsort((-accuracy, cost))
    front_cost, front_acc, best = [], [], -math.inf
    for i in order:
        if accuracy[i] > best:
            best = accuracy[i]
            front_cost.append(cost[i])
            front_acc.append(accuracy[i])
    return np.array(front_cost), np.array(front_acc)


def space_table(space_name: str, metric: str, mirror: str | None = None) -> pd.DataFrame:
    """Every arch of the space with its truth (`metric`) and cost features (params_M, flops_M)."""
    space = get_space(space_name)
    truth = load_ground_truth(space_name, mirror)
    archs = list(space.enumerate())
    keys = [space.format(a) for a in archs]
    features = [space.features(a) for a in archs]
    return pd.DataFrame({"key": keys, "truth": truth.values(metric, keys),
                         "params_M": [f.get("params_M", math.nan) for f in features],
                         "flops_M": [f.get("flops_M", math.nan) for f in features]})
