"""Join a run's supernet scores with the benchmark's ground truth and summarise the ranking (no torch).

The ground truth is joined by canonical arch key only after scoring; it never feeds a supernet score.
Beside every correlation sits the seed-noise ceiling of the same archs (analysis/ceiling.py): how well one
benchmark training run ranks another, i.e. how far from achievable the supernet is.
"""
from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any, Callable, Sequence

import pandas as pd

from wsnas.analysis.ceiling import no_ceiling_reason, seed_ceiling
from wsnas.analysis.direction import SummaryLabels
from wsnas.analysis.metrics import (CORRELATIONS, SPARSE_TOL, MetricInputError, correlation_summary, regret,
                                    topk_table, undefined_interval)
from wsnas.benchmarks.groundtruth import GroundTruth, GroundTruthError
from wsnas.core.atomic import write_json
from wsnas.core.errors import WsnasError
from wsnas.core.run_files import FINETUNE, GROUP_KEYS, SCORES_META, SCORE_SET, SUPERNET_ACC
from wsnas.core.score_sets import LEGACY, with_score_set

def join_truth(scores: pd.DataFrame, truth: GroundTruth, metric: str) -> pd.DataFrame:
    """`scores` with the ground-truth column `truth` (and the benchmark `index`) added by arch key."""
    for column in ("key", SUPERNET_ACC):
        if column not in scores.columns:
            raise WsnasError(f"scores table lacks column {column!r}; it does not look like wsnas scores")
    joined = with_score_set(scores)
    joined[FINETUNE] = finetune_batches(joined)
    joined["truth"] = truth.values(metric, joined["key"].tolist())
    joined["index"] = [truth.index_of(k) for k in joined["key"]]
    return joined


def finetune_batches(scores: pd.DataFrame) -> pd.Series:
    """The scores' finetune_batches column as ints, 0 where it is missing or empty (scores made without it)."""
    if FINETUNE not in scores.columns:
        return pd.Series(0, index=scores.index, dtype=int)
    return scores[FINETUNE].fillna(0).astype(int)


def stamp_scores(run_path: Path, truth: GroundTruth) -> None:
    """Record (in RUN/scores.meta.json) the space and ground-truth source (benchmark version) that `wsnas evaluate`
    makes the run's scores against; refuses a run whose scores were stamped with another."""
    check_scores_meta(run_path, truth)
    write_json(run_path / SCORES_META, {"space": truth.space, "truth_source": truth.source})


def check_scores_meta(run_path: Path, truth: GroundTruth) -> None:
    """Refuse a run's scores whose stamp names another space or ground-truth source than `truth` (scores made
    before stamps existed have none and are not checked)."""
    path = run_path / SCORES_META
    if not path.is_file():
        return
    try:
        saved = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise GroundTruthError(f"{path} is corrupt ({exc}); delete it and rerun `wsnas evaluate {run_path}` to "
                               f"stamp the scores again") from None
    differ = [f"{key}: scores {saved.get(key)!r}, loaded {now!r}" for key, now in
              (("space", truth.space), ("truth_source", truth.source)) if saved.get(key) != now]
    if differ:
        raise GroundTruthError(f"the scores of {run_path} were made against another benchmark version "
                               f"({'; '.join(differ)}); use the ground truth they were made against, or move "
                               f"scores.csv, shards/ and {SCORES_META} away and rerun `wsnas evaluate {run_path}`")


def summarise(joined: pd.DataFrame, *, topk: Sequence[int | float], n_boot: int, seed: int,
              truth: GroundTruth | None = None, metric: str | None = None,
              tol: float | None = SPARSE_TOL, step: Callable[[], object] | None = None) -> list[dict[str, Any]]:
    """Correlations with bootstrap intervals, regret and top-k figures, one entry per (epoch, BN policy,
    fine-tuning batches): fine-tuned and plain scores never mix.

    Each entry holds metrics.correlation_summary's statistics (Kendall, Spearman, Pearson, weighted and
    sparse Kendall), "regret" and "topk" rows; given the ground truth and the metric that `joined` holds
    (join_truth), also "ceiling": the seed-noise ceiling (ceiling.seed_ceiling) over the group's archs, or
    {"undefined_because": ...} where the metric has no per-seed runs. `tol` is sparse Kendall's tolerance in the
    truth's units; None leaves sparse Kendall undefined (no tolerance is known for those units). `step` is called
    after each correlation of each entry (a progress bar's update: CORRELATIONS steps per entry).
    """
    if (truth is None) != (metric is None):
        raise TypeError("summarise needs both truth and metric for the seed-noise ceiling, or neither")
    results = []
    if SCORE_SET not in joined.columns:  # tables made outside `wsnas evaluate` (audits) hold one score set
        joined = joined.assign(**{SCORE_SET: LEGACY})
    for (epoch, policy, batches, score_set), group in joined.groupby(list(GROUP_KEYS), sort=True):
        score, true_acc = group[SUPERNET_ACC].to_numpy(), group["truth"].to_numpy()
        result = {
            "epoch": int(epoch),
            "bn_policy": policy,
            FINETUNE: int(batches),
            SCORE_SET: score_set,
            "n_archs": int(len(group)),
            "mean_supernet_acc": float(score.mean()),
            "mean_truth": float(true_acc.mean()),
            **_correlations(score, true_acc, n_boot, seed, tol, step),
            "regret": regret(score, true_acc),
            "topk": topk_table(score, true_acc, topk),
        }
        if truth is not None:
            reason = no_ceiling_reason(truth, metric)
            result["ceiling"] = ({"undefined_because": reason} if reason
                                 else seed_ceiling(truth, metric, group["key"].tolist(), topk, tol))
        results.append(result)
    return results


