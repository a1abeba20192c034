"""Rank-disorder studies of one run's scores joined with the ground truth (no torch).

Each study writes RUN/studies/<name>.json = {"study", "truth", "space", "run_dir", "config", "rows",
"findings", "available", ...}; `wsnas report` renders them. The ground truth is joined after scoring
(wsnas.analysis.compare.join_truth) and never feeds a supernet score.

    epochs     per scored checkpoint: mean supernet accuracy, Kendall/Spearman with bootstrap CIs, and Kendall
               between the supernet rankings of successive checkpoints (archs scored at every epoch only)
    topk       repeated seeded draws of n archs: best true accuracy of the supernet's top-k against a random
               pick of the same size and the oracle, and how often the top-10 holds a true top-10%/1% arch
    bias       Kendall triangle between parameter count (also FLOPs), ground truth and supernet score
    operators  per op: supernet minus true rank percentile against the op's count in the cell; per edge:
               op frequencies in the supernet's top-10% against the ground truth's top-10%

topk, bias and operators use the newest scored epoch; every study uses one BN policy (the run's
eval.bn_policy when it was scored, else the first scored one) and one fine-tuning budget (the run's
eval.finetune_batches when it was scored, else the smallest scored one): fine-tuned and plain scores never mix.

    wsnas studies RUN [--only epochs,topk,bias,operators]
"""
from __future__ import annotations

import argparse
import json
import math
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
import pandas as pd
from scipy import stats
from tqdm.auto import tqdm

from wsnas.analysis.compare import FINETUNE, check_scores_meta, join_truth, summarise
from wsnas.analysis.features import EDGE, FLOPS, OP_COUNT, PARAMS, columns_with, feature_table
from wsnas.analysis.metrics import (MetricInputError, inclusion_probability, resolve_k, bootstrap_ci,
                                    kendall_tau, random_expected_best, spearman_rho, topk_best_truth)
from wsnas.atomic import write_json
from wsnas.benchmarks.groundtruth import GroundTruth, load_ground_truth
from wsnas.config import Config
from wsnas.errors import WsnasError
from wsnas.runs import RunDir

STUDIES = ("epochs", "topk", "bias", "operators")
HEADLINE_K: tuple[int | float, ...] = (1, 10, 0.01, 0.1)  # top-1, top-10, top-1% and top-10% of a draw
TOP_FRACTION = 0.1  # the "top-10%" of the operator study and of the bias study's size comparison
OPERATOR_RULE = (
    "Each arch gets a rank percentile by supernet score and by ground truth (average ranks for ties, "
    "0 = worst, 100 = best, over the archs evaluated at the newest epoch); delta = supernet percentile - "
    "true percentile, so delta > 0 means the supernet ranks the arch higher than the ground truth does. "
    "For each op, archs are grouped by how many of the cell's edges carry it (dead edges included) and "
    "the mean delta of each group is reported; the slope is the least-squares change of delta per extra "
    "edge with that op. Per edge, the frequency of each op among the supernet's top-10% and among the "
    "ground truth's top-10% (ceil(10% of the archs), ties at the boundary shared uniformly) is compared "
    "with its frequency among all evaluated archs."
)


class StudyError(WsnasError):
    """A study that cannot run on the given run or options."""


# ------------------------------------------------------------------------------------------------ inputs

@dataclass
class StudyInput:
    """A run's scores joined with one ground-truth column, and the BN policy and fine-tuning the studies use."""

    run: RunDir
    cfg: Config
    truth: GroundTruth
    metric: str
    joined: pd.DataFrame  # every score of the run, with a `truth` column
    policy: str
    finetune_batches: int

    @cached_property
    def scores(self) -> pd.DataFrame:
        """Every epoch's scores under `policy` and `finetune_batches`."""
        chosen = (self.joined["bn_policy"] == self.policy) & (self.joined[FINETUNE] == self.finetune_batches)
        return self.joined[chosen].reset_index(drop=True)

    @property
    def final_epoch(self) -> int:
        return int(self.scores["epoch"].max())

    def final(self) -> pd.DataFrame:
        """The scores of the newest epoch, one row per arch."""
        return self.scores[self.scores["epoch"] == self.final_epoch].reset_index(drop=True)

    def document(self, study: str, config: dict[str, Any], rows: list[dict[str, Any]],
                 findings: list[str], **extra: Any) -> dict[str, Any]:
        """The JSON every study writes: the shared fields, then the study's own."""
        return {"study": study, "truth": self.metric, "space": self.cfg.space, "run_dir": str(self.run.path),
                "available": True, "bn_policy": self.policy, FINETUNE: self.finetune_batches,
                "config": config, "rows": rows, "findings": findings, **extra}

    def unavailable(self, study: str, reason: str) -> dict[str, Any]:
        """A study this run's space cannot provide: no rows, and why."""
        return {**self.document(study, {}, [], [reason]), "available": False, "unavailable_because": reason}


