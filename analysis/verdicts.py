"""`wsnas analyze` for a run or a replicate group: the ranking figures with intervals, and the verdict against the
free baselines, printed first (no torch).

For each (epoch, BN policy, fine-tuning, score set) that every member scored, on the archs every member scored:
- one run: compare.summarise's entry (Kendall, Spearman, Pearson, weighted and sparse Kendall with bootstrap CIs,
  regret, top-k, seed-noise ceiling);
- a group of R replicates: the same figures for each member ("members"), and the replicated figures: Kendall,
  Spearman and top-k as the mean over replicates with the replicate-level t interval (seeds random, archs
  resampled; the two-level bootstrap beside it) and the sd over replicates, how the replicates agree with each
  other, and the Kendall of their mean score ("replicated", analysis/replicated.py); "kendall"/"spearman"/"topk"
  then hold the replicated figures, and the verdict says how many replicates the group's own spread calls for;
- both: "baselines", the same figures for parameter count, FLOPs and the zero-cost proxies on the same archs, each
  with the paired difference supernet minus baseline, tested on the per-replicate differences (CI, t p-value,
  the smallest difference detectable at 80% power).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import pandas as pd

from wsnas.analysis.ceiling import no_ceiling_reason, seed_ceiling
from wsnas.analysis.ensembles import BASE, ensemble_epochs, ensemble_rows
from wsnas.analysis.free_baselines import baselines
from wsnas.analysis.inference import Estimate, replicates_for_half_width
from wsnas.analysis.replicated import ScoreSet, fitting, paired_differences, replicate_summary, verdict
from wsnas.analysis.score_summary import check_scores_meta, format_summary, join_truth, summarise
from wsnas.analysis.studies.inputs import choose_score_set
from wsnas.benchmarks.groundtruth import GroundTruth, config_truth
from wsnas.benchmarks.ranking_methods.landmarks import read_landmarks
from wsnas.core.config import Config
from wsnas.core.errors import WsnasError
from wsnas.core.groups import ReplicateGroup, is_group, runs_of
from wsnas.core.run_files import FINETUNE, GROUP_KEYS, SCORE_SET, SUPERNET_ACC
from wsnas.core.runs import RunDir

HEADLINE = ("kendall", "spearman")
TARGET_HALF_WIDTH = 0.1  # the precision a replicated Kendall should reach: +-0.1 tells 0.3 from 0.5


@dataclass
class Tables:
    """A run's or a replicate group's scores joined with one ground-truth column, one table per member."""

    directory: Path
    cfg: Config
    truth: GroundTruth
    metric: str
    runs: list[RunDir]
    tables: list[pd.DataFrame]

    @property
    def members(self) -> list[str]:
        return [str(run.path.resolve()) for run in self.runs]

    @property
    def truth_labels_used(self) -> int:
        """How many archs' truth the members' training read (their landmarks, RUN/landmarks.txt): 0 for none."""
        return len(set().union(*(read_landmarks(run.path) for run in self.runs)))


def load_tables(directory: str | Path, metric: str | None = None, mirror: str | None = None,
                cfg: Config | None = None, truth: GroundTruth | None = None,
                ensembles: Sequence[Sequence[int]] = ()) -> Tables:
    """Join every member's scores (a group's, or the run's own) with the ground truth (`metric`: default the
    config's analysis.truth; `cfg`: default the saved config of the run or group; `truth`: default the config's
    ground truth, loaded here), with the rows of each checkpoint ensemble in `ensembles` (wsnas.analysis.ensembles)
    added."""
    directory = Path(directory)
    runs = runs_of(directory)
    if cfg is None:
        cfg = ReplicateGroup(directory).config() if is_group(directory) else runs[0].config()
    metric = metric or cfg.analysis.truth
    if truth is None:
        truth = config_truth(cfg, mirror)
    for run in runs:
        check_scores_meta(run.path, truth)
    tables = [join_truth(run.read_scores(), truth, metric) for run in runs]
    if ensembles:
        base = choose_score_set(runs[0], cfg, tables[0])
        tables = [pd.concat([table, *(ensemble_rows(table, epochs, base, str(run.path)) for epochs in ensembles)],
                            ignore_index=True) for run, table in zip(runs, tables)]
    return Tables(directory, cfg, truth, metric, runs, tables)


def common_groups(tables: Sequence[pd.DataFrame]) -> list[tuple]:
    """The (epoch, BN policy, fine-tuning, score set) combinations every table holds, in order."""
    sets = [set(t[list(GROUP_KEYS)].drop_duplicates().itertuples(index=False, name=None)) for t in tables]
    return sorted(set.intersection(*sets))


def select_group(table: pd.DataFrame, group: tuple) -> pd.DataFrame:
    mask = np.ones(len(table), dtype=bool)
    for column, value in zip(GROUP_KEYS, group):
        mask &= (table[column] == value).to_numpy()
    return table[mask]


def supernet_set(tables: Sequence[pd.DataFrame], members: Sequence[str], label: str = "supernet") -> ScoreSet:
    """The members' scores of the archs they all scored (tables already restricted to one group)."""
    keys = sorted(set.intersection(*(set(t["key"]) for t in tables)))
    if not keys:
        raise WsnasError(f"the replicates {', '.join(members)} scored no arch in common; score the same sample "
                         f"(eval.n_archs, eval.seed) on each")
    scores = np.stack([t.drop_duplicates("key").set_index("key").loc[keys, SUPERNET_ACC].to_numpy(dtype=float)
                       for t in tables])
    return ScoreSet(label, tuple(keys), scores, tuple(members))