NO_TOL = "no tolerance is known for the truth's units; give one in those units (wsnas audit --sparse-tol)"


def _correlations(score, truth, n_boot: int, seed: int, tol: float | None = SPARSE_TOL,
                  step: Callable[[], object] | None = None) -> dict[str, Any]:
    """Correlations with intervals; NaN with the reason when undefined (e.g. every subnet scored the same)."""
    try:
        summary = correlation_summary(score, truth, n_boot=n_boot, seed=seed, tol=tol, step=step)
    except MetricInputError as exc:
        summary = {"n": len(score), **{name: undefined_interval(str(exc)) for name in CORRELATIONS},
                   "undefined_because": str(exc)}
    if tol is None:
        summary["sparse_kendall"] = undefined_interval(NO_TOL)
    summary["sparse_kendall"]["tol"] = tol
    return summary


_LABELS = {"kendall": "kendall", "spearman": "spearman", "pearson": "pearson",
           "weighted_kendall": "weighted kendall", "sparse_kendall": "sparse kendall"}


def _cell(value: float, fmt: str) -> str:
    """`value` formatted, or '-' where it is undefined (NaN)."""
    return "-" if math.isnan(value) else f"{value:{fmt}}"


def _spread_text(spread: dict[str, float], fmt: str) -> str:
    """'mean (min..max)' of a ceiling statistic over runs."""
    if math.isnan(spread["mean"]):
        return "-"
    return f"{spread['mean']:{fmt}} ({spread['min']:{fmt}}..{spread['max']:{fmt}})"


def _bound_text(bound: dict[str, Any], name: str) -> str:
    """The reliability bound of one statistic: Kendall with its interval, Spearman; '' for the others."""
    if name == "kendall":
        interval = ("" if math.isnan(bound["kendall_ci_low"]) else
                    f" [{bound['kendall_ci_low']:+.3f}, {bound['kendall_ci_high']:+.3f}]")
        return f"{bound['kendall']:+.3f}{interval}"
    return f"{bound['spearman']:+.3f}" if name == "spearman" else ""


def _ceiling_note(ceiling: dict[str, Any], n_archs: int) -> list[str]:
    """Where the ceiling comes from (which runs, how many archs), or why there is none."""
    if "undefined_because" in ceiling:
        return [f"  no seed ceiling: {ceiling['undefined_because']}"]
    pairs, rest = ceiling["seed_vs_seed"], ceiling["seed_vs_rest"]
    columns = ceiling["seed_columns"]
    lines = [f"  ceiling = benchmark runs {columns[0]}..{len(columns) - 1} ranking each other, mean (min..max) over "
             f"runs;", f"    run vs run over {pairs['n']['min']}-{pairs['n']['max']} of {n_archs} archs, run vs mean "
             f"of others over {rest['n']['min']}-{rest['n']['max']}; kendall of the runs' mean vs truth "
             f"{_cell(ceiling['seed_mean_vs_metric']['kendall'], '+.3f')}"]
    bound = ceiling.get("reliability", {})
    if "kendall" in bound:
        lines += [f"  bound = the best any predictor free of the benchmark's seed noise can expect against the truth "
                  f"column (a mean of {bound['runs_per_arch']:.1f} runs", f"    per arch: single-run reliability "
                  f"{bound['single_run_reliability']:.3f}, Spearman-Brown {bound['reliability']:.3f}); top-k ceiling "
                  f"= that predictor's prec@k on the same {bound['n']} archs and k"]
    else:
        lines.append(f"  no bound for any predictor: {bound.get('undefined_because', 'not computed')}; top-k ceiling = "
                     f"run vs run prec@k over fewer archs")
    return lines