def load_input(run_path: str | Path, metric: str | None = None, mirror: str | None = None) -> StudyInput:
    """Read a run's config and scores and join them with the ground truth (`metric`: default the run's)."""
    run = RunDir(run_path)
    cfg = run.config()
    metric = metric or cfg.analysis.truth
    truth = load_ground_truth(cfg.space, mirror or cfg.data.mirror, cfg.analysis.truth_file)
    check_scores_meta(run.path, truth)
    joined = join_truth(run.read_scores(), truth, metric)
    policies = sorted(joined["bn_policy"].unique())
    if not policies:
        raise StudyError(f"{run.scores_path} has no scores; run `wsnas evaluate {run.path}` first")
    policy = cfg.eval.bn_policy if cfg.eval.bn_policy in policies else policies[0]
    budgets = sorted(joined.loc[joined["bn_policy"] == policy, FINETUNE].unique())
    batches = cfg.eval.finetune_batches if cfg.eval.finetune_batches in budgets else budgets[0]
    return StudyInput(run, cfg, truth, metric, joined, policy, int(batches))


def _clean(obj: Any) -> Any:
    """`obj` with NaN/inf floats as None and numpy scalars as Python numbers (strict JSON)."""
    if isinstance(obj, dict):
        return {k: _clean(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_clean(v) for v in obj]
    if isinstance(obj, np.generic):
        obj = obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


def write_study(directory: str | Path, doc: dict[str, Any]) -> Path:
    """Write `doc` atomically to DIRECTORY/studies/<doc['study']>.json and return the path."""
    path = Path(directory) / "studies" / f"{doc['study']}.json"
    write_json(path, _clean(doc))
    return path


def _kendall_with_ci(a: np.ndarray, b: np.ndarray, n_boot: int, seed: int) -> dict[str, Any]:
    """{"kendall", "kendall_ci_low", "kendall_ci_high", "spearman"}; None with the reason when undefined."""
    try:
        low, high = bootstrap_ci(kendall_tau, a, b, n_boot=n_boot, seed=seed)
        return {"kendall": kendall_tau(a, b), "kendall_ci_low": low, "kendall_ci_high": high,
                "spearman": spearman_rho(a, b)}
    except MetricInputError as exc:
        return {"kendall": None, "kendall_ci_low": None, "kendall_ci_high": None, "spearman": None,
                "undefined_because": str(exc)}


# ------------------------------------------------------------------------------------------------ epochs

def epochs_study(inp: StudyInput) -> dict[str, Any]:
    """Accuracy and rank correlation against training length, on the archs scored at every epoch.

    Row keys: epoch, n_archs, mean_supernet_acc, mean_truth, kendall/spearman with _ci_low/_ci_high, and
    from the second epoch on prev_kendall (with CI) and prev_spearman: the supernet's ranking at this
    checkpoint against its ranking at the previous one.
    """
    a = inp.cfg.analysis
    by_epoch = inp.scores.pivot(index="key", columns="epoch", values="supernet_acc").dropna()
    epochs = [int(e) for e in by_epoch.columns]
    common = inp.scores[inp.scores["key"].isin(by_epoch.index)]
    rows = []
    for i, result in enumerate(summarise(common, topk=(), n_boot=a.n_boot, seed=a.seed)):
        row = {"epoch": result["epoch"], "n_archs": result["n_archs"],
               "mean_supernet_acc": result["mean_supernet_acc"], "mean_truth": result["mean_truth"]}
        for name in ("kendall", "spearman"):
            c = result[name]
            row.update({name: c["value"], f"{name}_ci_low": c["ci_low"], f"{name}_ci_high": c["ci_high"]})
        if i:
            previous = _kendall_with_ci(by_epoch[epochs[i - 1]].to_numpy(), by_epoch[epochs[i]].to_numpy(),
                                        a.n_boot, a.seed)
            row.update({f"prev_{k}": v for k, v in previous.items()})
        rows.append(row)
    config = {"epochs": epochs, "n_common_archs": len(by_epoch), "n_boot": a.n_boot, "bootstrap_seed": a.seed}
    return inp.document("epochs", config, rows, _epoch_findings(rows, inp.run.path))


def _epoch_findings(rows: list[dict[str, Any]], run: Path) -> list[str]:
    if len(rows) < 2:
        return [f"only epoch {rows[0]['epoch']} is scored; score several checkpoints with "
                f"`wsnas evaluate {run} --set eval.epochs=[5,10,15,20]` (train.checkpoint_every must divide them)"]
    first, last = rows[0], rows[-1]
    findings = [f"mean supernet accuracy {first['mean_supernet_acc']:.2f}% at epoch {first['epoch']} -> "
                f"{last['mean_supernet_acc']:.2f}% at epoch {last['epoch']} "
                f"({last['mean_supernet_acc'] - first['mean_supernet_acc']:+.2f} points)"]
    defined = [r for r in rows if r["kendall"] is not None and math.isfinite(r["kendall"])]
    if not defined:
        return findings + ["Kendall tau is undefined at every epoch (constant scores)"]
    peak = max(defined, key=lambda r: r["kendall"])
    findings.append(f"Kendall tau {first['kendall']:+.3f} at epoch {first['epoch']} -> {last['kendall']:+.3f} "
                    f"at epoch {last['epoch']}; highest {peak['kendall']:+.3f} at epoch {peak['epoch']}")
    if peak is last:
        findings.append("the correlation was still at its highest at the last scored epoch")
    elif last["kendall"] >= peak["kendall_ci_low"]:
        findings.append(f"the correlation saturated: the final tau lies inside the 95% CI of the epoch-"
                        f"{peak['epoch']} peak [{peak['kendall_ci_low']:+.3f}, {peak['kendall_ci_high']:+.3f}]"
                        f" while accuracy moved {last['mean_supernet_acc'] - peak['mean_supernet_acc']:+.2f}"
                        f" points")
    else:
        findings.append(f"the correlation fell after epoch {peak['epoch']}: the final tau is below the peak's "
                        f"95% CI [{peak['kendall_ci_low']:+.3f}, {peak['kendall_ci_high']:+.3f}] while accuracy "
                        f"moved {last['mean_supernet_acc'] - peak['mean_supernet_acc']:+.2f} points")
    return findings


# -------------------------------------------------------------------------------------------------- topk

def hit_probability(score: np.ndarray, good: np.ndarray, k: int) -> float:
    """Probability that the top k by `score` hold at least one `good` arch (boundary ties broken at random).

    A constant `score` gives the chance of a uniformly random pick of k archs.
    """
    kth = np.partition(score, score.size - k)[score.size - k]
    sure, tied = score > kth, score == kth
    if good[sure].any():
        return 1.0
    m, r, g = int(tied.sum()), k - int(sure.sum()), int(good[tied].sum())
    misses = np.arange(r)
    return float(1 - np.prod(np.clip((m - g - misses) / (m - misses), 0, None)))


def space_top_threshold(values: np.ndarray, fraction: float) -> float:
    """Smallest truth among the space's top `fraction` (ceil(fraction * N) archs, ties at the edge included)."""
    ordered = np.sort(values[np.isfinite(values)])[::-1]
    return float(ordered[resolve_k(fraction, ordered.size)[0] - 1])


def _draw_ks(size: int) -> list[tuple[int, str]]:
    """(k, label) of the headline k (ints capped at the draw size), then a geometric grid of k for the curves."""
    grid = np.unique(np.round(np.geomspace(1, size, num=min(size, 16))).astype(int))
    headline = [resolve_k(min(spec, size) if isinstance(spec, int) else spec, size) for spec in HEADLINE_K]
    return headline + [(int(k), str(k)) for k in grid]


def _spread(values: np.ndarray) -> dict[str, float]:
    return {"mean": float(values.mean()), "p5": float(np.percentile(values, 5)),
            "p95": float(np.percentile(values, 95))}


def topk_study(inp: StudyInput, draws: int = 200, draw_size: int = 100, progress: bool = False) -> dict[str, Any]:
    """Supernet top-k against a random pick over `draws` seeded draws of `draw_size` evaluated archs.

    When the run evaluated no more than `draw_size` archs, each draw takes 80% of them (at least 3). Rows
    ("rows": top-1, top-10, top-1% and top-10% of a draw; "curve": a grid of k) hold the mean and 5/95
    percentiles over draws of the supernet's best (topk_best_truth), the random pick's exact expected best
    and the draw's best; "hits": how often the supernet's top-10 holds a top-10% / top-1% arch of the space.
    """
    if draws < 1 or draw_size < 3:
        raise StudyError(f"topk study: draws={draws}, draw size={draw_size}; need draws >= 1 and a draw "
                         f"size >= 3 (e.g. --draws 200 --draw-size 100)")
    final = inp.final()
    score, truth = final["supernet_acc"].to_numpy(), final["truth"].to_numpy()
    pool = len(final)
    if pool < 4:
        raise StudyError(f"topk study: run {inp.run.path} scored {pool} archs at epoch {inp.final_epoch}; "
                         f"draws need at least 4, evaluate more with `wsnas evaluate {inp.run.path} --archs 100`")
    size = draw_size if draw_size < pool else max(3, math.floor(0.8 * pool))
    ks = _draw_ks(size)
    space_truth = inp.truth.frame[inp.metric].to_numpy(dtype=float)
    targets = {f"top-{f * 100:g}%": space_top_threshold(space_truth, f) for f in (0.1, 0.01)}
    hit_k = min(10, size)
    rng = np.random.default_rng(inp.cfg.analysis.seed)
    best, rand, oracle = np.empty((draws, len(ks))), np.empty((draws, len(ks))), np.empty(draws)
    hits = {(name, who): np.empty(draws) for name in targets for who in ("supernet", "random")}
    for d in tqdm(range(draws), desc="topk draws", unit="draw", disable=not progress):
        pick = rng.choice(pool, size=size, replace=False)
        x, y = score[pick], truth[pick]
        best[d] = [topk_best_truth(x, y, k) for k, _ in ks]
        rand[d] = [random_expected_best(y, k) for k, _ in ks]
        oracle[d] = y.max()
        for name, threshold in targets.items():
            hits[name, "supernet"][d] = hit_probability(x, y >= threshold, hit_k)
            hits[name, "random"][d] = hit_probability(np.zeros(size), y >= threshold, hit_k)

    def summary(j: int) -> dict[str, Any]:
        row: dict[str, Any] = {"k": ks[j][0], "label": ks[j][1]}
        for column, values in (("supernet_best", best[:, j]), ("random_expected_best", rand[:, j]),
                               ("oracle_best", oracle)):
            row.update({f"{column}_{stat}": v for stat, v in _spread(values).items()})
        row["supernet_beats_random_rate"] = float(np.mean(best[:, j] > rand[:, j]))
        return row

    rows = [summary(j) for j in range(len(HEADLINE_K))]
    curve = [summary(j) for j in range(len(HEADLINE_K), len(ks))]
    hit_rows = [{"k": hit_k, "target": name, "threshold": threshold,
                 "supernet_rate": float(hits[name, "supernet"].mean()),
                 "random_rate": float(hits[name, "random"].mean())}
                for name, threshold in targets.items()]
    config = {"draws": draws, "draw_size": size, "requested_draw_size": draw_size, "n_pool": pool,
              "seed": inp.cfg.analysis.seed, "epoch": inp.final_epoch}
    return inp.document("topk", config, rows, _topk_findings(rows, hit_rows, size), curve=curve, hits=hit_rows)


def _topk_findings(rows: list[dict[str, Any]], hit_rows: list[dict[str, Any]], size: int) -> list[str]:
    findings = [f"in a draw of {size} archs the supernet's top-{r['label']} reaches {r['supernet_best_mean']:.2f}% "
                f"true accuracy on average (5-95%: {r['supernet_best_p5']:.2f}-{r['supernet_best_p95']:.2f}), "
                f"a random pick of {r['k']} {r['random_expected_best_mean']:.2f}%, the draw's best "
                f"{r['oracle_best_mean']:.2f}%; the supernet beats random in "
                f"{100 * r['supernet_beats_random_rate']:.0f}% of draws" for r in rows[:2]]
    findings += [f"the supernet's top-{h['k']} holds a {h['target']} arch of the whole space in "
                 f"{100 * h['supernet_rate']:.0f}% of draws (random pick: {100 * h['random_rate']:.0f}%)"
                 for h in hit_rows]
    return findings


# -------------------------------------------------------------------------------------------------- bias

BIAS_PAIRS = (("supernet", "truth"), ("params", "truth"), ("params", "supernet"), ("flops", "truth"),
              ("flops", "supernet"))


def _top_share(values: np.ndarray, k: int) -> np.ndarray:
    """Weight of each arch in the top k by `values` (1 inside, 0 outside, shared at boundary ties) / k."""
    return inclusion_probability(values, k) / k


def bias_study(inp: StudyInput) -> dict[str, Any]:
    """Does the supernet prefer large models more than the ground truth does? (FLOPs too where the space has them;
    a feature the space lacks is skipped with a note.)"""
    final = inp.final()
    features = feature_table(inp.cfg.space, final["key"].tolist())
    if PARAMS not in features.columns:
        return inp.unavailable("bias", f"space {inp.cfg.space!r} provides no parameter counts "
                                       f"(implement SearchSpace.features)")
    a = inp.cfg.analysis
    series = {"supernet": final["supernet_acc"].to_numpy(), "truth": final["truth"].to_numpy(),
              "params": features[PARAMS].to_numpy(dtype=float)}
    skipped = []
    if FLOPS in features.columns:
        series["flops"] = features[FLOPS].to_numpy(dtype=float)
    else:
        skipped.append(f"FLOPs: space {inp.cfg.space!r} provides no {FLOPS!r} feature, so the FLOPs pairs are skipped")
    rows = [{"a": x, "b": y, **_kendall_with_ci(series[x], series[y], a.n_boot, a.seed)} for x, y in BIAS_PAIRS
            if x in series and y in series]
    k = resolve_k(TOP_FRACTION, len(final))[0]
    params = series["params"]
    mean_params = {"all": float(params.mean()), "supernet_top10pct": float(_top_share(series["supernet"], k) @ params),
                   "truth_top10pct": float(_top_share(series["truth"], k) @ params)}
    config = {"epoch": inp.final_epoch, "n_archs": len(final), "n_boot": a.n_boot, "bootstrap_seed": a.seed,
              "cost_model": f"{inp.cfg.space} SearchSpace.features: the benchmark's training skeleton"}
    return inp.document("bias", config, rows, _bias_findings(rows, mean_params) + skipped, mean_params_M=mean_params,
                        skipped=skipped)


def _pair_text(row: dict[str, Any]) -> str:
    if row["kendall"] is None:
        return f"tau({row['a']}, {row['b']}) undefined ({row['undefined_because']})"
    return (f"tau({row['a']}, {row['b']}) = {row['kendall']:+.3f} "
            f"[{row['kendall_ci_low']:+.3f}, {row['kendall_ci_high']:+.3f}]")


def _bias_findings(rows: list[dict[str, Any]], mean_params: dict[str, float]) -> list[str]:
    pair = {(r["a"], r["b"]): r for r in rows}
    size_super, size_truth = pair[("params", "supernet")], pair[("params", "truth")]
    findings = [_pair_text(pair[("supernet", "truth")]), _pair_text(size_super), _pair_text(size_truth)]
    if size_super["kendall"] is not None and size_truth["kendall"] is not None:
        more = size_super["kendall"] > size_truth["kendall"]
        apart = (size_super["kendall_ci_low"] > size_truth["kendall_ci_high"] if more
                 else size_super["kendall_ci_high"] < size_truth["kendall_ci_low"])
        findings.append(f"the supernet's ranking follows parameter count {'more' if more else 'less'} than the "
                        f"ground truth does ({'the 95% CIs do not overlap' if apart else 'the 95% CIs overlap'})")
    findings.append(f"mean parameters: supernet top-10% {mean_params['supernet_top10pct']:.3f} M, ground-truth "
                    f"top-10% {mean_params['truth_top10pct']:.3f} M, all evaluated {mean_params['all']:.3f} M")
    return findings


# --------------------------------------------------------------------------------------------- operators

def rank_percentile(values: np.ndarray) -> np.ndarray:
    """Average-rank percentile: 0 = worst, 100 = best (ties share their average rank)."""
    return (stats.rankdata(values, method="average") - 1) / max(1, values.size - 1) * 100


def operator_study(inp: StudyInput) -> dict[str, Any]:
    """Which ops the supernet over- or under-rates, by op count in the cell and per edge (OPERATOR_RULE).

    A space with per-slot ops (edge:*) but no op counts gets the counts from them; one with op counts only skips
    the per-edge comparison; both are noted in the findings."""
    final = inp.final()
    features = feature_table(inp.cfg.space, final["key"].tolist())
    ops, edges = columns_with(features, OP_COUNT), columns_with(features, EDGE)
    if not ops and not edges:
        return inp.unavailable("operators", f"space {inp.cfg.space!r} provides no op counts or per-slot ops "
                                            f"(implement SearchSpace.features)")
    notes = []
    if not ops:
        slots = features[list(edges.values())]
        features = features.assign(**{f"{OP_COUNT}{op}": (slots == op).sum(axis=1)
                                      for op in sorted(set(slots.to_numpy().ravel()), key=str)})
        ops = columns_with(features, OP_COUNT)
        notes.append(f"space {inp.cfg.space!r} gives no op counts ({OP_COUNT}*): they are counted from its per-slot "
                     f"ops ({EDGE}*)")
    if not edges:
        notes.append(f"space {inp.cfg.space!r} gives no per-slot ops ({EDGE}*): the per-edge comparison is skipped")
    most = len(edges) if edges else int(features[list(ops.values())].to_numpy().max())
    score, truth = final["supernet_acc"].to_numpy(), final["truth"].to_numpy()
    delta = rank_percentile(score) - rank_percentile(truth)
    rows, slopes = [], []
    for op, column in ops.items():
        counts = features[column].to_numpy(dtype=int)
        for count in range(most + 1):
            group = delta[counts == count]
            if group.size:
                rows.append({"op": op, "count": count, "n_archs": int(group.size), "mean_delta_pct": group.mean(),
                             "sem_pct": group.std(ddof=1) / math.sqrt(group.size) if group.size > 1 else None})
        slope = np.polyfit(counts, delta, 1)[0] if np.unique(counts).size > 1 else None
        slopes.append({"op": op, "slope_pct_per_edge": slope, "mean_count": counts.mean()})
    k = resolve_k(TOP_FRACTION, len(final))[0]
    in_super, in_truth = _top_share(score, k), _top_share(truth, k)
    edge_rows = []
    for edge, column in edges.items():
        for op in ops:
            has = (features[column] == op).to_numpy(dtype=float)
            edge_rows.append({"edge": edge, "op": op, "supernet_top_freq": in_super @ has,
                              "truth_top_freq": in_truth @ has, "all_freq": has.mean()})
    config = {"epoch": inp.final_epoch, "n_archs": len(final), "top_fraction": TOP_FRACTION, "top_k": k,
              "ops": list(ops), "edges": list(edges), "max_count": most}
    return inp.document("operators", config, rows, _operator_findings(slopes, edge_rows) + notes,
                        rule=OPERATOR_RULE, ops=slopes, edges=edge_rows)


def _operator_findings(slopes: list[dict[str, Any]], edge_rows: list[dict[str, Any]]) -> list[str]:
    findings = []
    defined = [s for s in slopes if s["slope_pct_per_edge"] is not None]
    if defined:
        high = max(defined, key=lambda s: s["slope_pct_per_edge"])
        low = min(defined, key=lambda s: s["slope_pct_per_edge"])
        findings.append(f"each extra {high['op']} edge moves the supernet's rank percentile "
                        f"{high['slope_pct_per_edge']:+.1f} points relative to the ground truth's (the most), "
                        f"each extra {low['op']} edge {low['slope_pct_per_edge']:+.1f} (the least)")
    if not edge_rows:
        return findings
    gap = max(edge_rows, key=lambda r: abs(r["supernet_top_freq"] - r["truth_top_freq"]))
    findings.append(f"largest per-edge disagreement: on edge {gap['edge']} {gap['op']} makes up "
                    f"{100 * gap['supernet_top_freq']:.0f}% of the supernet's top-10% and "
                    f"{100 * gap['truth_top_freq']:.0f}% of the ground truth's (all evaluated: "
                    f"{100 * gap['all_freq']:.0f}%)")
    return findings


# -------------------------------------------------------------------------------------------------- run

def run_studies(run_path: str | Path, names: Sequence[str] | None = None, *, metric: str | None = None,
                mirror: str | None = None, draws: int = 200, draw_size: int = 100,
                progress: bool | None = None, score: str | None = None) -> dict[str, Path]:
    """Run the named studies (default: all) on a run and write RUN/studies/<name>.json; returns {name: path}.

    `progress` shows tqdm bars; None follows the run's runtime.progress. An audit directory gets the studies that
    apply to it (wsnas.analysis.audit_studies) on its `score` and `metric` columns.
    """
    if RunDir(run_path).kind == "audit":
        from wsnas.analysis.audit_studies import run_audit_studies  # which builds on this module

        return run_audit_studies(run_path, names, score=score, truth=metric)
    if score is not None:
        raise StudyError(f"--score picks a score column of an audit; {run_path} is a run (its score: the supernet)")
    names = STUDIES if names is None else names
    unknown = [n for n in names if n not in STUDIES]
    if unknown or not names:
        raise StudyError(f"unknown studies {unknown} in --only; choose from {', '.join(STUDIES)} "
                         f"(comma-separated, e.g. --only epochs,topk)")
    inp = load_input(run_path, metric, mirror)
    progress = inp.cfg.runtime.progress if progress is None else progress
    makers: dict[str, Callable[[], dict[str, Any]]] = {
        "epochs": lambda: epochs_study(inp),
        "topk": lambda: topk_study(inp, draws, draw_size, progress),
        "bias": lambda: bias_study(inp),
        "operators": lambda: operator_study(inp),
    }
    return {name: write_study(inp.run.path, makers[name]())
            for name in tqdm(names, desc="studies", unit="study", disable=not progress)}


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = sub.add_parser("studies", help="rank-disorder studies of a run: epochs, top-k, size bias, operator bias")
    p.add_argument("run", help="run directory (evaluated; several epochs for the epochs study)")
    p.add_argument("--only", help=f"comma-separated subset of {','.join(STUDIES)} (default: all)")
    p.add_argument("--truth", help="ground-truth column (default: the run's analysis.truth; an audit's first)")
    p.add_argument("--score", help="an audit's score column (default: its first)")
    p.add_argument("--data-mirror", help="local mirror of the ground truth (default: the run's, or $WSNAS_DATA_MIRROR)")
    p.add_argument("--draws", type=int, default=200, help="topk: seeded draws (default 200)")
    p.add_argument("--draw-size", type=int, default=100,
                   help="topk: archs per draw (default 100; 80%% of the evaluated archs when they are fewer)")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=_cmd_studies)
    return p


def _cmd_studies(args: argparse.Namespace) -> None:
    names = [n.strip() for n in args.only.split(",") if n.strip()] if args.only else None
    paths = run_studies(args.run, names, metric=args.truth, mirror=args.data_mirror, draws=args.draws,
                        draw_size=args.draw_size, progress=False if args.quiet else None, score=args.score)
    for name, path in paths.items():
        doc = json.loads(path.read_text())
        print(f"[studies] {name}: {path}")
        for line in doc["findings"]:
            print(f"  {line}")
