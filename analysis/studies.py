"""Rank-disorder studies of one run's scores joined with the ground truth (no torch).

Each study writes RUN/studies/<name>.json = {"study", "truth", "space", "run_dir", "config", "rows",
"findings", "available", ...}; `wsnas report` renders them. The ground truth is joined after scoring
(wsnas.analysis.compare.join_truth) and never feeds a supernet score.

    epochs     per scored checkpoint: mean supernet accuracy, Kendall/Spearman with bootstrap CIs, and Kendall
               between the supernet rankings of successive checkpoints (archs scored at every epoch only)
    topk       repeated seeded draws of n archs: best true accuracy of the supernet's top-k against a random
               pick of the same size and the oracle, and how often the top-10 holds a true top-10%/1% arch
    bias       Kendall triangle between parameter count (also FLOPs), ground truth and supernet score, and the
               partial rank correlation of supernet and size given the truth, against an unbiased null
    operators  the supernet's rank percentile regressed on the true one plus op counts (per op) or op dummies
               (per edge), against an unbiased null
               (bias and operators: wsnas.analysis.bias_studies, their null: wsnas.analysis.null)

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
from tqdm.auto import tqdm

from wsnas.analysis.baselines import baselines
from wsnas.analysis.bias_studies import NULL_SIMS, bias_study, operator_study
from wsnas.analysis.compare import FINETUNE, SCORE_SET, check_scores_meta, join_truth
from wsnas.analysis.metrics import (MetricInputError, bootstrap_ci, kendall_tau,
                                    random_expected_best, resample_indices, resampled_stat, resolve_k, spearman_rho,
                                    stat_or_nan, topk_best_truth)
from wsnas.analysis.replicated import ScoreSet, paired_difference, replicate_summary
from wsnas.core.atomic import write_json
from wsnas.benchmarks.groundtruth import GroundTruth, load_ground_truth
from wsnas.core.config import Config
from wsnas.core.errors import WsnasError
from wsnas.core.groups import runs_of
from wsnas.core.runs import RunDir
from wsnas.core.score_sets import SCORE_SETS_FILE, read_score_sets

STUDIES = ("epochs", "topk", "bias", "operators")
HEADLINE_K: tuple[int | float, ...] = (1, 10, 0.01, 0.1)  # top-1, top-10, top-1% and top-10% of a draw

class StudyError(WsnasError):
    """A study that cannot run on the given run or options."""


# ------------------------------------------------------------------------------------------------ inputs

@dataclass
class StudyInput:
    """A run's scores joined with one ground-truth column, and the score set the studies use (with its BN policy
    and fine-tuning)."""

    run: RunDir
    cfg: Config
    truth: GroundTruth
    metric: str
    joined: pd.DataFrame  # every score of the run, with a `truth` column
    score_set: str

    @cached_property
    def scores(self) -> pd.DataFrame:
        """Every epoch's scores of the chosen score set."""
        return self.joined[self.joined[SCORE_SET] == self.score_set].reset_index(drop=True)

    @property
    def policy(self) -> str:
        return str(self.scores["bn_policy"].iloc[0])

    @property
    def finetune_batches(self) -> int:
        return int(self.scores[FINETUNE].iloc[0])

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
                SCORE_SET: self.score_set,
                "config": config, "rows": rows, "findings": findings, **extra}

    def unavailable(self, study: str, reason: str) -> dict[str, Any]:
        """A study this run's space cannot provide: no rows, and why."""
        return {**self.document(study, {}, [], [reason]), "available": False, "unavailable_because": reason}


def load_input(run_path: str | Path, metric: str | None = None, mirror: str | None = None,
               score_set: str | None = None) -> StudyInput:
    """Read a run's config and scores and join them with the ground truth (`metric`: default the run's), for one
    score set (choose_score_set)."""
    run = RunDir(run_path)
    cfg = run.config()
    metric = metric or cfg.analysis.truth
    truth = load_ground_truth(cfg.space, mirror or cfg.data.mirror, cfg.analysis.truth_file)
    check_scores_meta(run.path, truth)
    joined = join_truth(run.read_scores(), truth, metric)
    if joined.empty:
        raise StudyError(f"{run.scores_path} has no scores; run `wsnas evaluate {run.path}` first")
    return StudyInput(run, cfg, truth, metric, joined, choose_score_set(run, cfg, joined, score_set))