RANK_NOTE = ("rank, worst: true rank (1 = best) of the best and of the worst arch in the top k; archs with equal "
             "truth share the best rank of their tie")


def format_summary(results: list[dict[str, Any]], metric: str, labels: SummaryLabels | None = None) -> str:
    """A plain-text table of the summary for the terminal, with the seed-noise ceiling beside each figure.

    `labels` names the score and gives the units and decimals (default: a run's supernet and true accuracy, %).
    """
    labels = labels or SummaryLabels()
    lines = []
    for r in results:
        ceiling = r.get("ceiling") or {}
        runs = {part: ceiling[part] for part in ("seed_vs_seed", "seed_vs_rest") if part in ceiling}
        tuned = f"finetune_batches={r[FINETUNE]}  " if r.get(FINETUNE) else ""
        score_set = r.get(SCORE_SET, LEGACY)
        named = "" if score_set.startswith(LEGACY) else f"score set {score_set}  "  # audits have none
        lines.append(f"epoch {r['epoch']}  bn_policy={r['bn_policy']}  {tuned}{named}"
                     f"n={r['n_archs']} archs  truth={metric}  mean {labels.score} "
                     f"{labels.score_text(r['mean_supernet_acc'])}")
        heads = ("ceiling: run vs run", "run vs mean of others")[:len(runs)]
        bound = ceiling.get("reliability", {}) if "kendall" in ceiling.get("reliability", {}) else {}
        names = dict(_LABELS)
        tol = r["sparse_kendall"].get("tol")
        names["sparse_kendall"] += f" {labels.difference_text(tol)}" if tol is not None else " (no tol)"
        regret = f"regret ({labels.difference})" if labels.difference else "regret"
        w = max(20, *map(len, names.values()), len(regret))
        lines.append(f"  {'':<{w}} {labels.column:>8}  {'95% CI':<16}" + "".join(f"  {head:<24}" for head in heads)
                     + ("  bound: any predictor" if bound else ""))
        if "undefined_because" in r:
            lines.append(f"  correlations undefined: {r['undefined_because']}")
        for name, label in names.items():
            c = r[name]
            interval = "" if math.isnan(c["ci_low"]) else f"[{c['ci_low']:+.3f}, {c['ci_high']:+.3f}]"
            lines.append(f"  {label:<{w}} {_cell(c['value'], '+.3f'):>8}  {interval:<16}"
                         + "".join(f"  {_spread_text(part[name], '+.3f'):<24}" for part in runs.values())
                         + (f"  {_bound_text(bound, name)}" if bound else ""))
        d = labels.truth_decimals
        lines.append(f"  {regret:<{w}} {r['regret']:>8.{d}f}  {'':<16}"
                     + "".join(f"  {_spread_text(part['regret'], f'.{d}f'):<24}" for part in runs.values()))
        if ceiling:
            lines.extend(_ceiling_note(ceiling, r["n_archs"]))
        ceiling_precision = ({t["label"]: t["precision_at_k"] for t in bound["topk"]} if bound else
                             {t["label"]: t["precision_at_k"]["mean"] for t in runs.get("seed_vs_seed", {}).get("topk", [])})
        w = max([7] + [len(labels.truth_value(t[c])) for t in r["topk"]
                       for c in ("supernet_best", "random_expected_best", "oracle_best")])
        lines.append(f"  {'top-k':<6} {'k':>4} {'best':>{w}} {'random':>{w}} {'oracle':>{w}} {'rank':>6} {'worst':>6} "
                     f"{'prec@k':>6} {'ceiling':>7} {'prec@bottom-k':>13} {'kendall in top-k':>16}")
        for t in r["topk"]:
            values = " ".join(f"{labels.truth_value(t[c]):>{w}}"
                              for c in ("supernet_best", "random_expected_best", "oracle_best"))
            lines.append(f"  {t['label']:<6} {t['k']:>4} {values} "
                         f"{t['supernet_best_true_rank']:>6.1f} {t['worst_true_rank']:>6.1f} "
                         f"{t['precision_at_k']:>6.2f} {_cell(ceiling_precision.get(t['label'], math.nan), '.2f'):>7} "
                         f"{t['precision_at_bottom_k']:>13.2f} {_cell(t['kendall_in_topk'], '+.3f'):>16}")
        if r["topk"]:
            lines.append(f"  {RANK_NOTE}")
    return "\n".join(line.rstrip() for line in lines)
