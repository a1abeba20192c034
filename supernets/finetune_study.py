"""The fine-tuning study: do a few batches of fine-tuning per subnet make the supernet's ranking more
faithful, and at what cost?

The archs `wsnas evaluate` scores (eval.n_archs drawn with eval.seed) are scored at the run's newest checkpoint
once per fine-tuning budget (wsnas.supernets.finetune: eval.finetune_lr, weights restored after each subnet),
into RUN/studies/finetune_scores.csv (resumable, kept apart from RUN/scores.csv). RUN/studies/finetune.json
gets one row per budget: Kendall tau with its bootstrap interval, Spearman rho, the mean supernet accuracy and
the seconds per subnet (fine-tuning, BN policy and evaluation together). The ground truth is joined to the
scores afterwards, only to measure them.
"""
from __future__ import annotations

from typing import Any, Sequence

from wsnas.analysis.compare import join_truth, summarise
from wsnas.core.atomic import write_json
from wsnas.benchmarks.groundtruth import load_ground_truth
from wsnas.core.config import Config
from wsnas.core.errors import WsnasError
from wsnas.core.runs import RunDir
from wsnas.supernets.arch_scores import score_archs
from wsnas.supernets.evaluate import evaluation_archs

STUDY = "finetune"


def check_batches(batches: Sequence[int]) -> list[int]:
    """The fine-tuning budgets, distinct and ascending; each a whole number >= 0."""
    bad = [n for n in batches if isinstance(n, bool) or not isinstance(n, int) or n < 0]
    if bad or not batches:
        raise WsnasError(f"fine-tuning budgets {list(batches)!r} must be whole numbers >= 0 (batches per subnet), "
                         f"e.g. --batches 0,1,5,10")
    return sorted(set(batches))


def finetune_study(cfg: Config, run: RunDir, batches: Sequence[int], log=print) -> dict[str, Any]:
    """Score the run's evaluation sample with each budget; write and return RUN/studies/finetune.json's content."""
    budgets = check_batches(batches)
    truth = load_ground_truth(cfg.space, cfg.data.mirror, cfg.analysis.truth_file)
    archs = evaluation_archs(cfg, run)
    table = score_archs(cfg, run, archs, run.path / "studies" / f"{STUDY}_scores.csv", budgets, truth.index_of, log)
    joined = join_truth(table, truth, cfg.analysis.truth)
    rows = []
    for n in budgets:
        group = joined[joined.finetune_batches == n]
        [summary] = summarise(group, topk=[], n_boot=cfg.analysis.n_boot, seed=cfg.analysis.seed)
        rows.append({"finetune_batches": n, "kendall": summary["kendall"]["value"],
                     "kendall_ci_low": summary["kendall"]["ci_low"], "kendall_ci_high": summary["kendall"]["ci_high"],
                     "spearman": summary["spearman"]["value"], "mean_supernet_acc": summary["mean_supernet_acc"],
                     "seconds_per_subnet": float(group["seconds"].mean()), "n_archs": summary["n_archs"]})
    e = cfg.eval
    config = {"run": str(run.path), "batches": budgets, "finetune_lr": e.finetune_lr, "epoch": int(table.epoch.iloc[0]),
              "bn_policy": e.bn_policy, "calib_batches": e.calib_batches, "n_archs": len(archs), "sample": e.sample,
              "eval_seed": e.seed, "n_boot": cfg.analysis.n_boot, "bootstrap_seed": cfg.analysis.seed,
              "truth_source": truth.source, "run_config": cfg.to_dict()}
    document = {"study": STUDY, "truth": cfg.analysis.truth, "config": config, "rows": rows}
    write_json(run.path / "studies" / f"{STUDY}.json", document)
    return document


def format_rows(rows: Sequence[dict[str, Any]]) -> str:
    """The study's rows as a plain-text table for the terminal."""
    lines = [f"{'batches':>7} {'kendall':>8} {'95% CI':>17} {'spearman':>8} {'mean acc':>8} {'s/subnet':>8}"]
    for r in rows:
        lines.append(f"{r['finetune_batches']:>7} {r['kendall']:>+8.3f} [{r['kendall_ci_low']:+.3f}, "
                     f"{r['kendall_ci_high']:+.3f}] {r['spearman']:>+8.3f} {r['mean_supernet_acc']:>8.2f} "
                     f"{r['seconds_per_subnet']:>8.3f}")
    return "\n".join(lines)
