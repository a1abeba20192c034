"""`wsnas search`: run a weight-sharing search method on a space's supernet, then score its supernet and its own
ranking against the ground truth (this module imports no torch; the search does when it runs).

    wsnas search --method darts-v1 --space nb201 [--seeds 0,1,2] [--preset smoke|cpu|paper] [--baseline]
    wsnas search --method snas --lambdas 0,0.5,2 ...      SNAS's resource trade-off (derived archs only)

Layout of --run-dir (default runs/search-<space>-<method>-<preset>):
    DIR/seed-<k>/            one wsnas run per search seed (train.seed = k): config, checkpoints, search_log.csv,
                             search.json, scores.csv and metrics.json (`wsnas evaluate`, `wsnas analyze` work on it)
    DIR/uniform/seed-<k>/    with --baseline: RSPS (uniform paths) with the same data, level, optimiser and epochs
                             (the uniform supernet of the same budget); DIR/seed-<k>/compare_uniform.json holds
                             `wsnas compare DIR/seed-<k> DIR/uniform/seed-<k>` (paired, same archs)
    DIR/lambda-<l>/seed-<k>/ with --lambdas: SNAS at search.resource_lambda = l
    DIR/search_summary.json  per seed: the derived arch, its truth, the method's and the supernet's ranking; mean, sd
"""
from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from wsnas.commands.options import add_config_args, overrides_from_args
from wsnas.workflows import pipeline
from wsnas.core.config import Config, apply_overrides, build_config
from wsnas.core.errors import WsnasError
from wsnas.core.runs import RunDir
from wsnas.supernets.search_presets import METHODS, method_layers, resolved_level
from wsnas.supernets.study_cli import _csv


def _seeds(text: str | None) -> list[int] | None:
    seeds = None if text is None else _csv(text, int, "--seeds", "0,1,2")
    if seeds is not None and (not seeds or len(set(seeds)) != len(seeds)):
        raise WsnasError(f"--seeds {text!r} must list at least one seed, each once")
    return seeds


def _lambdas(text: str | None) -> list[float] | None:
    values = None if text is None else _csv(text, float, "--lambdas", "0,0.5,2")
    if values is not None and (not values or any(v < 0 for v in values)):
        raise WsnasError(f"--lambdas {text!r} must list non-negative penalty weights")
    return values


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("search", help="run a weight-sharing search method (RSPS, ENAS, DARTS, GDAS, SNAS, GAEA) and "
                                      "score what it picks and how it ranks")
    add_config_args(p, with_preset=True)
    p.add_argument("--method", required=True, choices=METHODS, help="the search method")
    p.add_argument("--seeds", help="search seeds, comma-separated (default: train.seed); one run per seed")
    p.add_argument("--run-dir", help="directory of the search (default runs/search-<space>-<method>-<preset>); "
                                     "rerun to resume")
    p.add_argument("--baseline", action="store_true",
                   help="also run the uniform supernet of the same budget (RSPS, same data, level, optimiser, epochs)")
    p.add_argument("--lambdas", help="SNAS only: resource-penalty weights to sweep (derived archs only, no evaluation)")
    p.add_argument("--no-evaluate", action="store_true", help="search only: skip `wsnas evaluate` and `analyze`")
    p.set_defaults(func=cmd_search)


def method_config(args: argparse.Namespace, extra: dict[str, Any] | None = None) -> Config:
    """The config of one search: presets, the method's layers, the user's file and overrides, then `extra`."""
    overrides = {**overrides_from_args(args), "search.method": args.method, **(extra or {})}
    return build_config(args.preset, args.config, overrides, layers=method_layers)


def cmd_search(args: argparse.Namespace) -> None:
    from wsnas.analysis.search_results import summarise_search, tradeoff_summary

    lambdas = _lambdas(args.lambdas)
    if lambdas is not None and args.method != "snas":
        raise WsnasError("--lambdas sweeps SNAS's resource penalty; use it with --method snas")
    probe = method_config(args)
    seeds = _seeds(args.seeds) or [probe.train.seed]
    suffix = f"-{probe.search.gaea_base}" if args.method == "gaea" else ""
    root = Path(args.run_dir or Path("runs") / f"search-{probe.space}-{args.method}{suffix}-{probe.preset}")
    if lambdas is not None:
        for value in lambdas:
            for seed in seeds:
                cfg = method_config(args, {"train.seed": seed, "search.resource_lambda": value})
                _search(cfg, root / f"lambda-{value:g}" / f"seed-{seed}", evaluate=False)
        print(tradeoff_summary(root))
        return
    for seed in seeds:
        cfg = method_config(args, {"train.seed": seed})
        _search(cfg, root / f"seed-{seed}", evaluate=not args.no_evaluate)
        if args.baseline:
            uniform = apply_overrides(method_config(args, {"train.seed": seed}),
                                      {"search.method": "rsps", "search.level": resolved_level(cfg),
                                       "search.exclude": []})
            _search(uniform, root / "uniform" / f"seed-{seed}", evaluate=not args.no_evaluate)
            if not args.no_evaluate:
                _compare_uniform(root / f"seed-{seed}", root / "uniform" / f"seed-{seed}")
    print(summarise_search(root))


def _compare_uniform(method_run: Path, uniform_run: Path) -> None:
    """`wsnas compare METHOD_RUN UNIFORM_RUN`: the method's supernet against the uniform one of the same budget,
    paired on the same archs; printed and written to METHOD_RUN/compare_uniform.json."""
    from wsnas.analysis.paired_compare import compare, format_comparison
    from wsnas.analysis.search_results import COMPARE_UNIFORM
    from wsnas.core.atomic import write_json

    doc = compare(str(method_run), str(uniform_run))
    write_json(method_run / COMPARE_UNIFORM, doc)
    print(f"[search] A = the method's supernet, B = the uniform supernet of the same budget "
          f"(wsnas compare {method_run} {uniform_run}):")
    print(format_comparison(doc))


def _search(cfg: Config, path: Path, evaluate: bool) -> None:
    """One seed's search run, then (unless told not to) its evaluation, analysis and method ranking."""
    from wsnas.analysis.search_results import method_ranking
    from wsnas.supernets.search.loop import run_search

    run = RunDir(path)
    run.init(cfg)
    run_search(cfg, run)
    if evaluate:
        pipeline.evaluate(cfg, run)
        pipeline.analyze(cfg, run.path)
        print(method_ranking(cfg, run))
