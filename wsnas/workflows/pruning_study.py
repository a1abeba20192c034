"""The search-space pruning study's driver: a supernet trained on a pruned space, judged on that same space.

The pools, each pool's figures, the figure and the record are torch-free: wsnas.analysis.studies.pruning.

For each pruning mode (optimistic: drop the truly worst fraction p of the space; random: drop a seeded random
fraction p) and fraction p, a supernet is trained with its path sampler restricted to the pool that is left
(train.arch_pool), archs sampled from the pool are scored, and the study records the pool's mean true
accuracy, the best true accuracy among the supernet's top 10 against the expected best of 10 random picks
of the same sample, and Kendall's tau with its bootstrap interval.

The pools are chosen with the ground truth by design of the experiment: they simulate a well (optimistic)
or a blindly (random) pruned space. The truth still never feeds a supernet score: training only samples
paths from the pool, every score comes from the supernet alone, and the truth is joined to the scores
afterwards, only to measure them.

    DIR/pools/<mode>-<p>.txt     the pool: arch keys, one per line
    DIR/runs/<mode>-<p>/         one wsnas run per pool (with `replicates` R > 1: a replicate group of R runs
                                 that differ only in train.seed, rep-<r>/); p=0 (the whole space, no pool) once,
                                 shared by the modes; pool_scores.csv holds the scores of the archs sampled from
                                 the pool
    DIR/studies/pruning.json     one row per pool, rewritten as each finishes: with replicates, every figure is the
                                 mean over them, with a two-level bootstrap CI (analysis/replicated.py) and the sd
Each run resumes where it stopped; finished runs train and score nothing.
"""
from __future__ import annotations

import copy
import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from wsnas.analysis.studies.pruning import (MODES, STUDY, TOP_K, PruningError, check_fraction, pool_row,
                                            prune)
from wsnas.benchmarks.groundtruth import config_truth
from wsnas.benchmarks.registry import get_space
from wsnas.core.atomic import write_json, write_text
from wsnas.core.config import Config, build_config, read_config_file
from wsnas.core.groups import ReplicateGroup, member_config
from wsnas.core.run_files import STUDIES_DIR
from wsnas.core.runs import RunDir
from wsnas.supernets.arch_scores import score_archs
from wsnas.supernets.samplers import evaluation_sample
from wsnas.supernets.train import train_supernet

# The study trains up to 9 supernets, so on the cpu preset it trains each for half the preset's 20 epochs
# (unless a config file or --set/--epochs says otherwise). The JSON config records what was applied.
STUDY_DEFAULTS: dict[str, dict[str, Any]] = {"cpu": {"train.epochs": 10}}


@dataclass(frozen=True)
class PoolRun:
    """One supernet of the study: the space pruned by `mode` at `fraction` (0 = the whole space)."""

    mode: str
    fraction: float

    @property
    def name(self) -> str:
        return f"{self.mode}-{self.fraction:g}"


def plan(fractions: Sequence[float], modes: Sequence[str]) -> list[PoolRun]:
    """The runs for these fractions and modes: p=0 once (named after the first mode, in MODES order), then
    one run per mode for every other fraction, fractions ascending."""
    unknown = [m for m in modes if m not in MODES]
    if unknown or not modes:
        raise PruningError(f"pruning modes {list(modes)!r}: choose one or more of {', '.join(MODES)}")
    if not fractions:
        raise PruningError("no pruning fractions given; pass e.g. --fractions 0,0.25,0.5,0.75,0.9")
    ordered = [m for m in MODES if m in modes]
    runs: list[PoolRun] = []
    for p in sorted({check_fraction(p) for p in fractions}):
        runs.extend([PoolRun(ordered[0], p)] if p == 0 else [PoolRun(m, p) for m in ordered])
    return runs


def study_config(preset: str, file: str | Path | None, overrides: dict[str, Any]) -> tuple[Config, dict[str, Any]]:
    """The study's config (preset, STUDY_DEFAULTS, file, overrides) and the study defaults it applied: a
    default applies only where neither the file nor the overrides set that key."""
    given = set(read_config_file(file)) if file else set()
    lighter = {k: v for k, v in STUDY_DEFAULTS.get(preset, {}).items() if k not in given | set(overrides)}
    return build_config(preset, file, {**lighter, **overrides}), lighter


