"""A search job (`wsnas search`): one search run per seed, then its evaluation, analysis and the method's own
ranking, the uniform supernet of the same budget and the paired comparison with it, the summary over seeds; or
SNAS's resource trade-off over penalty weights.

Layout of a search directory (default runs/search-<space>-<method>-<preset>):
    DIR/seed-<k>/            one wsnas run per search seed (train.seed = k): config, checkpoints, search_log.csv,
                             search.json, scores.csv and metrics.json (`wsnas evaluate`, `wsnas analyze` work on it)
    DIR/uniform/seed-<k>/    with the baseline: RSPS (uniform paths) with the same data, level, optimiser and epochs
                             (the uniform supernet of the same budget); DIR/seed-<k>/compare_uniform.json holds
                             `wsnas compare DIR/seed-<k> DIR/uniform/seed-<k>` (paired, same archs)
    DIR/lambda-<l>/seed-<k>/ SNAS's trade-off: SNAS at search.resource_lambda = l
    DIR/search_summary.json  per seed: the derived arch, its truth, the method's and the supernet's ranking; mean, sd

torch is imported only when a search runs.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from wsnas.benchmarks.search_methods.presets import method_layers, resolved_level
from wsnas.core.config import Config, apply_overrides, build_config
from wsnas.core.runs import RunDir
from wsnas.workflows import pipeline

UNIFORM = "rsps"  # the method of the uniform supernet of the same budget


@dataclass
class SearchJob:
    """How each search's config is built: the preset, the user's config file and overrides (search.method
    included); the method's published settings and the preset's reduction of them come between
    (wsnas.benchmarks.search_methods.presets)."""

    preset: str
    config_file: str | None
    overrides: dict[str, Any] = field(default_factory=dict)

    def config(self, extra: dict[str, Any] | None = None) -> Config:
        """The config of one search: the job's, then `extra`."""
        return build_config(self.preset, self.config_file, {**self.overrides, **(extra or {})}, layers=method_layers)


def search_seeds(job: SearchJob, seeds: list[int], root: Path, evaluate: bool, baseline: bool) -> str:
    """Search once per seed into ROOT/seed-<k> (with `baseline`, also the uniform supernet of the same budget into
    ROOT/uniform/seed-<k>, compared with the method's); returns the summary over seeds (ROOT/search_summary.json)."""
    from wsnas.analysis.search.results import summarise_search

    for seed in seeds:
        cfg = job.config({"train.seed": seed})
        search_run(cfg, root / f"seed-{seed}", evaluate)
        if baseline:
            uniform = apply_overrides(job.config({"train.seed": seed}),
                                      {"search.method": UNIFORM, "search.level": resolved_level(cfg),
                                       "search.exclude": []})
            search_run(uniform, root / "uniform" / f"seed-{seed}", evaluate)
            if evaluate:
                compare_uniform(root / f"seed-{seed}", root / "uniform" / f"seed-{seed}")
    return summarise_search(root)


def snas_tradeoff(job: SearchJob, lambdas: list[float], seeds: list[int], root: Path) -> str:
    """SNAS at each resource-penalty weight and seed, into ROOT/lambda-<l>/seed-<k> (derived archs only, no
    evaluation); returns the trade-off table (ROOT/snas_tradeoff.json)."""
    from wsnas.analysis.search.results import tradeoff_summary

    for value in lambdas:
        for seed in seeds:
            cfg = job.config({"train.seed": seed, "search.resource_lambda": value})
            search_run(cfg, root / f"lambda-{value:g}" / f"seed-{seed}", evaluate=False)
    return tradeoff_summary(root)


def compare_uniform(method_run: Path, uniform_run: Path) -> None:
    """`wsnas compare METHOD_RUN UNIFORM_RUN`: the method's supernet against the uniform one of the same budget,
    paired on the same archs; printed and written to METHOD_RUN/compare_uniform.json."""
    from wsnas.analysis.paired_compare import compare, format_comparison
    from wsnas.core.atomic import write_json
    from wsnas.core.run_files import COMPARE_UNIFORM

    doc = compare(str(method_run), str(uniform_run))
    write_json(method_run / COMPARE_UNIFORM, doc)
    print(f"[search] A = the method's supernet, B = the uniform supernet of the same budget "
          f"(wsnas compare {method_run} {uniform_run}):")
    print(format_comparison(doc))


def search_run(cfg: Config, path: Path, evaluate: bool) -> None:
    """One seed's search run, then (unless told not to) its evaluation, analysis and method ranking."""
    from wsnas.analysis.search.ranking import method_ranking
    from wsnas.benchmarks.truth_lookup import TruthLookup
    from wsnas.supernets.search.loop import run_search

    run = RunDir(path)
    run.init(cfg)
    truth = TruthLookup(cfg)  # loaded once: the search's derived archs, the evaluation, the analysis, the ranking
    run_search(cfg, run, truth)
    if evaluate:
        pipeline.evaluate(cfg, run, truth=truth.table)
        pipeline.analyze(cfg, run.path, truth.table)
        print(method_ranking(cfg, run, truth))