def load_inputs(path: str | Path, metric: str | None = None, mirror: str | None = None,
                score_set: str | None = None) -> list[StudyInput]:
    """One StudyInput per run of `path` (a replicate group's members, or the run), all on one score set."""
    runs = runs_of(path)
    first = load_input(runs[0].path, metric, mirror, score_set)
    rest = [load_input(run.path, metric, mirror, score_set or first.score_set) for run in runs[1:]]
    return [first, *rest]


def choose_score_set(run: RunDir, cfg: Config, joined: pd.DataFrame, wanted: str | None = None) -> str:
    """The score set studies use: `wanted` when given, else the first score set (in RUN/score_sets.json order)
    made with the run's eval.bn_policy and eval.finetune_batches (the run's own evaluation: rescoring with other
    settings later never changes what the studies show), else the first of the smallest fine-tuning budget under
    the first BN policy scored."""
    present = list(dict.fromkeys(joined[SCORE_SET]))
    if wanted is not None:
        if wanted not in present:
            raise StudyError(f"run {run.path} has no scores in score set {wanted!r}; its score sets: "
                             f"{', '.join(present)} (see {run.path / SCORE_SETS_FILE})")
        return wanted
    order = {k: i for i, k in enumerate(read_score_sets(run.path))}
    sets = joined.drop_duplicates(SCORE_SET)
    sets = sets.assign(order=[order.get(k, -1) for k in sets[SCORE_SET]])
    matching = sets[(sets["bn_policy"] == cfg.eval.bn_policy) & (sets[FINETUNE] == cfg.eval.finetune_batches)]
    if matching.empty:
        policy = sorted(sets["bn_policy"])[0]
        matching = sets[sets["bn_policy"] == policy]
        matching = matching[matching[FINETUNE] == matching[FINETUNE].min()]
    return str(matching.sort_values("order")[SCORE_SET].iloc[0])


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

def epochs_study(reps: Sequence[StudyInput]) -> dict[str, Any]:
    """Accuracy and rank correlation against training length, on the archs every replicate scored at every epoch.

    Row keys: epoch, n_archs, replicates, mean_supernet_acc (mean over replicates), mean_truth, kendall/spearman
    (mean over replicates) with _ci_low/_ci_high (replicate-level: t on the seed part + the arch parts; archs only for one run) and _sd, and from
    the second epoch on prev_kendall (each replicate's ranking at this checkpoint against its ranking at the
    previous one, mean over replicates, with its interval). "change" compares the final epoch with the epoch of
    the highest Kendall by a paired comparison (same archs, same supernets).
    """
    a = reps[0].cfg.analysis
    pivots = [inp.scores.pivot(index="key", columns="epoch", values="supernet_acc").dropna() for inp in reps]
    epochs = sorted(set.intersection(*(set(int(e) for e in p.columns) for p in pivots)))
    keys = sorted(set.intersection(*(set(p.index) for p in pivots)))
    if not epochs or len(keys) < 3:
        raise StudyError(f"epochs study: the replicates share {len(epochs)} scored epochs and {len(keys)} archs; "
                         f"score the same archs at the same epochs in each (`wsnas evaluate RUN --set "
                         f"eval.epochs=[5,10,15,20]`)")
    truth = reps[0].truth.values(reps[0].metric, keys)
    members = tuple(str(inp.run.path.resolve()) for inp in reps)
    sets = {e: ScoreSet(f"epoch {e}", tuple(keys), np.stack([p.loc[keys, e].to_numpy(float) for p in pivots]),
                        members) for e in epochs}
    rows = []
    for i, epoch in enumerate(epochs):
        summary = replicate_summary(sets[epoch], truth, topk=(), n_boot=a.n_boot, seed=a.seed)
        row: dict[str, Any] = {"epoch": epoch, "n_archs": len(keys), "replicates": len(reps),
                               "mean_supernet_acc": float(sets[epoch].scores.mean()), "mean_truth": float(truth.mean())}
        for name in ("kendall", "spearman"):
            c = summary[name]
            row.update({name: c["value"], f"{name}_ci_low": c["ci_low"], f"{name}_ci_high": c["ci_high"],
                        f"{name}_sd": c["sd"], f"{name}_per_replicate": c["per_replicate"]})
        if i:
            row.update(_previous_epoch(sets[epochs[i - 1]], sets[epoch], a.n_boot, a.seed))
        rows.append(row)
    change = _peak_change(rows, sets, truth, a.n_boot, a.seed)
    config = {"epochs": epochs, "n_common_archs": len(keys), "replicates": len(reps), "n_boot": a.n_boot,
              "bootstrap_seed": a.seed}
    return reps[0].document("epochs", config, rows, _epoch_findings(rows, change, reps[0].run.path), change=change)