def analyze_tables(tables: Sequence[pd.DataFrame], members: Sequence[str], *, space: str, directory: str | Path,
                   truth: GroundTruth, metric: str, topk: Sequence[int | float], n_boot: int,
                   seed: int) -> list[dict[str, Any]]:
    """Result entries (see the module docstring) of the members' joined score tables (compare.join_truth)."""
    results = []
    for group in common_groups(tables):
        parts = [select_group(t, group) for t in tables]
        supernet = supernet_set(parts, members)
        keys = list(supernet.keys)
        true = truth.values(metric, keys)
        ks = fitting(topk, len(keys))
        member_results = [summarise(p[p["key"].isin(keys)], topk=ks, n_boot=n_boot, seed=seed, truth=truth,
                                    metric=metric)[0] for p in parts]
        if len(parts) == 1:
            result = member_results[0]
        else:
            result = _replicated_entry(group, supernet, member_results, true, truth, metric, ks, n_boot, seed)
        result["baselines"] = baseline_entries(baselines(space, directory, keys, truth), supernet, true, ks, n_boot,
                                               seed)
        epochs = ensemble_epochs(str(group[3]))
        if epochs:
            result["ensemble"] = {"epochs": epochs, "score": "mean rank over the checkpoints (higher is better)",
                                  "checkpoints_scored": len(epochs), "of_score_set": str(parts[0][BASE].iloc[0])}
        results.append(result)
    return results


def _replicated_entry(group: tuple, supernet: ScoreSet, member_results: list[dict[str, Any]], true: np.ndarray,
                      truth: GroundTruth, metric: str, topk: Sequence[int | float], n_boot: int,
                      seed: int) -> dict[str, Any]:
    epoch, policy, batches, score_set = group
    replicated = replicate_summary(supernet, true, topk=topk, n_boot=n_boot, seed=seed)
    topk_rows = []
    for i, row in enumerate(member_results[0]["topk"]):
        label = row["label"]
        topk_rows.append({"label": label, "k": row["k"], "oracle_best": row["oracle_best"],
                          "random_expected_best": row["random_expected_best"],
                          **{name: replicated[f"{name}@{label}"]["value"]
                             for name in ("supernet_best", "precision_at_k", "precision_at_bottom_k")},
                          **{field: _mean_defined([m["topk"][i][field] for m in member_results])
                             for field in ("supernet_best_true_rank", "worst_true_rank", "kendall_in_topk")}})
    reason = no_ceiling_reason(truth, metric)
    return {"epoch": int(epoch), "bn_policy": policy, FINETUNE: int(batches), SCORE_SET: score_set,
            "n_archs": len(supernet.keys), "replicates": supernet.replicates,
            "mean_supernet_acc": float(supernet.scores.mean()), "mean_truth": float(true.mean()),
            **headline(replicated),
            "topk": topk_rows, "replicated": replicated, "members": member_results,
            "ceiling": {"undefined_because": reason} if reason else seed_ceiling(truth, metric, list(supernet.keys),
                                                                                  topk)}


