"""`wsnas studies`' computation: the studies of the registry that have a `compute`, on a run, a replicate group or
an audit, each written to DIR/studies/<name>.json (no torch).

    epochs     per scored checkpoint: mean supernet accuracy, Kendall/Spearman with bootstrap CIs, and Kendall
               between the supernet rankings of successive checkpoints (archs scored at every epoch only)
    topk       repeated seeded draws of n archs: best true accuracy of the supernet's top-k against a random
               pick of the same size and the oracle, and how often the top-10 holds a true top-10%/1% arch
    bias       Kendall triangle between parameter count (also FLOPs), ground truth and supernet score, and the
               partial rank correlation of supernet and size given the truth, against an unbiased null
    operators  the supernet's rank percentile regressed on the true one plus op counts (per op) or op dummies
               (per edge), against an unbiased null

topk, bias and operators use the newest scored epoch; every study uses one score set
(wsnas.analysis.studies.inputs.choose_score_set).
"""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

from tqdm.auto import tqdm

from wsnas.analysis.studies.audit import run_audit_studies
from wsnas.analysis.studies.inputs import StudyError, load_inputs, write_study
from wsnas.analysis.studies.null_bands import NULL_SIMS
from wsnas.analysis.studies.record import StudyOptions
from wsnas.analysis.studies import registry
from wsnas.core.runs import RunDir


def run_studies(run_path: str | Path, names: Sequence[str] | None = None, *, metric: str | None = None,
                mirror: str | None = None, draws: int = 200, draw_size: int = 100,
                null_sims: int = NULL_SIMS, progress: bool | None = None, score: str | None = None) -> dict[str, Path]:
    """Run the named studies (default: all that `wsnas studies` computes) on a run or a replicate group and write
    DIR/studies/<name>.json; returns {name: path}.

    `null_sims`: draws of the unbiased null of the bias and operator studies. `progress` shows tqdm bars; None
    follows the run's runtime.progress. An audit directory gets the studies that apply to it
    (wsnas.analysis.studies.audit) on its `score` and `metric` columns.
    """
    if RunDir(run_path).kind == "audit":
        return run_audit_studies(run_path, names, score=score, truth=metric)
    if score is not None:
        raise StudyError(f"--score picks a score column of an audit; {run_path} is a run (its score: the supernet)")
    computed = registry.computed()
    names = computed if names is None else names
    unknown = [n for n in names if n not in computed]
    if unknown or not names:
        raise StudyError(f"unknown studies {unknown} in --only; choose from {', '.join(computed)} "
                         f"(comma-separated, e.g. --only epochs,topk)")
    if null_sims < 20:
        raise StudyError(f"--null-sims {null_sims}: the null band needs at least 20 draws (default {NULL_SIMS})")
    reps = load_inputs(run_path, metric, mirror)
    progress = reps[0].cfg.runtime.progress if progress is None else progress
    options = StudyOptions(draws, draw_size, null_sims, progress, run_path)
    members = [str(inp.run.path) for inp in reps]
    return {name: write_study(run_path, {**registry.study(name).compute(reps, options), "run_dir": str(run_path),
                                         "replicates": len(reps), "members": members})
            for name in tqdm(names, desc="studies", unit="study", disable=not progress)}