def _previous_epoch(before: ScoreSet, after: ScoreSet, n_boot: int, seed: int) -> dict[str, Any]:
    """Kendall and Spearman between each replicate's rankings at two checkpoints (mean over replicates, CI)."""
    idx = resample_indices(len(after.keys), n_boot, seed)
    out: dict[str, Any] = {}
    for name, fn in (("kendall", kendall_tau), ("spearman", spearman_rho)):
        per = np.array([stat_or_nan(fn, x, y) for x, y in zip(before.scores, after.scores)])
        boots = np.stack([resampled_stat(fn, x, y, idx) for x, y in zip(before.scores, after.scores)]).mean(axis=0)
        boots = boots[np.isfinite(boots)]
        out[f"prev_{name}"] = float(np.nanmean(per)) if np.isfinite(per).any() else None
        if name == "kendall":
            low, high = np.quantile(boots, [0.025, 0.975]) if boots.size else (None, None)
            out.update({"prev_kendall_ci_low": low, "prev_kendall_ci_high": high})
    return out


def _peak_change(rows: list[dict[str, Any]], sets: dict[int, ScoreSet], truth: np.ndarray, n_boot: int,
                 seed: int) -> dict[str, Any] | None:
    """Final epoch minus the epoch of the highest mean Kendall, paired over archs and replicates (None when the
    final epoch is the highest, or only one epoch is scored)."""
    defined = [r for r in rows if r["kendall"] is not None and math.isfinite(r["kendall"])]
    if len(rows) < 2 or not defined:
        return None
    peak, last = max(defined, key=lambda r: r["kendall"]), rows[-1]
    if peak is last:
        first = rows[0]
        diff = paired_difference(sets[last["epoch"]], sets[first["epoch"]], truth, topk=(), n_boot=n_boot, seed=seed)
        return {"from_epoch": first["epoch"], "to_epoch": last["epoch"], "peak_is_last": True,
                "kendall": diff["kendall"]}
    diff = paired_difference(sets[last["epoch"]], sets[peak["epoch"]], truth, topk=(), n_boot=n_boot, seed=seed)
    return {"from_epoch": peak["epoch"], "to_epoch": last["epoch"], "peak_is_last": False, "kendall": diff["kendall"]}


def _epoch_findings(rows: list[dict[str, Any]], change: dict[str, Any] | None, run: Path) -> list[str]:
    if len(rows) < 2:
        return [f"only epoch {rows[0]['epoch']} is scored; score several checkpoints with "
                f"`wsnas evaluate {run} --set eval.epochs=[5,10,15,20]` (train.checkpoint_every must divide them)"]
    first, last = rows[0], rows[-1]
    reps = last.get("replicates", 1)
    over = f" (mean over {reps} replicates)" if reps > 1 else ""
    findings = [f"mean supernet accuracy {first['mean_supernet_acc']:.2f}% at epoch {first['epoch']} -> "
                f"{last['mean_supernet_acc']:.2f}% at epoch {last['epoch']} "
                f"({last['mean_supernet_acc'] - first['mean_supernet_acc']:+.2f} points){over}"]
    if change is None:
        return findings + ["Kendall tau is undefined at every epoch (constant scores)"]
    findings.append("Kendall tau " + ", ".join(f"{r['kendall']:+.3f} at epoch {r['epoch']}" for r in rows) + over)
    d = change["kendall"]
    text = f"{d['difference']:+.3f} [{d['ci_low']:+.3f}, {d['ci_high']:+.3f}] (paired over archs and replicates)"
    rises = d["ci_low"] > 0
    falls = d["ci_high"] < 0
    if change["peak_is_last"]:
        findings.append(f"the correlation was highest at the last scored epoch; epoch {change['to_epoch']} minus "
                        f"epoch {change['from_epoch']}: {text}: "
                        + ("it rose" if rises else "not distinguishable from no change"))
    else:
        findings.append(f"after its peak at epoch {change['from_epoch']} the correlation "
                        + ("fell" if falls else "saturated (not distinguishable from the peak)")
                        + f": epoch {change['to_epoch']} minus epoch {change['from_epoch']}: {text}")
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