def headline(replicated: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Kendall and Spearman of a replicate_summary as a result's headline: mean, interval, sd, se, df, conditions."""
    keys = ("value", "ci_low", "ci_high", "sd", "se", "df", "conditions")
    return {name: {k: replicated[name][k] for k in keys} for name in HEADLINE}


def _mean_defined(values: Sequence[float]) -> float:
    """Mean over the defined (non-NaN) values; NaN when none is."""
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    return float(v.mean()) if v.size else math.nan


def baseline_entries(sets: Sequence[ScoreSet], supernet: ScoreSet, true: np.ndarray, topk: Sequence[int | float],
                     n_boot: int, seed: int, own: Sequence[dict[str, Any]] | None = None) -> list[dict[str, Any]]:
    """Per baseline: its own Kendall and Spearman (with intervals) against `true`, and the paired difference
    supernet minus baseline of every statistic (CI, p-value) on the same archs. `own` gives each baseline's own
    figures when they are known already (a bootstrap with the same seed), else they are computed here."""
    if own is None:
        own = [replicate_summary(b, true, topk=(), n_boot=n_boot, seed=seed) for b in sets]
    differences = paired_differences(supernet, sets, true, topk=topk, n_boot=n_boot, seed=seed)
    return [{"name": b.label, **{name: {k: figures[name][k] for k in ("value", "ci_low", "ci_high")}
                                 for name in HEADLINE}, "supernet_minus_baseline": difference}
            for b, figures, difference in zip(sets, own, differences)]


# ---------------------------------------------------------------------------------------------- printing

def interval_text(entry: dict[str, Any]) -> str:
    """'+0.123 [+0.010, +0.230]', or 'undefined'."""
    if entry.get("value") is None or math.isnan(entry["value"]):
        return "undefined"
    return f"{entry['value']:+.3f} [{entry['ci_low']:+.3f}, {entry['ci_high']:+.3f}]"


def replicated_head(result: dict[str, Any]) -> str:
    """'3 replicates: Kendall +0.2 [..] (what the interval holds fixed; sd; per replicate)', or one supernet's."""
    r, k = result.get("replicates", 1), result["kendall"]
    if r > 1:
        return (f"{r} replicates: Kendall {interval_text(k)} (mean over replicates; 95% CI: t({_df_text(k)}) on the "
                f"seed part + the arch parts, seeds random, archs resampled; sd {k['sd']:.3f}; per replicate "
                + " ".join(f"{v:+.3f}" for v in result["replicated"]["kendall"]["per_replicate"]) + ")")
    return (f"1 supernet: Kendall {interval_text(k)} (bootstrap 95% CI over archs; its training seed fixed: another "
            f"seed moves the figure more than this interval says)")


def group_lines(result: dict[str, Any]) -> list[str]:
    """A replicate group's agreement, mean-score Kendall and the replicates its spread calls for ([] for one)."""
    r = result.get("replicates", 1)
    if r < 2:
        return []
    agree, mean_score = result["replicated"]["agreement"], result["replicated"]["mean_score"]["kendall"]
    lines = [f"replicates agree with each other at Kendall {agree['mean']:+.3f} ({agree['min']:+.3f}..{agree['max']:+.3f}); "
             f"their mean score ranks the truth at {interval_text(mean_score)} (these {r} scorers: seeds fixed, "
             f"archs resampled)"]
    width = replicates_for_width(result["replicated"]["kendall"], result["n_archs"])
    return lines + ([width] if width else [])


def verdict_lines(result: dict[str, Any], metric: str) -> list[str]:
    """The first lines of an analysis: the (replicated) Kendall with its interval, then the supernet against each
    free baseline by a paired comparison on the same archs."""
    head = replicated_head(result)
    lines = [f"epoch {result['epoch']}  bn_policy={result['bn_policy']}  "
             + (f"finetune_batches={result[FINETUNE]}  " if result.get(FINETUNE) else "")
             + f"score set {result.get(SCORE_SET)}  {result['n_archs']} archs  truth={metric}", f"  {head}"]
    lines += [f"  {line}" for line in group_lines(result)]
    lines += [f"  {line}" for line in baseline_verdicts(result)]
    if not result.get("baselines"):
        lines.append("  no free baseline for these archs (the space has no cost features and no proxies.csv)")
    return lines


def _df_text(entry: dict[str, Any]) -> str:
    df = entry.get("df")
    return "inf" if df is None else f"{df:.3g}"


def replicates_for_width(entry: dict[str, Any], archs: int, target: float = TARGET_HALF_WIDTH) -> str:
    """How many replicates this group's own spread calls for: the R whose 95% half-width (the measured seed and arch
    parts projected) reaches `target` on these archs; '' where the figure has no seed part."""
    if "parts" not in entry or entry["parts"]["replicates"] < 2:
        return ""
    estimate = Estimate.from_dict(entry)
    needed = replicates_for_half_width(estimate, target)
    head = (f"the seed spread (sd {entry['sd']:.3f}) leaves a 95% half-width of {estimate.half_width():.3f} at "
            f"R={estimate.replicates}")
    if needed is None:
        return (f"{head}; no number of replicates brings it to {target:.2f} on {archs} archs (the arch part alone "
                f"is wider: score more archs)")
    return f"{head}; R={needed} would bring it to {target:.2f} on these {archs} archs"


def baseline_verdicts(result: dict[str, Any], subject: str = "the supernet") -> list[str]:
    """One line per free baseline of a result: `subject` beats it, loses to it or is not distinguishable from it
    on Kendall tau (paired over the same archs, CI and p-value), and the baseline's own Kendall."""
    return [verdict(b["supernet_minus_baseline"]["kendall"], subject, b["name"])
            + f"  ({b['name']} alone: {interval_text(b['kendall'])})" for b in result.get("baselines", [])]


def truth_labels_line(labels: int) -> list[str]:
    """The line that says a run's training used truth labels ([] for none)."""
    if not labels:
        return []
    return [f"uses {labels} truth labels: its training read the truth of {labels} landmark archs (RUN/landmarks.txt), "
            f"which no evaluation scores; its ranking is not free of the ground truth"]


def format_results(results: list[dict[str, Any]], metric: str, truth_labels: int = 0) -> str:
    """Verdicts first (after the truth labels the training used, if any), then the detailed tables (per run, or
    the replicated table of a group)."""
    lines = truth_labels_line(truth_labels)
    for result in results:
        lines.extend(verdict_lines(result, metric))
    for result in results:
        if result.get("replicates", 1) > 1:
            lines.append(format_replicated(result))
        else:
            lines.append(format_summary([result], metric))
    return "\n".join(lines)


def format_replicated(result: dict[str, Any], title: str | None = None) -> str:
    """The replicated figures of one group result: correlations and top-k as mean [CI] (sd); `title` names the
    result (default: its epoch)."""
    rep = result["replicated"]
    mean = (f"mean score {result['mean_supernet_acc']:.4g}" if title else
            f"mean supernet acc {result['mean_supernet_acc']:.2f}%")
    lines = [f"{title or 'epoch ' + str(result['epoch'])}  {result['replicates']} replicates  {mean}",
             f"  {'':<22} {'mean':>8}  {'95% CI (t, seeds random)':<24} {'2-level bootstrap':<18} {'sd':>6}  "
             f"per replicate"]
    for name in HEADLINE:
        e, b = rep[name], rep[name]["bootstrap"]
        lines.append(f"  {name:<22} {e['value']:>+8.3f}  [{e['ci_low']:+.3f}, {e['ci_high']:+.3f}]{'':<8} "
                     f"[{b['ci_low']:+.3f}, {b['ci_high']:+.3f}]  {e['sd']:>6.3f}  "
                     + " ".join(f"{v:+.3f}" for v in e["per_replicate"]))
    ceiling = result.get("ceiling") or {}
    if "undefined_because" in ceiling:
        lines.append(f"  no ceiling: {ceiling['undefined_because']}")
    elif ceiling:
        bound = ceiling.get("reliability") or {}
        lines.append(f"  the truth's own noise: one benchmark run ranks another at Kendall "
                     f"{ceiling['seed_vs_seed']['kendall']['mean']:+.3f}"
                     + (f"; the best any predictor can expect against {ceiling['metric']}: {bound['kendall']:+.3f} "
                        f"[{bound['kendall_ci_low']:+.3f}, {bound['kendall_ci_high']:+.3f}]" if "kendall" in bound else ""))
    lines.append(f"  {'top-k':<8} {'k':>4} {'best':>7} {'random':>7} {'oracle':>7} {'prec@k':>7} {'prec@bottom-k':>13}"
                 f"   (mean over replicates)")
    for t in result["topk"]:
        lines.append(f"  {t['label']:<8} {t['k']:>4} {t['supernet_best']:>7.2f} {t['random_expected_best']:>7.2f} "
                     f"{t['oracle_best']:>7.2f} {t['precision_at_k']:>7.2f} {t['precision_at_bottom_k']:>13.2f}")
    return "\n".join(lines)