def _write_pool(path: Path, keys: Sequence[str], header: str) -> str:
    """Write the pool file (only if its content changes, so a resumed study leaves it untouched); its sha256."""
    text = f"# {header}\n" + "".join(f"{k}\n" for k in keys)
    if not path.is_file() or path.read_text() != text:
        write_text(path, text)
    return hashlib.sha256(text.encode()).hexdigest()


def pruning_study(cfg: Config, out: Path, runs: Sequence[PoolRun], pool_seed: int = 0,
                  study_defaults: dict[str, Any] | None = None, log=print) -> dict[str, Any]:
    """Train, score and measure every run of `runs` under `out`; returns what DIR/studies/pruning.json holds."""
    out = Path(out).resolve()
    space = get_space(cfg.space)
    truth = config_truth(cfg)
    metric = cfg.analysis.truth
    archs = list(space.enumerate())
    keys = [space.format(a) for a in archs]
    values = truth.values(metric, keys)
    arch_of, value_of = dict(zip(keys, archs)), dict(zip(keys, values))
    config = {"space": cfg.space, "preset": cfg.preset, "fractions": sorted({r.fraction for r in runs}),
              "modes": sorted({r.mode for r in runs}, key=MODES.index), "pool_seed": pool_seed, "top_k": TOP_K,
              "study_defaults": study_defaults or {}, "train_epochs": cfg.train.epochs, "n_archs": cfg.eval.n_archs,
              "bn_policy": cfg.eval.bn_policy, "finetune_batches": cfg.eval.finetune_batches,
              "n_boot": cfg.analysis.n_boot, "bootstrap_seed": cfg.analysis.seed, "truth_source": truth.source,
              "full_space_run": next((r.name for r in runs if r.fraction == 0), None), "pools": {},
              "replicates": cfg.replicates,
              "base_config": cfg.to_dict()}
    rows: list[dict[str, Any]] = []
    document = {"study": STUDY, "truth": metric, "config": config, "rows": rows}
    for r in runs:
        kept = keys if r.fraction == 0 else prune(keys, values, r.mode, r.fraction, pool_seed)
        mean_truth = float(np.mean([value_of[k] for k in kept]))
        log(f"[prune-study] {r.name}: {len(kept)} of {len(keys)} archs, mean {metric} {mean_truth:.2f}%")
        sub = copy.deepcopy(cfg)
        if r.fraction > 0:
            how = f"by {metric}" if r.mode == "optimistic" else f"with pool seed {pool_seed}"
            pool_file = out / "pools" / f"{r.name}.txt"
            sha = _write_pool(pool_file, kept, f"{r.mode} pruning of {cfg.space} {how}: {len(kept)} of {len(keys)} "
                                               f"archs left after dropping a fraction {r.fraction:g}")
            sub.train.arch_pool = str(pool_file)
            config["pools"][r.name] = {"file": str(pool_file), "sha256": sha, "n_pool": len(kept)}
        sample = evaluation_sample(space, sub.eval, None if r.fraction == 0 else [arch_of[k] for k in kept])
        if len(sample) < TOP_K:
            raise PruningError(f"the pruning study compares top-{TOP_K} picks but eval.n_archs={cfg.eval.n_archs} "
                               f"gives {len(sample)} archs for {r.name}; set eval.n_archs to {TOP_K} or more")
        runs_dir = out / "runs" / r.name
        if cfg.replicates > 1:
            ReplicateGroup(runs_dir).init(sub)
        tables = []
        for replicate in range(cfg.replicates):
            member = member_config(sub, replicate) if cfg.replicates > 1 else sub
            run = ReplicateGroup(runs_dir).member(replicate) if cfg.replicates > 1 else RunDir(runs_dir)
            run.init(member)
            train_supernet(member, run, log)
            scores = score_archs(member, run, sample, run.path / "pool_scores.csv", [member.eval.finetune_batches],
                                 truth.index_of, log)
            tables.append(scores.assign(truth=truth.values(metric, scores["key"].tolist())))
        rows.append(pool_row(r.mode, r.fraction, kept, mean_truth, tables, runs_dir, cfg))
        write_json(out / STUDIES_DIR / f"{STUDY}.json", document)  # after every run: partial results are visible
    return document

