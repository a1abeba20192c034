"""The fine-tuning study's driver: do a few batches of fine-tuning per subnet make the supernet's ranking more
faithful, and at what cost? (Its rows, figure and record, torch-free: wsnas.analysis.studies.finetune.)

The archs `wsnas evaluate` scores (eval.n_archs drawn with eval.seed) are scored at the run's newest checkpoint
once per fine-tuning budget (wsnas.supernets.finetune: eval.finetune_lr, weights restored after each subnet),
into RUN/studies/finetune_scores.csv (resumable, kept apart from RUN/scores.csv). RUN/studies/finetune.json
gets one row per budget: Kendall tau with its bootstrap interval, Spearman rho, the mean supernet accuracy and
the seconds per subnet (fine-tuning, BN policy and evaluation together). The ground truth is joined to the
scores afterwards, only to measure them.
"""
from __future__ import annotations

from typing import Any, Sequence

from wsnas.analysis.score_summary import join_truth
from wsnas.analysis.studies.finetune import STUDY, budget_rows, check_batches
from wsnas.benchmarks.groundtruth import config_truth
from wsnas.core.atomic import write_json
from wsnas.core.config import Config
from wsnas.core.run_files import STUDIES_DIR
from wsnas.core.runs import RunDir
from wsnas.supernets.arch_scores import score_archs
from wsnas.supernets.evaluate import evaluation_archs


def finetune_study(cfg: Config, run: RunDir, batches: Sequence[int], log=print) -> dict[str, Any]:
    """Score the run's evaluation sample with each budget; write and return RUN/studies/finetune.json's content."""
    budgets = check_batches(batches)
    truth = config_truth(cfg)
    archs = evaluation_archs(cfg, run)
    table = score_archs(cfg, run, archs, run.path / STUDIES_DIR / f"{STUDY}_scores.csv", budgets, truth.index_of, log)
    joined = join_truth(table, truth, cfg.analysis.truth)
    rows = budget_rows(joined, budgets, cfg)
    e = cfg.eval
    config = {"run": str(run.path), "batches": budgets, "finetune_lr": e.finetune_lr, "epoch": int(table.epoch.iloc[0]),
              "bn_policy": e.bn_policy, "calib_batches": e.calib_batches, "n_archs": len(archs), "sample": e.sample,
              "eval_seed": e.seed, "n_boot": cfg.analysis.n_boot, "bootstrap_seed": cfg.analysis.seed,
              "truth_source": truth.source, "run_config": cfg.to_dict()}
    document = {"study": STUDY, "truth": cfg.analysis.truth, "config": config, "rows": rows}
    write_json(run.path / STUDIES_DIR / f"{STUDY}.json", document)
    return document

