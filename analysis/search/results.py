"""The results of `wsnas search` directories (no torch): their seed runs, the summary over search seeds, and SNAS's
resource trade-off against the ground truth's Pareto front.
"""
from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from wsnas.benchmarks.groundtruth import load_ground_truth
from wsnas.benchmarks.registry import get_space
from wsnas.benchmarks.truth_lookup import TRUTH_PREFIX
from wsnas.core.atomic import write_json
from wsnas.core.errors import WsnasError
from wsnas.core.run_files import COMPARE_UNIFORM, SEARCH_RESULT, SEARCH_SUMMARY, SNAS_TRADEOFF


def read_result(run_path: str | Path) -> dict[str, Any]:
    """RUN/search.json."""
    path = Path(run_path) / SEARCH_RESULT
    if not path.is_file():
        raise WsnasError(f"{run_path} has no {SEARCH_RESULT}; it is not a finished search run "
                         f"(rerun `wsnas search`)")
    return json.loads(path.read_text())


def number(value: Any, fmt: str = ".2f") -> str:
    """A figure of a text table: `fmt`, or "-" where missing or not finite."""
    return "-" if value is None or not math.isfinite(value) else f"{value:{fmt}}"


def seed_runs(directory: Path) -> list[Path]:
    """The seed-<k> runs of a search directory that finished, by seed."""
    runs = [p for p in directory.glob("seed-*") if (p / SEARCH_RESULT).is_file()]
    return sorted(runs, key=lambda p: int(p.name.split("-", 1)[1]))


def seed_rows(directory: Path) -> list[dict[str, Any]]:
    """One row per finished seed run of `directory`: the derived arch, its truth, the rankings' Kendall."""
    rows = []
    for path in seed_runs(directory):
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
        raise WsnasError(f"{root} holds no finished search run (seed-<k>/{SEARCH_RESULT}); run `wsnas search` "
                         f"first")
    first = read_result(Path(parts["method"][0]["run"]))
    columns = ("truth", "method_kendall", "supernet_kendall", "minus_uniform_kendall", "search_seconds",
               "search_cpu_seconds")
    summary = {"method": first["method"], "space": first["space"], "truth_metric": first["truth_metric"],
               "parts": {name: {"seeds": rows, **{column: _mean_sd([r[column] for r in rows]) for column in columns}}
                         for name, rows in parts.items()}}
    write_json(root / SEARCH_SUMMARY, summary)
    lines = [f"[search] {summary['method']} on {summary['space']}: {summary['truth_metric']} of the derived arch"]
    for name, part in summary["parts"].items():
        for r in part["seeds"]:
            versus = r.get("minus_uniform_kendall")
            lines.append(f"  {name:<8} seed {r['seed']:<3} {r['derived']:<60} {number(r['truth']):>6}  kendall "
                         f"method {number(r['method_kendall'], '+.3f')} "
                         f"supernet {number(r['supernet_kendall'], '+.3f')}"
                         + ("" if versus is None else f", supernet - uniform's {number(versus, '+.3f')}")
                         + f"  {r['search_seconds']:.0f}s ({number(r['search_cpu_seconds'], '.0f')} CPU-s)")
        t = part["truth"]
        lines.append(f"  {name:<8} mean {number(t['mean'])} sd {number(t['sd'])} over {t['n']} seeds")
    lines.append(f"[search] {root / SEARCH_SUMMARY}")
    return "\n".join(lines)


def tradeoff_summary(root: str | Path) -> str:
    """SNAS's resource trade-off: for each lambda-<l>/seed-<k> run of ROOT, the derived arch's truth and cost
    (params_M, flops_M on the benchmark skeleton); writes ROOT/snas_tradeoff.json, returns a text table."""
    root = Path(root)
    rows = []
    for directory in sorted(root.glob("lambda-*"), key=lambda p: float(p.name.split("-", 1)[1])):
        for path in seed_runs(directory):
            doc = read_result(path)
            space = get_space(doc["space"])
            features = space.features(space.parse(doc["derived"]["key"]))
            rows.append({"lambda": float(directory.name.split("-", 1)[1]), "seed": doc["seed"],
                         "derived": doc["derived"]["key"],
                         "truth": doc["derived"]["truth"].get(TRUTH_PREFIX + doc["truth_metric"]),
                         "params_M": features.get("params_M"), "flops_M": features.get("flops_M"),
                         "space": doc["space"], "truth_metric": doc["truth_metric"], "run": str(path)})
    if not rows:
        raise WsnasError(f"{root} holds no finished SNAS sweep run (lambda-<l>/seed-<k>/{SEARCH_RESULT})")
    write_json(root / SNAS_TRADEOFF, {"rows": rows})
    lines = [f"[search] SNAS resource trade-off ({rows[0]['space']}, {rows[0]['truth_metric']})"]
    lines += [f"  lambda {r['lambda']:<8g} seed {r['seed']:<3} {r['derived']:<60} {number(r['truth']):>6}  "
              f"params {number(r['params_M'], '.3f')}M  flops {number(r['flops_M'], '.1f')}M" for r in rows]
    lines.append(f"[search] {root / SNAS_TRADEOFF}")
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