def topk_study(reps: Sequence[StudyInput], draws: int = 200, draw_size: int = 100,
               progress: bool = False, directory: str | Path | None = None) -> dict[str, Any]:
    """topk_one for each replicate (the same seeded draws of archs); with several replicates every figure is the
    mean over replicates, with "<figure>_sd" over replicates for the headline ones and "per_replicate" rows."""
    free = baselines(reps[0].cfg.space, directory, reps[0].final()["key"].tolist()) if directory else []
    docs = [topk_one(inp, draws, draw_size, progress, free) for inp in reps]
    if len(docs) == 1:
        return docs[0]

    def mean_rows(tables: list[list[dict[str, Any]]], spread: Sequence[str]) -> list[dict[str, Any]]:
        out = []
        for same in zip(*tables):
            row = {k: (float(np.mean([r[k] for r in same])) if isinstance(v, float) else v)
                   for k, v in same[0].items()}
            row.update({f"{k}_sd": float(np.std([r[k] for r in same], ddof=1)) for k in spread})
            out.append(row)
        return out

    rows = mean_rows([d["rows"] for d in docs], ("supernet_best_mean", "supernet_beats_random_rate"))
    hits = mean_rows([d["hits"] for d in docs], ("supernet_rate",))
    doc = {**docs[0], "rows": rows, "curve": mean_rows([d["curve"] for d in docs], ()), "hits": hits,
           "per_replicate": [{"run_dir": d["run_dir"], "rows": d["rows"], "hits": d["hits"]} for d in docs]}
    doc["findings"] = [f"mean over {len(docs)} replicates (sd over replicates in brackets):"] + _topk_findings(
        rows, hits, doc["config"]["draw_size"])
    return doc


def topk_one(inp: StudyInput, draws: int = 200, draw_size: int = 100, progress: bool = False,
             baselines: Sequence[ScoreSet] = ()) -> dict[str, Any]:
    """Supernet top-k against a random pick over `draws` seeded draws of `draw_size` evaluated archs.

    When the run evaluated no more than `draw_size` archs, each draw takes 80% of them (at least 3). Rows
    ("rows": top-1, top-10, top-1% and top-10% of a draw; "curve": a grid of k) hold the mean and 5/95
    percentiles over draws of the supernet's best (topk_best_truth), the random pick's exact expected best
    and the draw's best; "hits": how often the supernet's top-10 holds a top-10% / top-1% arch of the space.
    Each free baseline (one-row ScoreSets over the run's archs) gets the same figures on the same draws, as
    "baseline:<name>_best_*" in the rows and "baseline:<name>_rate" in the hits.
    """
    if draws < 1 or draw_size < 3:
        raise StudyError(f"topk study: draws={draws}, draw size={draw_size}; need draws >= 1 and a draw "
                         f"size >= 3 (e.g. --draws 200 --draw-size 100)")
    final = inp.final()
    score, truth = final["supernet_acc"].to_numpy(), final["truth"].to_numpy()
    rankers = {"supernet": score, **{f"baseline:{b.label}": b.select(final["key"].tolist()).scores[0]
                                     for b in baselines}}
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
    best = {who: np.empty((draws, len(ks))) for who in rankers}
    rand, oracle = np.empty((draws, len(ks))), np.empty(draws)
    hits = {(name, who): np.empty(draws) for name in targets for who in (*rankers, "random")}
    for d in tqdm(range(draws), desc="topk draws", unit="draw", disable=not progress):
        pick = rng.choice(pool, size=size, replace=False)
        y = truth[pick]
        for who, values in rankers.items():
            best[who][d] = [topk_best_truth(values[pick], y, k) for k, _ in ks]
        rand[d] = [random_expected_best(y, k) for k, _ in ks]
        oracle[d] = y.max()
        for name, threshold in targets.items():
            for who, values in rankers.items():
                hits[name, who][d] = hit_probability(values[pick], y >= threshold, hit_k)
            hits[name, "random"][d] = hit_probability(np.zeros(size), y >= threshold, hit_k)

    def summary(j: int) -> dict[str, Any]:
        row: dict[str, Any] = {"k": ks[j][0], "label": ks[j][1]}
        columns = [(f"{who}_best", best[who][:, j]) for who in rankers]
        for column, values in (*columns, ("random_expected_best", rand[:, j]), ("oracle_best", oracle)):
            row.update({f"{column}_{stat}": v for stat, v in _spread(values).items()})
        row["supernet_beats_random_rate"] = float(np.mean(best["supernet"][:, j] > rand[:, j]))
        return row

    rows = [summary(j) for j in range(len(HEADLINE_K))]
    curve = [summary(j) for j in range(len(HEADLINE_K), len(ks))]
    hit_rows = [{"k": hit_k, "target": name, "threshold": threshold,
                 **{f"{who}_rate": float(hits[name, who].mean()) for who in (*rankers, "random")}}
                for name, threshold in targets.items()]
    config = {"draws": draws, "draw_size": size, "requested_draw_size": draw_size, "n_pool": pool,
              "seed": inp.cfg.analysis.seed, "epoch": inp.final_epoch}
    return inp.document("topk", config, rows, _topk_findings(rows, hit_rows, size), curve=curve, hits=hit_rows)


def _topk_findings(rows: list[dict[str, Any]], hit_rows: list[dict[str, Any]], size: int) -> list[str]:
    def sd(row: dict[str, Any], key: str, scale: float = 1.0, fmt: str = ".2f") -> str:
        return f" (sd {scale * row[key + '_sd']:{fmt}})" if key + "_sd" in row else ""

    findings = [f"in a draw of {size} archs the supernet's top-{r['label']} reaches {r['supernet_best_mean']:.2f}% "
                f"true accuracy on average{sd(r, 'supernet_best_mean')} (5-95%: {r['supernet_best_p5']:.2f}-"
                f"{r['supernet_best_p95']:.2f}), a random pick of {r['k']} {r['random_expected_best_mean']:.2f}%, "
                f"the draw's best {r['oracle_best_mean']:.2f}%; the supernet beats random in "
                f"{100 * r['supernet_beats_random_rate']:.0f}% of draws{sd(r, 'supernet_beats_random_rate', 100, '.0f')}"
                for r in rows[:2]]
    findings += [f"the supernet's top-{h['k']} holds a {h['target']} arch of the whole space in "
                 f"{100 * h['supernet_rate']:.0f}% of draws{sd(h, 'supernet_rate', 100, '.0f')} (random pick: "
                 f"{100 * h['random_rate']:.0f}%" + "".join(f", {k[len('baseline:'):-len('_rate')]}: {100 * v:.0f}%"
                                                           for k, v in h.items() if k.startswith("baseline:"))
                 + ")" for h in hit_rows]
    for r in rows[:2]:
        free = [(k[len("baseline:"):-len("_best_mean")], v) for k, v in r.items()
                if k.startswith("baseline:") and k.endswith("_best_mean")]
        if free:
            findings.append(f"free baselines' top-{r['label']} on the same draws: "
                            + ", ".join(f"{name} {v:.2f}%" for name, v in free)
                            + f" (supernet {r['supernet_best_mean']:.2f}%)")
    return findings


# -------------------------------------------------------------------------------------------------- run

def run_studies(run_path: str | Path, names: Sequence[str] | None = None, *, metric: str | None = None,
                mirror: str | None = None, draws: int = 200, draw_size: int = 100,
                null_sims: int = NULL_SIMS, progress: bool | None = None, score: str | None = None) -> dict[str, Path]:
    """Run the named studies (default: all) on a run or a replicate group and write DIR/studies/<name>.json;
    returns {name: path}.

    `null_sims`: draws of the unbiased null of the bias and operator studies. `progress` shows tqdm bars; None
    follows the run's runtime.progress. An audit directory gets the studies that apply to it
    (wsnas.analysis.audit_studies) on its `score` and `metric` columns.
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
    if null_sims < 20:
        raise StudyError(f"--null-sims {null_sims}: the null band needs at least 20 draws (default {NULL_SIMS})")
    reps = load_inputs(run_path, metric, mirror)
    progress = reps[0].cfg.runtime.progress if progress is None else progress
    makers: dict[str, Callable[[], dict[str, Any]]] = {
        "epochs": lambda: epochs_study(reps),
        "topk": lambda: topk_study(reps, draws, draw_size, progress, run_path),
        "bias": lambda: bias_study(reps, null_sims),
        "operators": lambda: operator_study(reps, null_sims),
    }
    members = [str(inp.run.path) for inp in reps]
    return {name: write_study(run_path, {**makers[name](), "run_dir": str(run_path), "replicates": len(reps),
                                         "members": members})
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
    p.add_argument("--null-sims", type=int, default=NULL_SIMS,
                   help=f"bias, operators: draws of the unbiased null scorer (default {NULL_SIMS})")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=_cmd_studies)
    return p


def _cmd_studies(args: argparse.Namespace) -> None:
    names = [n.strip() for n in args.only.split(",") if n.strip()] if args.only else None
    paths = run_studies(args.run, names, metric=args.truth, mirror=args.data_mirror, draws=args.draws,
                        draw_size=args.draw_size, null_sims=args.null_sims, progress=False if args.quiet else None,
                        score=args.score)
    for name, path in paths.items():
        doc = json.loads(path.read_text())
        print(f"[studies] {name}: {path}")
        for line in doc["findings"]:
            print(f"  {line}")
